// One timer for many deadlines: a binary min-heap of (time, owner) and a single setTimeout armed
// at the earliest. The check scheduler re-arms each server twice per probe; with a Node timer
// per arm, 10,000 servers probed every second made 20,000 Timeout objects a second, each living
// about a second (so promoted, then collected by the old-generation GC). Here an arm is two
// array slots.
//
// Re-arming does not search the heap: the owner's current deadline is kept on the owner
// (`dueAt`), and an entry whose time no longer matches it is dropped when it reaches the top.
// Stale entries are bounded by how often owners re-arm within their longest deadline; a rebuild
// from the owners' current deadlines caps the heap at a multiple of the live ones anyway.

import type { TimerHandle, Timers } from '../timers.js';

/** Something with at most one pending deadline. */
export interface DeadlineOwner {
  /** The pending deadline (the queue's clock), or null. Managed by DeadlineQueue. */
  dueAt: number | null;
  /** Called once when the pending deadline has passed (dueAt is null again by then). */
  onDue(): void;
}

/** setTimeout's limit (2^31 - 1 ms); a longer delay would fire at once. */
const MAX_TIMER_MS = 0x7fffffff;
/** Rebuild when stale entries outnumber live ones by this factor (and the heap is not tiny). */
const REBUILD_FACTOR = 4;
const REBUILD_MIN = 1024;

export class DeadlineQueue<T extends DeadlineOwner> {
  private times: number[] = [];
  private owners: T[] = [];
  private live = 0;
  private timer: TimerHandle | undefined;
  /** When the armed timer fires (the queue's clock); Infinity when none is armed. */
  private timerAt = Infinity;

  /** `timers.now()`: monotonic milliseconds, the clock deadlines are given in; the single timer
   *  is armed through `timers` too (src/timers.ts). */
  constructor(private readonly timers: Timers) {}

  /** Sets `owner`'s deadline (replacing a pending one); null cancels it. */
  set(owner: T, at: number | null): void {
    if (owner.dueAt !== null) this.live--;
    owner.dueAt = at;
    if (at === null) return;
    this.live++;
    this.push(at, owner);
    if (this.times.length > REBUILD_MIN && this.times.length > REBUILD_FACTOR * this.live) this.rebuild();
    if (at < this.timerAt) this.arm();
  }

  /** Pending deadlines (entries not yet due and not replaced). */
  get size(): number {
    return this.live;
  }

  /** Cancels the timer; owners keep their dueAt, nothing fires until the next set(). */
  clear(): void {
    this.timers.clear(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    for (const o of this.owners) o.dueAt = null;
    this.times = [];
    this.owners = [];
    this.live = 0;
  }

  private arm(): void {
    this.timers.clear(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.times.length === 0) return;
    const at = this.times[0]!;
    const ms = Math.min(Math.max(Math.ceil(at - this.timers.now()), 0), MAX_TIMER_MS);
    this.timerAt = at;
    this.timer = this.timers.setTimeout(() => this.fireDue(), ms);
  }

  /** @internal The timer fired: run every owner whose deadline has passed, then re-arm. */
  fireDue(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.timers.now();
    // Bounded: an owner that re-arms at or before `now` waits for the next wakeup rather than
    // spinning here.
    let budget = this.times.length;
    while (this.times.length > 0 && this.times[0]! <= now && budget-- > 0) {
      const at = this.times[0]!;
      const owner = this.pop();
      if (owner.dueAt !== at) continue; // replaced or cancelled since
      owner.dueAt = null;
      this.live--;
      try { owner.onDue(); } catch (e) { queueMicrotask(() => { throw e; }); }
    }
    this.arm();
  }

  private push(at: number, owner: T): void {
    const t = this.times;
    const o = this.owners;
    let i = t.length;
    t.push(at);
    o.push(owner);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (t[parent]! <= at) break;
      t[i] = t[parent]!;
      o[i] = o[parent]!;
      i = parent;
    }
    t[i] = at;
    o[i] = owner;
  }

  private pop(): T {
    const t = this.times;
    const o = this.owners;
    const top = o[0]!;
    const lastT = t.pop()!;
    const lastO = o.pop()!;
    const n = t.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && t[r]! < t[l]! ? r : l;
      if (t[c]! >= lastT) break;
      t[i] = t[c]!;
      o[i] = o[c]!;
      i = c;
    }
    t[i] = lastT;
    o[i] = lastO;
    return top;
  }

  private rebuild(): void {
    const owners = new Set<T>();
    for (const o of this.owners) if (o.dueAt !== null) owners.add(o);
    this.times = [];
    this.owners = [];
    for (const o of owners) this.push(o.dueAt!, o);
    this.arm();
  }
}
