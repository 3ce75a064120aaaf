// A one-shot timer that fires at a monotonic deadline with sub-millisecond accuracy.
// Two things make a plain setTimeout late: libuv rounds to whole milliseconds, and Linux lets
// epoll_wait oversleep by 0.1% of its timeout for normal tasks (select_estimate_accuracy():
// 3.6 ms on a 3.6 s Master_Down_Interval). VRRP failover is judged against the formula to the
// millisecond, so we sleep in shrinking steps that each wake up early, and spend the last
// EARLY_MS yielding with setImmediate (I/O still runs) until the deadline has passed.

import type { OneShotTimer } from '../vrrp/running.js';

const EARLY_MS = 1;
/** Wake this fraction of the remaining time early, more than the kernel's 0.1% slack. */
const SLACK_FRACTION = 1 / 250;

export type { OneShotTimer };

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
        handle = spin = undefined;
        if (gen !== generation) return;
        const remaining = at - now();
        if (remaining <= 0) { fire(); return; }
        const sleep = remaining - EARLY_MS - remaining * SLACK_FRACTION;
        // Bounded: each sleep wakes before the deadline; the setImmediate spin only covers the
        // last EARLY_MS.
        if (sleep >= 1) handle = setTimeout(check, sleep);
        else spin = setImmediate(check);
      };
      check();
    },
  };
}

/** Monotonic milliseconds (fractional). */
export const monotonicNow = (): number => performance.now();
