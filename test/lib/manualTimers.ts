// A Timers (src/timers.ts) whose clock moves only when the test says so: advance(ms) runs every
// timeout that falls due, in deadline order (ties in the order they were set), and the
// immediates queued meanwhile, with now() at each one's due time. A unit test thus asserts what
// happens at 3 x advert_int + skew without sleeping, and can never be made flaky by a slow machine.
import type { TimerHandle, Timers } from '../../src/timers.js';

interface Pending { id: number; at: number; fn: () => void; immediate: boolean }

export class ManualTimers implements Timers {
  private t: number;
  private wall: number;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(start = 0, wallStart = Date.UTC(2026, 0, 1)) {
    this.t = start;
    this.wall = wallStart;
  }

  now(): number { return this.t; }
  wallNow(): number { return this.wall + this.t; }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, this.t + Math.max(0, ms), false);
  }

  setImmediate(fn: () => void): TimerHandle {
    return this.add(fn, this.t, true);
  }

  clear(handle: TimerHandle | undefined): void {
    if (handle !== undefined) this.pending.delete(handle as unknown as number);
  }

  /** How many timeouts and immediates are waiting. */
  get size(): number { return this.pending.size; }

  /** The next deadline, or null when nothing waits. */
  nextAt(): number | null {
    let best: number | null = null;
    for (const p of this.pending.values()) if (best === null || p.at < best) best = p.at;
    return best;
  }

  /** Runs what is due now (immediates and zero-delay timeouts), without moving the clock. */
  flush(): void { this.advance(0); }

  /**
   * Moves the clock forward by `ms`, running every callback that falls due on the way, in order;
   * callbacks that set new timers within the window run too. At most 100,000 callbacks, so a
   * timer that keeps re-arming itself at zero delay fails the test instead of hanging it.
   */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let n = 0; n < 100_000; n++) {
      const next = this.earliest(end);
      if (!next) { this.t = end; return; }
      this.pending.delete(next.id);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    throw new Error('ManualTimers.advance: more than 100,000 callbacks in one advance (a timer that re-arms itself at zero delay?)');
  }

  /**
   * Runs the clock to `t` (absolute ms) in `stepMs` steps, yielding one real loop turn between
   * steps, so that promise callbacks and microtasks the code under test queues (sync group orders,
   * probe results, reload steps) run between steps as they would between loop turns.
   */
  async runUntil(t: number, stepMs = 10): Promise<void> {
    while (this.t < t) {
      this.advance(Math.min(stepMs, t - this.t));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Runs every deadline up to `t` (absolute ms) one at a time, yielding one real loop turn after
   * each (results a callback resolves land at that deadline's time), then moves the clock to `t`.
   * Bounded: at most 100,000 deadlines.
   */
  async runDeadlinesTo(t: number): Promise<void> {
    const turn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
    await turn();
    for (let i = 0; i < 100_000; i++) {
      const at = this.nextAt();
      if (at === null || at > t) break;
      this.step();
      await turn();
    }
    if (this.t < t) this.advance(t - this.t);
    await turn();
  }

  /** Advances to the next deadline (if any) and runs what falls due there; returns whether it did. */
  step(): boolean {
    const at = this.nextAt();
    if (at === null) return false;
    this.advance(Math.max(0, at - this.t));
    return true;
  }

  private earliest(end: number): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.pending.values()) {
      if (p.at > end) continue;
      // Immediates before timeouts due at the same instant, then in the order they were set.
      if (!best || p.at < best.at || (p.at === best.at && (p.immediate && !best.immediate || (p.immediate === best.immediate && p.id < best.id)))) best = p;
    }
    return best;
  }

  private add(fn: () => void, at: number, immediate: boolean): TimerHandle {
    const id = ++this.seq;
    this.pending.set(id, { id, at, fn, immediate });
    return id as unknown as TimerHandle;
  }
}
