// The connections one status API listener holds, and which one gives way when a new one comes
// and the listener is at its cap (issue 12 §3). Pure: the caller passes the time and closes what
// this says to close.
//
// At the cap, the connection idle the longest is closed to make room: idle means no request in
// progress (one that has sent nothing or only part of its headers, or a keep-alive between
// requests). So a flood of silent or half-sent connections cannot lock out a scrape or `tandem
// status`, which send their request at once and are then busy; and when every connection is
// busy, the newcomer is the one refused (the busy ones each end within the request timeout).

export type Admission<C> =
  | { admitted: true; evict: C | null }
  | { admitted: false };

interface Entry {
  /** Requests in progress on the connection (HTTP/1.1 pipelining can overlap two). */
  busy: number;
  /** When it last became idle (accepted, or its last response ended). */
  idleSince: number;
}

export class ConnectionTable<C> {
  private readonly entries = new Map<C, Entry>();

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`connection cap must be a positive integer, got ${max}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** A new connection. If admitted, `evict` (if any) is no longer counted and must be closed. */
  admit(c: C, now: number): Admission<C> {
    let evict: C | null = null;
    if (this.entries.size >= this.max) {
      let oldest = Infinity;
      for (const [k, e] of this.entries) {
        if (e.busy === 0 && e.idleSince < oldest) { oldest = e.idleSince; evict = k; }
      }
      if (evict === null) return { admitted: false };
      this.entries.delete(evict);
    }
    this.entries.set(c, { busy: 0, idleSince: now });
    return { admitted: true, evict };
  }

  requestStarted(c: C): void {
    const e = this.entries.get(c);
    if (e) e.busy++;
  }

  requestEnded(c: C, now: number): void {
    const e = this.entries.get(c);
    if (!e || e.busy === 0) return;
    if (--e.busy === 0) e.idleSince = now;
  }

  /** The connection closed (by either side). */
  remove(c: C): void {
    this.entries.delete(c);
  }
}
