// The health verdict of one real server, pure: (config, state, event, now) -> (state, effects).
// Probes are one-shot (connect, ask, judge, close); everything about *when* to probe and *what a
// run of results means* lives here: keepalived's retry / delay_before_retry / delay_loop /
// warmup / alpha, HAProxy's rise, MISC_CHECK's misc_dynamic weights, and "a real server is up
// only when all of its checks pass" (keepalived ipwrapper.c update_svr_checker_state()).
// No clock, no timers, no randomness: the driver feeds `timer` at nextDeadline(state) and draws
// the warmup jitter itself, so a test drives it with a manual clock.
import type { CheckCommon } from '../config/lbModel.js';

/** Why one probe failed. Probes report one of these; logs, metrics and alerts use the same words. */
export type ProbeFailReason =
  | 'timeout' // no answer within connect_timeout / misc_timeout
  | 'refused' // TCP RST to our SYN (ECONNREFUSED)
  | 'reset' // connection reset after it was established
  | 'unreachable' // EHOSTUNREACH / ENETUNREACH / ICMP unreachable
  | 'connect_error' // any other socket error
  | 'tls_error' // handshake failed or certificate refused (verify_certificate)
  | 'http_status' // status code not in the accepted ranges
  | 'http_digest' // body MD5 differs from `digest`
  | 'bad_response' // not the protocol we asked for (garbage, truncated, too large)
  | 'dns_rcode' // reply RCODE is not 0 (NOERROR)
  | 'dns_id' // reply id is not ours (keepalived's rule: ignore, it is not our answer)
  | 'smtp_banner' // no 220 greeting
  | 'smtp_helo' // HELO not answered with 250
  | 'exit_status' // misc_check exited 1 (or >1 without misc_dynamic)
  | 'killed' // misc_check killed (timeout or signal)
  | 'spawn_error' // misc_check could not be started
  | 'no_reply' // udp_check / ping_check: no reply where one is required
  | 'reply_mismatch' // udp_check: the reply does not start with the expected bytes
  | 'no_result'; // the probe never reported (a driver bug); counted as a failure

export type ProbeResult =
  | { ok: true; /** misc_dynamic: exit status 2..255 means weight = status - 2. */ weight?: number }
  | { ok: false; reason: ProbeFailReason; detail?: string };

/** One check's timing, resolved from the config: CheckCommon's timing fields (config/lbModel.ts). */
export interface CheckTiming
  extends Pick<CheckCommon, 'timeoutMs' | 'retry' | 'delayBeforeRetryMs' | 'delayLoopMs' | 'warmupMs' | 'alpha' | 'rise'> {
  /** misc_dynamic: a successful result's `weight` sets the server's weight. */
  dynamicWeight: boolean;
}

export interface ServerVerdictConfig {
  /** The configured weight, used until a misc_dynamic result sets another. */
  weight: number;
  checks: readonly CheckTiming[];
}

export interface CheckState {
  up: boolean;
  /** keepalived `has_run`: a result has been judged at least once. */
  hasRun: boolean;
  /** keepalived `retry_it`: failed probes so far in this retry cycle. */
  retries: number;
  /** Successes in a row (for rise). */
  successes: number;
  nextProbeAt: number | null;
  /** The probe in flight: its seq (0 = none) and the time it counts as 'no_result'. Two numbers,
   *  not an object: a step runs twice a second per server, and each object it allocates lives
   *  until the next step (about a second), long enough to reach V8's old space. */
  inFlightSeq: number;
  inFlightDeadline: number;
  /** The last failure, for "why is this server down?". */
  lastFailure: { reason: ProbeFailReason; detail?: string; at: number } | null;
}

export interface ServerVerdictState {
  running: boolean;
  up: boolean;
  /** Set by misc_dynamic; null = the configured weight. */
  dynamicWeight: number | null;
  /** Probe sequence number: a result that does not carry the in-flight seq is stale. */
  seq: number;
  checks: CheckState[];
}

export type CheckChangeReason = ProbeFailReason | 'probe_ok';

export type ServerChangeReason =
  | 'checks_passed' // every check is up again
  | 'check_failed'; // one check went down (see `check` and `probe`)

export type VerdictEffect =
  /** Start one one-shot probe of check `check` now; report its result with this seq. */
  | { type: 'probe'; check: number; seq: number; timeoutMs: number }
  | { type: 'check_changed'; check: number; up: boolean; reason: CheckChangeReason; retries: number }
  | { type: 'server_changed'; up: boolean; reason: ServerChangeReason; check: number; probe?: ProbeFailReason }
  | { type: 'weight_changed'; from: number; to: number; reason: 'misc_dynamic' };

