// The native TcpCheckEngine (src/native/tcp_check_engine.cc via src/net/tcpCheckEngine.ts)
// against real sockets on loopback (127.0.0.0/8, ::1), as root. The outcome tests run both ways a
// TCP probe can go out, half-open from a raw socket (native/syn_prober.cc, the default) and by
// connect() ({ syn: false }), and must give the same words:
// - outcomes: ok on a listener, refused on a closed port, timeout on a listener whose accept
//   queue is full (Linux drops the SYN: tcp_conn_request's sk_acceptq_is_full), connect_error
//   with errno for a bind address that is not local; a SYN dropped once is sent again after 1 s;
//   unreachable for an unreachable route and for a neighbour that never answers (a namespace);
// - quiet mode: nothing reported while the server is up, the first failure within one interval
//   (+ scheduling slack) of the listener closing, last()/stats() showing the suppressed ones;
// - remove() of an in-flight probe reports nothing; bindAddress is the SYN's source (seen by a
//   raw IPPROTO_TCP socket, since a TCP_CHECK never lets the server accept);
// - half-open on the wire: SYN, SYN-ACK, RST, nothing accepted; two probes of one address and
//   port at once (the second connect()s); 200 probes need no descriptor each;
// - 2,000 targets at 100 ms: counts add up, none lost, starts spread evenly;
// - EMFILE on the connect() path (a child with a low RLIMIT_NOFILE): connect_error with errno
//   24, counted, no crash.
// The full-backlog listeners and the segment watcher are small python3 processes (Node's
// net.Server always accepts, and Node has no raw sockets); every one is killed in after(), even
// on failure.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import net from 'node:net';
import { createTcpCheckEngine, type TcpCheckEngineDebug, type TcpCheckOutcome } from '../../src/net/tcpCheckEngine.js';
import { requireRoot, requireTools, sleep, waitFor } from '../lib/netns.js';

const children = new Set<ChildProcess>();
const servers = new Set<net.Server>();
const engines = new Set<TcpCheckEngineDebug>();

/** The two ways a TCP probe goes out: half-open from a raw socket (the default as root) and
 *  connect(); the outcome tests run in both and must give the same words. */
const MODES = [{ name: 'half-open', syn: true }, { name: 'connect', syn: false }] as const;

