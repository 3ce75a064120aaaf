// The checker driver (src/check/scheduler.ts) against real servers on loopback: a server that goes
// away leaves within keepalived's bound (retry x delay_before_retry + connect_timeout +
// delay_loop), comes back when restarted, a real server is up only when all its checks pass, and
// stop() aborts in-flight probes and leaves no timer or socket behind.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { CheckScheduler, type SchedulerEvent } from '../../src/check/scheduler.js';
import type { CheckConfig, RealServerConfig } from '../../src/config/lbModel.js';
import { hostileServer } from './probes-servers.js';
import { runProbe } from '../../src/check/probes/index.js';
import { createSystemTimers } from '../../src/timers.js';

/** Probes against real sockets, in real time. */
const real = { timers: createSystemTimers(), runProbe };

const TIMING = { timeoutMs: 500, retry: 1, delayBeforeRetryMs: 100, delayLoopMs: 300, warmupMs: 0, alpha: false, rise: 1 };
/** keepalived's bound for leaving the table after the server dies. */
const LEAVE_BOUND_MS = TIMING.retry * TIMING.delayBeforeRetryMs + TIMING.timeoutMs + TIMING.delayLoopMs;
/** Event-loop and scheduling slack on a busy 2-core CI machine. */
const SLACK_MS = 250;

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

/** Collects events and lets a test wait for one that matches, with a bound. */
class Events {
  readonly all: Array<SchedulerEvent & { at: number }> = [];
  private waiters: Array<() => void> = [];
  push = (e: SchedulerEvent): void => { this.all.push({ ...e, at: performance.now() }); for (const w of this.waiters) w(); };
  async waitFor(match: (e: SchedulerEvent) => boolean, fromIndex: number, timeoutMs: number): Promise<SchedulerEvent & { at: number }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = this.all.slice(fromIndex).find(match);
      if (hit) return hit;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.all)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        function done(): void { clearTimeout(t); resolve(); }
        this.waiters.push(done);
      });
      this.waiters = [];
    }
  }
}

const serverChanged = (up: boolean) => (e: SchedulerEvent) => e.type === 'server_changed' && e.up === up;

