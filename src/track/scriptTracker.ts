// keepalived `vrrp_script`: a program run every `interval`; its exit status, filtered through
// rise/fall, says whether the script is OK. Two parts:
//  - scriptStep(): the pure rise/fall machine, keepalived's `result` counter
//    (keepalived/vrrp/vrrp_track.h: 0..rise-1 is KO, rise..rise+fall-1 is OK; a success below
//    rise-1 counts up, at rise-1 it jumps to rise+fall-1; a failure above rise counts down, at
//    rise it drops to 0), with the start states of vrrp_scheduler.c vrrp_init_script(): result
//    rise-1 and "no result yet" (one success is enough), or 0 and failed with `init_fail`.
//  - ScriptTracker: the adapter that runs the script on its interval, never more than one run
//    at a time (keepalived skips a tick while the script is still running), and reports changes.
import type { Logger } from '../log.js';
import type { TimerHandle, Timers } from '../timers.js';
import type { ScriptOutcome, ScriptRunner } from './scriptRunner.js';

export type ScriptStatus = 'init' | 'ok' | 'failed';

export interface ScriptMachineConfig {
  rise: number;
  fall: number;
  initFail: boolean;
}

export interface ScriptMachineState {
  status: ScriptStatus;
  /** keepalived's `result`: 0..rise-1 KO, rise..rise+fall-1 OK. */
  result: number;
}

export function initialScriptState(cfg: ScriptMachineConfig): ScriptMachineState {
  return cfg.initFail ? { status: 'failed', result: 0 } : { status: 'init', result: cfg.rise - 1 };
}

/** One run's verdict in; the new state and whether the status changed. */
export function scriptStep(cfg: ScriptMachineConfig, st: ScriptMachineState, success: boolean): { state: ScriptMachineState; changed: boolean } {
  const top = cfg.rise + cfg.fall - 1;
  let { status, result } = st;
  if (success) {
    if (result < cfg.rise - 1) result++;
    else {
      if (result < cfg.rise || status === 'init') status = 'ok';
      result = top;
    }
  } else if (result > cfg.rise) result--;
  else {
    if (result === cfg.rise || status === 'init') status = 'failed';
    result = 0;
  }
  return { state: { status, result }, changed: status !== st.status };
}

/** Why the last run failed, or 'ok'. */
export type ScriptRunVerdict = 'ok' | 'exit_status' | 'killed' | 'timeout' | 'spawn_error';

export function judgeOutcome(o: ScriptOutcome): ScriptRunVerdict {
  switch (o.kind) {
    case 'exit': return o.code === 0 ? 'ok' : 'exit_status';
    case 'signal': case 'stopped': return 'killed';
    case 'timeout': return 'timeout';
    case 'spawn_error': return 'spawn_error';
  }
}

export interface ScriptTrackerConfig extends ScriptMachineConfig {
  name: string;
  argv: readonly string[];
  intervalMs: number;
  timeoutMs: number;
  uid?: number | undefined;
  gid?: number | undefined;
}

/** Periodic ticks: timersTicker() on the daemon's Timers, a manual one in tests. */
export interface Ticker {
  every(ms: number, fn: () => void): { cancel(): void };
}

/** Ticks every `ms` on `timers`, at a fixed rate (as setInterval): each tick is armed from the
 *  previous one's due time, not from when it ran, so a late tick does not shift the ones after. */
export function timersTicker(timers: Timers): Ticker {
  return {
    every(ms, fn) {
      let due = timers.now() + ms;
      let handle: TimerHandle | undefined;
      let cancelled = false;
      const arm = () => {
        handle = timers.setTimeout(() => {
          if (cancelled) return;
          due += ms;
          // A tick more than a period late (a stalled loop) skips ahead rather than firing a burst.
          if (due <= timers.now()) due = timers.now() + ms;
          arm();
          fn();
        }, due - timers.now());
      };
      arm();
      return { cancel: () => { cancelled = true; timers.clear(handle); } };
    },
  };
}

