// The VRRP router with the advert sender port (vrrp/router.ts, vrrp/advertCadence.ts) on the
// fake network's sender (test/lib/fakeVrrpNetwork.ts FakeAdvertSender) and a manual clock: a
// MASTER's periodic adverts come from the sender's job, installed on MASTER, re-installed when
// what they carry changes, stopped before the priority 0 advert on leaving MASTER; the lease is
// renewed by the router's ticker, and a lease that ran out (the loop stalled) gives an advert at
// once and a new job; the sender's failed sends reach the send-fault rule.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { planReload } from '../../src/daemon/reloadPlan.js';
import type { TrackerState } from '../../src/track/priority.js';
import { VrrpRouter } from '../../src/vrrp/router.js';
import { masterDownIntervalMs } from '../../src/vrrp/timers.js';
import { FAILED_ADVERTS_TO_FAULT } from '../../src/vrrp/sendHealth.js';
import { leaseMs } from '../../src/vrrp/advertCadence.js';
import { loadOk } from '../lib/config.js';
import { FakeVrrpNetwork, manualOneShot } from '../lib/fakeVrrpNetwork.js';
import { ManualTimers } from '../lib/manualTimers.js';

const quiet = createLogger({ write: () => undefined });
const one = (priority = 100, vips = ['192.0.2.100/24'], advertInt = 1) =>
  `vrrp_instances:\n  - { name: VI_1, interface: eth0, virtual_router_id: 1, version: 3, priority: ${priority}, advert_int: ${advertInt}, ` +
  `virtual_ipaddresses: [${vips.join(', ')}] }\n`;
const DOWN = masterDownIntervalMs(3, 100, 100); // 3609.375

function rig(text: string, opts: { trackers?: Record<string, TrackerState[]>; noSender?: boolean } = {}) {
  const timers = new ManualTimers(0);
  const net = new FakeVrrpNetwork(timers).addLink('eth0', ['10.0.0.5/24']);
  if (opts.noSender) net.openAdvertSender = undefined;
  const router = new VrrpRouter(loadOk(text), {
    net, timers, advertTimer: () => manualOneShot(timers), log: quiet,
    events: { changed: () => undefined, transition: () => undefined, groupTransition: () => undefined },
    ...(opts.trackers ? { trackers: { stateFor: (n: string) => opts.trackers![n] ?? [] } } : {}),
  });
  const state = () => router.snapshot().instances[0]!.state;
  const sent = (since = -Infinity) => net.sent.filter((s) => s.at >= since).map((s) => `${s.by}:${s.advert.priority}@${s.at}`);
  return { timers, net, router, state, sent, until: (t: number) => timers.runUntil(t) };
}

