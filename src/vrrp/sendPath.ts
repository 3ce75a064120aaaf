// An instance's adverts on the wire: encode, send to each destination, and keep the send health
// (sendHealth.ts) that turns adverts that do not leave into a fault, with its retry timer.
import type { Timers } from '../timers.js';
import { encodeAdvert } from './packet.js';
import type { RunningInstance } from './running.js';
import { cannotEncode, recordAdvert, retryDue, type AdvertAttempt, type SendHealth, type SendHealthStep } from './sendHealth.js';

export class SendPath {
  /** `faultChanged`: a send fault started or ended; called after the current dispatch. */
  constructor(private readonly timers: Timers, private readonly faultChanged: (r: RunningInstance) => void) {}

  send(r: RunningInstance, priority: number): void {
    const { advertBase, dsts } = r.wire;
    const attempt: { destinations: number; failed: Array<{ dst: string; error: string }>; encodeError?: string } = { destinations: dsts.length, failed: [] };
    for (const dst of dsts) {
      let payload: Uint8Array;
      try {
        payload = encodeAdvert({ ...advertBase, priority }, { family: r.cfg.family, src: r.srcIp, dst });
      } catch (e) {
        attempt.encodeError = (e as Error).message;
        break;
      }
      try {
        r.socket.send(payload, dst, r.srcIp);
      } catch (e) {
        attempt.failed.push({ dst, error: (e as Error).message });
        r.sendFail.warn(`send:${dst}`, `advert to ${dst} failed: ${(e as Error).message}`);
      }
    }
    this.record(r, attempt);
  }

  /** The advert at `priority` encoded for each destination, for the advert sender's job.
   *  Throws when it cannot be encoded (checkEncodable has made that a fault already). */
  packets(r: RunningInstance, priority: number): Array<{ payload: Uint8Array; dst: string; src: string }> {
    const { advertBase, dsts } = r.wire;
    return dsts.map((dst) => ({ payload: encodeAdvert({ ...advertBase, priority }, { family: r.cfg.family, src: r.srcIp, dst }), dst, src: r.srcIp }));
  }

  /** An advert the sender thread sent (or failed to), reported when the loop runs: the same
   *  rule as the driver's own sends (three in a row on no destination: FAULT). */
  recordSent(r: RunningInstance, attempt: AdvertAttempt): void {
    for (const f of attempt.failed) r.sendFail.warn(`send:${f.dst}`, `advert to ${f.dst} failed: ${f.error}`);
    this.record(r, attempt);
  }

  /** Encodes one advert without sending it (which also warms that path up); the error when this
   *  config cannot put an advert on the wire: a fault from the start (sendHealth.ts). */
  encodeProblem(r: RunningInstance): string | null {
    try {
      encodeAdvert({ ...r.wire.advertBase, priority: r.cfg.priority }, { family: r.cfg.family, src: r.srcIp, dst: r.wire.dsts[0]! });
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** At start or after a reload: an advert that cannot be encoded is a fault at once. */
  checkEncodable(r: RunningInstance, base: SendHealthStep = { health: r.sendHealth, change: null }): void {
    const encodeError = this.encodeProblem(r);
    this.apply(r, encodeError === null ? base : cannotEncode(base.health, encodeError, this.timers.now()));
  }

  cancel(r: RunningInstance): void {
    this.timers.clear(r.sendRetry);
    r.sendRetry = undefined;
  }

  private record(r: RunningInstance, attempt: AdvertAttempt): void {
    this.apply(r, recordAdvert(r.sendHealth, attempt, this.timers.now()));
  }

  /** Keeps the new send health; a fault that starts or ends is logged and reaches the machine
   *  after the current dispatch (an advert is sent from inside one), like any other fault. */
  private apply(r: RunningInstance, step: SendHealthStep): void {
    r.sendHealth = step.health;
    if (step.change === null) return;
    this.cancel(r);
    const f = step.health.fault;
    if (f) {
      r.log.error(`${f.detail}: ${f.reason}, going to FAULT (VIPs removed, the role left to the backup); ` +
        (f.retryAt === null ? 'permanent for this config: fix it and reload' : `trying again in ${((f.retryAt - this.timers.now()) / 1000).toFixed(0)} s`));
      if (f.retryAt !== null) this.armRetry(r, f.retryAt);
    } else {
      r.log.info('send fault cleared: leaving FAULT for BACKUP (MASTER again only when no higher master is heard)');
    }
    queueMicrotask(() => this.faultChanged(r));
  }

  /** Clears the send fault at `at`. Node's timers run on a millisecond loop clock and may fire
   *  a fraction of a millisecond before performance.now() reaches `at`: then wait the rest. */
  private armRetry(r: RunningInstance, at: number): void {
    r.sendRetry = this.timers.setTimeout(() => {
      const step = retryDue(r.sendHealth, this.timers.now());
      if (step.change === null && r.sendHealth.fault?.retryAt === at) this.armRetry(r, at);
      else this.apply(r, step);
    }, Math.max(1, Math.ceil(at - this.timers.now())));
  }

  /** The status API's view of the send health (wall-clock times: operators read them). */
  status(h: SendHealth) {
    const wall = (mono: number) => new Date(this.timers.wallNow() + (mono - this.timers.now())).toISOString();
    return {
      failures: h.failures, consecutive_failed: h.consecutive, last_error: h.lastError,
      fault: h.fault && { reason: h.fault.reason, detail: h.fault.detail, since: wall(h.fault.since), retry_at: h.fault.retryAt === null ? null : wall(h.fault.retryAt) },
    };
  }
}
