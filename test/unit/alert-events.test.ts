// Which notify scripts an event runs, with which argv, in which order (keepalived vrrp_notify.c
// send_instance_notifies(): notify_<state> first, then the generic notify with 4 more arguments),
// and keepalived's notify_fifo line for each kind of event.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type AlertEvent, eventKey, fifoLine, type ScriptsConfigView, scriptsFor } from '../../src/alert/events.js';
import type { StateNotifyScripts } from '../../src/config/notifyScripts.js';

const none: StateNotifyScripts = { master: undefined, backup: undefined, fault: undefined, stop: undefined, notify: undefined };
const all: StateNotifyScripts = {
  master: ['/etc/tandem/master.sh', 'a b'],
  backup: ['/etc/tandem/backup.sh'],
  fault: ['/etc/tandem/fault.sh'],
  stop: ['/etc/tandem/stop.sh', '--now'],
  notify: ['/etc/tandem/notify.sh', 'x'],
};
const config: ScriptsConfigView = {
  vrrpInstances: [{ name: 'VI_1', notify: all }, { name: 'VI_2', notify: { ...none, notify: ['/bin/n'] } }, { name: 'VI_3', notify: none }],
  vrrpSyncGroups: [{ name: 'G', notify: { ...none, backup: ['/bin/gb'], notify: ['/bin/gn'] } }, { name: 'G2' }],
  virtualServers: [{
    key: 'TCP 192.0.2.10:80', quorumUp: ['/bin/qu'], quorumDown: ['/bin/qd', 'down'],
    realServers: [{ id: 'TCP 192.0.2.10:80 -> 198.51.100.1:80', notifyUp: ['/bin/up'], notifyDown: ['/bin/down', '1'] }, { id: 'TCP 192.0.2.10:80 -> 198.51.100.2:80' }],
  }],
};

const t = 1_700_000_000_000;
const inst = (instance: string, state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP', priority = 100): AlertEvent =>
  ({ type: 'vrrp_instance', instance, state, previous: 'BACKUP', priority, reason: 'master_down_timer', time: t });
const rs = (n: number, up: boolean): AlertEvent => ({
  type: 'real_server', virtualServer: 'TCP 192.0.2.10:80', realServer: `TCP 192.0.2.10:80 -> 198.51.100.${n}:80`,
  service: { kind: 'inet', family: 4, protocol: 'TCP', address: '192.0.2.10', port: 80 },
  dest: { address: `198.51.100.${n}`, port: 80 }, up, reason: 'connect_refused', time: t,
});

describe('alert events: scriptsFor', () => {
  const cases: Array<{ name: string; e: AlertEvent; runs: Array<[string, string[]]> }> = [
    { name: 'MASTER: notify_master, then notify with INSTANCE name state priority', e: inst('VI_1', 'MASTER', 150), runs: [
      ['notify_master', ['/etc/tandem/master.sh', 'a b']],
      ['notify', ['/etc/tandem/notify.sh', 'x', 'INSTANCE', 'VI_1', 'MASTER', '150']],
    ] },
    { name: 'BACKUP', e: inst('VI_1', 'BACKUP', 90), runs: [
      ['notify_backup', ['/etc/tandem/backup.sh']],
      ['notify', ['/etc/tandem/notify.sh', 'x', 'INSTANCE', 'VI_1', 'BACKUP', '90']],
    ] },
    { name: 'FAULT', e: inst('VI_1', 'FAULT', 100), runs: [
      ['notify_fault', ['/etc/tandem/fault.sh']],
      ['notify', ['/etc/tandem/notify.sh', 'x', 'INSTANCE', 'VI_1', 'FAULT', '100']],
    ] },
    { name: 'STOP (shutdown): notify_stop, then notify with STOP', e: inst('VI_1', 'STOP', 100), runs: [
      ['notify_stop', ['/etc/tandem/stop.sh', '--now']],
      ['notify', ['/etc/tandem/notify.sh', 'x', 'INSTANCE', 'VI_1', 'STOP', '100']],
    ] },
    { name: 'only the generic notify configured', e: inst('VI_2', 'MASTER', 255), runs: [
      ['notify', ['/bin/n', 'INSTANCE', 'VI_2', 'MASTER', '255']],
    ] },
    { name: 'no scripts', e: inst('VI_3', 'MASTER'), runs: [] },
    { name: 'an instance the config does not know', e: inst('GONE', 'MASTER'), runs: [] },
    { name: 'group: GROUP name state 0', e: { type: 'vrrp_group', group: 'G', state: 'BACKUP', previous: 'MASTER', reason: 'sync_group', time: t }, runs: [
      ['notify_backup', ['/bin/gb']],
      ['notify', ['/bin/gn', 'GROUP', 'G', 'BACKUP', '0']],
    ] },
    { name: 'group MASTER: only the generic one is set', e: { type: 'vrrp_group', group: 'G', state: 'MASTER', previous: 'BACKUP', reason: 'sync_group', time: t }, runs: [
      ['notify', ['/bin/gn', 'GROUP', 'G', 'MASTER', '0']],
    ] },
    { name: 'group without notify scripts', e: { type: 'vrrp_group', group: 'G2', state: 'MASTER', previous: 'BACKUP', reason: 'sync_group', time: t }, runs: [] },
    { name: 'real server down: notify_down as configured', e: rs(1, false), runs: [['notify_down', ['/bin/down', '1']]] },
    { name: 'real server up: notify_up', e: rs(1, true), runs: [['notify_up', ['/bin/up']]] },
    { name: 'real server without scripts', e: rs(2, true), runs: [] },
    { name: 'quorum lost', e: { type: 'quorum', virtualServer: 'TCP 192.0.2.10:80', service: { kind: 'inet', family: 4, protocol: 'TCP', address: '192.0.2.10', port: 80 }, up: false, reason: 'quorum_lost', time: t }, runs: [
      ['quorum_down', ['/bin/qd', 'down']],
    ] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(scriptsFor(c.e, config).map((r) => [r.hook, r.argv]), c.runs);
    });
  }
  it('the configured argv is not modified by the extra arguments', () => {
    scriptsFor(inst('VI_1', 'MASTER'), config);
    assert.deepEqual(all.notify, ['/etc/tandem/notify.sh', 'x']);
  });
  it('keys: one per instance, group, real server, virtual server', () => {
    assert.equal(eventKey(inst('VI_1', 'MASTER')), 'instance VI_1');
    assert.equal(eventKey(rs(1, true)), 'real_server TCP 192.0.2.10:80 -> 198.51.100.1:80');
    assert.notEqual(eventKey(inst('VI_1', 'MASTER')), eventKey(inst('VI_2', 'MASTER')));
  });
});

