// The verdict machine with a manual clock: keepalived's retry / delay_before_retry / delay_loop,
// warmup, alpha, rise, "up only when all checks pass", misc_dynamic weights, stale and stuck
// probes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  effectiveWeight, initialVerdictState, nextDeadline, PROBE_GRACE_MS, step, type CheckTiming, type ProbeResult,
  type ServerVerdictConfig, type ServerVerdictState, type VerdictEffect,
} from '../../src/check/verdict.js';

const timing = (o: Partial<CheckTiming> = {}): CheckTiming => ({
  timeoutMs: 2000, retry: 2, delayBeforeRetryMs: 1000, delayLoopMs: 5000, warmupMs: 0, alpha: false, rise: 1,
  dynamicWeight: false, ...o,
});
const OK: ProbeResult = { ok: true };
const REFUSED: ProbeResult = { ok: false, reason: 'refused' };

/** Drives one server: each probe is answered by `answer(check, now)` after `latencyMs`. */
class Driver {
  st: ServerVerdictState;
  now = 0;
  log: Array<{ t: number; e: VerdictEffect }> = [];
  pending: Array<{ at: number; check: number; seq: number }> = [];
  constructor(readonly cfg: ServerVerdictConfig, public answer: (check: number, t: number) => ProbeResult | null = () => OK,
    public latencyMs = 10) {
    this.st = initialVerdictState(cfg);
  }
  private apply(effects: VerdictEffect[]) {
    for (const e of effects) {
      this.log.push({ t: this.now, e });
      if (e.type === 'probe') this.pending.push({ at: this.now + this.latencyMs, check: e.check, seq: e.seq });
    }
  }
  start(jitter?: number[]) {
    const r = step(this.cfg, this.st, jitter ? { type: 'start', jitter } : { type: 'start' }, this.now);
    this.st = r.state; this.apply(r.effects);
  }
  /** Runs the clock to t: probe answers and timer deadlines, in time order. */
  advance(t: number) {
    for (let i = 0; i < 100_000; i++) {
      const nextAnswer = this.pending.reduce((m, p) => Math.min(m, p.at), Infinity);
      const deadline = nextDeadline(this.st) ?? Infinity;
      const at = Math.min(nextAnswer, deadline);
      if (at > t) break;
      this.now = at;
      if (nextAnswer <= deadline) {
        const idx = this.pending.findIndex((p) => p.at === at);
        const p = this.pending.splice(idx, 1)[0]!;
        const result = this.answer(p.check, this.now);
        if (result === null) continue; // the probe never reports
        const r = step(this.cfg, this.st, { type: 'result', check: p.check, seq: p.seq, result }, this.now);
        this.st = r.state; this.apply(r.effects);
      } else {
        const r = step(this.cfg, this.st, { type: 'timer' }, this.now);
        this.st = r.state; this.apply(r.effects);
      }
    }
    this.now = t;
  }
  probes(check = 0) { return this.log.filter((l) => l.e.type === 'probe' && l.e.check === check).map((l) => l.t); }
  changes() { return this.log.filter((l) => l.e.type !== 'probe').map((l) => ({ t: l.t, ...l.e })); }
}

