// SMTP_CHECK against a scripted responder on net (exact replies, hostile ones) and against a real
// SMTP server, aiosmtpd (Debian package python3-aiosmtpd), started by the test.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { probeSmtp, SmtpReplyReader, type SmtpProbeParams } from '../../src/check/probes/smtp.js';
import { closedPort, hostileServer, since, tcpServer, type HostileMode } from './probes-servers.js';

function smtpParams(port: number, extra: Partial<SmtpProbeParams> = {}): SmtpProbeParams {
  return { connectIp: '127.0.0.1', connectPort: port, bindTo: undefined, bindPort: undefined, heloName: 'checker.example.test', ...extra };
}

/** A scripted SMTP server: `banner` on connect, then `answer(line)` for each command line. */
function scripted(banner: string | null, answer: (line: string) => string | null, log: string[] = []) {
  return tcpServer('127.0.0.1', (s: Socket) => {
    if (banner !== null) s.write(banner);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (let eol = buf.indexOf('\r\n'); eol >= 0; eol = buf.indexOf('\r\n')) {
        const line = buf.slice(0, eol);
        buf = buf.slice(eol + 2);
        log.push(line);
        const a = answer(line);
        if (a === null) continue;
        s.write(a);
        if (line === 'QUIT') s.end();
      }
    });
  });
}

const polite = (line: string): string => line.startsWith('HELO ') ? '250 mail.example.test\r\n' : line === 'QUIT' ? '221 Bye\r\n' : '500 what\r\n';

describe('SMTP_CHECK against a scripted server', () => {
  test('220 banner, HELO <helo_name> answered 250, QUIT: up', async () => {
    const log: string[] = [];
    const srv = await scripted('220 mail.example.test ESMTP\r\n', polite, log);
    try {
      assert.deepEqual(await probeSmtp(smtpParams(srv.port), { timeoutMs: 1000 }), { ok: true });
      assert.deepEqual(log, ['HELO checker.example.test', 'QUIT']);
    } finally { await srv.close(); }
  });

  test('multi-line replies are read whole (RFC 5321 §4.2.1)', async () => {
    const srv = await scripted('220-mail.example.test\r\n220-more banner\r\n220 ready\r\n',
      (l) => l.startsWith('HELO') ? '250-mail\r\n250-PIPELINING\r\n250 8BITMIME\r\n' : '221 bye\r\n');
    try {
      assert.deepEqual(await probeSmtp(smtpParams(srv.port), { timeoutMs: 1000 }), { ok: true });
    } finally { await srv.close(); }
  });

  test('a 554 greeting is smtp_banner; a 501 to HELO is smtp_helo', async () => {
    const refusing = await scripted('554 no service here\r\n', polite);
    const picky = await scripted('220 ok\r\n', (l) => l.startsWith('HELO') ? '501 Syntax: HELO hostname\r\n' : '221 bye\r\n');
    try {
      const a = await probeSmtp(smtpParams(refusing.port), { timeoutMs: 1000 });
      assert.deepEqual(a, { ok: false, reason: 'smtp_banner', detail: 'greeting 554 no service here' });
      const b = await probeSmtp(smtpParams(picky.port), { timeoutMs: 1000 });
      assert.deepEqual(b, { ok: false, reason: 'smtp_helo', detail: 'HELO answered 501 Syntax: HELO hostname' });
    } finally { await refusing.close(); await picky.close(); }
  });

  test('QUIT unanswered but the server closes: still up (the check passed at 250)', async () => {
    const srv = await scripted('220 ok\r\n', (l) => l.startsWith('HELO') ? '250 ok\r\n' : null);
    const closing = await tcpServer('127.0.0.1', (s) => {
      s.write('220 ok\r\n');
      s.once('data', () => { s.write('250 ok\r\n'); s.once('data', () => s.end()); });
    });
    try {
      assert.deepEqual(await probeSmtp(smtpParams(closing.port), { timeoutMs: 1000 }), { ok: true });
      // A server that ignores QUIT and keeps the connection: the deadline decides.
      const r = await probeSmtp(smtpParams(srv.port), { timeoutMs: 200 });
      assert.equal(!r.ok && r.reason, 'timeout');
    } finally { await srv.close(); await closing.close(); }
  });

  test('the reply reader bounds what it buffers', () => {
    const r = new SmtpReplyReader();
    assert.equal(r.push(Buffer.from('220-a\r\n')), null);
    assert.deepEqual(r.push(Buffer.from('220 b\r\n250 c\r\n')), { kind: 'reply', code: 220, text: 'a / b' });
    assert.deepEqual(r.next(), { kind: 'reply', code: 250, text: 'c' });
    assert.equal(r.next(), null);
    const big = new SmtpReplyReader();
    assert.equal(big.push(Buffer.alloc(20_000, 'x'))?.kind, 'garbage');
  });
});

