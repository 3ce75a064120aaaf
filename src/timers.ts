// Time, as every part below the composition root gets it (DESIGN.md principle 4: "Time comes
// from an injected monotonic clock, so a test advances a manual clock instead of sleeping").
// Nothing below daemon/compose.ts calls setTimeout, setImmediate, performance.now or Date.now
// itself: it receives a Timers. The real one is createSystemTimers() (built only by the
// composition root); tests use test/lib/manualTimers.ts, whose clock moves only when the test
// advances it.

/** An armed timeout or immediate; pass it back to clear it. Opaque. */
export interface TimerHandle {
  readonly __timer: unique symbol;
}

export interface Timers {
  /** Monotonic milliseconds (fractional): durations and deadlines. */
  now(): number;
  /** Wall-clock milliseconds since the epoch: only for what an operator reads (a log, a status
   *  timestamp), never for a duration. */
  wallNow(): number;
  /** Calls `fn` once, `ms` milliseconds from now (at least 0). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Calls `fn` once, after the I/O of the current loop turn (Node's setImmediate). */
  setImmediate(fn: () => void): TimerHandle;
  /** Cancels a timeout or an immediate; undefined or an already fired handle is fine. */
  clear(handle: TimerHandle | undefined): void;
}

/** The process's own clocks and timers (Node's setTimeout/setImmediate, performance.now). */
export function createSystemTimers(): Timers {
  type Real = { kind: 'timeout'; h: NodeJS.Timeout } | { kind: 'immediate'; h: NodeJS.Immediate };
  const wrap = (r: Real): TimerHandle => r as unknown as TimerHandle;
  return {
    now: () => performance.now(),
    wallNow: () => Date.now(),
    setTimeout: (fn, ms) => wrap({ kind: 'timeout', h: setTimeout(fn, Math.max(0, ms)) }),
    setImmediate: (fn) => wrap({ kind: 'immediate', h: setImmediate(fn) }),
    clear: (handle) => {
      if (handle === undefined) return;
      const r = handle as unknown as Real;
      if (r.kind === 'timeout') clearTimeout(r.h); else clearImmediate(r.h);
    },
  };
}
