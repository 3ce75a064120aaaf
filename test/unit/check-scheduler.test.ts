// The checker driver (src/check/scheduler.ts) against real servers on loopback: a server that goes
// away leaves within keepalived's bound (retry x delay_before_retry + connect_timeout +
// delay_loop), comes back when restarted, a real server is up only when all its checks pass, and
// stop() aborts in-flight probes and leaves no timer or socket behind. The probes are real (real
// sockets, in real time); the scheduler's clock is manual (test/lib/manualTimers.ts): drive()
// moves it to the next deadline only once no probe is in flight, so the times below are the
// scheduler's own, exact, whatever the machine's load.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { CheckScheduler, type SchedulerEvent } from '../../src/check/scheduler.js';
import type { CheckConfig, RealServerConfig } from '../../src/config/lbModel.js';
import { hostileServer } from './probes-servers.js';
import { runProbe } from '../../src/check/probes/index.js';
import { ManualTimers } from '../lib/manualTimers.js';

/** A manual clock for the scheduler, and the real probe runner, counting probes in flight. */
function clocked(probe: typeof runProbe = runProbe) {
  const timers = new ManualTimers();
  let inFlight = 0;
  const counted: typeof runProbe = (c, o) => {
    inFlight++;
    return probe(c, o).finally(() => { inFlight--; });
  };
  /** Runs the scheduler until `cond`: waits (real time, socket I/O) while a probe is in flight,
   *  else moves the manual clock to the next deadline. */
  const drive = async (cond: () => boolean, what: string, maxSteps = 200): Promise<void> => {
    for (let i = 0; i < maxSteps * 50 && !cond(); i++) {
      await new Promise((res) => setImmediate(res));
      if (cond()) break;
      if (inFlight > 0) { await new Promise((res) => setTimeout(res, 2)); continue; }
      if (!timers.step()) break;
    }
    if (!cond()) throw new Error(`${what}: did not happen (scheduler clock at ${timers.now()} ms)`);
  };
  return { timers, runProbe: counted, drive };
}

const TIMING = { timeoutMs: 500, retry: 1, delayBeforeRetryMs: 100, delayLoopMs: 300, warmupMs: 0, alpha: false, rise: 1 };
/** keepalived's bound for leaving the table after the server dies. */
const LEAVE_BOUND_MS = TIMING.retry * TIMING.delayBeforeRetryMs + TIMING.timeoutMs + TIMING.delayLoopMs;

function tcpCheck(port: number, extra: Partial<CheckConfig> = {}): CheckConfig {
  return { kind: 'tcp_check', connectIp: '127.0.0.1', connectPort: port, bindTo: undefined, bindPort: undefined, ...TIMING, ...extra } as CheckConfig;
}
function httpCheck(port: number, extra: Partial<CheckConfig> = {}): CheckConfig {
  return {
    kind: 'http_get', connectIp: '127.0.0.1', connectPort: port, bindTo: undefined, bindPort: undefined, ...TIMING,
    urls: [{ path: '/health', statusCodes: [[200, 299]], digest: undefined, virtualhost: undefined }],
    virtualhost: undefined, httpProtocol: '1.0', enableSni: false, verifyCertificate: false, ...extra,
  } as CheckConfig;
}
function realServer(n: number, checks: CheckConfig[]): RealServerConfig {
  const dest = { family: 4 as const, address: `198.51.100.${n}`, port: 80, forwarding: 'NAT' as const, weight: 1, tunnel: null };
  return { id: `TCP 192.0.2.100:80 -> 198.51.100.${n}:80`, dest, inhibitOnFailure: false, checks };
}

/** A TCP listener that can be stopped and started again on the same port. */
class Flappy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  async up(): Promise<void> {
    const s = createServer((c) => { this.sockets.add(c); c.on('error', () => {}); c.on('close', () => this.sockets.delete(c)); });
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(this.port, '127.0.0.1', () => resolve()); });
    this.port = (s.address() as AddressInfo).port;
    this.server = s;
  }
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const c of this.sockets) c.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

async function httpServer(status: () => number): Promise<{ port: number; server: HttpServer }> {
  const server = createHttpServer((_req, res) => { res.statusCode = status(); res.end('ok'); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.address() as AddressInfo).port, server };
}

/** Collects events, each with the scheduler's (manual) clock at the time. */
class Events {
  readonly all: Array<SchedulerEvent & { at: number }> = [];
  constructor(private readonly clock: { now(): number }, private readonly drive: (cond: () => boolean, what: string) => Promise<void>) {}
  push = (e: SchedulerEvent): void => { this.all.push({ ...e, at: this.clock.now() }); };
  /** Drives the scheduler until an event from `fromIndex` on matches; returns it. */
  async waitFor(match: (e: SchedulerEvent) => boolean, fromIndex: number): Promise<SchedulerEvent & { at: number }> {
    const find = () => this.all.slice(fromIndex).find(match);
    await this.drive(() => find() !== undefined, `a matching event (got ${JSON.stringify(this.all.slice(fromIndex))})`);
    return find()!;
  }
}

