// Real traffic through a running tandem daemon with the nftables backend (issue 6 §2): this kernel
// has no IPVS, so `global.backend: nft` renders the table into `table ip tandem` /
// `table ip6 tandem` and the director DNATs new connections to the real servers.
//
// Lab (one bridge, documentation addresses only):
//   client  192.0.2.10/24 (+ 192.0.2.20-35 as separate client sources), 2001:db8:1::10/64
//   dir     192.0.2.1/24, VIP 192.0.2.100/24, 198.51.100.1/24, 2001:db8:1::1/64, VIP 2001:db8:1::100/64,
//           2001:db8:2::1/64; ip_forward=1; tandem runs here
//   rs1-3   198.51.100.11-13/24, 2001:db8:2::11-13/64, default routes via the director (so replies
//           pass back through it and are un-DNATed: NAT forwarding, no masquerade needed); each runs
//           a small HTTP server on :8080 that answers with its own name.
// The client has no route to the real servers: anything it gets back came through the director.
// Every request is a new TCP connection (test/integration/nft-traffic-client.ts).
//
// Tests: wrr shares by weight; rr, a real server stopped (it leaves the table; no request started
// after that fails) and started again; sh and persistence_timeout stickiness per client address;
// an IPv6 VIP through `table ip6 tandem`; `nft_masquerade` (real servers with no route back).
// A foreign ruleset (`table ip other`, `table inet filter`) is installed before any tandem runs;
// the last test checks it is byte-for-byte the same (`nft -j list table ...`, handles included)
// after every daemon of this file came and went, and while a daemon applies, carries traffic,
// reloads with services removed, loses every real server and stops.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { serviceTag } from '../../src/lb/nft/render.js';
import { Lab, requireLabTools, sleep, waitFor, type LabNode, type NsProcess } from '../lib/netns.js';
import { Tandem } from '../lib/tandem.js';

const TIMEOUT = { timeout: 180_000 };
const CLIENT = fileURLToPath(new URL('./nft-traffic-client.js', import.meta.url));

const VIP4 = '192.0.2.100';
const VIP6 = '2001:db8:1::100';
const RS = [
  { name: 'rs1', v4: '198.51.100.11', v6: '2001:db8:2::11' },
  { name: 'rs2', v4: '198.51.100.12', v6: '2001:db8:2::12' },
  { name: 'rs3', v4: '198.51.100.13', v6: '2001:db8:2::13' },
] as const;
type RsName = (typeof RS)[number]['name'];
const RS_PORT = 8080;
/** Client source addresses for the sh and persistence tests: 16 "clients". */
const SOURCES = Array.from({ length: 16 }, (_, i) => `192.0.2.${20 + i}`);

/** Someone else's ruleset on the director: tandem must never touch it. No counters, sets that
 *  never change and no dynamic sets, so its listing is constant unless someone edits it. */
const FOREIGN_RULESET = `
table ip other {
  set blocked { type ipv4_addr; elements = { 203.0.113.7, 203.0.113.8 } }
  chain pre { type nat hook prerouting priority dstnat - 10; policy accept; tcp dport 9999 dnat to 203.0.113.1:9999; }
  chain post { type nat hook postrouting priority srcnat; policy accept; ip saddr 203.0.113.0/24 masquerade; }
  chain guard { type filter hook forward priority filter; policy accept; ip saddr @blocked drop; }
}
table inet filter {
  chain input { type filter hook input priority filter; policy accept; tcp dport 9998 drop; }
  chain forward { type filter hook forward priority filter; policy accept; ip6 saddr 2001:db8:ffff::/48 drop; }
}
`;
const FOREIGN_TABLES = [['ip', 'other'], ['inet', 'filter']] as const;

// ---------------------------------------------------------------------------------------------
// The lab, built once for the file (lazily, so a missing tool or root fails every test loudly).

interface Env {
  lab: Lab;
  client: LabNode;
  dir: LabNode;
  rs: Record<RsName, LabNode>;
  servers: Map<RsName, NsProcess>;
  /** `nft -j list table` of each foreign table before any tandem ran. */
  foreignBaseline: string[];
}

let envPromise: Promise<Env> | undefined;
function env(): Promise<Env> {
  envPromise ??= setup();
  return envPromise;
}

