// PING_CHECK's matching and socket sharing, with a scripted ICMP socket (no root, no network).
// Real echo requests on loopback and in namespaces: test/integration/probes-ping.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setMaxListeners } from 'node:events';
import { Pinger, type IcmpMessageKind, type IcmpSocketFactory, type IcmpSocketHandle } from '../../src/check/probes/ping.js';
import { since } from './probes-servers.js';

interface Sent { dst: string; id: number; seq: number; payload: Uint8Array }

/** A scripted ICMP socket: records what is sent, lets the test deliver messages. */
class FakeIcmp {
  opened = 0;
  closed = 0;
  sent: Sent[] = [];
  sendError: (Error & { code?: string }) | undefined;
  deliver: ((kind: IcmpMessageKind, peer: string, id: number, seq: number, code: number) => void) | undefined;
  fail: ((e: Error) => void) | undefined;

  constructor(private readonly kind: 'dgram' | 'raw') {}

  factory: IcmpSocketFactory = (_family, onMessage, onError) => {
    this.opened++;
    this.deliver = onMessage;
    this.fail = onError;
    const handle: IcmpSocketHandle = {
      kind: this.kind,
      send: (dst, id, seq, payload) => {
        if (this.sendError) throw this.sendError;
        this.sent.push({ dst, id, seq, payload });
        return dst === '0:0:0:0:0:0:0:1' ? '::1' : dst;
      },
      close: () => { this.closed++; },
    };
    return handle;
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Pinger', () => {
  test('an echo reply from the target with our seq is up; the socket closes when idle', async () => {
    const icmp = new FakeIcmp('raw');
    const pinger = new Pinger(icmp.factory);
    const pending = pinger.probe({ connectIp: '127.0.0.1' }, { timeoutMs: 1000 });
    await tick();
    assert.equal(pinger.openSockets, 1);
    const s = icmp.sent[0]!;
    assert.equal(Buffer.from(s.payload).toString('latin1'), 'tandem\0\0');
    icmp.deliver!(0, '127.0.0.1', s.id, s.seq, 0);
    assert.deepEqual(await pending, { ok: true });
    assert.equal(pinger.openSockets, 0);
    assert.deepEqual([icmp.opened, icmp.closed], [1, 1]);
  });

  test('raw socket: replies with another identifier, seq or source are not ours', async () => {
    const icmp = new FakeIcmp('raw');
    const pinger = new Pinger(icmp.factory);
    const t0 = performance.now();
    const pending = pinger.probe({ connectIp: '127.0.0.1' }, { timeoutMs: 150 });
    await tick();
    const s = icmp.sent[0]!;
    icmp.deliver!(0, '127.0.0.1', s.id ^ 1, s.seq, 0); // another process's ping
    icmp.deliver!(0, '127.0.0.1', s.id, (s.seq + 1) & 0xffff, 0); // another probe's
    icmp.deliver!(0, '127.0.0.2', s.id, s.seq, 0); // another host
    const r = await pending;
    assert.deepEqual(r, { ok: false, reason: 'no_reply', detail: 'no echo reply from 127.0.0.1' });
    assert.ok(since(t0) >= 145);
    assert.equal(icmp.closed, 1);
  });

  test('ping socket: the kernel owns the identifier, so any id with our seq and source counts', async () => {
    const icmp = new FakeIcmp('dgram');
    const pinger = new Pinger(icmp.factory);
    const pending = pinger.probe({ connectIp: '0:0:0:0:0:0:0:1' }, { timeoutMs: 1000 });
    await tick();
    const s = icmp.sent[0]!;
    icmp.deliver!(0, '::1', 4321, s.seq, 0); // the peer comes back in canonical form
    assert.deepEqual(await pending, { ok: true });
  });

  test('ICMP errors about our request: unreachable, with the ICMP code', async () => {
    const icmp = new FakeIcmp('raw');
    const pinger = new Pinger(icmp.factory);
    const a = pinger.probe({ connectIp: '203.0.113.7' }, { timeoutMs: 1000 });
    const b = pinger.probe({ connectIp: '203.0.113.8' }, { timeoutMs: 1000 });
    await tick();
    assert.equal(icmp.opened, 1, 'one socket for every probe of a family');
    const [sa, sb] = icmp.sent;
    icmp.deliver!(1, '203.0.113.7', sa!.id, sa!.seq, 1);
    icmp.deliver!(2, '203.0.113.8', sb!.id, sb!.seq, 0);
    assert.deepEqual(await a, { ok: false, reason: 'unreachable', detail: 'ICMP destination unreachable (code 1) for 203.0.113.7' });
    assert.deepEqual(await b, { ok: false, reason: 'unreachable', detail: 'ICMP time exceeded (code 0) for 203.0.113.8' });
    assert.deepEqual([icmp.opened, icmp.closed, pinger.openSockets], [1, 1, 0]);
  });

  test('a send error (no route) fails at once with its errno reason', async () => {
    const icmp = new FakeIcmp('raw');
    icmp.sendError = Object.assign(new Error('sendto ENETUNREACH'), { code: 'ENETUNREACH' });
    const pinger = new Pinger(icmp.factory);
    const r = await pinger.probe({ connectIp: '198.51.100.1' }, { timeoutMs: 1000 });
    assert.deepEqual(r, { ok: false, reason: 'unreachable', detail: 'sendto ENETUNREACH' });
    assert.equal(pinger.openSockets, 0);
  });

  test('no ICMP socket allowed: connect_error naming the cause', async () => {
    const pinger = new Pinger(() => { throw Object.assign(new Error('socket(SOCK_RAW) EPERM'), { code: 'EPERM' }); });
    const r = await pinger.probe({ connectIp: '127.0.0.1' }, { timeoutMs: 1000 });
    assert.deepEqual(r, { ok: false, reason: 'connect_error', detail: 'cannot open an ICMP socket: socket(SOCK_RAW) EPERM' });
  });

  test('a socket error fails everything in flight; the next probe opens a new socket', async () => {
    const icmp = new FakeIcmp('raw');
    const pinger = new Pinger(icmp.factory);
    const probes = [1, 2, 3].map((i) => pinger.probe({ connectIp: `127.0.0.${i}` }, { timeoutMs: 1000 }));
    await tick();
    icmp.fail!(new Error('uv_poll EBADF'));
    for (const r of await Promise.all(probes)) assert.deepEqual(r, { ok: false, reason: 'connect_error', detail: 'ICMP socket: uv_poll EBADF' });
    assert.equal(pinger.openSockets, 0);
    const next = pinger.probe({ connectIp: '127.0.0.1' }, { timeoutMs: 1000 });
    await tick();
    const s = icmp.sent.at(-1)!;
    icmp.deliver!(0, '127.0.0.1', s.id, s.seq, 0);
    assert.deepEqual(await next, { ok: true });
    assert.equal(icmp.opened, 2);
  });

  test('sequence numbers stay unique among the probes in flight', async () => {
    const icmp = new FakeIcmp('raw');
    const pinger = new Pinger(icmp.factory);
    const ac = new AbortController();
    setMaxListeners(0, ac.signal); // one stop signal shared by every probe, as a driver may do
    const probes = Array.from({ length: 3000 }, (_, i) => pinger.probe({ connectIp: `127.0.${i >> 8}.${i & 255}` }, { timeoutMs: 5000, signal: ac.signal }));
    await tick();
    assert.equal(new Set(icmp.sent.map((s) => s.seq)).size, 3000);
    ac.abort();
    await Promise.all(probes);
    assert.equal(pinger.openSockets, 0);
  });
});
