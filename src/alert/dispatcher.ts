// One entry point for everything that tells the outside world what changed: the daemon calls
// handle(event) and it fans out to every configured channel, in this order: notify scripts
// (ordered per instance / group / real server, src/alert/scriptNotifier.ts), the notify FIFO,
// webhooks, mail. Every channel only enqueues: handle() returns in microseconds, so a hung
// script, a dead webhook receiver or an SMTP server that does not answer can never delay a VRRP
// advert (DESIGN.md principle 7). A channel that throws is contained and logged; the others
// still get the event.
//
// The channels themselves are built through AlertChannelMakers (daemon/compose.ts makes the real
// ScriptNotifier, NotifyFifo, WebhookNotifier and MailNotifier); a unit test passes fakes.
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/model.js';
import type { Logger } from '../log.js';
import { RateLimitedLog } from '../log.js';
import type { Timers } from '../timers.js';
import { describeEvent, type AlertEvent } from './events.js';
import type { FifoCounters } from './fifo.js';
import { smtpAlertFilter, type MailCounters } from './mail.js';
import type { ScriptCounters } from './scriptNotifier.js';
import type { WebhookCounters } from './webhook.js';

/** What the dispatcher uses of each channel (the real ones: scriptNotifier.ts, fifo.ts,
 *  webhook.ts, mail.ts). */
export interface ScriptsChannel {
  handle(e: AlertEvent): void;
  setConfig(config: Config): void;
  stop(opts: { graceMs: number }): Promise<void>;
  counters(): ScriptCounters;
  queueStats(): { keys: number; pending: number; running: number };
}
export interface FifoChannel {
  readonly path: string;
  handle(e: AlertEvent): void;
  close(): void;
  counters(): FifoCounters;
}
export interface WebhooksChannel {
  handle(e: AlertEvent): void;
  start(): void;
  stop(): Promise<void>;
  counters(): WebhookCounters[];
}
export interface MailChannel {
  handle(e: AlertEvent): void;
  start(): void;
  stop(): Promise<void>;
  setFilter(wants: (e: AlertEvent) => boolean): void;
  counters(): MailCounters;
}

export type FifoOpened = { ok: true; fifo: FifoChannel } | { ok: false; path: string; reason: string; message: string };

/** Builds each channel from the config (none of them does I/O before start(), except the FIFO's
 *  open, which start() and a reload call). */
export interface AlertChannelMakers {
  scripts(config: Config, log: Logger): ScriptsChannel;
  fifo(path: string, log: Logger): FifoOpened;
  /** undefined when the config has no webhooks. */
  webhooks(config: Config, log: Logger): WebhooksChannel | undefined;
  /** undefined when mail is not configured. */
  mail(config: Config, log: Logger): MailChannel | undefined;
}

export interface AlertDispatcherDeps {
  log: Logger;
  timers: Timers;
  channels: AlertChannelMakers;
}

interface Channel {
  name: string;
  handle(e: AlertEvent): void;
}

export class AlertDispatcher {
  private readonly scripts: ScriptsChannel;
  private fifo: FifoChannel | undefined;
  private webhooks: WebhooksChannel | undefined;
  private mail: MailChannel | undefined;
  private channels: Channel[] = [];
  private readonly failures: RateLimitedLog;
  private events = 0;
  private readonly log: Logger;
  private readonly make: AlertChannelMakers;

  /** Does no I/O: start() opens the FIFO and starts the senders. */
  constructor(private config: Config, deps: AlertDispatcherDeps) {
    const { log, timers } = deps;
    this.log = log;
    this.make = deps.channels;
    this.failures = new RateLimitedLog(log, () => timers.now(), 10_000);
    this.scripts = this.make.scripts(config, log.child('notify'));
    this.webhooks = this.make.webhooks(config, log.child('webhook'));
    this.mail = this.make.mail(config, log.child('mail'));
  }

  start(): void {
    this.openFifo();
    this.webhooks?.start();
    this.mail?.start();
    this.rebuildChannels();
  }

  private openFifo(): void {
    const path = this.config.global.notifyFifo;
    if (path === undefined) return;
    const r = this.make.fifo(path, this.log.child('notify_fifo'));
    if (r.ok) this.fifo = r.fifo;
    // A FIFO that cannot be opened is reported, not fatal: failover matters more than its log.
    else this.log.error(`notify_fifo ${r.path}: ${r.reason}: ${r.message}; FIFO lines will not be written`);
  }

  private rebuildChannels(): void {
    const { fifo, webhooks: w, mail: m } = this;
    this.channels = [
      { name: 'scripts', handle: (e) => this.scripts.handle(e) },
      ...(fifo ? [{ name: 'notify_fifo', handle: (e: AlertEvent) => fifo.handle(e) }] : []),
      ...(w ? [{ name: 'webhooks', handle: (e: AlertEvent) => w.handle(e) }] : []),
      ...(m ? [{ name: 'mail', handle: (e: AlertEvent) => m.handle(e) }] : []),
    ];
  }

  /**
   * A reload: later events use the new config's scripts (queued ones keep their argv) and mail
   * filter. A channel whose own settings are unchanged carries on with its queue; one whose
   * settings changed is replaced, and the old one is stopped in the background (its queued
   * deliveries are dropped, and counted there, rather than sent with stale settings).
   */
  reconfigure(next: Config): void {
    const prev = this.config;
    this.config = next;
    this.scripts.setConfig(next);
    if (prev.global.notifyFifo !== next.global.notifyFifo) {
      this.fifo?.close();
      this.fifo = undefined;
      this.openFifo();
    }
    if (!isDeepStrictEqual(prev.global.webhooks, next.global.webhooks) || prev.global.routerId !== next.global.routerId) {
      void this.webhooks?.stop();
      this.webhooks = this.make.webhooks(next, this.log.child('webhook'));
      this.webhooks?.start();
    }
    if (!isDeepStrictEqual(prev.global.mail, next.global.mail) || prev.global.routerId !== next.global.routerId) {
      void this.mail?.stop();
      this.mail = this.make.mail(next, this.log.child('mail'));
      this.mail?.start();
    } else {
      this.mail?.setFilter(smtpAlertFilter(next));
    }
    this.rebuildChannels();
  }

  handle(e: AlertEvent): void {
    this.events++;
    for (const c of this.channels) {
      try {
        c.handle(e);
      } catch (err) {
        this.failures.warn(c.name, `alert channel ${c.name} failed on ${describeEvent(e)}: ${(err as Error).message}`);
      }
    }
  }

  /** Lets queued notify scripts (the STOP ones of a shutdown included) finish for up to graceMs,
   *  then stops every channel. */
  async stop(graceMs = 5000): Promise<void> {
    await Promise.all([
      this.scripts.stop({ graceMs }),
      this.webhooks?.stop(),
      this.mail?.stop(),
    ]);
    this.fifo?.close();
    this.channels = [];
  }

  snapshot() {
    return {
      events: this.events,
      scripts: { ...this.scripts.counters(), ...this.scripts.queueStats() },
      notify_fifo: this.fifo ? { path: this.fifo.path, ...this.fifo.counters() } : null,
      webhooks: this.webhooks?.counters() ?? [],
      mail: this.mail?.counters() ?? null,
    };
  }
}
