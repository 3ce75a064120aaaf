// The native TcpCheckEngine (src/native/tcp_check_engine.cc via src/net/tcpCheckEngine.ts)
// against real sockets on loopback (127.0.0.0/8, ::1), as root:
// - outcomes: ok on a listener, refused on a closed port, timeout on a listener whose accept
//   queue is full (Linux drops the SYN: tcp_conn_request's sk_acceptq_is_full), connect_error
//   with errno for a bind address that is not local;
// - quiet mode: nothing reported while the server is up, the first failure within one interval
//   (+ scheduling slack) of the listener closing, last()/stats() showing the suppressed ones;
// - remove() of an in-flight probe reports nothing; bindAddress is the SYN's source (seen by a
//   raw IPPROTO_TCP socket, since a TCP_CHECK never lets the server accept);
// - 2,000 targets at 100 ms: counts add up, none lost, starts spread evenly;
// - EMFILE (a child with a low RLIMIT_NOFILE): connect_error with errno 24, counted, no crash.
// The full-backlog listener and the SYN watcher are small python3 processes (Node's net.Server
// always accepts, and Node has no raw sockets); every one is killed in after(), even on failure.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import net from 'node:net';
import { createTcpCheckEngine, type TcpCheckEngineDebug, type TcpCheckOutcome } from '../../src/net/tcpCheckEngine.js';
import { requireRoot, requireTools, sleep, waitFor } from '../lib/netns.js';

const children = new Set<ChildProcess>();
const servers = new Set<net.Server>();
const engines = new Set<TcpCheckEngineDebug>();

function engine(): { e: TcpCheckEngineDebug; got: TcpCheckOutcome[] } {
  const got: TcpCheckOutcome[] = [];
  const e = createTcpCheckEngine((b) => got.push(...b));
  engines.add(e);
  return { e, got };
}

function closeEngine(e: TcpCheckEngineDebug): void {
  e.close();
  engines.delete(e);
}

async function listen(host = '127.0.0.1'): Promise<net.Server> {
  const s = net.createServer((c) => { c.on('error', () => {}); c.destroy(); });
  servers.add(s);
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(0, host, () => resolve()); });
  return s;
}

const portOf = (s: net.Server): number => (s.address() as net.AddressInfo).port;

