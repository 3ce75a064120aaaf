// The check scheduler with the TCP check engine (net/tcpCheckEngine.ts), on the fake engine
// (test/lib/fakeTcpCheckEngine.ts) and a manual clock: a steady tcp_check is left to the engine's
// quiet mode and JS does nothing per probe; the first failure comes back and the verdict machine
// handles it as before: the same scripted scenario through the JS prober and through the engine
// gives the same events at the same times. Also: reload keeps quiet checks, stop() removes every
// engine id, and the pure helpers the driver relies on (verdict.ts successChangesNothing,
// stepUnasked).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckScheduler, checkTiming, type SchedulerEvent } from '../../src/check/scheduler.js';
import {
  initialVerdictState, step, stepUnasked, successChangesNothing, type ProbeResult, type ServerVerdictConfig, type ServerVerdictState,
} from '../../src/check/verdict.js';
import type { CheckConfig, RealServerConfig } from '../../src/config/lbModel.js';
import type { TcpCheckOutcome, TcpCheckSpec } from '../../src/net/tcpCheckEngine.js';
import { FakeTcpCheckEngine } from '../lib/fakeTcpCheckEngine.js';
import { ManualTimers } from '../lib/manualTimers.js';
import type { Timers } from '../../src/timers.js';

const TIMING = { timeoutMs: 500, retry: 0, delayBeforeRetryMs: 200, delayLoopMs: 1000, warmupMs: 0, alpha: false, rise: 1 };

function tcp(ip: string, extra: Partial<CheckConfig> = {}): CheckConfig {
  return { kind: 'tcp_check', connectIp: ip, connectPort: 80, bindTo: undefined, bindPort: undefined, ...TIMING, ...extra } as CheckConfig;
}
function rs(svc: number, ip: string, checks: CheckConfig[]): RealServerConfig {
  return {
    id: `TCP 192.0.2.${svc}:80 -> ${ip}:80`, inhibitOnFailure: false, checks,
    dest: { family: 4, address: ip, port: 80, forwarding: 'NAT', weight: 1, tunnel: null },
  };
}

/** The fake engine, counting what the scheduler asks of it. */
class CountingEngine extends FakeTcpCheckEngine {
  readonly calls = { add: 0, probeIn: 0, setQuiet: 0, remove: 0, batches: 0, closed: 0 };
  readonly removed: number[] = [];
  override add(id: number, spec: TcpCheckSpec): void { this.calls.add++; super.add(id, spec); }
  override probeIn(id: number, delayMs: number): void { this.calls.probeIn++; super.probeIn(id, delayMs); }
  override setQuiet(id: number, intervalMs: number | null, firstInMs?: number): void { this.calls.setQuiet++; super.setQuiet(id, intervalMs, firstInMs); }
  override remove(id: number): void { this.calls.remove++; this.removed.push(id); super.remove(id); }
  override close(): void { this.calls.closed++; super.close(); }
}

/** Down (refused) while the probe starts inside one of the windows; keyed by port. */
type Windows = Record<number, ReadonlyArray<readonly [number, number]>>;
const failsAt = (w: Windows, port: number, now: number): boolean => (w[port] ?? []).some(([a, b]) => now >= a && now < b);
const refusedDetail = (c: { connectIp: string; connectPort: number }): string => `connect ECONNREFUSED ${c.connectIp}:${c.connectPort}`;

type Timed = SchedulerEvent & { at: number };

/** A scheduler over `servers` answering from `windows`, with the engine or the JS prober. */
function harness(servers: RealServerConfig[], windows: Windows, withEngine: boolean) {
  const timers = new ManualTimers();
  const events: Timed[] = [];
  let jsProbes = 0;
  let engine: CountingEngine | undefined;
  const sched = new CheckScheduler({
    timers, servers, random: () => 0,
    onEvent: (e) => events.push({ ...e, at: timers.now() }),
    runProbe: (check) => {
      jsProbes++;
      const r: ProbeResult = failsAt(windows, check.connectPort, timers.now())
        ? { ok: false, reason: 'refused', detail: refusedDetail(check) } : { ok: true };
      return Promise.resolve(r);
    },
    ...(withEngine ? {
      tcpEngine: (onResults: (b: readonly TcpCheckOutcome[]) => void) => {
        const e = new CountingEngine(timers as Timers, (b) => { e.calls.batches++; onResults(b); });
        e.answer((_id, spec) => (failsAt(windows, spec.port, timers.now()) ? { ok: false, reason: 'refused' } : { ok: true }));
        engine = e;
        return e;
      },
    } : {}),
  });
  const runTo = (until: number): Promise<void> => timers.runDeadlinesTo(until);
  return { timers, events, sched, runTo, engine: () => engine!, jsProbes: () => jsProbes };
}

