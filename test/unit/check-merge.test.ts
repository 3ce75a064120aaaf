// Checker merge (src/check/merge.ts, src/check/scheduler.ts SharedCheck / Member): a real server
// named by many virtual services with the same check is probed once per interval; different
// check definitions are different probes; every member's events equal what one verdict machine
// per real server (verdict.ts step(), driven directly here as the reference) produces; a reload
// keeps, joins and drops shared checks; misc_dynamic weights reach every member; the first probes
// of distinct checks are spread evenly over their warmup. All on a manual clock
// (test/lib/manualTimers.ts) with a scripted probe runner: no sockets, no wall-clock bounds.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckScheduler, checkTiming, type SchedulerEvent } from '../../src/check/scheduler.js';
import { checkKey, spreadJitter } from '../../src/check/merge.js';
import {
  effectiveWeight, initialVerdictState, nextDeadline, step, type ProbeResult, type VerdictEvent,
} from '../../src/check/verdict.js';
import type { CheckConfig, RealServerConfig } from '../../src/config/lbModel.js';
import { ManualTimers } from '../lib/manualTimers.js';
import { mulberry32 } from '../lib/prng.js';

const TIMING = { timeoutMs: 500, retry: 0, delayBeforeRetryMs: 200, delayLoopMs: 1000, warmupMs: 0, alpha: false, rise: 1 };

function tcp(ip: string, extra: Partial<CheckConfig> = {}): CheckConfig {
  return { kind: 'tcp_check', connectIp: ip, connectPort: 80, bindTo: undefined, bindPort: undefined, ...TIMING, ...extra } as CheckConfig;
}
function http(ip: string, extra: Partial<CheckConfig> = {}): CheckConfig {
  return {
    kind: 'http_get', connectIp: ip, connectPort: 80, bindTo: undefined, bindPort: undefined, ...TIMING,
    urls: [{ path: '/health', statusCodes: [[200, 299]], digest: undefined, virtualhost: undefined }],
    virtualhost: undefined, httpProtocol: '1.0', enableSni: false, verifyCertificate: false, ...extra,
  } as CheckConfig;
}
function misc(extra: Partial<CheckConfig> = {}): CheckConfig {
  return {
    kind: 'misc_check', connectIp: '198.51.100.11', connectPort: 80, bindTo: undefined, bindPort: undefined, ...TIMING,
    argv: ['/usr/local/bin/weight'], dynamic: true, user: undefined, defaultIds: undefined, ...extra,
  } as CheckConfig;
}
/** Real server `ip` of service 192.0.2.<svc>:80. */
function rs(svc: number, ip: string, checks: CheckConfig[], weight = 1): RealServerConfig {
  return {
    id: `TCP 192.0.2.${svc}:80 -> ${ip}:80`, inhibitOnFailure: false, checks,
    dest: { family: 4, address: ip, port: 80, forwarding: 'NAT', weight, tunnel: null },
  };
}

type Script = (check: CheckConfig, now: number) => ProbeResult;
type Timed = SchedulerEvent & { at: number };


/** A scheduler on a manual clock whose probes answer at once from `script`, recorded. */
function harness(servers: RealServerConfig[], script: Script, random: () => number = () => 0) {
  const timers = new ManualTimers();
  const probes: Array<{ key: string; at: number }> = [];
  const events: Timed[] = [];
  const sched = new CheckScheduler({
    timers, servers, random,
    onEvent: (e) => events.push({ ...e, at: timers.now() }),
    runProbe: (check) => {
      probes.push({ key: checkKey(check), at: timers.now() });
      return Promise.resolve(script(check, timers.now()));
    },
  });
  const runTo = (until: number): Promise<void> => timers.runDeadlinesTo(until);
  return { timers, probes, events, sched, runTo };
}

/** The reference: one verdict machine per real server (what the scheduler ran before the merge),
 *  driven by hand with the same zero-latency script, its effects turned into SchedulerEvents the
 *  way the per-server driver did. */
