// Run one script: an argv, no shell, in its own process group, with a timeout that kills the
// whole group. The result is data (never a rejection): how it ended, why, and the start of what
// it printed, for the log. The one runner of every external program tandem starts: notify scripts
// (alert/scriptNotifier.ts), vrrp_script trackers (track/scriptRunner.ts) and MISC_CHECK
// (check/probes/misc.ts); each sets its own timing (keepalived's differs per kind).
//
// What keepalived does and where tandem follows it (keepalived/core/notify.c
// system_call_script()): the child drops to the script user's uid/gid and clears supplementary
// groups (libuv does setgroups(0) when a uid/gid is given), moves to its own process group
// (here: `detached`, i.e. setsid(), so pgid = pid), unsets IFS, LD_PRELOAD and LD_LIBRARY_PATH, and
// keepalived kills a script's group with SIGKILL one second after it asked it to stop
// (child_killed_thread()). Unlike keepalived, every script has a timeout (keepalived lets
// notify scripts run forever) because tandem runs an instance's scripts in order, and a hung
// script must not hold back the next one for ever.
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunScriptOptions {
  /** After this, SIGTERM to the script's process group. */
  timeoutMs: number;
  /** After SIGTERM, this long before SIGKILL to the group (keepalived: 1 s). */
  killGraceMs?: number;
  /** Run as this user/group (undefined: tandem's own). */
  uid?: number | undefined;
  gid?: number | undefined;
  /** Bytes of stdout and of stderr kept for the log; the rest is read and counted. */
  outputLimitBytes?: number;
  /** `ignore`: the script's stdout and stderr go to /dev/null (MISC_CHECK reads only the exit
   *  status), and the result does not wait for pipes a background child may hold. Default
   *  `capture`. */
  output?: 'capture' | 'ignore';
  /** Base environment (default process.env); IFS, LD_PRELOAD and LD_LIBRARY_PATH are removed. */
  env?: NodeJS.ProcessEnv;
  /** Working directory (default `/`, as for a daemon). */
  cwd?: string;
  /** Abort (e.g. tandem is stopping): the group is killed as on a timeout; outcome `stopped`. */
  signal?: AbortSignal;
}

export type SpawnErrorReason = 'not_found' | 'permission_denied' | 'invalid_argv' | 'spawn_failed';

export interface ScriptOutput {
  text: string;
  /** Bytes the script wrote, including those not kept. */
  bytes: number;
  truncated: boolean;
}

interface ResultBase {
  argv: readonly string[];
  pid: number | undefined;
  durationMs: number;
  stdout: ScriptOutput;
  stderr: ScriptOutput;
}

export type ScriptResult =
  | (ResultBase & { outcome: 'exited'; exitCode: number; signal: null })
  | (ResultBase & { outcome: 'signaled'; exitCode: null; signal: NodeJS.Signals })
  /** Still running at the timeout; its group was sent SIGTERM, then SIGKILL. `signal`/`exitCode`
   *  say how the script itself ended. */
  | (ResultBase & { outcome: 'timed_out'; exitCode: number | null; signal: NodeJS.Signals | null })
  /** Still running when the caller aborted (shutdown); killed like a timed-out script. */
  | (ResultBase & { outcome: 'stopped'; exitCode: number | null; signal: NodeJS.Signals | null })
  | (ResultBase & { outcome: 'spawn_error'; exitCode: null; signal: null; reason: SpawnErrorReason; code: string; message: string });

/** exit 0: the script did what it was asked. */
export function succeeded(r: ScriptResult): boolean {
  return r.outcome === 'exited' && r.exitCode === 0;
}

/** How a result reads in a log line. */
export function describeResult(r: ScriptResult): string {
  switch (r.outcome) {
    case 'exited': return `exit ${r.exitCode} after ${r.durationMs} ms`;
    case 'signaled': return `killed by ${r.signal} after ${r.durationMs} ms`;
    case 'timed_out': return `timed out after ${r.durationMs} ms (process group killed)`;
    case 'stopped': return `stopped by shutdown after ${r.durationMs} ms (process group killed)`;
    case 'spawn_error': return `could not start (${r.reason}: ${r.code})`;
  }
}

/** Variables keepalived removes before exec (notify.c): loader and field-splitting overrides. */
const UNSAFE_ENV = ['IFS', 'LD_PRELOAD', 'LD_LIBRARY_PATH'];

/** After the script exits, how long to wait for its pipes to close before giving up on them
 *  (a background child it left behind may hold them open). */
const PIPE_CLOSE_GRACE_MS = 100;

function spawnReason(code: string | undefined): SpawnErrorReason {
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'not_found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission_denied';
  if (code === 'ERR_INVALID_ARG_VALUE' || code === 'ERR_INVALID_ARG_TYPE' || code === 'ERR_OUT_OF_RANGE') return 'invalid_argv';
  return 'spawn_failed';
}