describe('check scheduler with the TCP check engine', () => {
  test('a steady check is quiet: one probe from JS, then the engine alone, nothing reported, last() in lastChecks', async () => {
    const server = rs(100, '198.51.100.11', [tcp('198.51.100.11')]);
    const h = harness([server], {}, true);
    h.sched.start();
    await h.runTo(10_500);
    const e = h.engine();
    assert.deepEqual({ probeIn: e.calls.probeIn, setQuiet: e.calls.setQuiet, batches: e.calls.batches }, { probeIn: 1, setQuiet: 1, batches: 1 },
      'one reported probe (the first), then quiet');
    assert.equal(h.jsProbes(), 0, 'no probe through runProbe');
    assert.ok(e.isQuiet(0));
    assert.deepEqual(e.starts.map((s) => s.at), [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000], 'on the delay_loop grid');
    assert.equal(e.stats().suppressed, 10);
    assert.deepEqual(h.events, []);
    assert.equal(h.sched.mergeStats().quiet, 1);
    const last = h.sched.lastChecks(server.id)[0]!;
    assert.equal(last.ok, true);
    assert.equal(last.at, h.timers.wallNow() - 500, 'the last quiet probe (10,000 ms), from engine.last()');
    assert.equal(h.timers.size, 1, 'only the engine\'s own next probe is pending: the scheduler arms nothing');
    h.sched.close();
  });

  test('a plain http_get runs on the engine with its request and codes, and goes quiet; one with a digest stays in JS', async () => {
    const url = { path: '/health', statusCodes: [[200, 299]] as Array<[number, number]>, digest: undefined, virtualhost: undefined };
    const httpCheck = (digest: string | undefined): CheckConfig => ({
      kind: 'http_get', connectIp: '198.51.100.12', connectPort: 8080, bindTo: undefined, bindPort: undefined, ...TIMING,
      urls: [{ ...url, digest }], virtualhost: undefined, httpProtocol: '1.0', enableSni: false, verifyCertificate: false,
    } as CheckConfig);
    const plain = rs(100, '198.51.100.12', [httpCheck(undefined)]);
    const digest = rs(101, '198.51.100.13', [httpCheck('0123456789abcdef0123456789abcdef')]);
    const h = harness([plain, digest], {}, true);
    const specs: TcpCheckSpec[] = [];
    h.sched.start();
    await h.runTo(3500);
    const e = h.engine();
    for (const s of e.starts) specs.push(e.specOf(s.id)!);
    assert.ok(specs.length >= 4 && specs.every((s) => s.port === 8080 && s.http?.request.startsWith('GET /health HTTP/1.0\r\n')),
      JSON.stringify(specs.slice(0, 2)));
    assert.deepEqual(specs[0]!.http?.statusCodes, [[200, 299]]);
    assert.ok(e.isQuiet(0), 'steady: left to the engine');
    assert.equal(h.jsProbes(), 4, 'the digest check: every probe (0, 1000, 2000, 3000 ms) in JS');
    h.sched.close();
  });

  const ip = '198.51.100.11';
  // A: retry 2 (300 ms apart), rise 2 (fails twice); B: alpha on another port, its own delay_loop.
  const A = tcp(ip, { retry: 2, delayBeforeRetryMs: 300, rise: 2 });
  const B = tcp(ip, { connectPort: 8443, alpha: true, delayLoopMs: 1300, timeoutMs: 700 });
  const windows: Windows = { 80: [[3000, 6100], [14_000, 17_500]], 8443: [[9000, 11_000], [15_000, 16_000]] };

  test('failure -> retries -> down -> rise -> up: the same events at the same times as through the JS prober', async () => {
    const servers = [rs(100, ip, [A, B]), rs(101, ip, [A, B]), rs(102, ip, [A])];
    const js = harness(servers, windows, false);
    const en = harness(servers, windows, true);
    js.sched.start();
    en.sched.start();
    await js.runTo(25_000);
    await en.runTo(25_000);
    assert.ok(js.events.length >= 12, JSON.stringify(js.events));
    assert.ok(js.events.some((e) => e.type === 'check_changed' && !e.up && e.retries === 2), 'retries ran out');
    assert.ok(js.events.some((e) => e.type === 'server_changed' && e.up), 'back up');
    assert.deepEqual(en.events, js.events);
    // Most probes were the engine's own: the JS side saw only the start, the failures, the retries
    // and the rises.
    const e = en.engine();
    assert.ok(e.stats().suppressed > 0 && e.calls.batches < js.jsProbes(), `${e.calls.batches} batches vs ${js.jsProbes()} JS probes`);
    assert.equal(e.stats().reported + e.stats().suppressed, e.stats().probes, 'every engine probe reported or suppressed, none lost');
    js.sched.close();
    en.sched.close();
  });

  test('reload keeps quiet checks quiet; a new check is added; a dropped one is removed', async () => {
    const first = rs(100, ip, [A]);
    const h = harness([first], {}, true);
    h.sched.start();
    await h.runTo(5500);
    const e = h.engine();
    assert.ok(e.isQuiet(0));
    const before = { ...e.calls };
    const joining = rs(101, ip, [A]);
    const other = rs(102, '198.51.100.12', [tcp('198.51.100.12')]);
    h.sched.reconfigure([first, joining, other]);
    assert.ok(e.isQuiet(0), 'still quiet');
    assert.deepEqual({ setQuiet: e.calls.setQuiet, remove: e.calls.remove }, { setQuiet: before.setQuiet, remove: before.remove }, 'untouched');
    assert.equal(e.calls.add, before.add + 1, 'the new distinct check added');
    assert.equal(h.sched.health().get(joining.id)!.up, true);
    await h.runTo(8000);
    assert.ok(e.isQuiet(1), 'the new check goes quiet too');
    h.sched.reconfigure([other]);
    assert.deepEqual(e.removed, [0], 'A is no longer used: removed from the engine');
    assert.equal(e.stats().targets, 1);
    h.sched.close();
  });

  test('stop() removes every engine id; close() closes the engine', async () => {
    const servers = Array.from({ length: 5 }, (_, i) => rs(100, `198.51.100.${11 + i}`, [tcp(`198.51.100.${11 + i}`)]));
    const h = harness(servers, { 80: [[0, 1]] }, true);
    h.sched.start();
    await h.runTo(3000);
    const e = h.engine();
    assert.equal(e.stats().targets, 5);
    h.sched.stop();
    assert.deepEqual([...e.removed].sort(), [0, 1, 2, 3, 4]);
    assert.equal(e.stats().targets, 0);
    assert.equal(h.timers.size, 0, 'nothing armed: neither the scheduler nor the engine');
    h.sched.close();
    assert.equal(e.calls.closed, 1);
  });
});

