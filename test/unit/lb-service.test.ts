// The LB service (src/lb/service.ts) with fakes, no root: a scripted probe runner, an
// in-memory table backend, a recording alert sink and a manual clock (test/lib/manualTimers.ts).
// A verdict reaches the backend's apply; quorum changes and real server changes reach the alerts;
// and the service's desired table is computed once per verdict (issue 14 §7: it was twice, once
// for the quorum hooks and once more in the reconciler's pass).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertEvent } from '../../src/alert/events.js';
import type { CheckConfig } from '../../src/config/lbModel.js';
import type { ProbeResult } from '../../src/check/verdict.js';
import type { ApplyResult, LbBackend } from '../../src/lb/backend.js';
import type { LbTable } from '../../src/lb/model.js';
import { applyOps, type TableOp } from '../../src/lb/reconcile.js';
import { LbService } from '../../src/lb/service.js';
import { planReload } from '../../src/daemon/reloadPlan.js';
import { createLogger } from '../../src/log.js';
import { loadOk } from '../lib/config.js';
import { ManualTimers } from '../lib/manualTimers.js';

const quiet = createLogger({ write: () => {} });

class MemoryBackend implements LbBackend {
  table: LbTable = new Map();
  batches: TableOp[][] = [];
  /** While set, every read fails as a kernel without IPVS would. */
  broken = false;
  async readTable(): Promise<LbTable> {
    if (this.broken) throw new Error('Protocol not available');
    return this.table;
  }
  async apply(ops: readonly TableOp[]): Promise<ApplyResult> {
    this.batches.push([...ops]);
    this.table = applyOps(this.table, ops);
    return { sent: ops.length, applied: ops.length, refused: [], exitStatus: 0, stderrLines: [], durationMs: 0 };
  }
}

// Two services; the first needs both of its real servers for quorum.
const CONFIG = `virtual_servers:
  - address: 192.0.2.100
    port: 80
    protocol: TCP
    lb_algo: rr
    lb_kind: NAT
    quorum: 2
    delay_loop: 3
    real_servers:
      - { address: 198.51.100.11, port: 80, checks: [{ tcp_check: {} }] }
      - { address: 198.51.100.12, port: 80, checks: [{ tcp_check: {} }] }
  - address: 192.0.2.101
    port: 80
    protocol: TCP
    lb_algo: rr
    lb_kind: NAT
    delay_loop: 3
    real_servers:
      - { address: 198.51.100.21, port: 80, checks: [{ tcp_check: {} }] }
`;

function setup(text = CONFIG) {
  const config = loadOk(text);
  const timers = new ManualTimers();
  const backend = new MemoryBackend();
  const alerts: AlertEvent[] = [];
  const down = new Set<string>();
  /** Probes in flight: answered by answer(), so a test decides when a verdict comes. */
  const inFlight: Array<{ ip: string; resolve: (r: ProbeResult) => void }> = [];
  const runProbe = (check: CheckConfig): Promise<ProbeResult> =>
    new Promise((resolve) => inFlight.push({ ip: check.connectIp, resolve }));
  const answer = () => {
    for (const p of inFlight.splice(0)) p.resolve(down.has(p.ip) ? { ok: false, reason: 'refused', detail: 'ECONNREFUSED' } : { ok: true });
  };
  const lb = new LbService(config.virtualServers, {
    log: quiet, timers, backend, backendName: 'netlink', runProbe, random: () => 0,
    changed: () => undefined, alert: (e) => alerts.push(e),
  });
  return { lb, timers, backend, alerts, down, inFlight, answer, config };
}

/** Lets promise chains (probe results, the backend's answers) settle; the clock does not move. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Starts the service and runs its first probes and its start pass. */
async function started(f: ReturnType<typeof setup>): Promise<void> {
  f.lb.start();
  f.timers.flush();
  await settle();
  f.answer();
  await settle();
  f.timers.flush();
  await settle();
}