function reference(server: RealServerConfig, script: Script, until: number): Timed[] {
  const cfg = { weight: server.dest.weight, checks: server.checks.map(checkTiming) };
  let st = initialVerdictState(cfg);
  const lastDetail: Array<string | undefined> = [];
  const out: Timed[] = [];
  let now = 0;
  const queue: VerdictEvent[] = [{ type: 'start', jitter: server.checks.map(() => 0) }];
  for (let guard = 0; guard < 100_000; guard++) {
    while (queue.length) {
      const r = step(cfg, st, queue.shift()!, now);
      st = r.state;
      for (const e of r.effects) {
        const id = server.id;
        if (e.type === 'probe') {
          const result = script(server.checks[e.check]!, now);
          if (!result.ok) lastDetail[e.check] = result.detail ?? result.reason;
          queue.push({ type: 'result', check: e.check, seq: e.seq, result });
        } else if (e.type === 'check_changed') {
          out.push({ type: 'check_changed', server: id, check: e.check, up: e.up, reason: e.reason, retries: e.retries, at: now });
        } else if (e.type === 'server_changed') {
          const detail = e.up ? undefined : lastDetail[e.check];
          out.push({
            type: 'server_changed', server: id, up: e.up, reason: e.reason, check: e.check,
            ...(e.probe !== undefined ? { probe: e.probe } : {}), ...(detail !== undefined ? { detail } : {}),
            weight: effectiveWeight(cfg, st), at: now,
          });
        } else {
          out.push({ type: 'weight_changed', server: id, from: e.from, to: e.to, reason: e.reason, at: now });
        }
      }
    }
    const d = nextDeadline(st);
    if (d === null || d > until) break;
    now = d;
    queue.push({ type: 'timer' });
  }
  return out;
}

/** Fails (refused) while `now` is in one of the windows [from, to). */
function failing(windows: ReadonlyArray<readonly [number, number]>): (now: number) => ProbeResult {
  return (now) => (windows.some(([a, b]) => now >= a && now < b) ? { ok: false, reason: 'refused', detail: 'ECONNREFUSED' } : { ok: true });
}

const of = (events: readonly Timed[], server: string) => events.filter((e) => e.server === server);
const renamed = (events: readonly Timed[], server: string) => events.map((e) => ({ ...e, server }));

