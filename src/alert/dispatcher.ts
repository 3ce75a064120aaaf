// One entry point for everything that tells the outside world what changed: the daemon calls
// handle(event) and it fans out to every configured channel, in this order: notify scripts
// (ordered per instance / group / real server, src/alert/scriptNotifier.ts), the notify FIFO,
// webhooks, mail. Every channel only enqueues: handle() returns in microseconds, so a hung
// script, a dead webhook receiver or an SMTP server that does not answer can never delay a VRRP
// advert (DESIGN.md principle 7). A channel that throws is contained and logged; the others
// still get the event.
import type { Config } from '../config/model.js';
import type { Logger } from '../log.js';
import { RateLimitedLog } from '../log.js';
import { describeEvent, type AlertEvent } from './events.js';
import { NotifyFifo } from './fifo.js';
import { mailNotifierFor, type MailNotifier } from './mail.js';
import { ScriptNotifier } from './scriptNotifier.js';
import { WebhookNotifier } from './webhook.js';

interface Channel {
  name: string;
  handle(e: AlertEvent): void;
}

export class AlertDispatcher {
  private readonly scripts: ScriptNotifier;
  private fifo: NotifyFifo | undefined;
  private readonly webhooks: WebhookNotifier | undefined;
  private readonly mail: MailNotifier | undefined;
  private readonly channels: Channel[] = [];
  private readonly failures: RateLimitedLog;
  private events = 0;

  /** Does no I/O: start() opens the FIFO and starts the senders. */
  constructor(private readonly config: Config, private readonly log: Logger) {
    this.failures = new RateLimitedLog(log, () => performance.now(), 10_000);
    this.scripts = new ScriptNotifier(config, log.child('notify'));
    this.webhooks = config.global.webhooks.length > 0
      ? new WebhookNotifier({ routerId: config.global.routerId, webhooks: config.global.webhooks, log: log.child('webhook') })
      : undefined;
    this.mail = mailNotifierFor(config, log.child('mail'));
  }

  start(): void {
    this.channels.push({ name: 'scripts', handle: (e) => this.scripts.handle(e) });
    const path = this.config.global.notifyFifo;
    if (path !== undefined) {
      const r = NotifyFifo.open(path, this.log.child('notify_fifo'));
      if (r.ok) {
        this.fifo = r.fifo;
        this.channels.push({ name: 'notify_fifo', handle: (e) => r.fifo.handle(e) });
      } else {
        // A FIFO that cannot be opened is reported, not fatal: failover matters more than its log.
        this.log.error(`notify_fifo ${r.path}: ${r.reason}: ${r.message}; FIFO lines will not be written`);
      }
    }
    if (this.webhooks) {
      this.webhooks.start();
      const w = this.webhooks;
      this.channels.push({ name: 'webhooks', handle: (e) => w.handle(e) });
    }
    if (this.mail) {
      this.mail.start();
      const m = this.mail;
      this.channels.push({ name: 'mail', handle: (e) => m.handle(e) });
    }
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
    this.channels.length = 0;
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
