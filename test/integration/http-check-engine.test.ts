// HTTP_GET judged by the native check engine (src/native/tcp_check_engine.cc HTTP mode, through
// src/check/probes/engineProbe.ts and index.ts createRunProbe) against real servers on loopback:
// node:http for well-formed answers, raw net servers for the bad ones.
// - each case's reason (and the status code of http_status);
// - quiet mode: steady 200s are not reported, the first 503 is, with its code;
// - abort and the per-check target (one engine target per check, reused);
// - differential: every scripted case probed by probes/http.ts (JS) and by the engine gives the
//   same ok / reason (and the same detail for http_status);
// - TCP_CHECK through the same runProbe: ok / refused, as probes/tcp.ts says.
// Every server and engine is closed in after(), even on failure.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { CheckConfig, HttpUrl } from '../../src/config/lbModel.js';
import { createRunProbe, ProbeEngine, runProbe, type RunProbe } from '../../src/check/probes/index.js';
import { nativeHttpSpec } from '../../src/check/probes/httpEngineSpec.js';
import { createTcpCheckEngine, type TcpCheckEngineDebug, type TcpCheckOutcome } from '../../src/net/tcpCheckEngine.js';
import type { ProbeResult } from '../../src/check/verdict.js';
import { closedPort, onHttpRequest, tcpServer, type TestServer } from '../unit/probes-servers.js';
import { requireRoot, sleep, waitFor } from '../lib/netns.js';

const HOST = '127.0.0.1';
const TIMEOUT_MS = 400;

const closers: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function check(port: number, urlOver: Partial<HttpUrl> = {}, over: Partial<CheckConfig> = {}): CheckConfig {
  return {
    kind: 'http_get', connectIp: HOST, connectPort: port, bindTo: undefined, bindPort: undefined, timeoutMs: TIMEOUT_MS,
    retry: 0, delayBeforeRetryMs: 1000, delayLoopMs: 1000, warmupMs: 0, alpha: false, rise: 1,
    urls: [{ path: '/health', statusCodes: [[200, 299]], digest: undefined, virtualhost: undefined, ...urlOver }],
    virtualhost: undefined, httpProtocol: '1.0', enableSni: false, verifyCertificate: false, ...over,
  } as CheckConfig;
}

/** A node:http server answering `status` (changeable) with a small body. */
async function httpServer(status: number): Promise<{ port: number; status: number; requests: string[] }> {
  const state = { port: 0, status, requests: [] as string[] };
  const s = http.createServer((req, res) => {
    state.requests.push(`${req.method} ${req.url} ${req.headers['user-agent']} ${req.headers.host}`);
    res.statusCode = state.status;
    res.end('body');
  });
  await new Promise<void>((resolve) => s.listen(0, HOST, () => resolve()));
  closers.push(() => new Promise<void>((resolve) => { s.closeAllConnections(); s.close(() => resolve()); }));
  state.port = (s.address() as { port: number }).port;
  return state;
}

/** A raw server: `respond` runs once the request header is in. */
async function rawServer(respond: (s: Socket) => void): Promise<TestServer> {
  const srv = await tcpServer(HOST, (s) => onHttpRequest(s, () => respond(s)));
  closers.push(() => srv.close());
  return srv;
}

/** Writes `parts` one by one, `gapMs` apart (a server that trickles its answer). */
function trickle(s: Socket, parts: string[], gapMs: number): void {
  let i = 0;
  const next = (): void => {
    if (s.destroyed) return;
    if (i >= parts.length) { s.end(); return; }
    s.write(parts[i++]!);
    setTimeout(next, gapMs);
  };
  next();
}

let engine: ProbeEngine;
let viaEngine: RunProbe;

before(() => {
  requireRoot();
  engine = new ProbeEngine();
  closers.push(() => engine.close());
  viaEngine = createRunProbe(engine);
});

interface Case {
  name: string;
  /** The check to probe (a server made for it). */
  make(): Promise<CheckConfig>;
  expect: { ok: true } | { ok: false; reason: string; detail?: string };
}

