// E-mail alerts: keepalived's `smtp_alert` (keepalived/core/smtp.c), over node:net and node:tls,
// no dependency.
//
// One SMTP session per event (RFC 5321 §3): read the 220 greeting; EHLO, or HELO when the server
// rejects EHLO (RFC 5321 §3.2); when the EHLO reply offers STARTTLS, upgrade (RFC 3207) and EHLO
// again; MAIL FROM:<notification_email_from>; RCPT TO:<a> for each of notification_email; DATA
// with From/To/Subject/Date/Message-ID headers, dot-stuffed (RFC 5321 §4.5.2); QUIT.
// keepalived itself only speaks HELO in clear text; EHLO and STARTTLS are tandem's additions.
//
// TLS: as keepalived (which has no TLS at all, and never verifies anything), the SMTP server's
// certificate is NOT verified by default: the relay is usually a local smarthost with a
// self-signed certificate, and an alert that is not sent because of a certificate is worse than
// one sent over an unauthenticated TLS channel. STARTTLS is opportunistic: when the server does
// not offer it, or answers STARTTLS with an error, the mail goes in clear text (as keepalived's).
// `verifyCertificate` (and `ca`) make the upgrade authenticated; a failed verification then
// fails the session ('tls').
//
// Timeouts: smtp_connect_timeout (keepalived: default 30 s) bounds the connection and then each
// wait for a reply, as keepalived's smtp_connection_to does for each read; a session has a
// fixed number of steps, so it ends within (steps x timeout) whatever the server does.
// Failures: no retry (keepalived does not retry either); every failure is a typed reason,
// counted, kept as lastError and logged at a limited rate.
import { randomUUID } from 'node:crypto';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { RateLimitedLog, type Logger } from '../log.js';
import { VERSION } from '../version.js';
import { BoundedQueue } from './boundedQueue.js';
import { mailText } from './eventFormat.js';
import type { AlertEvent } from './events.js';
import type { TimerHandle, Timers } from '../timers.js';

/** The mail part of the config, resolved (src/config/netAlerts.ts). */
export interface MailTarget {
  server: { host: string; port: number };
  connectTimeoutMs: number;
  heloName: string;
  from: string;
  to: readonly string[];
}

export const MAIL_DEFAULTS = {
  port: 25,
  /** keepalived's default smtp_connect_timeout (global_data.c set_default_smtp_connection_timeout). */
  connectTimeoutMs: 30_000,
  queueSize: 256,
  verifyCertificate: false,
} as const;

export type MailFailureReason =
  | 'connect_timeout' // no TCP connection within the timeout
  | 'refused' // ECONNREFUSED: the SMTP server is down
  | 'dns' // smtp_server's host name did not resolve
  | 'connection' // reset, unreachable, closed by the server mid-session
  | 'timeout' // connected, but a reply did not come within the timeout
  | 'bad_reply' // not SMTP (no reply code, or an endless reply)
  | 'greeting' // the greeting was not 220
  | 'helo' // EHLO and HELO both refused
  | 'tls' // the STARTTLS handshake failed (or the certificate, when verified)
  | 'mail_from' // MAIL FROM refused
  | 'rcpt_to' // every RCPT TO refused
  | 'data' // DATA refused
  | 'message'; // the message was refused after the final dot

export type MailResult =
  | { ok: true; tls: boolean; rejectedRecipients: string[] }
  | { ok: false; reason: MailFailureReason; detail: string };

export interface MailError {
  reason: MailFailureReason;
  detail: string;
  /** Wall-clock time, ISO 8601. */
  at: string;
}

export interface MailCounters {
  /** Events accepted into the queue. */
  queued: number;
  /** Messages the server accepted (250 after the final dot). */
  delivered: number;
  failed: number;
  /** Events evicted from a full queue before being sent. */
  dropped: number;
  pending: number;
  inFlight: boolean;
  lastError: MailError | null;
}

export interface ComposedMail {
  subject: string;
  body: string;
  /** Wall-clock time for the Date header. */
  date: Date;
}