after(async () => {
  const e = await envPromise?.catch(() => undefined);
  await e?.lab.destroy();
});

async function setup(): Promise<Env> {
  requireLabTools('nft');
  if (!existsSync(CLIENT)) throw new Error(`${CLIENT} is missing: run npx tsc -p .`);
  const lab = await Lab.create({
    prefix: 'tC',
    nodes: [
      { name: 'client', ipv4: ['192.0.2.10/24', ...SOURCES.map((s) => `${s}/24`)], ipv6: ['2001:db8:1::10/64'] },
      { name: 'dir', ipv4: ['192.0.2.1/24', `${VIP4}/24`, '198.51.100.1/24'], ipv6: ['2001:db8:1::1/64', `${VIP6}/64`, '2001:db8:2::1/64'] },
      ...RS.map((r) => ({ name: r.name, ipv4: [`${r.v4}/24`], ipv6: [`${r.v6}/64`] })),
    ],
  });
  try {
    const dir = lab.node('dir');
    // Replies from the real servers leave the director by the interface they came in on: no ICMP
    // redirects (a real server that took one would answer the client directly, bypassing un-DNAT).
    await lab.exec(dir, ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1',
      'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0']);
    const rs = {} as Record<RsName, LabNode>;
    for (const r of RS) {
      const n = lab.node(r.name);
      rs[r.name] = n;
      await lab.exec(n, ['sysctl', '-qw', 'net.ipv4.conf.all.accept_redirects=0', 'net.ipv4.conf.eth0.accept_redirects=0',
        'net.ipv6.conf.all.accept_redirects=0', 'net.ipv6.conf.eth0.accept_redirects=0']);
      await lab.exec(n, ['ip', 'route', 'add', 'default', 'via', '198.51.100.1']);
      await lab.exec(n, ['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:2::1']);
    }
    const rulesetFile = lab.path('foreign.nft');
    writeFileSync(rulesetFile, FOREIGN_RULESET);
    await lab.exec(dir, ['nft', '-f', rulesetFile]);
    const foreignBaseline = await foreignListings(lab, dir);
    const e: Env = { lab, client: lab.node('client'), dir, rs, servers: new Map(), foreignBaseline };
    for (const r of RS) await startServer(e, r.name);
    return e;
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}

async function foreignListings(lab: Lab, dir: LabNode): Promise<string[]> {
  const out: string[] = [];
  for (const [family, name] of FOREIGN_TABLES) out.push((await lab.exec(dir, ['nft', '-j', 'list', 'table', family, name])).stdout);
  return out;
}

/** The real server's HTTP server on [::]:8080 (dual stack), answering its own name and the client
 *  address it sees (IPv4 without the ::ffff: prefix). */
async function startServer(e: Env, name: RsName): Promise<void> {
  const script = `const s = require('http').createServer((q, r) => { r.setHeader('Connection', 'close'); ` +
    `r.end(${JSON.stringify(name)} + ' ' + String(q.socket.remoteAddress).replace(/^::ffff:/, '') + '\\n'); });` +
    `s.on('clientError', (err, sock) => sock.destroy()); s.listen(${RS_PORT}, '::', () => console.log('listening'));`;
  const p = e.lab.spawn(e.rs[name], [process.execPath, '-e', script]);
  await p.waitForLine(/^listening$/, 10_000);
  e.servers.set(name, p);
}

async function stopServer(e: Env, name: RsName): Promise<void> {
  await e.servers.get(name)?.kill9();
  e.servers.delete(name);
}

// ---------------------------------------------------------------------------------------------
// Traffic.

interface Req { i: number; src: string | null; t0: number; t1: number; ok: boolean; server?: string; peer?: string; err?: string }

interface LoadArgs {
  host: string; port: number; count: number; concurrency?: number; sources?: string[];
  timeoutMs?: number; stopFile?: string; maxMs?: number; gapMs?: number;
}

function parseResults(lines: readonly string[]): Req[] {
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Req);
}

/** A bounded batch of requests from the client namespace; resolves with every result. */
async function load(e: Env, a: LoadArgs): Promise<Req[]> {
  const r = await e.lab.exec(e.client, [process.execPath, CLIENT, JSON.stringify({ concurrency: 4, timeoutMs: 3000, maxMs: 90_000, ...a })],
    { timeoutMs: 120_000 });
  assert.match(r.stdout, /^DONE \d+$/m, `client did not finish: ${r.stderr}`);
  const results = parseResults(r.stdout.split('\n'));
  assert.equal(results.length, a.count, `client ran ${results.length} of ${a.count} requests (time bound hit?)`);
  return results;
}

