// The status API listeners' limits (issue 12 §3): the caps from the open file limit, which
// connection gives way at the cap (ConnectionTable, manual clock), the README's numbers against
// the constants, the metrics, and a real StatusServer on a unix socket in a temporary directory
// with short injected timeouts (the integration test listener-limits.test.ts checks the real
// defaults against a real daemon).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionTable } from '../../src/api/connectionTable.js';
import { connectionCaps, LISTENER_TIMEOUTS, newListenerStats, parseOpenFileLimit } from '../../src/api/listenerLimits.js';
import { renderMetrics } from '../../src/api/metrics.js';
import { StatusServer } from '../../src/api/statusServer.js';
import type { DaemonStatus } from '../../src/api/status.js';
import type { ReloadOutcome } from '../../src/api/status.js';
import type { Logger } from '../../src/log.js';

// Whitespace folded, so that a line break in the README does not matter.
const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');

describe('connection caps from the open file limit', () => {
  it('1/16 for TCP (4..128), 1/64 for the unix socket (2..16); 1024 assumed when unknown', () => {
    assert.deepEqual(connectionCaps(64), { unix: 2, tcp: 4 });
    assert.deepEqual(connectionCaps(256), { unix: 4, tcp: 16 });
    assert.deepEqual(connectionCaps(1024), { unix: 16, tcp: 64 });
    assert.deepEqual(connectionCaps(65536), { unix: 16, tcp: 128 });
    assert.deepEqual(connectionCaps(16), { unix: 2, tcp: 4 });
    assert.deepEqual(connectionCaps(null), connectionCaps(1024));
    // Together never more than 8 % of a limit of 256 or more.
    for (const limit of [256, 300, 1000, 1024, 4096, 20000, 65536, 1 << 20]) {
      const c = connectionCaps(limit);
      assert.ok(c.unix + c.tcp <= 0.08 * limit, `${limit}: ${JSON.stringify(c)}`);
    }
  });

  it('reads the soft limit from /proc/PID/limits text', () => {
    const text = [
      'Limit                     Soft Limit           Hard Limit           Units     ',
      'Max cpu time              unlimited            unlimited            seconds   ',
      'Max open files            1024                 524288               files     ',
      'Max locked memory         8388608              8388608              bytes     ',
    ].join('\n');
    assert.equal(parseOpenFileLimit(text), 1024);
    assert.equal(parseOpenFileLimit(text.replace('1024  ', 'unlimited')), null);
    assert.equal(parseOpenFileLimit('Max cpu time  unlimited  unlimited  seconds'), null);
    // This process's own file parses to a positive number.
    const own = parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
    assert.ok(own !== null && own > 0, String(own));
  });

  it('the README states the numbers the code uses', () => {
    const t = LISTENER_TIMEOUTS;
    const s = (ms: number) => `${ms / 1000} s`;
    for (const phrase of [
      `headers must arrive within ${s(t.headersTimeoutMs)} of the connection (checked every ${s(t.checkIntervalMs)}`,
      `closed after ${s(t.headersTimeoutMs).replace(' s', '')} to ${s(t.headersTimeoutMs + t.checkIntervalMs)}`,
      `the whole request within ${s(t.requestTimeoutMs)}`,
      `idle keep-alive connection is closed ${s(t.keepAliveTimeoutMs)} after its last response (Node 20 adds 1 s: ${s(t.keepAliveTimeoutMs + 1000)})`,
      `nothing moves for ${s(t.idleTimeoutMs)} while`,
      `1/16 of it (${connectionCaps(1).tcp} to ${connectionCaps(1 << 30).tcp} connections)`,
      `its own 1/64 (${connectionCaps(1).unix} to ${connectionCaps(1 << 30).unix})`,
      `open file limit 65536: status socket up to ${connectionCaps(65536).unix} connection(s), metrics listener up to ${connectionCaps(65536).tcp}`,
    ]) {
      assert.ok(README.includes(phrase), `README does not say: ${phrase}`);
    }
  });
});

