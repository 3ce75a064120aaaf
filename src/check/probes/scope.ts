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
    const cleanups: Array<() => void> = [];
    let settled = false;
    let deadlineResult: (() => ProbeResult) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const signal = opts.signal;

    const settle = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      for (let i = cleanups.length - 1; i >= 0; i--) {
        try { cleanups[i]!(); } catch { /* releasing must not turn a verdict into a throw */ }
      }
      cleanups.length = 0;
      resolve(r);
    };
    const onAbort = (): void => settle({ ok: false, reason: 'timeout', detail: 'aborted' });

    const scope: ProbeScope = {
      ok: (weight) => settle(weight === undefined ? { ok: true } : { ok: true, weight }),
      fail: (reason, detail) => settle(detail === undefined ? { ok: false, reason } : { ok: false, reason, detail }),
      defer: (cleanup) => {
        if (settled) { try { cleanup(); } catch { /* contained */ } return; }
        cleanups.push(cleanup);
      },
      onDeadline: (result) => { deadlineResult = result; },
      get settled() { return settled; },
    };

    if (signal?.aborted) { onAbort(); return; }
    signal?.addEventListener('abort', onAbort, { once: true });
    const ms = Number.isFinite(opts.timeoutMs) ? Math.min(Math.max(Math.floor(opts.timeoutMs), 1), MAX_TIMER_MS) : 1;
    timer = setTimeout(() => {
      let r: ProbeResult = { ok: false, reason: 'timeout', detail: `no verdict within ${ms} ms` };
      if (deadlineResult) {
        try { r = deadlineResult(); } catch { /* keep the plain timeout */ }
      }
      settle(r);
    }, ms);

    try {
      body(scope);
    } catch (e) {
      settle({ ok: false, reason: 'connect_error', detail: errorText(e) });
    }
  });
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
