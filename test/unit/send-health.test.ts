// The send-failure rule (src/vrrp/sendHealth.ts), alone and driving two pure VRRP machines on a
// manual clock: a master whose adverts stop leaving must give the VIPs up before its backup,
// hearing nothing, takes them (issue 12: "a lasting split brain"), must not flap on a
// transient failure, and must come back on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FAILED_ADVERTS_TO_FAULT, SEND_FAULT_HOLD_MAX_MS, SEND_FAULT_HOLD_MS, afterReconfigure, cannotEncode, holdMs,
  initialSendHealth, recordAdvert, retryDue, type AdvertAttempt, type SendHealth,
} from '../../src/vrrp/sendHealth.js';
import { initialMachineState, nextDeadline, step, type MachineConfig, type MachineEvent, type MachineState } from '../../src/vrrp/machine.js';
import { masterDownIntervalMs } from '../../src/vrrp/timers.js';

const ok1: AdvertAttempt = { destinations: 1, failed: [] };
const fail1: AdvertAttempt = { destinations: 1, failed: [{ dst: '224.0.0.18', error: 'sendmsg: Operation not permitted (EPERM)' }] };

test('three adverts in a row that leave nowhere make a fault; a success in between starts the count again', () => {
  let h = initialSendHealth();
  let now = 0;
  const feed = (a: AdvertAttempt) => { const s = recordAdvert(h, a, now); h = s.health; now += 1000; return s.change; };
  assert.equal(feed(fail1), null);
  assert.equal(feed(fail1), null);
  assert.equal(feed(ok1), null, 'a transient failure (ENOBUFS under a burst) is no fault');
  assert.equal(h.consecutive, 0);
  assert.equal(feed(fail1), null);
  assert.equal(feed(fail1), null);
  const at = now;
  assert.equal(feed(fail1), 'fault');
  assert.equal(FAILED_ADVERTS_TO_FAULT, 3);
  assert.equal(h.failures, 5, 'every destination not reached is counted');
  assert.equal(h.fault?.reason, 'advert_send_failed');
  assert.match(h.fault!.detail, /3 adverts in a row left on none of their 1 destination\(s\) \(224\.0\.0\.18: sendmsg: Operation not permitted \(EPERM\)\)/);
  assert.equal(h.fault!.since, at);
  assert.equal(h.fault!.retryAt, at + SEND_FAULT_HOLD_MS);
  // While in fault, more failures (the priority 0 advert on the way out) count but change nothing.
  assert.equal(feed(fail1), null);
  assert.equal(h.failures, 6);
});

test('a partial failure (one of two unicast peers unreachable) is counted, never a fault', () => {
  let h = initialSendHealth();
  for (let i = 0; i < 50; i++) {
    const s = recordAdvert(h, { destinations: 2, failed: [{ dst: '192.0.2.3', error: 'EHOSTUNREACH' }] }, i * 1000);
    assert.equal(s.change, null);
    h = s.health;
  }
  assert.equal(h.failures, 50);
  assert.equal(h.fault, null);
  assert.equal(h.consecutive, 0);
});

test('the hold: 10 s, doubled per fault until an advert leaves again, at most 320 s; cleared only when due', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 40].map(holdMs), [10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 320_000, SEND_FAULT_HOLD_MAX_MS]);
  let h: SendHealth = initialSendHealth();
  let now = 0;
  const fault = () => { for (let i = 0; i < 3; i++) { h = recordAdvert(h, fail1, now).health; now += 1000; } };
  fault();
  const first = h.fault!.retryAt! - h.fault!.since;
  assert.equal(retryDue(h, h.fault!.retryAt! - 1).change, null);
  const s = retryDue(h, h.fault!.retryAt!);
  assert.equal(s.change, 'cleared');
  h = s.health;
  now += first;
  fault(); // it came back as master and still cannot send
  assert.equal(h.fault!.retryAt! - h.fault!.since, 2 * first);
  h = retryDue(h, h.fault!.retryAt!).health;
  // An advert that leaves resets the back-off.
  h = recordAdvert(h, ok1, now).health;
  fault();
  assert.equal(h.fault!.retryAt! - h.fault!.since, first);
  const reloaded = afterReconfigure(h);
  assert.equal(reloaded.change, 'cleared');
  assert.equal(reloaded.health.fault, null);
  assert.equal(reloaded.health.failures, h.failures, 'counters survive a reload');
});

