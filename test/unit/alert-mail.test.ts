// smtp_alert mail against a real SMTP server (issue 4 §2): Debian's python3-aiosmtpd, started
// by the test, stores each message it accepts as a JSON file (envelope, raw DATA, whether the
// session was under TLS); the test reads the files back. One aiosmtpd process serves two
// ports: plain ESMTP, and ESMTP with STARTTLS offered and required (a self-signed certificate
// made with openssl). Error paths (a refused EHLO, a 554 greeting ...) use small scripted
// servers on loopback, since a well-behaved server never produces them. The sockets are real; the
// notifier's SMTP timeouts and clock are a manual clock's (alert-net-servers.ts socketClock), so a
// timeout is asserted to the millisecond and nothing is bounded by the wall clock.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeMessage, MailNotifier, SmtpSession, type MailNotifierOptions } from '../../src/alert/mail.js';
import type { AlertEvent } from '../../src/alert/events.js';
import { closedPort, recordingLogger, selfSignedCertFiles, socketClock, waitFor as waitReal, type CertFiles } from './alert-net-servers.js';

const PYTHON = '/usr/bin/python3';
/** The mailers' clock; the mails' Date stays T0 (below). */
const { clock, timers: socketTimers, waitFor } = socketClock();

// The SMTP server: aiosmtpd's Controller (a thread running asyncio), one per port.
const SERVER_PY = String.raw`
import json, os, signal, ssl, sys, threading
from aiosmtpd.controller import Controller

out_dir, plain_port, tls_port, cert, key = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
lock = threading.Lock()
count = [0]

class Store:
    def __init__(self, name):
        self.name = name
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('reject'):
            return '550 5.1.1 <%s>: no such user' % address
        envelope.rcpt_tos.append(address)
        return '250 OK'
    async def handle_DATA(self, server, session, envelope):
        with lock:
            count[0] += 1
            n = count[0]
        rec = {
            'server': self.name,
            'mail_from': envelope.mail_from,
            'rcpt_tos': envelope.rcpt_tos,
            'data': envelope.original_content.decode('utf-8', 'replace'),
            'tls': session.ssl is not None,
            'helo': session.host_name,
            'esmtp': session.extended_smtp,
        }
        tmp = os.path.join(out_dir, '.%04d.tmp' % n)
        with open(tmp, 'w') as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(out_dir, '%04d.json' % n))
        return '250 2.0.0 Message accepted for delivery'

ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
plain = Controller(Store('plain'), hostname='127.0.0.1', port=plain_port)
secure = Controller(Store('starttls'), hostname='127.0.0.1', port=tls_port, tls_context=ctx, require_starttls=True)
plain.start()
secure.start()
print('READY', flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
stop.wait()
plain.stop()
secure.stop()
`;

interface Stored { server: string; mail_from: string; rcpt_tos: string[]; data: string; tls: boolean; helo: string; esmtp: boolean }

interface Aiosmtpd { plainPort: number; tlsPort: number; outDir: string; stored(): Stored[]; stop(): Promise<void> }

async function startAiosmtpd(cert: CertFiles): Promise<Aiosmtpd> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-smtp-'));
  const outDir = join(dir, 'mail');
  const script = join(dir, 'server.py');
  writeFileSync(script, SERVER_PY);
  mkdirSync(outDir);
  const plainPort = await closedPort();
  const tlsPort = await closedPort();
  const child: ChildProcess = spawn(PYTHON, [script, outDir, String(plainPort), String(tlsPort), cert.certFile, cert.keyFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => out.includes('READY') || child.exitCode !== null, 15_000, 'aiosmtpd to start');
    if (!out.includes('READY')) throw new Error(`aiosmtpd exited ${child.exitCode} (apt-get install python3-aiosmtpd): ${err}`);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    plainPort, tlsPort, outDir, stop,
    stored: () => readdirSync(outDir).filter((f) => f.endsWith('.json')).sort()
      .map((f) => JSON.parse(readFileSync(join(outDir, f), 'utf8')) as Stored),
  };
}

