// Drives the pure verdict machines (verdict.ts): one machine per real server, one deadline per
// server armed at the machine's next deadline, probes run through runProbe() with the timeout the
// machine asks for, results fed back with their sequence number. The warmup jitter is drawn here
// (the machine takes no randomness). What the machines decide comes out as typed events through
// one callback; the caller (the reconciler's health map, alerts, the API) decides what to do.
//
// Deadlines go through one DeadlineQueue (deadlines.ts: a heap under a single setTimeout), not a
// timer per server. Why not daemon/preciseTimer.ts: check deadlines are seconds apart and judged
// to the second (keepalived's own checker timers are no finer), so libuv's millisecond rounding
// and epoll's 0.1% slack do not matter here, and 10,000 servers must not spin.
import { isDeepStrictEqual } from 'node:util';
import type { CheckConfig, RealServerConfig } from '../config/lbModel.js';
import type { HealthMap, RealServerHealth } from './health.js';
import { DeadlineQueue, type DeadlineOwner } from './deadlines.js';
import type { RunProbeOptions } from './probes/index.js';
import type { Timers } from '../timers.js';
import {
  effectiveWeight, initialVerdictState, nextDeadline, step, type CheckChangeReason, type CheckTiming, type ProbeFailReason,
  type ProbeResult, type ServerChangeReason, type ServerVerdictConfig, type ServerVerdictState, type VerdictEvent,
} from './verdict.js';

export type SchedulerEvent =
  | {
    type: 'server_changed'; server: string; up: boolean; reason: ServerChangeReason;
    /** The check whose change decided it, its failure reason and detail (when down). */
    check: number; probe?: ProbeFailReason; detail?: string; weight: number;
  }
  | { type: 'check_changed'; server: string; check: number; up: boolean; reason: CheckChangeReason; retries: number }
  | { type: 'weight_changed'; server: string; from: number; to: number; reason: 'misc_dynamic' };

export interface CheckSchedulerOptions {
  servers: readonly RealServerConfig[];
  onEvent(e: SchedulerEvent): void;
  /** The clock of the verdict machines, their deadlines (one DeadlineQueue timer), and the
   *  wall-clock time of each last probe (src/timers.ts). */
  timers: Timers;
  /** [0, 1): draws the warmup jitter (Math.random in the daemon: daemon/compose.ts). */
  random: () => number;
  /** Runs one probe: probes/index.ts runProbe in the daemon (daemon/compose.ts), a scripted one
   *  in tests. */
  runProbe: (check: CheckConfig, opts: RunProbeOptions) => Promise<ProbeResult>;
}

/** The machine's timing for one configured check. */
export function checkTiming(c: CheckConfig): CheckTiming {
  return {
    timeoutMs: c.timeoutMs, retry: c.retry, delayBeforeRetryMs: c.delayBeforeRetryMs, delayLoopMs: c.delayLoopMs,
    warmupMs: c.warmupMs, alpha: c.alpha, rise: c.rise, dynamicWeight: c.kind === 'misc_check' && c.dynamic,
  };
}

type DriverOptions = Required<Omit<CheckSchedulerOptions, 'servers' | 'timers'>> & {
  now(): number;
  wallNow(): number;
  deadlines: DeadlineQueue<ServerDriver>;
  /** Every probe's duration, by check kind (the latency histogram). */
  observe(kind: CheckConfig['kind'], seconds: number): void;
};

/** One check's last probe, for "why is this server down?" in the status. */
export interface LastCheck {
  kind: CheckConfig['kind'];
  ok: boolean;
  reason: ProbeFailReason | null;
  detail: string | null;
  latencyMs: number;
  /** Wall-clock time of the result, epoch ms (a number: formatting a date per probe, 10,000 a
   *  second, would be garbage the checker pays for; the status formats it). */
  at: number;
}

/** Upper bounds (seconds) of the probe duration histogram's buckets, Prometheus style. */
export const CHECK_LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export interface LatencyHistogram {
  /** Count per bucket of CHECK_LATENCY_BUCKETS (not cumulative), then the +Inf overflow. */
  counts: number[];
  sum: number;
  count: number;
}

const TIMER: VerdictEvent = Object.freeze({ type: 'timer' });

