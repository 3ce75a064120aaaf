// The native transport and network adapters against a real kernel (root): two namespaces joined
// by a veth pair. The addon's sockets must be created inside a namespace, so each namespace runs
// a small agent (`ip netns exec NS node -e ...`) that imports the compiled adapters and obeys
// JSON-line commands on stdin, reporting results and events on stdout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { NsAgent, type AgentError } from '../lib/nsAgent.js';

const PID = process.pid;
const NS_A = `tAa${PID}`;
const NS_B = `tAb${PID}`;
const IF = 'eth0';
const A4 = '192.0.2.1';
const B4 = '192.0.2.2';
const A6 = '2001:db8::1';
const B6 = '2001:db8::2';
const VIP4 = '192.0.2.100';
const VIP6 = '2001:db8::100';
const DUMMY_MAC = '02:00:00:00:00:99';

// A VRRPv3 advert (RFC 5798 §5.1): version 3 type 1, VRID 51, priority 100, 1 address, advert
// interval 100 cs, a checksum field the kernel must leave alone, then 192.0.2.100.
const ADVERT_V4 = '31336401' + '0064' + 'beef' + 'c0000264';
const ADVERT_V6 = '31346401' + '0064' + '1234' + '20010db8000000000000000000000100';

// ---- the agent ------------------------------------------------------------------------------

const moduleUrl = (rel: string) => new URL(`../../src/net/${rel}`, import.meta.url).href;
const AGENT_SOURCE = `
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
const vs = await import(${JSON.stringify(moduleUrl('vrrpSocket.js'))});
const an = await import(${JSON.stringify(moduleUrl('announcer.js'))});
const ad = await import(${JSON.stringify(moduleUrl('addresses.js'))});
const nw = await import(${JSON.stringify(moduleUrl('netlinkWatch.js'))});
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const objs = new Map();
const errOut = (id) => (e) => out({ event: 'error', id, message: e.message, code: e.code });
const stats = (xs) => { const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p95: s[Math.floor(s.length * 0.95)], max: s[s.length - 1] }; };
const ops = {
  openVrrp: ({ id, family, ifname, hopLimit }) => { objs.set(id, vs.openVrrpSocket({ family, ifname, hopLimit,
    onPacket: (p) => out({ event: 'packet', id, family: p.family, payload: Buffer.from(p.payload).toString('hex'),
      src: p.src, dst: p.dst, ttl: p.ttl, ifindex: p.ifindex }),
    onError: errOut(id) })); },
  join: ({ id }) => objs.get(id).joinMulticast(),
  leave: ({ id }) => objs.get(id).leaveMulticast(),
  send: ({ id, payload, dst, src }) => objs.get(id).send(Buffer.from(payload, 'hex'), dst, src),
  close: ({ id }) => objs.get(id).close(),
  openAnnouncer: ({ id, ifname }) => { objs.set(id, an.openAnnouncer(ifname)); },
  garp: ({ id, ip }) => objs.get(id).garp(ip),
  na: ({ id, ip }) => objs.get(id).unsolicitedNa(ip),
  watch: ({ id }) => { objs.set(id, nw.watchNetlink((e) => out({ event: 'net', id, e }), errOut(id))); },
  addAddress: ({ ifname, address, prefixLen, label }) => ad.addAddress(ifname, address, prefixLen, { label }),
  deleteAddress: ({ ifname, address, prefixLen }) => ad.deleteAddress(ifname, address, prefixLen),
  listAddresses: ({ ifname }) => ad.listAddresses(ifname),
  linkInfo: ({ ifname }) => ad.linkInfo(ifname) ?? null,
  bench: ({ ifname, n }) => {
    const r = {};
    for (const [fam, addr, plen] of [[4, '198.51.100.200', 24], [6, '2001:db8:1::200', 64]]) {
      const add = [], del = [];
      const here = () => ad.listAddresses(ifname).some((x) => x.address === addr && x.prefixLen === plen);
      let seen = 0, gone = 0;
      for (let i = 0; i < n; i++) {
        let t = performance.now(); ad.addAddress(ifname, addr, plen); add.push(performance.now() - t);
        if (here()) seen++;
        t = performance.now(); ad.deleteAddress(ifname, addr, plen); del.push(performance.now() - t);
        if (!here()) gone++;
      }
      r['v' + fam] = { add: stats(add), del: stats(del), seen, gone };
    }
    return r;
  },
};
createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line);
  try { out({ seq: req.seq, ok: true, result: ops[req.op](req) ?? null }); }
  catch (e) { out({ seq: req.seq, ok: false, error: { message: e.message, code: e.code } }); }
});
process.stdin.on('end', () => process.exit(0));
out({ event: 'ready' });
`;