describe('retry, delay_before_retry, delay_loop (keepalived tcp_epilog)', () => {
  it('a live server is probed every delay_loop from its first probe', () => {
    const d = new Driver({ weight: 1, checks: [timing()] });
    d.start();
    d.advance(16_000);
    assert.deepEqual(d.probes(), [0, 5010, 10_020, 15_030]);
    assert.deepEqual(d.changes(), []);
    assert.equal(d.st.up, true);
  });
  it('a dead server goes down after retry+1 failures, delay_before_retry apart, then waits delay_loop', () => {
    let dead = false;
    const d = new Driver({ weight: 1, checks: [timing()] }, () => (dead ? REFUSED : OK));
    d.start();
    d.advance(4000);
    dead = true;
    d.advance(20_000);
    // 5010: 1st failure; retries at +1000 (6020, 7030); down at the 3rd failure (7040).
    assert.deepEqual(d.probes(), [0, 5010, 6020, 7030, 12_040, 13_050, 14_060, 19_070]);
    assert.deepEqual(d.changes(), [
      { t: 7040, type: 'check_changed', check: 0, up: false, reason: 'refused', retries: 2 },
      { t: 7040, type: 'server_changed', up: false, reason: 'check_failed', check: 0, probe: 'refused' },
    ]);
    assert.deepEqual(d.st.checks[0]!.lastFailure, { reason: 'refused', at: 19_080 });
    // The bound: gone within retry x delay_before_retry + connect_timeout + 1 s of the
    // first failed probe.
    assert.ok(7040 - 5010 <= 2 * 1000 + 2000 + 1000);
  });
  it('one success in the middle of a retry cycle resets it', () => {
    const answers = [OK, REFUSED, REFUSED, OK, REFUSED, REFUSED, REFUSED];
    let i = 0;
    const d = new Driver({ weight: 1, checks: [timing()] }, () => answers[Math.min(i++, answers.length - 1)]!);
    d.start();
    d.advance(60_000);
    const down = d.changes().filter((c) => c.type === 'server_changed');
    assert.equal(down.length, 1);
    // probes: 0 ok, 5010 F, 6020 F, 7030 ok (reset), 12040 F, 13050 F, 14060 F -> down at 14070.
    assert.equal(down[0]!.t, 14_070);
  });
  it('retry 0 (misc_check default): the first failure takes the server down', () => {
    const d = new Driver({ weight: 1, checks: [timing({ retry: 0 })] }, () => REFUSED);
    d.start();
    d.advance(100);
    assert.equal(d.st.up, false);
    assert.deepEqual(d.changes().map((c) => c.t), [10, 10]);
  });
  it('comes back on the first success (rise 1) and reports why', () => {
    let dead = true;
    const d = new Driver({ weight: 1, checks: [timing({ retry: 0 })] }, () => (dead ? REFUSED : OK));
    d.start();
    d.advance(1000);
    dead = false;
    d.advance(6000);
    assert.deepEqual(d.changes().slice(2), [
      { t: 5020, type: 'check_changed', check: 0, up: true, reason: 'probe_ok', retries: 0 },
      { t: 5020, type: 'server_changed', up: true, reason: 'checks_passed', check: 0 },
    ]);
  });
});

describe('alpha, rise, warmup', () => {
  it('alpha: the server starts down and needs a success; without alpha it starts up', () => {
    assert.equal(initialVerdictState({ weight: 1, checks: [timing({ alpha: true })] }).up, false);
    assert.equal(initialVerdictState({ weight: 1, checks: [timing()] }).up, true);
    const d = new Driver({ weight: 1, checks: [timing({ alpha: true })] });
    d.start();
    d.advance(100);
    assert.equal(d.st.up, true);
    assert.deepEqual(d.changes().map((c) => c.type), ['check_changed', 'server_changed']);
  });
  it('alpha: failures of a server that is already down change nothing', () => {
    const d = new Driver({ weight: 1, checks: [timing({ alpha: true })] }, () => REFUSED);
    d.start();
    d.advance(30_000);
    assert.deepEqual(d.changes(), []);
    assert.equal(d.st.up, false);
  });
  it('rise 3: a down server needs three successes in a row', () => {
    const answers = [REFUSED, OK, OK, REFUSED, OK, OK, OK];
    let i = 0;
    const d = new Driver({ weight: 1, checks: [timing({ alpha: true, retry: 0, rise: 3 })] }, () => answers[Math.min(i++, answers.length - 1)]!);
    d.start();
    d.advance(40_000);
    const up = d.changes().filter((c) => c.type === 'server_changed');
    // probes at 0, 5010, 10020, 15030 (F), 20040, 25050, 30060 -> up at 30070.
    assert.deepEqual(up.map((c) => c.t), [30_070]);
  });
  it('warmup: the first probe waits jitter x warmup, each check its own', () => {
    const d = new Driver({ weight: 1, checks: [timing({ warmupMs: 5000 }), timing({ warmupMs: 5000 }), timing({ warmupMs: 0 })] });
    d.now = 1000;
    d.start([0.5, 0.999, 0.7]);
    d.advance(7000);
    assert.deepEqual([d.probes(0)[0], d.probes(1)[0], d.probes(2)[0]], [3500, 5995, 1000]);
  });
});

