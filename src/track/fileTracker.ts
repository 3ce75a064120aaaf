// keepalived `track_file` (formerly `vrrp_track_file`): a file holding an integer, watched for
// changes. keepalived (keepalived/core/track_file.c):
//  - reads at most 127 bytes and parses them with strtol(buf, NULL, 0): leading white space, a
//    sign, then hex (0x..), octal (0..) or decimal digits; no digits at all reads as 0;
//  - a number that overflows a long, or lies outside INT32_MIN..INT32_MAX+1, is logged and
//    ignored (the last value stays);
//  - a missing (or deleted, or renamed away) file, or an empty one, counts as 0;
//  - watches the file's directory with inotify (IN_CLOSE_WRITE | IN_DELETE | IN_MOVE), so a file
//    replaced by rename is seen;
//  - `init_file [VALUE] [overwrite]` writes VALUE (default 0) at startup if the file is missing,
//    or always with overwrite (not on reload), refusing a path that is not a regular file.
// Here: fs.watch on the directory, plus a slow poll as a safety net (a watch can miss events, or
// break when the directory is replaced). Reads are serialised so values are reported in order.
// fs.promises is taken where it is used, not imported: the tracker modules load before the first
// advert, and node:fs/promises (with the readline and stream modules under it) cost ~2.8 ms of
// every start (issue 15 §3).
import {
  closeSync, constants as fsConstants, openSync, promises as fsPromises, readSync, realpathSync, statSync, watch, writeFileSync, type FSWatcher,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../log.js';

/** How long after a watch event the file is read (see refreshSoon). */
const SETTLE_MS = 20;
/** keepalived reads into a 128-byte buffer, NUL-terminated. */
const READ_BYTES = 127;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/**
 * strtol(text, NULL, 0) as keepalived uses it: the value, or undefined when keepalived would
 * ignore the read (overflow, or outside INT32_MIN..INT32_MAX+1).
 */
export function parseTrackFileValue(text: string): number | undefined {
  let i = 0;
  // C isspace(): space, \t, \n, \v, \f, \r
  while (i < text.length && ' \t\n\v\f\r'.includes(text[i]!)) i++;
  let negative = false;
  if (text[i] === '+' || text[i] === '-') { negative = text[i] === '-'; i++; }
  let base = 10n;
  let digits: string;
  if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X') && /[0-9a-fA-F]/.test(text[i + 2] ?? '')) {
    base = 16n;
    digits = /^[0-9a-fA-F]+/.exec(text.slice(i + 2))![0];
  } else if (text[i] === '0') {
    base = 8n;
    digits = /^[0-7]*/.exec(text.slice(i))![0];
  } else {
    digits = /^[0-9]*/.exec(text.slice(i))?.[0] ?? '';
  }
  if (digits === '') return 0; // no conversion: strtol returns 0
  let v = 0n;
  for (const d of digits) v = v * base + BigInt(parseInt(d, 16));
  if (negative) v = -v;
  if (v < LONG_MIN || v > LONG_MAX) return undefined; // ERANGE
  if (v < BigInt(INT32_MIN) || v > BigInt(INT32_MAX) + 1n) return undefined;
  return Number(v);
}

export interface FileTrackerConfig {
  name: string;
  path: string;
  init?: { value: number; overwrite: boolean } | undefined;
}

export interface FileSnapshot {
  name: string;
  path: string;
  value: number;
  reads: number;
  /** Why the watch is not in place (the poll still reads), or null. */
  watchError: string | null;
  /** How many times the directory watch was set up (more than 1: the directory was replaced). */
  watchesArmed: number;
}

export class FileTracker {
  private value = 0;
  private reads = 0;
  private watcher: FSWatcher | null = null;
  private watchError: string | null = null;
  /** Inode of the watched directory: a watch on a removed directory stays silent, so the poll compares. */
  private watchedIno: number | null = null;
  private watchesArmed = 0;
  private poll: NodeJS.Timeout | null = null;
  private settle: NodeJS.Timeout | null = null;
  private reading = false;
  private again = false;
  private running = false;
  private path: string;

  constructor(
    readonly cfg: FileTrackerConfig,
    private readonly deps: { log: Logger; onChange: (value: number) => void; pollMs?: number },
  ) {
    this.path = cfg.path;
  }

  get current(): number { return this.value; }

  /** Initialises the file if asked, reads it once synchronously (keepalived reads at startup), then watches. */
  start(opts: { reload?: boolean } = {}): void {
    if (this.running) return;
    this.running = true;
    this.initFile(opts.reload ?? false);
    this.path = resolvePath(this.cfg.path);
    this.value = this.readAtStart();
    this.reads++;
    this.startWatch();
    this.poll = setInterval(() => {
      const ino = inodeOf(dirname(this.path));
      if (!this.watcher || ino !== this.watchedIno) {
        this.closeWatch();
        if (ino !== null) this.startWatch();
      }
      this.refresh();
    }, this.deps.pollMs ?? 5000);
  }

  stop(): void {
    this.running = false;
    this.closeWatch();
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    if (this.settle) clearTimeout(this.settle);
    this.settle = null;
  }

  snapshot(): FileSnapshot {
    return {
      name: this.cfg.name, path: this.path, value: this.value, reads: this.reads, watchError: this.watchError,
      watchesArmed: this.watchesArmed,
    };
  }

