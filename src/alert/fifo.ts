// keepalived's notify_fifo: one line per event (src/alert/events.ts fifoLine()) written to a named
// pipe that another program reads. Like keepalived (keepalived/core/notify.c fifo_open()):
// the FIFO is created (mode 0644) when absent and removed at close only if tandem created it;
// it is opened O_RDWR | O_NONBLOCK | O_NOFOLLOW, so opening never waits for a reader and writing
// never blocks; what was opened must be a FIFO owned by tandem's user (a file planted at the
// path is refused).
//
// Where tandem differs: keepalived drops a line when the pipe is full. tandem keeps up to
// `backlogLines` lines in memory and retries them on a timer, in order, behind the lines already
// in the pipe; when the backlog is full the OLDEST backlog line is dropped (so the last line a
// slow reader sees is the latest state), and every dropped line is counted and logged.
//
// A line of at most PIPE_BUF (4096) bytes is written atomically or not at all (pipe(7)), so a
// reader never sees half a line; a longer line may be written in parts, and the rest is kept at
// the head of the backlog (never dropped), so lines are never interleaved.
import { closeSync, constants, fstatSync, lstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Logger } from '../log.js';
import { RateLimitedLog } from '../log.js';
import { fifoLine, type AlertEvent } from './events.js';
import type { TimerHandle, Timers } from '../timers.js';

export type FifoOpenErrorReason = 'mkfifo_failed' | 'open_failed' | 'not_a_fifo' | 'not_owned';

export type FifoOpen =
  | { ok: true; fifo: NotifyFifo }
  | { ok: false; reason: FifoOpenErrorReason; path: string; message: string };

export interface NotifyFifoOptions {
  /** Lines kept while the reader is slow or absent; default 1024. */
  backlogLines?: number;
  /** First retry delay for the backlog; doubles while nothing can be written, up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
}

export interface FifoCounters {
  /** Lines handed to the kernel. */
  written: number;
  /** Lines dropped because the backlog was full, or left unwritten at close. */
  dropped: number;
  /** Lines waiting in memory now. */
  backlog: number;
}

export class NotifyFifo {
  private readonly backlog: Buffer[] = [];
  /** The head of the backlog was partly written: it must not be dropped. */
  private headPartial = false;
  private retryTimer: TimerHandle | undefined;
  private retryDelay: number;
  private written = 0;
  private dropped = 0;
  private closed = false;
  private readonly rl: RateLimitedLog;

  private constructor(
    readonly path: string,
    private fd: number,
    private readonly created: boolean,
    private readonly log: Logger,
    private readonly opts: Required<NotifyFifoOptions>,
    private readonly timers: Timers,
  ) {
    this.retryDelay = opts.retryMs;
    this.rl = new RateLimitedLog(log, () => timers.now(), 10_000);
  }