/** Headers of a stored message (unfolded), and its body. */
function parseMessage(data: string): { headers: Map<string, string>; body: string } {
  const [head, ...rest] = data.split(/\r?\n\r?\n/);
  const headers = new Map<string, string>();
  for (const line of head!.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return { headers, body: rest.join('\n\n').replace(/\r\n/g, '\n') };
}

const T0 = Date.parse('2025-01-02T03:04:05.000Z');
const master: AlertEvent = { type: 'vrrp_instance', instance: 'VI_1', state: 'MASTER', previous: 'BACKUP', priority: 150, reason: 'master_down_timer', time: T0 };

function options(port: number, extra: Partial<MailNotifierOptions> = {}): MailNotifierOptions {
  return {
    routerId: 'lb1', log: recordingLogger().log,
    server: { host: '127.0.0.1', port }, connectTimeoutMs: 2000, heloName: 'lb1.example.com',
    from: 'tandem@lb1.example.com', to: ['ops@example.com', 'oncall@example.com'],
    // Real sockets, real timeouts; the mails' Date is fixed.
    timers: { ...socketTimers, wallNow: () => T0 }, ...extra,
  };
}

function mailer(port: number, extra: Partial<MailNotifierOptions> = {}): MailNotifier {
  const m = new MailNotifier(options(port, extra));
  m.start();
  return m;
}

describe('smtp_alert against a real SMTP server (aiosmtpd)', () => {
  let cert: CertFiles;
  let smtpd: Aiosmtpd;
  const stops: MailNotifier[] = [];
  before(async () => {
    cert = selfSignedCertFiles('tandem-smtp-tls-');
    smtpd = await startAiosmtpd(cert);
  });
  after(async () => {
    for (const m of stops) await m.stop();
    await smtpd?.stop();
    cert?.remove();
  });

  test('a VRRP transition and a real server going down arrive with keepalived\'s subject, headers and envelope', async () => {
    const m = mailer(smtpd.plainPort);
    stops.push(m);
    const before = smtpd.stored().length;
    m.handle(master);
    m.handle({
      type: 'real_server', virtualServer: 'TCP 192.0.2.10:80', realServer: 'TCP 192.0.2.10:80 -> 198.51.100.1:80',
      service: { kind: 'inet', family: 4, protocol: 'TCP', address: '192.0.2.10', port: 80 }, dest: { address: '198.51.100.1', port: 80 },
      up: false, reason: 'connect_timeout', time: T0,
    });
    await waitFor(() => m.counters().delivered === 2, 10_000, () => JSON.stringify(m.counters()));
    const [vrrp, rs] = smtpd.stored().slice(before);
    assert.equal(vrrp!.server, 'plain');
    assert.equal(vrrp!.tls, false, 'no STARTTLS offered, so none used');
    assert.equal(vrrp!.esmtp, true, 'EHLO was used');
    assert.equal(vrrp!.helo, 'lb1.example.com');
    assert.equal(vrrp!.mail_from, 'tandem@lb1.example.com');
    assert.deepEqual(vrrp!.rcpt_tos, ['ops@example.com', 'oncall@example.com']);
    const msg = parseMessage(vrrp!.data);
    assert.equal(msg.headers.get('subject'), '[lb1] VRRP Instance VI_1 - Entering MASTER state');
    assert.equal(msg.headers.get('from'), 'tandem@lb1.example.com');
    assert.equal(msg.headers.get('to'), 'ops@example.com, oncall@example.com');
    assert.equal(msg.headers.get('date'), 'Thu, 02 Jan 2025 03:04:05 +0000');
    assert.match(msg.headers.get('message-id')!, /^<[0-9a-f-]{36}@lb1\.example\.com>$/);
    assert.equal(msg.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(msg.body.trimEnd(), [
      '=> VRRP Instance is now owning VRRP VIPs <=', '',
      'Reason: master_down_timer', 'Previous state: BACKUP', 'Priority: 150', 'Time: 2025-01-02T03:04:05.000Z', 'Router: lb1',
    ].join('\n'));
    const rsMsg = parseMessage(rs!.data);
    assert.equal(rsMsg.headers.get('subject'), '[lb1] Realserver [198.51.100.1]:tcp:80 of virtual server [192.0.2.10]:tcp:80 - DOWN');
    assert.match(rsMsg.body, /^=> CHECK failed on service <=\n\nReason: connect_timeout\n/);
    assert.deepEqual({ ...m.counters(), lastError: null }, { queued: 2, delivered: 2, failed: 0, dropped: 0, pending: 0, inFlight: false, lastError: null });
  });

  test('STARTTLS offered (and required by the server): upgraded, EHLO again, mail accepted under TLS', async () => {
    const m = mailer(smtpd.tlsPort);
    stops.push(m);
    const before = smtpd.stored().length;
    m.handle({ type: 'quorum', virtualServer: 'UDP [2001:db8::53]:53', service: { kind: 'inet', family: 6, protocol: 'UDP', address: '2001:db8::53', port: 53 }, up: true, reason: 'gained', time: T0 });
    await waitFor(() => m.counters().delivered + m.counters().failed === 1, 10_000, () => JSON.stringify(m.counters()));
    assert.equal(m.counters().delivered, 1, JSON.stringify(m.counters().lastError));
    const [stored] = smtpd.stored().slice(before);
    assert.equal(stored!.server, 'starttls');
    assert.equal(stored!.tls, true, 'the server saw the session under TLS');
    assert.equal(parseMessage(stored!.data).headers.get('subject'), '[lb1] Virtualserver [2001:db8::53]:udp:53 - UP');
    // The same server refuses mail in clear text: the requirement is real, so the check can fail.
    const plain = await rawSession(smtpd.tlsPort, ['EHLO x', 'MAIL FROM:<a@example.com>']);
    assert.match(plain.at(-1)!, /^530 /);
  });

  test('dot-stuffing: lines starting with "." arrive intact; the session reports TLS', async () => {
    const payload = composeMessage({ subject: 'dots', body: '.leading dot\n..two dots\n.\nend', date: new Date(T0) },
      { from: 'tandem@lb1.example.com', to: ['ops@example.com'], heloName: 'lb1.example.com' });
    const before = smtpd.stored().length;
    const r = await new SmtpSession({ server: { host: '127.0.0.1', port: smtpd.tlsPort }, connectTimeoutMs: 2000, heloName: 'lb1.example.com', from: 'tandem@lb1.example.com', to: ['ops@example.com'] }, payload, { timers: socketTimers }).run();
    assert.deepEqual(r, { ok: true, tls: true, rejectedRecipients: [] });
    const [stored] = smtpd.stored().slice(before);
    assert.equal(parseMessage(stored!.data).body, '.leading dot\n..two dots\n.\nend\n');
  });

  test('a refused recipient: the others still get the mail; all refused is a typed failure', async () => {
    const { log, lines } = recordingLogger();
    const m = mailer(smtpd.plainPort, { log, to: ['ops@example.com', 'reject-me@example.com'] });
    stops.push(m);
    const before = smtpd.stored().length;
    m.handle(master);
    await waitFor(() => m.counters().delivered === 1, 10_000, () => JSON.stringify(m.counters()));
    assert.deepEqual(smtpd.stored().slice(before).map((s) => s.rcpt_tos), [['ops@example.com']]);
    assert.ok(lines.some((l) => /WARN .*refused recipient\(s\) reject-me@example\.com/.test(l)), lines.join('\n'));

    const none = mailer(smtpd.plainPort, { to: ['reject-1@example.com', 'reject-2@example.com'] });
    stops.push(none);
    none.handle(master);
    await waitFor(() => none.counters().failed === 1, 10_000, () => JSON.stringify(none.counters()));
    assert.equal(none.counters().lastError?.reason, 'rcpt_to');
    assert.match(none.counters().lastError!.detail, /reject-1@example\.com: 550 .*reject-2@example\.com: 550/);
    assert.equal(smtpd.stored().length, before + 1, 'nothing more was stored');
  });

  test('several events: one session at a time, mails stored in event order', async () => {
    const m = mailer(smtpd.plainPort);
    stops.push(m);
    const before = smtpd.stored().length;
    const states = ['MASTER', 'BACKUP', 'FAULT', 'BACKUP', 'MASTER', 'STOP'];
    for (const state of states) m.handle({ ...master, state } as AlertEvent);
    await waitFor(() => m.counters().delivered === states.length, 15_000, () => JSON.stringify(m.counters()));
    const subjects = smtpd.stored().slice(before).map((s) => parseMessage(s.data).headers.get('subject'));
    assert.deepEqual(subjects, [
      '[lb1] VRRP Instance VI_1 - Entering MASTER state', '[lb1] VRRP Instance VI_1 - Entering BACKUP state',
      '[lb1] VRRP Instance VI_1 - Entering FAULT state', '[lb1] VRRP Instance VI_1 - Entering BACKUP state',
      '[lb1] VRRP Instance VI_1 - Entering MASTER state', '[lb1] VRRP Instance VI_1 - Stopping',
    ]);
  });
});

describe('smtp_alert when the SMTP server is down or misbehaves', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  after(async () => { for (const c of cleanup.reverse()) await c(); });

  test('server down: "refused" at once; handle() never blocks and the loop keeps running', async () => {
    const port = await closedPort();
    const { log, lines } = recordingLogger();
    const m = mailer(port, { log, connectTimeoutMs: 1000 });
    cleanup.push(() => m.stop());
    const t0 = clock.now();
    for (let i = 0; i < 3; i++) m.handle(master);
    // handle() only enqueues: the session starts on a later turn of the loop.
    assert.deepEqual({ pending: m.counters().pending, inFlight: m.counters().inFlight }, { pending: 3, inFlight: false }, 'handle() returned at once');
    await waitReal(() => m.counters().failed === 3, 5000, () => JSON.stringify(m.counters()));
    assert.equal(clock.now(), t0, 'refusals do not wait for smtp_connect_timeout (the clock never moved)');
    assert.equal(m.counters().lastError?.reason, 'refused');
    const failLines = lines.filter((l) => l.includes('not sent via'));
    assert.equal(failLines.length, 1, 'failures are logged at a limited rate');
    assert.match(failLines[0]!, /smtp_alert: "\[lb1\] VRRP Instance VI_1 - Entering MASTER state" not sent via 127\.0\.0\.1:\d+: refused/);
  });

  test('a server that accepts and never greets: "timeout" after smtp_connect_timeout, without stalling the loop', async () => {
    const srv = await scripted(() => undefined, null);
    cleanup.push(() => srv.close());
    const m = mailer(srv.port, { connectTimeoutMs: 300 });
    cleanup.push(() => m.stop());
    m.handle(master);
    // The session waits for the greeting without holding the loop: this real-time wait runs.
    await waitReal(() => srv.accepted === 1, 5000, 'the session to connect');
    await new Promise((res) => setTimeout(res, 20));
    clock.advance(299);
    await new Promise((res) => setImmediate(res));
    assert.equal(m.counters().failed, 0, 'still waiting 1 ms before smtp_connect_timeout');
    clock.advance(1);
    await waitReal(() => m.counters().failed === 1, 5000, () => JSON.stringify(m.counters()));
    assert.equal(m.counters().lastError?.reason, 'timeout');
    assert.match(m.counters().lastError!.detail, /no reply to the greeting within 300 ms/);
  });

  test('EHLO refused: falls back to HELO and sends', async () => {
    const seen: string[] = [];
    const srv = await scripted((cmd) => {
      seen.push(cmd);
      if (cmd.startsWith('EHLO')) return '502 5.5.1 command not implemented';
      if (cmd.startsWith('HELO')) return '250 hello';
      if (cmd.startsWith('MAIL') || cmd.startsWith('RCPT')) return '250 ok';
      if (cmd === 'DATA') return '354 go ahead';
      if (cmd === '.') return '250 queued';
      if (cmd === 'QUIT') return '221 bye';
      return undefined;
    });
    cleanup.push(() => srv.close());
    const m = mailer(srv.port);
    cleanup.push(() => m.stop());
    m.handle(master);
    await waitFor(() => m.counters().delivered === 1, 5000, () => JSON.stringify(m.counters()));
    assert.deepEqual(seen.filter((c) => !c.startsWith('RCPT')).slice(0, 4), ['EHLO lb1.example.com', 'HELO lb1.example.com', 'MAIL FROM:<tandem@lb1.example.com>', 'DATA']);
    assert.equal(srv.maxConcurrent, 1);
  });

  test('events arriving while a session is in progress wait for it: one session at a time, in order', async () => {
    const srv = await scripted(acceptAll, '220 slow ESMTP', 5);
    cleanup.push(() => srv.close());
    const m = mailer(srv.port);
    cleanup.push(() => m.stop());
    const states = ['MASTER', 'BACKUP', 'FAULT', 'BACKUP', 'MASTER'];
    for (const state of states) {
      m.handle({ ...master, state } as AlertEvent);
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(() => m.counters().delivered === states.length, 10_000, () => JSON.stringify(m.counters()));
    assert.equal(srv.maxConcurrent, 1);
    assert.deepEqual(srv.subjects.map((x) => x.replace(/^.* - /, '')), [
      'Entering MASTER state', 'Entering BACKUP state', 'Entering FAULT state', 'Entering BACKUP state', 'Entering MASTER state']);
  });

  const failures: Array<{ name: string; reply: (cmd: string) => string | undefined; greeting?: string; reason: string }> = [
    { name: 'greeting 554', greeting: '554 no service', reply: () => undefined, reason: 'greeting' },
    { name: 'not SMTP', greeting: 'HTTP/1.1 400 Bad Request', reply: () => undefined, reason: 'bad_reply' },
    { name: 'EHLO and HELO refused', reply: (c) => (c.startsWith('EHLO') || c.startsWith('HELO') ? '550 go away' : undefined), reason: 'helo' },
    { name: 'MAIL FROM refused', reply: (c) => (c.startsWith('EHLO') ? '250 hi' : c.startsWith('MAIL') ? '553 sender refused' : undefined), reason: 'mail_from' },
    { name: 'DATA refused', reply: (c) => (c.startsWith('EHLO') || c.startsWith('MAIL') || c.startsWith('RCPT') ? '250 ok' : c === 'DATA' ? '554 no data' : undefined), reason: 'data' },
    { name: 'message refused after the dot', reply: (c) => (c === 'DATA' ? '354 go' : c === '.' ? '554 5.7.1 spam' : c.startsWith('E') || c.startsWith('M') || c.startsWith('R') ? '250 ok' : undefined), reason: 'message' },
    { name: 'the server hangs up after MAIL FROM', reply: (c) => (c.startsWith('EHLO') ? '250 hi' : c.startsWith('MAIL') ? 'CLOSE' : undefined), reason: 'connection' },
  ];
  for (const f of failures) {
    test(`${f.name}: typed failure "${f.reason}"`, async () => {
      const srv = await scripted(f.reply, f.greeting);
      cleanup.push(() => srv.close());
      const m = mailer(srv.port, { connectTimeoutMs: 1000 });
      cleanup.push(() => m.stop());
      m.handle(master);
      await waitFor(() => m.counters().failed === 1, 5000, () => JSON.stringify(m.counters()));
      assert.equal(m.counters().lastError?.reason, f.reason, JSON.stringify(m.counters().lastError));
    });
  }

  test('queue overflow: the oldest mails are dropped and counted', async () => {
    const srv = await scripted(() => undefined, null);
    cleanup.push(() => srv.close());
    const { log, lines } = recordingLogger();
    const m = mailer(srv.port, { log, queueSize: 2, connectTimeoutMs: 200 });
    cleanup.push(() => m.stop());
    for (let i = 0; i < 6; i++) m.handle({ ...master, instance: `VI_${i}` } as AlertEvent);
    assert.deepEqual({ queued: m.counters().queued, dropped: m.counters().dropped, pending: m.counters().pending }, { queued: 6, dropped: 4, pending: 2 });
    await waitFor(() => m.counters().failed === 2, 5000, () => JSON.stringify(m.counters()));
    assert.equal(srv.accepted, 2, 'only the two newest were attempted');
    assert.equal(srv.maxConcurrent, 1, 'one session at a time');
    assert.equal(lines.filter((l) => l.includes('queue full')).length, 1);
  });

  test('stop() aborts the session in progress at once and drops the queue', async () => {
    const srv = await scripted(() => undefined, null);
    cleanup.push(() => srv.close());
    const m = mailer(srv.port, { connectTimeoutMs: 10_000 });
    m.handle(master);
    m.handle(master);
    await waitReal(() => srv.accepted === 1, 2000, 'the session to connect');
    const t0 = clock.now();
    await m.stop();
    assert.equal(clock.now(), t0, 'stop() resolved with the clock unmoved: it did not wait for the 10 s timeout');
    await waitFor(() => srv.open === 0, 2000, 'the connection to close');
    m.handle(master);
    assert.deepEqual({ ...m.counters(), lastError: null }, { queued: 2, delivered: 0, failed: 0, dropped: 0, pending: 0, inFlight: false, lastError: null });
  });
});

interface Scripted { port: number; accepted: number; open: number; maxConcurrent: number; subjects: string[]; close(): Promise<void> }

/**
 * A line-based fake SMTP server: greets with `greeting` (null: accepts and never says anything),
 * answers each command with `reply(cmd)` (undefined: no answer; 'CLOSE': hang up). During DATA
 * it skips lines up to "." and then asks reply('.').
 */
async function scripted(reply: (cmd: string) => string | undefined, greeting: string | null = '220 fake ESMTP', delayMs = 0): Promise<Scripted> {
  const sockets = new Set<Socket>();
  const r: Scripted = { port: 0, accepted: 0, open: 0, maxConcurrent: 0, subjects: [], close: async () => {} };
  const server: Server = createServer((s) => {
    sockets.add(s);
    r.accepted++;
    r.open++;
    r.maxConcurrent = Math.max(r.maxConcurrent, r.open);
    // A session counts as open until its QUIT (or its close): the client moves on after the
    // reply to QUIT, possibly before this side has seen the close.
    let ended = false;
    const end = () => { if (!ended) { ended = true; r.open--; } };
    s.on('error', () => {});
    s.on('close', () => { sockets.delete(s); end(); });
    if (greeting === null) return;
    s.write(`${greeting}\r\n`);
    let buf = '';
    let inData = false;
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData && line !== '.') {
          if (line.startsWith('Subject: ')) r.subjects.push(line.slice('Subject: '.length));
          continue;
        }
        inData = false;
        if (line === 'QUIT') end();
        const out = reply(line);
        if (out === 'CLOSE') { s.destroy(); return; }
        if (out !== undefined) {
          if (delayMs > 0) setTimeout(() => { if (!s.destroyed) s.write(`${out}\r\n`); }, delayMs);
          else s.write(`${out}\r\n`);
        }
        if (line === 'DATA' && out?.startsWith('354')) inData = true;
      }
    });
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()); });
  r.port = (server.address() as AddressInfo).port;
  r.close = () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); });
  return r;
}

function acceptAll(cmd: string): string | undefined {
  if (cmd.startsWith('EHLO') || cmd.startsWith('MAIL') || cmd.startsWith('RCPT')) return '250 ok';
  if (cmd === 'DATA') return '354 go ahead';
  if (cmd === '.') return '250 queued';
  if (cmd === 'QUIT') return '221 bye';
  return undefined;
}

/** Sends commands one by one in clear text and returns every reply line. */
async function rawSession(port: number, commands: string[]): Promise<string[]> {
  const s = connect(port, '127.0.0.1');
  const lines: string[] = [];
  let buf = '';
  let waiting: (() => void) | undefined;
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    let i;
    while ((i = buf.indexOf('\r\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 2);
      lines.push(l);
      if (/^\d{3} /.test(l)) waiting?.();
    }
  });
  s.on('error', () => {});
  const nextReply = () => new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no reply; got ${lines.join(' | ')}`)), 3000);
    waiting = () => { clearTimeout(t); waiting = undefined; resolve(); };
  });
  try {
    await nextReply();
    for (const c of commands) {
      const p = nextReply();
      s.write(`${c}\r\n`);
      await p;
    }
    return lines;
  } finally {
    s.destroy();
  }
}
