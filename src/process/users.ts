// script_user `user [group]` -> uid/gid, resolved once when the config is loaded (keepalived
// set_uid_gid(): getpwnam() for the user and its primary group, getgrnam() for an explicit group).
// /etc/passwd and /etc/group are read first; a name they do not have is asked of NSS with
// `getent` (LDAP, sssd ...), which is what getpwnam() would do.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { spawnSync as SpawnSync } from 'node:child_process';

// node:child_process is loaded only when a name is not in the files: `tandem check` and the
// daemon's start need it no sooner (issue 15, start-up time).
let spawnSyncLoaded: typeof SpawnSync | undefined;
const childProcess = () => ({ spawnSync: spawnSyncLoaded ??= (createRequire(import.meta.url)('node:child_process') as { spawnSync: typeof SpawnSync }).spawnSync });

export interface ResolvedUser {
  user: string;
  group: string | undefined;
  uid: number;
  gid: number;
}

export type UserLookup =
  | { ok: true; value: ResolvedUser }
  | { ok: false; reason: 'unknown_user' | 'unknown_group'; message: string };

/** name -> [uid or gid, primary gid]: the first two numeric fields after the name (passwd: uid,
 *  gid; group: gid). Comment and malformed lines are skipped. */
export function parseIdFile(text: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const name = f[0];
    if (!name || f.length < 3) continue;
    const ids = [f[2], f[3]].filter((x): x is string => x !== undefined && /^\d+$/.test(x)).map(Number);
    if (ids.length === 0 || out.has(name)) continue;
    out.set(name, ids);
  }
  return out;
}

export interface UserDb {
  passwd: (name: string) => { uid: number; gid: number } | undefined;
  group: (name: string) => number | undefined;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function getent(db: 'passwd' | 'group', name: string): number[] | undefined {
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(name)) return undefined;
  const r = childProcess().spawnSync('getent', [db, name], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0 || !r.stdout) return undefined;
  return parseIdFile(r.stdout).get(name);
}

/** The system's users and groups: the files, then NSS through getent. */
export function systemUserDb(files = { passwd: '/etc/passwd', group: '/etc/group' }): UserDb {
  let pw: Map<string, number[]> | undefined;
  let gr: Map<string, number[]> | undefined;
  return {
    passwd: (name) => {
      pw ??= parseIdFile(readOr(files.passwd));
      const ids = pw.get(name) ?? getent('passwd', name);
      return ids && ids.length >= 2 ? { uid: ids[0]!, gid: ids[1]! } : undefined;
    },
    group: (name) => {
      gr ??= parseIdFile(readOr(files.group));
      return (gr.get(name) ?? getent('group', name))?.[0];
    },
  };
}

/** `user` or `user group` (keepalived's script_user words). */
export function resolveScriptUser(user: string, group: string | undefined, db: UserDb = systemUserDb()): UserLookup {
  const pw = db.passwd(user);
  if (!pw) return { ok: false, reason: 'unknown_user', message: `no such user ${JSON.stringify(user)}` };
  if (group === undefined) return { ok: true, value: { user, group: undefined, uid: pw.uid, gid: pw.gid } };
  const gid = db.group(group);
  if (gid === undefined) return { ok: false, reason: 'unknown_group', message: `no such group ${JSON.stringify(group)}` };
  return { ok: true, value: { user, group, uid: pw.uid, gid } };
}
