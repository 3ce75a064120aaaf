// TCP_CHECK and UDP_CHECK against servers on loopback (127.0.0.x and ::1), and the probe contract
// shared by all probes (deadline, abort, settle once) through runProbe().
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { openTcp, probeTcp, type ProbeTarget } from '../../src/check/probes/tcp.js';
import { probeUdp, type UdpProbeParams } from '../../src/check/probes/udp.js';
import { runProbe } from '../../src/check/probes/index.js';
import { runProbeScope } from '../../src/check/probes/scope.js';
import type { CheckConfig } from '../../src/config/lbModel.js';
import { closedPort, hostileServer, since, target, tcpServer, udpServer } from './probes-servers.js';

describe('TCP_CHECK', () => {
  test('a listening port is up, on 127.0.0.1, 127.0.0.9 and ::1; the application never sees the check', async () => {
    for (const host of ['127.0.0.1', '127.0.0.9', '::1']) {
      const srv = await tcpServer(host, () => {});
      try {
        assert.deepEqual(await probeTcp(target(host, srv.port), { timeoutMs: 1000 }), { ok: true }, host);
        // The SYN-ACK is answered with a RST instead of the handshake's last ACK (as HAProxy
        // checks), so nothing reaches the server's accept queue.
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(srv.accepted, 0, host);
      } finally { await srv.close(); }
    }
  });

  test('a closed port is refused, at once', async () => {
    // 'refused', not the deadline's 'timeout': the RST settled it.
    const r = await probeTcp(target('127.0.0.1', await closedPort('127.0.0.1')), { timeoutMs: 2000 });
    assert.equal(!r.ok && r.reason, 'refused');
  });

  test('bindto / bind_port set the source of the connection', async () => {
    // TCP_CHECK resets at once, before a server could look at its peer, so the server here
    // tells the client what source it saw, through the connection step every TCP probe shares.
    const srv = await tcpServer('127.0.0.1', (s) => s.end(`${s.remoteAddress}:${s.remotePort}`));
    const bindPort = await closedPort('127.0.0.5');
    const seenFrom = (t: ProbeTarget): Promise<string> => {
      let seen = '';
      return runProbeScope({ timeoutMs: 1000 }, (scope) => {
        openTcp(t, scope, { connected: () => {}, data: (b) => { seen += b.toString(); }, end: () => scope.ok() });
      }).then((r) => { assert.deepEqual(r, { ok: true }); return seen; });
    };
    try {
      assert.match(await seenFrom(target('127.0.0.1', srv.port, { bindTo: '127.0.0.5' })), /^127\.0\.0\.5:\d+$/);
      assert.equal(await seenFrom(target('127.0.0.1', srv.port, { bindTo: '127.0.0.5', bindPort })), `127.0.0.5:${bindPort}`);
      // And TCP_CHECK itself passes with both.
      assert.deepEqual(await probeTcp(target('127.0.0.1', srv.port, { bindTo: '127.0.0.5', bindPort }), { timeoutMs: 1000 }), { ok: true });
    } finally { await srv.close(); }
  });

  test('a bind address we do not have is a connect_error, not a throw', async () => {
    const srv = await tcpServer('127.0.0.1', () => {});
    try {
      const r = await probeTcp(target('127.0.0.1', srv.port, { bindTo: '192.0.2.1' }), { timeoutMs: 1000 });
      assert.equal(!r.ok && r.reason, 'connect_error', JSON.stringify(r));
    } finally { await srv.close(); }
  });

  test('a server that accepts and never talks is up: TCP_CHECK only asks for the handshake', async () => {
    const srv = await hostileServer('127.0.0.1', 'silent');
    try {
      assert.deepEqual(await probeTcp(target('127.0.0.1', srv.port), { timeoutMs: 1000 }), { ok: true });
    } finally { await srv.close(); }
  });
});

function udpParams(port: number, extra: Partial<UdpProbeParams> = {}, host = '127.0.0.1'): UdpProbeParams {
  return { ...target(host, port), payloadHex: '', requireReply: false, replyPrefixHex: undefined, ...extra };
}