describe('LB service with fakes', () => {
  test('a verdict reaches the backend once; its service\'s desired table is computed once; quorum and server changes reach the alerts', async () => {
    const f = setup();
    const { lb, timers, backend, alerts, down, inFlight, answer } = f;
    await started(f);
    try {
      assert.ok(backend.batches.length >= 1, 'the start pass applied the table');
      assert.deepEqual([...backend.table.keys()].sort(), ['TCP 192.0.2.100:80', 'TCP 192.0.2.101:80']);
      assert.equal(backend.table.get('TCP 192.0.2.100:80')!.dests.size, 2);
      assert.equal(alerts.length, 0, 'nothing changed yet');

      down.add('198.51.100.11');
      let perVerdict: number | undefined;
      let batchesBefore = 0;
      for (let i = 0; i < 50 && perVerdict === undefined; i++) {
        timers.step(); // the next deadline: probes go out (and any periodic pass runs here)
        await settle();
        const before = lb.servicesComputed;
        batchesBefore = backend.batches.length;
        answer(); // the results: perhaps the verdict
        await settle();
        timers.flush(); // the triggered pass (next turn)
        await settle();
        if (alerts.some((e) => e.type === 'real_server')) perVerdict = lb.servicesComputed - before;
      }
      assert.equal(perVerdict, 1, 'one verdict: its one service computed once');
      assert.equal(inFlight.length, 0);
      const batch = backend.batches.slice(batchesBefore);
      assert.deepEqual(batch.flat().map((op) => op.op), ['delete_dest'], 'the verdict is one kernel operation');
      assert.deepEqual([...backend.table.get('TCP 192.0.2.100:80')!.dests.keys()], ['198.51.100.12:80']);
      assert.equal(backend.table.get('TCP 192.0.2.101:80')!.dests.size, 1, 'the other service is untouched');
      const rs = alerts.find((e) => e.type === 'real_server');
      assert.ok(rs && rs.type === 'real_server' && !rs.up && rs.realServer === 'TCP 192.0.2.100:80 -> 198.51.100.11:80');
      const q = alerts.find((e) => e.type === 'quorum');
      assert.ok(q && q.type === 'quorum' && !q.up && q.virtualServer === 'TCP 192.0.2.100:80', JSON.stringify(alerts));
      assert.equal(q.time, timers.wallNow(), 'alert times come from the injected clock');
      const snap = lb.snapshot();
      assert.equal(snap.virtual_servers.find((v) => v.key === 'TCP 192.0.2.100:80')!.quorum_up, false);
    } finally {
      await lb.stop();
    }
  });

  test('a failing backend: the error is in the snapshot, and quorum hooks do not wait for it', async () => {
    const f = setup();
    f.backend.broken = true;
    await started(f);
    assert.equal(f.backend.batches.length, 0);
    assert.match(f.lb.snapshot().backend.last_error ?? '', /Protocol not available/);
    f.down.add('198.51.100.11');
    for (let i = 0; i < 50 && !f.alerts.some((e) => e.type === 'quorum'); i++) {
      f.timers.step();
      await settle();
      f.answer();
      await settle();
    }
    const q = f.alerts.find((e) => e.type === 'quorum');
    const rs = f.alerts.find((e) => e.type === 'real_server');
    assert.ok(q && q.type === 'quorum' && !q.up, 'quorum lost is reported while the backend still fails');
    assert.equal(q.time, rs?.time, 'at the verdict, not at the backend\'s next retry');
    assert.equal(f.backend.batches.length, 0, 'nothing reached the kernel');
    await f.lb.stop();
  });

  test('a reload computes only the services it changed', async () => {
    const f = setup();
    await started(f);
    try {
      const weighted = loadOk(CONFIG.replace('198.51.100.21, port: 80,', '198.51.100.21, port: 80, weight: 4,'));
      const before = f.lb.servicesComputed;
      const batches = f.backend.batches.length;
      const plan = planReload(f.config, weighted).lb;
      assert.deepEqual(plan.changedServices, ['TCP 192.0.2.101:80']);
      f.lb.reconfigure(weighted.virtualServers, plan);
      f.timers.flush();
      await settle();
      assert.equal(f.lb.servicesComputed - before, 1, 'one changed service, computed once (the pass takes that entry)');
      assert.deepEqual(f.backend.batches.slice(batches).flat().map((op) => op.op), ['edit_dest']);
      assert.equal([...f.backend.table.get('TCP 192.0.2.101:80')!.dests.values()][0]!.weight, 4);
    } finally {
      await f.lb.stop();
    }
  });
});

