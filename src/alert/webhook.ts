// Webhooks (issue 4 §2): each alert event is POSTed as JSON to every webhook that subscribes to
// its kind. Node core only (node:http / node:https), no dependency.
//
// The request:
//   POST <url>
//   Content-Type: application/json
//   User-Agent: tandem/<version>
//   X-Tandem-Event: vrrp_instance | vrrp_group | real_server | quorum
//   X-Tandem-Delivery: <uuid>          the same on every retry of one event, so a receiver can
//                                      drop duplicates (a retry after a lost 2xx is one)
//   X-Tandem-Signature: sha256=<hex>   only with `secret`: HMAC-SHA256(secret, exact body bytes),
//                                      lower-case hex. Verify it over the raw bytes received,
//                                      before parsing, with a constant-time compare. The body
//                                      carries `time`, so a receiver can also refuse replays.
//   body: eventFormat.ts webhookBody() (type, instance|group|virtual_server/real_server, state,
//         previous, priority, reason, router_id, time).
//
// Delivery rules, per webhook:
// - One request in flight at a time, so a receiver sees events in the order they happened.
// - 2xx: delivered. 408, 429 and 5xx, a timeout or a connection error: retried up to `retries`
//   times with exponential backoff (base * 2^n, capped) and jitter in [delay/2, delay]; a
//   Retry-After in seconds is honoured up to the cap. Any other status (3xx: redirects are not
//   followed; 4xx: the receiver refused this request, repeating it cannot help) and certificate
//   errors fail at once.
// - `timeout` covers the whole exchange: DNS, connect, TLS, request and response headers.
// - The queue is bounded (BoundedQueue: the oldest event is dropped when full); drops are
//   counted and logged at a limited rate. handle() only serializes and enqueues: it never waits.
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { WebhookConfig } from '../config/netAlerts.js';
import { maskUrlCredentials, redactValues } from '../config/secrets.js';
import { RateLimitedLog, type Logger } from '../log.js';
import { VERSION } from '../version.js';
import { BoundedQueue } from './boundedQueue.js';
import { eventKind, webhookBody, type WebhookEventKind } from './eventFormat.js';
import type { AlertEvent } from './events.js';
import type { TimerHandle, Timers } from '../timers.js';

/** One configured webhook, resolved: `config.global.webhooks[i]` (src/config/netAlerts.ts).
 *  secret: HMAC key (none: no signature header); retries: after the first attempt; caFile:
 *  PEM CA(s) to trust instead of the system store (https). */
export type WebhookTarget = Readonly<WebhookConfig>;

export const WEBHOOK_DEFAULTS = {
  timeoutMs: 5000,
  retries: 3,
  queueSize: 256,
  verifyCertificate: true,
  backoffBaseMs: 1000,
  backoffCapMs: 30_000,
} as const;

export type WebhookFailureReason =
  | 'timeout' // no response headers within timeoutMs
  | 'refused' // ECONNREFUSED: nothing listens
  | 'dns' // the host name did not resolve
  | 'connection' // reset, unreachable, closed before a response ...
  | 'tls' // certificate verification or handshake failure
  | 'tls_config' // the `ca` file could not be read at start
  | 'http_status'; // a response that is not 2xx

export interface WebhookError {
  reason: WebhookFailureReason;
  detail: string;
  /** Wall-clock time, ISO 8601. */
  at: string;
}

/** What the status API shows per webhook. Counters only grow (Prometheus counters). */
export interface WebhookCounters {
  /** `webhooks[i] <scheme://host:port>`: no path, query or credentials (they may hold tokens;
   *  Slack-style hooks carry theirs in the path). */
  webhook: string;
  /** Events accepted into the queue. */
  queued: number;
  delivered: number;
  /** Events given up on: a permanent error, or every retry failed. */
  failed: number;
  /** Attempts repeated after a retryable failure. */
  retried: number;
  /** Events evicted from a full queue before being sent. */
  dropped: number;
  /** Waiting in the queue now. */
  pending: number;
  inFlight: boolean;
  lastError: WebhookError | null;
}

export interface WebhookNotifierOptions {
  routerId: string;
  webhooks: readonly WebhookTarget[];
  log: Logger;
  /** Backoff parameters; defaults 1 s and 30 s. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** The pump's next turn, backoff and request timers, the log rate limit's clock, the wall
   *  clock of lastError and of an HTTP-date Retry-After (src/timers.ts). */
  timers: Timers;
  /** In [0, 1): jitter source. */
  random: () => number;
  /** Minimum interval between two similar warnings per webhook (default 10 s). */
  logIntervalMs?: number;
}