test('an advert that cannot be encoded: fault at once, no retry, until a reload changes the instance', () => {
  let h = initialSendHealth();
  const s = recordAdvert(h, { destinations: 2, failed: [], encodeError: 'encodeAdvert: count 300 not in 0..255' }, 5);
  assert.equal(s.change, 'fault');
  h = s.health;
  assert.equal(h.fault?.reason, 'advert_encode_failed');
  assert.equal(h.fault?.retryAt, null);
  assert.equal(h.failures, 2);
  assert.match(h.fault!.detail, /cannot be encoded: encodeAdvert: count 300/);
  assert.equal(retryDue(h, Number.MAX_SAFE_INTEGER).change, null, 'never clears by itself');
  assert.equal(cannotEncode(h, 'again', 10).change, null, 'already in that fault');
  assert.equal(afterReconfigure(h).change, 'cleared');
  // Found before any send (start, reload): the same fault, nothing counted as a failed send.
  const e = cannotEncode(initialSendHealth(), 'too many addresses', 0);
  assert.equal(e.change, 'fault');
  assert.equal(e.health.failures, 0);
});

// ---- two routers on a manual clock ----

const MACHINE: MachineConfig = {
  version: 2, priority: 100, advertIntCs: 100, preempt: true, preemptDelayMs: 0, initialState: 'BACKUP',
  localIp: '192.0.2.1', garpMasterRepeat: 1, garpMasterDelayMs: 0, garpMasterRefreshMs: 0,
  garpMasterRefreshRepeat: 1, garpLowerPrioRepeat: 0,
};

interface Router {
  name: string;
  cfg: MachineConfig;
  st: MachineState;
  health: SendHealth;
  holding: boolean;
  /** Whether a send at this time fails on every destination. */
  sendFails: (now: number) => boolean;
}

interface Sim {
  now: number;
  routers: [Router, Router];
  /** [from, to) while both held the VIPs. */
  overlaps: Array<[number, number]>;
  transitions: Array<{ t: number; who: string; to: string; reason: string }>;
  faultsAt: number[];
  /** When lb1's adverts failed. */
  failedSends: number[];
}

function router(name: string, cfg: Partial<MachineConfig>, sendFails: (now: number) => boolean = () => false): Router {
  const c = { ...MACHINE, ...cfg };
  return { name, cfg: c, st: initialMachineState(c), health: initialSendHealth(), holding: false, sendFails };
}

/** Steps router `i` with `ev`, carrying its actions out: adverts reach the other router at once
 *  unless sending fails; a send fault reaches the machine after the step, as in the daemon. */
function dispatch(sim: Sim, i: 0 | 1, ev: MachineEvent): void {
  const me = sim.routers[i];
  const r = step(me.cfg, me.st, ev, sim.now);
  me.st = r.state;
  const later: MachineEvent[] = [];
  const delivered: number[] = [];
  for (const a of r.actions) {
    if (a.type === 'add_vips') me.holding = true;
    if (a.type === 'remove_vips') me.holding = false;
    if (a.type === 'transition') sim.transitions.push({ t: sim.now, who: me.name, to: a.to, reason: a.reason });
    if (a.type === 'send_advert') {
      const fails = me.sendFails(sim.now);
      if (fails) sim.failedSends.push(sim.now);
      const s = recordAdvert(me.health, fails ? fail1 : ok1, sim.now);
      me.health = s.health;
      if (s.change === 'fault') { sim.faultsAt.push(sim.now); later.push({ type: 'fault', faulty: true }); }
      if (!fails) delivered.push(a.priority);
    }
  }
  const both = sim.routers[0].holding && sim.routers[1].holding;
  const open = sim.overlaps.at(-1);
  if (both && (!open || open[1] !== -1)) sim.overlaps.push([sim.now, -1]);
  if (!both && open && open[1] === -1) open[1] = sim.now;
  for (const p of delivered) dispatch(sim, 1 - i as 0 | 1, { type: 'advert', src: me.cfg.localIp, priority: p, advertIntCs: me.cfg.advertIntCs });
  for (const e of later) dispatch(sim, i, e);
}