describe('alert events: keepalived notify_fifo lines', () => {
  const v6 = { kind: 'inet' as const, family: 6 as const, protocol: 'UDP' as const, address: '2001:db8::10', port: 53 };
  const fwm = { kind: 'fwmark' as const, family: 4 as const, fwmark: 7 };
  const cases: Array<[AlertEvent, string]> = [
    [inst('VI_1', 'MASTER', 100), 'INSTANCE "VI_1" MASTER 100'],
    [inst('VI_1', 'STOP', 90), 'INSTANCE "VI_1" STOP 90'],
    [{ type: 'vrrp_group', group: 'G', state: 'BACKUP', previous: 'MASTER', reason: 'sync_group', time: t }, 'GROUP "G" BACKUP 0'],
    [{ type: 'quorum', virtualServer: 'TCP 192.0.2.10:80', service: { kind: 'inet', family: 4, protocol: 'TCP', address: '192.0.2.10', port: 80 }, up: true, reason: 'quorum_gained', time: t }, 'VS [192.0.2.10]:tcp:80 UP'],
    [rs(1, false), 'RS [198.51.100.1]:tcp:80 [192.0.2.10]:tcp:80 DOWN'],
    // IPv6 in brackets like IPv4 (inet_sockaddrtotrio_r); the protocol in lower case.
    [{ type: 'quorum', virtualServer: 'UDP [2001:db8::10]:53', service: v6, up: false, reason: 'quorum_lost', time: t }, 'VS [2001:db8::10]:udp:53 DOWN'],
    [{ type: 'real_server', virtualServer: 'UDP [2001:db8::10]:53', realServer: 'x', service: v6, dest: { address: '2001:db8::11', port: 5353 }, up: true, reason: 'probe_ok', time: t },
      'RS [2001:db8::11]:udp:5353 [2001:db8::10]:udp:53 UP'],
    // A fwmark service is FMT_VS "FWM n"; its protocol is 0, so a real server shows "none".
    [{ type: 'quorum', virtualServer: 'FWM 7', service: fwm, up: true, reason: 'quorum_gained', time: t }, 'VS FWM 7 UP'],
    [{ type: 'real_server', virtualServer: 'FWM 7', realServer: 'y', service: fwm, dest: { address: '198.51.100.3', port: 0 }, up: false, reason: 'timeout', time: t },
      'RS [198.51.100.3]:none:0 FWM 7 DOWN'],
  ];
  for (const [e, line] of cases) it(line, () => assert.equal(fifoLine(e), line));
});