class ServerDriver implements DeadlineOwner {
  dueAt: number | null = null;
  private st: ServerVerdictState;
  private cfg: ServerVerdictConfig;
  /** Aborts this server's in-flight probes at stop(). One per run, not one per probe: at
   *  10,000 servers probed every second, a controller per probe was a visible share of the
   *  checker's CPU (allocation and GC). */
  private abort = new AbortController();
  /** Last failure detail per check, so a server_changed event can say exactly why. */
  private readonly lastDetail: Array<string | undefined>;
  /** Each check's last probe (null until one has reported). */
  readonly lastChecks: Array<LastCheck | null>;

  constructor(public rs: RealServerConfig, private readonly opts: DriverOptions) {
    this.cfg = { weight: rs.dest.weight, checks: rs.checks.map(checkTiming) };
    this.st = initialVerdictState(this.cfg);
    this.lastDetail = rs.checks.map(() => undefined);
    this.lastChecks = rs.checks.map(() => null);
  }

  /** A reload kept this server's checks as they were: the verdict and its timers carry on, and
   *  the new weight (or inhibit flag, notify scripts ...) applies from now. */
  update(rs: RealServerConfig): void {
    this.rs = rs;
    this.cfg = { ...this.cfg, weight: rs.dest.weight };
  }

  health(): RealServerHealth {
    return { up: this.st.up, weight: effectiveWeight(this.cfg, this.st) };
  }

  start(): void {
    this.dispatch({ type: 'start', jitter: this.rs.checks.map(() => this.opts.random()) });
  }

  stop(): void {
    this.dispatch({ type: 'stop' });
    this.abort.abort();
    this.abort = new AbortController();
  }

  private dispatch(ev: VerdictEvent): void {
    const r = step(this.cfg, this.st, ev, this.opts.now());
    this.st = r.state;
    for (const e of r.effects) {
      switch (e.type) {
        case 'probe': this.launch(e.check, e.seq, e.timeoutMs); break;
        case 'check_changed':
          this.emit({ type: 'check_changed', server: this.rs.id, check: e.check, up: e.up, reason: e.reason, retries: e.retries });
          break;
        case 'server_changed': {
          const detail = e.up ? undefined : this.lastDetail[e.check];
          this.emit({
            type: 'server_changed', server: this.rs.id, up: e.up, reason: e.reason, check: e.check,
            ...(e.probe !== undefined ? { probe: e.probe } : {}), ...(detail !== undefined ? { detail } : {}),
            weight: effectiveWeight(this.cfg, this.st),
          });
          break;
        }
        case 'weight_changed':
          this.emit({ type: 'weight_changed', server: this.rs.id, from: e.from, to: e.to, reason: e.reason });
          break;
      }
    }
    this.arm();
  }

  onDue(): void {
    this.dispatch(TIMER);
  }

  private arm(): void {
    this.opts.deadlines.set(this, nextDeadline(this.st));
  }

  private launch(check: number, seq: number, timeoutMs: number): void {
    const signal = this.abort.signal;
    const started = this.opts.now();
    let probe: Promise<ProbeResult>;
    try {
      probe = this.opts.runProbe(this.rs.checks[check]!, { timeoutMs, signal });
    } catch (e) {
      probe = Promise.resolve({ ok: false, reason: 'no_result', detail: String(e) });
    }
    probe.then((result) => {
      // Aborted by stop(): the machine is stopped and would drop it anyway; do not feed it.
      if (signal.aborted) return;
      if (!result.ok) this.lastDetail[check] = result.detail ?? result.reason;
      this.record(check, result, this.opts.now() - started);
      this.dispatch({ type: 'result', check, seq, result });
    }, (e: unknown) => {
      if (!signal.aborted) this.dispatch({ type: 'result', check, seq, result: { ok: false, reason: 'no_result', detail: String(e) } });
    });
  }