const CASES: Case[] = [
  { name: '200 is up', make: async () => check((await httpServer(200)).port), expect: { ok: true } },
  {
    name: '503 is http_status with the code', make: async () => check((await httpServer(503)).port),
    expect: { ok: false, reason: 'http_status', detail: '/health: status 503' },
  },
  {
    name: 'a code in a configured range is up', make: async () => check((await httpServer(302)).port, { statusCodes: [[200, 200], [301, 302]] }),
    expect: { ok: true },
  },
  {
    name: 'a code outside the configured ranges is http_status',
    make: async () => check((await httpServer(200)).port, { statusCodes: [[301, 302], [404, 404]] }),
    expect: { ok: false, reason: 'http_status', detail: '/health: status 200' },
  },
  {
    name: 'garbage is bad_response', make: async () => check((await rawServer((s) => s.end('garbage\x00\xff\r\n\r\n'))).port),
    expect: { ok: false, reason: 'bad_response' },
  },
  {
    name: 'a status code of four digits is bad_response', make: async () => check((await rawServer((s) => s.end('HTTP/1.1 2000 OK\r\n\r\n'))).port),
    expect: { ok: false, reason: 'bad_response' },
  },
  {
    name: 'a bare status line without reason phrase is up', make: async () => check((await rawServer((s) => s.end('HTTP/1.0 204\r\n\r\n'))).port),
    expect: { ok: true },
  },
  {
    name: 'a status line and header trickled byte by byte is judged at its end',
    make: async () => check((await rawServer((s) => trickle(s, [...'HTTP/1.1 503 Busy\r\nX: y\r\n\r\n'], 2))).port),
    expect: { ok: false, reason: 'http_status', detail: '/health: status 503' },
  },
  {
    name: 'a reset before the status line is reset', make: async () => check((await rawServer((s) => s.resetAndDestroy())).port),
    expect: { ok: false, reason: 'reset' },
  },
  {
    name: 'a reset inside the status line is reset',
    make: async () => check((await rawServer((s) => { s.write('HTTP/1.1 2'); setTimeout(() => s.resetAndDestroy(), 20); })).port),
    expect: { ok: false, reason: 'reset' },
  },
  {
    name: 'a close (FIN) before the end of the header is bad_response',
    make: async () => check((await rawServer((s) => s.end('HTTP/1.1 200 OK\r\n'))).port),
    expect: { ok: false, reason: 'bad_response' },
  },
  {
    name: 'a header that never ends (over 64 KiB) is bad_response',
    make: async () => check((await rawServer((s) => {
      s.write('HTTP/1.0 200 OK\r\n');
      const chunk = Buffer.alloc(16 * 1024, 'X-Filler: yyyy\r\n');
      let n = 0;
      const pump = (): void => { while (!s.destroyed && n < 64 && s.write(chunk)) n++; };
      s.on('drain', pump);
      pump();
    })).port, {}, { timeoutMs: 2000 }),
    expect: { ok: false, reason: 'bad_response' },
  },
  {
    name: 'a server that never answers is timeout', make: async () => check((await rawServer(() => { /* silent */ })).port),
    expect: { ok: false, reason: 'timeout' },
  },
  { name: 'a closed port is refused', make: async () => check(await closedPort(HOST)), expect: { ok: false, reason: 'refused' } },
];

function verdictOf(r: ProbeResult): { ok: boolean; reason?: string; detail?: string } {
  return r.ok ? { ok: true } : { ok: false, reason: r.reason, detail: r.detail };
}

describe('HTTP_GET on the check engine: each case', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const chk = await c.make();
      assert.ok(nativeHttpSpec(chk), 'the case must be one the engine runs');
      const got = verdictOf(await viaEngine(chk));
      assert.equal(got.ok, c.expect.ok, JSON.stringify(got));
      if (!c.expect.ok) {
        assert.equal(got.reason, c.expect.reason, JSON.stringify(got));
        if (c.expect.detail !== undefined) assert.equal(got.detail, c.expect.detail);
      }
    });
  }

  test('the request is keepalived\'s (probes/http.ts httpRequest): method, path, User-Agent, Host', async () => {
    const srv = await httpServer(200);
    const r = await viaEngine(check(srv.port, { path: '/status?x=1' }));
    assert.equal(r.ok, true);
    assert.deepEqual(srv.requests, [`GET /status?x=1 KeepAliveClient ${HOST}:${srv.port}`]);
  });

  test('the probe\'s timeout bounds connect and exchange together: a slow answer is timeout', async () => {
    // Answers 600 ms after the request against a 150 ms deadline: the connect took well under
    // 150 ms, so only a deadline that keeps running after connect yields timeout (else: ok).
    const srv = await rawServer((s) => setTimeout(() => { if (!s.destroyed) s.end('HTTP/1.0 200 OK\r\n\r\n'); }, 600));
    const r = await viaEngine(check(srv.port), { timeoutMs: 150 });
    assert.equal(verdictOf(r).reason, 'timeout');
  });

  test('one engine target per check, reused by every probe of it', async () => {
    const srv = await httpServer(200);
    const chk = check(srv.port);
    const before = engine.engine.stats().targets;
    for (let i = 0; i < 5; i++) assert.equal((await viaEngine(chk)).ok, true);
    assert.equal(engine.engine.stats().targets, before + 1);
  });

  test('abort settles at once as timeout/aborted, and the check\'s next probe still works', async () => {
    let answer = false;
    const srv = await rawServer((s) => { if (answer) s.end('HTTP/1.0 200 OK\r\n\r\n'); });
    const chk = check(srv.port, {}, { timeoutMs: 5000 });
    const ac = new AbortController();
    const p = viaEngine(chk, { signal: ac.signal });
    await sleep(50);
    const t0 = performance.now();
    ac.abort();
    assert.deepEqual(verdictOf(await p), { ok: false, reason: 'timeout', detail: 'aborted' });
    assert.ok(performance.now() - t0 < 2000, 'settled at the abort, not at the 5 s deadline');
    answer = true;
    assert.equal((await viaEngine(chk)).ok, true);
    assert.equal(engine.inFlight, 0);
  });
});