describe('check scheduler', () => {
  test('a dead server leaves within retry x delay_before_retry + connect_timeout + delay_loop, and returns when restarted', async () => {
    const srv = new Flappy();
    await srv.up();
    const ev = new Events();
    const rs = realServer(11, [tcpCheck(srv.port, { alpha: true })]);
    const sched = new CheckScheduler({ ...real, servers: [rs], onEvent: ev.push });
    try {
      sched.start();
      // alpha: starts down, the first success brings it up.
      assert.equal(sched.health().get(rs.id)!.up, false);
      await ev.waitFor(serverChanged(true), 0, 1000);
      assert.deepEqual(sched.health().get(rs.id), { up: true, weight: 1 });

      for (let round = 0; round < 2; round++) {
        const mark = ev.all.length;
        const t0 = performance.now();
        await srv.down();
        const down = await ev.waitFor(serverChanged(false), mark, LEAVE_BOUND_MS + SLACK_MS);
        const took = down.at - t0;
        assert.ok(took <= LEAVE_BOUND_MS + SLACK_MS, `left after ${took.toFixed(0)} ms (bound ${LEAVE_BOUND_MS})`);
        assert.equal(down.type === 'server_changed' && down.probe, 'refused');
        assert.match(down.type === 'server_changed' ? down.detail ?? '' : '', /ECONNREFUSED|refused/i);
        assert.equal(sched.health().get(rs.id)!.up, false);
        console.log(`# round ${round}: down event ${took.toFixed(0)} ms after the server closed (bound ${LEAVE_BOUND_MS} ms)`);

        const mark2 = ev.all.length;
        const t1 = performance.now();
        await srv.up();
        const up = await ev.waitFor(serverChanged(true), mark2, TIMING.delayLoopMs + SLACK_MS);
        console.log(`# round ${round}: up event ${(up.at - t1).toFixed(0)} ms after the server came back (bound ${TIMING.delayLoopMs} ms)`);
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
    const ev = new Events();
    const rs = realServer(12, [tcpCheck(tcp.port), httpCheck(http.port)]);
    const sched = new CheckScheduler({ ...real, servers: [rs], onEvent: ev.push });
    try {
      sched.start();
      assert.equal(sched.health().get(rs.id)!.up, true, 'without alpha a server starts up');
      // The HTTP check fails (status 503) while TCP still passes: the server goes down.
      status = 503;
      const down = await ev.waitFor(serverChanged(false), 0, LEAVE_BOUND_MS + SLACK_MS);
      assert.equal(down.type === 'server_changed' && down.check, 1);
      assert.equal(down.type === 'server_changed' && down.probe, 'http_status');
      // HTTP passes again, but TCP goes away before it: still down until both pass.
      const mark = ev.all.length;
      await tcp.down();
      await ev.waitFor((e) => e.type === 'check_changed' && e.check === 0 && !e.up, mark, LEAVE_BOUND_MS + SLACK_MS);
      status = 200;
      await ev.waitFor((e) => e.type === 'check_changed' && e.check === 1 && e.up, mark, TIMING.delayLoopMs + SLACK_MS);
      assert.equal(sched.health().get(rs.id)!.up, false, 'one check passing is not enough');
      assert.equal(ev.all.slice(mark).some(serverChanged(true)), false);
      await tcp.up();
      await ev.waitFor(serverChanged(true), mark, TIMING.delayLoopMs + SLACK_MS);
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
    const t0 = performance.now();
    const sched = new CheckScheduler({ ...real,
      servers: [rs], onEvent: () => {}, random: () => 0.5,
      runProbe: async () => { starts.push(performance.now() - t0); return { ok: true }; },
    });
    try {
      sched.start();
      await new Promise((r) => setTimeout(r, 350));
      assert.equal(starts.length, 1);
      assert.ok(starts[0]! >= 195 && starts[0]! < 200 + SLACK_MS, `first probe at ${starts[0]} ms, jitter 0.5 x 400`);
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
    const ev = new Events();
    const sched = new CheckScheduler({ ...real,
      servers: [rs], onEvent: ev.push, runProbe: async () => ({ ok: true, weight: weights.shift() ?? 7 }),
    });
    try {
      sched.start();
      await ev.waitFor((e) => e.type === 'weight_changed' && e.to === 7, 0, 1000);
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
    const servers = [1, 2, 3].map((n) => realServer(20 + n, [httpCheck(silent.port, { timeoutMs: 5000 })]));
    const sched = new CheckScheduler({ ...real, servers, onEvent: () => {} });
    sched.start();
    // Every probe is connected and waiting for an answer that never comes.
    const t0 = performance.now();
    while (silent.accepted < 3 && performance.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(silent.accepted, 3);
    assert.ok((kinds().TCPSocketWrap ?? 0) > (before.TCPSocketWrap ?? 0), 'probes hold sockets while in flight');
    sched.stop();
    // Aborted probes release their sockets and timers at once (one turn for the close callbacks).
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    const after = kinds();
    assert.equal(after.TCPSocketWrap ?? 0, before.TCPSocketWrap ?? 0, JSON.stringify({ before, after }));
    assert.equal(after.Timeout ?? 0, before.Timeout ?? 0, JSON.stringify({ before, after }));
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
    const sched = new CheckScheduler({ ...real, servers: [rs], onEvent: () => undefined });
    try {
      assert.deepEqual([...sched.lastChecks(rs.id)], [null], 'nothing before the first probe');
      sched.start();
      const until = async (pred: () => boolean, what: string) => {
        const t0 = Date.now();
        while (!pred()) {
          if (Date.now() - t0 > 5000) assert.fail(`not within 5 s: ${what}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await until(() => sched.lastChecks(rs.id)[0]?.ok === true, 'a successful probe');
      const ok = sched.lastChecks(rs.id)[0]!;
      assert.equal(ok.kind, 'tcp_check');
      assert.equal(ok.reason, null);
      assert.ok(ok.latencyMs >= 0 && ok.latencyMs < TIMING.timeoutMs, `latency ${ok.latencyMs} ms`);
      assert.ok(Math.abs(ok.at - Date.now()) < 5000);
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
