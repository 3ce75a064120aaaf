// A one-shot timer that fires at a monotonic deadline with sub-millisecond accuracy, without
// spinning. Two things make a plain setTimeout late: libuv rounds to whole milliseconds, and
// Linux lets epoll_wait oversleep by 0.1% of its timeout for normal tasks
// (select_estimate_accuracy(): 3.6 ms on a 3.6 s Master_Down_Interval). VRRP failover is judged
// against the formula to the millisecond. The native PreciseTimer (native/precise_timer.cc) is a
// timerfd at an absolute CLOCK_MONOTONIC deadline watched by uv_poll: its expiry wakes the loop's
// epoll_wait on time, and nothing runs until then (the earlier version woke 1 ms early and spun
// on setImmediate: about half of tandem's CPU with 100 masters at advert_int 0.1).
// The deadline is handed over as a delay from now(); performance.now() (monotonicNow, the
// daemon's clock) runs on CLOCK_MONOTONIC too, so if the wake-up comes a few microseconds before
// `at` on now() the rest is armed again (bounded: each re-arm is for what is left).

import { nativeAddon, type NativeAddon } from '../net/native.js';
import type { OneShotTimer } from '../vrrp/running.js';

export type { OneShotTimer };

export function createPreciseTimer(now: () => number, addon: Pick<NativeAddon, 'PreciseTimer'> = nativeAddon()): OneShotTimer {
  let pending: (() => void) | null = null;
  let deadline = 0;
  const timer = new addon.PreciseTimer(() => {
    const fire = pending;
    if (fire === null) return;
    const remaining = deadline - now();
    if (remaining > 0) { timer.arm(remaining); return; }
    pending = null;
    fire();
  });
  const cancel = () => {
    if (pending === null) return;
    pending = null;
    timer.cancel();
  };
  return {
    cancel,
    arm(at, fire) {
      cancel();
      if (at === null) return;
      const remaining = at - now();
      // A deadline already past fires at once, inside arm() (the driver's next step runs now).
      if (remaining <= 0) { fire(); return; }
      deadline = at;
      pending = fire;
      timer.arm(remaining);
    },
  };
}

/** Monotonic milliseconds (fractional). */
export const monotonicNow = (): number => performance.now();
