// The contract every one-shot probe keeps, in one place: it settles exactly once, within its
// deadline (or at once when aborted), releases everything it opened (sockets, timers, child
// processes) before it settles, and never throws or rejects: every failure is a typed
// ProbeResult. A probe body only opens things, registers how to release them, and calls
// ok()/fail(); a late event after settling is ignored here, not in each probe.
import type { ProbeFailReason, ProbeResult } from '../verdict.js';

export interface ProbeOptions {
  /** The whole probe's deadline (connect + exchange), from the check's connect_timeout. */
  timeoutMs: number;
  /** Aborting settles the probe at once ('timeout', detail 'aborted') and releases it. */
  signal?: AbortSignal | undefined;
}

export interface ProbeScope {
  ok(weight?: number): void;
  fail(reason: ProbeFailReason, detail?: string): void;
  /** Runs once when the probe settles, most recent first. A throwing cleanup is contained. */
  defer(cleanup: () => void): void;
  /** What the deadline yields instead of a plain timeout (UDP_CHECK without a required reply
   *  is up when nothing came back; DNS says it ignored replies with another id). */
  onDeadline(result: () => ProbeResult): void;
  readonly settled: boolean;
}

/** setTimeout's limit (2^31 - 1 ms); a longer delay would fire at once. */
const MAX_TIMER_MS = 0x7fffffff;

/**
 * Runs `body` under the probe contract. `body` runs synchronously; a throw from it counts as
 * 'connect_error' (it means we could not even start, e.g. a bad bind address).
 */
export function runProbeScope(opts: ProbeOptions, body: (scope: ProbeScope) => void): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve) => {
    const run = new ProbeRun(resolve, opts.signal);
    if (opts.signal?.aborted) { run.handleEvent(); return; }
    run.start(opts.timeoutMs);
    try {
      body(run);
    } catch (e) {
      run.fail('connect_error', errorText(e));
    }
  });
}

/** One probe's scope. A class, not closures: thousands run every second, and every closure
 *  per probe is garbage the checker pays for in GC time and RSS. */
class ProbeRun implements ProbeScope {
  settled = false;
  private cleanups: Array<() => void> | undefined;
  private deadlineResult: (() => ProbeResult) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly resolve: (r: ProbeResult) => void, private readonly signal: AbortSignal | undefined) {}

  start(timeoutMs: number): void {
    if (this.signal) runsOf(this.signal).add(this);
    const ms = Number.isFinite(timeoutMs) ? Math.min(Math.max(Math.floor(timeoutMs), 1), MAX_TIMER_MS) : 1;
    this.timer = setTimeout(onDeadline, ms, this, ms);
  }

  /** Aborted. */
  handleEvent(): void {
    this.settle({ ok: false, reason: 'timeout', detail: 'aborted' });
  }

  /** @internal The deadline passed. */
  expire(ms: number): void {
    this.timer = undefined;
    let r: ProbeResult = { ok: false, reason: 'timeout', detail: `no verdict within ${ms} ms` };
    if (this.deadlineResult) {
      try { r = this.deadlineResult(); } catch { /* keep the plain timeout */ }
    }
    this.settle(r);
  }

  ok(weight?: number): void {
    this.settle(weight === undefined ? OK : { ok: true, weight });
  }

  fail(reason: ProbeFailReason, detail?: string): void {
    this.settle(detail === undefined ? { ok: false, reason } : { ok: false, reason, detail });
  }

  defer(cleanup: () => void): void {
    if (this.settled) { try { cleanup(); } catch { /* contained */ } return; }
    (this.cleanups ??= []).push(cleanup);
  }

  onDeadline(result: () => ProbeResult): void {
    this.deadlineResult = result;
  }

  private settle(r: ProbeResult): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.signal) RUNS.get(this.signal)?.delete(this);
    const cleanups = this.cleanups;
    this.cleanups = undefined;
    if (cleanups) {
      for (let i = cleanups.length - 1; i >= 0; i--) {
        try { cleanups[i]!(); } catch { /* releasing must not turn a verdict into a throw */ }
      }
    }
    this.resolve(r);
  }
}

const OK: ProbeResult = Object.freeze({ ok: true });

/** The unsettled runs under each abort signal, behind one 'abort' listener per signal. A signal
 *  is shared by every probe of a real server for the scheduler's whole run, and an EventTarget
 *  listener added and removed per probe cost ~3 % of a core at 10,000 probes a second; a Set
 *  add/delete costs next to nothing. */
const RUNS = new WeakMap<AbortSignal, Set<ProbeRun>>();

function runsOf(signal: AbortSignal): Set<ProbeRun> {
  let runs = RUNS.get(signal);
  if (runs === undefined) {
    const set = new Set<ProbeRun>();
    runs = set;
    RUNS.set(signal, set);
    signal.addEventListener('abort', () => {
      RUNS.delete(signal);
      for (const run of [...set]) run.handleEvent();
    }, { once: true });
  }
  return runs;
}

function onDeadline(run: ProbeRun, ms: number): void {
  run.expire(ms);
}

/** A socket error as a probe failure: errno decides the reason, the message is the detail. */
export function failureOf(e: unknown): { reason: ProbeFailReason; detail: string } {
  const code = (e as { code?: unknown } | null)?.code;
  const detail = errorText(e);
  switch (code) {
    case 'ECONNREFUSED': return { reason: 'refused', detail };
    case 'ECONNRESET': case 'EPIPE': case 'ECONNABORTED': return { reason: 'reset', detail };
    case 'EHOSTUNREACH': case 'ENETUNREACH': case 'EHOSTDOWN': case 'ENETDOWN': return { reason: 'unreachable', detail };
    case 'ETIMEDOUT': return { reason: 'timeout', detail };
    default: return { reason: 'connect_error', detail };
  }
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