type AttemptResult =
  | { ok: true; status: number }
  | { ok: false; retry: boolean; reason: WebhookFailureReason; detail: string; retryAfterMs?: number };

interface Delivery {
  id: string;
  eventType: string;
  body: Buffer;
  /** Attempts made so far. */
  attempts: number;
}

export class WebhookNotifier {
  private readonly channels: WebhookChannel[];
  private stopped = false;

  constructor(private readonly opts: WebhookNotifierOptions) {
    this.channels = opts.webhooks.map((t, i) => new WebhookChannel(t, i, opts));
  }

  /** Reads CA files and lets deliveries start. Queued events (handled before start) go out now. */
  start(): void {
    for (const c of this.channels) c.start();
  }

  /** Enqueues the event for every subscribed webhook. Synchronous and never blocks. */
  handle(event: AlertEvent): void {
    if (this.stopped) return;
    const kind = eventKind(event);
    const targets = this.channels.filter((c) => c.wants(kind));
    if (targets.length === 0) return;
    // One serialization, one id: every webhook gets the same bytes, so the same signature input.
    const body = Buffer.from(JSON.stringify(webhookBody(event, this.opts.routerId)), 'utf8');
    const id = randomUUID();
    for (const c of targets) c.enqueue({ id, eventType: event.type, body, attempts: 0 });
  }

  /** Drops what is queued (nothing is flushed), aborts requests in flight, clears timers. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.channels.map((c) => c.stop()));
  }

  counters(): WebhookCounters[] {
    return this.channels.map((c) => c.counters());
  }
}

/** One webhook: its queue, its single in-flight delivery, its counters. */
class WebhookChannel {
  private readonly url: URL;
  private readonly label: string;
  /** What no log line or status field may show (secrets.ts redactValues), see knownSecrets(). */
  private readonly secrets: string[];
  private readonly queue: BoundedQueue<Delivery>;
  private readonly rl: RateLimitedLog;
  private readonly baseMs: number;
  private readonly capMs: number;
  private ca: string | undefined;
  private caError: string | undefined;
  private started = false;
  private stopped = false;
  private busy = false;
  private pumpScheduled: TimerHandle | undefined;
  private backoffTimer: TimerHandle | undefined;
  /** Aborts the request in flight (stop()); resolves `settled` once it has settled. */
  private abortInFlight: (() => void) | undefined;
  private settled: Promise<void> = Promise.resolve();
  private readonly n = { queued: 0, delivered: 0, failed: 0, retried: 0 };
  private lastError: WebhookError | null = null;

  constructor(private readonly target: WebhookTarget, index: number, private readonly opts: WebhookNotifierOptions) {
    this.url = new URL(target.url);
    // The origin has no userinfo, path or query: never the credentials of the URL.
    this.label = `webhooks[${index}] ${this.url.origin}`;
    this.secrets = knownSecrets(this.url, target.secret);
    this.queue = new BoundedQueue<Delivery>(target.queueSize);
    this.rl = new RateLimitedLog(opts.log, () => opts.timers.now(), opts.logIntervalMs ?? 10_000);
    this.baseMs = opts.backoffBaseMs ?? WEBHOOK_DEFAULTS.backoffBaseMs;
    this.capMs = opts.backoffCapMs ?? WEBHOOK_DEFAULTS.backoffCapMs;
  }