  /**
   * A watch event: read a little later. inotify reports the truncate and each write of a writer
   * still at work (keepalived waits for IN_CLOSE_WRITE, which fs.watch does not expose); waiting
   * SETTLE_MS lets a normal write finish instead of reading a half-written file.
   */
  private refreshSoon(): void {
    if (this.settle) return;
    this.settle = setTimeout(() => { this.settle = null; this.refresh(); }, SETTLE_MS);
  }

  /** Re-reads the file (serialised: a request during a read triggers one more read after it). */
  refresh(): void {
    if (!this.running) return;
    if (this.reading) { this.again = true; return; }
    this.reading = true;
    void readValue(this.path).then((v) => {
      this.reading = false;
      if (!this.running) return;
      this.reads++;
      if (v.ignored) this.deps.log.warn(`track_file ${this.cfg.name}: invalid number ${JSON.stringify(v.text)} in ${this.path}; keeping ${this.value}`);
      else if (v.value !== this.value) {
        const from = this.value;
        this.value = v.value;
        this.deps.log.info(`track_file ${this.cfg.name}: ${this.path} now ${v.value} (was ${from})`);
        this.deps.onChange(v.value);
      }
      if (this.again) { this.again = false; this.refresh(); }
    });
  }

  private closeWatch(): void {
    this.watcher?.close();
    this.watcher = null;
    this.watchedIno = null;
  }

  private startWatch(): void {
    const dir = dirname(this.path);
    const base = basename(this.path);
    try {
      const ino = inodeOf(dir);
      const dirBase = basename(dir);
      const w = watch(dir, { persistent: false }, (_event, filename) => {
        const name = filename?.toString() ?? null;
        // The directory itself was removed or renamed (inotify IN_DELETE_SELF / IN_MOVE_SELF,
        // reported under the directory's own name): this watch is dead, and a directory made again
        // can even get the same inode. The poll sets up a new watch once the directory is back.
        if (name === dirBase && this.watcher === w) this.closeWatch();
        // filename can be null on some platforms: then any event in the directory may be ours.
        if (name === null || name === base || name === dirBase) this.refreshSoon();
      });
      w.on('error', (e) => {
        // The poll re-arms the watch when it can.
        this.watchError = e.message;
        w.close();
        if (this.watcher === w) this.closeWatch();
        this.refresh();
      });
      this.watcher = w;
      this.watchedIno = ino;
      this.watchesArmed++;
      this.watchError = null;
    } catch (e) {
      const msg = (e as Error).message;
      if (this.watchError !== msg) this.deps.log.warn(`track_file ${this.cfg.name}: cannot watch ${dir} (${msg}); polling every ${(this.deps.pollMs ?? 5000) / 1000} s`);
      this.watchError = msg;
    }
  }

  private initFile(reload: boolean): void {
    const init = this.cfg.init;
    if (!init) return;
    let st;
    try { st = statSync(this.cfg.path); } catch { st = undefined; }
    if (st) {
      if (!init.overwrite || reload) return; // keepalived: create only if missing; never overwrite on reload
      if (!st.isFile()) {
        this.deps.log.error(`track_file ${this.cfg.name}: cannot initialise ${this.cfg.path}: not a regular file`);
        return;
      }
    }
    try {
      writeFileSync(this.cfg.path, `${init.value}\n`);
    } catch (e) {
      this.deps.log.error(`track_file ${this.cfg.name}: cannot initialise ${this.cfg.path}: ${(e as Error).message}`);
    }
  }

  private readAtStart(): number {
    // Startup only: the same rules as readValue, without the event loop.
    try {
      const fd = openSync(this.path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
      try {
        const buf = Buffer.alloc(READ_BYTES);
        const n = readSync(fd, buf, 0, READ_BYTES, 0);
        // An ignored number at startup leaves keepalived's initial 0.
        return n > 0 ? parseTrackFileValue(buf.subarray(0, n).toString('latin1')) ?? 0 : 0;
      } finally { closeSync(fd); }
    } catch {
      return 0;
    }
  }
}

function inodeOf(path: string): number | null {
  try { return statSync(path).ino; } catch { return null; }
}

/** keepalived resolves the path once (realpath of the file, or of its directory if it is missing). */
function resolvePath(p: string): string {
  try { return realpathSync(p); } catch { /* missing */ }
  try { return join(realpathSync(dirname(p)), basename(p)); } catch { return p; }
}

/** One read as keepalived does it: O_NONBLOCK (a FIFO must not hang us), at most 127 bytes. */
async function readValue(path: string): Promise<{ ignored: false; value: number } | { ignored: true; text: string }> {
  let fh;
  try {
    fh = await fsPromises.open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch {
    return { ignored: false, value: 0 }; // missing or unreadable: 0
  }
  try {
    const buf = Buffer.alloc(READ_BYTES);
    const { bytesRead } = await fh.read(buf, 0, READ_BYTES, 0);
    if (bytesRead <= 0) return { ignored: false, value: 0 };
    const text = buf.subarray(0, bytesRead).toString('latin1');
    const v = parseTrackFileValue(text);
    return v === undefined ? { ignored: true, text: text.trim() } : { ignored: false, value: v };
  } catch {
    return { ignored: false, value: 0 }; // EAGAIN from an empty FIFO, EISDIR: no value, as keepalived
  } finally {
    await fh.close().catch(() => undefined);
  }
}