describe('ConnectionTable', () => {
  it('at the cap, the connection idle the longest gives way; busy ones never do', () => {
    const t = new ConnectionTable<string>(3);
    assert.deepEqual(t.admit('a', 0), { admitted: true, evict: null });
    assert.deepEqual(t.admit('b', 10), { admitted: true, evict: null });
    assert.deepEqual(t.admit('c', 20), { admitted: true, evict: null });
    // a is busy (a request in progress): b, idle since 10, is the oldest idle one.
    t.requestStarted('a');
    assert.deepEqual(t.admit('d', 30), { admitted: true, evict: 'b' });
    assert.equal(t.size, 3);
    // c answers a request at 40: idle since 40 now, so d (idle since 30) goes first.
    t.requestStarted('c');
    t.requestEnded('c', 40);
    assert.deepEqual(t.admit('e', 50), { admitted: true, evict: 'd' });
    assert.deepEqual(t.admit('f', 60), { admitted: true, evict: 'c' });
    // Now a, e and f: a is busy; e and f get requests too: nothing to give way, f2 is refused.
    t.requestStarted('e');
    t.requestStarted('f');
    assert.deepEqual(t.admit('g', 70), { admitted: false });
    assert.equal(t.size, 3);
    // Two overlapping requests (pipelining): idle only after both.
    t.requestStarted('a');
    t.requestEnded('a', 80);
    assert.deepEqual(t.admit('h', 90), { admitted: false });
    t.requestEnded('a', 100);
    assert.deepEqual(t.admit('h', 110), { admitted: true, evict: 'a' });
    // A closed connection frees its slot.
    t.remove('e');
    assert.deepEqual(t.admit('i', 120), { admitted: true, evict: null });
    assert.throws(() => new ConnectionTable(0), /positive integer/);
  });
});

describe('connection metrics', () => {
  it('per listener; the TCP series only when metrics_listen is on', () => {
    const tcp = { ...newListenerStats(64), open: 3, accepted: 500, refused: 2, evicted: 400, timed_out: { request: 7, idle: 90 } };
    const doc = {
      pid: 1, version: 'x', router_id: 'lb1', hostname: 'h', started_at: '2026-01-01T00:00:00.000Z', instances: [],
      rx: { accepted: 0, drops: {} }, lb: null, trackers: { scripts: [], files: [], processes: [] },
      alerts: { scripts: { run: 0, failed: 0, timed_out: 0, dropped: 0, keys: 0, pending: 0, running: 0 }, notify_fifo: null, webhooks: [], mail: null },
      api: { open_file_limit: 1024, unix: { ...newListenerStats(16), open: 1, accepted: 9 }, tcp },
    } satisfies DaemonStatus;
    const proc = { cpuSeconds: 1, residentBytes: 2, startTimeSeconds: 3, openFds: 30 };
    const text = renderMetrics(doc, proc);
    for (const line of [
      'tandem_api_connections_max{listener="unix"} 16', 'tandem_api_connections_max{listener="tcp"} 64',
      'tandem_api_connections_open{listener="unix"} 1', 'tandem_api_connections_open{listener="tcp"} 3',
      'tandem_api_connections_accepted_total{listener="tcp"} 500', 'tandem_api_connections_refused_total{listener="tcp"} 2',
      'tandem_api_connections_evicted_total{listener="tcp"} 400',
      'tandem_api_connections_timed_out_total{listener="tcp",phase="request"} 7', 'tandem_api_connections_timed_out_total{listener="tcp",phase="idle"} 90',
      'tandem_api_connections_timed_out_total{listener="unix",phase="request"} 0', 'process_max_fds 1024', 'process_open_fds 30',
    ]) assert.ok(text.split('\n').includes(line), `missing ${line}\n${text}`);
    const noTcp = renderMetrics({ ...doc, api: { ...doc.api, tcp: null } }, proc);
    assert.ok(!noTcp.includes('listener="tcp"'));
    assert.ok(noTcp.includes('tandem_api_connections_max{listener="unix"} 16'));
  });
});