  private record(check: number, r: ProbeResult, ms: number): void {
    const kind = this.rs.checks[check]!.kind;
    // Updated in place: a new object per probe would live until the next probe (about a second),
    // long enough to be promoted, and at 10,000 probes a second that is old-generation garbage.
    const last = this.lastChecks[check] ??= { kind, ok: true, reason: null, detail: null, latencyMs: 0, at: 0 };
    last.ok = r.ok;
    last.reason = r.ok ? null : r.reason;
    last.detail = r.ok ? null : r.detail ?? null;
    last.latencyMs = ms;
    last.at = this.opts.wallNow();
    this.opts.observe(kind, ms / 1000);
  }

  private emit(e: SchedulerEvent): void {
    // A throwing listener must not leave the machine half-driven (its timer unarmed).
    try { this.opts.onEvent(e); } catch { /* the listener's own fault; contained */ }
  }
}

/** Health checking for a set of real servers: start() begins probing, stop() ends it and aborts
 *  every in-flight probe, leaving no timer or socket behind. */
export class CheckScheduler {
  private readonly drivers: Map<string, ServerDriver>;
  private readonly deadlines: DeadlineQueue<ServerDriver>;
  private readonly driverOptions: DriverOptions;
  private running = false;
  private readonly latency = new Map<CheckConfig['kind'], LatencyHistogram>();

  constructor(opts: CheckSchedulerOptions) {
    const t = opts.timers;
    const o: DriverOptions = {
      onEvent: opts.onEvent,
      now: () => t.now(),
      wallNow: () => t.wallNow(),
      random: opts.random,
      runProbe: opts.runProbe,
      deadlines: new DeadlineQueue<ServerDriver>(t),
      observe: (kind, seconds) => this.observe(kind, seconds),
    };
    this.deadlines = o.deadlines;
    this.driverOptions = o;
    this.drivers = new Map(opts.servers.map((rs) => [rs.id, new ServerDriver(rs, o)]));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const d of this.drivers.values()) d.start();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const d of this.drivers.values()) d.stop();
    this.deadlines.clear();
  }

  /**
   * A reload: `servers` is the new set. A server with the same id and the same checks keeps its
   * driver (verdict, retries, timers, last probes) and takes the new config; one whose checks
   * changed gets a fresh driver (a new verdict, as keepalived starts a changed checker); a server
   * no longer configured is stopped. Returns the ids whose drivers were (re)created.
   */
  reconfigure(servers: readonly RealServerConfig[]): { kept: string[]; started: string[]; stopped: string[] } {
    const out = { kept: [] as string[], started: [] as string[], stopped: [] as string[] };
    const wanted = new Set(servers.map((rs) => rs.id));
    for (const [id, d] of this.drivers) {
      if (wanted.has(id)) continue;
      if (this.running) d.stop();
      this.deadlines.set(d, null);
      this.drivers.delete(id);
      out.stopped.push(id);
    }
    for (const rs of servers) {
      const d = this.drivers.get(rs.id);
      if (d && isDeepStrictEqual(d.rs.checks, rs.checks)) {
        d.update(rs);
        out.kept.push(rs.id);
        continue;
      }
      if (d) {
        if (this.running) d.stop();
        this.deadlines.set(d, null);
      }
      const fresh = new ServerDriver(rs, this.driverOptions);
      this.drivers.set(rs.id, fresh);
      if (this.running) fresh.start();
      out.started.push(rs.id);
    }
    return out;
  }

  /** Each check's last probe of a real server (by RealServerConfig.id), in config order. */
  lastChecks(id: string): ReadonlyArray<LastCheck | null> {
    return this.drivers.get(id)?.lastChecks ?? [];
  }

  /** Probe durations by check kind since start. */
  latencyHistograms(): ReadonlyMap<CheckConfig['kind'], LatencyHistogram> {
    return this.latency;
  }

  private observe(kind: CheckConfig['kind'], seconds: number): void {
    let h = this.latency.get(kind);
    if (!h) { h = { counts: new Array<number>(CHECK_LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 }; this.latency.set(kind, h); }
    let i = 0;
    while (i < CHECK_LATENCY_BUCKETS.length && seconds > CHECK_LATENCY_BUCKETS[i]!) i++;
    h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  /** The current verdict of every server, keyed by RealServerConfig.id: a live view, looked up
   *  per id, nothing copied (a pass for one service must not copy 10,000 entries). */
  health(): HealthMap {
    return { get: (id) => this.drivers.get(id)?.health() };
  }
}
