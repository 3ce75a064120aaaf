// Webhooks against real HTTP(S) receivers on 127.0.0.1 (issue 4 §2): the receiver records every
// request and checks the HMAC signature with the shared secret, as a real receiver would. The
// sockets are real; the notifier's timers are not: its next-turn pump runs on the real loop, but
// its request timeouts, backoffs and clock are a manual clock's (test/lib/manualTimers.ts) that
// moves only when a test says, so a timeout or a backoff is asserted to the millisecond and
// nothing is bounded by the wall clock.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebhookNotifier, type WebhookTarget } from '../../src/alert/webhook.js';
import type { AlertEvent } from '../../src/alert/events.js';
import { closedPort, recordingLogger, selfSignedCertFiles, socketClock, waitFor as waitReal, type CertFiles } from './alert-net-servers.js';

/** The notifiers' clock (alert-net-servers.ts socketClock). */
const { clock, timers, waitFor } = socketClock();

const SECRET = 'test-secret-0123456789';

interface Received {
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: Record<string, unknown>;
  /** X-Tandem-Signature matched HMAC-SHA256(SECRET, raw body). */
  signatureOk: boolean;
  path: string;
}

/** What the receiver does with request number i (0-based): a status (maybe late), or hang (never answer). */
type Behaviour = (i: number) => number | 'hang' | { status: number; delayMs: number };

interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Most requests open at the same time. */
  maxConcurrent: number;
  /** Requests whose connection closed before an answer (aborted by the client). */
  aborted: number;
  close(): Promise<void>;
}