export interface MailNotifierOptions extends MailTarget {
  routerId: string;
  log: Logger;
  queueSize?: number;
  /** Verify the SMTP server's certificate on STARTTLS (default false, as keepalived). */
  verifyCertificate?: boolean;
  /** PEM CA(s) to verify against (with verifyCertificate). */
  ca?: string;
  /** smtp_alert: which events are mailed (smtpAlertFilter(config)); default every event. */
  wants?: (event: AlertEvent) => boolean;
  /** The pump's next turn, the SMTP timeouts, the log rate limit's clock and the mails' Date
   *  (src/timers.ts). */
  timers: Timers;
  logIntervalMs?: number;
}

export class MailNotifier {
  private readonly queue: BoundedQueue<ComposedMail>;
  private readonly rl: RateLimitedLog;
  private started = false;
  private stopped = false;
  private busy = false;
  private pumpScheduled: TimerHandle | undefined;
  private session: SmtpSession | undefined;
  private settled: Promise<unknown> = Promise.resolve();
  private readonly n = { queued: 0, delivered: 0, failed: 0 };
  private lastError: MailError | null = null;

  constructor(private readonly opts: MailNotifierOptions) {
    this.queue = new BoundedQueue<ComposedMail>(opts.queueSize ?? MAIL_DEFAULTS.queueSize);
    this.rl = new RateLimitedLog(opts.log, () => opts.timers.now(), opts.logIntervalMs ?? 10_000);
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.schedulePump();
  }

  /** Composes the mail and enqueues it. Synchronous and never blocks. */
  handle(event: AlertEvent): void {
    if (this.stopped || this.opts.to.length === 0) return;
    if (this.opts.wants && !this.opts.wants(event)) return;
    const { subject, body } = mailText(event, this.opts.routerId);
    this.n.queued++;
    if (this.queue.push({ subject, body, date: new Date(this.opts.timers.wallNow()) }) !== undefined) {
      this.rl.warn('dropped', `smtp_alert: queue full (${this.queue.capacity}), dropped the oldest mail; ${this.queue.dropped} dropped so far`);
    }
    this.schedulePump();
  }

  /** Drops what is queued, aborts the session in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.opts.timers.clear(this.pumpScheduled);
    this.pumpScheduled = undefined;
    this.queue.clear();
    this.session?.abort();
    await this.settled;
  }

  /** A reload changed which instances, groups and servers mail (their smtp_alert flags); queued
   *  mails are kept. */
  setFilter(wants: (event: AlertEvent) => boolean): void {
    this.opts.wants = wants;
  }

  counters(): MailCounters {
    return { ...this.n, dropped: this.queue.dropped, pending: this.queue.size, inFlight: this.busy, lastError: this.lastError };
  }

