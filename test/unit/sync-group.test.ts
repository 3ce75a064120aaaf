// vrrp_sync_group: the pure rules (src/vrrp/syncGroup.ts), the machine's sync and group_hold
// events, two machines wired by those rules under a manual clock, and the config's checks.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load.js';
import { formatConfigError } from '../../src/config/errors.js';
import { initialMachineState, nextDeadline, step, type MachineConfig, type MachineEvent, type MachineState, type TransitionReason, type VrrpState } from '../../src/vrrp/machine.js';
import { groupFault, groupHolds, groupState, syncOrders, type MemberView } from '../../src/vrrp/syncGroup.js';
import { masterDownIntervalMs } from '../../src/vrrp/timers.js';

const m = (name: string, state: VrrpState, masterIp: string | null = null): MemberView => ({ name, state, masterIp });

describe('sync group rules', () => {
  it('a member taking over takes the backups with it; a member stepping down takes the masters with it', () => {
    const members = [m('A', 'MASTER', '192.0.2.1'), m('B', 'BACKUP'), m('C', 'FAULT')];
    assert.deepEqual(syncOrders(members, 'A', 'MASTER', 'master_down_timer'), [{ member: 'B', to: 'MASTER' }]);
    const masters = [m('A', 'BACKUP', '192.0.2.2'), m('B', 'MASTER', '192.0.2.1'), m('C', 'MASTER', '192.0.2.1')];
    assert.deepEqual(syncOrders(masters, 'A', 'BACKUP', 'higher_priority_advert'),
      [{ member: 'B', to: 'BACKUP' }, { member: 'C', to: 'BACKUP' }]);
    assert.deepEqual(syncOrders(masters, 'A', 'BACKUP', 'equal_priority_higher_ip').length, 2);
  });
  it('forced transitions, start-up, fault and shutdown order nothing (no cascade)', () => {
    const members = [m('A', 'MASTER'), m('B', 'BACKUP'), m('C', 'MASTER')];
    for (const reason of ['sync_group', 'shutdown'] as TransitionReason[]) {
      assert.deepEqual(syncOrders(members, 'A', 'MASTER', reason), [], reason);
    }
    assert.deepEqual(syncOrders(members, 'B', 'BACKUP', 'startup'), []);
    assert.deepEqual(syncOrders(members, 'B', 'BACKUP', 'fault_cleared'), []);
    assert.deepEqual(syncOrders(members, 'A', 'FAULT', 'fault'), []);
    assert.deepEqual(syncOrders(members, 'A', 'INIT', 'shutdown'), []);
  });
  it('holds every member but the one that hears a master; nobody when no backup hears one', () => {
    assert.deepEqual([...groupHolds([m('A', 'BACKUP', '192.0.2.2'), m('B', 'BACKUP'), m('C', 'MASTER', '192.0.2.1')])],
      [['A', false], ['B', true], ['C', true]]);
    assert.deepEqual([...groupHolds([m('A', 'BACKUP', '192.0.2.2'), m('B', 'BACKUP', '192.0.2.2')])], [['A', true], ['B', true]]);
    assert.deepEqual([...groupHolds([m('A', 'BACKUP'), m('B', 'BACKUP')])], [['A', false], ['B', false]]);
  });
  it('group state: FAULT if any member is, MASTER/BACKUP when all agree, else unchanged', () => {
    assert.equal(groupState(['MASTER', 'FAULT'], 'MASTER'), 'FAULT');
    assert.equal(groupState(['MASTER', 'MASTER'], 'BACKUP'), 'MASTER');
    assert.equal(groupState(['BACKUP', 'BACKUP'], null), 'BACKUP');
    assert.equal(groupState(['BACKUP', 'MASTER'], 'BACKUP'), 'BACKUP');
    assert.equal(groupState(['INIT', 'BACKUP'], null), null);
    assert.equal(groupFault([false, true]), true);
    assert.equal(groupFault([false, false]), false);
  });
});