function countBy(results: readonly Req[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of results) {
    const k = r.ok ? r.server! : `FAILED:${r.err}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

function failures(results: readonly Req[]): Req[] {
  return results.filter((r) => !r.ok);
}

/**
 * Asserts each server's count is within K standard deviations of N*p (p = its weight share).
 * The count of one server is Binomial(N, p) when each new connection picks a server at random
 * with probability p (nft `numgen random`), sd = sqrt(N p (1-p)); a deterministic pick (`numgen
 * inc`) is exact and passes trivially. K = 6: P(|Z| > 6) = 2.0e-9 per server (normal
 * approximation; N p >= 50 here so it is good): one call (3 servers) fails a correct random
 * scheduler with probability < 6e-9, the file's 9 calls < 6e-8 per run; yet a wrong scheduler (rr instead of wrr 1/2/3, or a server never
 * picked) is off by far more than 6 sd at these N (e.g. wrr 1/2/3, N = 1200: the weight-1 server
 * expects 200 +- 77, rr would give it 400).
 */
function assertShares(results: readonly Req[], weights: Partial<Record<RsName, number>>, what: string): void {
  const K = 6;
  const n = results.length;
  const counts = countBy(results);
  const total = Object.values(weights).reduce((s, w) => s + (w ?? 0), 0);
  const shown = JSON.stringify(Object.fromEntries(counts));
  // The measurement, in the run's output (evidence for reports; the assertions below judge it).
  console.log(`  ${what}: ${n} requests -> ${shown}`);
  assert.deepEqual(failures(results).slice(0, 5), [], `${what}: failed requests ${shown}`);
  for (const name of counts.keys()) assert.ok(name in weights, `${what}: server ${name} answered but is not in ${JSON.stringify(weights)}: ${shown}`);
  for (const [name, w] of Object.entries(weights)) {
    const p = w! / total;
    const expected = n * p;
    const tol = K * Math.sqrt(n * p * (1 - p));
    const got = counts.get(name) ?? 0;
    assert.ok(Math.abs(got - expected) <= tol,
      `${what}: ${name} answered ${got} of ${n}, expected ${expected.toFixed(1)} +- ${tol.toFixed(1)} (${K} sd, weight ${w}/${total}): ${shown}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The daemon and the kernel's table.

async function tandemTable(e: Env, family: 'ip' | 'ip6' = 'ip'): Promise<string> {
  const r = await e.lab.exec(e.dir, ['nft', 'list', 'table', family, 'tandem'], { allowFail: true });
  return r.code === 0 ? r.stdout : '';
}

/** Whether the address appears in the listing as a whole address (198.51.100.1 is not in .11,
 *  2001:db8:2::1 not in ::11); `198.51.100.11:8080` and `198.51.100.11 . 8080` both count. */
function mentions(listing: string, address: string): boolean {
  const after = address.includes(':') ? '(?![0-9a-f]|:[0-9a-f])' : '(?![0-9]|\\.[0-9])';
  return new RegExp(`(^|[^0-9a-f:.])${address.replace(/[.]/g, '\\.')}${after}`, 'm').test(listing);
}

interface LbStatus { backend: { kind: string; passes: number; last_error: string | null }; virtual_servers: Array<{ key: string; real_servers: Record<string, string> }> }

function lbStatus(t: Tandem): LbStatus | null {
  return ((t.readState() as unknown as { lb?: LbStatus | null } | null)?.lb) ?? null;
}

async function startTandem(e: Env, virtualServers: unknown[], top: Record<string, unknown> = {}): Promise<Tandem> {
  return Tandem.start(e.lab, e.dir, {
    routerId: 'dir', instances: [],
    tandemTop: { global: { backend: 'nft' }, ...top, virtual_servers: virtualServers },
  });
}

/** Waits until the daemon's table holds exactly `present` (and none of `absent`) in `family`. */
async function waitForTable(e: Env, t: Tandem, family: 'ip' | 'ip6', present: string[], absent: string[], timeoutMs = 20_000): Promise<string> {
  try {
    return await waitFor(async () => {
      if (!t.running) throw new Error(`tandem exited (${t.proc.exitCode ?? t.proc.exitSignal})`);
      const l = await tandemTable(e, family);
      return present.every((a) => mentions(l, a)) && absent.every((a) => !mentions(l, a)) ? l : '';
    }, { timeoutMs, intervalMs: 50, what: `table ${family} tandem with [${present.join(', ')}] and without [${absent.join(', ')}]` });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- nft list table ${family} tandem ---\n${await tandemTable(e, family)}\n` +
      `--- lb status ---\n${JSON.stringify(lbStatus(t))}\n--- tandem log ---\n${t.tail(40)}`);
  }
}

/** Runs fn with a daemon; always stops it and removes tandem's tables (left in place at stop, like
 *  IPVS entries), so the next test starts from an empty tandem table. */
async function withTandem(e: Env, virtualServers: unknown[], fn: (t: Tandem) => Promise<void>, top: Record<string, unknown> = {}): Promise<void> {
  // Every real server serving, whatever an earlier (failed) test left stopped.
  for (const r of RS) if (!e.servers.get(r.name)?.running) await startServer(e, r.name);
  const t = await startTandem(e, virtualServers, top);
  try {
    await fn(t);
  } catch (err) {
    (err as Error).message += `\n--- nft list table ip tandem ---\n${await tandemTable(e)}\n--- tandem log ---\n${t.tail(40)}`;
    throw err;
  } finally {
    if (t.running) await t.stop().catch(async () => { await t.kill9(); });
    for (const family of ['ip', 'ip6']) await e.lab.exec(e.dir, ['nft', 'delete', 'table', family, 'tandem'], { allowFail: true });
  }
}

const tcpCheck = { tcp_check: { connect_timeout: 1, retry: 0, delay_before_retry: 1 } };
function vs(port: number, algo: string, rs: Array<{ name: RsName; weight?: number }>, extra: Record<string, unknown> = {}, vip = VIP4) {
  return {
    address: vip, port, protocol: 'TCP', lb_algo: algo, lb_kind: 'NAT', delay_loop: 1, ...extra,
    real_servers: rs.map((r) => {
      const def = RS.find((x) => x.name === r.name)!;
      return { address: vip.includes(':') ? def.v6 : def.v4, port: RS_PORT, weight: r.weight ?? 1, checks: [tcpCheck] };
    }),
  };
}
const ALL: Array<{ name: RsName }> = RS.map((r) => ({ name: r.name }));
const V4 = RS.map((r) => r.v4);

// ---------------------------------------------------------------------------------------------
// The tests (run in order, one daemon each, sharing the lab).

test('wrr 1/2/3: 1200 new connections split by weight (each server within 6 sd of weight/sum)', TIMEOUT, async () => {
  const e = await env();
  await withTandem(e, [vs(80, 'wrr', [{ name: 'rs1', weight: 1 }, { name: 'rs2', weight: 2 }, { name: 'rs3', weight: 3 }])], async (t) => {
    await waitForTable(e, t, 'ip', V4, []);
    const results = await load(e, { host: VIP4, port: 80, count: 1200 });
    assertShares(results, { rs1: 1, rs2: 2, rs3: 3 }, 'wrr 1/2/3');
    // NAT forwarding rewrites the destination only: the real servers see the client's address.
    assert.deepEqual([...new Set(results.map((r) => r.peer))], ['192.0.2.10']);
  });
});

test('rr spreads evenly; a stopped real server leaves the table after its check fails and no request started after that fails; it comes back when restarted', TIMEOUT, async () => {
  const e = await env();
  await withTandem(e, [vs(80, 'rr', ALL)], async (t) => {
    await waitForTable(e, t, 'ip', V4, []);
    assertShares(await load(e, { host: VIP4, port: 80, count: 600 }), { rs1: 1, rs2: 1, rs3: 1 }, 'rr before');

    // Background load across the change: one request at a time every ~10 ms, until told to stop.
    const stopFile = e.lab.path('stop-background');
    const bg = e.lab.spawn(e.client, [process.execPath, CLIENT, JSON.stringify({
      host: VIP4, port: 80, count: 20_000, concurrency: 2, timeoutMs: 3000, maxMs: 60_000, gapMs: 10, stopFile,
    })]);
    try {
      await sleep(500);
      const killedAt = Date.now();
      await stopServer(e, 'rs3');
      // tcp_check with retry 0: one failed connect (refused at once) marks it down; delay_loop 1 s.
      await waitForTable(e, t, 'ip', [RS[0].v4, RS[1].v4], [RS[2].v4], 15_000);
      const goneAt = Date.now();
      // The status agrees (the state file is rewritten on the same verdict; allow it a moment).
      await waitFor(() => lbStatus(t)?.virtual_servers[0]?.real_servers[`${RS[2].v4}:${RS_PORT}`] === 'down',
        { timeoutMs: 3000, what: 'rs3 down in the status' }).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(lbStatus(t))}`));
      // Keep the background load running a while after the change, then stop it.
      await sleep(1500);
      writeFileSync(stopFile, '');
      await bg.waitForLine(/^DONE \d+$/, 10_000);
      const bgResults = parseResults(bg.lines);
      const after = bgResults.filter((r) => r.t0 > goneAt);
      const between = bgResults.filter((r) => r.t0 >= killedAt && r.t0 <= goneAt);
      console.log(`  rs3 killed -> gone from the table in ${goneAt - killedAt} ms; background: ${between.length} requests in between ` +
        `(${failures(between).length} failed), ${after.length} after (${failures(after).length} failed)`);
      assert.ok(after.length >= 20, `only ${after.length} background requests started after rs3 left the table`);
      assert.deepEqual(failures(after), [], `requests started after rs3 left the table (at ${goneAt}, killed at ${killedAt}) failed`);
      assert.ok(after.every((r) => r.server !== 'rs3'), 'rs3 answered after it left the table');
      const beforeKill = bgResults.filter((r) => r.t1 < killedAt);
      assert.deepEqual(failures(beforeKill), [], 'background requests failed before rs3 was stopped');
      // And a fresh batch: only rs1 and rs2, evenly.
      assertShares(await load(e, { host: VIP4, port: 80, count: 400 }), { rs1: 1, rs2: 1 }, 'rr with rs3 down');
    } finally {
      writeFileSync(stopFile, '');
      await bg.stop(5000);
    }

    await startServer(e, 'rs3');
    await waitForTable(e, t, 'ip', V4, [], 15_000);
    assertShares(await load(e, { host: VIP4, port: 80, count: 600 }), { rs1: 1, rs2: 1, rs3: 1 }, 'rr after rs3 came back');
  });
});

