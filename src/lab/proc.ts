// Commands and long-running processes for `tandem lab`: argv only (no shell), bounded by a
// timeout, and every process the lab starts is registered so that cleanup (normal end, error,
// Ctrl-C, SIGTERM) can kill it. Processes lead their own process group (detached), so the
// terminal's Ctrl-C reaches only the lab itself, which then stops them in order.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, openSync, readFileSync, type WriteStream } from 'node:fs';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv and resolves with its output; rejects on a non-zero exit unless allowFail. */
export function run(argv: readonly string[], opts: { allowFail?: boolean; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('run: empty argv'));
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs ?? 15_000, maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const status = (err as { code?: unknown } | null)?.code;
      const code = err ? (typeof status === 'number' ? status : 1) : 0;
      if (err && !opts.allowFail) {
        reject(new Error(`command failed (${code}): ${argv.join(' ')}: ${(stderr || stdout || err.message).trim()}`));
        return;
      }
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** `ip netns exec NS argv...`. */
export function nsRun(ns: string, argv: readonly string[], opts: { allowFail?: boolean; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', ns, ...argv], opts);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Thrown by waits once the lab is being torn down (Ctrl-C, SIGTERM), so a step stops at once. */
export class LabAborted extends Error {
  constructor(readonly signal: string) { super(`interrupted by ${signal}`); }
}

/**
 * Polls fn every intervalMs until it returns a truthy value (resolved with it, and the time it
 * was seen) or timeoutMs passes (resolves with value undefined). Errors from fn count as "not
 * yet". Bounded in time and in iterations.
 */
export async function poll<T>(fn: () => T | Promise<T>, timeoutMs: number, intervalMs: number, aborted: () => string | null):
Promise<{ value: NonNullable<T> | undefined; atMs: number; last: unknown }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < 100_000; i++) {
    const stop = aborted();
    if (stop) throw new LabAborted(stop);
    try {
      const v = await fn();
      if (v) return { value: v as NonNullable<T>, atMs: Date.now(), last: v };
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
  return { value: undefined, atMs: Date.now(), last };
}

/** A process started as `ip netns exec NS argv...` (ip execs the program: pid is the program's). */
export class LabProcess {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  readonly pid: number;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;
  private readonly log: WriteStream | undefined;
  private readonly lineListeners = new Set<(line: string) => void>();

  /**
   * With `capture`, output comes through pipes (lines, onLine) and is copied to logPath;
   * without, it goes straight to logPath, so the program does not depend on the lab reading
   * its output (a daemon writing to a pipe whose reader died gets EPIPE).
   */
  constructor(readonly name: string, readonly ns: string, readonly argv: readonly string[], private readonly logPath?: string, cwd?: string, capture = true) {
    let fd: number | undefined;
    if (capture || !logPath) {
      this.log = logPath ? createWriteStream(logPath, { flags: 'a' }) : undefined;
      this.log?.on('error', () => undefined); // the lab directory may be removed under a dying process
    } else {
      fd = openSync(logPath, 'a');
    }
    try {
      this.child = spawn('ip', ['netns', 'exec', ns, ...argv], { detached: true, stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd], cwd });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    if (this.child.pid === undefined) throw new Error(`could not start ${name} in ${ns}: ${argv.join(' ')}`);
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
    });
    this.child.on('error', () => undefined);
    this.child.on('close', () => this.log?.end());
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.log?.write(chunk);
        partial += chunk;
        const parts = partial.split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) {
          // Bounded memory: a long lab run keeps the last 5000 lines.
          if (this.lines.length >= 5000) this.lines.splice(0, 1000);
          this.lines.push(line);
          for (const l of this.lineListeners) l(line);
        }
      });
    }
  }

  onLine(fn: (line: string) => void): void {
    this.lineListeners.add(fn);
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  tail(n = 20): string {
    if (this.lines.length || !this.logPath) return this.lines.slice(-n).join('\n');
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
    } catch {
      return '';
    }
  }

  signalGroup(sig: NodeJS.Signals): void {
    for (const target of [-this.pid, this.pid]) {
      try { process.kill(target, sig); } catch { /* already gone */ }
    }
  }

  async waitExit(timeoutMs: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
    const r = await Promise.race([this.exited.then(() => true), timedOut]);
    clearTimeout(timer);
    return r;
  }

  /** A crash: SIGKILL to the whole group, no chance to clean up. */
  async kill9(): Promise<void> {
    this.signalGroup('SIGKILL');
    await this.waitExit(3000);
  }

  /** SIGTERM (graceful), SIGKILL after graceMs. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    try { process.kill(this.pid, 'SIGTERM'); } catch { /* gone */ }
    if (!(await this.waitExit(graceMs))) await this.kill9();
  }
}

/** Every process the lab started; closed at cleanup so nothing new starts while tearing down. */
export class ProcessRegistry {
  private readonly procs = new Set<LabProcess>();
  private closed = false;

  start(name: string, ns: string, argv: readonly string[], opts: { logPath?: string; cwd?: string; capture?: boolean } = {}): LabProcess {
    if (this.closed) throw new LabAborted('cleanup');
    const p = new LabProcess(name, ns, argv, opts.logPath, opts.cwd, opts.capture ?? true);
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  get live(): LabProcess[] {
    return [...this.procs].filter((p) => p.running);
  }

  /** Graceful stop of everything (SIGTERM, then SIGKILL after graceMs); returns how many were running. */
  async stopAll(graceMs: number): Promise<number> {
    this.closed = true;
    const live = this.live;
    await Promise.all(live.map((p) => p.stop(graceMs)));
    return live.length;
  }

  /** Synchronous last resort (process 'exit' handler): SIGKILL every group. */
  killAllSync(): void {
    this.closed = true;
    for (const p of this.procs) p.signalGroup('SIGKILL');
  }
}

/** Synchronous command for the exit path, where no promise will ever resolve. */
export function runSync(argv: readonly string[]): RunResult {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