class Capture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  bytes = 0;
  constructor(private readonly limit: number) {}
  add(b: Buffer): void {
    this.bytes += b.length;
    if (this.kept < this.limit) {
      const part = b.subarray(0, this.limit - this.kept);
      this.chunks.push(part);
      this.kept += part.length;
    }
  }
  result(): ScriptOutput {
    return { text: Buffer.concat(this.chunks).toString('utf8'), bytes: this.bytes, truncated: this.bytes > this.kept };
  }
}

/** Signal a whole process group; a group that is already gone is not an error. */
function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: every member has exited.
  }
}

/** Run argv[0] with argv[1..]. Resolves when the script has exited (and, after a timeout, once
 *  its whole group has been sent SIGKILL); never rejects. */
export function runScript(argv: readonly string[], opts: RunScriptOptions): Promise<ScriptResult> {
  const started = performance.now();
  const limit = opts.outputLimitBytes ?? 4096;
  const graceMs = opts.killGraceMs ?? 1000;
  const out = new Capture(limit);
  const err = new Capture(limit);
  const elapsed = () => Math.round(performance.now() - started);
  const base = (pid: number | undefined): ResultBase =>
    ({ argv, pid, durationMs: elapsed(), stdout: out.result(), stderr: err.result() });
  const spawnError = (e: NodeJS.ErrnoException, pid?: number): ScriptResult => ({
    ...base(pid), outcome: 'spawn_error', exitCode: null, signal: null,
    reason: spawnReason(e.code), code: e.code ?? 'UNKNOWN', message: e.message,
  });

  if (opts.signal?.aborted) {
    const e = Object.assign(new Error('aborted before start'), { code: 'ABORT_ERR' });
    return Promise.resolve(spawnError(e));
  }
  if (argv.length === 0 || argv[0] === '') {
    const e = Object.assign(new Error('empty argv'), { code: 'ERR_INVALID_ARG_VALUE' });
    return Promise.resolve(spawnError(e));
  }
  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env) };
  for (const k of UNSAFE_ENV) delete env[k];

  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), {
      detached: true,
      stdio: opts.output === 'ignore' ? 'ignore' : ['ignore', 'pipe', 'pipe'],
      env,
      cwd: opts.cwd ?? '/',
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
      windowsHide: true,
    });
  } catch (e) {
    return Promise.resolve(spawnError(e as NodeJS.ErrnoException));
  }

  return new Promise<ScriptResult>((resolve) => {
    let settled = false;
    let timedOut = false;
    let aborted = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let killSent = false;
    let pipesClosed = opts.output === 'ignore';
    let pipeTimer: NodeJS.Timeout | undefined;

    child.stdout?.on('data', (b: Buffer) => out.add(b));
    child.stderr?.on('data', (b: Buffer) => err.add(b));
    // A read error on a pipe only loses output; the result still comes from 'exit'.
    child.stdout?.on('error', () => {});
    child.stderr?.on('error', () => {});

    const finish = (r: ScriptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      clearTimeout(pipeTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      // The pipes are left open: a background process the script started may still write to
      // them, and closing our end would kill it with SIGPIPE (keepalived gives scripts /dev/null,
      // which never fails). Capture keeps counting but stores nothing more than the limit.
      resolve(r);
    };

    const maybeFinish = () => {
      if (!exit) return;
      if (timedOut && !killSent) return; // wait for the SIGKILL sweep of the group
      if (!pipesClosed && !pipeTimer) {
        pipeTimer = setTimeout(() => { pipesClosed = true; maybeFinish(); }, PIPE_CLOSE_GRACE_MS);
        return;
      }
      if (!pipesClosed) return;
      const b = base(child.pid);
      if (aborted) finish({ ...b, outcome: 'stopped', exitCode: exit.code, signal: exit.signal });
      else if (timedOut) finish({ ...b, outcome: 'timed_out', exitCode: exit.code, signal: exit.signal });
      else if (exit.signal) finish({ ...b, outcome: 'signaled', exitCode: null, signal: exit.signal });
      else finish({ ...b, outcome: 'exited', exitCode: exit.code ?? 0, signal: null });
    };

    const terminate = () => {
      if (exit || child.pid === undefined || timedOut) return;
      timedOut = true;
      const pgid = child.pid;
      killGroup(pgid, 'SIGTERM');
      // SIGKILL goes to the group whether or not the leader has exited by then: a child that
      // ignores SIGTERM must not outlive the timeout.
      killTimer = setTimeout(() => { killGroup(pgid, 'SIGKILL'); killSent = true; maybeFinish(); }, graceMs);
    };
    const timeoutTimer = setTimeout(terminate, opts.timeoutMs);
    const onAbort = () => {
      if (exit || timedOut) return;
      aborted = true;
      terminate();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (e: NodeJS.ErrnoException) => {
      // Before 'spawn': the program could not be started. Later errors (a failed kill) change
      // nothing about how the script ends.
      if (child.pid === undefined) finish(spawnError(e));
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      maybeFinish();
    });
    child.on('close', () => {
      pipesClosed = true;
      maybeFinish();
    });
  });
}