test('sh: each of 16 client addresses always lands on the same real server over 10 connections', TIMEOUT, async () => {
  const e = await env();
  await withTandem(e, [vs(80, 'sh', ALL)], async (t) => {
    await waitForTable(e, t, 'ip', V4, []);
    const results = await load(e, { host: VIP4, port: 80, count: SOURCES.length * 10, sources: SOURCES });
    assert.deepEqual(failures(results), []);
    const bySource = new Map<string, Set<string>>();
    for (const r of results) {
      const s = bySource.get(r.src!) ?? new Set<string>();
      s.add(r.server!);
      bySource.set(r.src!, s);
    }
    const shown = JSON.stringify(Object.fromEntries([...bySource].map(([k, v]) => [k, [...v]])));
    assert.equal(bySource.size, SOURCES.length, shown);
    for (const [src, servers] of bySource) assert.equal(servers.size, 1, `client ${src} reached ${[...servers].join(', ')}: ${shown}`);
    // A hash of 16 addresses onto 3 servers: all on one server has probability 3 * 3^-16 = 7e-8
    // for a fair hash; it would mean the hash is not used at all.
    const used = new Set([...bySource.values()].flatMap((s) => [...s]));
    assert.ok(used.size >= 2, `every client went to ${[...used].join(', ')}: ${shown}`);
  });
});