type AgentEvent = { event: string; id?: string; [k: string]: unknown };
class Agent extends NsAgent<AgentEvent> {
  constructor(ns: string) { super(ns, ['--input-type=module', '-e', AGENT_SOURCE]); }

  async ready(): Promise<void> { await this.waitEvent((e) => e.event === 'ready', 10_000, 'agent ready'); }

  /** Asserts that no event matching `pred` arrives within `ms`. */
  async expectNoEvent(pred: (e: AgentEvent) => boolean, ms: number, what: string): Promise<void> {
    await sleep(ms);
    const hit = this.events.find(pred);
    assert.equal(hit, undefined, `unexpected ${what}: ${JSON.stringify(hit)}`);
  }
}

// ---- helpers --------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }

function sh(args: string[], check = true): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (check && r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
const inNs = (ns: string, ...args: string[]) => sh(['ip', 'netns', 'exec', ns, ...args]);

async function until<T>(fn: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000; i++) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) break;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function neighbourMac(ns: string, ip: string): string | undefined {
  const line = sh(['ip', '-n', ns, 'neigh', 'show', ip, 'dev', IF]);
  return /lladdr ([0-9a-f:]{17})/.exec(line)?.[1];
}

/** Starts tcpdump in `ns` for `filter`, resolving once it listens; `done` resolves with its output. */
async function capture(ns: string, filter: string): Promise<{ done: Promise<string>; stop(): void }> {
  const p = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', IF, '-nn', '-e', '-l', '-c', '1', filter],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const done = new Promise<string>((resolve) => p.on('exit', () => resolve(stdout)));
  const kill = setTimeout(() => p.kill(), 10_000);
  p.on('exit', () => clearTimeout(kill));
  await until(() => stderr.includes('listening on'), 5000, 'tcpdump to listen')
    .catch((e) => { p.kill(); throw e; });
  return { done, stop: () => p.kill() };
}

// ---- topology -------------------------------------------------------------------------------

let a: Agent;
let b: Agent;
let ifindexA = 0;
let ifindexB = 0;
let macA = '';
let linkLocalA = '';

function cleanup(): void {
  for (const ns of [NS_A, NS_B]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  // The veth pair exists in the root namespace only if set-up failed before moving it.
  spawnSync('ip', ['link', 'del', `tAv${PID}a`], { stdio: 'ignore' });
}

before(async () => {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error('test/integration/native.test.ts needs root (namespaces, raw sockets): run as root');
  }
  for (const tool of ['ip', 'tcpdump']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`needs ${tool} (apt-get install iproute2 tcpdump)`);
  }
  process.on('exit', cleanup);
  cleanup();
  sh(['ip', 'netns', 'add', NS_A]);
  sh(['ip', 'netns', 'add', NS_B]);
  sh(['ip', 'link', 'add', `tAv${PID}a`, 'type', 'veth', 'peer', 'name', `tAv${PID}b`]);
  sh(['ip', 'link', 'set', `tAv${PID}a`, 'netns', NS_A]);
  sh(['ip', 'link', 'set', `tAv${PID}b`, 'netns', NS_B]);
  for (const [ns, dev, v4, v6] of [[NS_A, `tAv${PID}a`, A4, A6], [NS_B, `tAv${PID}b`, B4, B6]] as const) {
    sh(['ip', '-n', ns, 'link', 'set', dev, 'name', IF]);
    // No duplicate address detection: the link-local source of VRRPv3 adverts is usable at once.
    inNs(ns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', `net.ipv6.conf.${IF}.accept_dad=0`);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    sh(['ip', '-n', ns, 'addr', 'add', `${v4}/24`, 'dev', IF]);
    sh(['ip', '-n', ns, 'addr', 'add', `${v6}/64`, 'dev', IF, 'nodad']);
    sh(['ip', '-n', ns, 'link', 'set', IF, 'up']);
  }
  a = new Agent(NS_A);
  b = new Agent(NS_B);
  await Promise.all([a.ready(), b.ready()]);
  const la = await a.call<{ ifindex: number; mac: string; up: boolean }>('linkInfo', { ifname: IF });
  const lb = await b.call<{ ifindex: number }>('linkInfo', { ifname: IF });
  ifindexA = la.ifindex;
  ifindexB = lb.ifindex;
  macA = la.mac;
  const list = await a.call<Array<{ family: number; address: string }>>('listAddresses', { ifname: IF });
  linkLocalA = list.find((x) => x.family === 6 && x.address.startsWith('fe80:'))?.address ?? '';
  assert.ok(linkLocalA, `A has a link-local address: ${JSON.stringify(list)}`);
});