function verify(raw: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const want = createHmac('sha256', SECRET).update(raw).digest();
  const got = Buffer.from(header.slice('sha256='.length), 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

async function receiver(behaviour: Behaviour, opts: { tls?: CertFiles; port?: number } = {}): Promise<Receiver> {
  let open = 0;
  const r: Receiver = { url: '', port: 0, received: [], maxConcurrent: 0, aborted: 0, close: async () => {} };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    open++;
    r.maxConcurrent = Math.max(r.maxConcurrent, open);
    let answered = false;
    res.on('close', () => { open--; if (!answered) r.aborted++; });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const i = r.received.length;
      r.received.push({
        headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>,
        signatureOk: verify(raw, req.headers['x-tandem-signature']), path: req.url ?? '',
      });
      const b = behaviour(i);
      if (b === 'hang') return;
      const answer = (status: number) => {
        answered = true;
        res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status >= 300 ? `refused: status ${status}` : 'ok');
      };
      if (typeof b === 'number') answer(b);
      else setTimeout(() => { if (!res.destroyed) answer(b.status); }, b.delayMs);
    });
  };
  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(opts.port ?? 0, '127.0.0.1', () => resolve()); });
  r.port = (server.address() as AddressInfo).port;
  r.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${r.port}/hooks/tandem`;
  r.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return r;
}

function target(url: string, extra: Partial<WebhookTarget> = {}): WebhookTarget {
  return {
    url, secret: SECRET, timeoutMs: 2000, retries: 3, queueSize: 256, verifyCertificate: true, caFile: undefined,
    events: ['vrrp', 'real_server', 'quorum'], ...extra,
  };
}

function notifier(targets: WebhookTarget[], log = recordingLogger().log): WebhookNotifier {
  // Short backoff so retries take tens of ms; the rules are the same as with 1 s / 30 s.
  const n = new WebhookNotifier({ routerId: 'lb1', webhooks: targets, log, backoffBaseMs: 20, backoffCapMs: 80, timers, random: Math.random });
  n.start();
  return n;
}

const T0 = Date.parse('2025-01-02T03:04:05.678Z');
const vrrp = (i: number, state: 'MASTER' | 'BACKUP' = 'MASTER'): AlertEvent =>
  ({ type: 'vrrp_instance', instance: `VI_${i}`, state, previous: 'BACKUP', priority: 100 + i, reason: 'master_down_timer', time: T0 + i });
const SERVICE = { kind: 'inet', family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 } as const;

describe('webhooks against a real HTTP receiver on 127.0.0.1', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  after(async () => { for (const c of cleanup.reverse()) await c(); });

  test('delivered in order, one at a time, signed; body and headers as documented', async () => {
    // A receiver that answers at varying speed while new events keep coming: order must hold.
    const rx = await receiver((i) => ({ status: 200, delayMs: (i * 7) % 25 }));
    cleanup.push(() => rx.close());
    const n = notifier([target(rx.url)]);
    cleanup.push(() => n.stop());
    const events: AlertEvent[] = [
      vrrp(1), vrrp(1, 'BACKUP'),
      { type: 'vrrp_group', group: 'G1', state: 'FAULT', previous: 'MASTER', reason: 'sync_group', time: T0 },
      {
        type: 'real_server', virtualServer: 'TCP 192.0.2.100:80', realServer: 'TCP 192.0.2.100:80 -> 198.51.100.11:80',
        service: SERVICE, dest: { address: '198.51.100.11', port: 80 }, up: false, reason: 'http_status', time: T0,
      },
      { type: 'quorum', virtualServer: 'TCP 192.0.2.100:80', service: SERVICE, up: false, reason: 'lost', time: T0 },
      ...Array.from({ length: 15 }, (_, i) => vrrp(i + 2)),
    ];
    for (const [i, e] of events.entries()) {
      n.handle(e);
      if (i % 3 === 2) await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(() => n.counters()[0]!.delivered === events.length, 10_000, () => JSON.stringify(n.counters()));
    assert.equal(rx.received.length, events.length);
    assert.equal(rx.maxConcurrent, 1, 'one delivery in flight at a time');
    assert.ok(rx.received.every((r) => r.signatureOk), 'every signature verifies with the secret');
    assert.deepEqual(rx.received.map((r) => r.body.type), events.map((e) => e.type));
    assert.deepEqual(rx.received.slice(5).map((r) => r.body.instance), events.slice(5).map((e) => (e as { instance: string }).instance));
    assert.deepEqual(rx.received[0]!.body, {
      type: 'vrrp_instance', instance: 'VI_1', group: null, virtual_server: null, real_server: null,
      state: 'MASTER', previous: 'BACKUP', priority: 101, reason: 'master_down_timer', router_id: 'lb1', time: '2025-01-02T03:04:05.679Z',
    });
    assert.deepEqual(rx.received[2]!.body, {
      type: 'vrrp_group', instance: null, group: 'G1', virtual_server: null, real_server: null,
      state: 'FAULT', previous: 'MASTER', priority: 0, reason: 'sync_group', router_id: 'lb1', time: '2025-01-02T03:04:05.678Z',
    });
    assert.deepEqual(rx.received[3]!.body, {
      type: 'real_server', instance: null, group: null, virtual_server: 'TCP 192.0.2.100:80', real_server: '198.51.100.11:80',
      state: 'DOWN', previous: null, priority: null, reason: 'http_status', router_id: 'lb1', time: '2025-01-02T03:04:05.678Z',
    });
    assert.equal(rx.received[4]!.body.state, 'DOWN');
    const h = rx.received[0]!.headers;
    assert.equal(h['content-type'], 'application/json');
    assert.equal(h['x-tandem-event'], 'vrrp_instance');
    assert.match(String(h['x-tandem-delivery']), /^[0-9a-f-]{36}$/);
    assert.match(String(h['user-agent']), /^tandem\//);
    assert.equal(rx.received[0]!.path, '/hooks/tandem');
    assert.equal(new Set(rx.received.map((r) => r.headers['x-tandem-delivery'])).size, events.length, 'one delivery id per event');
    // A signature over other bytes does not verify: the receiver's check can fail.
    assert.equal(verify(Buffer.from(rx.received[0]!.raw.toString().replace('VI_1', 'VI_9')), h['x-tandem-signature']), false);
    assert.deepEqual({ ...n.counters()[0]!, lastError: undefined }, {
      webhook: `webhooks[0] http://127.0.0.1:${rx.port}`, queued: events.length, delivered: events.length,
      failed: 0, retried: 0, dropped: 0, pending: 0, inFlight: false, lastError: undefined,
    });
  });

  test('without a secret: no signature header; events filter by kind', async () => {
    const rx = await receiver(() => 204);
    cleanup.push(() => rx.close());
    const n = notifier([target(rx.url, { secret: undefined, events: ['quorum'] })]);
    cleanup.push(() => n.stop());
    n.handle(vrrp(1));
    n.handle({ type: 'quorum', virtualServer: 'FWM 1', service: { kind: 'fwmark', family: 4, fwmark: 1 }, up: true, reason: 'gained', time: T0 });
    await waitFor(() => n.counters()[0]!.delivered === 1, 5000, 'one delivery');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(rx.received.length, 1);
    assert.equal(rx.received[0]!.body.type, 'quorum');
    assert.equal(rx.received[0]!.headers['x-tandem-signature'], undefined);
    assert.equal(n.counters()[0]!.queued, 1, 'the vrrp event was not queued for this webhook');
  });

  test('500, then 200: retried with the same delivery id', async () => {
    const rx = await receiver((i) => (i === 0 ? 500 : 200));
    cleanup.push(() => rx.close());
    const n = notifier([target(rx.url)]);
    cleanup.push(() => n.stop());
    n.handle(vrrp(1));
    await waitFor(() => n.counters()[0]!.delivered === 1, 5000, 'delivery after a retry');
    const c = n.counters()[0]!;
    assert.deepEqual([c.retried, c.failed, rx.received.length], [1, 0, 2]);
    assert.equal(rx.received[0]!.headers['x-tandem-delivery'], rx.received[1]!.headers['x-tandem-delivery']);
    assert.equal(c.lastError?.reason, 'http_status');
    assert.match(c.lastError!.detail, /^HTTP 500: refused: status 500/);
  });

  test('429 and 408 are retried; other 4xx are not', async () => {
    const rx = await receiver((i) => [429, 408, 200, 400, 404][i] ?? 200);
    cleanup.push(() => rx.close());
    const n = notifier([target(rx.url)]);
    cleanup.push(() => n.stop());
    n.handle(vrrp(1));
    n.handle(vrrp(2));
    n.handle(vrrp(3));
    await waitFor(() => n.counters()[0]!.delivered + n.counters()[0]!.failed === 3, 5000, 'three outcomes');
    const c = n.counters()[0]!;
    assert.deepEqual({ delivered: c.delivered, failed: c.failed, retried: c.retried }, { delivered: 1, failed: 2, retried: 2 });
    // 429, 408, 200 for VI_1; 400 for VI_2 (once); 404 for VI_3 (once).
    assert.deepEqual(rx.received.map((r) => r.body.instance), ['VI_1', 'VI_1', 'VI_1', 'VI_2', 'VI_3']);
    assert.equal(c.lastError?.reason, 'http_status');
    assert.match(c.lastError!.detail, /^HTTP 404/);
  });

  test('a receiver that accepts and never answers: timeout, then the retry is delivered', async () => {
    const rx = await receiver((i) => (i === 0 ? 'hang' : 200));
    cleanup.push(() => rx.close());
    const n = notifier([target(rx.url, { timeoutMs: 300 })]);
    cleanup.push(() => n.stop());
    n.handle(vrrp(1));
    await waitReal(() => rx.received.length === 1, 5000, 'the first request');
    const t0 = clock.now();
    clock.advance(299);
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(n.counters()[0]!.retried, 0, 'no timeout 1 ms before timeout_ms');
    clock.advance(1);
    assert.equal(n.counters()[0]!.lastError?.reason, 'timeout', 'the first attempt timed out at timeout_ms');
    await waitFor(() => n.counters()[0]!.delivered === 1, 5000, 'delivery after a timeout');
    const c = n.counters()[0]!;
    assert.equal(c.retried, 1);
    assert.equal(c.lastError?.reason, 'timeout');
    assert.ok(clock.now() - t0 >= 300, `the first attempt waited for the timeout (${clock.now() - t0} ms)`);
    await waitFor(() => rx.aborted === 1, 2000, 'the hung request to be closed by the client');
  });

  test('a receiver that is down: refused, retried with backoff, then failed; handle() returns at once', async () => {
    const port = await closedPort();
    const { log, lines } = recordingLogger();
    const n = notifier([target(`http://127.0.0.1:${port}/hook`, { retries: 2 })], log);
    cleanup.push(() => n.stop());
    const t0 = clock.now();
    n.handle(vrrp(1));
    // handle() only enqueues: the send starts on a later turn of the loop.
    assert.deepEqual({ pending: n.counters()[0]!.pending, inFlight: n.counters()[0]!.inFlight }, { pending: 1, inFlight: false }, 'handle() returned at once');
    await waitFor(() => n.counters()[0]!.failed === 1, 5000, 'failure after retries');
    const took = clock.now() - t0;
    const c = n.counters()[0]!;
    assert.deepEqual({ retried: c.retried, delivered: c.delivered, reason: c.lastError?.reason }, { retried: 2, delivered: 0, reason: 'refused' });
    // Backoff 20 ms then 40 ms, each jittered to at least half: >= 30 ms in all.
    assert.ok(took >= 30, `retries waited for the backoff (${took} ms of the notifier's clock)`);
    assert.ok(lines.some((l) => /WARN .*webhooks\[0\].*not delivered after 3 attempts: refused/.test(l)), lines.join('\n'));

    // The receiver comes back on that port: the next event is delivered.
    const rx = await receiver(() => 200, { port });
    cleanup.push(() => rx.close());
    n.handle(vrrp(2));
    await waitFor(() => n.counters()[0]!.delivered === 1, 5000, 'delivery once the receiver is back');
    assert.equal(rx.received[0]!.body.instance, 'VI_2');
  });

  test('queue overflow: the oldest events are dropped and counted, logged once; the newest are delivered', async () => {
    let release = false;
    const rx = await receiver(() => (release ? 200 : 'hang'));
    cleanup.push(() => rx.close());
    const { log, lines } = recordingLogger();
    const n = notifier([target(rx.url, { queueSize: 3, timeoutMs: 400, retries: 1 })], log);
    cleanup.push(() => n.stop());
    for (let i = 0; i < 10; i++) n.handle(vrrp(i));
    // Everything above is synchronous: the first send starts only on a later loop turn.
    assert.deepEqual({ pending: n.counters()[0]!.pending, dropped: n.counters()[0]!.dropped }, { pending: 3, dropped: 7 });
    // The hung request does not hold the loop: this real-time wait runs while it hangs.
    await waitReal(() => rx.received.length >= 1, 2000, 'the first request');
    release = true;
    await waitFor(() => n.counters()[0]!.delivered === 3, 5000, () => JSON.stringify(n.counters()));
    const c = n.counters()[0]!;
    assert.deepEqual({ queued: c.queued, dropped: c.dropped, delivered: c.delivered, failed: c.failed }, { queued: 10, dropped: 7, delivered: 3, failed: 0 });
    // The hung first attempt of VI_7 timed out and was retried; the 7 oldest never went out.
    assert.deepEqual([...new Set(rx.received.map((r) => r.body.instance))], ['VI_7', 'VI_8', 'VI_9']);
    const dropLines = lines.filter((l) => l.includes('queue full'));
    assert.equal(dropLines.length, 1, `drops are logged at a limited rate:\n${dropLines.join('\n')}`);
  });

  test('stop() aborts the request in flight, drops the queue and ignores later events', async () => {
    const rx = await receiver(() => 'hang');
    cleanup.push(() => rx.close());
    const n = notifier([target(rx.url, { timeoutMs: 10_000 })]);
    n.handle(vrrp(1));
    n.handle(vrrp(2));
    await waitReal(() => rx.received.length === 1, 2000, 'the first request');
    const t0 = clock.now();
    await n.stop();
    assert.equal(clock.now(), t0, 'stop() resolved with the clock unmoved: it did not wait for the 10 s timeout');
    await waitFor(() => rx.aborted === 1, 2000, 'the receiver to see the connection closed');
    n.handle(vrrp(3));
    await new Promise((r) => setTimeout(r, 50));
    const c = n.counters()[0]!;
    assert.deepEqual({ pending: c.pending, inFlight: c.inFlight, delivered: c.delivered, failed: c.failed, queued: c.queued }, { pending: 0, inFlight: false, delivered: 0, failed: 0, queued: 2 });
    assert.equal(rx.received.length, 1);
  });
});