const cfg = (localIp: string, priority = 100): MachineConfig => ({
  version: 3, priority, advertIntCs: 100, preempt: true, preemptDelayMs: 0, initialState: 'BACKUP',
  localIp, garpMasterRepeat: 1, garpMasterDelayMs: 0, garpMasterRefreshMs: 0, garpMasterRefreshRepeat: 1, garpLowerPrioRepeat: 0,
});

describe('machine: sync and group_hold events', () => {
  it('sync MASTER takes a backup over at once (reason sync_group); sync BACKUP makes a master step down', () => {
    const c = cfg('192.0.2.1');
    let s = step(c, initialMachineState(c), { type: 'start' }, 0).state;
    let r = step(c, s, { type: 'sync', to: 'MASTER' }, 10);
    assert.deepEqual(r.actions.map((a) => a.type), ['transition', 'add_vips', 'send_advert', 'announce']);
    assert.deepEqual(r.actions[0], { type: 'transition', from: 'BACKUP', to: 'MASTER', reason: 'sync_group' });
    s = r.state;
    r = step(c, s, { type: 'sync', to: 'BACKUP' }, 20);
    assert.deepEqual(r.actions, [{ type: 'transition', from: 'MASTER', to: 'BACKUP', reason: 'sync_group' }, { type: 'remove_vips' }]);
    assert.equal(r.state.masterDownAt, 20 + masterDownIntervalMs(3, 100, 100));
    // Already there, or FAULT: nothing.
    assert.deepEqual(step(c, r.state, { type: 'sync', to: 'BACKUP' }, 30).actions, []);
    const faulted = step(c, r.state, { type: 'fault', faulty: true }, 30).state;
    assert.deepEqual(step(c, faulted, { type: 'sync', to: 'MASTER' }, 40).actions, []);
  });
  it('a held backup does not take over when its Master_Down_Timer fires; released, it does', () => {
    const c = cfg('192.0.2.1');
    let s = step(c, initialMachineState(c), { type: 'start' }, 0).state;
    s = step(c, s, { type: 'advert', src: '192.0.2.9', priority: 200, advertIntCs: 100 }, 0).state;
    s = step(c, s, { type: 'group_hold', hold: true }, 0).state;
    const due = nextDeadline(s)!;
    let r = step(c, s, { type: 'timer' }, due);
    assert.deepEqual(r.actions, [], 'held: no transition');
    assert.equal(r.state.state, 'BACKUP');
    assert.equal(r.state.masterIp, null, 'the master it heard is gone');
    assert.equal(r.state.masterDownAt, due + masterDownIntervalMs(3, 100, 100));
    s = step(c, r.state, { type: 'group_hold', hold: false }, due + 1).state;
    r = step(c, s, { type: 'timer' }, nextDeadline(s)!);
    assert.equal(r.state.state, 'MASTER');
  });
});

/** Two members on one director wired as VrrpService wires them, under one manual clock. */
class Director {
  st: Record<string, MachineState> = {};
  transitions: string[] = [];
  own: Record<string, boolean> = { A: false, B: false };
  constructor(readonly cfgs: Record<string, MachineConfig>, public now = 0) {
    for (const [n, c] of Object.entries(cfgs)) this.st[n] = initialMachineState(c);
  }
  ev(name: string, e: MachineEvent): void {
    const r = step(this.cfgs[name]!, this.st[name]!, e, this.now);
    this.st[name] = r.state;
    const orders = [];
    for (const a of r.actions) {
      if (a.type !== 'transition') continue;
      this.transitions.push(`${name}:${a.to}:${a.reason}`);
      orders.push(...syncOrders(this.views(), name, a.to, a.reason));
    }
    const holds = groupHolds(this.views());
    for (const [n, h] of holds) if (this.st[n]!.groupHold !== h) this.ev(n, { type: 'group_hold', hold: h });
    for (const o of orders) this.ev(o.member, { type: 'sync', to: o.to });
  }
  views(): MemberView[] { return Object.entries(this.st).map(([name, s]) => ({ name, state: s.state, masterIp: s.masterIp })); }
  fault(name: string, f: boolean): void {
    this.own[name] = f;
    const g = groupFault(Object.values(this.own));
    for (const n of Object.keys(this.st)) if (this.st[n]!.faulty !== g) this.ev(n, { type: 'fault', faulty: g });
  }
  advance(t: number): void {
    for (let i = 0; i < 1000; i++) {
      const due = Object.entries(this.st).map(([n, s]) => [n, nextDeadline(s)] as const).filter(([, d]) => d !== null && d <= t)
        .sort((a, b) => a[1]! - b[1]!)[0];
      if (!due) break;
      this.now = due[1]!;
      this.ev(due[0], { type: 'timer' });
    }
    this.now = t;
  }
  states(): string { return `${this.st.A!.state}/${this.st.B!.state}`; }
}

