// A bounded FIFO for alert deliveries (webhooks, mail). The producer is the daemon's event path
// (VRRP transitions, checker verdicts): it must never wait, so push() always succeeds in O(1)
// and, when the queue is full, evicts the OLDEST entry and counts it.
//
// Why drop the oldest rather than the newest: an alert receiver cares most about the current
// state. If a receiver is down long enough for the queue to fill, dropping the newest would
// leave it, once it comes back, with a stale picture (e.g. "MASTER" when the instance has since
// become BACKUP). Dropping the oldest keeps the most recent `capacity` events, so the last thing
// delivered is the last thing that happened; the gap is visible in the `dropped` counter and the
// log. (keepalived's notify FIFO loses lines instead, without counting them: REFERENCE.md.)

export class BoundedQueue<T> {
  /** Ring buffer: `head` is the oldest entry, `size` entries follow it (mod capacity). */
  private readonly ring: Array<T | undefined>;
  private head = 0;
  private count = 0;
  private droppedTotal = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be an integer >= 1, got ${capacity}`);
    this.ring = new Array<T | undefined>(capacity);
  }

  get size(): number { return this.count; }
  /** Entries evicted because the queue was full, since construction. */
  get dropped(): number { return this.droppedTotal; }

  /** Appends; when full, evicts the oldest entry and returns it (else undefined). Never blocks. */
  push(item: T): T | undefined {
    let evicted: T | undefined;
    if (this.count === this.capacity) {
      evicted = this.ring[this.head];
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      this.droppedTotal++;
    }
    this.ring[(this.head + this.count) % this.capacity] = item;
    this.count++;
    return evicted;
  }

  /** Removes and returns the oldest entry. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return item;
  }

  /** Removes every entry (not counted as dropped: the caller decided, e.g. on stop). */
  clear(): number {
    const n = this.count;
    this.ring.fill(undefined);
    this.head = 0;
    this.count = 0;
    return n;
  }
}