after(async () => {
  try {
    await Promise.all([a?.stop(), b?.stop()]);
  } finally {
    cleanup();
  }
});

// ---- VRRP sockets ---------------------------------------------------------------------------

test('VRRP IPv4 multicast: payload, src, dst, TTL 255, ifindex; no loopback to the sender', async () => {
  await a.call('openVrrp', { id: 'a4', family: 4, ifname: IF });
  await b.call('openVrrp', { id: 'b4', family: 4, ifname: IF });
  await b.call('join', { id: 'b4' });
  await b.call('join', { id: 'b4' }); // idempotent
  await a.call('join', { id: 'a4' }); // a member too, so a looped-back copy would be delivered
  await a.call('send', { id: 'a4', payload: ADVERT_V4, dst: '224.0.0.18', src: A4 });
  const p = await b.waitEvent((e) => e.event === 'packet' && e.id === 'b4', 3000, 'v4 multicast packet');
  assert.deepEqual(
    { family: p.family, payload: p.payload, src: p.src, dst: p.dst, ttl: p.ttl, ifindex: p.ifindex },
    { family: 4, payload: ADVERT_V4, src: A4, dst: '224.0.0.18', ttl: 255, ifindex: ifindexB },
  );
  await a.expectNoEvent((e) => e.event === 'packet' && e.id === 'a4', 300, 'own multicast looped back');
});

test('VRRP IPv4 unicast: dst is the peer address, TTL 255', async () => {
  await a.call('send', { id: 'a4', payload: ADVERT_V4, dst: B4, src: A4 });
  const p = await b.waitEvent((e) => e.event === 'packet' && e.id === 'b4', 3000, 'v4 unicast packet');
  assert.deepEqual([p.payload, p.src, p.dst, p.ttl, p.ifindex], [ADVERT_V4, A4, B4, 255, ifindexB]);
});

test('VRRP IPv6 multicast from the link-local address: payload untouched (no kernel checksum)', async () => {
  await a.call('openVrrp', { id: 'a6', family: 6, ifname: IF });
  await b.call('openVrrp', { id: 'b6', family: 6, ifname: IF });
  await b.call('join', { id: 'b6' });
  await a.call('join', { id: 'a6' });
  await a.call('send', { id: 'a6', payload: ADVERT_V6, dst: 'ff02::12', src: linkLocalA });
  const p = await b.waitEvent((e) => e.event === 'packet' && e.id === 'b6', 3000, 'v6 multicast packet');
  assert.deepEqual(
    { family: p.family, payload: p.payload, src: p.src, dst: p.dst, ttl: p.ttl, ifindex: p.ifindex },
    { family: 6, payload: ADVERT_V6, src: linkLocalA, dst: 'ff02::12', ttl: 255, ifindex: ifindexB },
  );
  await a.expectNoEvent((e) => e.event === 'packet' && e.id === 'a6', 300, 'own multicast looped back');
});

test('VRRP IPv6 unicast between global addresses', async () => {
  await a.call('send', { id: 'a6', payload: ADVERT_V6, dst: B6, src: A6 });
  const p = await b.waitEvent((e) => e.event === 'packet' && e.id === 'b6', 3000, 'v6 unicast packet');
  assert.deepEqual([p.payload, p.src, p.dst, p.ttl, p.ifindex], [ADVERT_V6, A6, B6, 255, ifindexB]);
});

test('a sender with TTL / hop limit 64 is reported as 64 (what the receive check must see)', async () => {
  await a.call('openVrrp', { id: 'a4ttl', family: 4, ifname: IF, hopLimit: 64 });
  await a.call('openVrrp', { id: 'a6ttl', family: 6, ifname: IF, hopLimit: 64 });
  await a.call('send', { id: 'a4ttl', payload: ADVERT_V4, dst: '224.0.0.18', src: A4 });
  const p4 = await b.waitEvent((e) => e.event === 'packet' && e.id === 'b4', 3000, 'v4 TTL 64 packet');
  assert.equal(p4.ttl, 64);
  await a.call('send', { id: 'a6ttl', payload: ADVERT_V6, dst: 'ff02::12', src: linkLocalA });
  const p6 = await b.waitEvent((e) => e.event === 'packet' && e.id === 'b6', 3000, 'v6 hop limit 64 packet');
  assert.equal(p6.ttl, 64);
  await a.call('close', { id: 'a4ttl' });
  await a.call('close', { id: 'a6ttl' });
});

