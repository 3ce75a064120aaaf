// Whether an instance's adverts leave: the rule that turns advert send failures into a fault.
// Pure (no clock, no timer): the daemon reports each advert attempt with the current monotonic
// time and arms a timer for `fault.retryAt`; the fault reaches the VRRP machine the way a tracked
// interface's does (machine.ts 'fault' event), so a master that cannot advertise gives up its
// VIPs instead of holding them while its backup, hearing nothing, takes them too.
//
// keepalived 2.2.7 does not do this: keepalived/vrrp/vrrp.c vrrp_send_adv() logs a failed
// vrrp_send_pkt() (sendmsg) at LOG_INFO ("(%s): send advert error %d (%m)", or "(%s) Cant send
// advert to %s (%m)" per unicast peer; not at all for a priority 0 advert with ENETUNREACH on a
// down interface), counts the advert as sent (++vrrp->stats->advert_sent) and stays MASTER: the
// lasting split brain of issue 12.
//
// Why 3 (FAILED_ADVERTS_TO_FAULT): the backup takes over Master_Down_Interval = 3 x
// Advert_Interval + Skew_Time after the last advert it heard (RFC 5798 §6.1). If the advert at
// t0 is the first that does not leave, the last one heard left at t0 - A, so the backup becomes
// master at t0 + 2A + Skew_Time. Our Nth failed advert in a row is at t0 + (N - 1)A; the largest
// N that still gives up before the backup takes over is 3 (t0 + 2A). Fewer would turn one or two
// transient failures (ENOBUFS under a burst) into a role change the backup never needed; more
// would leave both directors holding the VIPs. A partial failure (some unicast peers reached)
// is counted and logged but is no fault: the peers that hear us do not take over.
//
// Recovery: a send fault is held for SEND_FAULT_HOLD_MS, doubled for each further fault until an
// advert leaves again (at most SEND_FAULT_HOLD_MAX_MS), then cleared. The instance goes to
// BACKUP, so it takes the role back only if no other master is heard for Master_Down_Interval,
// or by preempting a lower-priority one (which, if sending still fails, costs up to 2 x
// advert_int of both holding the VIPs per retry: hence the back-off). An advert that cannot be
// encoded fails the same way every time for that config: FAULT at once, no retry until a reload
// changes the instance.

export const FAILED_ADVERTS_TO_FAULT = 3;
export const SEND_FAULT_HOLD_MS = 10_000;
export const SEND_FAULT_HOLD_MAX_MS = 320_000;

export type SendFaultReason = 'advert_send_failed' | 'advert_encode_failed';

export interface SendFault {
  reason: SendFaultReason;
  detail: string;
  /** Monotonic ms. */
  since: number;
  /** When the fault clears by itself (monotonic ms); null: only a reload clears it. */
  retryAt: number | null;
}

export interface SendHealth {
  /** Advert sends that did not happen, one per destination (send(2) failed, or the advert could
   *  not be encoded), since start. */
  failures: number;
  /** Adverts in a row that left on none of their destinations. */
  consecutive: number;
  /** Send faults since an advert last left: the hold's back-off. */
  faults: number;
  lastError: string | null;
  fault: SendFault | null;
}

/** One advert, sent (or not) to each of its destinations. */
export interface AdvertAttempt {
  destinations: number;
  /** The destinations it did not leave for, and why (an errno name and message). */
  failed: ReadonlyArray<{ dst: string; error: string }>;
  /** The advert could not be built at all. */
  encodeError?: string;
}

export type SendHealthChange = 'fault' | 'cleared' | null;

export interface SendHealthStep {
  health: SendHealth;
  change: SendHealthChange;
}

export function initialSendHealth(): SendHealth {
  return { failures: 0, consecutive: 0, faults: 0, lastError: null, fault: null };
}

/** The hold of the next send fault, after `faults` earlier ones with no advert leaving between. */
export function holdMs(faults: number): number {
  return Math.min(SEND_FAULT_HOLD_MAX_MS, SEND_FAULT_HOLD_MS * 2 ** Math.min(faults, 30));
}

export function recordAdvert(h0: SendHealth, a: AdvertAttempt, now: number): SendHealthStep {
  const h: SendHealth = { ...h0 };
  if (a.encodeError !== undefined) {
    h.failures += a.destinations;
    h.consecutive++;
    h.lastError = a.encodeError;
    return cannotEncode(h, a.encodeError, now);
  }
  h.failures += a.failed.length;
  if (a.failed.length < a.destinations) {
    // It left on at least one destination: whoever heard it will not take over.
    h.consecutive = 0;
    if (h.fault === null) h.faults = 0;
    return { health: h, change: null };
  }
  h.consecutive++;
  h.lastError = a.failed.map((f) => `${f.dst}: ${f.error}`).join('; ');
  if (h.fault !== null || h.consecutive < FAILED_ADVERTS_TO_FAULT) return { health: h, change: null };
  const hold = holdMs(h.faults);
  h.fault = {
    reason: 'advert_send_failed',
    detail: `${h.consecutive} adverts in a row left on none of their ${a.destinations} destination(s) (${h.lastError})`,
    since: now,
    retryAt: now + hold,
  };
  h.faults++;
  return { health: h, change: 'fault' };
}

/** The advert cannot be encoded for this config (found before any send, e.g. at start or reload). */
export function cannotEncode(h0: SendHealth, error: string, now: number): SendHealthStep {
  if (h0.fault?.reason === 'advert_encode_failed') return { health: h0, change: null };
  const h: SendHealth = { ...h0, lastError: error, faults: h0.faults + 1 };
  h.fault = { reason: 'advert_encode_failed', detail: `the advert cannot be encoded: ${error}`, since: now, retryAt: null };
  return { health: h, change: h0.fault === null ? 'fault' : null };
}

/** Clears a send fault whose hold is over. */
export function retryDue(h0: SendHealth, now: number): SendHealthStep {
  if (h0.fault === null || h0.fault.retryAt === null || h0.fault.retryAt > now) return { health: h0, change: null };
  return { health: { ...h0, fault: null, consecutive: 0 }, change: 'cleared' };
}

/** A reload changed the instance: what failed may work now, so start over (counters kept). */
export function afterReconfigure(h0: SendHealth): SendHealthStep {
  return { health: { ...h0, fault: null, consecutive: 0, faults: 0 }, change: h0.fault === null ? null : 'cleared' };
}