describe('checker merge: one probe per distinct check', () => {
  test('a real server in 10 services with the same check is probed once per interval, and all 10 follow its verdict', async () => {
    const servers = Array.from({ length: 10 }, (_, s) => rs(100 + s, '198.51.100.11', [tcp('198.51.100.11')]));
    const h = harness(servers, (_c, now) => failing([[5000, 7000]])(now));
    h.sched.start();
    await h.runTo(4999);
    assert.equal(h.probes.length, 5, `probes at ${h.probes.map((p) => p.at).join(', ')}`);
    assert.deepEqual(h.probes.map((p) => p.at), [0, 1000, 2000, 3000, 4000]);
    assert.deepEqual(h.sched.mergeStats(), { sharedChecks: 1, members: 10, memberChecks: 10, probes: 5, quiet: 0, engine: null });
    await h.runTo(9999);
    assert.equal(h.probes.length, 10, 'still one probe per interval');
    for (const s of servers) {
      assert.deepEqual(of(h.events, s.id).map((e) => `${e.type} ${'up' in e ? e.up : ''} ${e.at}`),
        ['check_changed false 5000', 'server_changed false 5000', 'check_changed true 7000', 'server_changed true 7000'], s.id);
      assert.equal(h.sched.health().get(s.id)!.up, true);
      assert.equal(h.sched.lastChecks(s.id)[0]!.ok, true, 'lastChecks per real server id');
    }
    h.sched.stop();
    assert.equal(h.timers.size, 0, 'no deadline left armed');
  });

  test('different check definitions are separate probes; equal ones share one', async () => {
    const ip = '198.51.100.11';
    const servers = [
      rs(100, ip, [tcp(ip)]),
      rs(101, ip, [tcp(ip)]), // same as 100: shared
      rs(102, ip, [tcp(ip, { timeoutMs: 900 })]),
      rs(103, ip, [tcp(ip, { connectPort: 8080 })]),
      rs(104, ip, [tcp(ip, { bindTo: '198.51.100.1' })]),
      rs(105, ip, [tcp(ip, { rise: 2 })]),
      rs(106, ip, [http(ip)]),
      rs(107, ip, [http(ip, { urls: [{ path: '/other', statusCodes: [[200, 299]], digest: undefined, virtualhost: undefined }] })]),
      rs(108, '198.51.100.12', [tcp('198.51.100.12')]),
    ];
    const h = harness(servers, () => ({ ok: true }));
    h.sched.start();
    await h.runTo(2999);
    const perKey = new Map<string, number>();
    for (const p of h.probes) perKey.set(p.key, (perKey.get(p.key) ?? 0) + 1);
    assert.equal(perKey.size, 8, 'eight distinct checks');
    assert.deepEqual([...perKey.values()], new Array(8).fill(3), 'each probed once per interval');
    assert.equal(h.sched.mergeStats().sharedChecks, 8);
    h.sched.stop();
  });

  test('checkKey: field order and absent-vs-undefined do not matter; every field of a check does', () => {
    const base = http('198.51.100.11');
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as CheckConfig;
    assert.equal(checkKey(reordered), checkKey(base));
    const { bindTo: _b, ...noBind } = base;
    assert.equal(checkKey(noBind as CheckConfig), checkKey(base));
    const changes: Record<string, unknown> = {
      kind: 'ssl_get', connectIp: '198.51.100.12', connectPort: 81, bindTo: '198.51.100.1', bindPort: 1000, timeoutMs: 501,
      retry: 1, delayBeforeRetryMs: 201, delayLoopMs: 1001, warmupMs: 1, alpha: true, rise: 2,
      urls: [{ path: '/health', statusCodes: [[200, 200]], digest: undefined, virtualhost: undefined }],
      virtualhost: 'www.example.org', httpProtocol: '1.1', enableSni: true, verifyCertificate: true,
    };
    for (const k of Object.keys(base)) {
      assert.ok(k in changes, `a change for ${k}`);
      assert.notEqual(checkKey({ ...base, [k]: changes[k] } as CheckConfig), checkKey(base), `${k} changes the key`);
    }
    const digest = { ...base, urls: [{ ...base.kind === 'http_get' ? base.urls[0]! : undefined!, digest: '0123456789abcdef0123456789abcdef' }] };
    assert.notEqual(checkKey(digest as CheckConfig), checkKey(base), 'digest changes the key');
    assert.notEqual(checkKey(misc({ dynamic: false })), checkKey(misc()), 'misc_dynamic changes the key');
    assert.notEqual(checkKey(misc({ user: 'nobody' })), checkKey(misc()), 'misc user changes the key');
  });
});