test('after leaveMulticast the group is no longer received; unicast still is', async () => {
  await b.call('leave', { id: 'b4' });
  await b.call('leave', { id: 'b4' }); // idempotent
  await b.call('leave', { id: 'b6' });
  await a.call('send', { id: 'a4', payload: ADVERT_V4, dst: '224.0.0.18', src: A4 });
  await a.call('send', { id: 'a6', payload: ADVERT_V6, dst: 'ff02::12', src: linkLocalA });
  await b.expectNoEvent((e) => e.event === 'packet', 400, 'multicast after leave');
  await a.call('send', { id: 'a4', payload: ADVERT_V4, dst: B4, src: A4 });
  await b.waitEvent((e) => e.event === 'packet' && e.id === 'b4', 3000, 'v4 unicast after leave');
});

test('send errors and closed sockets throw with errno codes instead of crashing', async () => {
  await assert.rejects(a.call('send', { id: 'a4', payload: ADVERT_V4, dst: '224.0.0.18', src: '198.51.100.9' }),
    (e: AgentError) => typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code), 'source address not on this host');
  await assert.rejects(a.call('send', { id: 'a6', payload: ADVERT_V6, dst: 'ff02::12', src: '2001:db8:9::9' }),
    (e: AgentError) => typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code));
  await assert.rejects(a.call('send', { id: 'a4', payload: ADVERT_V4, dst: 'not-an-ip', src: A4 }), /bad IPv4/);
  await assert.rejects(a.call('openVrrp', { id: 'x', family: 4, ifname: 'nosuchif0' }), { code: 'ENODEV' });
  for (const id of ['a4', 'a6', 'b4', 'b6']) {
    await b.call('close', { id }).catch(() => undefined);
    await a.call('close', { id }).catch(() => undefined);
  }
  await a.call('close', { id: 'a4' }); // twice: fine
  await assert.rejects(a.call('send', { id: 'a4', payload: ADVERT_V4, dst: B4, src: A4 }), { code: 'EBADF' });
  await assert.rejects(a.call('join', { id: 'a4' }), { code: 'EBADF' });
  await a.call('leave', { id: 'a4' }); // leaving a closed socket: nothing to do
});

// ---- addresses and links --------------------------------------------------------------------

test('linkInfo: ifindex, MAC, up; undefined for a missing interface', async () => {
  const l = await a.call<{ ifname: string; ifindex: number; mac: string; up: boolean }>('linkInfo', { ifname: IF });
  const ipLink = sh(['ip', '-n', NS_A, '-o', 'link', 'show', IF]);
  assert.equal(l.ifname, IF);
  assert.match(ipLink, new RegExp(`^${l.ifindex}: `));
  assert.match(ipLink, new RegExp(`link/ether ${l.mac} `));
  assert.equal(l.up, true);
  assert.equal(await a.call('linkInfo', { ifname: 'nosuchif0' }), null);
});

