// Event-loop delay: how late the loop that runs the VRRP machines, the checkers and the API gets
// to its timers (perf_hooks.monitorEventLoopDelay: a libuv timer every RESOLUTION_MS whose
// intervals go into a histogram). The figure bench:checks printed for issue 15 (p99 34-121 ms with 10,000
// checks a second), kept by the daemon so that an operator sees it in the status and in /metrics.
//
// The histogram holds the time between two runs of that timer, so each sample is the timer's
// interval plus the delay (node's ELDHistogram records uv_hrtime() deltas): the figures here
// are the samples minus RESOLUTION_MS, the delay alone (an idle loop reads ~0, not 10 ms).
//
// Quantiles and max are over the last full window (WINDOW_MS, rotated by a timer); before the
// first window ends they are over the part seen so far. count and sum are since start, as a
// Prometheus summary's _count and _sum must be. LoopDelayWindow is the arithmetic, with the
// histogram and the clock passed in (a unit test drives both); startLoopDelayMonitor() is the
// adapter that owns the real histogram and its timer.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { LoopDelayStatus } from './status.js';

export type { LoopDelayStatus };

export const LOOP_DELAY_WINDOW_MS = 60_000;
/** monitorEventLoopDelay's sampling timer; 10 ms is Node's default. */
const RESOLUTION_MS = 10;

/** The part of perf_hooks' IntervalHistogram read here (values in nanoseconds). */
export interface DelayHistogram {
  percentile(p: number): number;
  readonly max: number;
  readonly mean: number;
  readonly count: number;
  reset(): void;
}

interface WindowFigures { spanMs: number; p50Ns: number; p99Ns: number; maxNs: number }

export class LoopDelayWindow {
  private windowStart: number;
  private last: WindowFigures | null = null;
  private doneCount = 0;
  private doneSumNs = 0;

  /** `intervalNs`: the sampling timer's own interval, taken off every sample. */
  constructor(private readonly h: DelayHistogram, private readonly now: () => number, private readonly intervalNs = 0) {
    this.windowStart = now();
  }

  /** Ends the current window: its figures become the ones reported, its samples go into the
   *  totals, and the histogram starts afresh. */
  rotate(): void {
    const t = this.now();
    this.last = this.figures(t);
    this.doneCount += this.h.count;
    this.doneSumNs += this.sumNs();
    this.h.reset();
    this.windowStart = t;
  }

  read(): LoopDelayStatus {
    const f = this.last ?? this.figures(this.now());
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const count = this.doneCount + this.h.count;
    const sumNs = this.doneSumNs + this.sumNs();
    return {
      window_s: Math.round(f.spanMs / 100) / 10, p50_ms: ms(f.p50Ns), p99_ms: ms(f.p99Ns), max_ms: ms(f.maxNs),
      count, sum_s: sumNs / 1e9,
    };
  }

  /** The current window's summed delay (samples less the interval each). */
  private sumNs(): number {
    return this.h.count ? Math.max(0, (this.h.mean - this.intervalNs) * this.h.count) : 0;
  }

  private figures(t: number): WindowFigures {
    // An empty histogram answers 0 for its percentiles and max (and NaN for mean).
    const any = this.h.count > 0;
    const delay = (ns: number) => (any ? Math.max(0, ns - this.intervalNs) : 0);
    return {
      spanMs: t - this.windowStart,
      p50Ns: delay(this.h.percentile(50)), p99Ns: delay(this.h.percentile(99)), maxNs: delay(this.h.max),
    };
  }
}

export interface LoopDelayMonitor {
  read(): LoopDelayStatus;
  stop(): void;
}

/** The real monitor: the histogram enabled and its window rotated every LOOP_DELAY_WINDOW_MS by
 *  an unref'd timer (it never keeps the process alive). */
export function startLoopDelayMonitor(now: () => number): LoopDelayMonitor {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  const w = new LoopDelayWindow(h, now, RESOLUTION_MS * 1e6);
  const rotation = setInterval(() => w.rotate(), LOOP_DELAY_WINDOW_MS);
  rotation.unref();
  return {
    read: () => w.read(),
    stop: () => { clearInterval(rotation); h.disable(); },
  };
}
