// keepalived's enable_script_security: a script that would run with root's uid or gid (or is
// set-uid/set-gid root) is refused when a non-root user could change it, i.e. when the file, or
// any directory or symbolic link on the way to it, is
//   - owned by a non-root user, or
//   - a regular file, or a directory without the sticky bit, that is group-writable with a
//     non-root group or world-writable.
// (keepalived/core/notify.c check_script_secure() and check_security(); a sticky world-writable
// directory such as /tmp passes, as in keepalived.) Checked against keepalived 2.2.7: a 0777
// directory, a 0775 directory of group 100, a 0777 file, a file of uid 1000, and a symlink into a
// 0777 directory were each "Unsafe permissions found for script ... - disabling"; /bin/true
// (through the /bin -> usr/bin symlink), a 0775 directory of group 0 and a 1777 directory passed.
//
// Symbolic links are followed the way the kernel follows them, and every directory passed through
// (the link's own directory and every directory of its target) is checked, so a link from a safe
// place into an unsafe one is caught. keepalived also refuses a script that is not executable
// for the user it runs as (is_executable()); so does this check.
//
// checkPathSecurity() is the path half alone (no executable bit, no "runs as root" test), for a
// file that is read rather than run: the config file that names the scripts
// (src/config/scriptSecurity.ts says why tandem checks it; keepalived does not).
//
// Reads the file system (lstat/readlink) synchronously: it runs once per script at config load.
import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { posix } from 'node:path';

export interface RunAs {
  uid: number;
  gid: number;
}

export type ScriptSecurityReason =
  | 'not_absolute'
  | 'not_found'
  | 'not_accessible'
  | 'wrong_file_type'
  | 'symlink_loop'
  | 'not_executable'
  | 'owner_not_root'
  | 'group_writable'
  | 'world_writable';

export type ScriptSecurity =
  | {
    ok: true;
    /** Whether the protection applied (root uid/gid, or a set-uid/gid root file). */
    needsProtection: boolean;
    /** The file that runs, symlinks resolved. */
    realPath: string;
  }
  | { ok: false; reason: ScriptSecurityReason; path: string; message: string };

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const S_IWGRP = 0o020;
const S_IWOTH = 0o002;
const S_IXUSR = 0o100;
const S_IXGRP = 0o010;
const S_IXOTH = 0o001;
/** Linux's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;

interface Visited {
  path: string;
  st: Stats;
}

type Walk = { ok: true; visited: Visited[]; realPath: string; file: Stats } | { ok: false; reason: ScriptSecurityReason; path: string; message: string };

function fail(reason: ScriptSecurityReason, path: string, message: string): { ok: false; reason: ScriptSecurityReason; path: string; message: string } {
  return { ok: false, reason, path, message };
}

function lstatOf(path: string): Stats | NodeJS.ErrnoException {
  try {
    return lstatSync(path);
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
}

/** Resolve `program` component by component, recording every entry passed through. */
function walk(program: string): Walk {
  const visited: Visited[] = [];
  const root = lstatOf('/');
  if (root instanceof Error) return fail('not_accessible', '/', `cannot stat /: ${root.code}`);
  visited.push({ path: '/', st: root });
  let current = '/';
  const todo = program.split('/').filter((c) => c !== '' && c !== '.');
  let links = 0;
  let file: Stats | undefined;
  while (todo.length > 0) {
    const name = todo.shift()!;
    if (name === '..') {
      current = posix.dirname(current);
      continue;
    }
    const next = posix.join(current, name);
    const st = lstatOf(next);
    if (st instanceof Error) {
      const code = st.code ?? 'UNKNOWN';
      if (code === 'ENOENT' || code === 'ENOTDIR') return fail('not_found', next, `${next} does not exist`);
      return fail('not_accessible', next, `cannot stat ${next}: ${code}`);
    }
    visited.push({ path: next, st });
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) return fail('symlink_loop', next, `more than ${MAX_SYMLINKS} symbolic links resolving ${program}`);
      let target: string;
      try {
        target = readlinkSync(next);
      } catch (e) {
        return fail('not_accessible', next, `cannot read link ${next}: ${(e as NodeJS.ErrnoException).code}`);
      }
      if (target.startsWith('/')) current = '/';
      todo.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
      continue;
    }
    if (todo.length > 0) {
      if (!st.isDirectory()) return fail('wrong_file_type', next, `${next} is not a directory`);
      current = next;
      continue;
    }
    if (!st.isFile()) return fail('wrong_file_type', next, `${next} is not a regular file`);
    current = next;
    file = st;
  }
  if (!file) return fail('wrong_file_type', program, `${program} is not a regular file`);
  return { ok: true, visited, realPath: current, file };
}