describe('checker merge: member events equal one machine per real server', () => {
  // Two checks on one real server: A with retry 2 (delay_before_retry 300), B with alpha and rise
  // 2 on another port and another delay_loop. Covers down after retries, up, rise, alpha, and the
  // "all checks up" rule when both fail at overlapping times.
  const ip = '198.51.100.11';
  const A = tcp(ip, { retry: 2, delayBeforeRetryMs: 300, delayLoopMs: 1000 });
  const B = tcp(ip, { connectPort: 8443, alpha: true, rise: 2, delayLoopMs: 1300, timeoutMs: 700 });
  const script: Script = (c, now) => (c.connectPort === 80
    ? failing([[3000, 6100], [14000, 17500]])(now)
    : failing([[9000, 11000], [15000, 16000]])(now));
  const UNTIL = 25_000;

  test('down, retry, up, rise, alpha: each of 10 members sees exactly the reference events at the same times', async () => {
    const servers = Array.from({ length: 10 }, (_, s) => rs(100 + s, ip, [A, B]));
    // One more real server sharing only A (another service's view of the same target).
    const onlyA = rs(120, ip, [A]);
    const h = harness([...servers, onlyA], script);
    h.sched.start();
    await h.runTo(UNTIL);
    const ref = reference(servers[0]!, script, UNTIL);
    assert.ok(ref.length >= 10, `the scenario produces events: ${JSON.stringify(ref)}`);
    const kinds = new Set(ref.map((e) => e.type === 'check_changed' ? `check ${e.check} ${e.up} ${e.reason}` : `${e.type} ${'up' in e ? e.up : ''}`));
    for (const k of ['check 0 false refused', 'check 1 true probe_ok', 'check 1 false refused', 'server_changed false', 'server_changed true']) {
      assert.ok(kinds.has(k), `scenario covers ${k}`);
    }
    assert.ok(ref.some((e) => e.type === 'check_changed' && e.retries === 2), 'the retries run out before down');
    for (const s of servers) assert.deepEqual(of(h.events, s.id), renamed(ref, s.id), s.id);
    assert.deepEqual(of(h.events, onlyA.id), renamed(reference(onlyA, script, UNTIL), onlyA.id));
    // Two distinct checks, each probed on its own schedule only once.
    assert.equal(h.sched.mergeStats().sharedChecks, 2);
    const refProbes = countReferenceProbes(servers[0]!, script, UNTIL);
    assert.equal(h.probes.length, refProbes, 'as many probes as ONE real server takes');
    h.sched.stop();
  });

  test('misc_dynamic: one probe, every member gets the weight (from its own configured weight), and so does one joining later', async () => {
    const weights = [5, 5, 7];
    const servers = [rs(100, '198.51.100.11', [misc()], 1), rs(101, '198.51.100.11', [misc()], 2), rs(102, '198.51.100.11', [misc()], 3)];
    const h = harness(servers, () => ({ ok: true, weight: weights.shift() ?? 7 }));
    h.sched.start();
    await h.runTo(3500);
    assert.equal(h.probes.length, 4);
    for (const s of servers) {
      const ref = reference(s, (() => { const w = [5, 5, 7]; return () => ({ ok: true, weight: w.shift() ?? 7 }); })(), 3500);
      assert.deepEqual(of(h.events, s.id), renamed(ref, s.id), s.id);
      assert.deepEqual(h.sched.health().get(s.id), { up: true, weight: 7 });
    }
    assert.deepEqual(of(h.events, servers[2]!.id).map((e) => e.type === 'weight_changed' && [e.from, e.to]), [[3, 5], [5, 7]]);
    const joining = rs(103, '198.51.100.11', [misc()], 9);
    h.sched.reconfigure([...servers, joining]);
    assert.deepEqual(h.sched.health().get(joining.id), { up: true, weight: 7 }, 'the current dynamic weight at once');
    h.sched.stop();
  });
});

function countReferenceProbes(server: RealServerConfig, script: Script, until: number): number {
  let n = 0;
  reference(server, (c, now) => { n++; return script(c, now); }, until);
  return n;
}