test('addAddress / deleteAddress / listAddresses: added, exists, deleted, absent', async () => {
  const has = async (family: number, address: string, prefixLen: number) =>
    (await a.call<Array<{ family: number; address: string; prefixLen: number }>>('listAddresses', { ifname: IF }))
      .some((x) => x.family === family && x.address === address && x.prefixLen === prefixLen);
  assert.equal(await a.call('addAddress', { ifname: IF, address: VIP4, prefixLen: 24, label: 'eth0:vip' }), 'added');
  assert.equal(await a.call('addAddress', { ifname: IF, address: VIP4, prefixLen: 24 }), 'exists');
  assert.ok(await has(4, VIP4, 24));
  assert.match(sh(['ip', '-n', NS_A, '-4', 'addr', 'show', 'dev', IF]), /inet 192\.0\.2\.100\/24 .*eth0:vip/);
  // IPv6: any text form in, canonical form out; no DAD so the VIP is usable at once.
  assert.equal(await a.call('addAddress', { ifname: IF, address: '2001:0DB8:0:0::0100', prefixLen: 64 }), 'added');
  assert.equal(await a.call('addAddress', { ifname: IF, address: VIP6, prefixLen: 64 }), 'exists');
  assert.ok(await has(6, VIP6, 64));
  const v6line = sh(['ip', '-n', NS_A, '-6', 'addr', 'show', 'dev', IF]).split('\n').find((l) => l.includes(`${VIP6}/64`));
  assert.ok(v6line && !v6line.includes('tentative'), `VIP6 not tentative: ${v6line}`);
  // Wrong prefix length is a different address: absent.
  assert.equal(await a.call('deleteAddress', { ifname: IF, address: VIP4, prefixLen: 25 }), 'absent');
  assert.equal(await a.call('deleteAddress', { ifname: IF, address: VIP4, prefixLen: 24 }), 'deleted');
  assert.equal(await a.call('deleteAddress', { ifname: IF, address: VIP4, prefixLen: 24 }), 'absent');
  assert.equal(await a.call('deleteAddress', { ifname: IF, address: VIP6, prefixLen: 64 }), 'deleted');
  assert.equal(await a.call('deleteAddress', { ifname: IF, address: VIP6, prefixLen: 64 }), 'absent');
  assert.ok(!(await has(4, VIP4, 24)) && !(await has(6, VIP6, 64)));
  await assert.rejects(a.call('addAddress', { ifname: 'nosuchif0', address: VIP4, prefixLen: 24 }), { code: 'ENODEV' });
  await assert.rejects(a.call('listAddresses', { ifname: 'nosuchif0' }), { code: 'ENODEV' });
  await assert.rejects(a.call('addAddress', { ifname: IF, address: VIP4, prefixLen: 33 }), /prefix length/);
});

// The claim is the 200 round trips per family, each add visible in the next list and each delete
// gone from it; the times are printed as a diagnostic, not asserted (they are the kernel's and
// the machine's, not tandem's behaviour).
test('address add/delete: 200 round trips per family, each add listed and each delete gone at once', async () => {
  const r = await a.call<Record<string, { add: Record<string, number>; del: Record<string, number>; seen: number; gone: number }>>(
    'bench', { ifname: IF, n: 200 }, 20_000);
  const f = (x: Record<string, number>) => `median ${x.median!.toFixed(3)} ms, p95 ${x.p95!.toFixed(3)} ms, max ${x.max!.toFixed(3)} ms`;
  for (const fam of ['v4', 'v6']) {
    assert.deepEqual([r[fam]!.seen, r[fam]!.gone], [200, 200], `${fam}: adds listed, deletes gone`);
    console.log(`# rtnetlink ${fam} add: ${f(r[fam]!.add)}; delete: ${f(r[fam]!.del)} (200 each)`);
  }
});

// ---- announcements ----------------------------------------------------------------------------

test('GARP: seen by tcpdump in the peer, and the peer\'s neighbour entry now points at our MAC', async () => {
  await a.call('addAddress', { ifname: IF, address: VIP4, prefixLen: 24 });
  // Linux only updates existing entries from gratuitous ARP (arp_accept=0): plant a stale one.
  sh(['ip', '-n', NS_B, 'neigh', 'replace', VIP4, 'lladdr', DUMMY_MAC, 'dev', IF, 'nud', 'stale']);
  assert.equal(neighbourMac(NS_B, VIP4), DUMMY_MAC);
  await a.call('openAnnouncer', { id: 'ann', ifname: IF });
  const cap = await capture(NS_B, 'arp');
  await a.call('garp', { id: 'ann', ip: VIP4 });
  const seen = await Promise.race([cap.done, sleep(5000).then(() => { cap.stop(); return 'timeout'; })]);
  assert.match(seen, new RegExp(`${macA} > ff:ff:ff:ff:ff:ff, ethertype ARP .*Request who-has ${VIP4.replace(/\./g, '\\.')} .*tell ${VIP4.replace(/\./g, '\\.')}`));
  await until(() => neighbourMac(NS_B, VIP4) === macA, 3000, `B's neighbour entry for ${VIP4} -> ${macA}`);
});

