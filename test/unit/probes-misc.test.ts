// MISC_CHECK: exit statuses, misc_dynamic weights, no shell, and the process group killed at the
// deadline (a script's own children included).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../../src/config/load.js';
import { probeMisc, type MiscProbeParams } from '../../src/check/probes/misc.js';
import { resolveScriptUser } from '../../src/process/users.js';
import { since } from './probes-servers.js';

const sh = (script: string, extra: Partial<MiscProbeParams> = {}): MiscProbeParams =>
  ({ argv: ['/bin/sh', '-c', script], dynamic: false, user: undefined, ...extra });

/** Still running: exists and is not a zombie (a killed orphan waits for init to reap it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch { return false; }
}

describe('MISC_CHECK', () => {
  test('exit 0 is up, exit 1 is down (exit_status)', async () => {
    assert.deepEqual(await probeMisc(sh('exit 0'), { timeoutMs: 2000 }), { ok: true });
    assert.deepEqual(await probeMisc(sh('exit 1'), { timeoutMs: 2000 }), { ok: false, reason: 'exit_status', detail: '/bin/sh exited 1' });
  });

  test('misc_dynamic: exit 2..255 is up with weight exit-2; without it, down', async () => {
    assert.deepEqual(await probeMisc(sh('exit 2', { dynamic: true }), { timeoutMs: 2000 }), { ok: true, weight: 0 });
    assert.deepEqual(await probeMisc(sh('exit 7', { dynamic: true }), { timeoutMs: 2000 }), { ok: true, weight: 5 });
    assert.deepEqual(await probeMisc(sh('exit 255', { dynamic: true }), { timeoutMs: 2000 }), { ok: true, weight: 253 });
    assert.deepEqual(await probeMisc(sh('exit 0', { dynamic: true }), { timeoutMs: 2000 }), { ok: true });
    assert.equal((await probeMisc(sh('exit 1', { dynamic: true }), { timeoutMs: 2000 })).ok, false);
    const r = await probeMisc(sh('exit 7'), { timeoutMs: 2000 });
    assert.equal(!r.ok && r.reason, 'exit_status');
  });

  test('argv runs without a shell: metacharacters reach the program as they are', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-misc-'));
    try {
      const out = join(dir, 'args');
      // printf writes its arguments; a shell would have expanded $HOME and run `; touch`.
      const r = await probeMisc({ argv: ['/usr/bin/env', 'sh', '-c', `printf '%s|' "$@" > ${out}`, 'sh', '$HOME', ';', 'touch', `${dir}/pwned`], dynamic: false, user: undefined }, { timeoutMs: 2000 });
      assert.deepEqual(r, { ok: true });
      assert.equal(readFileSync(out, 'utf8'), '$HOME|;|touch|' + `${dir}/pwned|`);
      assert.equal(existsSync(join(dir, 'pwned')), false);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  test('a program that does not exist is spawn_error', async () => {
    const r = await probeMisc({ argv: ['/nonexistent/check'], dynamic: false, user: undefined }, { timeoutMs: 2000 });
    assert.equal(!r.ok && r.reason, 'spawn_error');
    assert.match(!r.ok ? r.detail ?? '' : '', /ENOENT/);
    const empty = await probeMisc({ argv: [], dynamic: false, user: undefined }, { timeoutMs: 2000 });
    assert.equal(!empty.ok && empty.reason, 'spawn_error');
    const nul = await probeMisc({ argv: ['/bin/true', 'a\0b'], dynamic: false, user: undefined }, { timeoutMs: 2000 });
    assert.equal(!nul.ok && nul.reason, 'spawn_error');
  });

  test('killed by a signal is down (killed)', async () => {
    const r = await probeMisc(sh('kill -TERM $$; sleep 5'), { timeoutMs: 2000 });
    assert.deepEqual(r, { ok: false, reason: 'killed', detail: '/bin/sh killed by SIGTERM' });
  });

  test('timeout: the whole process group is SIGKILLed, background children included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-misc-'));
    try {
      const pids = join(dir, 'pids');
      // The script starts two sleepers (one in the background), records every pid, then waits.
      const t0 = performance.now();
      const r = await probeMisc(sh(`sleep 30 & echo $! >> ${pids}; echo $$ >> ${pids}; sleep 30`), { timeoutMs: 300 });
      const took = since(t0);
      assert.equal(!r.ok && r.reason, 'timeout', JSON.stringify(r));
      assert.ok(took >= 295, `not before its deadline: ${took} ms`);
      assert.match(!r.ok ? r.detail ?? '' : '', /still running: killed its process group$/);
      const recorded = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
      assert.equal(recorded.length, 2);
      // SIGKILL is delivered at once; give the kernel a moment to reap.
      for (let i = 0; i < 50 && recorded.some(alive); i++) await new Promise((res) => setTimeout(res, 10));
      assert.deepEqual(recorded.filter(alive), [], 'every process of the group is gone');
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  test('user: runs as that user when we may switch (root), spawn_error when we may not', async () => {
    const r = await probeMisc(sh('test "$(id -u)" = 65534', { user: 'nobody' }), { timeoutMs: 2000 });
    if (process.getuid?.() === 0) assert.deepEqual(r, { ok: true });
    else assert.equal(!r.ok && r.reason, 'spawn_error');
    const unknown = await probeMisc(sh('exit 0', { user: 'no-such-user-tandem' }), { timeoutMs: 2000 });
    assert.deepEqual(unknown, { ok: false, reason: 'spawn_error', detail: 'unknown user no-such-user-tandem' });
  });

  test('user is looked up as notify scripts do (getpwnam: a name, never a bare uid)', async () => {
    // keepalived set_uid_gid() (keepalived/core/notify.c) calls getpwnam_r(username): `65534`
    // is no user name, so the check cannot start, as a notify script's script_user `65534` cannot.
    const r = await probeMisc(sh('exit 0', { user: '65534' }), { timeoutMs: 2000 });
    assert.deepEqual(r, { ok: false, reason: 'spawn_error', detail: 'unknown user 65534' });
    assert.equal(resolveScriptUser('65534', undefined).ok, false, 'the same answer as process/users.ts');
  });

  test('the script gets the cleaned environment every script gets (no LD_LIBRARY_PATH)', async () => {
    // keepalived/core/notify.c system_call_script() unsets IFS, LD_PRELOAD and LD_LIBRARY_PATH
    // for every script it runs, MISC_CHECK's included.
    const saved = process.env.LD_LIBRARY_PATH;
    process.env.LD_LIBRARY_PATH = '/nonexistent-tandem-test';
    process.env.TANDEM_MISC_KEPT = 'kept';
    try {
      const r = await probeMisc(sh('test -z "${LD_LIBRARY_PATH+set}" && test "$TANDEM_MISC_KEPT" = kept'), { timeoutMs: 2000 });
      assert.deepEqual(r, { ok: true });
    } finally {
      delete process.env.TANDEM_MISC_KEPT;
      if (saved === undefined) delete process.env.LD_LIBRARY_PATH; else process.env.LD_LIBRARY_PATH = saved;
    }
  });

  test('no user of its own: runs as the default ids (global script_user), which the config model sets', async () => {
    assert.equal(process.getuid?.(), 0, 'this test switches users: run it as root');
    const r = await probeMisc(sh('test "$(id -u):$(id -g)" = 65534:65534', { defaultIds: { uid: 65534, gid: 65534 } }), { timeoutMs: 2000 });
    assert.deepEqual(r, { ok: true });
    const cfg = loadConfigText(`global: { script_user: nobody }
virtual_servers:
  - address: 192.0.2.100
    port: 80
    real_servers:
      - address: 198.51.100.1
        checks: [{ misc_check: { misc_path: /bin/true } }, { misc_check: { misc_path: /bin/true, user: root } }]
`, 'lb.yaml', { hostname: 'h' });
    assert.ok(cfg.ok, cfg.ok ? '' : JSON.stringify(cfg.errors));
    const [own, explicit] = cfg.config.virtualServers[0]!.realServers[0]!.checks;
    assert.equal(own?.kind === 'misc_check' && JSON.stringify(own.defaultIds), JSON.stringify({ uid: 65534, gid: 65534 }));
    assert.equal(explicit?.kind === 'misc_check' && explicit.defaultIds, undefined, 'a check with its own user keeps it');
  });
});