async function closeServer(s: net.Server): Promise<void> {
  servers.delete(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
}

/** A port nothing listens on: bound and closed again. */
async function closedPort(): Promise<number> {
  const s = await listen();
  const p = portOf(s);
  await closeServer(s);
  return p;
}

/** Runs a python3 script that prints one JSON line per event; resolves with the process once the first line arrives. */
async function python(source: string): Promise<{ proc: ChildProcess; lines: unknown[] }> {
  const proc = spawn('python3', ['-u', '-c', source], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(proc);
  const lines: unknown[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => lines.push(JSON.parse(l)));
  await waitFor(() => lines.length > 0, { timeoutMs: 10_000, what: 'python helper ready' });
  return { proc, lines };
}

// Listens with backlog 0 and never accepts: once one connection sits in its accept queue the
// kernel drops further SYNs (no SYN-ACK, no RST), which is what an overloaded server does.
const FULL_BACKLOG = `
import socket, sys, json
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(('127.0.0.1', 0)); s.listen(0)
print(json.dumps({'port': s.getsockname()[1]}))
sys.stdin.read()
`;

// Prints {src, sport} for every SYN (no ACK) to 127.0.0.1:PORT seen on this host's TCP input.
const SYN_WATCH = (port: number) => `
import socket, json, struct
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
print(json.dumps({'ready': True}))
while True:
    p = r.recv(65535)
    ihl = (p[0] & 15) * 4
    sport, dport = struct.unpack('!HH', p[ihl:ihl+4])
    flags = p[ihl+13]
    if dport == ${port} and flags & 0x02 and not flags & 0x10:
        print(json.dumps({'src': socket.inet_ntoa(p[12:16]), 'sport': sport}))
`;

describe('TcpCheckEngine on loopback', () => {
  before(() => {
    requireRoot();
    requireTools('python3');
  });

  after(async () => {
    for (const e of engines) e.close();
    for (const p of children) p.kill('SIGKILL');
    for (const s of servers) s.close();
  });

  test('ok on a listener (IPv4 and IPv6), refused on a closed port, connect_error for a non-local bind', async () => {
    const s4 = await listen('127.0.0.1');
    const s6 = await listen('::1');
    const closed = await closedPort();
    const { e, got } = engine();
    e.add(1, { family: 4, address: '127.0.0.1', port: portOf(s4), timeoutMs: 1000 });
    e.add(2, { family: 6, address: '::1', port: portOf(s6), timeoutMs: 1000 });
    e.add(3, { family: 4, address: '127.0.0.1', port: closed, timeoutMs: 1000 });
    e.add(4, { family: 4, address: '127.0.0.1', port: portOf(s4), bindAddress: '192.0.2.1', timeoutMs: 1000 });
    for (const id of [1, 2, 3, 4]) e.probeIn(id, 0);
    await waitFor(() => got.length === 4, { timeoutMs: 5000, what: '4 outcomes' });
    const by = new Map(got.map((o) => [o.id, o]));
    assert.equal(by.get(1)!.ok, true);
    assert.equal(by.get(2)!.ok, true);
    assert.deepEqual([by.get(3)!.ok, by.get(3)!.reason, by.get(3)!.errno], [false, 'refused', 111]);
    assert.deepEqual([by.get(4)!.ok, by.get(4)!.reason, by.get(4)!.errno], [false, 'connect_error', 99], 'EADDRNOTAVAIL');
    assert.ok(by.get(1)!.latencyUs >= 0 && by.get(1)!.latencyUs < 1_000_000);
    const l = e.last(1)!;
    assert.equal(l.ok, true);
    assert.ok(Math.abs(l.atWallMs - Date.now()) < 10_000, 'wall-clock time of the last probe');
    assert.deepEqual(e.last(3), { ok: false, reason: 'refused', latencyUs: e.last(3)!.latencyUs, atWallMs: e.last(3)!.atWallMs });
    await sleep(200);
    assert.equal(got.length, 4, 'one probeIn, one report');
    const st = e.stats();
    assert.deepEqual([st.probes, st.reported, st.suppressed, st.inFlight, st.targets], [4, 4, 0, 0, 4]);
    closeEngine(e);
  });

  test('timeout when the listener drops the SYN (accept queue full), at connect_timeout', async () => {
    const { proc, lines } = await python(FULL_BACKLOG);
    const port = (lines[0] as { port: number }).port;
    // Fill the accept queue (backlog 0 holds one connection).
    const fillers = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')];
    for (const f of fillers) f.on('error', () => {});
    await sleep(200);
    const { e, got } = engine();
    e.add(9, { family: 4, address: '127.0.0.1', port, timeoutMs: 400 });
    const t0 = Date.now();
    e.probeIn(9, 0);
    await waitFor(() => got.length === 1, { timeoutMs: 5000, what: 'timeout outcome' });
    const took = Date.now() - t0;
    assert.equal(got[0]!.ok, false);
    assert.equal(got[0]!.reason, 'timeout');
    assert.ok(took >= 390 && took < 1500, `reported after ${took} ms for a 400 ms timeout`);
    assert.ok(got[0]!.latencyUs >= 399_000 && got[0]!.latencyUs < 1_000_000, `latency ${got[0]!.latencyUs} us`);

    // remove() of an in-flight probe: nothing is reported, the socket is gone.
    got.length = 0;
    e.probeIn(9, 0);
    await waitFor(() => e.stats().inFlight === 1, { timeoutMs: 2000, what: 'probe in flight' });
    e.remove(9);
    await sleep(700);
    assert.equal(got.length, 0, 'a removed probe reports nothing');
    const st = e.stats();
    assert.deepEqual([st.inFlight, st.aborted, st.targets], [0, 1, 0]);
    assert.equal(e.last(9), undefined);
    closeEngine(e);
    for (const f of fillers) f.destroy();
    proc.kill('SIGKILL');
  });

  test('quiet mode: nothing reported while the server is up, the first failure soon after it closes', async () => {
    const s = await listen();
    const port = portOf(s);
    const { e, got } = engine();
    const interval = 100;
    e.add(5, { family: 4, address: '127.0.0.1', port, timeoutMs: 300 });
    e.setQuiet(5, interval, 0);
    await sleep(1050);
    assert.equal(got.length, 0, 'successes are not reported');
    const st = e.stats();
    assert.ok(st.suppressed >= 8 && st.suppressed <= 12, `suppressed ${st.suppressed} in ~1 s at 100 ms`);
    assert.equal(st.reported, 0);
    assert.equal(e.last(5)?.ok, true);
    const okAt = e.last(5)!.atWallMs;
    assert.ok(Date.now() - okAt < 3 * interval, 'last() moves with the suppressed probes');

    const closedAt = Date.now();
    await closeServer(s);
    await waitFor(() => got.length > 0, { timeoutMs: 5000, what: 'first failure' });
    const after = Date.now() - closedAt;
    assert.deepEqual([got[0]!.id, got[0]!.ok, got[0]!.reason], [5, false, 'refused']);
    assert.ok(after <= interval + 300 + 100, `first failure ${after} ms after close (interval ${interval} + timeout 300)`);
    const before = e.stats().probes;
    await sleep(400);
    assert.equal(got.length, 1, 'the failure ended quiet mode: no more reports');
    assert.equal(e.stats().probes, before, 'and no more probes');
    const end = e.stats();
    assert.equal(end.probes, end.suppressed + end.reported + end.inFlight + end.aborted + end.stale);
    closeEngine(e);
  });

  test('bindAddress is the source address the server sees', async () => {
    const s = await listen();
    const port = portOf(s);
    const { proc, lines } = await python(SYN_WATCH(port));
    const { e, got } = engine();
    e.add(1, { family: 4, address: '127.0.0.1', port, bindAddress: '127.0.0.2', timeoutMs: 1000 });
    e.add(2, { family: 4, address: '127.0.0.1', port, bindAddress: '127.0.0.3', bindPort: 40123, timeoutMs: 1000 });
    e.probeIn(1, 0);
    e.probeIn(2, 0);
    await waitFor(() => got.length === 2, { timeoutMs: 5000, what: '2 outcomes' });
    assert.ok(got.every((o) => o.ok), JSON.stringify(got));
    await waitFor(() => lines.length >= 3, { timeoutMs: 5000, what: 'SYNs seen' });
    const syns = lines.slice(1) as { src: string; sport: number }[];
    assert.deepEqual(syns.map((x) => x.src).sort(), ['127.0.0.2', '127.0.0.3']);
    assert.equal(syns.find((x) => x.src === '127.0.0.3')!.sport, 40123, 'bindPort honoured');
    closeEngine(e);
    proc.kill('SIGKILL');
    await closeServer(s);
  });

  test('2,000 targets at 100 ms: counts add up, none lost, starts spread evenly', async () => {
    const ss = await Promise.all(Array.from({ length: 10 }, () => listen()));
    const { e, got } = engine();
    const N = 2000;
    const interval = 100;
    for (let id = 0; id < N; id++) {
      e.add(id, { family: 4, address: '127.0.0.1', port: portOf(ss[id % ss.length]!), timeoutMs: 1000 });
    }
    e.recordStarts(true);
    // The caller's phases: evenly over one interval (what the scheduler's spread gives).
    for (let id = 0; id < N; id++) e.setQuiet(id, interval, (id * interval) / N);
    const runMs = 3000;
    await sleep(runMs);
    const { times, ids } = e.takeStarts();
    e.recordStarts(false);
    for (let id = 0; id < N; id++) e.setQuiet(id, null);
    await waitFor(() => e.stats().inFlight === 0, { timeoutMs: 3000, what: 'in-flight probes to finish' });
    await sleep(50);
    const st = e.stats();
    assert.equal(got.length, 0, 'all up: nothing reported');
    assert.equal(st.probes, st.suppressed + st.reported + st.aborted + st.stale + st.inFlight, JSON.stringify(st));
    const expected = (N * runMs) / interval;
    // The rate holds (a loose floor: the machine running the tests is shared and may starve the
    // engine thread for a while; the catch-up after that is bounded by the burst cap).
    assert.ok(st.probes > expected * 0.75 && st.probes < expected * 1.05, `probes ${st.probes}, expected ~${expected}`);
    // None lost: every target keeps being probed (a start later than one interval skips the
    // missed periods, as HAProxy does, so a starved run may give some targets fewer), never
    // more often than its interval allows, its last probe a success.
    const per = new Uint32Array(N);
    for (const id of ids) per[id]!++;
    const minPer = Math.min(...per);
    const maxPer = Math.max(...per);
    assert.ok(minPer >= runMs / interval / 2 && maxPer <= runMs / interval + 1, `per-target probes ${minPer}..${maxPer}`);
    for (let id = 0; id < N; id++) assert.equal(e.last(id)?.ok, true, `target ${id}`);
    // Spread: over whole 1 ms buckets inside the steady window, the busiest holds <= 2x the mean.
    const t0 = times[0]! + 200;
    const t1 = times[times.length - 1]! - 200;
    const buckets = new Map<number, number>();
    let inWindow = 0;
    for (const t of times) {
      if (t < t0 || t >= t1) continue;
      const b = Math.floor(t);
      buckets.set(b, (buckets.get(b) ?? 0) + 1);
      inWindow++;
    }
    const mean = inWindow / Math.floor(t1 - t0);
    const max = Math.max(...buckets.values());
    console.log(`# spread: ${inWindow} starts over ${Math.floor(t1 - t0)} ms, mean ${mean.toFixed(1)}/ms, max ${max}/ms, lateStarts ${st.lateStarts}`);
    assert.ok(max <= 2 * mean, `max burst ${max} in 1 ms vs mean ${mean.toFixed(1)}`);
    closeEngine(e);
    for (const s of ss) await closeServer(s);
  });

  test('process lifetime: a pending probe keeps the process alive until reported; an idle engine does not', async () => {
    const s = await listen();
    const mod = new URL('../../src/net/tcpCheckEngine.js', import.meta.url).href;
    const runChild = async (body: string): Promise<{ code: number | null; out: string; ms: number }> => {
      const src = `const { createTcpCheckEngine } = await import(${JSON.stringify(mod)});\n${body}`;
      const t0 = Date.now();
      const child = spawn(process.execPath, ['--input-type=module', '-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.add(child);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      clearTimeout(killer);
      children.delete(child);
      return { code, out, ms: Date.now() - t0 };
    };
    // Nothing else holds the loop: only the engine's pending probe (500 ms away) can.
    const pending = await runChild(`
      const e = createTcpCheckEngine((b) => console.log(JSON.stringify(b)));
      e.add(1, { family: 4, address: '127.0.0.1', port: ${portOf(s)}, timeoutMs: 1000 });
      e.probeIn(1, 500);`);
    assert.equal(pending.code, 0);
    assert.deepEqual(JSON.parse(pending.out).map((o: { id: number; ok: boolean }) => [o.id, o.ok]), [[1, true]], 'the result arrived before exit');
    const idle = await runChild(`
      const e = createTcpCheckEngine(() => {});
      e.add(1, { family: 4, address: '127.0.0.1', port: ${portOf(s)}, timeoutMs: 1000 });
      console.log('idle');`);
    assert.equal(idle.code, 0);
    assert.equal(idle.out.trim(), 'idle');
    assert.ok(idle.ms < 5000, `an idle engine let the process exit (${idle.ms} ms)`);
    await closeServer(s);
  });

  test('EMFILE: connect_error with errno 24, counted, no crash', async () => {
    const { proc, lines } = await python(FULL_BACKLOG);
    const port = (lines[0] as { port: number }).port;
    const fillers = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')];
    for (const f of fillers) f.on('error', () => {});
    await sleep(200);
    // A child with 64 descriptors runs 200 probes that all hang (SYNs dropped): most cannot get a socket.
    const mod = new URL('../../src/net/tcpCheckEngine.js', import.meta.url).href;
    const src = `
      const { createTcpCheckEngine } = await import(${JSON.stringify(mod)});
      const got = [];
      const e = createTcpCheckEngine((b) => got.push(...b));
      for (let id = 0; id < 200; id++) { e.add(id, { family: 4, address: '127.0.0.1', port: ${port}, timeoutMs: 300 }); e.probeIn(id, 0); }
      const t = setInterval(() => {
        if (got.length < 200) return;
        clearInterval(t);
        const s = e.stats();
        const emfile = got.filter((o) => o.reason === 'connect_error' && o.errno === 24).length;
        const timeouts = got.filter((o) => o.reason === 'timeout').length;
        e.close();
        console.log(JSON.stringify({ emfile, timeouts, fdErrors: s.fdErrors, total: got.length }));
      }, 20);`;
    const child = spawn('sh', ['-c', `ulimit -n 64 && exec "${process.execPath}" --input-type=module -e '${src.replace(/'/g, `'\\''`)}'`], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    children.delete(child);
    assert.equal(code, 0, `child exit code (output: ${out})`);
    const r = JSON.parse(out) as { emfile: number; timeouts: number; fdErrors: number; total: number };
    assert.equal(r.total, 200);
    assert.ok(r.emfile > 100, `EMFILE outcomes ${r.emfile}`);
    assert.equal(r.fdErrors, r.emfile);
    assert.equal(r.emfile + r.timeouts, 200);
    for (const f of fillers) f.destroy();
    proc.kill('SIGKILL');
  });
});
