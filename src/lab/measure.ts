// What the lab measures from the client's requests (pure: no I/O, no clock). A sample is one
// request; the client sends one every ~75 ms on a new connection and reports it when it ends,
// so samples arrive out of order and the latest ones may still be in flight.

export interface Sample {
  seq: number;
  /** Wall-clock ms when the request was sent. */
  sent: number;
  /** Duration, ms. */
  ms: number;
  ok: boolean;
  /** The real server that answered (its name), when ok. */
  rs: string | null;
  err: string | null;
}

/** Parses one line of the client's output; null for anything else. */
export function parseSample(line: string): Sample | null {
  if (!line.startsWith('{')) return null;
  try {
    const o = JSON.parse(line) as Partial<Sample>;
    if (typeof o.seq !== 'number' || typeof o.sent !== 'number' || typeof o.ok !== 'boolean') return null;
    return { seq: o.seq, sent: o.sent, ms: o.ms ?? 0, ok: o.ok, rs: o.rs ?? null, err: o.err ?? null };
  } catch {
    return null;
  }
}

/**
 * The samples sent at or after `fromMs` (and before `toMs`), in sending order, cut at the first
 * one still in flight: a later request that is already done says nothing until the earlier ones
 * are known too.
 */
export function settledSince(samples: readonly Sample[], fromMs: number, toMs = Infinity): Sample[] {
  const since = samples.filter((s) => s.sent >= fromMs && s.sent < toMs).sort((a, b) => a.seq - b.seq);
  const out: Sample[] = [];
  for (let i = 0; i < since.length; i++) {
    if (i > 0 && since[i]!.seq !== since[i - 1]!.seq + 1) break;
    out.push(since[i]!);
  }
  return out;
}

export interface Recovery {
  /** Requests sent since the event that failed. */
  failed: number;
  /** The first request of the final run of successes (sent after the last failure). */
  firstGood: Sample;
  /**
   * ms from the event to when that request was answered. Its answer, not its sending: a request
   * sent while the client's ARP entry for the VIP is unresolved waits in the kernel's neighbour
   * queue and succeeds once a director answers, so its send time would say the path was there
   * before it was.
   */
  recoveryMs: number;
  /** Error messages of the failures, counted. */
  errors: Record<string, number>;
}

/**
 * Whether traffic has recovered since `eventMs`: the settled samples since then end with at
 * least `needOk` successes in a row. Returns the measurement, or null if not (yet).
 * With no failure at all, recoveryMs is from the event to the answer of the first request sent
 * after it.
 */
export function recoveryAfter(samples: readonly Sample[], eventMs: number, needOk: number): Recovery | null {
  const s = settledSince(samples, eventMs);
  let lastFail = -1;
  for (let i = 0; i < s.length; i++) if (!s[i]!.ok) lastFail = i;
  if (s.length - (lastFail + 1) < needOk) return null;
  const firstGood = s[lastFail + 1]!;
  const errors: Record<string, number> = {};
  for (const x of s) if (!x.ok) errors[x.err ?? 'error'] = (errors[x.err ?? 'error'] ?? 0) + 1;
  return { failed: s.filter((x) => !x.ok).length, firstGood, recoveryMs: Math.max(0, firstGood.sent + firstGood.ms - eventMs), errors };
}

/** Counts of answers by real server, and failures, among samples. */
export function tally(samples: readonly Sample[]): { total: number; failed: number; byServer: Record<string, number> } {
  const byServer: Record<string, number> = {};
  let failed = 0;
  for (const s of samples) {
    if (!s.ok) failed++;
    else if (s.rs) byServer[s.rs] = (byServer[s.rs] ?? 0) + 1;
  }
  return { total: samples.length, failed, byServer };
}

/**
 * One character per request, in sending order: `.` answered, `x` failed, `|` where the event
 * happened; at most `width` characters (the most recent ones).
 */
export function strip(samples: readonly Sample[], eventMs: number, width = 72): string {
  const sorted = [...samples].sort((a, b) => a.seq - b.seq);
  let out = '';
  let marked = false;
  for (const s of sorted) {
    if (!marked && s.sent >= eventMs) { out += '|'; marked = true; }
    out += s.ok ? '.' : 'x';
  }
  if (!marked) out += '|';
  return out.length > width ? out.slice(out.length - width) : out;
}