describe('UDP_CHECK', () => {
  test('require_reply: an echo is up, the payload arrives as configured', async () => {
    const got: string[] = [];
    const srv = await udpServer('udp4', '127.0.0.1', (m) => { got.push(m.toString('hex')); return m; });
    try {
      assert.deepEqual(await probeUdp(udpParams(srv.port, { payloadHex: 'cafe01', requireReply: true }), { timeoutMs: 1000 }), { ok: true });
      assert.deepEqual(got, ['cafe01']);
    } finally { await srv.close(); }
  });

  test('require_reply with bytes: the reply must start with them', async () => {
    const srv = await udpServer('udp6', '::1', () => Buffer.from('PONG and more'));
    try {
      const ok = await probeUdp(udpParams(srv.port, { requireReply: true, replyPrefixHex: Buffer.from('PONG').toString('hex') }, '::1'), { timeoutMs: 1000 });
      assert.deepEqual(ok, { ok: true });
      const bad = await probeUdp(udpParams(srv.port, { requireReply: true, replyPrefixHex: Buffer.from('PING').toString('hex') }, '::1'), { timeoutMs: 1000 });
      assert.equal(!bad.ok && bad.reason, 'reply_mismatch');
      const longer = await probeUdp(udpParams(srv.port, { requireReply: true, replyPrefixHex: Buffer.from('PONG and more!').toString('hex') }, '::1'), { timeoutMs: 1000 });
      assert.equal(!longer.ok && longer.reason, 'reply_mismatch');
    } finally { await srv.close(); }
  });

  test('silence: down (no_reply) when a reply is required, up otherwise, at the deadline', async () => {
    const srv = await udpServer('udp4', '127.0.0.1', () => null);
    try {
      let t0 = performance.now();
      const r = await probeUdp(udpParams(srv.port, { requireReply: true }), { timeoutMs: 200 });
      assert.equal(!r.ok && r.reason, 'no_reply');
      // At the deadline: not before it (a lower bound a slow machine cannot break).
      assert.ok(since(t0) >= 195);
      t0 = performance.now();
      assert.deepEqual(await probeUdp(udpParams(srv.port), { timeoutMs: 200 }), { ok: true });
      assert.ok(since(t0) >= 195);
      assert.equal(srv.received, 2);
    } finally { await srv.close(); }
  });

  test('nothing listening: ICMP port unreachable is down, with or without require_reply', async () => {
    const srv = await udpServer('udp4', '127.0.0.1', () => null);
    const port = srv.port;
    await srv.close();
    for (const requireReply of [false, true]) {
      // 'unreachable', not the deadline's verdict: the ICMP error settled it.
      const r = await probeUdp(udpParams(port, { requireReply, payloadHex: '00' }), { timeoutMs: 1000 });
      assert.deepEqual(r, { ok: false, reason: 'unreachable', detail: 'ICMP port unreachable' });
    }
  });
});

describe('the probe contract (every kind, through runProbe)', () => {
  const common = {
    bindTo: undefined, bindPort: undefined, retry: 1, delayBeforeRetryMs: 1000, delayLoopMs: 1000,
    warmupMs: 0, alpha: false, rise: 1,
  };

  test('runProbe uses the check\'s timeoutMs unless told otherwise', async () => {
    const srv = await hostileServer('127.0.0.1', 'silent');
    try {
      const check: CheckConfig = {
        ...common, kind: 'smtp_check', connectIp: '127.0.0.1', connectPort: srv.port, timeoutMs: 150, heloName: 'x.test',
      };
      // The deadline a probe ran under is in its verdict: no stopwatch needed.
      assert.deepEqual(await runProbe(check), { ok: false, reason: 'timeout', detail: 'no verdict within 150 ms' });
      assert.deepEqual(await runProbe(check, { timeoutMs: 50 }), { ok: false, reason: 'timeout', detail: 'no verdict within 50 ms' });
    } finally { await srv.close(); }
  });

  test('an already aborted signal settles at once without connecting', async () => {
    const srv = await tcpServer('127.0.0.1', () => {});
    try {
      const check: CheckConfig = { ...common, kind: 'tcp_check', connectIp: '127.0.0.1', connectPort: srv.port, timeoutMs: 1000 };
      const r = await runProbe(check, { signal: AbortSignal.abort() });
      assert.deepEqual(r, { ok: false, reason: 'timeout', detail: 'aborted' });
      await new Promise((res) => setTimeout(res, 30));
      assert.equal(srv.accepted, 0);
    } finally { await srv.close(); }
  });

  test('the scope settles once, runs cleanups once, and contains throws', async () => {
    let cleaned = 0;
    const r = await runProbeScope({ timeoutMs: 1000 }, (scope) => {
      scope.defer(() => { cleaned++; });
      scope.defer(() => { throw new Error('cleanup bug'); });
      scope.ok();
      scope.fail('reset');
      scope.ok(3);
      scope.defer(() => { cleaned += 10; }); // registered late: runs at once
    });
    assert.deepEqual(r, { ok: true });
    assert.equal(cleaned, 11);
    const thrown = await runProbeScope({ timeoutMs: 1000 }, () => { throw new Error('boom'); });
    assert.deepEqual(thrown, { ok: false, reason: 'connect_error', detail: 'boom' });
    const nan = await runProbeScope({ timeoutMs: Number.NaN }, () => {});
    assert.equal(!nan.ok && nan.reason, 'timeout');
  });
});
