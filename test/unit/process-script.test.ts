// runScript with real processes: argv without a shell, its own process group, a timeout that
// kills the whole group (children included, SIGKILL for those that ignore SIGTERM), bounded
// output, script_user's uid/gid, and typed results for everything that can go wrong.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { runScript, succeeded } from '../../src/process/script.js';
import { isAlive, killQuietly, ScriptDir, waitFor } from '../lib/scripts.js';

describe('alert script runner (real processes)', () => {
  let d: ScriptDir;
  const leftovers: number[] = [];
  before(() => {
    assert.equal(process.geteuid?.(), 0, 'these tests run as root (uid/gid switching); run them as root');
    d = new ScriptDir();
  });
  after(() => {
    for (const pid of leftovers) killQuietly(pid);
    d.remove();
  });

  it('passes argv verbatim, without a shell', async () => {
    const s = d.script('args.sh', `for a in "$@"; do printf '<%s>' "$a"; done`);
    const r = await runScript([s, '$HOME', 'a b', ';', '*', `it's`, '', '"q"'], { timeoutMs: 5000 });
    assert.equal(r.outcome, 'exited');
    assert.ok(succeeded(r));
    assert.equal(r.stdout.text, `<$HOME><a b><;><*><it's><><"q">`);
  });

  it('a non-zero exit is a typed failure with its stderr', async () => {
    const s = d.script('fail.sh', 'echo "no route to cloud API" >&2; exit 3');
    const r = await runScript([s], { timeoutMs: 5000 });
    assert.equal(r.outcome, 'exited');
    assert.equal(r.exitCode, 3);
    assert.equal(succeeded(r), false);
    assert.equal(r.stderr.text, 'no route to cloud API\n');
  });

  it('a script killed by a signal reports the signal', async () => {
    const s = d.script('sig.sh', 'kill -USR1 $$; sleep 5');
    const r = await runScript([s], { timeoutMs: 5000 });
    assert.equal(r.outcome, 'signaled');
    assert.equal(r.signal, 'SIGUSR1');
  });

  it('spawn errors are results, not exceptions: missing, not executable, bad uid', async () => {
    const missing = await runScript([d.path('nope.sh')], { timeoutMs: 1000 });
    assert.equal(missing.outcome, 'spawn_error');
    if (missing.outcome === 'spawn_error') assert.equal(missing.reason, 'not_found');
    // A 0644 file: root may read it but execve() needs an x bit.
    const noexec = await runScript([d.script('noexec.sh', 'exit 0', 0o644)], { timeoutMs: 1000 });
    assert.equal(noexec.outcome, 'spawn_error');
    if (noexec.outcome === 'spawn_error') assert.equal(noexec.reason, 'permission_denied');
    const empty = await runScript([], { timeoutMs: 1000 });
    assert.equal(empty.outcome, 'spawn_error');
    const nul = await runScript(['/bin/echo', 'a\0b'], { timeoutMs: 1000 });
    assert.equal(nul.outcome, 'spawn_error');
    if (nul.outcome === 'spawn_error') assert.equal(nul.reason, 'invalid_argv');
  });

  it('runs in its own process group, as its leader', async () => {
    // Field 5 of /proc/PID/stat is the process group.
    const s = d.script('pgrp.sh', `set -- $(sed 's/.*) //' /proc/$$/stat); echo "$$ $3"`);
    const r = await runScript([s], { timeoutMs: 5000 });
    const [pid, pgrp] = r.stdout.text.trim().split(' ').map(Number);
    assert.equal(pid, r.pid);
    assert.equal(pgrp, pid, 'the script leads its own group');
    assert.notEqual(pgrp, ownPgrp(), 'not ours');
  });

  it('a hung script is killed at the timeout, with the child it started', async () => {
    // The script marks the end of its wait: no mark when runScript returns means it returned
    // before the sleep ended (no clock needed to say so).
    const s = d.script('hang.sh', `sleep 60 & echo $! > "${d.path('hang.child')}"; wait; touch "${d.path('hang.done')}"`);
    const r = await runScript([s], { timeoutMs: 300, killGraceMs: 500 });
    const child = Number(d.read('hang.child'));
    if (child) leftovers.push(child);
    assert.equal(r.outcome, 'timed_out');
    assert.ok(!existsSync(d.path('hang.done')), 'returned long before the sleep would have ended');
    assert.ok(child > 0, 'the script wrote its child pid');
    assert.ok(await waitFor(() => !isAlive(child), 3000), `child ${child} of the hung script is gone`);
  });

  it('SIGTERM ignored by the script and its child: SIGKILL to the group after the grace', async () => {
    const s = d.script('stubborn.sh', `trap '' TERM; sleep 60 & echo $! > "${d.path('stub.child')}"; wait; wait; touch "${d.path('stub.done')}"`);
    const t0 = Date.now();
    const r = await runScript([s], { timeoutMs: 300, killGraceMs: 400 });
    const elapsed = Date.now() - t0;
    const child = Number(d.read('stub.child'));
    if (child) leftovers.push(child);
    assert.equal(r.outcome, 'timed_out');
    assert.equal(r.signal, 'SIGKILL');
    // A lower bound only (a slow machine cannot break it): SIGKILL waited for the grace.
    assert.ok(elapsed >= 650, `waited timeout + grace before SIGKILL (${elapsed} ms)`);
    assert.ok(!existsSync(d.path('stub.done')), 'but killed, not waited for: the script never reached its end');
    assert.ok(await waitFor(() => !isAlive(child), 3000), `child ${child} that ignored SIGTERM is gone`);
  });

  it('keeps the first 4 KiB of output and counts the rest', async () => {
    const s = d.script('loud.sh', `head -c 100000 /dev/zero | tr '\\0' x`);
    const r = await runScript([s], { timeoutMs: 5000 });
    assert.ok(succeeded(r));
    assert.equal(r.stdout.text, 'x'.repeat(4096));
    assert.equal(r.stdout.bytes, 100000);
    assert.equal(r.stdout.truncated, true);
  });

  it('runs as script_user: uid, gid, and no supplementary groups', async () => {
    const s = d.script('id.sh', 'echo "$(id -u) $(id -g) $(id -G)"');
    const r = await runScript([s], { timeoutMs: 5000, uid: 65534, gid: 65534 });
    assert.ok(succeeded(r), JSON.stringify(r));
    assert.equal(r.stdout.text.trim(), '65534 65534 65534');
  });

  it('removes IFS, LD_PRELOAD and LD_LIBRARY_PATH from the environment (keepalived does)', async () => {
    // /usr/bin/env as the program prints exactly the environment it was given.
    const r = await runScript(['/usr/bin/env'], { timeoutMs: 5000, env: { PATH: '/usr/bin:/bin', IFS: ':', LD_PRELOAD: '/nonexistent.so', LD_LIBRARY_PATH: '/tmp', KEEP: 'yes' } });
    assert.ok(succeeded(r));
    assert.deepEqual(r.stdout.text.trim().split('\n').sort(), ['KEEP=yes', 'PATH=/usr/bin:/bin']);
  });

  it('returns when the script exits even if a background child keeps its output open', async () => {
    const s = d.script('bg.sh', `sleep 30 & echo $! > "${d.path('bg.child')}"; echo started`);
    const r = await runScript([s], { timeoutMs: 10000 });
    const child = Number(d.read('bg.child'));
    if (child) leftovers.push(child);
    assert.ok(succeeded(r));
    assert.equal(r.stdout.text, 'started\n');
    // A normal exit leaves what the script started alone (a notify script may start a daemon).
    // The child holding the output open still runs, so runScript did not wait for it to end.
    assert.ok(isAlive(child), 'background child still runs: did not wait for it');
  });

  it('abort (shutdown) kills the group: outcome stopped', async () => {
    const s = d.script('long.sh', 'sleep 60');
    const ac = new AbortController();
    const p = runScript([s], { timeoutMs: 60000, killGraceMs: 300, signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    const r = await p;
    assert.equal(r.outcome, 'stopped');
  });
});

/** This process's group, field 5 of /proc/self/stat. */
function ownPgrp(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}
