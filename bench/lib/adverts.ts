// Advert timing on the wire, from an observer's capture (test/lib/observer.ts: tcpdump on the
// lab's bridge, kernel timestamps in ns): the intervals between consecutive adverts of each
// sender and VRID, and how far each is from the configured advert_int.
import type { VrrpEvent, WireEvent } from '../../test/lib/observer.js';
import { stats, type Stats } from './common.js';

export interface AdvertTiming {
  /** Senders x VRIDs seen in the window. */
  streams: number;
  adverts: number;
  /** Interval between consecutive adverts of one stream, ms. */
  interval: Stats | null;
  /** |interval - advert_int|, ms: the jitter. */
  offBy: Stats | null;
  /** The largest gap of any stream, ms (also interval.max; kept apart for the summary). */
  worstGapMs: number;
}

/** Current CLOCK_REALTIME in ns with sub-millisecond resolution, comparable with capture
 *  timestamps (Date.now() has only milliseconds). */
export function realtimeNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

/** Adverts of `filter` captured in [fromNs, toNs), priority > 0 (a priority-0 advert is a resignation). */
export function advertsIn(events: readonly WireEvent[], fromNs: bigint, toNs: bigint, filter: (e: VrrpEvent) => boolean = () => true): VrrpEvent[] {
  return events.filter((e): e is VrrpEvent => e.kind === 'vrrp' && e.priority > 0 && e.tNs >= fromNs && e.tNs < toNs && filter(e));
}

/** Intervals between consecutive adverts of each (source, VRID) stream, with the capture time of
 *  the advert that ends each one. */
export function advertIntervals(adverts: readonly VrrpEvent[]): Array<{ endNs: bigint; ms: number }> {
  const last = new Map<string, bigint>();
  const out: Array<{ endNs: bigint; ms: number }> = [];
  for (const a of adverts) {
    const key = `${a.src}/${a.vrid}`;
    const prev = last.get(key);
    if (prev !== undefined) out.push({ endNs: a.tNs, ms: Number(a.tNs - prev) / 1e6 });
    last.set(key, a.tNs);
  }
  return out;
}

/** Stats of intervals (ms) and of their distance from `advertIntMs`. */
export function intervalTiming(intervalsMs: readonly number[], advertIntMs: number, streams: number, adverts: number): AdvertTiming {
  return {
    streams, adverts, interval: stats(intervalsMs),
    offBy: stats(intervalsMs.map((x) => Math.abs(x - advertIntMs))),
    worstGapMs: intervalsMs.length === 0 ? NaN : Math.max(...intervalsMs),
  };
}

/** Intervals per (source, VRID) stream and their distance from `advertIntMs`. */
export function advertTiming(adverts: readonly VrrpEvent[], advertIntMs: number): AdvertTiming {
  const streams = new Set(adverts.map((a) => `${a.src}/${a.vrid}`)).size;
  return intervalTiming(advertIntervals(adverts).map((x) => x.ms), advertIntMs, streams, adverts.length);
}
