// vrrp_track_process: keepalived's matching rules (comm, argv[0], exact / partial / initial
// arguments), quorum, fork/terminate delays with a manual clock, and real processes read from
// /proc (a copy of sleep under a distinctive name, and a sleep whose argv[0] is set), with their
// CPU / RSS from pidusage. Every process a test starts is killed by it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/log.js';
import {
  hasQuorum, initialQuorumState, matchesProcess, ProcessTracker, quorumStep, readProcs, readProcsYielding,
  type ProcEntry, type ProcessMatchSpec, type QuorumDelayState,
} from '../../src/track/processTracker.js';

const quiet = createLogger({ write: () => undefined });

describe('matchesProcess', () => {
  const p = (comm: string | null, argv: string[] | null): ProcEntry => ({ pid: 1, comm, argv });
  const spec = (o: Partial<ProcessMatchSpec>): ProcessMatchSpec => ({ process: 'haproxy', args: undefined, paramMatch: 'none', fullCommand: false, ...o });
  const table: Array<[string, ProcessMatchSpec, ProcEntry, boolean]> = [
    ['comm equal', spec({}), p('haproxy', null), true],
    ['comm is exact, not a pattern (pgrep would match)', spec({}), p('haproxy-wi', null), false],
    ['a zombie does not count', spec({}), p(null, null), false],
    ['comm mode ignores the command line', spec({}), p('haproxy', ['/usr/sbin/other']), true],
    ['full_command: argv[0] equal', spec({ fullCommand: true, process: '/usr/sbin/haproxy' }), p('haproxy', ['/usr/sbin/haproxy', '-f', 'x']), true],
    ['full_command: argv[0] differs', spec({ fullCommand: true }), p('haproxy', ['/usr/sbin/haproxy']), false],
    ['full_command without a command line', spec({ fullCommand: true }), p('haproxy', null), false],
    ['exact: same args', spec({ fullCommand: true, paramMatch: 'exact', args: ['-f', '/etc/h.cfg'] }), p('x', ['haproxy', '-f', '/etc/h.cfg']), true],
    ['exact: one more arg', spec({ fullCommand: true, paramMatch: 'exact', args: ['-f', '/etc/h.cfg'] }), p('x', ['haproxy', '-f', '/etc/h.cfg', '-D']), false],
    ['exact: one fewer arg', spec({ fullCommand: true, paramMatch: 'exact', args: ['-f', '/etc/h.cfg'] }), p('x', ['haproxy', '-f']), false],
    ['exact without args: no args wanted', spec({ fullCommand: true, paramMatch: 'exact', args: undefined }), p('x', ['haproxy']), true],
    ['exact without args: args present', spec({ fullCommand: true, paramMatch: 'exact', args: undefined }), p('x', ['haproxy', '-D']), false],
    ['partial: leading args equal, more allowed', spec({ fullCommand: true, paramMatch: 'partial', args: ['-f'] }), p('x', ['haproxy', '-f', 'y']), true],
    ['partial: a prefix of an arg is not enough', spec({ fullCommand: true, paramMatch: 'partial', args: ['-f', '/etc/h'] }), p('x', ['haproxy', '-f', '/etc/h.cfg']), false],
    ['initial: the last arg may be a prefix', spec({ fullCommand: true, paramMatch: 'initial', args: ['-f', '/etc/h'] }), p('x', ['haproxy', '-f', '/etc/h.cfg', '-D']), true],
    ['initial: earlier args must be equal', spec({ fullCommand: true, paramMatch: 'initial', args: ['-', '/etc/h'] }), p('x', ['haproxy', '-f', '/etc/h.cfg']), false],
    ['initial: too few args', spec({ fullCommand: true, paramMatch: 'initial', args: ['-f', 'x'] }), p('x', ['haproxy', '-f']), false],
  ];
  for (const [why, s, proc, want] of table) it(why, () => assert.equal(matchesProcess(s, proc), want));
});

describe('quorum', () => {
  it('quorum <= count <= quorum_max', () => {
    assert.equal(hasQuorum(0, 1, Infinity), false);
    assert.equal(hasQuorum(1, 1, Infinity), true);
    assert.equal(hasQuorum(5, 2, 4), false);
    assert.equal(hasQuorum(0, 0, 0), true, 'quorum_max 0: up while none runs');
    assert.equal(hasQuorum(1, 0, 0), false);
  });

  it('fork_delay / terminate_delay hold a change for that long, and a flap back cancels it (manual clock)', () => {
    const cfg = { forkDelayMs: 500, terminateDelayMs: 2000 };
    let st: QuorumDelayState = initialQuorumState;
    const feed = (raw: boolean, now: number) => { const r = quorumStep(cfg, st, raw, now); st = r.state; return [st.reported, r.changed]; };
    assert.deepEqual(feed(true, 0), [true, true], 'the first scan reports at once');
    assert.deepEqual(feed(false, 100), [true, false], 'lost: held for terminate_delay');
    assert.deepEqual(st.pending, { up: false, at: 2100 });
    assert.deepEqual(feed(false, 1000), [true, false], 'still held; the deadline does not move');
    assert.deepEqual(st.pending, { up: false, at: 2100 });
    assert.deepEqual(feed(true, 1500), [true, false], 'back up in time: nothing is reported');
    assert.equal(st.pending, null);
    assert.deepEqual(feed(false, 3000), [true, false]);
    assert.deepEqual(feed(false, 5000), [false, true], 'lost after terminate_delay');
    assert.deepEqual(feed(true, 5100), [false, false], 'gained: held for fork_delay');
    assert.deepEqual(feed(true, 5600), [true, true]);
    const noDelay = quorumStep({ forkDelayMs: 0, terminateDelayMs: 0 }, { reported: true, pending: null }, false, 7);
    assert.deepEqual(noDelay, { state: { reported: false, pending: null }, changed: true });
  });
});

