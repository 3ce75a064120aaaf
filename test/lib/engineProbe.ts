// One-shot probes through the native check engine (src/net/tcpCheckEngine.ts), for tests that
// compare the engine's judgement with the JS probes' case by case (the daemon runs the engine
// through check/scheduler.ts, with quiet mode): the probe contract of src/check/probes/scope.ts
// (settles exactly once, within its deadline or at once when aborted, releases what it opened,
// never rejects) for the checks src/check/probes/httpEngineSpec.ts lets through.
//
// Why: a JS probe costs a Node timer for its deadline, TcpProber callbacks, Buffers and promise
// hops per probe; here the engine's thread connects, exchanges, judges and times the probe, and
// JS only sees the outcome (in batches). Without a `key` each probe is a target of its own:
// add(id, spec), probeIn(id, 0), and remove(id) once its outcome is in (or when it is aborted).
// With a `key` (runProbe passes the check's config object) the target outlives the probe: one
// add, then only probeIn per probe, and the target is removed when the key is garbage (a reload
// replaced the config): two of the three engine commands per probe are gone, and with them two
// of the engine thread's wake-ups. The scheduler's steady-state integration (quiet mode) is
// check/scheduler.ts's business.
import { performance } from 'node:perf_hooks';
import {
  createTcpCheckEngine, type TcpCheckEngine, type TcpCheckOutcome, type TcpCheckSpec,
} from '../../src/net/tcpCheckEngine.js';
import type { ProbeResult } from '../../src/check/verdict.js';
import type { CheckConfig } from '../../src/config/lbModel.js';
import { engineOutcomeResult, nativeCheckSpec } from '../../src/check/probes/httpEngineSpec.js';
import { runProbe, type RunProbe } from '../../src/check/probes/index.js';

export interface EngineProbeOptions {
  /** The whole probe's deadline (connect + exchange); the spec's own timeoutMs is not used. */
  timeoutMs: number;
  /** Aborting settles the probe at once ('timeout', detail 'aborted') and removes its target. */
  signal?: AbortSignal | undefined;
  /** The check probed: a failure is worded as the daemon words it (httpEngineSpec.ts
   *  engineOutcomeResult(), the JS probe's words). */
  check: CheckConfig;
  /** Keeps the engine target between probes of the same key (the same spec every time). */
  key?: object | undefined;
}

/** A key's persistent engine target. */
interface Slot {
  id: number;
  /** The timeout the target was added with (-1: not added yet). */
  timeoutMs: number;
  busy: boolean;
}

/** The engine's largest timeout (tcp_check_engine.cc add()). */
const MAX_TIMEOUT_MS = 86_400_000;
/** After its deadline plus this, a probe the engine never answered settles as no_result. */
const BACKSTOP_GRACE_MS = 1000;
/** Ids the engine accepts (0 .. 2^22 - 1): at most this many one-shot probes in flight. */
const MAX_IDS = 1 << 22;

/** A probe waiting for its engine outcome. A class, not closures: thousands a second. */
class Waiter {
  constructor(
    readonly id: number,
    readonly resolve: (r: ProbeResult) => void,
    readonly signal: AbortSignal | undefined,
    readonly timeoutMs: number,
    readonly check: CheckConfig,
    readonly giveUpAt: number,
    /** The key's target (kept after the probe), or undefined (removed after the probe). */
    readonly slot: Slot | undefined,
  ) {}
}

/** A TcpCheckEngine used for one-shot probes: it owns the engine's ids and routes outcomes. */
export class ProbeEngine {
  readonly engine: TcpCheckEngine;
  private readonly waiting = new Map<number, Waiter>();
  private readonly freeIds: number[] = [];
  private nextId = 0;
  private backstop: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  /** Per abort signal, the probes under it, behind one listener (see probes/scope.ts RUNS). */
  private readonly bySignal = new WeakMap<AbortSignal, Set<Waiter>>();
  private readonly slots = new WeakMap<object, Slot>();
  /** Removes a key's target once the key is collected. */
  private readonly slotReaper = new FinalizationRegistry<Slot>((slot) => {
    if (slot.busy) return; // cannot happen: a probe in flight holds its key's config through its caller
    this.release(slot.id);
  });

  /** `create` builds the engine with our outcome router (default: the native engine). */
  constructor(create: (onResults: (batch: readonly TcpCheckOutcome[]) => void) => TcpCheckEngine = createTcpCheckEngine) {
    this.engine = create((batch) => this.onResults(batch));
  }

  /** Probes in flight. */
  get inFlight(): number { return this.waiting.size; }