describe('verdict helpers for the engine', () => {
  const cfg: ServerVerdictConfig = { weight: 1, checks: [checkTiming(tcp('198.51.100.11', { retry: 1, delayBeforeRetryMs: 300, rise: 2 }))] };
  const started = (): ServerVerdictState => step(cfg, initialVerdictState(cfg), { type: 'start' }, 0).state;
  const ok: ProbeResult = { ok: true };
  const refused: ProbeResult = { ok: false, reason: 'refused', detail: 'x' };

  test('successChangesNothing: only for a check that is up, has run, has no retry pending and nothing in flight', () => {
    let st = started();
    assert.equal(successChangesNothing(cfg, st, 0), false, 'in flight');
    st = step(cfg, st, { type: 'result', check: 0, seq: st.seq, result: ok }, 0).state;
    assert.equal(successChangesNothing(cfg, st, 0), true, 'up, run, idle');
    st = step(cfg, st, { type: 'timer' }, 1000).state;
    st = step(cfg, st, { type: 'result', check: 0, seq: st.seq, result: refused }, 1000).state;
    assert.equal(successChangesNothing(cfg, st, 0), false, 'a retry pending');
    st = step(cfg, st, { type: 'timer' }, 1300).state;
    st = step(cfg, st, { type: 'result', check: 0, seq: st.seq, result: refused }, 1300).state;
    assert.equal(st.checks[0]!.up, false);
    assert.equal(successChangesNothing(cfg, st, 0), false, 'down (a success counts towards rise)');
    assert.equal(successChangesNothing(cfg, initialVerdictState(cfg), 0), false, 'not running');
    const dyn: ServerVerdictConfig = { weight: 1, checks: [{ ...cfg.checks[0]!, dynamicWeight: true }] };
    let sd = step(dyn, initialVerdictState(dyn), { type: 'start' }, 0).state;
    sd = step(dyn, sd, { type: 'result', check: 0, seq: sd.seq, result: ok }, 0).state;
    assert.equal(successChangesNothing(dyn, sd, 0), false, 'misc_dynamic: a success may carry a weight');
  });

  test('stepUnasked judges a result as if the machine had launched the probe now', () => {
    let st = started();
    st = step(cfg, st, { type: 'result', check: 0, seq: st.seq, result: ok }, 0).state;
    // The machine's own way: its probe at 1000, the failure at 1004.
    const asked1 = step(cfg, st, { type: 'timer' }, 1000);
    const asked = step(cfg, asked1.state, { type: 'result', check: 0, seq: asked1.state.seq, result: refused }, 1004);
    // The engine's way: it probed by itself at 1000; the failure arrives at 1004.
    const unasked = stepUnasked(cfg, st, 0, refused, 1004);
    assert.deepEqual(unasked.effects, asked.effects);
    // inFlightDeadline means nothing once no probe is in flight (inFlightSeq 0): left out.
    const idle = (x: ServerVerdictState) => ({ ...x, checks: x.checks.map((c) => ({ ...c, inFlightDeadline: c.inFlightSeq === 0 ? 0 : c.inFlightDeadline })) });
    assert.deepEqual(idle(unasked.state), idle(asked.state));
    assert.equal(unasked.state.checks[0]!.nextProbeAt, 1304, 'retry delay_before_retry after the arrival');
    // Nothing judged for a stopped machine or one with a probe in flight.
    assert.deepEqual(stepUnasked(cfg, initialVerdictState(cfg), 0, refused, 5).effects, []);
    assert.equal(stepUnasked(cfg, asked1.state, 0, refused, 5).state, asked1.state);
  });
});
