// How a tracking script is run: the shared runner (src/alert/script.ts: argv without a shell, own
// process group, timeout that kills the group, abort on shutdown), with keepalived's vrrp_script
// timing: at the timeout the group gets SIGTERM and, 2 s later, SIGKILL (keepalived
// vrrp_scheduler.c vrrp_script_child_thread(); a forced termination counts as a failure,
// "timed_out"). The runner settles only when the script has exited, so a caller that waits for
// it never has two runs of one script at once. Its result is reduced to what the rise/fall
// machine needs.
import { runScript as runShared, type ScriptResult } from '../process/script.js';

export type ScriptOutcome =
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: string }
  | { kind: 'timeout' }
  /** Killed because tandem is stopping. */
  | { kind: 'stopped' }
  | { kind: 'spawn_error'; detail: string };

export interface RunScriptOptions {
  timeoutMs: number;
  uid?: number | undefined;
  gid?: number | undefined;
  /** Aborting kills the process group (daemon shutdown). */
  signal?: AbortSignal | undefined;
}

export type ScriptRunner = (argv: readonly string[], opts: RunScriptOptions) => Promise<ScriptOutcome>;

/** keepalived waits 2 s between a tracking script's SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 2000;
/** A tracking script's output is not used; keep a little for debugging. */
const OUTPUT_LIMIT = 512;

export function toOutcome(r: ScriptResult): ScriptOutcome {
  switch (r.outcome) {
    case 'exited': return { kind: 'exit', code: r.exitCode };
    case 'signaled': return { kind: 'signal', signal: r.signal };
    case 'timed_out': return { kind: 'timeout' };
    case 'stopped': return { kind: 'stopped' };
    case 'spawn_error': return { kind: 'spawn_error', detail: `${r.argv[0] ?? ''}: ${r.reason} (${r.code})` };
  }
}

export const runScript: ScriptRunner = async (argv, opts) => toOutcome(await runShared(argv, {
  timeoutMs: opts.timeoutMs, killGraceMs: KILL_GRACE_MS, uid: opts.uid, gid: opts.gid,
  outputLimitBytes: OUTPUT_LIMIT, ...(opts.signal ? { signal: opts.signal } : {}),
}));