/** Runs both routers to `until`, firing machine deadlines and send-fault retries in time order. */
function run(sim: Sim, until: number): void {
  for (let n = 0; n < 1_000_000; n++) {
    const next: Array<[number, 0 | 1, 'timer' | 'retry']> = [];
    sim.routers.forEach((r, i) => {
      const d = nextDeadline(r.st);
      if (d !== null) next.push([d, i as 0 | 1, 'timer']);
      if (r.health.fault?.retryAt != null) next.push([r.health.fault.retryAt, i as 0 | 1, 'retry']);
    });
    next.sort((a, b) => a[0] - b[0]);
    const first = next[0];
    if (!first || first[0] > until) break;
    sim.now = Math.max(sim.now, first[0]);
    const [, i, kind] = first;
    if (kind === 'timer') dispatch(sim, i, { type: 'timer' });
    else {
      const s = retryDue(sim.routers[i].health, sim.now);
      sim.routers[i].health = s.health;
      if (s.change === 'cleared') dispatch(sim, i, { type: 'fault', faulty: false });
    }
  }
  sim.now = until;
}

function pair(version: 2 | 3, advertIntCs: number, backupPriority: number, masterSendFails: (now: number) => boolean): Sim {
  const a = router('lb1', { version, advertIntCs, priority: 254, localIp: '192.0.2.1' }, masterSendFails);
  const b = router('lb2', { version, advertIntCs, priority: backupPriority, localIp: '192.0.2.2' });
  const sim: Sim = { now: 0, routers: [a, b], overlaps: [], transitions: [], faultsAt: [], failedSends: [] };
  dispatch(sim, 0, { type: 'start' });
  dispatch(sim, 1, { type: 'start' });
  return sim;
}

const masterOf = (sim: Sim, who: string) => sim.transitions.filter((t) => t.who === who && t.to === 'MASTER');

for (const [version, advertIntCs, backupPriority] of [[2, 100, 253], [2, 100, 1], [3, 10, 253], [3, 10, 1], [3, 100, 200]] as const) {
  test(`v${version} advert_int ${advertIntCs / 100} s, backup priority ${backupPriority}: a master whose adverts stop leaving gives the VIPs up before the backup takes them`, () => {
    const A = advertIntCs * 10;
    const failFrom = 20 * A + 1; // after lb1 is master and lb2 has heard it for a while
    const sim = pair(version, advertIntCs, backupPriority, (now) => now >= failFrom);
    run(sim, failFrom - 1);
    assert.equal(sim.routers[0].st.state, 'MASTER');
    assert.equal(sim.routers[1].st.state, 'BACKUP');
    assert.equal(masterOf(sim, 'lb2').length, 0);
    run(sim, failFrom + 8 * A);
    assert.equal(sim.faultsAt.length, 1);
    assert.equal(sim.faultsAt[0], sim.failedSends[FAILED_ADVERTS_TO_FAULT - 1], 'the fault comes with the 3rd failed advert');
    assert.ok(Math.abs(sim.faultsAt[0]! - sim.failedSends[0]! - (FAILED_ADVERTS_TO_FAULT - 1) * A) < 1e-6);
    assert.equal(sim.routers[0].st.state, 'FAULT');
    assert.equal(sim.routers[0].holding, false);
    const takeover = masterOf(sim, 'lb2')[0];
    assert.ok(takeover, 'the backup took over');
    const mdi = masterDownIntervalMs(version, backupPriority, advertIntCs);
    assert.ok(takeover.t >= sim.faultsAt[0]!, `backup master at ${takeover.t} ms, lb1 gave up at ${sim.faultsAt[0]} ms`);
    assert.ok(takeover.t - sim.faultsAt[0]! <= mdi - 2 * A, 'the gap without a master is at most Skew_Time');
    assert.deepEqual(sim.overlaps, [], 'the VIPs were never on both');
  });
}

