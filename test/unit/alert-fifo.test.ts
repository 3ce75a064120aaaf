// notify_fifo with a real named pipe and a real reader (`cat`): lines arrive in order; opening and
// writing never wait for a reader; with no reader the pipe fills, a bounded backlog keeps the
// newest lines, every dropped line is counted, and a reader that comes later gets the rest in
// order ending with the latest line. Things at the path that are not our FIFO are refused. The
// backlog's retry timer runs on a manual clock (test/lib/manualTimers.ts): the pipe and the reader
// are real, time is not.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { NotifyFifo } from '../../src/alert/fifo.js';
import { createLogger } from '../../src/log.js';
import { ScriptDir, waitFor } from '../lib/scripts.js';
import { ManualTimers } from '../lib/manualTimers.js';

const quiet = createLogger({ write: () => {} });
const timers = new ManualTimers();
/** The backlog's retries, run by moving the manual clock while a real reader drains the pipe. */
const retrying = (cond: () => boolean) => () => { timers.advance(500); return cond(); };

/** `cat FIFO`, collecting what it reads until it exits. */
function reader(path: string): { child: ChildProcess; text: () => string; exited: Promise<void> } {
  const child = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => chunks.push(b));
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  return { child, text: () => Buffer.concat(chunks).toString('utf8'), exited };
}

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  assert.equal(r.status, 0, 'mkfifo (coreutils) is needed');
}

describe('alert notify_fifo (real FIFO, real reader)', () => {
  let d: ScriptDir;
  const children: ChildProcess[] = [];
  before(() => { d = new ScriptDir('tandem-fifo-'); });
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    d.remove();
  });

  it('creates the FIFO, writes keepalived lines in order to a reader, removes the FIFO at close', async () => {
    const path = d.path('notify.fifo');
    const o = NotifyFifo.open(path, quiet, timers);
    assert.ok(o.ok, o.ok ? '' : o.message);
    assert.ok(lstatSync(path).isFIFO());
    const rd = reader(path);
    children.push(rd.child);
    const f = o.fifo;
    f.handle({ type: 'vrrp_instance', instance: 'VI_1', state: 'MASTER', previous: 'BACKUP', priority: 100, reason: 'master_down_timer', time: 0 });
    f.handle({ type: 'vrrp_group', group: 'G', state: 'BACKUP', previous: 'MASTER', reason: 'sync_group', time: 0 });
    for (let n = 0; n < 200; n++) f.writeLine(`LINE ${n}`);
    assert.ok(await waitFor(retrying(() => rd.text().includes('LINE 199\n')), 5000), 'the reader got every line');
    f.close();
    await rd.exited;
    const lines = rd.text().trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 2), ['INSTANCE "VI_1" MASTER 100', 'GROUP "G" BACKUP 0']);
    assert.deepEqual(lines.slice(2), Array.from({ length: 200 }, (_, n) => `LINE ${n}`));
    assert.deepEqual(f.counters(), { written: 202, dropped: 0, backlog: 0 });
    assert.equal(existsSync(path), false, 'the FIFO tandem created is removed');
  });

  it('no reader: open and writes never block; the backlog keeps the newest lines; a late reader gets them in order', async () => {
    const path = d.path('slow.fifo');
    const o = NotifyFifo.open(path, quiet, timers, { backlogLines: 1024 });
    assert.ok(o.ok);
    const f = o.fifo;
    const total = 5000;
    let maxBacklog = 0;
    for (let n = 0; n < total; n++) {
      f.writeLine(`LINE ${String(n).padStart(5, '0')} ${'x'.repeat(50)}`);
      maxBacklog = Math.max(maxBacklog, f.counters().backlog);
    }
    // Never blocks: every write returned with the clock unmoved, and what could not be written
    // waits behind one retry timer (no busy loop of retries).
    assert.equal(timers.size, 1, 'one retry timer armed');
    const before = f.counters();
    assert.equal(maxBacklog, 1024, 'the backlog filled to its bound and no further');
    assert.ok(before.dropped > 0, 'lines beyond pipe + backlog were dropped');
    assert.equal(before.written + before.backlog + before.dropped, total);

    const rd = reader(path);
    children.push(rd.child);
    assert.ok(await waitFor(retrying(() => f.counters().backlog === 0), 10000), 'the backlog drained once a reader came');
    f.close();
    await rd.exited;
    const got = rd.text().trimEnd().split('\n').map((l) => Number(l.split(' ')[1]));
    const c = f.counters();
    assert.equal(got.length, c.written);
    assert.equal(c.written + c.dropped, total, 'every line is either delivered or counted as dropped');
    for (let i = 1; i < got.length; i++) assert.ok(got[i]! > got[i - 1]!, `in order at ${i}`);
    assert.equal(got[got.length - 1], total - 1, 'the latest line got through');
    // The dropped lines are one run in the middle: the oldest backlog lines, not the newest.
    assert.equal(got[got.length - 1024], total - 1024, 'the newest 1024 lines all arrived');
  });

  it('an existing FIFO is used and left in place', async () => {
    const path = d.path('existing.fifo');
    mkfifo(path);
    const o = NotifyFifo.open(path, quiet, timers);
    assert.ok(o.ok);
    const rd = reader(path);
    children.push(rd.child);
    o.fifo.writeLine('VS [192.0.2.10]:tcp:80 UP');
    assert.ok(await waitFor(() => rd.text() === 'VS [192.0.2.10]:tcp:80 UP\n', 5000));
    o.fifo.close();
    await rd.exited;
    assert.ok(lstatSync(path).isFIFO(), 'not removed: tandem did not create it');
  });

  it('refuses a regular file, a symlink, and a FIFO owned by someone else', () => {
    const file = d.path('plain');
    writeFileSync(file, 'keep me\n');
    const a = NotifyFifo.open(file, quiet, timers);
    assert.equal(a.ok, false);
    if (!a.ok) assert.equal(a.reason, 'not_a_fifo');
    assert.equal(readFileSync(file, 'utf8'), 'keep me\n', 'the file is untouched');

    const target = d.path('target.fifo');
    mkfifo(target);
    const link = d.path('link.fifo');
    symlinkSync(target, link);
    const b = NotifyFifo.open(link, quiet, timers);
    assert.equal(b.ok, false);
    if (!b.ok) assert.equal(b.reason, 'open_failed', 'O_NOFOLLOW: a planted symlink is not followed');

    const theirs = d.path('theirs.fifo');
    mkfifo(theirs);
    chownSync(theirs, 1000, 1000);
    const c = NotifyFifo.open(theirs, quiet, timers);
    assert.equal(c.ok, false);
    if (!c.ok) assert.equal(c.reason, 'not_owned');
    assert.ok(existsSync(theirs), 'not removed: not ours');
  });

  it('a FIFO in a missing directory: mkfifo_failed', () => {
    const r = NotifyFifo.open(d.path('no/such/dir/x.fifo'), quiet, timers);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.reason, 'mkfifo_failed');
  });
});