test('persistence_timeout: each client stays on its first real server (rr underneath)', TIMEOUT, async () => {
  const e = await env();
  await withTandem(e, [vs(80, 'rr', ALL, { persistence_timeout: 60 })], async (t) => {
    const listing = await waitForTable(e, t, 'ip', V4, []);
    // Interleaved: client i's requests are 16 apart, so plain rr would move every client around.
    const results = await load(e, { host: VIP4, port: 80, count: SOURCES.length * 12, sources: SOURCES, concurrency: 1 });
    assert.deepEqual(failures(results), []);
    const bySource = new Map<string, Set<string>>();
    for (const r of results) bySource.set(r.src!, (bySource.get(r.src!) ?? new Set<string>()).add(r.server!));
    const shown = JSON.stringify(Object.fromEntries([...bySource].map(([k, v]) => [k, [...v]])));
    for (const [src, servers] of bySource) assert.equal(servers.size, 1, `client ${src} reached ${[...servers].join(', ')}: ${shown}`);
    // rr hands the 16 first connections out in turn (or at random): more than one server is used.
    assert.ok(new Set([...bySource.values()].flatMap((s) => [...s])).size >= 2, shown);
    // The affinity lives in the kernel (a dynamic map keyed by client address), not in luck.
    const now = await tandemTable(e);
    const missing = SOURCES.filter((s) => !mentions(now, s));
    assert.deepEqual(missing, [], `client addresses missing from table ip tandem (no persistence entries?)\n${now}`);
    assert.ok(!SOURCES.some((s) => mentions(listing, s)), 'persistence entries before any traffic');
  });
});