const serverChanged = (up: boolean) => (e: SchedulerEvent) => e.type === 'server_changed' && e.up === up;

describe('check scheduler', () => {
  test('a dead server leaves within retry x delay_before_retry + connect_timeout + delay_loop, and returns when restarted', async () => {
    const srv = new Flappy();
    await srv.up();
    const c = clocked();
    const ev = new Events(c.timers, c.drive);
    const rs = realServer(11, [tcpCheck(srv.port, { alpha: true })]);
    const sched = new CheckScheduler({ timers: c.timers, runProbe: c.runProbe, random: Math.random, servers: [rs], onEvent: ev.push });
    try {
      sched.start();
      // alpha: starts down, the first success brings it up.
      assert.equal(sched.health().get(rs.id)!.up, false);
      await ev.waitFor(serverChanged(true), 0);
      assert.deepEqual(sched.health().get(rs.id), { up: true, weight: 1 });

      for (let round = 0; round < 2; round++) {
        const mark = ev.all.length;
        const t0 = c.timers.now();
        await srv.down();
        const down = await ev.waitFor(serverChanged(false), mark);
        const took = down.at - t0;
        assert.ok(took <= LEAVE_BOUND_MS, `left after ${took.toFixed(0)} ms (bound ${LEAVE_BOUND_MS})`);
        assert.equal(down.type === 'server_changed' && down.probe, 'refused');
        assert.match(down.type === 'server_changed' ? down.detail ?? '' : '', /ECONNREFUSED|refused/i);
        assert.equal(sched.health().get(rs.id)!.up, false);

        const mark2 = ev.all.length;
        const t1 = c.timers.now();
        await srv.up();
        const up = await ev.waitFor(serverChanged(true), mark2);
        assert.ok(up.at - t1 <= TIMING.delayLoopMs, `up ${up.at - t1} ms after the server came back (bound ${TIMING.delayLoopMs} ms)`);
      }
    } finally {
      sched.stop();
      await srv.down();
    }
  });

  test('a real server is up only when all of its checks pass', async () => {
    const tcp = new Flappy();
    await tcp.up();
    let status = 200;
    const http = await httpServer(() => status);
    const c = clocked();
    const ev = new Events(c.timers, c.drive);
    const rs = realServer(12, [tcpCheck(tcp.port), httpCheck(http.port)]);
    const sched = new CheckScheduler({ timers: c.timers, runProbe: c.runProbe, random: Math.random, servers: [rs], onEvent: ev.push });
    try {
      sched.start();
      assert.equal(sched.health().get(rs.id)!.up, true, 'without alpha a server starts up');
      // The HTTP check fails (status 503) while TCP still passes: the server goes down.
      status = 503;
      const down = await ev.waitFor(serverChanged(false), 0);
      assert.ok(down.at <= LEAVE_BOUND_MS, `down at ${down.at} ms`);
      assert.equal(down.type === 'server_changed' && down.check, 1);
      assert.equal(down.type === 'server_changed' && down.probe, 'http_status');
      // HTTP passes again, but TCP goes away before it: still down until both pass.
      const mark = ev.all.length;
      await tcp.down();
      await ev.waitFor((e) => e.type === 'check_changed' && e.check === 0 && !e.up, mark);
      status = 200;
      await ev.waitFor((e) => e.type === 'check_changed' && e.check === 1 && e.up, mark);
      assert.equal(sched.health().get(rs.id)!.up, false, 'one check passing is not enough');
      assert.equal(ev.all.slice(mark).some(serverChanged(true)), false);
      await tcp.up();
      const t1 = c.timers.now();
      const up = await ev.waitFor(serverChanged(true), mark);
      assert.ok(up.at - t1 <= TIMING.delayLoopMs, `up ${up.at - t1} ms after TCP came back`);
      assert.equal(sched.health().get(rs.id)!.up, true);
    } finally {
      sched.stop();
      await tcp.down();
      await new Promise<void>((resolve) => http.server.close(() => resolve()));
    }
  });

  test('warmup spreads first probes by the drawn jitter', async () => {
    const srv = new Flappy();
    await srv.up();
    const starts: number[] = [];
    const rs = realServer(13, [tcpCheck(srv.port, { warmupMs: 400 })]);
    const timers = new ManualTimers();
    const sched = new CheckScheduler({
      timers, servers: [rs], onEvent: () => {}, random: () => 0.5,
      runProbe: async () => { starts.push(timers.now()); return { ok: true }; },
    });
    try {
      sched.start();
      timers.advance(350);
      assert.equal(starts.length, 1);
      assert.equal(starts[0], 200, 'first probe at jitter 0.5 x 400');
    } finally {
      sched.stop();
      await srv.down();
    }
  });

  test('misc_dynamic weights come out as weight_changed and in health()', async () => {
    const misc = { kind: 'misc_check', connectIp: '127.0.0.1', connectPort: 80, bindTo: undefined, bindPort: undefined, ...TIMING,
      delayLoopMs: 50, argv: ['/bin/true'], dynamic: true, user: undefined } as CheckConfig;
    const rs = realServer(14, [misc]);
    const weights = [5, 5, 7];
    const c = clocked(async () => ({ ok: true, weight: weights.shift() ?? 7 }));
    const ev = new Events(c.timers, c.drive);
    const sched = new CheckScheduler({ timers: c.timers, runProbe: c.runProbe, random: Math.random, servers: [rs], onEvent: ev.push });
    try {
      sched.start();
      await ev.waitFor((e) => e.type === 'weight_changed' && e.to === 7, 0);
      assert.deepEqual(ev.all.filter((e) => e.type === 'weight_changed').map((e) => e.type === 'weight_changed' && [e.from, e.to]), [[1, 5], [5, 7]]);
      assert.deepEqual(sched.health().get(rs.id), { up: true, weight: 7 });
    } finally { sched.stop(); }
  });

  test('stop() aborts in-flight probes and leaves no timer or socket', async () => {
    const kinds = (): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const k of process.getActiveResourcesInfo()) out[k] = (out[k] ?? 0) + 1;
      return out;
    };
    const silent = await hostileServer('127.0.0.1', 'silent');
    const before = kinds();
    // Three distinct checks (timeouts differ): equal ones would be one shared probe (checker
    // merge, check/merge.ts), and this test wants three sockets in flight.
    const servers = [1, 2, 3].map((n) => realServer(20 + n, [httpCheck(silent.port, { timeoutMs: 5000 + n })]));
    const timers = new ManualTimers();
    const sched = new CheckScheduler({ timers, runProbe, random: Math.random, servers, onEvent: () => {} });
    sched.start();
    timers.flush();
    // Every probe is connected and waiting for an answer that never comes.
    for (let i = 0; i < 200 && silent.accepted < 3; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(silent.accepted, 3);
    assert.ok((kinds().TCPSocketWrap ?? 0) > (before.TCPSocketWrap ?? 0), 'probes hold sockets while in flight');
    sched.stop();
    // Aborted probes release their sockets and timers at once (one turn for the close callbacks).
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    const after = kinds();
    assert.equal(after.TCPSocketWrap ?? 0, before.TCPSocketWrap ?? 0, JSON.stringify({ before, after }));
    assert.equal(after.Timeout ?? 0, before.Timeout ?? 0, JSON.stringify({ before, after }));
    assert.equal(timers.size, 0, 'no scheduler deadline left armed');
    await silent.close();
    // Stopping twice is harmless; start after stop is a fresh run that stops cleanly too.
    sched.stop();
  });
});

