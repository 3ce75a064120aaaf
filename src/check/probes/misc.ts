// MISC_CHECK (keepalived check_misc.c): run a program from its argv, no shell, in its own
// process group (setsid), and judge its exit status: 0 up, 1 down; with misc_dynamic, 2..255 is
// up with weight status - 2. At the deadline the whole group is SIGKILLed, so helpers the
// program started (a `curl` under a shell script) die with it instead of piling up.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { ProbeResult } from '../verdict.js';
import { errorText, runProbeScope, type ProbeOptions } from './scope.js';

export interface MiscProbeParams {
  argv: readonly string[];
  dynamic: boolean;
  /** Run as this user (name or numeric uid); its primary group from /etc/passwd. */
  user: string | undefined;
  /** Without `user`: these ids (global script_user, resolved at config load); else tandem's own. */
  defaultIds?: { uid: number; gid: number } | undefined;
}

export function probeMisc(p: MiscProbeParams, opts: ProbeOptions): Promise<ProbeResult> {
  if (p.user === undefined) return runMisc(p, opts, p.defaultIds);
  return lookupUser(p.user).then(
    (ids) => ids ? runMisc(p, opts, ids) : { ok: false, reason: 'spawn_error', detail: `unknown user ${p.user}` } as const,
    (e: unknown) => ({ ok: false, reason: 'spawn_error', detail: `cannot resolve user ${p.user}: ${errorText(e)}` } as const),
  );
}

function runMisc(p: MiscProbeParams, opts: ProbeOptions, ids: { uid: number; gid: number } | undefined): Promise<ProbeResult> {
  return runProbeScope(opts, (scope) => {
    const [file, ...args] = p.argv;
    if (file === undefined) { scope.fail('spawn_error', 'empty argv'); return; }
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        // detached: setsid(), so the child leads a new process group we can kill as a whole.
        detached: true,
        stdio: 'ignore',
        ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
      });
    } catch (e) {
      // Node refuses some argv synchronously (a NUL byte in an argument).
      scope.fail('spawn_error', `${file}: ${errorText(e)}`);
      return;
    }
    let exited = false;
    child.once('exit', () => { exited = true; });
    child.on('error', (e) => scope.fail('spawn_error', `${file}: ${errorText(e)}`));
    scope.onDeadline(() => ({ ok: false, reason: 'timeout', detail: `${file} still running: killed its process group` }));
    scope.defer(() => {
      if (exited || child.pid === undefined) return;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* the group is already gone */ }
    });
    child.once('exit', (code, signal) => {
      if (signal !== null) { scope.fail('killed', `${file} killed by ${signal}`); return; }
      if (code === 0) { scope.ok(); return; }
      if (p.dynamic && code !== null && code >= 2 && code <= 255) { scope.ok(code - 2); return; }
      scope.fail('exit_status', `${file} exited ${code}`);
    });
  });
}

/** uid and primary gid of a user name (or a numeric uid) from /etc/passwd. */
async function lookupUser(user: string): Promise<{ uid: number; gid: number } | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 4) continue;
    if (f[0] === user || (/^\d+$/.test(user) && f[2] === user)) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return /^\d+$/.test(user) ? { uid: Number(user), gid: Number(user) } : undefined;
}