describe('checker merge: reload', () => {
  const ip = '198.51.100.11';
  const A = tcp(ip);
  const down: Script = () => ({ ok: false, reason: 'refused', detail: 'ECONNREFUSED' });

  test('a new service naming a checked server joins its check: down at once, no new probe, no event, timers untouched', async () => {
    const first = rs(100, ip, [A]);
    const h = harness([first], down);
    h.sched.start();
    await h.runTo(1500);
    assert.equal(h.sched.health().get(first.id)!.up, false);
    const probesBefore = h.probes.length;
    const eventsBefore = h.events.length;
    const nextBefore = h.timers.nextAt();
    const joining = rs(101, ip, [A]);
    const r = h.sched.reconfigure([first, joining]);
    assert.deepEqual({ kept: r.kept, started: r.started, stopped: r.stopped, checks: r.checks },
      { kept: [first.id], started: [joining.id], stopped: [], checks: { kept: 1, started: 0, stopped: 0 } });
    assert.equal(h.sched.health().get(joining.id)!.up, false, 'down now, not after its own retries');
    assert.equal(h.probes.length, probesBefore, 'joining does not probe');
    assert.equal(h.events.length, eventsBefore, 'joining is silent');
    assert.equal(h.timers.nextAt(), nextBefore, 'the shared check\'s schedule is unchanged');
    await h.runTo(4999);
    assert.deepEqual(h.probes.map((p) => p.at), [0, 1000, 2000, 3000, 4000], 'one probe per interval across the reload');
    assert.equal(h.sched.lastChecks(joining.id)[0]!.ok, false, 'the joining member sees the last probe');
    h.sched.stop();
  });

  test('keep, change and drop: a key still used keeps its state, a changed one starts fresh, an unused one is stopped', async () => {
    const svc1 = rs(100, ip, [A]);
    const svc2 = rs(101, ip, [A]);
    const h = harness([svc1, svc2], down);
    h.sched.start();
    await h.runTo(1500);
    // svc2 drops out: A is still used by svc1 and carries on (down, same schedule).
    let r = h.sched.reconfigure([svc1]);
    assert.deepEqual(r.checks, { kept: 1, started: 0, stopped: 0 });
    assert.deepEqual(r.stopped, [svc2.id]);
    assert.equal(h.sched.health().get(svc1.id)!.up, false);
    assert.equal(h.sched.health().get(svc2.id), undefined);
    // svc1's check changes (another timeout): a new key, a fresh verdict (up until probed), the
    // old key is no longer used and stops.
    const changed = rs(100, ip, [tcp(ip, { timeoutMs: 800 })]);
    r = h.sched.reconfigure([changed]);
    assert.deepEqual(r.checks, { kept: 0, started: 1, stopped: 1 });
    assert.deepEqual(r.started, [changed.id]);
    assert.equal(h.sched.health().get(changed.id)!.up, true, 'a new check starts as keepalived starts one');
    const at = h.timers.now();
    await h.runTo(at + 2999);
    const after = h.probes.filter((p) => p.at >= at);
    assert.ok(after.length > 0 && after.every((p) => p.key === checkKey(changed.checks[0]!)), 'only the new check is probed');
    assert.equal(h.sched.health().get(changed.id)!.up, false);
    // Nothing configured: every check stops, nothing stays armed.
    r = h.sched.reconfigure([]);
    assert.deepEqual(r.checks, { kept: 0, started: 0, stopped: 1 });
    const n = h.probes.length;
    await h.runTo(h.timers.now() + 5000);
    assert.equal(h.probes.length, n, 'a stopped check probes no more');
    assert.equal(h.timers.size, 0, 'nothing stays armed');
    assert.deepEqual(h.sched.mergeStats().sharedChecks, 0);
    h.sched.stop();
  });
});

describe('checker merge: first probes spread', () => {
  test('spreadJitter: position k of n lands in the k-th slice; n = 1 is the draw itself', () => {
    assert.equal(spreadJitter(0, 1, 0.37), 0.37);
    for (let k = 0; k < 10; k++) {
      for (const r of [0, 0.5, 0.999999]) {
        const j = spreadJitter(k, 10, r);
        assert.ok(j >= k / 10 && j < (k + 1) / 10, `${k} ${r} -> ${j}`);
      }
    }
    assert.ok(spreadJitter(0, 1, 1) < 1, 'never the end of the window');
  });

  test('1,000 distinct checks with warmup 1 s start evenly: one per millisecond, the same for the same draws', async () => {
    const run = async (seed: number) => {
      const servers = Array.from({ length: 1000 }, (_, i) => rs(100, `198.51.${100 + Math.floor(i / 250)}.${1 + (i % 250)}`,
        [tcp(`198.51.${100 + Math.floor(i / 250)}.${1 + (i % 250)}`, { warmupMs: 1000, delayLoopMs: 5000 })]));
      const h = harness(servers, () => ({ ok: true }), mulberry32(seed));
      h.sched.start();
      await h.runTo(999);
      h.sched.stop();
      return h.probes.map((p) => p.at);
    };
    const starts = await run(7);
    assert.equal(starts.length, 1000);
    const perMs = new Array<number>(1000).fill(0);
    for (const t of starts) perMs[t]!++;
    assert.equal(Math.max(...perMs), 1, 'at most one first probe in any millisecond (independent draws put several in many)');
    assert.deepEqual(await run(7), starts, 'deterministic given the injected random');
  });
});
