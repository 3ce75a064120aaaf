// What the status document, `tandem status` and /metrics say about the wire (issue 12 §1, §5):
// an instance held in FAULT because its adverts cannot be sent, the receive drops by reason
// (bad_source among them), and the kernel's drops on each VRRP socket with its receive buffer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderMetrics } from '../../src/api/metrics.js';
import { renderStatusTable } from '../../src/api/statusCli.js';
import type { DaemonStatus, StatusInstance } from '../../src/api/status.js';
import { newRxStats } from '../../src/vrrp/receive.js';

const NOW = Date.parse('2026-01-02T03:04:05.000Z');
const PROC = { cpuSeconds: 1, residentBytes: 1, startTimeSeconds: 1, openFds: null };

function instance(name: string, extra: Partial<StatusInstance> = {}): StatusInstance {
  return {
    name, vrid: 51, family: 4, interface: 'eth0', version: 3, state: 'MASTER', priority: 100, effective_priority: 100,
    master_ip: '192.0.2.1', transitions: 1, src_ip: '192.0.2.1', last_transition: null, ...extra,
  };
}

function status(instances: StatusInstance[], rx: DaemonStatus['rx'] = { accepted: 0, drops: {} }): DaemonStatus {
  return {
    pid: 1, version: '0.1.0', router_id: 'lb1', hostname: 'lb1', started_at: '2026-01-02T03:00:00.000Z',
    instances, rx, lb: null, trackers: { scripts: [], files: [], processes: [] },
    alerts: { scripts: { run: 0, failed: 0, timed_out: 0, dropped: 0, keys: 0, pending: 0, running: 0 }, notify_fifo: null, webhooks: [], mail: null },
  };
}

const FAULTED = instance('VI_1', {
  state: 'FAULT', master_ip: null,
  advert_send: {
    failures: 7, consecutive_failed: 4, last_error: '224.0.0.18: sendmsg: Operation not permitted',
    fault: {
      reason: 'advert_send_failed', detail: '3 adverts in a row left on none of their 1 destination(s) (224.0.0.18: sendmsg: Operation not permitted)',
      since: '2026-01-02T03:04:00.000Z', retry_at: '2026-01-02T03:04:10.000Z',
    },
  },
});
const SENDS_FINE = instance('VI_2', { advert_send: { failures: 1, consecutive_failed: 0, last_error: '224.0.0.18: ENOBUFS', fault: null } });

describe('adverts that cannot be sent', () => {
  it('the table says which instance is held in FAULT, why, and when it tries again', () => {
    const text = renderStatusTable(status([FAULTED, SENDS_FINE]), NOW);
    assert.match(text, /^ {2}VI_1: ADVERTS CANNOT BE SENT \(advert_send_failed\), held in FAULT since 5s ago: 3 adverts in a row left on none of their 1 destination\(s\) \(224\.0\.0\.18: sendmsg: Operation not permitted\); trying again in 5s$/m);
    assert.match(text, /^ {2}VI_2: 1 advert send\(s\) failed \(last: 224\.0\.0\.18: ENOBUFS\)$/m);
    const encode = { ...FAULTED, advert_send: { ...FAULTED.advert_send!, fault: { ...FAULTED.advert_send!.fault!, reason: 'advert_encode_failed' as const, retry_at: null } } };
    assert.match(renderStatusTable(status([encode]), NOW), /\(advert_encode_failed\).*permanent for this config: fix it and reload$/m);
  });

  it('metrics: a failure counter and a fault gauge per instance', () => {
    const text = renderMetrics(status([FAULTED, SENDS_FINE]), PROC);
    assert.match(text, /^# TYPE tandem_vrrp_advert_send_failures_total counter$/m);
    assert.match(text, /^tandem_vrrp_advert_send_failures_total\{instance="VI_1"\} 7$/m);
    assert.match(text, /^tandem_vrrp_advert_send_failures_total\{instance="VI_2"\} 1$/m);
    assert.match(text, /^tandem_vrrp_advert_send_fault\{instance="VI_1"\} 1$/m);
    assert.match(text, /^tandem_vrrp_advert_send_fault\{instance="VI_2"\} 0$/m);
  });

  it('a status document without the field (an older daemon) renders as before', () => {
    const text = renderMetrics(status([instance('VI_1')]), PROC);
    assert.doesNotMatch(text, /advert_send/);
    assert.doesNotMatch(renderStatusTable(status([instance('VI_1')]), NOW), /advert send|CANNOT BE SENT/);
  });
});

describe('receive drops by reason', () => {
  it('bad_source is a counter from the start, in the state file, the table and the metrics', () => {
    const rx = newRxStats();
    assert.equal(rx.drops.bad_source, 0);
    rx.drops.bad_source += 3;
    const s = status([instance('VI_1')], rx);
    assert.match(renderMetrics(s, PROC), /^tandem_vrrp_adverts_dropped_total\{reason="bad_source"\} 3$/m);
    assert.match(renderStatusTable(s, NOW), /adverts accepted 0, dropped bad_source 3/);
  });
});

describe('kernel drops on the VRRP sockets', () => {
  const rx = (): DaemonStatus['rx'] => ({
    accepted: 5, drops: { unknown_vrid: 70 }, kernel_drops: 130,
    sockets: {
      'eth0/6': { kernel_drops: 118, receive_buffer: { requested: 262144, granted: 524288, forced: true } },
      'eth1/4': { kernel_drops: 0, receive_buffer: { requested: 1048576, granted: 425984, forced: false } },
      'eth2/4': { kernel_drops: 0, receive_buffer: null },
    },
  });

  it('the table: the total, then each socket with the buffer the kernel granted', () => {
    const text = renderStatusTable(status([instance('VI_1')], rx()), NOW);
    assert.match(text, /adverts accepted 5, dropped unknown_vrid 70; dropped by the kernel \(receive buffer full\) 130\n/);
    assert.match(text, /^ {2}SOCKET +RECEIVE BUFFER +KERNEL DROPS$/m);
    assert.match(text, /^ {2}eth0\/6 +524288 bytes \(asked 262144, forced\) +118$/m);
    assert.match(text, /^ {2}eth1\/4 +425984 bytes \(asked 1048576\) +0$/m);
    assert.match(text, /^ {2}eth2\/4 +- +0$/m);
  });

  it('metrics: a kernel drop counter and the granted buffer per socket', () => {
    const text = renderMetrics(status([instance('VI_1')], rx()), PROC);
    assert.match(text, /^# TYPE tandem_vrrp_socket_kernel_drops_total counter$/m);
    assert.match(text, /^tandem_vrrp_socket_kernel_drops_total\{socket="eth0\/6"\} 118$/m);
    assert.match(text, /^tandem_vrrp_socket_kernel_drops_total\{socket="eth2\/4"\} 0$/m);
    assert.match(text, /^tandem_vrrp_socket_receive_buffer_bytes\{socket="eth1\/4"\} 425984$/m);
    assert.doesNotMatch(text, /receive_buffer_bytes\{socket="eth2\/4"\}/, 'not sized yet: no sample');
  });

  it('a status document without sockets (an older daemon) has neither', () => {
    const s = status([instance('VI_1')]);
    assert.doesNotMatch(renderMetrics(s, PROC), /socket_kernel_drops/);
    assert.doesNotMatch(renderStatusTable(s, NOW), /dropped by the kernel|SOCKET/);
  });
});