describe('SMTP_CHECK hostile servers: a clean verdict within the timeout', () => {
  const TIMEOUT = 300;
  const cases: Array<[HostileMode, string, boolean]> = [
    ['silent', 'timeout', false],
    ['garbage', 'bad_response', true],
    ['trickle', 'timeout', false],
    ['reset', 'reset', true],
  ];
  for (const [mode, reason, early] of cases) {
    test(`${mode}: ${reason}`, async () => {
      const srv = await hostileServer('127.0.0.1', mode);
      try {
        const t0 = performance.now();
        const r = await probeSmtp(smtpParams(srv.port), { timeoutMs: TIMEOUT });
        const took = since(t0);
        assert.equal(!r.ok && r.reason, reason, JSON.stringify(r));
        // A timeout is the probe's own deadline (and not earlier: a lower bound a slow machine
        // cannot break); an early verdict is another reason than 'timeout'.
        if (!early) assert.deepEqual(r, { ok: false, reason: 'timeout', detail: `no verdict within ${TIMEOUT} ms` });
        if (!early) assert.ok(took >= TIMEOUT - 5);
      } finally { await srv.close(); }
    });
  }

  test('closed port: refused', async () => {
    const r = await probeSmtp(smtpParams(await closedPort('127.0.0.1')), { timeoutMs: TIMEOUT });
    assert.equal(!r.ok && r.reason, 'refused');
  });

  test('a greeting, then the server hangs up before answering HELO: bad_response', async () => {
    const srv = await tcpServer('127.0.0.1', (s) => { s.write('220 hi\r\n'); s.once('data', () => s.end()); });
    try {
      const r = await probeSmtp(smtpParams(srv.port), { timeoutMs: TIMEOUT });
      assert.equal(!r.ok && r.reason, 'bad_response');
    } finally { await srv.close(); }
  });
});

describe('SMTP_CHECK against a real SMTP server (aiosmtpd)', () => {
  test('aiosmtpd on 127.0.0.1 is up; stopped, it is refused', async () => {
    const port = await closedPort('127.0.0.1');
    const python = '/usr/bin/python3';
    const child: ChildProcess = spawn(python, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += d; });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      await waitListening(port, 10_000, () => child.exitCode !== null
        ? `aiosmtpd exited ${child.exitCode} (apt-get install python3-aiosmtpd): ${stderr}` : undefined);
      assert.deepEqual(await probeSmtp(smtpParams(port), { timeoutMs: 2000 }), { ok: true });
      assert.deepEqual(await probeSmtp(smtpParams(port, { heloName: 'other.example.test' }), { timeoutMs: 2000 }), { ok: true });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const r = await probeSmtp(smtpParams(port), { timeoutMs: 1000 });
    assert.equal(!r.ok && r.reason, 'refused');
  });
});

/** Polls until something accepts on 127.0.0.1:port; `dead()` returns why to stop early. */
async function waitListening(port: number, timeoutMs: number, dead: () => string | undefined): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (let i = 0; i < 1000 && performance.now() < until; i++) {
    const why = dead();
    if (why) throw new Error(why);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => { s.destroy(); resolve(false); });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms (is python3-aiosmtpd installed?)`);
}