describe('two members under the rules', () => {
  it('start: the first Master_Down_Timer takes both to MASTER; one member FAULT takes both to FAULT and back', () => {
    const d = new Director({ A: cfg('192.0.2.1', 150), B: cfg('198.51.100.1', 150) });
    d.ev('A', { type: 'start' });
    d.ev('B', { type: 'start' });
    d.advance(10_000);
    assert.equal(d.states(), 'MASTER/MASTER');
    d.fault('B', true);
    assert.equal(d.states(), 'FAULT/FAULT');
    d.fault('B', false);
    assert.equal(d.states(), 'BACKUP/BACKUP');
    d.advance(20_000);
    assert.equal(d.states(), 'MASTER/MASTER');
  });
  it('a higher-priority peer on one member takes both to BACKUP, and no flapping follows while it lives', () => {
    const d = new Director({ A: cfg('192.0.2.1', 150), B: cfg('198.51.100.1', 150) });
    d.ev('A', { type: 'start' });
    d.ev('B', { type: 'start' });
    d.advance(5_000);
    assert.equal(d.states(), 'MASTER/MASTER');
    const peerA = () => d.ev('A', { type: 'advert', src: '192.0.2.2', priority: 200, advertIntCs: 100 });
    peerA();
    assert.equal(d.states(), 'BACKUP/BACKUP');
    const before = d.transitions.length;
    // The peer keeps advertising on A for 30 s; B hears nobody (its peer is still backup).
    for (let t = 5_000; t < 35_000; t += 1000) { d.advance(t); peerA(); }
    assert.equal(d.states(), 'BACKUP/BACKUP', `held: ${d.transitions.slice(before).join(' ')}`);
    assert.deepEqual(d.transitions.slice(before), []);
    // The peer dies: A's timer fires, both take over together.
    d.advance(40_000);
    assert.equal(d.states(), 'MASTER/MASTER');
  });
});