test('IPv6 VIP: DNAT through table ip6 tandem, rr over three IPv6 real servers', TIMEOUT, async () => {
  const e = await env();
  await withTandem(e, [vs(80, 'rr', ALL, {}, VIP6)], async (t) => {
    await waitForTable(e, t, 'ip6', RS.map((r) => r.v6), []);
    assertShares(await load(e, { host: VIP6, port: 80, count: 600 }), { rs1: 1, rs2: 1, rs3: 1 }, 'rr over IPv6');
  });
});

test('nft_masquerade: real servers without a route back still answer, and see the director as the client', TIMEOUT, async () => {
  const e = await env();
  // No way back to the client except through SNAT: each real server loses its default route.
  for (const r of RS) await e.lab.exec(e.rs[r.name], ['ip', 'route', 'del', 'default']);
  try {
    await withTandem(e, [vs(80, 'rr', ALL, { nft_masquerade: true })], async (t) => {
      await waitForTable(e, t, 'ip', V4, []);
      const results = await load(e, { host: VIP4, port: 80, count: 300 });
      assertShares(results, { rs1: 1, rs2: 1, rs3: 1 }, 'rr with nft_masquerade');
      assert.deepEqual([...new Set(results.map((r) => r.peer))], ['198.51.100.1'], 'the real servers saw another source than the director\'s address');
    });
  } finally {
    for (const r of RS) await e.lab.exec(e.rs[r.name], ['ip', 'route', 'replace', 'default', 'via', '198.51.100.1']);
  }
});

test('virtual_server_groups: one entry is every member service in the table, traffic to each reaches the real servers, one probe per real server for the whole group, a dead one leaves every member', TIMEOUT, async () => {
  const e = await env();
  const VIP4B = '192.0.2.101';
  await e.lab.exec(e.dir, ['ip', 'addr', 'add', `${VIP4B}/24`, 'dev', 'eth0']);
  try {
    const groups = [{ name: 'WEB', members: ['192.0.2.100-101 80', { address: VIP4, port: 81 }] }];
    const { address: _a, port: _p, ...block } = vs(80, 'rr', ALL);
    await withTandem(e, [{ group: 'WEB', ...block }], async (t) => {
      await waitForTable(e, t, 'ip', V4, []);
      const members = ['TCP 192.0.2.100:80', 'TCP 192.0.2.100:81', 'TCP 192.0.2.101:80'];
      const st = await waitFor(() => {
        const lb = lbStatus(t) as unknown as { virtual_servers: Array<{ key: string; group?: string }>; check_merge?: { distinct_checks: number; real_servers: number } } | null;
        return lb && lb.virtual_servers.length === 3 ? lb : null;
      }, { timeoutMs: 10_000, what: 'three services in the status' });
      assert.deepEqual(st.virtual_servers.map((v) => [v.key, v.group]).sort(), members.map((k) => [k, 'WEB']));
      // 3 services x 3 real servers, but the same 3 checks: one probe loop per real server.
      assert.deepEqual([st.check_merge?.distinct_checks, st.check_merge?.real_servers], [3, 9]);
      for (const [host, port] of [[VIP4, 80], [VIP4, 81], [VIP4B, 80]] as const) {
        assertShares(await load(e, { host, port, count: 300 }), { rs1: 1, rs2: 1, rs3: 1 }, `group member ${host}:${port}`);
      }
      await stopServer(e, 'rs3');
      const listing = await waitForTable(e, t, 'ip', [RS[0].v4, RS[1].v4], [RS[2].v4], 15_000);
      assert.ok(!mentions(listing, RS[2].v4), 'rs3 is out of every member service');
      for (const [host, port] of [[VIP4, 80], [VIP4, 81], [VIP4B, 80]] as const) {
        assertShares(await load(e, { host, port, count: 200 }), { rs1: 1, rs2: 1 }, `group member ${host}:${port} without rs3`);
      }
    }, { virtual_server_groups: groups });
  } finally {
    await e.lab.exec(e.dir, ['ip', 'addr', 'del', `${VIP4B}/24`, 'dev', 'eth0'], { allowFail: true });
  }
});

