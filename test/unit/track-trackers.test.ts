// Trackers: the composer over a real config, with a real script (shared by two instances, run once
// per interval), a real file and a real process; onChange names the instances that track what
// changed, and stateFor() + computePriority() give the priority and FAULT the VRRP side applies.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfigText } from '../../src/config/load.js';
import { formatConfigError } from '../../src/config/errors.js';
import type { Config } from '../../src/config/model.js';
import { createLogger } from '../../src/log.js';
import { computePriority } from '../../src/track/priority.js';
import { timersTicker, type Ticker } from '../../src/track/scriptTracker.js';
import { Trackers } from '../../src/track/trackers.js';
import { runScript } from '../../src/track/scriptRunner.js';
import { createSystemTimers } from '../../src/timers.js';

const quiet = createLogger({ write: () => undefined });

describe('Trackers', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  let trackers: Trackers | undefined;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tandem-trackers-')); });
  after(() => {
    trackers?.stop();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  function load(text: string): Config {
    const r = loadConfigText(text, 'lb.yaml', { hostname: 'h' });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    return r.config;
  }
  async function until(cond: () => boolean, what: string, ms = 5000) {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.ok(cond(), `timed out waiting for ${what}`);
  }

  it('runs a shared script once per interval, follows a file and a process, and tells which instances changed', async () => {
    const runs = join(dir, 'runs');
    const healthy = join(dir, 'healthy');
    const script = join(dir, 'check.sh');
    writeFileSync(script, `#!/bin/sh\necho run >> "${runs}"\ntest -e "${healthy}"\n`);
    chmodSync(script, 0o755);
    writeFileSync(healthy, '');
    const prioFile = join(dir, 'prio');
    writeFileSync(prioFile, '0\n');
    const procName = `tdm${randomBytes(5).toString('hex')}`;
    const procPath = join(dir, procName);
    copyFileSync('/bin/sleep', procPath);
    const proc = spawn(procPath, ['30'], { stdio: 'ignore' });
    children.push(proc);
    const unused = join(dir, 'unused.sh');

    const config = load(`vrrp_scripts:
  - name: chk
    script: ${script}
    interval: 0.2
    weight: -20
  - name: unused
    script: ${unused}
vrrp_track_files:
  - { name: prio, file: ${prioFile}, weight: 5 }
vrrp_track_processes:
  - { name: daemon, process: ${procName} }
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    priority: 100
    virtual_ipaddresses: [192.0.2.100/24]
    track_scripts: [chk]
    track_files: [prio]
    track_processes: [daemon]
  - name: VI_2
    interface: eth0
    virtual_router_id: 52
    priority: 150
    virtual_ipaddresses: [192.0.2.101/24]
    track_scripts: [{ name: chk, weight: 0 }]
`);
    const changed: string[] = [];
    // Real ticks, counted: "one run per interval" is then a count against the ticks, not runs per
    // wall-clock second.
    const ticks = { intervals: [] as number[], fired: 0 };
    const ticker: Ticker = {
      every(ms, fn) {
        ticks.intervals.push(ms);
        return timersTicker(createSystemTimers()).every(ms, () => { ticks.fired++; fn(); });
      },
    };
    trackers = new Trackers(config, quiet, (name) => changed.push(name), { runScript, timers: createSystemTimers(), processScanMs: 100, filePollMs: 60_000, ticker });
    const prio = (name: string) => computePriority(config.vrrpInstances.find((i) => i.name === name)!.priority, trackers!.stateFor(name));

    // Before the first script result: VI_2's weight-0 script holds it out; the process is unknown.
    assert.deepEqual(prio('VI_2'), { effective: 150, fault: true, faultBy: ['script:chk'] });
    trackers.start();
    assert.equal(trackers.stateFor('VI_1').find((t) => t.kind === 'process' && t.up === true)?.name, 'daemon',
      'the process is known as soon as start() returns');
    assert.deepEqual(changed, [], 'the first states are read, not reported as changes');
    await trackers.ready();
    assert.deepEqual(prio('VI_1'), { effective: 100, fault: false, faultBy: [] });
    assert.deepEqual(prio('VI_2'), { effective: 150, fault: false, faultBy: [] });
    assert.deepEqual(changed.sort(), ['VI_1', 'VI_2'], 'the script\'s first result reached both instances');
    assert.equal(trackers.snapshot().scripts.length, 1, 'an untracked script is not run');

    // One script, two instances, one run per interval: one ticker at the script's 200 ms, and at
    // most one run per tick besides the first at start().
    await until(() => trackers!.snapshot().scripts[0]!.runs >= 3, 'three runs');
    // A run is counted when it starts and writes its line while it runs: between runs the two are
    // equal (a run counted twice, or not at all, would never let them meet).
    const lines = () => readFileSync(runs, 'utf8').trim().split('\n').length;
    await until(() => lines() === trackers!.snapshot().scripts[0]!.runs, 'every run counted once (the lines the script wrote = runs)');
    const snap = trackers.snapshot().scripts[0]!;
    const fired = ticks.fired;
    assert.deepEqual(ticks.intervals, [200], 'one ticker for the shared script, none for the unused one');
    assert.ok(snap.runs >= 3 && snap.runs <= fired + 1, `runs ${snap.runs} for ${fired} ticks at a 200 ms interval`);
    assert.deepEqual(snap.trackedBy, ['VI_1', 'VI_2']);

    // The script fails: VI_1 loses 20, VI_2 goes to FAULT.
    changed.length = 0;
    unlinkSync(healthy);
    await until(() => prio('VI_2').fault, 'the script failure');
    assert.deepEqual(prio('VI_1'), { effective: 80, fault: false, faultBy: [] });
    assert.deepEqual(changed.sort(), ['VI_1', 'VI_2']);

    // The file: 5 x 3 = +15, for VI_1 only.
    changed.length = 0;
    writeFileSync(prioFile, '3\n');
    await until(() => prio('VI_1').effective === 95, 'the file value');
    assert.deepEqual(changed, ['VI_1']);

    // The process dies: weight 0, VI_1 goes to FAULT within a few scans.
    changed.length = 0;
    proc.kill('SIGKILL');
    await until(() => prio('VI_1').fault, 'the process exit', 3000);
    assert.deepEqual(prio('VI_1').faultBy, ['process:daemon']);
    assert.deepEqual(changed, ['VI_1']);
    const ps = trackers.snapshot().processes[0]!;
    assert.deepEqual([ps.count, ps.up], [0, false]);

    // Everything recovers.
    writeFileSync(healthy, '');
    const again = spawn(procPath, ['30'], { stdio: 'ignore' });
    children.push(again);
    await until(() => !prio('VI_1').fault && !prio('VI_2').fault, 'recovery');
    assert.deepEqual(prio('VI_1'), { effective: 115, fault: false, faultBy: [] });

    trackers.stop();
    const stoppedRuns = trackers.snapshot().scripts[0]!.runs;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(trackers.snapshot().scripts[0]!.runs, stoppedRuns, 'no runs after stop()');
    again.kill('SIGKILL');
  });

  it('a script user that does not exist makes every run a failure, logged once', async () => {
    const lines: string[] = [];
    const config = load(`vrrp_scripts:
  - { name: s, script: /bin/true, user: no-such-user-tandem }
vrrp_instances:
  - { name: VI_1, interface: eth0, virtual_router_id: 51, virtual_ipaddresses: [192.0.2.100/24], track_scripts: [s] }
`);
    const t = new Trackers(config, createLogger({ write: (l) => lines.push(l) }), () => undefined, { runScript, timers: createSystemTimers() });
    try {
      t.start();
      await t.ready();
      assert.deepEqual(t.stateFor('VI_1'), [{ kind: 'script', name: 's', weight: 0, reverse: false, up: false }]);
      assert.equal(t.snapshot().scripts[0]!.last?.verdict, 'spawn_error');
      // A second run (interval 1 s) fails the same way, quietly.
      await until(() => t.snapshot().scripts[0]!.runs >= 2, 'a second run');
      assert.ok(t.snapshot().scripts[0]!.runs >= 2);
      assert.equal(lines.filter((l) => l.includes('ERROR') && l.includes('no such user "no-such-user-tandem"')).length, 1);
      assert.equal(lines.filter((l) => l.includes('vrrp_script s: failed')).length, 1);
    } finally {
      t.stop();
    }
  });

  it('a vrrp_script without user runs as global script_user (keepalived default_script_uid), not as tandem', async () => {
    assert.equal(process.getuid?.(), 0, 'this test switches users: run it as root');
    const sdir = mkdtempSync(join(tmpdir(), 'tandem-trackers-user-'));
    chmodSync(sdir, 0o755); // nobody must reach the script; the result goes to a file it may write
    try {
      const out = join(sdir, 'uid');
      writeFileSync(out, '');
      chmodSync(out, 0o666);
      const script = join(sdir, 'whoami.sh');
      writeFileSync(script, `#!/bin/sh\nid -u > "${out}"\n`);
      chmodSync(script, 0o755);
      const config = load(`global:
  script_user: nobody
vrrp_scripts:
  - { name: who, script: ${script}, interval: 0.2 }
vrrp_instances:
  - { name: VI_1, interface: eth0, virtual_router_id: 51, virtual_ipaddresses: [192.0.2.100/24], track_scripts: [who] }
`);
      const t = new Trackers(config, quiet, () => undefined, { runScript, timers: createSystemTimers(), processScanMs: 60_000, filePollMs: 60_000 });
      try {
        t.start();
        await t.ready();
        await until(() => readFileSync(out, 'utf8').trim() !== '', 'the script\'s first run');
        assert.equal(readFileSync(out, 'utf8').trim(), '65534', 'ran as nobody (script_user)');
      } finally {
        t.stop();
      }
    } finally {
      rmSync(sdir, { recursive: true, force: true });
    }
  });
});