// virtual_server_groups (config/virtualServerGroups.ts): one config entry for several services.
const GROUP_CONFIG = `virtual_server_groups:
  - name: WEB
    members:
      - 192.0.2.10-12 80
      - { address: 192.0.2.20, port: 8080 }
      - fwmark 7
virtual_servers:
  - group: WEB
    protocol: TCP
    lb_algo: rr
    quorum: 2
    delay_loop: 3
    real_servers:
      - { address: 198.51.100.11, port: 80, checks: [{ tcp_check: { connect_port: 80 } }] }
      - { address: 198.51.100.12, port: 80, checks: [{ tcp_check: { connect_port: 80 } }] }
`;

describe('LB service: a virtual_server_group', () => {
  test('the table holds every member service; each real server is probed once per round for the whole group; one alert per change, named for the group', async () => {
    const f = setup(GROUP_CONFIG);
    const { timers, backend, alerts, down, inFlight, answer } = f;
    const members = ['FWM 7', 'TCP 192.0.2.10:80', 'TCP 192.0.2.11:80', 'TCP 192.0.2.12:80', 'TCP 192.0.2.20:8080'];
    f.lb.start();
    try {
      // The first delay_loop (3 s, the warmup spreads the first probes over it): one probe per
      // real server, not one per real server per member (5 x 2).
      const probed: string[] = [];
      for (let i = 0; i < 100 && timers.now() < 3000; i++) {
        timers.step();
        await settle();
        if (timers.now() < 3000) probed.push(...inFlight.map((p) => p.ip));
        answer();
        await settle();
      }
      timers.flush();
      await settle();
      assert.deepEqual(probed.sort(), ['198.51.100.11', '198.51.100.12']);
      assert.deepEqual([...backend.table.keys()].sort(), members);
      for (const k of members) assert.equal(backend.table.get(k)!.dests.size, 2, k);
      // NAT: each member's real servers on their own port (80), the fwmark's too.
      assert.deepEqual([...backend.table.get('TCP 192.0.2.20:8080')!.dests.keys()].sort(), ['198.51.100.11:80', '198.51.100.12:80']);

      down.add('198.51.100.11');
      let rounds = 0;
      for (; rounds < 50 && !alerts.some((e) => e.type === 'real_server'); rounds++) {
        timers.step();
        await settle();
        assert.ok(inFlight.length <= 2, `one probe per real server per round, got ${inFlight.length}`);
        answer();
        await settle();
        timers.flush();
        await settle();
      }
      assert.ok(rounds < 50, 'the real server went down');
      const rs = alerts.filter((e) => e.type === 'real_server');
      const q = alerts.filter((e) => e.type === 'quorum');
      assert.equal(rs.length, 1, `one real_server alert for the group: ${JSON.stringify(rs)}`);
      assert.equal(q.length, 1, `one quorum alert for the group: ${JSON.stringify(q)}`);
      assert.equal(rs[0]!.virtualServer, '[WEB]');
      assert.equal(q[0]!.virtualServer, '[WEB]');
      for (const k of members) assert.ok(!backend.table.get(k)!.dests.has('198.51.100.11:80'), `${k} still has the dead server`);
      const snap = f.lb.snapshot();
      assert.deepEqual(snap.virtual_servers.map((v) => [v.key, v.group]).sort(), members.map((k) => [k, 'WEB']));
    } finally {
      await f.lb.stop();
    }
  });
});
