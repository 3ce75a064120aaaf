// ScriptNotifier with real /bin/sh scripts: under fast flapping the scripts of an instance run in
// event order (notify_<state> before the generic notify), a hung script is killed at its timeout
// without holding back other instances, failures are logged once with context and counted, a full
// queue keeps the latest event, and stop() runs queued STOP scripts then kills what is left.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, writeFileSync } from 'node:fs';
import type { AlertEvent } from '../../src/alert/events.js';
import type { StateNotifyScripts } from '../../src/config/notifyScripts.js';
import { ScriptNotifier, type ScriptNotifierConfig } from '../../src/alert/scriptNotifier.js';
import { createLogger } from '../../src/log.js';
import { runScript } from '../../src/process/script.js';
import { createSystemTimers } from '../../src/timers.js';
import { isAlive, killQuietly, ScriptDir, waitFor } from '../lib/scripts.js';
import { socketClock } from './alert-net-servers.js';

/** Real scripts run in real time here (their own sleeps and timeouts). */
const real = { run: runScript, timers: createSystemTimers() };
/** A stop grace on a manual clock (alert-net-servers.ts socketClock: the runner's turns are real). */
const sc = socketClock();
const none: StateNotifyScripts = { master: undefined, backup: undefined, fault: undefined, stop: undefined, notify: undefined };
let t = 1_700_000_000_000;
const ev = (instance: string, state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP', priority = 100): AlertEvent =>
  ({ type: 'vrrp_instance', instance, state, previous: null, priority, reason: 'master_down_timer', time: t++ });

function config(instances: Array<[string, Partial<StateNotifyScripts>]>, timeoutMs = 5000, scriptUser?: { uid: number; gid: number }): ScriptNotifierConfig {
  return {
    global: { notifyScriptTimeoutMs: timeoutMs, scriptUser },
    vrrpInstances: instances.map(([name, n]) => ({ name, notify: { ...none, ...n } })),
    virtualServers: [],
  };
}

describe('alert script notifier (real scripts)', () => {
  let d: ScriptDir;
  let rec: string;
  const leftovers: number[] = [];
  before(() => {
    assert.equal(process.geteuid?.(), 0, 'needs root (script_user test)');
    d = new ScriptDir('tandem-notify-');
    // Appends its arguments as one line to the file named by $1. A random short sleep first makes
    // concurrent runs finish out of order, which the ordering test would see.
    rec = d.script('rec.sh', 'out=$1; shift; sleep 0.0$(( $$ % 5 )); echo "$*" >> "$out"');
  });
  after(() => {
    for (const pid of leftovers) killQuietly(pid);
    d.remove();
  });

  it('fast flapping: every script of the instance runs, in event order', async () => {
    const out = d.path('flap.out');
    const n = new ScriptNotifier(config([['VI_1', {
      master: [rec, out, 'master'], backup: [rec, out, 'backup'], notify: [rec, out, 'notify'],
    }]]), createLogger({ write: () => {} }), real);
    const expected: string[] = [];
    for (let i = 0; i < 12; i++) {
      const state = i % 2 === 0 ? 'MASTER' : 'BACKUP';
      n.handle(ev('VI_1', state, 100 + i));
      expected.push(state === 'MASTER' ? 'master' : 'backup', `notify INSTANCE VI_1 ${state} ${100 + i}`);
    }
    await n.stop({ graceMs: 15000 });
    assert.deepEqual(d.read('flap.out').trimEnd().split('\n'), expected);
    assert.deepEqual(n.counters(), { run: 24, failed: 0, timed_out: 0, dropped: 0 });
  });

  it('handle() returns at once while scripts run; instances run side by side', async () => {
    const out = d.path('side.out');
    const slow = d.script('slow.sh', `sleep 1; echo slow >> "${out}"`);
    const fast = d.script('fast.sh', `echo fast >> "${out}"`);
    const n = new ScriptNotifier(config([['SLOW', { master: [slow] }], ['FAST', { master: [fast] }]]), createLogger({ write: () => {} }), real);
    n.handle(ev('SLOW', 'MASTER'));
    n.handle(ev('FAST', 'MASTER'));
    // handle() only enqueues: both scripts start on a later turn of the loop.
    assert.deepEqual(n.queueStats(), { keys: 2, pending: 2, running: 0 }, 'handle() returned at once');
    assert.ok(await waitFor(() => d.read('side.out') === 'fast\n', 3000), 'FAST ran while SLOW was still running');
    await n.stop({ graceMs: 10000 });
    assert.equal(d.read('side.out'), 'fast\nslow\n');
  });

  it('a hung script is killed at the timeout (with its child), logged once with context, counted; the next script runs', async () => {
    const lines: string[] = [];
    const out = d.path('hung.out');
    const hang = d.script('hang.sh', `sleep 60 & echo $! > "${d.path('hung.child')}"; wait`);
    const fail = d.script('fail.sh', 'echo "cloud API said no" >&2; exit 2');
    const n = new ScriptNotifier(config([['VI_H', { master: [hang], notify: [rec, out, 'notify'], backup: [fail] }]], 300),
      createLogger({ write: (l) => lines.push(l), journald: true }), { ...real, killGraceMs: 300 });
    n.handle(ev('VI_H', 'MASTER'));
    n.handle(ev('VI_H', 'BACKUP'));
    await n.stop({ graceMs: 10000 });
    const child = Number(d.read('hung.child'));
    if (child) leftovers.push(child);
    assert.ok(child > 0 && !isAlive(child), 'the hung script\'s child was killed with it');
    assert.deepEqual(d.read('hung.out').trimEnd().split('\n'), ['notify INSTANCE VI_H MASTER 100', 'notify INSTANCE VI_H BACKUP 100']);
    assert.deepEqual(n.counters(), { run: 4, failed: 1, timed_out: 1, dropped: 0 });
    const warns = lines.filter((l) => l.startsWith('<4>'));
    assert.equal(warns.length, 2, lines.join('\n'));
    assert.match(warns[0]!, /notify_master for instance VI_H none -> MASTER \(priority 100, master_down_timer\): .*hang\.sh: timed out/);
    assert.match(warns[1]!, /notify_backup for instance VI_H none -> BACKUP .*fail\.sh: exit 2 .*; output: cloud API said no/);
  });

  it('a full queue keeps the latest event and counts the dropped scripts', async () => {
    const out = d.path('full.out');
    const gate = d.path('full.gate');
    // The first script waits (bounded) for the gate file, so the other events pile up.
    const wait = d.script('wait.sh', `i=0; while [ ! -e "${gate}" ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i+1)); done; echo "$1" >> "${out}"`);
    const lines: string[] = [];
    const n = new ScriptNotifier(config([['VI_F', { master: [wait, 'm'], backup: [wait, 'b'], notify: [rec, out, 'notify'] }]]),
      createLogger({ write: (l) => lines.push(l) }), { ...real, capacityPerKey: 2 });
    n.handle(ev('VI_F', 'MASTER', 1));
    assert.ok(await waitFor(() => n.queueStats().running === 1, 2000));
    for (let i = 2; i <= 6; i++) n.handle(ev('VI_F', i % 2 === 0 ? 'BACKUP' : 'MASTER', i));
    writeGate(gate);
    await n.stop({ graceMs: 10000 });
    // Event 1 ran; events 2..4 were dropped (2 scripts each); 5 and 6 ran, in order.
    assert.deepEqual(d.read('full.out').trimEnd().split('\n'), [
      'm', 'notify INSTANCE VI_F MASTER 1', 'm', 'notify INSTANCE VI_F MASTER 5', 'b', 'notify INSTANCE VI_F BACKUP 6',
    ]);
    assert.deepEqual(n.counters(), { run: 6, failed: 0, timed_out: 0, dropped: 6 });
    assert.ok(lines.some((l) => /notify scripts not run \(more than 2 events waiting for instance VI_F; dropped the oldest\)/.test(l)));
  });

  it('stop(): queued STOP scripts run; after the grace a hung one is killed and the rest dropped', async () => {
    const out = d.path('stop.out');
    const hang = d.script('hang2.sh', 'sleep 60');
    const n = new ScriptNotifier(config([
      ['VI_S', { stop: [rec, out, 'stop'], notify: [rec, out, 'notify'] }],
      ['VI_X', { stop: [hang], notify: [rec, out, 'never'] }],
    ], 60000), createLogger({ write: () => {} }), { run: runScript, timers: sc.timers, killGraceMs: 200 });
    n.handle(ev('VI_S', 'STOP', 90));
    n.handle(ev('VI_X', 'STOP', 90));
    // The grace is on a manual clock: the test moves it once VI_S's scripts have run.
    const t0 = sc.clock.now();
    let stopped = false;
    const stopping = n.stop({ graceMs: 1500 }).then(() => { stopped = true; });
    assert.ok(await waitFor(() => d.read('stop.out').trimEnd().split('\n').length === 2, 5000), 'VI_S\'s scripts ran');
    sc.clock.advance(1499);
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(stopped, false, 'stop waits for the grace while a STOP script runs');
    sc.clock.advance(1);
    await stopping;
    assert.equal(sc.clock.now() - t0, 1500, 'stop waited for the grace, then killed');
    assert.deepEqual(d.read('stop.out').trimEnd().split('\n').sort(), ['notify INSTANCE VI_S STOP 90', 'stop']);
    const c = n.counters();
    assert.equal(c.failed, 1, 'the hung STOP script is a failure (stopped by shutdown)');
    assert.equal(c.dropped, 1, 'VI_X\'s generic notify never ran');
    n.handle(ev('VI_S', 'MASTER'));
    assert.equal(n.counters().dropped, 2, 'after stop, an event\'s scripts (here the generic notify) are dropped and counted');
    assert.equal(d.read('stop.out').trimEnd().split('\n').length, 2, 'and do not run');
  });

  it('runs scripts as script_user', async () => {
    const out = d.path('user.out');
    const idScript = d.script('id2.sh', `id -u > "${out}"`);
    // The out file must be writable by nobody: pre-create it with the right owner.
    writeGate(out, 65534);
    const n = new ScriptNotifier(config([['VI_U', { master: [idScript] }]], 5000, { uid: 65534, gid: 65534 }), createLogger({ write: () => {} }), real);
    n.handle(ev('VI_U', 'MASTER'));
    await n.stop({ graceMs: 5000 });
    assert.equal(d.read('user.out'), '65534\n');
    assert.deepEqual(n.counters(), { run: 1, failed: 0, timed_out: 0, dropped: 0 });
  });
});

function writeGate(path: string, uid?: number): void {
  writeFileSync(path, '');
  if (uid !== undefined) chownSync(path, uid, uid);
}