describe('advert sender: the job follows the machine', () => {
  it('a new MASTER sends its first advert itself, then the job sends one per advert_int on absolute deadlines', async () => {
    const r = rig(one());
    r.router.start();
    await r.until(DOWN + 3000);
    assert.deepEqual(r.net.order.slice(0, 2), ['advert driver 100', 'set 1'], 'the job starts after the immediate advert');
    assert.equal(r.state(), 'MASTER');
    assert.deepEqual(r.sent(), [`driver:100@${DOWN}`, `sender:100@${DOWN + 1000}`, `sender:100@${DOWN + 2000}`, `sender:100@${DOWN + 3000}`]);
    assert.deepEqual(r.net.sender!.calls, [`set 1 1 1000 1000 ${leaseMs(100)}`]);
  });

  it('without a sender on the port the driver sends every advert, as before', async () => {
    const r = rig(one(), { noSender: true });
    r.router.start();
    await r.until(DOWN + 2000);
    assert.deepEqual(r.sent(), [`driver:100@${DOWN}`, `driver:100@${DOWN + 1000}`, `driver:100@${DOWN + 2000}`]);
    assert.equal(r.router.snapshot().instances[0]!.advert_sender, null);
  });

  it('a priority change re-installs the job with the new priority, keeping its deadline', async () => {
    const trackers: Record<string, TrackerState[]> = { VI_1: [{ kind: 'script', name: 'chk', weight: -30, up: true }] };
    const r = rig(one(), { trackers });
    r.router.start();
    await r.until(DOWN + 1500);
    trackers.VI_1 = [{ kind: 'script', name: 'chk', weight: -30, up: false }];
    r.router.trackerChanged('VI_1');
    await r.until(DOWN + 3000);
    assert.deepEqual(r.sent(DOWN + 1), [`sender:100@${DOWN + 1000}`, `sender:70@${DOWN + 2000}`, `sender:70@${DOWN + 3000}`]);
    assert.deepEqual(r.net.sender!.calls.slice(1), [`set 1 1 1000 keep ${leaseMs(100)}`]);
  });

  it('a reload that changes advert_int or the VIPs re-installs the job; one that changes nothing of the advert does not', async () => {
    const r = rig(one());
    r.router.start();
    await r.until(DOWN + 1500);
    const reload = (text: string) => {
      const next = loadOk(text);
      const plan = planReload(r.router.config, next);
      r.router.reconfigure(next, plan.vrrp);
    };
    reload(one(100, ['192.0.2.100/24', '192.0.2.101/24']));
    assert.deepEqual(r.net.sender!.calls.slice(1), [`set 1 1 1000 keep ${leaseMs(100)}`]);
    reload(one(100, ['192.0.2.100/24', '192.0.2.101/24'], 0.5));
    assert.deepEqual(r.net.sender!.calls.slice(2), [`set 1 1 500 keep ${leaseMs(50)}`]);
    await r.until(DOWN + 3000);
    const last = r.net.sent.at(-1)!;
    assert.deepEqual([last.by, last.advert.advertIntCs, last.advert.addresses], ['sender', 50, ['192.0.2.100', '192.0.2.101']]);
    // New interval: a new deadline one (new) interval from the reload, then every 500 ms.
    assert.deepEqual(r.sent(DOWN + 1501), [`sender:100@${DOWN + 2000}`, `sender:100@${DOWN + 2500}`, `sender:100@${DOWN + 3000}`]);
  });

  for (const [what, leave] of [
    ['stop()', (r: ReturnType<typeof rig>) => r.router.stop()],
    ['a higher master heard (BACKUP)', (r: ReturnType<typeof rig>) => r.net.inject('eth0', '10.0.0.9', { version: 3, vrid: 1, priority: 200, advertIntCs: 100, addresses: ['192.0.2.100'] })],
    ['its interface down (FAULT)', (r: ReturnType<typeof rig>) => r.net.setLink('eth0', false)],
  ] as const) {
    it(`leaving MASTER by ${what} stops the job before anything else is sent; nothing from the sender after`, async () => {
      const r = rig(one());
      r.router.start();
      await r.until(DOWN + 1500);
      const before = r.net.sent.length;
      leave(r);
      assert.notEqual(r.state(), 'MASTER');
      assert.deepEqual(r.net.sender!.active, []);
      // Less than a Master_Down_Interval: the BACKUP does not come back meanwhile.
      await r.until(DOWN + 4500);
      assert.deepEqual(r.net.sent.slice(before).filter((s) => s.by === 'sender'), []);
    });
  }

  it('on stop the priority 0 advert is the last one on the wire, sent after the job stopped', async () => {
    const r = rig(one());
    r.router.start();
    await r.until(DOWN + 1000);
    // The job's deadline and the stop fall on the same instant: the job must not send after the priority 0.
    r.router.stop();
    await r.until(DOWN + 3000);
    assert.deepEqual(r.sent(DOWN + 1), [`sender:100@${DOWN + 1000}`, `driver:0@${DOWN + 1000}`]);
    // The thread sends on its own: the job must be stopped before the priority 0 leaves, or
    // one more advert of it could follow the resignation and restart the backup's timer.
    const p0 = r.net.order.indexOf('advert driver 0');
    assert.deepEqual(r.net.order.slice(p0 - 2, p0 + 1), ['advert sender 100', 'stop 1', 'advert driver 0']);
    assert.ok(!r.net.order.slice(p0).includes('advert sender 100'));
    assert.ok(r.net.sender!.closed);
  });
});

