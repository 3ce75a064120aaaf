// The state snapshot file (--state-file): rewritten atomically at once after a state change, and
// at most every 100 ms for counter changes, so tests and scripts can read the daemon's view
// without a control socket.
//
// Issue 12 §3: the old `<path>.<pid>.tmp` name was predictable and writeFileSync followed a
// symlink planted there, so in a directory another user can write, root overwrote whatever file
// the link named. keepalived has no state file, but writes its files the same way we do now
// (keepalived lib/utils.c fopen_safe(): "w" mode creates a mkostemp() file next to the target
// (random name, O_EXCL, so never through a link), fchmod()s it to 0600 and rename()s it over the
// target; rename replaces a link at the target instead of writing through it). tandem adds what
// fopen_safe does not do: fsync of the file before the rename and of the directory after it, so
// a power cut leaves the old or the new snapshot, never an empty file.
//
// The write runs on libuv's thread pool (fs/promises), not the main thread: an fsync on a busy
// disk can take long, and the main thread sends the VRRP adverts.
import { randomBytes } from 'node:crypto';
import { constants, fstatSync, lstatSync, openSync, readFileSync, closeSync, type Stats } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RateLimitedLog, type Logger } from '../log.js';
import type { TimerHandle, Timers } from '../timers.js';

/** The state file's mode: what the status socket shows (addresses, script results) is root's. */
export const STATE_FILE_MODE = 0o600;
/** A state file that cannot be written: the first failure is logged at once, then at most one
 *  line per this interval (with the count of failures in between). */
export const STATE_FILE_FAILURE_LOG_INTERVAL_MS = 60_000;

export interface StateFileWriter {
  changed(urgent: boolean): void;
  /** Writes a fresh snapshot now (after the write in flight, if any). Never rejects: a failure
   *  is logged (rate-limited). */
  flush(): Promise<void>;
  close(): void;
}

export interface StateFileOptions {
  /** The write timers (next turn when urgent, 100 ms otherwise) and the clock of the rate limit
   *  of failure lines. */
  timers: Timers;
  failureLogIntervalMs?: number;
  /** Writes `data` to `path`: writeStateFile in the daemon (daemon/compose.ts); the seam tests use
   *  to make every write fail. */
  write: (path: string, data: string) => Promise<void>;
}

/** The real write: writeFileReplacing with the state file's mode. */
export const writeStateFile = (p: string, d: string): Promise<void> => writeFileReplacing(p, d, STATE_FILE_MODE);

export function createStateFileWriter(path: string | undefined, snapshot: () => unknown, log: Logger, opts: StateFileOptions): StateFileWriter {
  const timers = opts.timers;
  let timer: TimerHandle | undefined;
  let soon: TimerHandle | undefined;
  let inFlight: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  let failures = 0;
  const write = opts.write;
  const failed = new RateLimitedLog(log, () => timers.now(), opts.failureLogIntervalMs ?? STATE_FILE_FAILURE_LOG_INTERVAL_MS);
  if (path) for (const w of stateFileWarnings(path)) log.warn(w);

  const writeOnce = async (p: string): Promise<void> => {
    try {
      await write(p, JSON.stringify(snapshot(), null, 2) + '\n');
      if (failures) log.info(`state file ${p}: written again after ${failures} failed write(s)`);
      failures = 0;
    } catch (e) {
      failures++;
      failed.warn('write', `state file ${p}: ${(e as Error).message}`);
    }
  };
  const flush = (): Promise<void> => {
    timers.clear(timer); timer = undefined;
    timers.clear(soon); soon = undefined;
    if (!path) return Promise.resolve();
    if (!inFlight) {
      inFlight = writeOnce(path).finally(() => { inFlight = undefined; });
      return inFlight;
    }
    // One write at a time: the next starts when this one ends, with the snapshot of then; every
    // flush meanwhile shares it.
    queued ??= inFlight.then(() => { queued = undefined; return flush(); });
    return queued;
  };
  return {
    flush,
    changed(urgent) {
      if (!path) return;
      // Urgent (a transition) still waits for the current tick, so it never delays an advert.
      if (urgent) soon ??= timers.setImmediate(() => void flush());
      else if (!timer) timer = timers.setTimeout(() => void flush(), 100);
    },
    close() {
      timers.clear(timer);
      timers.clear(soon);
      timer = undefined;
      soon = undefined;
    },
  };
}

