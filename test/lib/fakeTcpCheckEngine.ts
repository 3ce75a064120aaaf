// A TcpCheckEngine (src/net/tcpCheckEngine.ts) without sockets or threads, on an injected clock
// (test/lib/manualTimers.ts): scheduler tests decide what each target answers and when, and
// assert what the scheduler was told, without sleeping. Semantics follow the native engine
// (src/native/tcp_check_engine.cc): a probeIn result is always reported; quiet successes are
// counted, not reported, and rescheduled on the first probe's grid; the first quiet failure is
// reported and ends quiet mode; probeIn / setQuiet / remove replace a pending or in-flight
// probe, whose outcome is then never reported. Outcomes are delivered in batches: everything
// that completes at the same clock time arrives in one onResults call (a zero-delay timeout).
import type { Timers, TimerHandle } from '../../src/timers.js';
import type {
  TcpCheckEngine, TcpCheckFail, TcpCheckLast, TcpCheckOutcome, TcpCheckSpec, TcpCheckStats,
} from '../../src/net/tcpCheckEngine.js';

/** What a target answers to a probe. Default: success after 0 ms. */
export type FakeAnswer =
  | { ok: true; afterMs?: number }
  | { ok: false; reason: Exclude<TcpCheckFail, 'timeout'>; errno?: number; afterMs?: number }
  /** No answer: the probe times out after the spec's timeoutMs. */
  | { ok: false; reason: 'timeout' };

const ERRNO: Record<TcpCheckFail, number> = { timeout: 110, refused: 111, unreachable: 113, connect_error: 99 };

interface FakeTarget {
  spec: TcpCheckSpec;
  mode: 'idle' | 'oneShot' | 'quiet';
  intervalMs: number;
  phaseAt: number;
  timer: TimerHandle | undefined;
  inFlight: boolean;
  last: TcpCheckLast | undefined;
}

export class FakeTcpCheckEngine implements TcpCheckEngine {
  private readonly targets = new Map<number, FakeTarget>();
  private answerFor: (id: number, spec: TcpCheckSpec) => FakeAnswer = () => ({ ok: true });
  private readonly pending: TcpCheckOutcome[] = [];
  private flushTimer: TimerHandle | undefined;
  private closed = false;
  private readonly counts = { probes: 0, reported: 0, suppressed: 0, aborted: 0 };
  /** Every probe start, in order: what a spread or cadence assertion reads. */
  readonly starts: { id: number; at: number }[] = [];

  constructor(private readonly timers: Timers, private readonly onResults: (batch: readonly TcpCheckOutcome[]) => void) {}

  // ---- test controls --------------------------------------------------------------------------

  /** Sets what every probe answers from now on (probes already in flight keep theirs). */
  answer(fn: (id: number, spec: TcpCheckSpec) => FakeAnswer): void { this.answerFor = fn; }

  /** Sets one target's answer (others keep the current rule). */
  answerId(id: number, a: FakeAnswer): void {
    const prev = this.answerFor;
    this.answerFor = (i, s) => (i === id ? a : prev(i, s));
  }

  /** The spec a target was added with, or undefined. */
  specOf(id: number): TcpCheckSpec | undefined { return this.targets.get(id)?.spec; }

  /** Whether the target is in quiet mode. */
  isQuiet(id: number): boolean { return this.targets.get(id)?.mode === 'quiet'; }

  // ---- TcpCheckEngine -------------------------------------------------------------------------

  add(id: number, spec: TcpCheckSpec): void {
    this.assertOpen();
    const t = this.targets.get(id);
    if (t !== undefined) { t.spec = { ...spec }; return; }
    this.targets.set(id, { spec: { ...spec }, mode: 'idle', intervalMs: 0, phaseAt: 0, timer: undefined, inFlight: false, last: undefined });
  }

  probeIn(id: number, delayMs: number): void {
    const t = this.known(id);
    this.abort(t);
    t.mode = 'oneShot';
    this.scheduleStart(id, t, this.timers.now() + Math.max(0, delayMs));
  }

  setQuiet(id: number, intervalMs: number | null, firstInMs?: number): void {
    const t = this.known(id);
    this.abort(t);
    if (intervalMs === null || intervalMs <= 0) { t.mode = 'idle'; return; }
    t.mode = 'quiet';
    t.intervalMs = intervalMs;
    t.phaseAt = this.timers.now() + (firstInMs ?? intervalMs);
    this.scheduleStart(id, t, t.phaseAt);
  }

