// The receive side of issue 15 §1 on the fake network and a manual clock: an advert counts from
// when it arrived (its kernel stamp), not from when the loop read it, and before an instance's
// deadline acts its socket is drained, so a backup whose loop was busy while the master's adverts
// waited in the socket does not take over from a live master. Machine time never goes back.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import type { TrackerState } from '../../src/track/priority.js';
import { VrrpRouter } from '../../src/vrrp/router.js';
import { masterDownIntervalMs } from '../../src/vrrp/timers.js';
import { loadOk } from '../lib/config.js';
import { FakeVrrpNetwork, manualOneShot } from '../lib/fakeVrrpNetwork.js';
import { ManualTimers } from '../lib/manualTimers.js';

const quiet = createLogger({ write: () => undefined });
/** v2, advert_int 1 s: Master_Down_Interval for priority p. */
const down = (p: number) => masterDownIntervalMs(2, p, 100);
const CONFIG = 'vrrp_instances:\n' +
  '  - { name: VI_1, interface: eth0, virtual_router_id: 1, priority: 100, advert_int: 1, virtual_ipaddresses: [192.0.2.100/24] }\n' +
  '  - { name: VI_2, interface: eth0, virtual_router_id: 2, priority: 100, advert_int: 1, virtual_ipaddresses: [192.0.2.101/24] }\n';

function rig(opts: { late?: (at: number) => number; trackers?: Record<string, TrackerState[]> } = {}) {
  const timers = new ManualTimers(0);
  const net = new FakeVrrpNetwork(timers).addLink('eth0', ['10.0.0.5/24']);
  const transitions: string[] = [];
  const router = new VrrpRouter(loadOk(CONFIG), {
    net, timers, log: quiet,
    // With `late`: the timer as the daemon's is on a busy loop (fires at once when armed in the
    // past, every other deadline late by late(at)).
    advertTimer: () => manualOneShot(timers, opts.late ? { firePastAtOnce: true, lateMs: opts.late } : {}),
    events: {
      changed: () => undefined,
      transition: (name, _from, to, reason) => transitions.push(`${name}:${to}:${reason}@${timers.now()}`),
      groupTransition: () => undefined,
    },
    ...(opts.trackers ? { trackers: { stateFor: (n: string) => opts.trackers![n] ?? [] } } : {}),
  });
  const state = (name = 'VI_1') => router.snapshot().instances.find((i) => i.name === name)!.state;
  const advert = (vrid: number) => ({ version: 2 as const, vrid, priority: 200, advertIntCs: 100, addresses: [vrid === 1 ? '192.0.2.100' : '192.0.2.101'] });
  /** The master 10.0.0.9 heard (read at once) every second from `from` to `to`, for both VRIDs. */
  const heard = async (from: number, to: number) => {
    for (let t = from; t <= to; t += 1000) {
      await timers.runUntil(t);
      net.inject('eth0', '10.0.0.9', advert(1));
      net.inject('eth0', '10.0.0.9', advert(2));
    }
  };
  /** The master's adverts that arrive at `times` but wait in the socket (the loop is busy). */
  const waiting = (times: number[], vrids = [1, 2]) => {
    for (const t of times) for (const v of vrids) net.enqueue('eth0', '10.0.0.9', advert(v), t);
  };
  return { timers, net, router, transitions, state, heard, waiting };
}

