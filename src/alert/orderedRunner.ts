// Per-key ordered execution: the jobs of one key (a VRRP instance, a sync group, a real server, a
// virtual server) run strictly one after another in the order they were enqueued; different keys
// run concurrently. keepalived forks every notify script and forgets it, so two quick transitions
// can run their scripts out of order (its issues #996, #1055); this is the fix.
//
// The caller is the daemon's event path and must never wait: enqueue() is synchronous and O(1),
// and no job starts inside it (the first job of an idle key starts on the next event-loop turn,
// after the caller's own work, e.g. sending a VRRP advert, is done).
//
// Each key holds at most `capacityPerKey` pending jobs. When a key is full, the OLDEST pending
// job is dropped and the new one kept: the last job to run is then the one for the latest event,
// so a script that applies state ("we are MASTER now") leaves the system in the right final state;
// each dropped job is reported through onDrop (counted and logged by the caller).
import type { Timers } from '../timers.js';
import { BoundedQueue } from './boundedQueue.js';

export type DropCause = 'overflow' | 'closed';

export interface OrderedRunnerOptions<T> {
  /** Pending (not yet started) jobs per key; default 64. */
  capacityPerKey?: number;
  onDrop?: (key: string, item: T, cause: DropCause) => void;
  /** A job that threw (jobs should not: they return their outcome as data). */
  onError?: (key: string, item: T, error: unknown) => void;
  /** How the first job of an idle key is started: on the next turn (timers.setImmediate). */
  timers: Pick<Timers, 'setImmediate'>;
}

interface Lane<T> {
  queue: BoundedQueue<T>;
  running: boolean;
  scheduled: boolean;
}

export interface OrderedRunnerStats {
  /** Keys with a job pending or running. */
  keys: number;
  pending: number;
  running: number;
  dropped: number;
}

export class OrderedRunner<T> {
  private readonly lanes = new Map<string, Lane<T>>();
  private readonly capacity: number;
  private readonly schedule: (start: () => void) => void;
  private pendingCount = 0;
  private runningCount = 0;
  private droppedCount = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly work: (key: string, item: T) => Promise<void>,
    private readonly opts: OrderedRunnerOptions<T>,
  ) {
    this.capacity = opts.capacityPerKey ?? 64;
    this.schedule = (start) => { opts.timers.setImmediate(start); };
  }

  /** Queue `item` behind the other jobs of `key`. Returns false (and reports a drop) once
   *  closed. Never runs the job itself. */
  enqueue(key: string, item: T): boolean {
    if (this.closed) {
      this.drop(key, item, 'closed');
      return false;
    }
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { queue: new BoundedQueue<T>(this.capacity), running: false, scheduled: false };
      this.lanes.set(key, lane);
    }
    const full = lane.queue.size === lane.queue.capacity;
    const evicted = lane.queue.push(item);
    if (full) this.drop(key, evicted as T, 'overflow');
    else this.pendingCount++;
    if (!lane.running && !lane.scheduled) {
      lane.scheduled = true;
      this.schedule(() => this.next(key));
    }
    return true;
  }

  stats(): OrderedRunnerStats {
    return { keys: this.lanes.size, pending: this.pendingCount, running: this.runningCount, dropped: this.droppedCount };
  }

  /** Resolves when no job is pending or running. */
  idle(): Promise<void> {
    if (this.pendingCount === 0 && this.runningCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuse new jobs and drop every pending one (running jobs finish on their own). Returns how
   *  many were dropped. */
  close(): number {
    this.closed = true;
    let n = 0;
    for (const [key, lane] of this.lanes) {
      while (lane.queue.size > 0) {
        const item = lane.queue.shift() as T;
        this.pendingCount--;
        this.drop(key, item, 'closed');
        n++;
      }
      if (!lane.running) this.lanes.delete(key);
    }
    this.checkIdle();
    return n;
  }

  private drop(key: string, item: T, cause: DropCause): void {
    this.droppedCount++;
    try {
      this.opts.onDrop?.(key, item, cause);
    } catch {
      // A reporting hook must not break the queue.
    }
  }

  private next(key: string): void {
    const lane = this.lanes.get(key);
    if (!lane) return;
    lane.scheduled = false;
    if (lane.running) return;
    if (lane.queue.size === 0) {
      this.lanes.delete(key);
      this.checkIdle();
      return;
    }
    const item = lane.queue.shift() as T;
    this.pendingCount--;
    lane.running = true;
    this.runningCount++;
    let done: Promise<void>;
    try {
      done = Promise.resolve(this.work(key, item));
    } catch (e) {
      done = Promise.reject(e);
    }
    done
      .catch((e: unknown) => {
        try { this.opts.onError?.(key, item, e); } catch { /* see drop() */ }
      })
      .finally(() => {
        lane.running = false;
        this.runningCount--;
        this.next(key);
      });
  }

  private checkIdle(): void {
    if (this.pendingCount !== 0 || this.runningCount !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