  /** Settles every probe in flight as no_result and closes the engine. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopBackstop();
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.resolve({ ok: false, reason: 'no_result', detail: 'check engine closed' });
    this.engine.close();
  }

  /** @internal probeWithEngine's body. */
  start(spec: TcpCheckSpec, opts: EngineProbeOptions, resolve: (r: ProbeResult) => void): void {
    if (opts.signal?.aborted) { resolve(ABORTED); return; }
    if (this.closed) { resolve({ ok: false, reason: 'no_result', detail: 'check engine closed' }); return; }
    const ms = Number.isFinite(opts.timeoutMs) ? Math.min(Math.max(Math.floor(opts.timeoutMs), 1), MAX_TIMEOUT_MS) : 1;
    let slot = opts.key !== undefined ? this.slots.get(opts.key) : undefined;
    if (opts.key !== undefined && slot === undefined) {
      const id = this.allocId();
      if (id >= 0) {
        slot = { id, timeoutMs: -1, busy: false };
        this.slots.set(opts.key, slot);
        this.slotReaper.register(opts.key, slot);
      }
    }
    // A second probe of a key whose probe is still in flight gets a target of its own.
    if (slot?.busy) slot = undefined;
    const id = slot?.id ?? this.allocId();
    if (id < 0) { resolve({ ok: false, reason: 'no_result', detail: `more than ${MAX_IDS} engine targets` }); return; }
    try {
      if (slot === undefined || slot.timeoutMs !== ms) {
        this.engine.add(id, spec.timeoutMs === ms ? spec : { ...spec, timeoutMs: ms });
        if (slot !== undefined) slot.timeoutMs = ms;
      }
      this.engine.probeIn(id, 0);
    } catch (e) {
      // A bad address or bind address: as probes/scope.ts, a probe that cannot start.
      if (slot === undefined) this.release(id);
      resolve({ ok: false, reason: 'connect_error', detail: e instanceof Error ? e.message : String(e) });
      return;
    }
    if (slot !== undefined) slot.busy = true;
    const w = new Waiter(id, resolve, opts.signal, ms, opts.check, performance.now() + ms + BACKSTOP_GRACE_MS, slot);
    this.waiting.set(id, w);
    if (opts.signal) this.underSignal(opts.signal).add(w);
    this.startBackstop();
  }

  private onResults(batch: readonly TcpCheckOutcome[]): void {
    for (const o of batch) {
      const w = this.waiting.get(o.id);
      if (w === undefined) continue; // aborted meanwhile (its target was removed)
      this.settle(w, resultOf(o, w));
    }
  }

  private settle(w: Waiter, r: ProbeResult, cancel = false): void {
    this.waiting.delete(w.id);
    if (w.signal) this.bySignal.get(w.signal)?.delete(w);
    if (w.slot === undefined) this.release(w.id);
    else {
      w.slot.busy = false;
      // Aborted or given up: stop the in-flight probe (RST), keep the target for the next one.
      if (cancel && !this.closed) this.engine.setQuiet(w.id, null);
    }
    if (this.waiting.size === 0) this.stopBackstop();
    w.resolve(r);
  }

  private allocId(): number {
    return this.freeIds.pop() ?? (this.nextId < MAX_IDS ? this.nextId++ : -1);
  }

  private release(id: number): void {
    if (!this.closed) this.engine.remove(id);
    this.freeIds.push(id);
  }

  private underSignal(signal: AbortSignal): Set<Waiter> {
    let set = this.bySignal.get(signal);
    if (set === undefined) {
      const s = new Set<Waiter>();
      set = s;
      this.bySignal.set(signal, s);
      signal.addEventListener('abort', () => {
        this.bySignal.delete(signal);
        for (const w of [...s]) if (this.waiting.get(w.id) === w) this.settle(w, ABORTED, true);
      }, { once: true });
    }
    return set;
  }

  // One coarse timer for all probes, in case the engine never answers one (it always should:
  // its own timer ends every probe): the probe contract says "settles within its deadline".
  private startBackstop(): void {
    if (this.backstop !== undefined) return;
    this.backstop = setInterval(() => this.sweep(), BACKSTOP_GRACE_MS);
    this.backstop.unref();
  }

  private stopBackstop(): void {
    if (this.backstop !== undefined) clearInterval(this.backstop);
    this.backstop = undefined;
  }

  private sweep(): void {
    const now = performance.now();
    for (const w of [...this.waiting.values()]) {
      if (now >= w.giveUpAt) this.settle(w, { ok: false, reason: 'no_result', detail: `check engine gave no outcome within ${w.timeoutMs} ms` }, true);
    }
  }
}

/** Runs one probe of `spec` on the engine: resolves on its outcome, never rejects. */
export function probeWithEngine(engine: ProbeEngine, spec: TcpCheckSpec, opts: EngineProbeOptions): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve) => engine.start(spec, opts, resolve));
}

const ABORTED: ProbeResult = Object.freeze({ ok: false, reason: 'timeout', detail: 'aborted' });

function resultOf(o: TcpCheckOutcome, w: Waiter): ProbeResult {
  return engineOutcomeResult(w.check, o, w.timeoutMs);
}

/** What the engine runs for a check (null: the JS probe), computed once per check object (the
 *  config is frozen, so the request bytes cannot change under us). */
const ENGINE_SPECS = new WeakMap<CheckConfig, TcpCheckSpec | null>();

function engineSpecOf(check: CheckConfig): TcpCheckSpec | null {
  let spec = ENGINE_SPECS.get(check);
  if (spec === undefined) {
    spec = nativeCheckSpec(check);
    ENGINE_SPECS.set(check, spec);
  }
  return spec;
}

/**
 * runProbe, with the checks the native engine can judge (probes/httpEngineSpec.ts: TCP_CHECK,
 * HTTP_GET with one url and no digest) run on `engine` instead of in JS. No engine: runProbe.
 */
export function createRunProbe(engine?: ProbeEngine): RunProbe {
  if (engine === undefined) return runProbe;
  return (check, opts = {}) => {
    const spec = engineSpecOf(check);
    if (spec === null) return runProbe(check, opts);
    return probeWithEngine(engine, spec, {
      timeoutMs: opts.timeoutMs ?? check.timeoutMs, signal: opts.signal, check, key: check,
    });
  };
}