  wants(kind: WebhookEventKind): boolean {
    return !this.stopped && this.target.events.includes(kind);
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (this.target.caFile !== undefined) {
      try {
        this.ca = readFileSync(this.target.caFile, 'utf8');
      } catch (e) {
        this.caError = this.scrub(`cannot read ca ${this.target.caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        this.opts.log.error(`${this.label}: ${this.caError}; every delivery will fail`);
      }
    }
    this.schedulePump();
  }

  enqueue(d: Delivery): void {
    this.n.queued++;
    if (this.queue.push(d) !== undefined) {
      this.rl.warn('dropped', `${this.label}: queue full (${this.target.queueSize}), dropped the oldest event; ${this.queue.dropped} dropped so far`);
    }
    this.schedulePump();
  }

  counters(): WebhookCounters {
    return {
      webhook: this.label,
      ...this.n,
      dropped: this.queue.dropped,
      pending: this.queue.size,
      inFlight: this.busy,
      lastError: this.lastError,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.opts.timers.clear(this.pumpScheduled);
    this.opts.timers.clear(this.backoffTimer);
    this.pumpScheduled = undefined;
    this.backoffTimer = undefined;
    this.queue.clear();
    this.abortInFlight?.();
    await this.settled;
    this.busy = false;
  }

  /** Sending starts on a later turn of the event loop: the caller of handle() never waits. */
  private schedulePump(): void {
    if (!this.started || this.stopped || this.busy || this.pumpScheduled) return;
    this.pumpScheduled = this.opts.timers.setImmediate(() => {
      this.pumpScheduled = undefined;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped || this.busy) return;
    const d = this.queue.shift();
    if (!d) return;
    this.busy = true;
    this.attempt(d);
  }

  private attempt(d: Delivery): void {
    d.attempts++;
    let release!: () => void;
    this.settled = new Promise<void>((r) => { release = r; });
    const done = (r: AttemptResult) => {
      this.abortInFlight = undefined;
      release();
      if (this.stopped) return;
      this.finish(d, r);
    };
    if (this.caError !== undefined) { done({ ok: false, retry: false, reason: 'tls_config', detail: this.caError }); return; }
    this.abortInFlight = this.send(d, done);
  }

  /** An error text as it may be shown: a URL in it (an error that embeds the request's URL) and
   *  whatever the receiver echoed of our credentials (a 500 body quoting the request) masked. */
  private scrub(text: string): string {
    return maskUrlCredentials(redactValues(text, this.secrets));
  }

  private finish(d: Delivery, result: AttemptResult): void {
    if (result.ok) {
      this.n.delivered++;
      this.next();
      return;
    }
    // Every failure's detail reaches the log, the status and the state file: scrubbed once, here.
    const r = { ...result, detail: this.scrub(result.detail) };
    this.lastError = { reason: r.reason, detail: r.detail, at: new Date(this.opts.timers.wallNow()).toISOString() };
    if (r.retry && d.attempts <= this.target.retries) {
      this.n.retried++;
      const delay = this.backoffMs(d.attempts, r.retryAfterMs);
      this.opts.log.debug(`${this.label}: ${r.reason} (${r.detail}); retry ${d.attempts}/${this.target.retries} in ${delay} ms`);
      this.backoffTimer = this.opts.timers.setTimeout(() => {
        this.backoffTimer = undefined;
        if (!this.stopped) this.attempt(d);
      }, delay);
      return;
    }
    this.n.failed++;
    this.rl.warn('failed', `${this.label}: ${d.eventType} event ${d.id} not delivered after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}: ${r.reason} (${r.detail})`);
    this.next();
  }

  private next(): void {
    this.busy = false;
    this.schedulePump();
  }

  /** Delay before retry number `n` (1-based): base * 2^(n-1), capped, jittered to [d/2, d]. */
  private backoffMs(n: number, retryAfterMs: number | undefined): number {
    const exp = Math.min(this.capMs, this.baseMs * 2 ** Math.min(n - 1, 30));
    const jittered = exp / 2 + this.opts.random() * (exp / 2);
    const wanted = retryAfterMs !== undefined ? Math.max(jittered, Math.min(retryAfterMs, this.capMs)) : jittered;
    return Math.round(wanted);
  }

  /** One POST; calls `done` exactly once. Returns an abort function (stop()). */
  private send(d: Delivery, done: (r: AttemptResult) => void): () => void {
    const timers = this.opts.timers;
    let finished = false;
    const finish = (r: AttemptResult) => {
      if (finished) return;
      finished = true;
      timers.clear(timer);
      done(r);
    };
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': d.body.length,
      'User-Agent': `tandem/${VERSION}`,
      'X-Tandem-Event': d.eventType,
      'X-Tandem-Delivery': d.id,
    };
    if (this.target.secret !== undefined) {
      headers['X-Tandem-Signature'] = `sha256=${createHmac('sha256', this.target.secret).update(d.body).digest('hex')}`;
    }
    const https = this.url.protocol === 'https:';
    const host = this.url.hostname.replace(/^\[(.*)\]$/, '$1');
    let req: ClientRequest;
    try {
      const options = {
        method: 'POST',
        headers,
        // A fresh connection per delivery: alerts are rare, and a pooled socket that the
        // receiver closed while idle would turn into a spurious ECONNRESET and a retry.
        agent: false as const,
        ...(https ? {
          rejectUnauthorized: this.target.verifyCertificate,
          ...(this.ca !== undefined ? { ca: this.ca } : {}),
          // SNI only for names (RFC 6066 §3: literal IP addresses are not permitted).
          ...(isIP(host) ? {} : { servername: host }),
        } : {}),
      };
      req = (https ? httpsRequest : httpRequest)(this.url, options);
    } catch (e) {
      // Only an invalid header value or URL gets here; the config validated both.
      const err = e as Error;
      queueMicrotask(() => finish({ ok: false, retry: false, reason: 'connection', detail: err.message }));
      return () => {};
    }
    const timer = timers.setTimeout(() => {
      req.destroy();
      finish({ ok: false, retry: true, reason: 'timeout', detail: `no response within ${this.target.timeoutMs} ms` });
    }, this.target.timeoutMs);
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        finish({ ok: true, status });
        // The body is not needed; drain it, but never let a receiver that keeps streaming hold
        // the socket beyond the timeout.
        const drain = timers.setTimeout(() => res.destroy(), this.target.timeoutMs);
        res.on('close', () => timers.clear(drain));
        res.on('error', () => {});
        res.resume();
        return;
      }
      // Keep the start of the body for lastError: receivers often say why ("bad signature").
      const chunks: Buffer[] = [];
      let size = 0;
      const report = () => {
        const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 200);
        const retry = status === 408 || status === 429 || status >= 500;
        const retryAfterMs = parseRetryAfter(res.headers['retry-after'], timers.wallNow());
        finish({
          ok: false, retry, reason: 'http_status', detail: `HTTP ${status}${text ? `: ${text}` : ''}`,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        });
        res.destroy();
      };
      res.on('data', (c: Buffer) => {
        if (size < 512) { chunks.push(c); size += c.length; }
        if (size >= 512) report();
      });
      res.on('end', report);
      res.on('error', report);
      res.on('close', report);
    });
    req.on('error', (e: NodeJS.ErrnoException) => finish(classifyError(e)));
    req.end(d.body);
    return () => {
      req.destroy();
      finish({ ok: false, retry: false, reason: 'connection', detail: 'stopped' });
    };
  }
}

/**
 * The credentials a webhook URL and its config carry, in every form a receiver or an error
 * might echo them: the password (as written and decoded), `user:password` in Base64 (the Basic
 * Authorization header node:http sends for a URL with userinfo), the path and query (they are
 * the token of many hook services, which is why the label shows only the origin), each query
 * value, and the HMAC secret.
 */
function knownSecrets(url: URL, secret: string | undefined): string[] {
  const out: string[] = [];
  const decode = (s: string) => { try { return decodeURIComponent(s); } catch { return s; } };
  if (url.password) {
    out.push(url.password, decode(url.password));
    out.push(Buffer.from(`${decode(url.username)}:${decode(url.password)}`).toString('base64'));
  }
  const pathAndQuery = url.pathname + url.search;
  if (pathAndQuery.length > 1) out.push(pathAndQuery, decode(pathAndQuery), url.search.slice(1));
  for (const v of url.searchParams.values()) out.push(v);
  if (secret !== undefined) out.push(secret);
  return out.filter((v) => v.length > 0);
}

const TLS_CODES = /^(?:ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_(?:VERIFY|GET)_|HOSTNAME_MISMATCH$)/;

function classifyError(e: NodeJS.ErrnoException): AttemptResult {
  const code = e.code ?? '';
  if (code === 'ECONNREFUSED') return { ok: false, retry: true, reason: 'refused', detail: e.message };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { ok: false, retry: true, reason: 'dns', detail: e.message };
  // A certificate the receiver will keep presenting: retrying only delays the operator's fix.
  if (TLS_CODES.test(code)) return { ok: false, retry: false, reason: 'tls', detail: `${code}: ${e.message}` };
  return { ok: false, retry: true, reason: 'connection', detail: code ? `${code}: ${e.message}` : e.message };
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date; returns ms, or undefined. */
function parseRetryAfter(v: string | undefined, wallNow: number): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - wallNow) : undefined;
}