export type VerdictEvent =
  /** `jitter`: one number in [0, 1) per check, drawn by the driver; the first probe of check i
   *  runs at now + floor(jitter[i] * warmupMs). Missing entries count as 0. */
  | { type: 'start'; jitter?: readonly number[] }
  | { type: 'timer' }
  | { type: 'result'; check: number; seq: number; result: ProbeResult }
  | { type: 'stop' };

export interface VerdictStep {
  state: ServerVerdictState;
  effects: VerdictEffect[];
}

const NO_RESULT: ProbeResult = Object.freeze({ ok: false, reason: 'no_result' });

/** How long after its own timeout a probe may still report before it counts as 'no_result'. */
export const PROBE_GRACE_MS = 1000;

/** Before `start`: each check is up unless alpha (keepalived: alpha checkers start failed). */
export function initialVerdictState(cfg: ServerVerdictConfig): ServerVerdictState {
  const checks = cfg.checks.map((c): CheckState => ({
    up: !c.alpha, hasRun: false, retries: 0, successes: 0, nextProbeAt: null, inFlightSeq: 0, inFlightDeadline: 0, lastFailure: null,
  }));
  return { running: false, up: checks.every((c) => c.up), dynamicWeight: null, seq: 0, checks };
}

export function effectiveWeight(cfg: ServerVerdictConfig, st: ServerVerdictState): number {
  return st.dynamicWeight ?? cfg.weight;
}

/** The earliest time the driver must send `timer`, or null when nothing is pending. */
export function nextDeadline(st: ServerVerdictState): number | null {
  if (!st.running) return null;
  let min: number | null = null;
  for (const c of st.checks) {
    if (c.nextProbeAt !== null && (min === null || c.nextProbeAt < min)) min = c.nextProbeAt;
    if (c.inFlightSeq !== 0 && (min === null || c.inFlightDeadline < min)) min = c.inFlightDeadline;
  }
  return min;
}

export function step(cfg: ServerVerdictConfig, st0: ServerVerdictState, ev: VerdictEvent, now: number): VerdictStep {
  const checks: CheckState[] = new Array(st0.checks.length);
  for (let i = 0; i < checks.length; i++) checks[i] = copyCheck(st0.checks[i]!);
  const st: ServerVerdictState = { running: st0.running, up: st0.up, dynamicWeight: st0.dynamicWeight, seq: st0.seq, checks };
  const effects: VerdictEffect[] = [];

  switch (ev.type) {
    case 'start': {
      if (st.running) break;
      st.running = true;
      st.checks.forEach((c, i) => {
        const j = Math.min(Math.max(ev.jitter?.[i] ?? 0, 0), 1);
        c.nextProbeAt = now + Math.floor(j * cfg.checks[i]!.warmupMs);
      });
      launchDue(cfg, st, now, effects);
      break;
    }
    case 'timer': {
      if (!st.running) break;
      // A probe that outlived its timeout plus grace never reported: count it as failed, so a
      // stuck probe cannot keep a dead server up.
      for (let i = 0; i < st.checks.length; i++) {
        const c = st.checks[i]!;
        if (c.inFlightSeq !== 0 && c.inFlightDeadline <= now) {
          c.inFlightSeq = 0;
          judge(cfg, st, i, NO_RESULT, now, effects);
        }
      }
      launchDue(cfg, st, now, effects);
      break;
    }
    case 'result': {
      if (!acceptsResult(st, ev.check, ev.seq)) break; // stale or unknown
      const c = st.checks[ev.check]!;
      c.inFlightSeq = 0;
      judge(cfg, st, ev.check, ev.result, now, effects);
      launchDue(cfg, st, now, effects);
      break;
    }
    case 'stop': {
      st.running = false;
      for (const c of st.checks) { c.nextProbeAt = null; c.inFlightSeq = 0; }
      break;
    }
  }
  return { state: st, effects };
}

/** Whether `step` judges a result of check `check` carrying `seq` (false: stale, unknown, or the
 *  machine is stopped). The driver asks before stepping when it must know that a result counted
 *  (check/scheduler.ts: a shared check passes a misc_dynamic weight on only for a judged result). */
export function acceptsResult(st: ServerVerdictState, check: number, seq: number): boolean {
  const c = st.checks[check];
  return st.running && c !== undefined && c.inFlightSeq !== 0 && c.inFlightSeq === seq;
}

/**
 * "Would a success of check `i`, judged now, change anything?" No when the check is steady: up,
 * judged at least once, no retry pending, no probe in flight, its next probe scheduled, and no
 * misc_dynamic weight to pass on. A success then only resets retries (already 0), counts towards
 * rise (already satisfied: the check is up) and schedules the next probe delay_loop later. The
 * driver may then let the TCP engine probe on its own (quiet mode) and hear only of a failure.
 */