/**
 * Replaces `path` with a regular file holding `data`, mode `mode`, without ever opening a name
 * another user could have prepared: a temporary file with a random name is created next to the
 * target (O_EXCL | O_NOFOLLOW: a planted file or link at that name fails the open, and is never
 * written), written, fsynced and renamed over the target (a link at the target is replaced, not
 * followed); then the directory is fsynced so the rename survives a power cut. On any error the
 * temporary file is removed and the target is left as it was.
 */
export async function writeFileReplacing(path: string, data: string, mode: number): Promise<void> {
  const dir = dirname(path);
  let tmp = '';
  let fh: FileHandle;
  for (let attempt = 0; ; attempt++) {
    tmp = join(dir, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
    try {
      fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
      break;
    } catch (e) {
      // 2^64 names: a clash is someone squatting, so retry a couple of times, then give up.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw e;
    }
  }
  try {
    try {
      // The umask may have taken bits away (or, with an odd one, left too few for us to write
      // later): the mode is exactly `mode`, as keepalived's fopen_safe() fchmod()s it.
      await fh.chmod(mode);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const d = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try { await d.sync(); } finally { await d.close(); }
}

/** Who other than root and us can add, remove or rename entries in a directory with this
 *  owner and mode; null if nobody. Sticky or not: a sticky directory (/tmp) stops others from
 *  removing our file, but they can still create names in it. */
export function directoryExposure(st: Pick<Stats, 'mode' | 'uid' | 'gid'>, ourUid: number): string | null {
  const who: string[] = [];
  if (st.uid !== 0 && st.uid !== ourUid) who.push(`is owned by uid ${st.uid}`);
  if (st.mode & 0o002) who.push(`is world-writable${st.mode & 0o1000 ? ' (sticky)' : ''}`);
  if ((st.mode & 0o020) && st.gid !== 0) who.push(`is writable by group ${st.gid}`);
  return who.length ? who.join(', ') : null;
}

/** What to warn about once, when the daemon starts with this state file path. */
export function stateFileWarnings(path: string): string[] {
  const out: string[] = [];
  const dir = dirname(path);
  const uid = process.getuid?.() ?? 0;
  try {
    const st = lstatSync(dir);
    const exposure = directoryExposure(st, uid);
    if (exposure) {
      out.push(`state file ${path}: the directory ${dir} ${exposure}: other users can create names in it` +
        `${st.mode & 0o1000 ? '' : ' and replace the state file'}; tandem writes only through a fresh private file, ` +
        'but readers of the state file should not trust it there: use a directory only root can write (e.g. /run/tandem)');
    }
  } catch (e) {
    out.push(`state file ${path}: directory ${dir}: ${(e as Error).message}`);
  }
  try {
    const st = lstatSync(path);
    // Replaced, not refused: refusing would let whoever can plant a link turn the state file
    // off; replacing writes nothing through the link (rename swaps the link itself).
    if (st.isSymbolicLink()) out.push(`state file ${path}: is a symbolic link; it will be replaced by a regular file (the file it points to is not written)`);
    else if (!st.isFile()) out.push(`state file ${path}: exists and is not a regular file; it cannot be replaced`);
  } catch { /* not there yet: the first write creates it */ }
  return out;
}

/**
 * The service keys a previous run recorded as its own (`lb.owned` in its state file); [] when
 * there is no file or it says nothing usable (a damaged file must not stop a start). The file
 * decides which services this run removes from the kernel's table, so only one tandem itself
 * could have written is read: a regular file (not through a link), owned by root or us, with
 * one link, that nobody else may write. Anything else is ignored with a warning.
 */
export function readOwnedServices(path: string | undefined, warn: (msg: string) => void = () => undefined): string[] {
  if (!path) return [];
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    const uid = process.getuid?.() ?? 0;
    const why = !st.isFile() ? 'not a regular file'
      : st.uid !== 0 && st.uid !== uid ? `owned by uid ${st.uid}`
        : st.mode & 0o022 ? `writable by others (mode ${(st.mode & 0o777).toString(8)})`
          : st.nlink !== 1 ? `${st.nlink} hard links` : null;
    if (why) {
      warn(`state file ${path}: ${why}: not written by tandem, so its owned services (lb.owned) are ignored`);
      return [];
    }
    text = readFileSync(fd, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') warn(`state file ${path}: is a symbolic link: not written by tandem, so its owned services (lb.owned) are ignored`);
    else if (code !== 'ENOENT') warn(`state file ${path}: ${(e as Error).message}`);
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  try {
    const doc = JSON.parse(text) as { lb?: { owned?: unknown } | null };
    const owned = doc.lb?.owned;
    return Array.isArray(owned) ? owned.filter((k): k is string => typeof k === 'string' && k.length < 200) : [];
  } catch {
    return [];
  }
}