describe('StatusServer on a unix socket, cap 2, short timeouts', () => {
  let dir = '';
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tandem-listener-')); });
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
  const snapshot = (): DaemonStatus => ({
    pid: 1, version: 'x', router_id: 'lb1', hostname: 'h', started_at: '2026-01-01T00:00:00.000Z', instances: [],
    rx: { accepted: 0, drops: {} }, lb: null, trackers: { scripts: [], files: [], processes: [] },
    alerts: { scripts: { run: 0, failed: 0, timed_out: 0, dropped: 0, keys: 0, pending: 0, running: 0 }, notify_fifo: null, webhooks: [], mail: null },
  });

  function open(path: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect({ path });
      s.once('connect', () => { s.on('error', () => undefined); resolve(s); });
      s.once('error', reject);
    });
  }
  /** Lets the event loop run until `cond` holds (bounded: 10,000 turns). */
  async function until(cond: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 10_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
    assert.ok(cond(), `never happened: ${what}`);
  }
  const closed = (s: Socket) => new Promise<void>((resolve) => { if (s.destroyed && s.closed) resolve(); else s.once('close', () => resolve()); });
  /** Everything the server sends until it closes. */
  const received = (s: Socket) => new Promise<string>((resolve) => {
    let b = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => { b += c; });
    s.once('close', () => resolve(b));
  });

  it('evicts the longest-idle connection for a new one; refuses one when all are busy', { timeout: 20_000 }, async () => {
    const socketPath = join(dir, 'a.sock');
    let clock = 0;
    const reloads: Array<(o: ReloadOutcome) => void> = [];
    const server = new StatusServer({
      socketPath, metricsListen: undefined, snapshot, log: quiet,
      reload: () => new Promise<ReloadOutcome>((resolve) => { reloads.push(resolve); }),
      maxConnections: { unix: 2, tcp: 4 },
      // The headers timeout is long here (this part is about the cap); the next test shortens it.
      timeouts: { headersTimeoutMs: 30_000, requestTimeoutMs: 30_000, checkIntervalMs: 1000 },
      now: () => clock,
    });
    await server.start();
    const sockets: Socket[] = [];
    try {
      const stats = server.stats.unix;
      // Two silent connections fill the cap; a third evicts the first (the oldest idle).
      clock = 1; const a = await open(socketPath); sockets.push(a);
      const aClosed = closed(a);
      clock = 2; const b = await open(socketPath); sockets.push(b);
      clock = 3; const c = await open(socketPath); sockets.push(c);
      await aClosed;
      assert.deepEqual([stats.accepted, stats.evicted, stats.refused, stats.open], [3, 1, 0, 2]);

      // c starts a reload that does not end yet: busy. A new connection evicts b, the idle one.
      const bClosed = closed(b);
      const cAnswer = received(c);
      c.write('POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      await until(() => reloads.length === 1, 'the first reload request');
      clock = 4; const d = await open(socketPath); sockets.push(d);
      await bClosed;
      assert.equal(stats.evicted, 2);
      // d asks for the status and gets it (a GET on the unix socket).
      const dAnswer = received(d);
      d.write('GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(await dAnswer, /^HTTP\/1\.1 200 OK[\s\S]*"router_id": "lb1"/);

      // c busy, and a second reload-in-progress connection e: both busy, so f is refused.
      clock = 5; const e = await open(socketPath); sockets.push(e);
      const eAnswer = received(e);
      e.write('POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      await until(() => reloads.length === 2, 'the second reload request');
      const f = await open(socketPath).catch(() => null);
      if (f) { sockets.push(f); await closed(f); }
      assert.equal(stats.refused, 1, JSON.stringify(stats));
      assert.equal(stats.open, 2);

      // The reloads answer with their outcomes.
      for (const done of reloads) done({ ok: true, file: 'x.yaml', changes: [], durationMs: 1, warnings: [] });
      assert.match(await cAnswer, /^HTTP\/1\.1 200 OK[\s\S]*"ok": true/);
      assert.match(await eAnswer, /^HTTP\/1\.1 200 OK[\s\S]*"ok": true/);
      await until(() => stats.open === 0, 'every connection closed');
      assert.deepEqual(stats.timed_out, { request: 0, idle: 0 });
    } finally {
      for (const s of sockets) s.destroy();
      await server.stop();
    }
  });

  it('a connection that sends nothing or half its headers is closed with a 408 after the headers timeout, and counted', { timeout: 20_000 }, async () => {
    const socketPath = join(dir, 'b.sock');
    const server = new StatusServer({
      socketPath, metricsListen: undefined, snapshot, log: quiet, now: () => performance.now(),
      maxConnections: { unix: 4, tcp: 4 },
      timeouts: { headersTimeoutMs: 200, requestTimeoutMs: 400, keepAliveTimeoutMs: 100, checkIntervalMs: 50 },
    });
    await server.start();
    try {
      const silent = await open(socketPath);
      const half = await open(socketPath);
      half.write('GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      const keepAlive = await open(socketPath);
      const [s1, s2, s3] = [received(silent), received(half), received(keepAlive)];
      keepAlive.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match(await s1, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.match(await s2, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      // Answered (200), then closed by the keep-alive timeout.
      assert.match(await s3, /^HTTP\/1\.1 200 OK\r\n/);
      const stats = server.stats.unix;
      await until(() => stats.open === 0, 'every connection closed');
      assert.deepEqual(stats.timed_out, { request: 2, idle: 1 });
      assert.deepEqual([stats.accepted, stats.open, stats.evicted, stats.refused], [3, 0, 0, 0]);
    } finally {
      await server.stop();
    }
  });

  it('with no timeouts given, the server uses LISTENER_TIMEOUTS', async () => {
    const socketPath = join(dir, 'c.sock');
    const server = new StatusServer({ socketPath, metricsListen: undefined, snapshot, log: quiet, now: () => performance.now() });
    await server.start();
    try {
      const http = (server as unknown as { unixServer: import('node:http').Server }).unixServer;
      const t = LISTENER_TIMEOUTS;
      assert.deepEqual([http.headersTimeout, http.requestTimeout, http.keepAliveTimeout, http.timeout],
        [t.headersTimeoutMs, t.requestTimeoutMs, t.keepAliveTimeoutMs, t.idleTimeoutMs]);
      assert.equal(server.stats.unix.max_connections, connectionCaps(null).unix);
    } finally {
      await server.stop();
    }
  });
});