test('a foreign ruleset (table ip other, table inet filter) stays identical before, during and after tandem', TIMEOUT, async () => {
  const e = await env();
  const same = async (when: string): Promise<void> => {
    const now = await foreignListings(e.lab, e.dir);
    FOREIGN_TABLES.forEach(([family, name], i) => {
      assert.equal(now[i], e.foreignBaseline[i], `nft -j list table ${family} ${name} changed ${when}`);
    });
  };
  // The earlier tests' daemons (each started, applied, stopped) ran with this ruleset in place.
  await same('by the earlier tests of this file');
  await withTandem(e, [vs(80, 'rr', ALL), vs(81, 'wrr', ALL), vs(80, 'rr', ALL, {}, VIP6)], async (t) => {
    await waitForTable(e, t, 'ip', V4, []);
    await waitForTable(e, t, 'ip6', RS.map((r) => r.v6), []);
    await same('while tandem applied its table');
    assertShares(await load(e, { host: VIP4, port: 81, count: 300 }), { rs1: 1, rs2: 1, rs3: 1 }, 'wrr 1/1/1 with a foreign ruleset');
    await same('while traffic went through tandem');
    // Reload with two services fewer (SIGHUP): tandem deletes what it owns and no longer wants,
    // here the whole IPv6 side and the :81 service; the foreign tables stay as they were.
    const doc = parseYaml(readFileSync(t.configPath, 'utf8')) as { virtual_servers: Array<{ port: number; address: string }> };
    doc.virtual_servers = doc.virtual_servers.filter((v) => v.port === 80 && v.address === VIP4);
    writeFileSync(t.configPath, stringifyYaml(doc));
    t.proc.signal('SIGHUP');
    const gone81 = `rs_${serviceTag({ kind: 'inet', family: 4, protocol: 'TCP', address: VIP4, port: 81 })}`;
    await waitFor(async () => !(await tandemTable(e)).includes(gone81) && !mentions(await tandemTable(e, 'ip6'), RS[0].v6),
      { timeoutMs: 15_000, what: `the reload to remove ${gone81} and the IPv6 service` })
      .catch(async (err: Error) => { throw new Error(`${err.message}\n${await tandemTable(e)}\n${await tandemTable(e, 'ip6')}\n${t.tail(30)}`); });
    assert.ok((await tandemTable(e)).includes(`rs_${serviceTag({ kind: 'inet', family: 4, protocol: 'TCP', address: VIP4, port: 80 })}`),
      'the reload removed the service it kept');
    await same('after a reload removed two services');
    assertShares(await load(e, { host: VIP4, port: 80, count: 150 }), { rs1: 1, rs2: 1, rs3: 1 }, 'rr after the reload');
    // Every real server down: tandem removes them all from its table.
    for (const r of RS) await stopServer(e, r.name);
    await waitForTable(e, t, 'ip', [], V4, 15_000);
    await same('after tandem removed every real server');
    for (const r of RS) await startServer(e, r.name);
    await waitForTable(e, t, 'ip', V4, [], 15_000);
    assert.equal(await t.stop(), 0);
    await same('after tandem stopped');
  });
  await same('after tandem\'s tables were deleted');
  // The ruleset really is there (the comparison is not between two empty listings).
  assert.match(e.foreignBaseline[0]!, /"dnat"/);
  assert.match(e.foreignBaseline[1]!, /"drop"/);
});