describe('advert sender: the lease', () => {
  it('the router renews the lease: a master keeps its job for a minute', async () => {
    const r = rig(one());
    r.router.start();
    await r.until(DOWN + 60_000);
    assert.deepEqual(r.net.sender!.active, [1]);
    assert.equal(r.net.sender!.stats(1)!.leaseExpiries, 0);
    assert.equal(r.sent().filter((s) => s.startsWith('sender:')).length, 60);
  });

  it('a lease that ran out (renewals lost: the loop stalled) stops the adverts; when the loop runs, an advert at once and a new job', async () => {
    const r = rig(one(100, ['192.0.2.100/24'], 0.05));
    r.router.start();
    const down = masterDownIntervalMs(3, 100, 5);
    await r.until(down + 100);
    assert.equal(r.state(), 'MASTER');
    const stalledAt = r.timers.now();
    r.net.sender!.renewals = false;
    // The last renewal was at most LEASE_RENEW_MS before the stall: the job stops by then + lease.
    await r.until(stalledAt + 1200);
    // The expiry is seen at once (the report), handled as a late Adver_Timer: the driver sends,
    // and the job is installed again.
    assert.equal(r.net.sender!.stats(1)!.leaseExpiries, 1);
    const driverAfter = r.net.sent.filter((s) => s.by === 'driver' && s.at > stalledAt);
    assert.equal(driverAfter.length, 1, 'one advert from the driver when it learnt of the expiry');
    const expiredAt = driverAfter[0]!.at;
    assert.ok(expiredAt > stalledAt + leaseMs(5) - 100 && expiredAt <= stalledAt + leaseMs(5), `expiry seen ${expiredAt - stalledAt} ms after the stall`);
    const oldJob = r.net.sent.filter((s) => s.by === 'sender' && s.at > stalledAt && s.at < expiredAt);
    assert.ok(oldJob.length >= 17, `${oldJob.length} adverts from the job during the stall`);
    const lastOld = oldJob.at(-1)!.at;
    assert.ok(expiredAt - lastOld <= 50, `driver advert ${expiredAt - lastOld} ms after the job's last`);
    assert.deepEqual(r.net.sender!.calls.slice(-1), [`set 1 1 50 50 ${leaseMs(5)}`]);
    assert.equal(r.router.leaseExpiries, 1);
    assert.equal(r.router.snapshot().instances[0]!.advert_sender!.lease_expiries, 1);
    // Renewals back: the new job runs on.
    r.net.sender!.renewals = true;
    const t = r.timers.now();
    await r.until(t + 3000);
    assert.deepEqual(r.net.sender!.active, [1]);
    assert.equal(r.router.leaseExpiries, 1);
    assert.ok(r.net.sent.filter((s) => s.by === 'sender' && s.at > t).length >= 59);
  });
});

describe('advert sender: send failures', () => {
  it(`${FAILED_ADVERTS_TO_FAULT} adverts in a row that the sender could not send: FAULT, and its counters in the status`, async () => {
    const r = rig(one());
    r.router.start();
    await r.until(DOWN + 1500);
    r.net.failSends = 'ENETDOWN: network is down';
    await r.until(DOWN + 2010);
    assert.equal(r.state(), 'MASTER', 'one failure is no fault');
    await r.until(DOWN + 4010);
    assert.equal(r.state(), 'FAULT');
    const st = r.router.snapshot().instances[0]!;
    assert.equal(st.advert_send.consecutive_failed, FAILED_ADVERTS_TO_FAULT + 1, 'the job\'s three and the priority 0 advert at FAULT');
    assert.deepEqual(st.advert_sender && { ...st.advert_sender, last_error: st.advert_sender.last_error }, {
      active: false, sent: 1, send_errors: 3, last_error: 'ENETDOWN: network is down', late: 0, lease_expiries: 0, thread_priority: 'normal', max_late_us: 0, late_over_1ms: 0,
    });
  });

  it('failures between good adverts do not add up to a fault (the thread reports the first good advert after a failure)', async () => {
    const r = rig(one());
    r.router.start();
    await r.until(DOWN + 1500);
    for (let i = 0; i < 4; i++) {
      r.net.failSends = 'ENOBUFS: no buffer space';
      await r.until(DOWN + 2010 + i * 3000);
      r.net.failSends = null;
      await r.until(DOWN + 4010 + i * 3000);
    }
    assert.equal(r.state(), 'MASTER');
    const st = r.router.snapshot().instances[0]!;
    assert.equal(st.advert_send.failures, 4);
    assert.equal(st.advert_send.consecutive_failed, 0);
  });
});