describe('vrrp_sync_groups config', () => {
  const inst = (name: string, vrid: number) =>
    `  - { name: ${name}, interface: eth0, virtual_router_id: ${vrid}, virtual_ipaddresses: [192.0.2.${vrid}/24] }\n`;
  const text = (groups: string) => `vrrp_instances:\n${inst('VI_1', 1)}${inst('VI_2', 2)}${inst('VI_3', 3)}vrrp_sync_groups:\n${groups}`;
  it('builds the groups', () => {
    const r = loadConfigText(text('  - { name: G1, group: [VI_1, VI_2], notify: "/usr/local/bin/group-hook \'a b\'", smtp_alert: true }\n'),
      'lb.yaml', { hostname: 'h' });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    assert.deepEqual(r.config.vrrpSyncGroups, [{
      name: 'G1', members: ['VI_1', 'VI_2'], smtpAlert: true,
      notify: { master: undefined, backup: undefined, fault: undefined, stop: undefined, notify: ['/usr/local/bin/group-hook', 'a b'] },
    }]);
  });
  it('a duplicate group name is an error, found with the warnings', () => {
    const r = loadConfigText(text(
      '  - { name: G1, group: [VI_1, VI_2] }\n' +
      '  - { name: G1, group: [VI_3] }\n'), 'lb.yaml', { hostname: 'h' });
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? [] : r.errors.map(formatConfigError), ['lb.yaml:7:13 vrrp_sync_groups[1].name: duplicate sync group name G1']);
    assert.deepEqual(r.warnings.map(formatConfigError), [
      "lb.yaml:7:24 warning: vrrp_sync_groups[1].group: has one instance (VI_3): keepalived keeps such a group and so does tandem; its scripts follow VI_3 alone (a group is for instances that must move together)",
    ]);
  });

  it('what keepalived ignores is a warning, and the model is what keepalived runs (vrrp_sync.c vrrp_sync_set_group())', () => {
    const r = loadConfigText(text(
      '  - { name: G1, group: [VI_1, VI_9, VI_2] }\n' +
      '  - { name: G2, group: [VI_1, VI_3] }\n' +
      '  - { name: G3, group: [VI_8], notify: /usr/local/bin/never }\n' +
      '  - { name: G4, group: [VI_3, VI_3] }\n'), 'lb.yaml', { hostname: 'h' });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    assert.deepEqual(r.warnings.map(formatConfigError), [
      'lb.yaml:6:31 warning: vrrp_sync_groups[0].group[1]: no vrrp_instances entry is named VI_9: ignored, as keepalived ignores it',
      'lb.yaml:7:24 warning: vrrp_sync_groups[1].group: has one instance (VI_3): keepalived keeps such a group and so does tandem; its scripts follow VI_3 alone (a group is for instances that must move together)',
      'lb.yaml:7:25 warning: vrrp_sync_groups[1].group[0]: VI_1 is already in sync group G1 (an instance is in one group only): ignored here, as keepalived ignores a second membership',
      'lb.yaml:8:24 warning: vrrp_sync_groups[2].group: has no instance that exists: the group is dropped, as keepalived drops it (its scripts never run)',
      'lb.yaml:8:25 warning: vrrp_sync_groups[2].group[0]: no vrrp_instances entry is named VI_8: ignored, as keepalived ignores it',
      'lb.yaml:9:24 warning: vrrp_sync_groups[3].group: has no instance that exists: the group is dropped, as keepalived drops it (its scripts never run)',
      'lb.yaml:9:25 warning: vrrp_sync_groups[3].group[0]: VI_3 is already in sync group G2 (an instance is in one group only): ignored here, as keepalived ignores a second membership',
      'lb.yaml:9:31 warning: vrrp_sync_groups[3].group[1]: VI_3 is already in sync group G2 (an instance is in one group only): ignored here, as keepalived ignores a second membership',
    ]);
    // G1 without VI_9; G2 kept with one member; G3 and G4 (nothing left) dropped.
    assert.deepEqual(r.config.vrrpSyncGroups.map((g) => [g.name, g.members]), [['G1', ['VI_1', 'VI_2']], ['G2', ['VI_3']]]);
  });

  it('a name listed twice in one group: the second is ignored; a group of one is kept', () => {
    const r = loadConfigText(text('  - { name: G1, group: [VI_1, VI_1] }\n'), 'lb.yaml', { hostname: 'h' });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    assert.deepEqual(r.warnings.map(formatConfigError), [
      "lb.yaml:6:24 warning: vrrp_sync_groups[0].group: has one instance (VI_1): keepalived keeps such a group and so does tandem; its scripts follow VI_1 alone (a group is for instances that must move together)",
      'lb.yaml:6:31 warning: vrrp_sync_groups[0].group[1]: VI_1 is listed twice: the second is ignored, as keepalived ignores it',
    ]);
    assert.deepEqual(r.config.vrrpSyncGroups.map((g) => g.members), [['VI_1']]);
  });
});