function engine(syn = true): { e: TcpCheckEngineDebug; got: TcpCheckOutcome[] } {
  const got: TcpCheckOutcome[] = [];
  const e = createTcpCheckEngine((b) => got.push(...b), { syn });
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

const ENGINE_MODULE = new URL('../../src/net/tcpCheckEngine.js', import.meta.url).href;

/** Runs `body` in a child node (ES module, createTcpCheckEngine in scope), optionally with
 *  RLIMIT_NOFILE `fdLimit` or inside netns `ns`; killed after 15 s. Its exit code, stdout, time. */
async function engineChild(body: string, opts: { fdLimit?: number; ns?: string } = {}): Promise<{ code: number | null; out: string; ms: number }> {
  const src = `const { createTcpCheckEngine } = await import(${JSON.stringify(ENGINE_MODULE)});\n${body}`;
  const node = [process.execPath, '--input-type=module', '-e', src];
  const argv = opts.fdLimit !== undefined
    ? ['sh', '-c', `ulimit -n ${opts.fdLimit} && exec "$0" "$@"`, ...node]
    : opts.ns !== undefined ? ['ip', 'netns', 'exec', opts.ns, ...node] : node;
  const t0 = Date.now();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(killer);
  children.delete(child);
  return { code, out, ms: Date.now() - t0 };
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

// Listens with backlog 0 and accepts nothing until told (a line on stdin), then everything:
// a server whose full accept queue drops SYNs for a while, then recovers.
const ACCEPT_LATER = `
import socket, sys, json
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(('127.0.0.1', 0)); s.listen(0)
print(json.dumps({'port': s.getsockname()[1]}))
sys.stdin.readline()
s.settimeout(0.05)
n = 0
while True:
    try:
        c, _ = s.accept(); c.close(); n += 1
    except socket.timeout:
        pass
`;

// Prints {dir, flags, src, sport, dport} for every segment to or from PORT on this host's TCP
// input ('in': towards the port, 'out': from it), flags as a string of S, A, R, F.
const WIRE_WATCH = (port: number) => `
import socket, json, struct
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
print(json.dumps({'ready': True}))
while True:
    p = r.recv(65535)
    ihl = (p[0] & 15) * 4
    sport, dport = struct.unpack('!HH', p[ihl:ihl+4])
    f = p[ihl+13]
    if ${port} not in (sport, dport):
        continue
    flags = ''.join(c for b, c in ((2, 'S'), (16, 'A'), (4, 'R'), (1, 'F')) if f & b)
    print(json.dumps({'dir': 'in' if dport == ${port} else 'out', 'flags': flags, 'src': socket.inet_ntoa(p[12:16]), 'sport': sport, 'dport': dport}))
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

  for (const mode of MODES) test(`${mode.name}: ok on a listener (IPv4 and IPv6), refused on a closed port, connect_error for a non-local bind`, async () => {
    const s4 = await listen('127.0.0.1');
    const s6 = await listen('::1');
    const closed = await closedPort();
    const { e, got } = engine(mode.syn);
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
    // Half-open: three SYNs left from the raw sockets (the non-local bind failed before sending).
    assert.deepEqual([st.synProbes, st.syn4, st.syn6], mode.syn ? [3, 'on', 'on'] : [0, 'off', 'off']);
    closeEngine(e);
  });

  for (const mode of MODES) test(`${mode.name}: timeout when the listener drops the SYN (accept queue full), at connect_timeout`, async () => {
    const { proc, lines } = await python(FULL_BACKLOG);
    const port = (lines[0] as { port: number }).port;
    // Fill the accept queue (backlog 0 holds one connection).
    const fillers = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')];
    for (const f of fillers) f.on('error', () => {});
    await sleep(200);
    const { e, got } = engine(mode.syn);
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
    assert.equal(st.synProbes, mode.syn ? 2 : 0);
    assert.equal(e.last(9), undefined);
    closeEngine(e);
    for (const f of fillers) f.destroy();
    proc.kill('SIGKILL');
  });

  for (const mode of MODES) test(`${mode.name}: quiet mode: nothing reported while the server is up, the first failure soon after it closes`, async () => {
    const s = await listen();
    const port = portOf(s);
    const { e, got } = engine(mode.syn);
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

  for (const mode of MODES) test(`${mode.name}: bindAddress is the source address the server sees (bindPort: always connect())`, async () => {
    const s = await listen();
    const port = portOf(s);
    const { proc, lines } = await python(WIRE_WATCH(port));
    const { e, got } = engine(mode.syn);
    e.add(1, { family: 4, address: '127.0.0.1', port, bindAddress: '127.0.0.2', timeoutMs: 1000 });
    e.add(2, { family: 4, address: '127.0.0.1', port, bindAddress: '127.0.0.3', bindPort: 40123, timeoutMs: 1000 });
    e.probeIn(1, 0);
    e.probeIn(2, 0);
    await waitFor(() => got.length === 2, { timeoutMs: 5000, what: '2 outcomes' });
    assert.ok(got.every((o) => o.ok), JSON.stringify(got));
    type Seg = { dir: string; flags: string; src: string; sport: number };
    const synsIn = (): Seg[] => (lines.slice(1) as Seg[]).filter((x) => x.dir === 'in' && x.flags === 'S');
    await waitFor(() => synsIn().length >= 2, { timeoutMs: 5000, what: 'SYNs seen' });
    const syns = synsIn();
    assert.deepEqual(syns.map((x) => x.src).sort(), ['127.0.0.2', '127.0.0.3']);
    assert.equal(syns.find((x) => x.src === '127.0.0.3')!.sport, 40123, 'bindPort honoured');
    assert.equal(e.stats().synProbes, mode.syn ? 1 : 0, 'a fixed source port is a socket\'s: connect()');
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
    // Spread: over the engine's wake-up windows (kWakeNs, 4 ms: what is due in one window
    // starts in one wake-up) inside the steady run, the busiest holds <= 2x the mean.
    const WAKE_MS = 4;
    const t0 = Math.ceil((times[0]! + 200) / WAKE_MS) * WAKE_MS;
    const t1 = Math.floor((times[times.length - 1]! - 200) / WAKE_MS) * WAKE_MS;
    const buckets = new Map<number, number>();
    let inWindow = 0;
    for (const t of times) {
      if (t < t0 || t >= t1) continue;
      const b = Math.floor(t / WAKE_MS);
      buckets.set(b, (buckets.get(b) ?? 0) + 1);
      inWindow++;
    }
    const mean = inWindow / ((t1 - t0) / WAKE_MS);
    const max = Math.max(...buckets.values());
    console.log(`# spread: ${inWindow} starts over ${t1 - t0} ms, mean ${mean.toFixed(1)} per ${WAKE_MS} ms, max ${max}, lateStarts ${st.lateStarts}`);
    assert.ok(max <= 2 * mean, `max burst ${max} in ${WAKE_MS} ms vs mean ${mean.toFixed(1)}`);
    closeEngine(e);
    for (const s of ss) await closeServer(s);
  });

  test('process lifetime: a pending probe keeps the process alive until reported; an idle engine does not', async () => {
    const s = await listen();
    const runChild = (body: string) => engineChild(body);
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

  test('connect(): EMFILE is connect_error with errno 24, counted, no crash', async () => {
    const { proc, lines } = await python(FULL_BACKLOG);
    const port = (lines[0] as { port: number }).port;
    const fillers = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')];
    for (const f of fillers) f.on('error', () => {});
    await sleep(200);
    // A child with 64 descriptors runs 200 probes that all hang (SYNs dropped): most cannot get a socket.
    const { code, out } = await engineChild(`
      const got = [];
      const e = createTcpCheckEngine((b) => got.push(...b), { syn: false });
      for (let id = 0; id < 200; id++) { e.add(id, { family: 4, address: '127.0.0.1', port: ${port}, timeoutMs: 300 }); e.probeIn(id, 0); }
      const t = setInterval(() => {
        if (got.length < 200) return;
        clearInterval(t);
        const s = e.stats();
        const emfile = got.filter((o) => o.reason === 'connect_error' && o.errno === 24).length;
        const timeouts = got.filter((o) => o.reason === 'timeout').length;
        e.close();
        console.log(JSON.stringify({ emfile, timeouts, fdErrors: s.fdErrors, total: got.length }));
      }, 20);`, { fdLimit: 64 });
    assert.equal(code, 0, `child exit code (output: ${out})`);
    const r = JSON.parse(out) as { emfile: number; timeouts: number; fdErrors: number; total: number };
    assert.equal(r.total, 200);
    assert.ok(r.emfile > 100, `EMFILE outcomes ${r.emfile}`);
    assert.equal(r.fdErrors, r.emfile);
    assert.equal(r.emfile + r.timeouts, 200);
    for (const f of fillers) f.destroy();
    proc.kill('SIGKILL');
  });
  test('half-open on the wire: SYN from the raw socket, SYN-ACK, the kernel\'s RST; the server accepts nothing', async () => {
    let accepted = 0;
    const s = net.createServer((c) => { accepted++; c.on('error', () => {}); c.destroy(); });
    servers.add(s);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
    const port = portOf(s);
    const { proc, lines } = await python(WIRE_WATCH(port));
    const { e, got } = engine(true);
    e.add(1, { family: 4, address: '127.0.0.1', port, timeoutMs: 1000 });
    e.probeIn(1, 0);
    await waitFor(() => got.length === 1, { timeoutMs: 5000, what: 'outcome' });
    await waitFor(() => lines.length >= 4, { timeoutMs: 5000, what: 'three segments seen' });
    const segs = lines.slice(1) as { dir: string; flags: string; sport: number; dport: number }[];
    assert.equal(got[0]!.ok, true);
    assert.deepEqual(segs.slice(0, 3).map((x) => `${x.dir} ${x.flags}`), ['in S', 'out SA', 'in R'], JSON.stringify(segs));
    assert.equal(new Set(segs.map((x) => (x.dir === 'in' ? x.sport : x.dport))).size, 1, 'one source port');
    assert.equal(e.stats().synProbes, 1);
    await sleep(200);
    assert.equal(accepted, 0, 'the handshake never completed');
    closeEngine(e);
    proc.kill('SIGKILL');
    await closeServer(s);
  });

  for (const mode of MODES) test(`${mode.name}: a dropped SYN is sent again after 1 s, within connect_timeout`, async () => {
    const { proc, lines } = await python(ACCEPT_LATER);
    const port = (lines[0] as { port: number }).port;
    const fillers = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')];
    for (const f of fillers) f.on('error', () => {});
    await sleep(200);
    const { e, got } = engine(mode.syn);
    e.add(1, { family: 4, address: '127.0.0.1', port, timeoutMs: 2500 });
    e.probeIn(1, 0);
    await sleep(500);
    proc.stdin!.write('go\n');  // the accept queue empties: the next SYN is answered
    await waitFor(() => got.length === 1, { timeoutMs: 5000, what: 'outcome' });
    assert.equal(got[0]!.ok, true, JSON.stringify(got[0]));
    assert.ok(got[0]!.latencyUs >= 900_000 && got[0]!.latencyUs < 2_000_000, `answered the retransmission: ${got[0]!.latencyUs} us`);
    assert.deepEqual([e.stats().synProbes, e.stats().synRetransmits], mode.syn ? [1, 1] : [0, 0]);
    closeEngine(e);
    for (const f of fillers) f.destroy();
    proc.kill('SIGKILL');
  });

  test('half-open: two probes of one address and port at once, the second connect()s; both ok', async () => {
    const s = await listen();
    const { e, got } = engine(true);
    e.add(1, { family: 4, address: '127.0.0.1', port: portOf(s), timeoutMs: 1000 });
    e.add(2, { family: 4, address: '127.0.0.1', port: portOf(s), timeoutMs: 2000 });
    e.probeIn(1, 0);
    e.probeIn(2, 0);
    await waitFor(() => got.length === 2, { timeoutMs: 5000, what: '2 outcomes' });
    assert.ok(got.every((o) => o.ok), JSON.stringify(got));
    const st = e.stats();
    assert.deepEqual([st.probes, st.synProbes, st.synRetransmits], [2, 1, 0]);
    closeEngine(e);
    await closeServer(s);
  });

  test('half-open: 200 probes in a process with 64 descriptors all answered (refused), none EMFILE', async () => {
    const port = await closedPort();
    // 200 distinct destinations (127.0.2.1 ..), nothing listening: each answers with a RST.
    const { code, out } = await engineChild(`
      const got = [];
      const e = createTcpCheckEngine((b) => got.push(...b));
      for (let id = 0; id < 200; id++) { e.add(id, { family: 4, address: '127.0.2.' + (id + 1), port: ${port}, timeoutMs: 2000 }); e.probeIn(id, 0); }
      const t = setInterval(() => {
        if (got.length < 200) return;
        clearInterval(t);
        const s = e.stats();
        e.close();
        console.log(JSON.stringify({ refused: got.filter((o) => o.reason === 'refused').length, fdErrors: s.fdErrors, synProbes: s.synProbes }));
      }, 20);`, { fdLimit: 64 });
    assert.equal(code, 0, `child exit code (output: ${out})`);
    assert.deepEqual(JSON.parse(out), { refused: 200, fdErrors: 0, synProbes: 200 });
  });
  test('both ways give unreachable (EHOSTUNREACH) for an unreachable route and for a neighbour that never answers (ICMP from the local stack)', { timeout: 30_000 }, async () => {
    // A namespace of our own: v0 (203.0.113.1/24) on a veth whose peer answers no ARP, and an
    // unreachable route for 198.51.100.0/24.
    const ns = `tCke${process.pid}`;
    const sh = (cmd: string): void => {
      const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
    };
    sh(`ip netns add ${ns}`);
    try {
      sh(`ip -n ${ns} link set lo up && ip -n ${ns} link add v0 type veth peer name v1 && ip -n ${ns} addr add 203.0.113.1/24 dev v0 ` +
        `&& ip -n ${ns} link set v0 up && ip -n ${ns} link set v1 up && ip -n ${ns} route add unreachable 198.51.100.0/24`);
      const { code, out } = await engineChild(`
        const out = {};
        const engines = [true, false].map((syn) => createTcpCheckEngine((b) => { for (const o of b) out[(syn ? 'syn' : 'connect') + o.id] = o.reason + ' ' + o.errno; }, { syn }));
        for (const e of engines) {
          e.add(1, { family: 4, address: '198.51.100.7', port: 80, timeoutMs: 6000 });
          e.add(2, { family: 4, address: '203.0.113.9', port: 80, timeoutMs: 6000 });
          e.probeIn(1, 0); e.probeIn(2, 0);
        }
        const t = setInterval(() => {
          if (Object.keys(out).length < 4) return;
          clearInterval(t);
          const synProbes = engines[0].stats().synProbes;
          for (const e of engines) e.close();
          console.log(JSON.stringify({ out, synProbes }));
        }, 20);`, { ns });
      assert.equal(code, 0, `child exit code (output: ${out})`);
      const r = JSON.parse(out) as { out: Record<string, string>; synProbes: number };
      assert.deepEqual(r.out, { syn1: 'unreachable 113', syn2: 'unreachable 113', connect1: 'unreachable 113', connect2: 'unreachable 113' });
      assert.equal(r.synProbes, 1, 'the route lookup refused the first before any SYN; the second went half-open');
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  });
  test('half-open: close() gives back every descriptor, the raw sockets and the held source port included', async () => {
    const port = await closedPort();
    const { code, out } = await engineChild(`
      const { readdirSync } = await import('node:fs');
      const fds = () => readdirSync('/proc/self/fd').length;
      const before = fds();
      const got = [];
      const e = createTcpCheckEngine((b) => got.push(...b));
      e.add(1, { family: 4, address: '127.0.0.1', port: ${port}, timeoutMs: 1000 });
      e.add(2, { family: 6, address: '::1', port: ${port}, timeoutMs: 1000 });
      e.probeIn(1, 0); e.probeIn(2, 0);
      const t = setInterval(() => {
        if (got.length < 2) return;
        clearInterval(t);
        const open = fds();
        const s = e.stats();
        e.close();
        console.log(JSON.stringify({ reasons: got.map((o) => o.reason).sort(), synProbes: s.synProbes, opened: open - before, left: fds() - before }));
      }, 20);`);
    assert.equal(code, 0, `child exit code (output: ${out})`);
    const r = JSON.parse(out) as { reasons: string[]; synProbes: number; opened: number; left: number };
    assert.deepEqual([r.reasons, r.synProbes], [['refused', 'refused'], 2]);
    assert.ok(r.opened >= 9, `the engine's descriptors while open: ${r.opened}`);
    assert.equal(r.left, 0, 'descriptors left after close()');
  });
});
