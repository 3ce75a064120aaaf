// A one-shot timer that fires at a monotonic deadline with sub-millisecond accuracy.
// setTimeout alone fires 0-2 ms late on a busy loop (and rounds to whole ms); VRRP failover is
// judged against Master_Down_Interval to the millisecond, so we sleep until just before the
// deadline and then yield with setImmediate (letting I/O run) until it has passed.

const EARLY_MS = 2;

export interface OneShotTimer {
  arm(at: number | null, fire: () => void): void;
  cancel(): void;
}

export function createPreciseTimer(now: () => number): OneShotTimer {
  let handle: NodeJS.Timeout | undefined;
  let spin: NodeJS.Immediate | undefined;
  let generation = 0;
  const cancel = () => {
    if (handle) clearTimeout(handle);
    if (spin) clearImmediate(spin);
    handle = spin = undefined;
    generation++;
  };
  return {
    cancel,
    arm(at, fire) {
      cancel();
      if (at === null) return;
      const gen = generation;
      const check = () => {
        spin = undefined;
        if (gen !== generation) return;
        if (now() >= at) { handle = undefined; fire(); return; }
        // Bounded: this only runs in the last EARLY_MS before the deadline.
        spin = setImmediate(check);
      };
      const wait = at - now() - EARLY_MS;
      if (wait > 0) handle = setTimeout(check, wait);
      else check();
    },
  };
}

/** Monotonic milliseconds (fractional). */
export const monotonicNow = (): number => performance.now();
