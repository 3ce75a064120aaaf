// The state file on a read-only file system (issue 12 §3), against a real `tandem run`: the
// daemon runs in its own mount namespace (unshare -m) where the state file's directory is a
// read-only tmpfs, so every write fails with EROFS, as root too. One warning, then nothing more
// within the rate-limit interval however many writes fail (a reload asks for one each), and the
// daemon carries on: it answers `tandem status` and applies reloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Lab, requireTools, run, waitFor } from '../lib/netns.js';
import { REPO_ROOT, TANDEM_BIN } from '../lib/tandem.js';
import { STATE_FILE_FAILURE_LOG_INTERVAL_MS } from '../../src/daemon/stateFile.js';

const TIMEOUT = { timeout: 120_000 };

test('a read-only state directory: one warning, the other failures rate-limited; the daemon carries on', TIMEOUT, async () => {
  requireTools('unshare', 'mount');
  const lab = await Lab.create({ prefix: 'tS', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }] });
  try {
    const roDir = lab.path('ro');
    mkdirSync(roDir);
    const socketPath = lab.path('tandem.sock');
    const configPath = lab.path('tandem.yaml');
    const config = (rid: string) => `global:\n  router_id: ${rid}\n  status_socket: ${socketPath}\n`;
    writeFileSync(configPath, config('lb1'));
    // The mount exists only in the daemon's mount namespace and goes with it.
    const proc = lab.spawn(lab.node('lb1'), ['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c',
      'mount -t tmpfs -o ro,mode=0755,size=64k tandem-ro "$1" && shift && exec "$@"', 'sh', roDir,
      process.execPath, TANDEM_BIN, 'run', '-f', configPath, '--state-file', `${roDir}/state.json`], { logPath: lab.path('tandem.log'), cwd: REPO_ROOT });
    const status = () => run([process.execPath, TANDEM_BIN, 'status', '--socket', socketPath, '--json'], { allowFail: true, timeoutMs: 15_000 });
    await waitFor(async () => (await status()).code === 0, { timeoutMs: 15_000, what: 'tandem status' })
      .catch((e: Error) => { throw new Error(`${e.message}\n${proc.tail()}`); });
    // Each reload asks for a state file write.
    for (let i = 0; i < 5; i++) {
      writeFileSync(configPath, config(`lb1-${i}`));
      const r = await run([process.execPath, TANDEM_BIN, 'reload', '--socket', socketPath], { allowFail: true, timeoutMs: 30_000 });
      assert.equal(r.code, 0, `${r.stdout}${r.stderr}\n${proc.tail()}`);
    }
    const s = await status();
    assert.equal(s.code, 0, s.stderr);
    assert.equal((JSON.parse(s.stdout) as { router_id: string }).router_id, 'lb1-4');
    const failures = proc.lines.filter((l) => /state file .*state\.json: /.test(l));
    // The start and five reloads: six failed writes in well under the interval.
    assert.ok(STATE_FILE_FAILURE_LOG_INTERVAL_MS >= 60_000);
    assert.equal(failures.length, 1, `${failures.join('\n')}\n--- log ---\n${proc.tail(60)}`);
    assert.match(failures[0]!, /WARN +state file .*\/ro\/state\.json: EROFS: read-only file system/);
    proc.signal('SIGTERM');
    assert.ok(await proc.waitExit(10_000), proc.tail());
    assert.equal(proc.exitCode, 0, proc.tail());
  } finally {
    await lab.destroy();
  }
});
