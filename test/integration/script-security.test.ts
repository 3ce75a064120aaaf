// enable_script_security on the real daemon (issue 12 §4): a vrrp_script and a misc_check that a
// non-root user could change (a 0777 script in a 0777 directory, run as root) are refused by
// `tandem check` (exit 2, located), by `tandem run` (exit 2) and by a running daemon's reload
// (refused, nothing changes), and never run: each script would append to a marker file. A
// config file everyone can write is refused the same way on reload, and accepted once it is
// 0644 again. The safe scripts of the running config keep running throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { DirectorSpec } from '../lib/director-spec.js';
import { Lab, run, waitFor } from '../lib/netns.js';
import { REPO_ROOT, TANDEM_BIN, Tandem, renderTandemConfig, requireTandemBuilt } from '../lib/tandem.js';

const TIMEOUT = { timeout: 120_000 };

test('insecure vrrp_script and misc_check: refused by check, run and reload, and never run', TIMEOUT, async () => {
  requireTandemBuilt();
  assert.equal(process.geteuid?.(), 0, 'needs root: namespaces, and scripts that run as root');
  const lab = await Lab.create({ prefix: 'tS', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }] });
  let d: Tandem | undefined;
  try {
    const node = lab.node('lb1');
    const marker = (name: string) => lab.path(`${name}.ran`);
    const runs = (name: string) => (existsSync(marker(name)) ? readFileSync(marker(name), 'utf8').split('\n').filter(Boolean).length : 0);
    const script = (dir: string, name: string, mode: number) => {
      const p = `${dir}/${name}.sh`;
      writeFileSync(p, `#!/bin/sh\necho ran >> ${marker(name)}\nexit 0\n`);
      chmodSync(p, mode);
      return p;
    };
    const safeDir = lab.path('safe');
    mkdirSync(safeDir, { mode: 0o755 });
    const openDir = lab.path('open');
    mkdirSync(openDir);
    chmodSync(openDir, 0o777);
    const safeChk = script(safeDir, 'safe-chk', 0o755);
    const safeMisc = script(safeDir, 'safe-misc', 0o755);
    const openChk = script(openDir, 'open-chk', 0o777);
    const openMisc = script(openDir, 'open-misc', 0o777);

    const spec = (o: { insecure?: boolean; priority?: number } = {}): DirectorSpec => ({
      routerId: 'lb1',
      instances: [{
        name: 'VI_1', vrid: 51, version: 3, priority: o.priority ?? 100, advertInt: 0.5, vips: ['192.0.2.100/24'],
        tandemExtra: { track_scripts: o.insecure ? ['chk_safe', 'chk_open'] : ['chk_safe'] },
      }],
      tandemTop: {
        global: { enable_script_security: true },
        vrrp_scripts: [
          { name: 'chk_safe', script: safeChk, interval: 0.2, weight: 0 },
          ...(o.insecure ? [{ name: 'chk_open', script: openChk, interval: 0.2, weight: 0 }] : []),
        ],
        virtual_servers: [{
          address: '192.0.2.100', port: 80, protocol: 'TCP', lb_algo: 'rr', lb_kind: 'NAT', delay_loop: 1,
          real_servers: [
            { address: '192.0.2.1', port: 8080, checks: [{ misc_check: { misc_path: safeMisc, misc_timeout: 1 } }] },
            ...(o.insecure ? [{ address: '192.0.2.2', port: 8080, checks: [{ misc_check: { misc_path: openMisc, misc_timeout: 1 } }] }] : []),
          ],
        }],
      },
    });
    const neverRan = (when: string) => {
      assert.equal(runs('open-chk'), 0, `${when}: the insecure vrrp_script ran`);
      assert.equal(runs('open-misc'), 0, `${when}: the insecure misc_check ran`);
    };
    const located = (stderr: string) => {
      assert.match(stderr, /:\d+:\d+ vrrp_scripts\[1\]\.script: enable_script_security: refused \(world_writable\): \S+\/open is writable by everyone \(mode 777\)/, stderr);
      assert.match(stderr, /:\d+:\d+ virtual_servers\[0\]\.real_servers\[1\]\.checks\[0\]\.misc_check\.misc_path: enable_script_security: refused \(world_writable\)/, stderr);
    };

    // tandem check: exit 2, both located.
    const insecureFile = lab.path('insecure.yaml');
    const insecure = spec({ insecure: true });
    // Its own status socket in the lab directory, should a broken build start a daemon on it.
    writeFileSync(insecureFile, renderTandemConfig({ ...insecure, tandemTop: { ...insecure.tandemTop, global: { enable_script_security: true, status_socket: lab.path('refused.sock') } } }));
    const checked = await run([process.execPath, TANDEM_BIN, 'check', '-f', insecureFile], { allowFail: true, timeoutMs: 30_000 });
    assert.equal(checked.code, 2, checked.stdout + checked.stderr);
    located(checked.stderr);
    assert.match(checked.stderr, /2 errors\n$/, checked.stderr);

    // tandem run: refuses to start.
    const refusedRun = lab.spawn(node, [process.execPath, TANDEM_BIN, 'run', '-f', insecureFile], { cwd: REPO_ROOT });
    assert.equal(await refusedRun.waitExit(15_000), true, `tandem run did not exit\n${refusedRun.tail()}`);
    assert.equal(refusedRun.exitCode, 2, refusedRun.tail());
    located(refusedRun.tail(20));
    neverRan('after check and run');

    // A daemon on the secure config: its scripts run.
    d = await Tandem.start(lab, node, spec());
    await d.waitForState('VI_1', 'MASTER', 10_000);
    await waitFor(() => runs('safe-chk') > 0 && runs('safe-misc') > 0, { timeoutMs: 10_000, what: 'the safe vrrp_script and misc_check running' });
    const before = d.instance()!;
    const trackedScripts = () => ((d!.readState() as unknown as { trackers: { scripts: Array<{ name: string }> } }).trackers.scripts.map((s) => s.name));
    assert.deepEqual(trackedScripts(), ['chk_safe']);

    // Reload onto the insecure scripts: refused, located; nothing changes and they never run.
    d.writeConfig(spec({ insecure: true }));
    const bad = await d.reload();
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    located(bad.stderr);
    assert.match(bad.stderr, /refused, 2 error\(s\); the daemon keeps running its previous config/, bad.stderr);
    const safeRuns = runs('safe-chk');
    // Five vrrp_script intervals and two delay_loops: the old config's scripts go on running.
    await waitFor(() => runs('safe-chk') >= safeRuns + 5, { timeoutMs: 10_000, what: 'the safe vrrp_script still running after the refused reload' });
    await new Promise((r) => setTimeout(r, 2000));
    neverRan('after the refused reload');
    const after = d.instance()!;
    assert.equal(after.state, 'MASTER');
    assert.equal(after.transitions, before.transitions, 'the refused reload changed the instance');
    assert.deepEqual(trackedScripts(), ['chk_safe']);

    // A config file everyone can write: refused, about the whole file (no line); 0644 again: applied.
    d.writeConfig(spec({ priority: 120 }));
    chmodSync(d.configPath, 0o666);
    const open = await d.reload();
    assert.equal(open.code, 2, open.stdout + open.stderr);
    assert.match(open.stderr, /\.yaml: enable_script_security: config file refused \(world_writable\): \S+ is writable by everyone \(mode 666\), so a non-root user could change which programs tandem runs as root/, open.stderr);
    assert.equal(d.instance()!.effective_priority, 100);
    chmodSync(d.configPath, 0o644);
    const good = await d.reload();
    assert.equal(good.code, 0, good.stdout + good.stderr);
    await waitFor(() => d!.instance()?.effective_priority === 120, { timeoutMs: 5000, what: 'priority 120 after the good reload' });
    neverRan('at the end');
    assert.equal(await d.stop(), 0);
  } finally {
    await d?.kill9().catch(() => undefined);
    await lab.destroy();
  }
});