/** keepalived is_executable(): root needs any x bit; the owner u+x; the group g+x; others o+x. */
export function isExecutableBy(st: Pick<Stats, 'mode' | 'uid' | 'gid'>, runAs: RunAs): boolean {
  const m = st.mode;
  if (runAs.uid === 0) return (m & (S_IXUSR | S_IXGRP | S_IXOTH)) !== 0;
  if (runAs.uid === st.uid) return (m & S_IXUSR) !== 0;
  if (runAs.gid === st.gid) return (m & S_IXGRP) !== 0;
  return (m & S_IXOTH) !== 0;
}

/** Why a non-root user could change this entry, or undefined when none could. */
function insecurity(st: Stats): 'owner_not_root' | 'group_writable' | 'world_writable' | undefined {
  if (st.uid !== 0) return 'owner_not_root';
  const guarded = (st.isDirectory() && (st.mode & S_ISVTX) === 0) || st.isFile();
  if (!guarded) return undefined; // a symlink's own mode means nothing; a sticky directory protects its entries
  if (st.gid !== 0 && (st.mode & S_IWGRP) !== 0) return 'group_writable';
  if ((st.mode & S_IWOTH) !== 0) return 'world_writable';
  return undefined;
}

const WHY: Record<'owner_not_root' | 'group_writable' | 'world_writable', (s: Visited) => string> = {
  owner_not_root: (v) => `is owned by uid ${v.st.uid}, not root`,
  group_writable: (v) => `is writable by group ${v.st.gid} (mode ${(v.st.mode & 0o7777).toString(8)})`,
  world_writable: (v) => `is writable by everyone (mode ${(v.st.mode & 0o7777).toString(8)})`,
};

/** The first entry of a walk that a non-root user could change (keepalived check_security()). */
function firstInsecure(visited: readonly Visited[], consequence: string): { ok: false; reason: ScriptSecurityReason; path: string; message: string } | undefined {
  for (const v of visited) {
    const why = insecurity(v.st);
    if (why) return fail(why, v.path, `${v.path} ${WHY[why](v)}, ${consequence}`);
  }
  return undefined;
}

/**
 * Check one script program (argv[0]) for the user it runs as. Refuses a missing, non-regular or
 * non-executable file always, and an unsafe path when the protection applies.
 */
export function checkScriptSecurity(program: string, runAs: RunAs): ScriptSecurity {
  if (!program.startsWith('/')) return fail('not_absolute', program, `${program} is not an absolute path`);
  const w = walk(program);
  if (!w.ok) return w;
  if (!isExecutableBy(w.file, runAs)) {
    return fail('not_executable', w.realPath, `${w.realPath} is not executable by uid ${runAs.uid} gid ${runAs.gid} (mode ${(w.file.mode & 0o7777).toString(8)})`);
  }
  const m = w.file.mode;
  const needsProtection = runAs.uid === 0 || runAs.gid === 0 ||
    (w.file.uid === 0 && (m & S_IXUSR) !== 0 && (m & S_ISUID) !== 0) ||
    (w.file.gid === 0 && (m & S_IXGRP) !== 0 && (m & S_ISGID) !== 0);
  if (needsProtection) {
    const bad = firstInsecure(w.visited, 'so a non-root user could change what runs as root');
    if (bad) return bad;
  }
  return { ok: true, needsProtection, realPath: w.realPath };
}

export type PathSecurity =
  | { ok: true; realPath: string }
  | { ok: false; reason: ScriptSecurityReason; path: string; message: string };

/**
 * The path rules alone, for a regular file that is read, not run: the file, every directory on
 * the way and every symbolic link must be root's and not writable by a non-root group or by
 * everyone (a sticky directory such as /tmp passes, as for scripts).
 */
export function checkPathSecurity(path: string, consequence = 'so a non-root user could change it'): PathSecurity {
  if (!path.startsWith('/')) return fail('not_absolute', path, `${path} is not an absolute path`);
  const w = walk(path);
  if (!w.ok) return w;
  return firstInsecure(w.visited, consequence) ?? { ok: true, realPath: w.realPath };
}
