// Drives the pure verdict machines (verdict.ts) with checker merge (keepalived's open requests
// #2111 / #2358): checks with equal keys (merge.ts checkKey: target, bind options, kind, timing,
// what is judged) are ONE SharedCheck: one probe schedule, one deadline, one per-check verdict
// machine (retries, delay_before_retry, rise, alpha, no_result), whatever number of virtual
// services name the real server. Each real server of each service is a Member: its list of
// checks -> SharedChecks, from which it derives "up only when all of its checks are up"
// (keepalived ipwrapper.c update_svr_checker_state()) and its weight (misc_dynamic), and emits
// server_changed / check_changed / weight_changed with the same shape and order, per real server,
// as one machine per server did. Probes run through runProbe() with the timeout the machine asks
// for, results are fed back with their sequence number. The warmup jitter is drawn here (the
// machine takes no randomness) and spread over the checks starting together (merge.ts
// spreadJitter). What the machines decide comes out as typed events through one callback; the
// caller (the reconciler's health map, alerts, the API) decides what to do.
//
// Deadlines go through one DeadlineQueue (deadlines.ts: a heap under a single setTimeout), not a
// timer per check. Why not daemon/preciseTimer.ts: check deadlines are seconds apart and judged
// to the second (keepalived's own checker timers are no finer), so libuv's millisecond rounding
// and epoll's 0.1% slack do not matter here, and 10,000 servers must not spin.
import { isDeepStrictEqual } from 'node:util';
import type { CheckConfig, RealServerConfig } from '../config/lbModel.js';
import type { HealthMap, RealServerHealth } from './health.js';
import { DeadlineQueue, type DeadlineOwner } from './deadlines.js';
import { checkKey, spreadJitter } from './merge.js';
import type { RunProbeOptions } from './probes/index.js';
import { engineOutcomeResult, nativeCheckSpec } from './probes/httpEngineSpec.js';
import type { Timers } from '../timers.js';
import type { TcpCheckEngine, TcpCheckOutcome, TcpCheckSpec } from '../net/tcpCheckEngine.js';
import {
  acceptsResult, initialVerdictState, nextDeadline, step, stepUnasked, successChangesNothing, type VerdictStep, type CheckChangeReason, type CheckTiming, type ProbeFailReason,
  type ProbeResult, type ServerChangeReason, type ServerVerdictConfig, type ServerVerdictState, type VerdictEffect, type VerdictEvent,
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
  /** Makes the native TCP check engine (net/tcpCheckEngine.ts createTcpCheckEngine in the
   *  daemon, test/lib/fakeTcpCheckEngine.ts in tests). Given: the checks it can run
   *  (probes/httpEngineSpec.ts nativeCheckSpec(): tcp_check, http_get with one url and no
   *  digest) run on it, and a steady check is left to its quiet mode (see SharedCheck). Absent, or if it throws: every
   *  probe goes through runProbe. */
  tcpEngine?: (onResults: (batch: readonly TcpCheckOutcome[]) => void) => TcpCheckEngine;
}

/** The machine's timing for one configured check. */
export function checkTiming(c: CheckConfig): CheckTiming {
  return {
    timeoutMs: c.timeoutMs, retry: c.retry, delayBeforeRetryMs: c.delayBeforeRetryMs, delayLoopMs: c.delayLoopMs,
    warmupMs: c.warmupMs, alpha: c.alpha, rise: c.rise, dynamicWeight: c.kind === 'misc_check' && c.dynamic,
  };
}