describe('HTTP_GET on the check engine: quiet mode', () => {
  const engines: TcpCheckEngineDebug[] = [];
  after(() => { for (const e of engines) e.close(); });

  test('steady 200s are suppressed; the first 503 is reported with its code and ends quiet mode', async () => {
    const srv = await httpServer(200);
    const got: TcpCheckOutcome[] = [];
    const e = createTcpCheckEngine((b) => got.push(...b));
    engines.push(e);
    const spec = nativeHttpSpec(check(srv.port));
    assert.ok(spec);
    e.add(1, spec);
    e.setQuiet(1, 50, 0);
    await waitFor(() => e.stats().suppressed >= 5, { timeoutMs: 5000, what: 'five quiet successes' });
    assert.equal(got.length, 0, 'no success reported in quiet mode');
    assert.ok(srv.requests.length >= 5, 'each quiet probe sent a request');
    srv.status = 503;
    await waitFor(() => got.length > 0, { timeoutMs: 5000, what: 'the 503 reported' });
    assert.equal(got.length, 1);
    assert.equal(got[0]!.ok, false);
    assert.equal(got[0]!.reason, 'http_status');
    assert.equal(got[0]!.status, 503);
    assert.equal(e.last(1)?.status, 503);
    // Quiet mode ended with the report: no more probes run.
    const probes = e.stats().probes;
    await sleep(200);
    assert.equal(e.stats().probes, probes);
    assert.equal(got.length, 1);
  });
});

describe('HTTP_GET on the check engine: a spec replaced mid-probe', () => {
  const engines: TcpCheckEngineDebug[] = [];
  after(() => { for (const e of engines) e.close(); });

  test('the probe in flight finishes as HTTP; the replacing TCP spec applies from the next probe', async () => {
    // Answers 503 200 ms after the request: the add() below lands while the probe waits.
    const srv = await rawServer((s) => setTimeout(() => { if (!s.destroyed) s.end('HTTP/1.0 503 Busy\r\n\r\n'); }, 200));
    const got: TcpCheckOutcome[] = [];
    const e = createTcpCheckEngine((b) => got.push(...b));
    engines.push(e);
    const httpSpec = nativeHttpSpec(check(srv.port, {}, { timeoutMs: 2000 }));
    assert.ok(httpSpec);
    e.add(7, httpSpec);
    e.probeIn(7, 0);
    await waitFor(() => srv.accepted > 0, { timeoutMs: 2000, what: 'the HTTP probe connected' });
    await sleep(50);
    const { http: _dropped, ...tcpSpec } = httpSpec;
    e.add(7, tcpSpec);
    await waitFor(() => got.length > 0, { timeoutMs: 5000, what: 'the in-flight outcome' });
    assert.equal(got[0]!.reason, 'http_status', JSON.stringify(got[0]));
    assert.equal(got[0]!.status, 503);
    e.probeIn(7, 0);
    await waitFor(() => got.length > 1, { timeoutMs: 5000, what: 'the TCP probe' });
    assert.equal(got[1]!.ok, true, JSON.stringify(got[1]));
  });
});

describe('HTTP_GET: probes/http.ts and the engine agree', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const chk = await c.make();
      const js = verdictOf(await runProbe(chk));
      const native = verdictOf(await viaEngine(chk));
      assert.equal(native.ok, js.ok, `js ${JSON.stringify(js)} engine ${JSON.stringify(native)}`);
      assert.equal(native.reason, js.reason, `js ${JSON.stringify(js)} engine ${JSON.stringify(native)}`);
      if (js.reason === 'http_status') assert.equal(native.detail, js.detail);
    });
  }
});

describe('TCP_CHECK through createRunProbe(engine)', () => {
  const tcp = (port: number): CheckConfig => ({
    kind: 'tcp_check', connectIp: HOST, connectPort: port, bindTo: undefined, bindPort: undefined, timeoutMs: TIMEOUT_MS,
    retry: 0, delayBeforeRetryMs: 1000, delayLoopMs: 1000, warmupMs: 0, alpha: false, rise: 1,
  });

  test('a listener is up and a closed port refused, on the engine and as probes/tcp.ts says', async () => {
    const srv = await rawServer(() => {});
    const up = tcp(srv.port);
    const down = tcp(await closedPort(HOST));
    const probesBefore = engine.engine.stats().probes;
    assert.deepEqual(verdictOf(await viaEngine(up)), { ok: true });
    assert.equal(verdictOf(await viaEngine(down)).reason, 'refused');
    assert.equal(engine.engine.stats().probes, probesBefore + 2, 'both probes ran on the engine');
    assert.equal(verdictOf(await runProbe(up)).ok, true);
    assert.equal(verdictOf(await runProbe(down)).reason, 'refused');
  });
});