export function successChangesNothing(cfg: ServerVerdictConfig, st: ServerVerdictState, i: number): boolean {
  const c = st.checks[i];
  const t = cfg.checks[i];
  if (!st.running || !c || !t) return false;
  return c.up && c.hasRun && c.retries === 0 && c.inFlightSeq === 0 && c.nextProbeAt !== null && !t.dynamicWeight;
}

/**
 * A result of check `i` from a probe the machine did not ask for (the TCP engine's quiet mode
 * probes a steady check on its own schedule and reports its first failure): judged exactly as a
 * result of a probe launched by the machine, with `now` as its arrival time. The check's pending
 * schedule (nextProbeAt, which the quiet probes stood in for) is replaced by what judge() sets.
 */
export function stepUnasked(cfg: ServerVerdictConfig, st0: ServerVerdictState, i: number, result: ProbeResult, now: number): VerdictStep {
  const c0 = st0.checks[i];
  if (!st0.running || !c0 || c0.inFlightSeq !== 0) return { state: st0, effects: [] };
  const checks = st0.checks.slice();
  const seq = st0.seq + 1;
  const c = copyCheck(c0);
  c.nextProbeAt = null;
  c.inFlightSeq = seq;
  c.inFlightDeadline = now + cfg.checks[i]!.timeoutMs + PROBE_GRACE_MS;
  checks[i] = c;
  return step(cfg, { running: st0.running, up: st0.up, dynamicWeight: st0.dynamicWeight, seq, checks }, { type: 'result', check: i, seq, result }, now);
}

/** Field by field, always in the same order, so every CheckState shares one V8 hidden class.
 *  A spread copy went through V8's slow clone path and left tens of thousands of deprecated
 *  hidden classes at 10,000 servers (seen in a heap snapshot: 46,000 maps). */
function copyCheck(c: CheckState): CheckState {
  return {
    up: c.up, hasRun: c.hasRun, retries: c.retries, successes: c.successes, nextProbeAt: c.nextProbeAt,
    inFlightSeq: c.inFlightSeq, inFlightDeadline: c.inFlightDeadline, lastFailure: c.lastFailure,
  };
}

function launchDue(cfg: ServerVerdictConfig, st: ServerVerdictState, now: number, effects: VerdictEffect[]): void {
  for (let i = 0; i < st.checks.length; i++) {
    const c = st.checks[i]!;
    if (c.inFlightSeq !== 0 || c.nextProbeAt === null || c.nextProbeAt > now) continue;
    const timeoutMs = cfg.checks[i]!.timeoutMs;
    st.seq++;
    c.nextProbeAt = null;
    c.inFlightSeq = st.seq;
    c.inFlightDeadline = now + timeoutMs + PROBE_GRACE_MS;
    effects.push({ type: 'probe', check: i, seq: st.seq, timeoutMs });
  }
}

/** keepalived's checker epilog (check_tcp.c tcp_epilog and its siblings), plus rise. */
function judge(
  cfg: ServerVerdictConfig, st: ServerVerdictState, i: number, r: ProbeResult, now: number, effects: VerdictEffect[],
): void {
  const t = cfg.checks[i]!;
  const c = st.checks[i]!;
  if (r.ok) {
    c.retries = 0;
    c.successes++;
    c.nextProbeAt = now + t.delayLoopMs;
    if (t.dynamicWeight && r.weight !== undefined) {
      const from = effectiveWeight(cfg, st);
      st.dynamicWeight = r.weight;
      if (r.weight !== from) effects.push({ type: 'weight_changed', from, to: r.weight, reason: 'misc_dynamic' });
    }
    if (!c.up && c.successes >= t.rise) setCheck(st, i, true, 'probe_ok', 0, effects);
    c.hasRun = true;
    return;
  }
  c.successes = 0;
  c.lastFailure = r.detail !== undefined ? { reason: r.reason, detail: r.detail, at: now } : { reason: r.reason, at: now };
  if (c.retries < t.retry) {
    // Not yet: probe again after delay_before_retry (also while already down, as keepalived does).
    c.retries++;
    c.nextProbeAt = now + t.delayBeforeRetryMs;
    return;
  }
  const retries = c.retries;
  c.retries = 0;
  c.nextProbeAt = now + t.delayLoopMs;
  c.hasRun = true;
  if (c.up) setCheck(st, i, false, r.reason, retries, effects);
}

function setCheck(
  st: ServerVerdictState, i: number, up: boolean, reason: CheckChangeReason, retries: number, effects: VerdictEffect[],
): void {
  st.checks[i]!.up = up;
  effects.push({ type: 'check_changed', check: i, up, reason, retries });
  const serverUp = st.checks.every((c) => c.up);
  if (serverUp === st.up) return;
  st.up = serverUp;
  effects.push(up
    ? { type: 'server_changed', up: true, reason: 'checks_passed', check: i }
    : { type: 'server_changed', up: false, reason: 'check_failed', check: i, probe: reason as ProbeFailReason });
}