  /** Create the FIFO if needed and open it. Never waits for a reader. `timers`: the backlog's
   *  retry timer and the failure log's clock. */
  static open(path: string, log: Logger, timers: Timers, opts: NotifyFifoOptions = {}): FifoOpen {
    const full: Required<NotifyFifoOptions> = {
      backlogLines: opts.backlogLines ?? 1024, retryMs: opts.retryMs ?? 20, maxRetryMs: opts.maxRetryMs ?? 500,
    };
    let created = false;
    let exists = true;
    try {
      lstatSync(path);
    } catch {
      exists = false;
    }
    if (!exists) {
      // Node has no mkfifo(); coreutils' does it once, at start.
      const r = spawnSync('mkfifo', ['-m', '0644', '--', path], { encoding: 'utf8', timeout: 5000 });
      if (r.status !== 0) {
        const why = r.error ? r.error.message : (r.stderr || `exit ${r.status}`).trim();
        // Lost a race with someone creating it: fall through to open and check what it is.
        try { lstatSync(path); } catch {
          return { ok: false, reason: 'mkfifo_failed', path, message: `cannot create FIFO ${path}: ${why}` };
        }
      } else {
        created = true;
      }
    }
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (created) tryUnlink(path);
      return { ok: false, reason: 'open_failed', path, message: `cannot open FIFO ${path}: ${err.code ?? err.message}` };
    }
    const st = fstatSync(fd);
    const euid = process.geteuid?.() ?? st.uid;
    if (!st.isFIFO() || st.uid !== euid) {
      closeSync(fd);
      if (created) tryUnlink(path);
      return st.isFIFO()
        ? { ok: false, reason: 'not_owned', path, message: `${path} is a FIFO of uid ${st.uid}, not ours (${euid}): not using it` }
        : { ok: false, reason: 'not_a_fifo', path, message: `${path} exists and is not a FIFO: not using it` };
    }
    return { ok: true, fifo: new NotifyFifo(path, fd, created, log, full, timers) };
  }

  /** keepalived's line for the event. */
  handle(event: AlertEvent): void {
    this.writeLine(fifoLine(event));
  }

  /** Append one line (a newline is added). Never blocks. */
  writeLine(line: string): void {
    if (this.closed) {
      this.dropped++;
      return;
    }
    const buf = Buffer.from(line + '\n', 'utf8');
    if (this.backlog.length === 0) {
      const w = this.tryWrite(buf);
      if (w === 'all') return;
      if (w === 'none') this.keep(buf); // 'part': the rest is already at the head of the backlog
    } else {
      this.keep(buf);
    }
    this.flush();
  }

  counters(): FifoCounters {
    return { written: this.written, dropped: this.dropped, backlog: this.backlog.length };
  }

  /** Write what can be written now, drop the rest (counted), close, and remove the FIFO if
   *  tandem created it (first, so a reader that reopens in a loop cannot reopen it: keepalived). */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.timers.clear(this.retryTimer);
    if (this.backlog.length > 0) {
      this.dropped += this.backlog.length;
      this.log.warn(`notify_fifo ${this.path}: ${this.backlog.length} line(s) not written at close (no reader)`);
      this.backlog.length = 0;
    }
    if (this.created) tryUnlink(this.path);
    try { closeSync(this.fd); } catch { /* already closed */ }
    this.fd = -1;
  }

  /** 'all' went out; 'none' did (pipe full); 'part' did, and the rest is now the backlog's head. */
  private tryWrite(buf: Buffer): 'all' | 'none' | 'part' {
    let n: number;
    try {
      n = writeSync(this.fd, buf);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') {
        this.rl.warn(`fifo-error-${code}`, `notify_fifo ${this.path}: write failed: ${code}`);
      }
      return 'none';
    }
    if (n === buf.length) {
      this.written++;
      return 'all';
    }
    // A long line went out in part: keep the rest at the head, marked so it is never dropped.
    this.backlog.unshift(buf.subarray(n));
    this.headPartial = true;
    return 'part';
  }

  private keep(buf: Buffer): void {
    if (this.backlog.length >= this.opts.backlogLines) {
      // Drop the oldest whole line (never a partly written head: the reader already has its start).
      const at = this.headPartial ? 1 : 0;
      if (this.backlog.length > at) {
        this.backlog.splice(at, 1);
        this.dropped++;
        this.rl.warn('fifo-drop', `notify_fifo ${this.path}: reader too slow or absent, dropped the oldest waiting line (${this.dropped} dropped so far)`);
      }
    }
    this.backlog.push(buf);
  }

  private flush(): void {
    if (this.closed) return;
    let progress = false;
    while (this.backlog.length > 0) {
      const head = this.backlog[0]!;
      const wasPartial = this.headPartial;
      this.backlog.shift();
      this.headPartial = false;
      const w = this.tryWrite(head);
      if (w === 'all') {
        progress = true;
        continue;
      }
      if (w === 'none') {
        this.backlog.unshift(head);
        this.headPartial = wasPartial;
      } else {
        progress = true; // tryWrite put the rest back at the head
      }
      break;
    }
    if (this.backlog.length === 0) {
      this.timers.clear(this.retryTimer);
      this.retryTimer = undefined;
      this.retryDelay = this.opts.retryMs;
      return;
    }
    this.retryDelay = progress ? this.opts.retryMs : Math.min(this.retryDelay * 2, this.opts.maxRetryMs);
    if (!this.retryTimer) {
      // Cleared by close(): the daemon closes the FIFO when it stops, so the timer cannot keep it alive.
      this.retryTimer = this.timers.setTimeout(() => { this.retryTimer = undefined; this.flush(); }, this.retryDelay);
    }
  }
}

function tryUnlink(path: string): void {
  try { unlinkSync(path); } catch { /* gone already */ }
}
