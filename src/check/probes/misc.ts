// MISC_CHECK (keepalived check_misc.c): run a program from its argv, no shell, in its own
// process group (setsid), through the shared runner (process/script.ts), and judge its exit
// status: 0 up, 1 down; with misc_dynamic, 2..255 is up with weight status - 2. At the deadline
// the whole group is killed, so helpers the program started (a `curl` under a shell script) die
// with it instead of piling up.
import { runScript } from '../../process/script.js';
import { resolveScriptUser, systemUserDb } from '../../process/users.js';
import type { ProbeResult } from '../verdict.js';
import { runProbeScope, type ProbeOptions } from './scope.js';

export interface MiscProbeParams {
  argv: readonly string[];
  dynamic: boolean;
  /** Run as this user (a name, looked up as getpwnam() does); its primary group. */
  user: string | undefined;
  /** Without `user`: these ids (global script_user, resolved at config load); else tandem's own. */
  defaultIds?: { uid: number; gid: number } | undefined;
}

export function probeMisc(p: MiscProbeParams, opts: ProbeOptions): Promise<ProbeResult> {
  if (p.user === undefined) return runMisc(p, opts, p.defaultIds);
  // The one user lookup (process/users.ts, keepalived's set_uid_gid(): getpwnam() and the user's
  // primary group), read afresh per run as before, so a user added since the last run is found.
  const u = resolveScriptUser(p.user, undefined, systemUserDb());
  if (!u.ok) return Promise.resolve({ ok: false, reason: 'spawn_error', detail: `unknown user ${p.user}` });
  return runMisc(p, opts, { uid: u.value.uid, gid: u.value.gid });
}

function runMisc(p: MiscProbeParams, opts: ProbeOptions, ids: { uid: number; gid: number } | undefined): Promise<ProbeResult> {
  return runProbeScope(opts, (scope) => {
    const file = p.argv[0];
    if (file === undefined) { scope.fail('spawn_error', 'empty argv'); return; }
    // The deadline is the scope's; when it passes (or the probe ends any other way) the abort
    // kills the whole group: SIGTERM, then SIGKILL on the next timer turn (grace 0), since
    // MISC_CHECK has always killed at its timeout rather than wait for the script to stop.
    const stop = new AbortController();
    scope.onDeadline(() => ({ ok: false, reason: 'timeout', detail: `${file} still running: killed its process group` }));
    scope.defer(() => stop.abort());
    void runScript(p.argv, {
      timeoutMs: opts.timeoutMs, killGraceMs: 0, signal: stop.signal, output: 'ignore', cwd: process.cwd(),
      ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
    }).then((r) => {
      switch (r.outcome) {
        case 'spawn_error': scope.fail('spawn_error', `${file}: ${r.message}`); return;
        case 'signaled': scope.fail('killed', `${file} killed by ${r.signal}`); return;
        case 'timed_out': case 'stopped': scope.fail('timeout', `${file} still running: killed its process group`); return;
        case 'exited':
          if (r.exitCode === 0) { scope.ok(); return; }
          if (p.dynamic && r.exitCode >= 2 && r.exitCode <= 255) { scope.ok(r.exitCode - 2); return; }
          scope.fail('exit_status', `${file} exited ${r.exitCode}`);
      }
    });
  });
}