test('a master with two failed adverts in a row keeps the role, and its backup never takes over', () => {
  const A = 1000;
  const sim = pair(2, 100, 253, (now) => now >= 20_000 && now < 20_000 + 2 * A);
  run(sim, 60_000);
  assert.equal(sim.faultsAt.length, 0);
  assert.equal(masterOf(sim, 'lb2').length, 0);
  assert.equal(sim.routers[0].health.failures, 2);
  assert.equal(sim.routers[0].st.state, 'MASTER');
});

test('recovery: FAULT for the hold, then BACKUP; while sending still fails each retry costs at most 2 adverts of overlap, with a doubling hold; once it works the role comes back', () => {
  const A = 1000;
  const failFrom = 20_000, failUntil = 100_000;
  const sim = pair(2, 100, 200, (now) => now >= failFrom && now < failUntil);
  run(sim, 150_000);
  const lb1 = sim.transitions.filter((t) => t.who === 'lb1').map((t) => `${t.to}:${t.reason}`);
  // Each retry: the hold, then BACKUP; it preempts lb2 (lower priority) after its own
  // Master_Down_Interval, fails 3 adverts more, FAULT again with twice the hold.
  assert.deepEqual(lb1, [
    'BACKUP:startup', 'MASTER:master_down_timer',
    'FAULT:fault', 'BACKUP:fault_cleared', 'MASTER:master_down_timer',
    'FAULT:fault', 'BACKUP:fault_cleared', 'MASTER:master_down_timer',
    'FAULT:fault', 'BACKUP:fault_cleared', 'MASTER:master_down_timer',
  ]);
  const mdi = masterDownIntervalMs(2, 254, 100);
  const gaps = sim.faultsAt.slice(1).map((t, k) => t - sim.faultsAt[k]!);
  assert.equal(gaps.length, 2);
  // Back as master, its 3 failed adverts come within 2 advert intervals (sooner when lb2's
  // lower-priority advert makes it answer at once).
  gaps.forEach((g, k) => assert.ok(g >= holdMs(k) + mdi && g <= holdMs(k) + mdi + 2 * A + 1e-6, `gap ${k}: ${g} ms`));
  assert.equal(holdMs(1), 2 * holdMs(0), 'the hold doubles');
  // The price of a retry while sending still fails: both hold the VIPs from the preemption to
  // the 3rd failed advert, at most 2 advert intervals, once per retry.
  // (The last preemption, once sending works, overlaps for no time: lb2 steps down on lb1's first
  // advert, as at any preemption.)
  assert.deepEqual(sim.overlaps.map(([from, to]) => to - from > 0), [true, true, false]);
  for (const [from, to] of sim.overlaps) assert.ok(to - from <= 2 * A + 1e-6, `overlap ${from}..${to}`);
  // Sending works again from 100 s: the third retry makes lb1 master for good, lb2 backup.
  assert.equal(sim.routers[0].st.state, 'MASTER');
  assert.equal(sim.routers[1].st.state, 'BACKUP');
  assert.equal(sim.routers[0].health.fault, null);
  assert.ok(sim.faultsAt.every((t) => t < failUntil));
  assert.equal(sim.routers[0].health.faults, 0, 'an advert that left reset the back-off');
});