  private schedulePump(): void {
    if (!this.started || this.stopped || this.busy || this.pumpScheduled) return;
    this.pumpScheduled = this.opts.timers.setImmediate(() => {
      this.pumpScheduled = undefined;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped || this.busy) return;
    const mail = this.queue.shift();
    if (!mail) return;
    this.busy = true;
    const session = new SmtpSession(this.opts, composeMessage(mail, this.opts), this.opts);
    this.session = session;
    this.settled = session.run().then((r) => {
      this.session = undefined;
      this.busy = false;
      if (this.stopped) return;
      if (r.ok) {
        this.n.delivered++;
        if (r.rejectedRecipients.length) {
          this.rl.warn('rejected', `smtp_alert: ${this.hostPort()} refused recipient(s) ${r.rejectedRecipients.join(', ')}; sent to the others`);
        }
      } else {
        this.n.failed++;
        this.lastError = { reason: r.reason, detail: r.detail, at: new Date(this.opts.timers.wallNow()).toISOString() };
        this.rl.warn('failed', `smtp_alert: "${mail.subject}" not sent via ${this.hostPort()}: ${r.reason} (${r.detail})`);
      }
      this.schedulePump();
    });
  }

  private hostPort(): string {
    const { host, port } = this.opts.server;
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }
}

/** The parts of the config that mail reads (tandem's Config has them). */
export interface MailConfigView {
  global: { routerId: string; mail: (MailTarget & { groupSmtpAlert: boolean }) | undefined };
  vrrpInstances: ReadonlyArray<{ name: string; smtpAlert: boolean }>;
  /** A group's own smtp_alert (resolved against the global default); absent: the global default. */
  vrrpSyncGroups?: ReadonlyArray<{ name: string; smtpAlert: boolean }>;
  virtualServers: ReadonlyArray<{ key: string; smtpAlert?: boolean; realServers: ReadonlyArray<{ id: string; smtpAlert?: boolean }> }>;
}

/**
 * The MailNotifier for a config: undefined when mail is not configured (keepalived sends
 * nothing without notification_email and smtp_server either). Not started.
 */
export function mailNotifierFor(
  config: MailConfigView, log: Logger, timers: Timers, extra: Partial<MailNotifierOptions> = {},
): MailNotifier | undefined {
  const mail = config.global.mail;
  if (!mail) return undefined;
  return new MailNotifier({
    server: mail.server, connectTimeoutMs: mail.connectTimeoutMs, heloName: mail.heloName, from: mail.from, to: mail.to,
    routerId: config.global.routerId, log, timers, wants: smtpAlertFilter(config), ...extra,
  });
}

/**
 * Which events smtp_alert mails, from the resolved config (keepalived's rules: an instance or
 * virtual server mails when its smtp_alert is on; a real server's smtp_alert defaults to on; a
 * sync group mails when its own smtp_alert, or else the global VRRP default, is on).
 */
export function smtpAlertFilter(config: MailConfigView): (event: AlertEvent) => boolean {
  const groupDefault = config.global.mail?.groupSmtpAlert ?? false;
  const groupOwn = new Map((config.vrrpSyncGroups ?? []).map((g) => [g.name, g.smtpAlert]));
  const instances = new Set(config.vrrpInstances.filter((i) => i.smtpAlert).map((i) => i.name));
  const vss = new Set(config.virtualServers.filter((v) => v.smtpAlert ?? false).map((v) => v.key));
  const rss = new Set(config.virtualServers.flatMap((v) => v.realServers.filter((r) => r.smtpAlert ?? true).map((r) => r.id)));
  return (e) => {
    switch (e.type) {
      case 'vrrp_instance': return instances.has(e.instance);
      case 'vrrp_group': return groupOwn.get(e.group) ?? groupDefault;
      case 'quorum': return vss.has(e.virtualServer);
      case 'real_server': return rss.has(e.realServer);
    }
  };
}

// ---- the message ---------------------------------------------------------------------------

/** The DATA payload: headers, a blank line, the body; CRLF line ends, not yet dot-stuffed. */
export function composeMessage(mail: ComposedMail, p: { from: string; to: readonly string[]; heloName: string }): string {
  const ascii = /^[\x00-\x7f]*$/.test(mail.body);
  const body = mail.body.replace(/\r?\n/g, '\r\n');
  const headers = [
    `Date: ${rfc5322Date(mail.date)}`,
    `From: ${oneLine(p.from)}`,
    `To: ${p.to.map(oneLine).join(', ')}`,
    `Subject: ${encodeHeader(oneLine(mail.subject))}`,
    `Message-ID: <${randomUUID()}@${oneLine(p.heloName).replace(/[<>\s]/g, '')}>`,
    `X-Mailer: tandem/${VERSION}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Transfer-Encoding: ${ascii ? '7bit' : 'base64'}`,
  ];
  const text = ascii ? body : (Buffer.from(mail.body, 'utf8').toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
  return `${headers.join('\r\n')}\r\n\r\n${text}\r\n`;
}

/** RFC 5321 §4.5.2: a line starting with "." gets one more; the payload ends with CRLF.CRLF. */
export function dotStuff(payload: string): string {
  const withEol = payload.endsWith('\r\n') ? payload : `${payload}\r\n`;
  return `${withEol.replace(/^\./gm, '..')}.\r\n`;
}

/** RFC 5322 §3.3 date-time, in UTC: `Tue, 05 Mar 2024 10:00:00 +0000`. */
export function rfc5322Date(d: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${day}, ${p2(d.getUTCDate())} ${mon} ${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
}

/** Header values never carry CR or LF (header injection). */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

/** RFC 2047 encoded-word when the text is not ASCII. */
function encodeHeader(s: string): string {
  return /^[\x20-\x7e]*$/.test(s) ? s : `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;
}

// ---- the SMTP session ----------------------------------------------------------------------

class SmtpFailure extends Error {
  constructor(readonly reason: MailFailureReason, readonly detail: string) { super(detail); }
}

interface Reply { code: number; lines: string[] }

/** A reply longer than this is not an SMTP server talking (RFC 5321 §4.5.3.1.5: 512 per line). */
const MAX_REPLY_BYTES = 16 * 1024;

/** Splits a byte stream into complete SMTP replies (RFC 5321 §4.2.1: `250-` continues). */
class ReplyReader {
  private buffered = '';
  private lines: string[] = [];
  private bytes = 0;

  push(chunk: Buffer): void { this.buffered += chunk.toString('latin1'); }

  /** The next complete reply, null when more bytes are needed; throws on garbage. */
  next(): Reply | null {
    for (;;) {
      const eol = this.buffered.indexOf('\n');
      if (eol < 0) {
        if (this.buffered.length + this.bytes > MAX_REPLY_BYTES) throw new SmtpFailure('bad_reply', `no complete reply within ${MAX_REPLY_BYTES} bytes`);
        return null;
      }
      const line = this.buffered.slice(0, eol).replace(/\r$/, '');
      this.buffered = this.buffered.slice(eol + 1);
      const m = /^(\d{3})([ -]|$)(.*)$/.exec(line);
      if (!m) throw new SmtpFailure('bad_reply', `not an SMTP reply: ${JSON.stringify(line.slice(0, 60))}`);
      this.lines.push(m[3]!);
      this.bytes += line.length;
      if (m[2] === '-') {
        if (this.bytes > MAX_REPLY_BYTES) throw new SmtpFailure('bad_reply', `no complete reply within ${MAX_REPLY_BYTES} bytes`);
        continue;
      }
      const reply = { code: Number(m[1]), lines: this.lines };
      this.lines = [];
      this.bytes = 0;
      return reply;
    }
  }
}

interface SessionOptions {
  verifyCertificate?: boolean;
  ca?: string;
  /** The connect, TLS and reply timeouts. */
  timers: Timers;
}

/** One SMTP conversation for one message. run() resolves once, never rejects. */
export class SmtpSession {
  private socket: Socket | TLSSocket | undefined;
  private readonly reader = new ReplyReader();
  private waiter: { resolve: (r: Reply) => void; reject: (e: SmtpFailure) => void } | undefined;
  private broken: SmtpFailure | undefined;
  private aborted = false;
  private tls = false;

  constructor(private readonly target: MailTarget, private readonly payload: string, private readonly opts: SessionOptions) {}

  abort(): void {
    this.aborted = true;
    this.fail(new SmtpFailure('connection', 'aborted (stopping)'));
    this.socket?.destroy();
  }

  async run(): Promise<MailResult> {
    try {
      const r = await this.converse();
      return r;
    } catch (e) {
      const f = e instanceof SmtpFailure ? e : new SmtpFailure('connection', (e as Error).message);
      return { ok: false, reason: f.reason, detail: f.detail };
    } finally {
      this.socket?.destroy();
    }
  }

  private async converse(): Promise<MailResult> {
    const t = this.target;
    await this.connect();
    const greeting = await this.reply('the greeting');
    if (greeting.code !== 220) throw new SmtpFailure('greeting', `greeting ${describe(greeting)}`);

    let ext = await this.hello();
    if (ext.has('STARTTLS')) {
      const r = await this.command('STARTTLS', 'STARTTLS');
      // RFC 3207 §4: after a refusal the session goes on in clear text (opportunistic TLS).
      if (r.code === 220) {
        await this.upgrade();
        // RFC 3207 §4.2: forget what the server said before TLS and ask again.
        ext = await this.hello(true);
      }
    }

    const mail = await this.command(`MAIL FROM:<${t.from}>`, 'MAIL FROM');
    if (mail.code !== 250) throw new SmtpFailure('mail_from', `MAIL FROM answered ${describe(mail)}`);
    const rejected: string[] = [];
    const why: string[] = [];
    for (const rcpt of t.to) {
      const r = await this.command(`RCPT TO:<${rcpt}>`, 'RCPT TO');
      // 251: "user not local; will forward" is an acceptance too (RFC 5321 §4.2.2).
      if (r.code !== 250 && r.code !== 251) { rejected.push(rcpt); why.push(`${rcpt}: ${describe(r)}`); }
    }
    if (rejected.length === t.to.length) throw new SmtpFailure('rcpt_to', `every recipient refused (${why.join('; ')})`);
    const data = await this.command('DATA', 'DATA');
    if (data.code !== 354) throw new SmtpFailure('data', `DATA answered ${describe(data)}`);
    this.write(dotStuff(this.payload));
    const accepted = await this.reply('the message');
    if (accepted.code !== 250) throw new SmtpFailure('message', `message refused: ${describe(accepted)}`);
    // The mail is accepted; QUIT is courtesy, and its answer (or silence) changes nothing.
    try {
      await this.command('QUIT', 'QUIT');
    } catch { /* ignored */ }
    return { ok: true, tls: this.tls, rejectedRecipients: rejected };
  }

  /** EHLO, falling back to HELO (RFC 5321 §3.2); the set of EHLO keywords (upper case). */
  private async hello(afterTls = false): Promise<Set<string>> {
    const ehlo = await this.command(`EHLO ${this.target.heloName}`, 'EHLO');
    if (ehlo.code === 250) return new Set(ehlo.lines.slice(1).map((l) => l.trim().split(/\s+/)[0]!.toUpperCase()));
    // After STARTTLS the server already spoke ESMTP: no HELO fallback.
    if (afterTls || ehlo.code === 421) throw new SmtpFailure('helo', `EHLO answered ${describe(ehlo)}`);
    const helo = await this.command(`HELO ${this.target.heloName}`, 'HELO');
    if (helo.code !== 250) throw new SmtpFailure('helo', `EHLO answered ${describe(ehlo)}, HELO answered ${describe(helo)}`);
    return new Set();
  }

  private connect(): Promise<void> {
    const { host, port } = this.target.server;
    return new Promise<void>((resolve, reject) => {
      const socket = netConnect({ host, port });
      this.socket = socket;
      const timer = this.opts.timers.setTimeout(() => {
        socket.destroy();
        reject(new SmtpFailure('connect_timeout', `no connection to ${host}:${port} within ${this.target.connectTimeoutMs} ms`));
      }, this.target.connectTimeoutMs);
      socket.once('connect', () => {
        this.opts.timers.clear(timer);
        this.attach(socket);
        resolve();
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        this.opts.timers.clear(timer);
        reject(connectFailure(e, host, port));
      });
      // abort() destroys the socket without an error: only 'close' tells.
      socket.once('close', () => {
        this.opts.timers.clear(timer);
        reject(this.broken ?? new SmtpFailure('connection', `${host}:${port} closed before connecting`));
      });
      if (this.aborted) socket.destroy();
    });
  }

  private readonly onData = (chunk: Buffer) => {
    this.reader.push(chunk);
    this.deliver();
  };
  private readonly onError = (e: NodeJS.ErrnoException) => {
    this.fail(new SmtpFailure('connection', e.code ? `${e.code}: ${e.message}` : e.message));
  };
  private readonly onClose = () => {
    this.fail(new SmtpFailure('connection', 'the server closed the connection'));
  };

  private attach(s: Socket | TLSSocket): void {
    s.on('data', this.onData);
    s.on('error', this.onError);
    s.on('close', this.onClose);
  }

  private detach(s: Socket | TLSSocket): void {
    s.off('data', this.onData);
    s.off('error', this.onError);
    s.off('close', this.onClose);
    // The TLS socket reports its transport's errors; this keeps an orphan error from throwing.
    s.on('error', () => {});
  }

  private upgrade(): Promise<void> {
    const plain = this.socket as Socket;
    const { host } = this.target.server;
    this.detach(plain);
    return new Promise<void>((resolve, reject) => {
      const secure = tlsConnect({
        socket: plain,
        // RFC 6066 §3: SNI carries host names only.
        ...(isIP(host) ? {} : { servername: host }),
        rejectUnauthorized: this.opts.verifyCertificate ?? MAIL_DEFAULTS.verifyCertificate,
        ...(this.opts.ca !== undefined ? { ca: this.opts.ca } : {}),
      });
      this.socket = secure;
      const timer = this.opts.timers.setTimeout(() => {
        secure.destroy();
        reject(new SmtpFailure('tls', `no TLS handshake within ${this.target.connectTimeoutMs} ms`));
      }, this.target.connectTimeoutMs);
      secure.once('secureConnect', () => {
        this.opts.timers.clear(timer);
        secure.off('error', onHandshakeError);
        this.tls = true;
        this.attach(secure);
        resolve();
      });
      const onHandshakeError = (e: NodeJS.ErrnoException) => {
        this.opts.timers.clear(timer);
        reject(new SmtpFailure('tls', e.code ? `${e.code}: ${e.message}` : e.message));
      };
      secure.once('error', onHandshakeError);
      secure.once('close', () => {
        this.opts.timers.clear(timer);
        reject(this.broken ?? new SmtpFailure('tls', 'the connection closed during the TLS handshake'));
      });
      if (this.aborted) secure.destroy();
    });
  }

  private write(text: string): void {
    if (this.broken) throw this.broken;
    this.socket!.write(text);
  }

  private command(line: string, step: string): Promise<Reply> {
    // Addresses and names are validated by the config; a CR or LF here would inject commands.
    if (/[\r\n]/.test(line)) return Promise.reject(new SmtpFailure('bad_reply', `refusing to send a ${step} with a line break`));
    this.write(`${line}\r\n`);
    return this.reply(step);
  }

  /** Waits for the next reply, at most connectTimeoutMs. */
  private reply(step: string): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      if (this.broken) { reject(this.broken); return; }
      const timer = this.opts.timers.setTimeout(() => {
        this.waiter = undefined;
        reject(new SmtpFailure('timeout', `no reply to ${step} within ${this.target.connectTimeoutMs} ms`));
      }, this.target.connectTimeoutMs);
      this.waiter = {
        resolve: (r) => { this.opts.timers.clear(timer); resolve(r); },
        reject: (e) => { this.opts.timers.clear(timer); reject(e); },
      };
      this.deliver();
    });
  }

  private deliver(): void {
    if (!this.waiter) return;
    let r: Reply | null;
    try {
      r = this.reader.next();
    } catch (e) {
      this.fail(e as SmtpFailure);
      return;
    }
    if (r) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(r);
    }
  }

  private fail(f: SmtpFailure): void {
    this.broken ??= f;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.broken);
  }
}

function describe(r: Reply): string {
  return `${r.code} ${r.lines.join(' / ')}`.trim().slice(0, 300);
}

function connectFailure(e: NodeJS.ErrnoException, host: string, port: number): SmtpFailure {
  const where = `${host}:${port}`;
  if (e.code === 'ECONNREFUSED') return new SmtpFailure('refused', `connection to ${where} refused`);
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return new SmtpFailure('dns', `${host}: ${e.code}`);
  return new SmtpFailure('connection', `${where}: ${e.code ?? e.message}`);
}