test('unsolicited NA: seen by tcpdump in the peer, and the peer\'s neighbour entry now points at our MAC', async () => {
  await a.call('addAddress', { ifname: IF, address: VIP6, prefixLen: 64 });
  sh(['ip', '-n', NS_B, 'neigh', 'replace', VIP6, 'lladdr', DUMMY_MAC, 'dev', IF, 'nud', 'stale']);
  assert.equal(neighbourMac(NS_B, VIP6), DUMMY_MAC);
  const cap = await capture(NS_B, 'icmp6 and ip6[40] == 136');
  await a.call('na', { id: 'ann', ip: VIP6 });
  const seen = await Promise.race([cap.done, sleep(5000).then(() => { cap.stop(); return 'timeout'; })]);
  assert.match(seen, new RegExp(`${macA} > 33:33:00:00:00:01, ethertype IPv6 .*${VIP6} > ff02::1: ICMP6, neighbor advertisement, tgt is ${VIP6}`));
  await until(() => neighbourMac(NS_B, VIP6) === macA, 3000, `B's neighbour entry for ${VIP6} -> ${macA}`);
  await a.call('close', { id: 'ann' });
  await a.call('close', { id: 'ann' });
  await assert.rejects(a.call('garp', { id: 'ann', ip: VIP4 }), { code: 'EBADF' });
  await a.call('deleteAddress', { ifname: IF, address: VIP4, prefixLen: 24 });
  await a.call('deleteAddress', { ifname: IF, address: VIP6, prefixLen: 64 });
});

// ---- netlink events -------------------------------------------------------------------------

test('netlink events: link down/up (admin and carrier), address add/delete', async () => {
  await a.call('watch', { id: 'w' });
  const linkEv = (up: boolean) => (e: AgentEvent) =>
    e.event === 'net' && (e.e as { kind: string; ifname: string; up: boolean }).kind === 'link' &&
    (e.e as { ifname: string }).ifname === IF && (e.e as { up: boolean }).up === up;
  sh(['ip', '-n', NS_A, 'link', 'set', IF, 'down']);
  const down = await a.waitEvent(linkEv(false), 3000, 'link down');
  assert.deepEqual(down.e, { kind: 'link', ifname: IF, ifindex: ifindexA, up: false });
  sh(['ip', '-n', NS_A, 'link', 'set', IF, 'up']);
  await a.waitEvent(linkEv(true), 3000, 'link up');
  // The peer going down takes our carrier (IFF_RUNNING) away: that is down too.
  sh(['ip', '-n', NS_B, 'link', 'set', IF, 'down']);
  await a.waitEvent(linkEv(false), 3000, 'carrier lost');
  sh(['ip', '-n', NS_B, 'link', 'set', IF, 'up']);
  await a.waitEvent(linkEv(true), 3000, 'carrier back');

  const addrEv = (op: string, address: string) => (e: AgentEvent) =>
    e.event === 'net' && (e.e as { kind: string }).kind === 'addr' &&
    (e.e as { op: string }).op === op && (e.e as { address: string }).address === address;
  sh(['ip', '-n', NS_A, 'addr', 'add', '203.0.113.5/28', 'dev', IF]);
  const added = await a.waitEvent(addrEv('add', '203.0.113.5'), 3000, 'address add');
  assert.deepEqual(added.e, { kind: 'addr', op: 'add', ifname: IF, ifindex: ifindexA, family: 4, address: '203.0.113.5', prefixLen: 28 });
  sh(['ip', '-n', NS_A, 'addr', 'del', '203.0.113.5/28', 'dev', IF]);
  const deleted = await a.waitEvent(addrEv('del', '203.0.113.5'), 3000, 'address delete');
  assert.deepEqual(deleted.e, { kind: 'addr', op: 'del', ifname: IF, ifindex: ifindexA, family: 4, address: '203.0.113.5', prefixLen: 28 });
  sh(['ip', '-n', NS_A, 'addr', 'add', '2001:db8:5::5/64', 'dev', IF, 'nodad']);
  sh(['ip', '-n', NS_A, 'addr', 'del', '2001:db8:5::5/64', 'dev', IF]);
  const deleted6 = await a.waitEvent(addrEv('del', '2001:db8:5::5'), 3000, 'IPv6 address delete');
  assert.deepEqual(deleted6.e, { kind: 'addr', op: 'del', ifname: IF, ifindex: ifindexA, family: 6, address: '2001:db8:5::5', prefixLen: 64 });
  await a.call('close', { id: 'w' });
  await a.call('close', { id: 'w' });
  a.dropEvents();
  sh(['ip', '-n', NS_A, 'addr', 'add', '203.0.113.6/28', 'dev', IF]);
  await a.expectNoEvent((e) => e.event === 'net', 300, 'event after close');
  sh(['ip', '-n', NS_A, 'addr', 'del', '203.0.113.6/28', 'dev', IF]);
});