describe('all checks must pass; misc_dynamic; stale and stuck probes', () => {
  it('a server is up only when every check is up', () => {
    const state = [true, true];
    const d = new Driver({ weight: 1, checks: [timing({ retry: 0 }), timing({ retry: 0 })] }, (c) => (state[c] ? OK : REFUSED));
    d.start();
    d.advance(1000);
    state[1] = false;
    d.advance(6000); // check 1 down -> server down
    state[0] = false;
    d.advance(11_000); // check 0 down too: no second server change
    state[1] = true;
    d.advance(16_000); // check 1 up, check 0 still down: server stays down
    state[0] = true;
    d.advance(21_000); // all up -> server up
    assert.deepEqual(d.changes().filter((c) => c.type === 'server_changed').map((c) => [c.t, c.up]), [[5020, false], [20_050, true]]);
  });
  it('a server with no checks is always up and never needs a timer', () => {
    const cfg = { weight: 3, checks: [] };
    const r = step(cfg, initialVerdictState(cfg), { type: 'start' }, 0);
    assert.equal(r.state.up, true);
    assert.deepEqual(r.effects, []);
    assert.equal(nextDeadline(r.state), null);
  });
  it('misc_dynamic: exit 2..255 sets weight exit-2, exit 0 keeps it, a failure keeps it', () => {
    const results: ProbeResult[] = [{ ok: true, weight: 8 }, { ok: true }, { ok: true, weight: 0 }, REFUSED];
    let i = 0;
    const cfg = { weight: 1, checks: [timing({ dynamicWeight: true, retry: 0 })] };
    const d = new Driver(cfg, () => results[Math.min(i++, results.length - 1)]!);
    d.start();
    d.advance(16_000);
    assert.deepEqual(d.changes().filter((c) => c.type === 'weight_changed').map((c) => [c.t, c.type === 'weight_changed' && c.from, c.type === 'weight_changed' && c.to]),
      [[10, 1, 8], [10_030, 8, 0]]);
    assert.equal(effectiveWeight(cfg, d.st), 0);
    assert.equal(d.st.up, false);
  });
  it('without misc_dynamic a weight in the result is ignored', () => {
    const cfg = { weight: 4, checks: [timing()] };
    const d = new Driver(cfg, () => ({ ok: true, weight: 9 }));
    d.start();
    d.advance(100);
    assert.equal(effectiveWeight(cfg, d.st), 4);
  });
  it('a result with a stale seq (or after stop) is ignored', () => {
    const cfg = { weight: 1, checks: [timing({ retry: 0 })] };
    let r = step(cfg, initialVerdictState(cfg), { type: 'start' }, 0);
    const seq = (r.effects[0] as { seq: number }).seq;
    const stale = step(cfg, r.state, { type: 'result', check: 0, seq: seq + 1, result: REFUSED }, 5);
    assert.deepEqual(stale.effects, []);
    assert.equal(stale.state.up, true);
    r = step(cfg, r.state, { type: 'stop' }, 6);
    assert.equal(nextDeadline(r.state), null);
    assert.deepEqual(step(cfg, r.state, { type: 'result', check: 0, seq, result: REFUSED }, 7).effects, []);
  });
  it('a probe that never reports counts as failed (no_result) after its timeout plus grace', () => {
    const d = new Driver({ weight: 1, checks: [timing({ retry: 0 })] }, () => null);
    d.start();
    d.advance(10_000);
    const down = d.changes().find((c) => c.type === 'server_changed');
    assert.deepEqual(down, { t: 2000 + PROBE_GRACE_MS, type: 'server_changed', up: false, reason: 'check_failed', check: 0, probe: 'no_result' });
    assert.equal(d.probes()[1], 3000 + 5000, 'the next probe follows delay_loop');
  });
  it('step does not change the state it was given', () => {
    const cfg = { weight: 1, checks: [timing()] };
    const st = initialVerdictState(cfg);
    const snapshot = JSON.stringify(st);
    step(cfg, st, { type: 'start' }, 0);
    assert.equal(JSON.stringify(st), snapshot);
  });
});