describe('real processes from /proc', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tandem-proc-')); });
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  /** A copy of sleep under a name no other process has: its comm is that name. */
  const uniqueSleep = () => {
    const name = `tdm${randomBytes(5).toString('hex')}`; // 13 characters: within comm's 15
    const path = join(dir, name);
    copyFileSync('/bin/sleep', path);
    return { name, path };
  };
  const start = (file: string, args: string[], argv0?: string) => {
    const c = spawn(file, args, { stdio: 'ignore', ...(argv0 ? { argv0 } : {}) });
    children.push(c);
    return c;
  };
  const stopChild = async (c: ChildProcess) => {
    c.kill('SIGKILL');
    if (c.exitCode === null && c.signalCode === null) await new Promise((r) => c.once('exit', r));
  };

  it('counts processes by comm and by argv, and drops them when they die', async () => {
    const s = uniqueSleep();
    const a = start(s.path, ['30']);
    const b = start(s.path, ['31']);
    const marker = `tandem-test-${randomBytes(4).toString('hex')}`;
    const c = start('/bin/sleep', ['32'], marker);
    try {
      const byComm = { process: s.name, args: undefined, paramMatch: 'none' as const, fullCommand: false };
      const byArgv = { process: marker, args: ['32'], paramMatch: 'exact' as const, fullCommand: true };
      const procs = readProcs({ comm: true, cmdline: true });
      assert.deepEqual(procs.filter((p) => matchesProcess(byComm, p)).map((p) => p.pid).sort(), [a.pid, b.pid].sort());
      assert.deepEqual(procs.filter((p) => matchesProcess(byArgv, p)).map((p) => p.pid), [c.pid]);
      const yielded = await readProcsYielding({ comm: true, cmdline: true });
      assert.equal(yielded.filter((p) => matchesProcess(byComm, p)).length, 2, 'the batched scan sees the same');
      await stopChild(a);
      assert.deepEqual(readProcs({ comm: true, cmdline: false }).filter((p) => matchesProcess(byComm, p)).map((p) => p.pid), [b.pid]);
    } finally {
      for (const x of [a, b, c]) await stopChild(x);
    }
  });

  it('a ProcessTracker reports quorum changes and the matched processes\' CPU and RSS', async () => {
    const s = uniqueSleep();
    const changes: boolean[] = [];
    const t = new ProcessTracker(
      { name: 'sl', process: s.name, args: undefined, paramMatch: 'none', fullCommand: false, quorum: 2, quorumMax: 3, forkDelayMs: 0, terminateDelayMs: 0 },
      { log: quiet, onChange: (up) => changes.push(up), now: () => performance.now(), usageSampleMs: 0 },
    );
    const scan = () => t.update(readProcs({ comm: true, cmdline: false }));
    const kids: ChildProcess[] = [];
    try {
      scan();
      assert.equal(t.up, false);
      kids.push(start(s.path, ['30']));
      scan();
      assert.equal(t.up, false, 'one is below quorum 2');
      kids.push(start(s.path, ['30']));
      scan();
      assert.equal(t.up, true);
      kids.push(start(s.path, ['30']), start(s.path, ['30']));
      scan();
      assert.equal(t.up, false, 'four is above quorum_max 3');
      await stopChild(kids.pop()!);
      scan();
      assert.equal(t.up, true);
      assert.deepEqual(changes, [false, true, false, true]);
      assert.deepEqual(t.snapshot().pids.sort(), kids.map((k) => k.pid).sort());
      const end = Date.now() + 3000;
      while (t.snapshot().usage === null && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      const usage = t.snapshot().usage;
      assert.ok(usage, 'pidusage sampled the matched processes');
      assert.ok(usage.rssBytes > 3 * 100_000, `RSS of three sleeps: ${usage.rssBytes}`);
      assert.ok(usage.cpuPercent >= 0 && usage.cpuPercent < 50, `sleep uses no CPU: ${usage.cpuPercent}`);
    } finally {
      t.stop();
      for (const k of kids) await stopChild(k);
    }
  });
});