describe('webhooks over HTTPS with a self-signed certificate', () => {
  let cert: CertFiles;
  let rx: Receiver;
  before(async () => {
    cert = selfSignedCertFiles('tandem-webhook-tls-');
    rx = await receiver(() => 200, { tls: cert });
  });
  after(async () => {
    await rx?.close();
    cert?.remove();
  });

  test('verify_certificate false: delivered and signed', async () => {
    const n = notifier([target(rx.url, { verifyCertificate: false })]);
    try {
      n.handle(vrrp(1));
      await waitFor(() => n.counters()[0]!.delivered === 1, 5000, 'delivery over TLS');
      assert.ok(rx.received.at(-1)!.signatureOk);
    } finally { await n.stop(); }
  });

  test('verify_certificate true (default): a certificate error fails at once, without retries', async () => {
    const before = rx.received.length;
    const n = notifier([target(rx.url)]);
    try {
      n.handle(vrrp(1));
      await waitFor(() => n.counters()[0]!.failed === 1, 5000, 'a TLS failure');
      const c = n.counters()[0]!;
      assert.equal(c.lastError?.reason, 'tls');
      assert.match(c.lastError!.detail, /SELF_SIGNED|UNABLE_TO_VERIFY/);
      assert.equal(c.retried, 0);
      assert.equal(rx.received.length, before, 'nothing reached the receiver');
    } finally { await n.stop(); }
  });

  test('ca: the certificate file as trust anchor verifies; an unreadable ca fails every delivery', async () => {
    const n = notifier([target(rx.url, { caFile: cert.certFile })]);
    const bad = notifier([target(rx.url, { caFile: `${cert.dir}/missing.pem` })]);
    try {
      n.handle(vrrp(1));
      bad.handle(vrrp(2));
      await waitFor(() => n.counters()[0]!.delivered === 1 && bad.counters()[0]!.failed === 1, 5000, 'both outcomes');
      assert.equal(bad.counters()[0]!.lastError?.reason, 'tls_config');
      assert.match(bad.counters()[0]!.lastError!.detail, /ENOENT/);
    } finally {
      await n.stop();
      await bad.stop();
    }
  });
});