type SharedOptions = Pick<CheckSchedulerOptions, 'runProbe'> & {
  /** The TCP check engine, when there is one. */
  engine: TcpCheckEngine | undefined;
  now(): number;
  wallNow(): number;
  deadlines: DeadlineQueue<SharedCheck>;
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

/** Probe durations by kind. With the TCP check engine, a quiet check's successes are the
 *  engine's and are not in it (mergeStats().engine.suppressed counts them); every probe the
 *  scheduler hears of is. */
export interface LatencyHistogram {
  /** Count per bucket of CHECK_LATENCY_BUCKETS (not cumulative), then the +Inf overflow. */
  counts: number[];
  sum: number;
  count: number;
}

/** How much the merge saves: distinct probes vs the checks the config names. */
export interface CheckMergeStats {
  /** Distinct checks (SharedChecks): what is probed, each once per its own schedule. */
  sharedChecks: number;
  /** Real servers of services (Members). */
  members: number;
  /** Checks named by members (what one probe loop per check per server would run). */
  memberChecks: number;
  /** Probes the scheduler started since it was built (through runProbe or the engine's
   *  probeIn); a quiet check's probes are the engine's and counted in `engine`. */
  probes: number;
  /** Checks in the engine's quiet mode now. */
  quiet: number;
  /** The engine's own counters (net/tcpCheckEngine.ts stats()), when there is one. */
  engine: { probes: number; reported: number; suppressed: number; syn_probes: number; syn4: string; syn6: string } | null;
}

const TIMER: VerdictEvent = Object.freeze({ type: 'timer' });

type CheckChangedEffect = Extract<VerdictEffect, { type: 'check_changed' }>;

/** One distinct check (one key): its probe loop, its deadline and its verdict machine. The
 *  machine is verdict.ts's own with this one check (its server-level effects are the Members'
 *  business and are ignored here). */
class SharedCheck implements DeadlineOwner {
  dueAt: number | null = null;
  /** Who reads this check: (member, index in the member's checks), in config order. Rebuilt by
   *  CheckScheduler at construction and at each reload. */
  users: Array<{ member: Member; index: number }> = [];
  private readonly cfg: ServerVerdictConfig;
  private st: ServerVerdictState;
  /** Aborts this check's in-flight probe at stop(). One per run, not one per probe: at
   *  10,000 checks probed every second, a controller per probe was a visible share of the
   *  checker's CPU (allocation and GC). */
  private abort = new AbortController();
  /** Last failure detail, so a server_changed event can say exactly why. */
  lastDetail: string | undefined;
  /** The last probe (null until one has reported). */
  last: LastCheck | null = null;
  /** The last misc_dynamic weight judged: a member that joins later starts with it. */
  dynamicWeight: number | undefined;
  /** A check the engine can run (probes/httpEngineSpec.ts: tcp_check, plain http_get), with
   *  an engine: its id there (null: probes go through runProbe). */
  readonly engineId: number | null;
  private readonly engineSpec: TcpCheckSpec | null;
  /** The machine's probe the engine is running (0: none). */
  private engineSeq = 0;
  /** Steady and left to the engine's quiet mode: no deadline here, the engine reports only a
   *  failure. */
  quiet = false;

  constructor(
    readonly key: string, public check: CheckConfig, private readonly opts: SharedOptions, private readonly counted: () => void,
    onEngine: { id: number; spec: TcpCheckSpec } | null,
  ) {
    this.cfg = { weight: 0, checks: [checkTiming(check)] };
    this.st = initialVerdictState(this.cfg);
    this.engineId = onEngine?.id ?? null;
    this.engineSpec = onEngine?.spec ?? null;
  }

  /** The check's verdict now (before any probe: up unless alpha). */
  get up(): boolean { return this.st.checks[0]!.up; }

  start(jitter: number): void {
    if (this.engineId !== null) this.opts.engine!.add(this.engineId, this.engineSpec!);
    this.dispatch({ type: 'start', jitter: [jitter] }, undefined);
  }

  stop(): void {
    this.dispatch({ type: 'stop' }, undefined);
    this.abort.abort();
    this.abort = new AbortController();
    if (this.engineId !== null) {
      // Aborts an in-flight probe and forgets the target; start() adds it again.
      this.opts.engine!.remove(this.engineId);
      this.quiet = false;
      this.engineSeq = 0;
    }
  }

  onDue(): void {
    this.dispatch(TIMER, undefined);
  }

  /** `weight`: a misc_dynamic weight this (judged) result carries, passed to every member before
   *  the check's change, as one machine per server ordered them (verdict.ts judge()). */
  private dispatch(ev: VerdictEvent, weight: number | undefined): void {
    this.apply(step(this.cfg, this.st, ev, this.opts.now()), weight);
  }

  private apply(r: VerdictStep, weight: number | undefined): void {
    this.st = r.state;
    let changed: CheckChangedEffect | undefined;
    for (const e of r.effects) if (e.type === 'check_changed') changed = e;
    if (weight !== undefined || changed !== undefined) {
      for (const u of this.users) u.member.judged(u.index, weight, changed, this.lastDetail);
    }
    // Probes after the events, as the machine orders its effects (judge, then launchDue).
    for (const e of r.effects) if (e.type === 'probe') this.launch(e.seq, e.timeoutMs);
    if (this.engineId !== null && !this.quiet && successChangesNothing(this.cfg, this.st, 0)) {
      // Steady: successes would only reschedule. The engine probes on the machine's schedule
      // (first at its nextProbeAt, then every delay_loop) without telling JS, and reports the
      // first failure, which stepUnasked() judges as the machine would have (retry, down).
      this.quiet = true;
      this.opts.deadlines.set(this, null);
      const next = this.st.checks[0]!.nextProbeAt!;
      this.opts.engine!.setQuiet(this.engineId, this.cfg.checks[0]!.delayLoopMs, Math.max(0, next - this.opts.now()));
      return;
    }
    this.opts.deadlines.set(this, this.quiet ? null : nextDeadline(this.st));
  }

  /** An outcome from the engine: the result of the machine's probe, or a quiet-mode failure. */
  engineResult(o: TcpCheckOutcome): void {
    const result = engineOutcomeResult(this.check, o, this.check.timeoutMs);
    if (!result.ok) this.lastDetail = result.detail;
    this.record(result, o.latencyUs / 1000);
    if (this.quiet) {
      this.quiet = false;
      // The engine reports no quiet success; one would change nothing anyway.
      if (result.ok) { this.opts.deadlines.set(this, nextDeadline(this.st)); return; }
      this.apply(stepUnasked(this.cfg, this.st, 0, result, this.opts.now()), undefined);
      return;
    }
    const seq = this.engineSeq;
    if (seq === 0) return; // nothing asked (a stale outcome)
    this.engineSeq = 0;
    this.dispatch({ type: 'result', check: 0, seq, result }, undefined);
  }

  /** The last probe, reported or not (a quiet check's successes are only in the engine). */
  lastCheck(): LastCheck | null {
    if (this.engineId === null) return this.last;
    const e = this.opts.engine!.last(this.engineId);
    if (e === undefined) return this.last;
    const last = this.last ??= { kind: this.check.kind, ok: true, reason: null, detail: null, latencyMs: 0, at: 0 };
    last.ok = e.ok;
    last.reason = e.ok ? null : e.reason ?? 'connect_error';
    last.detail = e.ok ? null : this.lastDetail ?? null;
    last.latencyMs = e.latencyUs / 1000;
    last.at = e.atWallMs;
    return last;
  }

  private launch(seq: number, timeoutMs: number): void {
    if (this.engineId !== null) {
      // The engine times the probe out itself (the spec's connect_timeout = timeoutMs).
      this.counted();
      this.engineSeq = seq;
      this.opts.engine!.probeIn(this.engineId, 0);
      return;
    }
    const signal = this.abort.signal;
    const started = this.opts.now();
    this.counted();
    let probe: Promise<ProbeResult>;
    try {
      probe = this.opts.runProbe(this.check, { timeoutMs, signal });
    } catch (e) {
      probe = Promise.resolve({ ok: false, reason: 'no_result', detail: String(e) });
    }
    probe.then((result) => {
      // Aborted by stop(): the machine is stopped and would drop it anyway; do not feed it.
      if (signal.aborted) return;
      if (!result.ok) this.lastDetail = result.detail ?? result.reason;
      this.record(result, this.opts.now() - started);
      let weight: number | undefined;
      if (result.ok && result.weight !== undefined && this.cfg.checks[0]!.dynamicWeight && acceptsResult(this.st, 0, seq)) {
        weight = result.weight;
        this.dynamicWeight = weight;
      }
      this.dispatch({ type: 'result', check: 0, seq, result }, weight);
    }, (e: unknown) => {
      if (!signal.aborted) this.dispatch({ type: 'result', check: 0, seq, result: { ok: false, reason: 'no_result', detail: String(e) } }, undefined);
    });
  }

  private record(r: ProbeResult, ms: number): void {
    const kind = this.check.kind;
    // Updated in place: a new object per probe would live until the next probe (about a second),
    // long enough to be promoted, and at 10,000 probes a second that is old-generation garbage.
    const last = this.last ??= { kind, ok: true, reason: null, detail: null, latencyMs: 0, at: 0 };
    last.ok = r.ok;
    last.reason = r.ok ? null : r.reason;
    last.detail = r.ok ? null : r.detail ?? null;
    last.latencyMs = ms;
    last.at = this.opts.wallNow();
    this.opts.observe(kind, ms / 1000);
  }
}

/** One real server of one service: its checks (SharedChecks, in config order), its server-level
 *  verdict and weight, and its events. No timers of its own. */
class Member {
  private readonly checkUp: boolean[];
  private up: boolean;
  /** Set by misc_dynamic; null = the configured weight. */
  private dynamicWeight: number | null = null;

  /** Joining existing SharedChecks takes their verdicts now (see CheckScheduler.reconfigure). */
  constructor(public rs: RealServerConfig, readonly checks: readonly SharedCheck[], private readonly onEvent: (e: SchedulerEvent) => void) {
    this.checkUp = checks.map((s) => s.up);
    this.up = this.checkUp.every(Boolean);
    for (const s of checks) if (s.dynamicWeight !== undefined) this.dynamicWeight = s.dynamicWeight;
  }

  /** A reload kept this server's checks as they were: the verdict carries on, and the new weight
   *  (or inhibit flag, notify scripts ...) applies from now. */
  update(rs: RealServerConfig): void {
    this.rs = rs;
  }

  private weight(): number {
    return this.dynamicWeight ?? this.rs.dest.weight;
  }

  health(): RealServerHealth {
    return { up: this.up, weight: this.weight() };
  }

  lastChecks(): Array<LastCheck | null> {
    return this.checks.map((s) => s.lastCheck());
  }

  /** Check `i` (a SharedCheck) judged a result: verdict.ts judge()'s misc_dynamic weight, then
   *  setCheck()'s check_changed and the server rule, per member. */
  judged(i: number, weight: number | undefined, changed: CheckChangedEffect | undefined, detail: string | undefined): void {
    if (weight !== undefined) {
      const from = this.weight();
      this.dynamicWeight = weight;
      if (weight !== from) this.emit({ type: 'weight_changed', server: this.rs.id, from, to: weight, reason: 'misc_dynamic' });
    }
    if (changed === undefined) return;
    this.checkUp[i] = changed.up;
    this.emit({ type: 'check_changed', server: this.rs.id, check: i, up: changed.up, reason: changed.reason, retries: changed.retries });
    // keepalived ipwrapper.c update_svr_checker_state(): up only when every check is up.
    const serverUp = this.checkUp.every(Boolean);
    if (serverUp === this.up) return;
    this.up = serverUp;
    if (serverUp) {
      this.emit({ type: 'server_changed', server: this.rs.id, up: true, reason: 'checks_passed', check: i, weight: this.weight() });
    } else {
      this.emit({
        type: 'server_changed', server: this.rs.id, up: false, reason: 'check_failed', check: i,
        probe: changed.reason as ProbeFailReason, ...(detail !== undefined ? { detail } : {}), weight: this.weight(),
      });
    }
  }

  private emit(e: SchedulerEvent): void {
    // A throwing listener must not leave a shared check half-driven (its timer unarmed).
    try { this.onEvent(e); } catch { /* the listener's own fault; contained */ }
  }
}

/** Health checking for a set of real servers: start() begins probing, stop() ends it and aborts
 *  every in-flight probe, leaving no timer or socket behind. */
export class CheckScheduler {
  private readonly members = new Map<string, Member>();
  private readonly shared = new Map<string, SharedCheck>();
  private readonly deadlines: DeadlineQueue<SharedCheck>;
  private readonly sharedOptions: SharedOptions;
  private readonly onEvent: (e: SchedulerEvent) => void;
  private readonly random: () => number;
  private running = false;
  private probes = 0;
  private readonly countProbe = (): void => { this.probes++; };
  private readonly latency = new Map<CheckConfig['kind'], LatencyHistogram>();
  private readonly engine: TcpCheckEngine | undefined;
  /** Engine id -> its check; ids are reused (the engine wants small integers). */
  private readonly byEngineId = new Map<number, SharedCheck>();
  private readonly freeEngineIds: number[] = [];
  private nextEngineId = 0;

  constructor(opts: CheckSchedulerOptions) {
    const t = opts.timers;
    this.onEvent = opts.onEvent;
    this.random = opts.random;
    this.deadlines = new DeadlineQueue<SharedCheck>(t);
    let engine: TcpCheckEngine | undefined;
    try {
      engine = opts.tcpEngine?.((batch) => {
        for (const o of batch) this.byEngineId.get(o.id)?.engineResult(o);
      });
    } catch {
      // No engine (an addon built without it, no thread): the JS prober does the TCP checks.
      engine = undefined;
    }
    this.engine = engine;
    this.sharedOptions = {
      engine,
      now: () => t.now(),
      wallNow: () => t.wallNow(),
      runProbe: opts.runProbe,
      deadlines: this.deadlines,
      observe: (kind, seconds) => this.observe(kind, seconds),
    };
    for (const rs of opts.servers) this.members.set(rs.id, this.member(rs, []));
    this.linkUsers();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startChecks([...this.shared.values()]);
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const s of this.shared.values()) s.stop();
    this.deadlines.clear();
  }

  /** stop(), then the engine's thread ends too (the scheduler is not started again). */
  close(): void {
    this.stop();
    this.engine?.close();
  }

  /**
   * A reload: `servers` is the new set.
   * - A real server with the same id and the same checks keeps its Member (verdict, weight) and
   *   takes the new config.
   * - One whose checks changed, or a new one, gets a new Member. Each of its checks that equals
   *   one already probed (same checkKey: in this service or another) JOINS that SharedCheck and
   *   takes its current verdict at once, silently: a new service naming a server that is already
   *   checked and down starts with it down (and its desired entry, computed by the reload, leaves
   *   it out), rather than up until its own retries have run out; the check's state and timers are
   *   not touched. A check nobody probed yet starts fresh (warm-up, alpha), as keepalived starts
   *   a new checker.
   * - A SharedCheck no member uses any longer is stopped (its in-flight probe aborted).
   * Returns the real server ids by fate (kept / started = new or changed Member / stopped), and
   * the same count for the distinct checks.
   */
  reconfigure(servers: readonly RealServerConfig[]): {
    kept: string[]; started: string[]; stopped: string[];
    checks: { kept: number; started: number; stopped: number };
  } {
    const out = { kept: [] as string[], started: [] as string[], stopped: [] as string[], checks: { kept: 0, started: 0, stopped: 0 } };
    const wanted = new Set(servers.map((rs) => rs.id));
    for (const id of [...this.members.keys()]) {
      if (wanted.has(id)) continue;
      this.members.delete(id);
      out.stopped.push(id);
    }
    const before = new Set(this.shared.values());
    const fresh: SharedCheck[] = [];
    const next = new Map<string, Member>();
    for (const rs of servers) {
      const m = this.members.get(rs.id);
      if (m && isDeepStrictEqual(m.rs.checks, rs.checks)) {
        m.update(rs);
        next.set(rs.id, m);
        out.kept.push(rs.id);
        continue;
      }
      next.set(rs.id, this.member(rs, fresh));
      out.started.push(rs.id);
    }
    this.members.clear();
    for (const [id, m] of next) this.members.set(id, m);
    const used = new Set<SharedCheck>();
    for (const m of this.members.values()) for (const s of m.checks) used.add(s);
    for (const [key, s] of this.shared) {
      if (used.has(s)) continue;
      if (this.running) s.stop();
      this.deadlines.set(s, null);
      this.shared.delete(key);
      if (s.engineId !== null) {
        this.byEngineId.delete(s.engineId);
        this.freeEngineIds.push(s.engineId);
      }
      out.checks.stopped++;
    }
    for (const s of before) if (used.has(s)) out.checks.kept++;
    out.checks.started = fresh.length;
    this.linkUsers();
    if (this.running) this.startChecks(fresh);
    return out;
  }

  /** Each check's last probe of a real server (by RealServerConfig.id), in config order. */
  lastChecks(id: string): ReadonlyArray<LastCheck | null> {
    return this.members.get(id)?.lastChecks() ?? [];
  }

  /** Probe durations by check kind since start. */
  latencyHistograms(): ReadonlyMap<CheckConfig['kind'], LatencyHistogram> {
    return this.latency;
  }

  /** Distinct checks vs members, and probes started. */
  mergeStats(): CheckMergeStats {
    let memberChecks = 0;
    for (const m of this.members.values()) memberChecks += m.checks.length;
    let quiet = 0;
    for (const s of this.shared.values()) if (s.quiet) quiet++;
    const e = this.engine?.stats();
    return {
      sharedChecks: this.shared.size, members: this.members.size, memberChecks, probes: this.probes, quiet,
      engine: e ? { probes: e.probes, reported: e.reported, suppressed: e.suppressed, syn_probes: e.synProbes, syn4: e.syn4, syn6: e.syn6 } : null,
    };
  }

  /** A Member for `rs`, its checks resolved to SharedChecks by key (new ones created and
   *  pushed on `fresh`). */
  private member(rs: RealServerConfig, fresh: SharedCheck[]): Member {
    const checks = rs.checks.map((c) => {
      const key = checkKey(c);
      let s = this.shared.get(key);
      if (!s) {
        const spec = this.engine !== undefined ? nativeCheckSpec(c) : null;
        const onEngine = spec !== null ? { id: this.freeEngineIds.pop() ?? this.nextEngineId++, spec } : null;
        s = new SharedCheck(key, c, this.sharedOptions, this.countProbe, onEngine);
        if (s.engineId !== null) this.byEngineId.set(s.engineId, s);
        this.shared.set(key, s);
        fresh.push(s);
      }
      return s;
    });
    return new Member(rs, checks, this.onEvent);
  }

  /** Every SharedCheck's readers, in config order (members in insertion order, checks in theirs). */
  private linkUsers(): void {
    for (const s of this.shared.values()) s.users = [];
    for (const m of this.members.values()) m.checks.forEach((s, index) => s.users.push({ member: m, index }));
  }

  /** Starts `checks` together, their first probes spread over each one's warmup (merge.ts). */
  private startChecks(checks: readonly SharedCheck[]): void {
    const n = checks.length;
    checks.forEach((s, k) => s.start(spreadJitter(k, n, this.random())));
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
    return { get: (id) => this.members.get(id)?.health() };
  }
}