describe('last check and latency', () => {
  test('each check keeps its last probe (result, reason, latency) and every probe lands in the kind\'s histogram', async () => {
    const flappy = new Flappy();
    await flappy.up();
    const rs = realServer(31, [tcpCheck(flappy.port)]);
    // Each real probe takes 3 ms of the scheduler's clock: the latency is measured on that clock.
    const c = clocked(async (check, o) => {
      const r = await runProbe(check, o);
      c.timers.advance(3);
      return r;
    });
    const sched = new CheckScheduler({ timers: c.timers, runProbe: c.runProbe, random: Math.random, servers: [rs], onEvent: () => undefined });
    try {
      assert.deepEqual([...sched.lastChecks(rs.id)], [null], 'nothing before the first probe');
      sched.start();
      const until = (pred: () => boolean, what: string) => c.drive(pred, what);
      await until(() => sched.lastChecks(rs.id)[0]?.ok === true, 'a successful probe');
      const ok = sched.lastChecks(rs.id)[0]!;
      assert.equal(ok.kind, 'tcp_check');
      assert.equal(ok.reason, null);
      assert.ok(ok.latencyMs >= 0 && ok.latencyMs < TIMING.timeoutMs, `latency ${ok.latencyMs} ms`);
      assert.equal(ok.latencyMs, 3, 'measured on the injected clock');
      assert.ok(ok.at >= Date.UTC(2026, 0, 1) && ok.at <= c.timers.wallNow(), 'stamped with the injected wall clock');
      await flappy.down();
      await until(() => sched.lastChecks(rs.id)[0]?.ok === false, 'a failed probe');
      const failed = sched.lastChecks(rs.id)[0]!;
      assert.equal(failed.reason, 'refused');
      assert.match(failed.detail ?? '', /ECONNREFUSED/);
      const h = sched.latencyHistograms().get('tcp_check')!;
      assert.ok(h.count >= 2, `${h.count} probes counted`);
      assert.equal(h.counts.reduce((a, b) => a + b, 0), h.count, 'every probe is in exactly one bucket');
      assert.ok(h.sum > 0 && h.sum < h.count * TIMING.timeoutMs / 1000);
    } finally {
      sched.stop();
      await flappy.down();
    }
  });
});