describe('receive: drain the socket before a deadline acts', () => {
  // The last advert read at 5000: Master_Down_Timer at 5000 + 3609.375. The master lives on; its
  // adverts of 6000, 7000 and 8000 arrived but wait unread when that deadline comes.
  it('without the drain (a socket that cannot drain), the backup takes over from a live master', async () => {
    const r = rig();
    r.router.start();
    await r.heard(0, 5000);
    r.waiting([6000, 7000, 8000]);
    r.net.drainReads = false;
    await r.timers.runUntil(9000);
    assert.equal(r.state(), 'MASTER', 'the scenario: the deadline acts on stale timing');
    assert.ok(r.transitions.includes(`VI_1:MASTER:master_down_timer@${5000 + down(100)}`), r.transitions.join(' '));
  });

  it('with the drain, the waiting adverts count first: both instances stay BACKUP, one drain read them all', async () => {
    const r = rig();
    r.router.start();
    await r.heard(0, 5000);
    r.waiting([6000, 7000, 8000]);
    await r.timers.runUntil(9000);
    assert.equal(r.state('VI_1'), 'BACKUP', r.transitions.join(' '));
    assert.equal(r.state('VI_2'), 'BACKUP', r.transitions.join(' '));
    assert.equal(r.net.queued('eth0'), 0);
    // VI_1's deadline (armed first) drained all six, and VI_2's moved with its three.
    assert.deepEqual(r.net.drains.filter((d) => d.read > 0), [{ at: 5000 + down(100), ifname: 'eth0', read: 6 }]);
    assert.equal(r.router.stats.read_before_deadline, 6);
    assert.equal(r.router.stats.accepted, 12 + 6);
    // They restarted the Master_Down_Timer from their arrival (8000), not from the read (8609):
    // the master dies after 8000, and the backup takes over at 8000 + Master_Down_Interval.
    await r.timers.runUntil(8000 + down(100) - 1);
    assert.equal(r.state(), 'BACKUP');
    await r.timers.runUntil(8000 + down(100) + 1);
    assert.equal(r.state(), 'MASTER');
    assert.ok(r.transitions.includes(`VI_1:MASTER:master_down_timer@${8000 + down(100)}`), r.transitions.join(' '));
  });

  it("a master's advert deadlines read nothing first: only a Master_Down_Timer drains", async () => {
    const r = rig();
    r.router.start();
    // No master heard: both take over at Master_Down_Interval (each its deadline drained once).
    await r.timers.runUntil(down(100) + 1);
    assert.equal(r.state('VI_1'), 'MASTER');
    assert.equal(r.state('VI_2'), 'MASTER');
    const drainsAsBackup = r.net.drains.length;
    assert.ok(drainsAsBackup >= 2, `each backup deadline drained: ${drainsAsBackup}`);
    // Five advert intervals as masters: adverts go out, and no deadline reads the socket first.
    const sentBefore = r.net.sent.length;
    await r.timers.runUntil(down(100) + 5000);
    assert.ok(r.net.sent.length - sentBefore >= 8, `adverts sent as master: ${r.net.sent.length - sentBefore}`);
    assert.equal(r.net.drains.length, drainsAsBackup, JSON.stringify(r.net.drains));
  });

  it("a late timer that re-fires at once mid-drain (the daemon's precise timer) still acts only after the whole queue", async () => {
    // The deadline (8609) fires 1500 ms late, at 10109: the advert of 6000 alone moves it to
    // 9609, already past, and the timer fires inside arm(). Acting then would take over with the
    // advert of 10000 still waiting.
    const r = rig({ late: (at) => (at === 5000 + down(100) ? 1500 : 0) });
    r.router.start();
    await r.heard(0, 5000);
    r.waiting([6000, 10_000]);
    await r.timers.runUntil(5000 + down(100) + 1500);
    assert.equal(r.state('VI_1'), 'BACKUP', r.transitions.join(' '));
    assert.equal(r.state('VI_2'), 'BACKUP', r.transitions.join(' '));
    assert.deepEqual(r.net.drains.filter((d) => d.read > 0).map((d) => d.read), [4], 'one drain, no nested one');
    await r.timers.runUntil(10_000 + down(100) + 1);
    assert.equal(r.state(), 'MASTER', 'and the deadline of the last advert acts');
  });
});

describe('receive: an advert counts from its arrival', () => {
  it('read 500 ms late by the poll, it restarts Master_Down_Timer from its kernel stamp', async () => {
    const r = rig();
    r.router.start();
    await r.heard(0, 5000);
    r.waiting([6000]);
    await r.timers.runUntil(6500);
    assert.equal(r.net.deliverQueued('eth0'), 2);
    await r.timers.runUntil(6000 + down(100) - 1);
    assert.equal(r.state(), 'BACKUP');
    await r.timers.runUntil(6000 + down(100) + 1);
    assert.equal(r.state(), 'MASTER', 'from 6000, not 6500');
  });

  it('stamped before the last event the machine handled, it counts from that event: machine time never goes back', async () => {
    // A tracker lowers the priority at 6000 (an event at 6000); an advert that arrived at 5200
    // is read only after it. Handled at 5200 the machine's clock would go back; it is handled at
    // 6000, so the backup waits until 6000 + Master_Down_Interval(70), not 5200 + that.
    const trackers: Record<string, TrackerState[]> = { VI_1: [{ kind: 'script', name: 'chk', weight: -30, up: true }] };
    const r = rig({ trackers });
    r.router.start();
    await r.heard(0, 5000);
    r.waiting([5200], [1]);
    await r.timers.runUntil(6000);
    trackers.VI_1 = [{ kind: 'script', name: 'chk', weight: -30, up: false }];
    r.router.trackerChanged('VI_1');
    assert.equal(r.router.snapshot().instances[0]!.effective_priority, 70);
    assert.equal(r.net.deliverQueued('eth0'), 1);
    await r.timers.runUntil(5200 + down(70) + 1);
    assert.equal(r.state(), 'BACKUP', 'not from 5200: that is before the event at 6000');
    await r.timers.runUntil(6000 + down(70) - 1);
    assert.equal(r.state(), 'BACKUP');
    await r.timers.runUntil(6000 + down(70) + 1);
    assert.equal(r.state(), 'MASTER');
  });

  it('stamped in the future (a clock step), it counts as read now', async () => {
    const r = rig();
    r.router.start();
    await r.heard(0, 5000);
    r.waiting([20_000], [1]);
    await r.timers.runUntil(6000);
    r.net.deliverQueued('eth0');
    await r.timers.runUntil(6000 + down(100) + 1);
    assert.equal(r.state(), 'MASTER');
    assert.ok(r.transitions.includes(`VI_1:MASTER:master_down_timer@${6000 + down(100)}`), r.transitions.join(' '));
  });
});
