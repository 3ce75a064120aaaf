// Notify scripts for alert events: the adapter the daemon's dispatcher calls. handle() works out
// which scripts an event runs (events.ts scriptsFor) and queues them as one job on the event's
// key (one VRRP instance, group, real server or virtual server), so scripts of one key run one at
// a time in event order while different keys run side by side (orderedRunner.ts). handle()
// returns at once; it never waits for a script. A failed or timed-out script is logged once, with
// the event it was for, and counted.
import type { Logger } from '../log.js';
import { RateLimitedLog } from '../log.js';
import { formatArgv } from '../process/argv.js';
import { describeEvent, eventKey, scriptsFor, type AlertEvent, type ScriptRun, type ScriptsConfigView } from './events.js';
import { OrderedRunner, type DropCause } from './orderedRunner.js';
import { describeResult, type RunScriptOptions, type ScriptResult } from '../process/script.js';
import type { TimerHandle, Timers } from '../timers.js';

/** What the notifier reads from the config (tandem's Config has all of it). */
export interface ScriptNotifierConfig extends ScriptsConfigView {
  global: {
    /** script_user, resolved; undefined = run as tandem's own user. */
    scriptUser?: { uid: number; gid: number } | undefined;
    notifyScriptTimeoutMs: number;
  };
}

export interface ScriptCounters {
  /** Scripts started (or attempted: a script that could not start counts here and in failed). */
  run: number;
  /** Non-zero exit, killed by a signal, could not start, or stopped by shutdown. */
  failed: number;
  timed_out: number;
  /** Scripts that never ran: their event was dropped from a full queue, or came during stop. */
  dropped: number;
}

export interface ScriptNotifierDeps {
  /** Runs one script: alert/script.ts runScript in the daemon (daemon/compose.ts); tests substitute it. */
  run: (argv: readonly string[], opts: RunScriptOptions) => Promise<ScriptResult>;
  /** The drop log's clock, the stop grace timer and the runner's next-turn start. */
  timers: Timers;
  /** Pending events per key (default 64). */
  capacityPerKey?: number;
  /** SIGTERM -> SIGKILL grace for a script's group (default 1000 ms, keepalived's). */
  killGraceMs?: number;
  /** Bytes of output kept per stream for the log (default 4096). */
  outputLimitBytes?: number;
}

interface Job {
  event: AlertEvent;
  runs: ScriptRun[];
}

export class ScriptNotifier {
  private config: ScriptNotifierConfig;
  private readonly runner: OrderedRunner<Job>;
  private readonly run: (argv: readonly string[], opts: RunScriptOptions) => Promise<ScriptResult>;
  private readonly abort = new AbortController();
  private readonly dropLog: RateLimitedLog;
  private readonly count: ScriptCounters = { run: 0, failed: 0, timed_out: 0, dropped: 0 };
  private stopping = false;

  constructor(config: ScriptNotifierConfig, private readonly log: Logger, private readonly deps: ScriptNotifierDeps) {
    this.config = config;
    this.run = deps.run;
    this.dropLog = new RateLimitedLog(log, () => deps.timers.now(), 10_000);
    this.runner = new OrderedRunner<Job>((_key, job) => this.runJob(job), {
      timers: deps.timers,
      capacityPerKey: deps.capacityPerKey ?? 64,
      onDrop: (key, job, cause) => this.dropped(key, job, cause),
      onError: (key, job, e) => this.log.error(`notify scripts for ${describeEvent(job.event)} (${key}): ${String(e)}`),
    });
  }

  /** Queue the event's scripts. Synchronous, O(number of scripts of the event). */
  handle(event: AlertEvent): void {
    const runs = scriptsFor(event, this.config);
    if (runs.length === 0) return;
    this.runner.enqueue(eventKey(event), { event, runs });
  }

  /** A reloaded config: later events use its scripts; queued events keep the argv they had. */
  setConfig(config: ScriptNotifierConfig): void {
    this.config = config;
  }

  counters(): ScriptCounters {
    return { ...this.count };
  }

  /** Events queued or running now, for the status API. */
  queueStats(): { keys: number; pending: number; running: number } {
    const s = this.runner.stats();
    return { keys: s.keys, pending: s.pending, running: s.running };
  }

  /**
   * Let queued scripts (including the STOP scripts of a shutdown, queued by handle() before this
   * call) run for up to `graceMs`; then drop what has not started and kill what still runs (its
   * group: SIGTERM, then SIGKILL after killGraceMs). Resolves when no script is left running.
   * keepalived gives STOP scripts 1 s before SIGKILL (notify.c child_killed_thread()).
   */
  async stop(opts: { graceMs?: number } = {}): Promise<void> {
    if (this.stopping) return this.runner.idle();
    this.stopping = true;
    const graceMs = opts.graceMs ?? 5000;
    const timers = this.deps.timers;
    let timer: TimerHandle | undefined;
    const deadline = new Promise<'deadline'>((resolve) => { timer = timers.setTimeout(() => resolve('deadline'), graceMs); });
    const first = await Promise.race([this.runner.idle().then(() => 'idle' as const), deadline]);
    timers.clear(timer);
    this.runner.close();
    if (first === 'deadline') this.abort.abort();
    await this.runner.idle();
  }

  private async runJob(job: Job): Promise<void> {
    const g = this.config.global;
    for (const [i, r] of job.runs.entries()) {
      if (this.abort.signal.aborted) {
        this.count.dropped += job.runs.length - i;
        return;
      }
      this.count.run++;
      const result = await this.run(r.argv, {
        timeoutMs: g.notifyScriptTimeoutMs,
        uid: g.scriptUser?.uid,
        gid: g.scriptUser?.gid,
        signal: this.abort.signal,
        ...(this.deps.killGraceMs !== undefined ? { killGraceMs: this.deps.killGraceMs } : {}),
        ...(this.deps.outputLimitBytes !== undefined ? { outputLimitBytes: this.deps.outputLimitBytes } : {}),
      });
      this.report(job.event, r, result);
    }
  }

  private report(event: AlertEvent, r: ScriptRun, result: ScriptResult): void {
    const what = `${r.hook} for ${describeEvent(event)}: ${formatArgv(r.argv)}`;
    if (result.outcome === 'exited' && result.exitCode === 0) {
      this.log.debug(`${what}: ${describeResult(result)}`);
      return;
    }
    if (result.outcome === 'timed_out') this.count.timed_out++;
    else this.count.failed++;
    const detail = result.outcome === 'spawn_error' ? `: ${result.message}` : outputTail(result);
    this.log.warn(`${what}: ${describeResult(result)}${detail}`);
  }

  private dropped(key: string, job: Job, cause: DropCause): void {
    this.count.dropped += job.runs.length;
    const why = cause === 'overflow'
      ? `more than ${this.deps.capacityPerKey ?? 64} events waiting for ${key}; dropped the oldest`
      : 'tandem is stopping';
    this.dropLog.warn(`drop ${key} ${cause}`,
      `notify scripts not run (${why}): ${describeEvent(job.event)} [${job.runs.map((r) => r.hook).join(', ')}]`);
  }
}

/** The last lines of what the script printed, for a failure's log line. */
function outputTail(r: ScriptResult): string {
  const pick = r.stderr.text.trim() || r.stdout.text.trim();
  if (!pick) return '';
  const oneLine = pick.split('\n').slice(-3).join(' | ');
  return `; output: ${oneLine.length > 300 ? oneLine.slice(0, 300) + '...' : oneLine}`;
}