export interface ScriptSnapshot {
  name: string;
  status: ScriptStatus;
  runs: number;
  /** Ticks skipped because the previous run was still going. */
  skipped: number;
  last: { verdict: ScriptRunVerdict; detail: string } | null;
}

export class ScriptTracker {
  private st: ScriptMachineState;
  private ticker: { cancel(): void } | null = null;
  private inFlight = false;
  private abort: AbortController | null = null;
  private runs = 0;
  private skipped = 0;
  /** The current overrun has been logged (once per overrun, not once per skipped tick). */
  private overrunLogged = false;
  private last: ScriptSnapshot['last'] = null;
  private readonly firstResult: Promise<void>;
  private resolveFirst!: () => void;

  constructor(
    readonly cfg: ScriptTrackerConfig,
    private readonly deps: { run: ScriptRunner; log: Logger; onChange: (status: ScriptStatus) => void; ticker: Ticker },
  ) {
    this.st = initialScriptState(cfg);
    this.firstResult = new Promise((r) => { this.resolveFirst = r; });
    if (this.st.status !== 'init') this.resolveFirst();
  }

  get status(): ScriptStatus { return this.st.status; }

  /** Resolves once the script has a status (its first result, or at once with init_fail). */
  ready(): Promise<void> { return this.firstResult; }

  /** keepalived runs a script at once at startup (thread_add_event), then every interval. */
  start(): void {
    if (this.ticker) return;
    this.abort = new AbortController();
    this.ticker = this.deps.ticker.every(this.cfg.intervalMs, () => this.tick());
    this.tick();
  }

  stop(): void {
    this.ticker?.cancel();
    this.ticker = null;
    this.abort?.abort();
    this.abort = null;
  }

  snapshot(): ScriptSnapshot {
    return { name: this.cfg.name, status: this.st.status, runs: this.runs, skipped: this.skipped, last: this.last };
  }

  private tick(): void {
    if (this.inFlight) {
      // keepalived: "Track script %s is already running, expect idle - skipping run".
      this.skipped++;
      if (!this.overrunLogged) this.deps.log.warn(`vrrp_script ${this.cfg.name} still running after ${this.cfg.intervalMs} ms; skipping runs until it ends`);
      this.overrunLogged = true;
      return;
    }
    this.inFlight = true;
    this.runs++;
    const signal = this.abort?.signal;
    this.deps.run(this.cfg.argv, { timeoutMs: this.cfg.timeoutMs, uid: this.cfg.uid, gid: this.cfg.gid, signal })
      .then((o) => this.onOutcome(o, signal), (e: unknown) => this.onOutcome({ kind: 'spawn_error', detail: String(e) }, signal));
  }

  private onOutcome(o: ScriptOutcome, signal: AbortSignal | undefined): void {
    this.inFlight = false;
    this.overrunLogged = false;
    if (signal?.aborted) return; // stopped: a run killed by shutdown says nothing about the script
    const verdict = judgeOutcome(o);
    const detail = o.kind === 'exit' ? `exit ${o.code}` : o.kind === 'signal' ? `killed by ${o.signal}`
      : o.kind === 'timeout' ? `timed out after ${this.cfg.timeoutMs} ms` : o.kind === 'stopped' ? 'stopped' : o.detail;
    if (verdict !== (this.last?.verdict ?? 'ok')) {
      this.deps.log.info(`vrrp_script ${this.cfg.name}: ${verdict === 'ok' ? 'succeeded' : `failed (${detail})`}`);
    }
    this.last = { verdict, detail };
    const r = scriptStep(this.cfg, this.st, verdict === 'ok');
    this.st = r.state;
    this.resolveFirst();
    if (r.changed) {
      this.deps.log.info(`vrrp_script ${this.cfg.name} is now ${r.state.status === 'ok' ? 'OK' : 'FAILED'}`);
      this.deps.onChange(r.state.status);
    }
  }
}