  remove(id: number): void {
    const t = this.targets.get(id);
    if (t === undefined) return;
    this.abort(t);
    this.targets.delete(id);
    // An outcome of this target still waiting for the batch is dropped, as the native one is.
    for (let i = this.pending.length - 1; i >= 0; i--) if (this.pending[i]!.id === id) this.pending.splice(i, 1);
  }

  last(id: number): TcpCheckLast | undefined { return this.targets.get(id)?.last; }

  stats(): TcpCheckStats {
    let inFlight = 0;
    for (const t of this.targets.values()) if (t.inFlight) inFlight++;
    return {
      ...this.counts, inFlight, targets: this.targets.size, lateStarts: 0, fdErrors: 0, stale: 0,
      synProbes: 0, synRetransmits: 0, synUnmatched: 0, syn4: 'off', syn6: 'off',
    };
  }

  close(): void {
    for (const t of this.targets.values()) this.abort(t);
    this.targets.clear();
    this.timers.clear(this.flushTimer);
    this.pending.length = 0;
    this.closed = true;
  }

  // ---- internals ------------------------------------------------------------------------------

  private assertOpen(): void { if (this.closed) throw new Error('FakeTcpCheckEngine is closed'); }

  private known(id: number): FakeTarget {
    this.assertOpen();
    const t = this.targets.get(id);
    if (t === undefined) throw new TypeError(`unknown target ${id} (add it first)`);
    return t;
  }

  private abort(t: FakeTarget): void {
    this.timers.clear(t.timer);
    t.timer = undefined;
    if (t.inFlight) { t.inFlight = false; this.counts.aborted++; }
  }

  private scheduleStart(id: number, t: FakeTarget, at: number): void {
    this.timers.clear(t.timer);
    t.timer = this.timers.setTimeout(() => this.start(id, t), at - this.timers.now());
  }

  private start(id: number, t: FakeTarget): void {
    const startedAt = this.timers.now();
    this.counts.probes++;
    this.starts.push({ id, at: startedAt });
    const a = this.answerFor(id, t.spec);
    const afterMs = a.ok ? (a.afterMs ?? 0) : a.reason === 'timeout' ? t.spec.timeoutMs : Math.min(a.afterMs ?? 0, t.spec.timeoutMs);
    // An answer slower than connect_timeout is a timeout, as on a real socket.
    const answer: FakeAnswer = a.ok && afterMs > t.spec.timeoutMs ? { ok: false, reason: 'timeout' } : a;
    t.inFlight = true;
    t.timer = this.timers.setTimeout(() => {
      t.timer = undefined;
      t.inFlight = false;
      this.finish(id, t, answer, startedAt);
    }, Math.min(afterMs, t.spec.timeoutMs));
  }

  private finish(id: number, t: FakeTarget, a: FakeAnswer, startedAt: number): void {
    const now = this.timers.now();
    const latencyUs = Math.round((now - startedAt) * 1000);
    t.last = a.ok
      ? { ok: true, latencyUs, atWallMs: this.timers.wallNow() }
      : { ok: false, reason: a.reason, latencyUs, atWallMs: this.timers.wallNow() };
    if (t.mode === 'quiet' && a.ok) {
      this.counts.suppressed++;
      let next = t.phaseAt + t.intervalMs;
      if (next <= now) next += (Math.floor((now - next) / t.intervalMs) + 1) * t.intervalMs;
      t.phaseAt = next;
      this.scheduleStart(id, t, next);
      return;
    }
    t.mode = 'idle';
    this.pending.push(a.ok
      ? { id, ok: true, latencyUs }
      : { id, ok: false, reason: a.reason, errno: ('errno' in a && a.errno !== undefined) ? a.errno : ERRNO[a.reason], latencyUs });
    // A zero-delay timeout, not an immediate: ManualTimers runs immediates before timeouts due
    // at the same instant, which would split one instant's completions into several batches.
    this.flushTimer ??= this.timers.setTimeout(() => {
      this.flushTimer = undefined;
      const batch = this.pending.splice(0);
      if (batch.length === 0) return;
      this.counts.reported += batch.length;
      this.onResults(batch);
    }, 0);
  }
}
