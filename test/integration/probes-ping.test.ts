// PING_CHECK with real ICMP (root): loopback in this namespace, and two namespaces the test
// creates: a prober A and a router R joined by a veth pair. R answers echo requests, refuses
// 203.0.113.0/24 and 2001:db8:ff::/64 with ICMP destination unreachable, and can be told to
// ignore echo requests. Both ICMP socket kinds are exercised: the raw socket (Debian's default
// ping_group_range "1 0" refuses ping sockets, root included) and the ping socket (the range
// opened inside A).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Pinger } from '../../src/check/probes/ping.js';
import { testIcmpSocketFactory } from '../unit/probes-servers.js';
import { nsRun, requireLabTools, run, waitFor } from '../lib/netns.js';

const A = `tpg${process.pid}a`;
const R = `tpg${process.pid}r`;
const CHILD = fileURLToPath(new URL('./probes-ping-child.js', import.meta.url));

interface ChildResult {
  kind: string;
  openSockets: number;
  results: Array<{ ip: string; ok: boolean; reason?: string; detail?: string; ms: number }>;
}

async function pingIn(ns: string, targets: string[], timeoutMs: number): Promise<ChildResult> {
  const r = await nsRun(ns, [process.execPath, CHILD, JSON.stringify({ targets, timeoutMs })], { timeoutMs: timeoutMs + 10_000 });
  return JSON.parse(r.stdout) as ChildResult;
}

async function deleteNamespaces(): Promise<void> {
  for (const ns of [A, R]) await run(['ip', 'netns', 'del', ns], { allowFail: true });
}

describe('PING_CHECK with real ICMP', () => {
  before(async () => {
    requireLabTools();
    await deleteNamespaces();
    await run(['ip', 'netns', 'add', A]);
    await run(['ip', 'netns', 'add', R]);
    // No duplicate address detection on the new links: a tentative link-local address would
    // hold the first IPv6 packets back for about a second.
    for (const ns of [A, R]) await nsRun(ns, ['sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0']);
    await run(['ip', '-n', A, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', R]);
    for (const [ns, v4, v6] of [[A, '198.51.100.2/30', '2001:db8:51::2/64'], [R, '198.51.100.1/30', '2001:db8:51::1/64']] as const) {
      await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      await run(['ip', '-n', ns, 'addr', 'add', v4, 'dev', 'eth0']);
      await run(['ip', '-n', ns, '-6', 'addr', 'add', v6, 'dev', 'eth0', 'nodad']);
      await run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    }
    // Until the kernel's link watch activates a new link (up to a second), its qdisc drops what
    // it sends: the first neighbour advertisement would be lost.
    for (const ns of [A, R]) {
      await waitFor(async () => (JSON.parse((await run(['ip', '-n', ns, '-j', 'link', 'show', 'eth0'])).stdout) as Array<{ operstate: string }>)[0]?.operstate === 'UP',
        { timeoutMs: 5000, what: `eth0 in ${ns} operationally up` });
    }
    await run(['ip', '-n', A, 'route', 'add', 'default', 'via', '198.51.100.1']);
    await run(['ip', '-n', A, '-6', 'route', 'add', 'default', 'via', '2001:db8:51::1']);
    await nsRun(R, ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    await run(['ip', '-n', R, 'route', 'add', 'unreachable', '203.0.113.0/24']);
    await run(['ip', '-n', R, '-6', 'route', 'add', 'unreachable', '2001:db8:ff::/64']);
  });
  after(deleteNamespaces);

  test('loopback in this namespace: 127.0.0.1, ::1 and 200 addresses at once, one socket per family', async () => {
    const pinger = new Pinger(testIcmpSocketFactory());
    const targets = ['127.0.0.1', '::1', ...Array.from({ length: 200 }, (_, i) => `127.0.${1 + (i >> 8)}.${1 + (i & 127)}`)];
    const results = await Promise.all(targets.map((ip) => pinger.probe({ connectIp: ip }, { timeoutMs: 2000 })));
    assert.deepEqual(results.filter((r) => !r.ok), []);
    assert.equal(pinger.openSockets, 0, 'the sockets close when nothing is in flight');
  });

  test('raw socket (ping sockets refused): replies up, ICMP unreachable down at once (IPv4 and IPv6)', async () => {
    const out = await pingIn(A, ['198.51.100.1', '2001:db8:51::1', '203.0.113.7', '2001:db8:ff::7'], 2000);
    assert.equal(out.kind, 'raw');
    const [v4, v6, un4, un6] = out.results;
    assert.equal(v4!.ok, true, JSON.stringify(v4));
    assert.equal(v6!.ok, true, JSON.stringify(v6));
    assert.equal(un4!.reason, 'unreachable', JSON.stringify(un4));
    assert.match(un4!.detail!, /destination unreachable \(code 1\) for 203\.0\.113\.7/);
    assert.equal(un6!.reason, 'unreachable', JSON.stringify(un6));
    assert.match(un6!.detail!, /destination unreachable \(code 0\) for 2001:db8:ff::7/);
    assert.ok(un4!.ms < 1000 && un6!.ms < 1000, `ICMP errors decide before the deadline: ${JSON.stringify(out)}`);
    assert.equal(out.openSockets, 0);
  });

  test('echo requests ignored by the target: no_reply at the deadline', async () => {
    await nsRun(R, ['sysctl', '-qw', 'net.ipv4.icmp_echo_ignore_all=1', 'net.ipv6.icmp.echo_ignore_all=1']);
    try {
      const out = await pingIn(A, ['198.51.100.1', '2001:db8:51::1'], 300);
      for (const r of out.results) {
        assert.equal(r.reason, 'no_reply', JSON.stringify(r));
        assert.ok(r.ms >= 295 && r.ms < 600, JSON.stringify(r));
      }
    } finally {
      await nsRun(R, ['sysctl', '-qw', 'net.ipv4.icmp_echo_ignore_all=0', 'net.ipv6.icmp.echo_ignore_all=0']);
    }
  });

  test('ping socket (ping_group_range opened): replies up; ICMP errors are not seen, so no_reply', async () => {
    await nsRun(A, ['sysctl', '-qw', 'net.ipv4.ping_group_range=0 2147483647']);
    try {
      const out = await pingIn(A, ['198.51.100.1', '2001:db8:51::1', '203.0.113.7'], 300);
      assert.equal(out.kind, 'dgram');
      assert.equal(out.results[0]!.ok, true, JSON.stringify(out.results[0]));
      assert.equal(out.results[1]!.ok, true, JSON.stringify(out.results[1]));
      assert.equal(out.results[2]!.reason, 'no_reply', JSON.stringify(out.results[2]));
    } finally {
      await nsRun(A, ['sysctl', '-qw', 'net.ipv4.ping_group_range=1 0']);
    }
  });

  test('no route at all: unreachable at once, from sendto', async () => {
    const out = await pingIn(R, ['192.0.2.1'], 2000);
    assert.equal(out.results[0]!.reason, 'unreachable', JSON.stringify(out.results[0]));
    assert.match(out.results[0]!.detail!, /ENETUNREACH/);
    assert.ok(out.results[0]!.ms < 500);
  });
});
