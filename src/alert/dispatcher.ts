// One entry point for everything that tells the outside world what changed: the daemon calls
// handle(event) and it fans out to every configured channel, in this order: notify scripts
// (ordered per instance / group / real server, src/alert/scriptNotifier.ts), the notify FIFO,
// webhooks, mail. Every channel only enqueues: handle() returns in microseconds, so a hung
// script, a dead webhook receiver or an SMTP server that does not answer can never delay a VRRP
// advert (DESIGN.md principle 7). A channel that throws is contained and logged; the others
// still get the event.
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/model.js';
import type { Logger } from '../log.js';
import { RateLimitedLog } from '../log.js';
import { describeEvent, type AlertEvent } from './events.js';
import { NotifyFifo } from './fifo.js';
import { mailNotifierFor, smtpAlertFilter, type MailNotifier } from './mail.js';
import { ScriptNotifier } from './scriptNotifier.js';
import { WebhookNotifier } from './webhook.js';

interface Channel {
  name: string;
  handle(e: AlertEvent): void;
}

export class AlertDispatcher {
  private readonly scripts: ScriptNotifier;
  private fifo: NotifyFifo | undefined;
  private webhooks: WebhookNotifier | undefined;
  private mail: MailNotifier | undefined;
  private channels: Channel[] = [];
  private readonly failures: RateLimitedLog;
  private events = 0;

  /** Does no I/O: start() opens the FIFO and starts the senders. */
  constructor(private config: Config, private readonly log: Logger) {
    this.failures = new RateLimitedLog(log, () => performance.now(), 10_000);
    this.scripts = new ScriptNotifier(config, log.child('notify'));
    this.webhooks = this.webhooksFor(config);
    this.mail = mailNotifierFor(config, log.child('mail'));
  }

  private webhooksFor(config: Config): WebhookNotifier | undefined {
    return config.global.webhooks.length > 0
      ? new WebhookNotifier({ routerId: config.global.routerId, webhooks: config.global.webhooks, log: this.log.child('webhook') })
      : undefined;
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
    const r = NotifyFifo.open(path, this.log.child('notify_fifo'));
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
      this.webhooks = this.webhooksFor(next);
      this.webhooks?.start();
    }
    if (!isDeepStrictEqual(prev.global.mail, next.global.mail) || prev.global.routerId !== next.global.routerId) {
      void this.mail?.stop();
      this.mail = mailNotifierFor(next, this.log.child('mail'));
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
