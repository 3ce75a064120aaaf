// Logging: one line per event to stdout (journald adds its own timestamp and priority when run
// under systemd, so the level is also given as a syslog "<N>" prefix there).

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  child(scope: string): Logger;
}

const SYSLOG: Record<Level, number> = { debug: 7, info: 6, warn: 4, error: 3 };
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

let stdoutGuarded = false;

/**
 * Lines to stdout. A reader that goes away (a broken journal stream, `tandem run | head`) makes
 * the pipe fail with EPIPE, which Node raises as an 'error' event on process.stdout: unhandled,
 * that would end the daemon and leave VIPs behind without a priority 0 advert. Logging is not
 * worth that: the error is swallowed and later lines are dropped.
 */
function stdoutWriter(): (line: string) => void {
  if (!stdoutGuarded) {
    stdoutGuarded = true;
    process.stdout.on('error', () => { stdoutBroken = true; });
  }
  return (l) => { if (!stdoutBroken) process.stdout.write(l + '\n'); };
}
let stdoutBroken = false;

/**
 * Lines kept in memory until release(), then written in order through `open()`'s writer, as is
 * every later line; release() twice is release() once.
 */
export function heldLines(open: () => (line: string) => void): { write: (line: string) => void; release: () => void } {
  let out: ((line: string) => void) | undefined;
  const held: string[] = [];
  return {
    write: (l) => { if (out) out(l); else held.push(l); },
    release: () => {
      if (out) return;
      out = open();
      for (const l of held.splice(0)) out(l);
    },
  };
}

/**
 * stdout, held (heldLines) until release() or the process's exit, whichever comes first. Why:
 * `tandem run` logs before its first advert, and Node builds process.stdout on first use, which
 * loads its stream modules (and net, for a journal socket): 4.4 ms of the 55 ms from exec to the
 * first advert on the machine of docs/benchmarks.md (issue 15 §3). run.ts releases it once the
 * first adverts are out, or after LOG_HOLD_MS.
 */
export function heldStdout(): { write: (line: string) => void; release: () => void } {
  const h = heldLines(stdoutWriter);
  process.once('exit', h.release);
  return h;
}

/** The longest a daemon's first lines wait in memory (heldStdout) when its start is slow. */
export const LOG_HOLD_MS = 50;

export function createLogger(opts: {
  write?: (line: string) => void; level?: Level; journald?: boolean; scope?: string; wallClock?: () => Date;
} = {}): Logger {
  const write = opts.write ?? stdoutWriter();
  const min = ORDER[opts.level ?? 'info'];
  const wall = opts.wallClock ?? (() => new Date());
  const journald = opts.journald ?? Boolean(process.env.JOURNAL_STREAM);
  const make = (scope: string): Logger => {
    const emit = (level: Level) => (msg: string) => {
      if (ORDER[level] < min) return;
      const prefix = journald ? `<${SYSLOG[level]}>` : `${wall().toISOString()} `;
      write(`${prefix}${level.toUpperCase().padEnd(5)} ${scope ? `${scope}: ` : ''}${msg}`);
    };
    return {
      debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'),
      child: (s: string) => make(scope ? `${scope} ${s}` : s),
    };
  };
  return make(opts.scope ?? '');
}

/**
 * At most one line per key per interval; the next line says how many were suppressed. Used for
 * dropped packets, which an attacker (or a misconfigured peer) can send at line rate.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly log: Logger, private readonly now: () => number, private readonly intervalMs = 10_000) {}
  warn(key: string, msg: string): void {
    const t = this.now();
    const e = this.last.get(key);
    if (e && t - e.at < this.intervalMs) { e.suppressed++; return; }
    const more = e && e.suppressed > 0 ? ` (${e.suppressed} similar suppressed)` : '';
    this.last.set(key, { at: t, suppressed: 0 });
    this.log.warn(msg + more);
  }
}
