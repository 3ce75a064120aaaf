// The per-key ordered runner: one key's jobs run one at a time in enqueue order; keys run side by
// side; enqueue never runs a job itself; a full key drops its OLDEST pending job (the latest event
// always runs); close() drops what has not started. A job's start (the runner's next turn) is on
// a manual clock (test/lib/manualTimers.ts): the test says when it comes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OrderedRunner } from '../../src/alert/orderedRunner.js';
import { ManualTimers } from '../lib/manualTimers.js';

/** A job that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => { open = r; });
  return { p, open };
}
const timers = new ManualTimers();
/** The runner's next turn: the starts it scheduled run, then the jobs' promises settle. */
const tick = async () => { timers.flush(); await new Promise((r) => setImmediate(r)); };
/** Runs turns until the runner is idle. */
async function idle(r: OrderedRunner<unknown>): Promise<void> {
  let done = false;
  const p = r.idle().then(() => { done = true; });
  while (!done) await tick();
  await p;
}

describe('alert ordered runner', () => {
  it('runs one key strictly in order, one job at a time', async () => {
    const log: string[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    const r = new OrderedRunner<number>(async (_k, n) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      log.push(`start ${n}`);
      // Later jobs finish faster: an unordered runner would interleave them.
      await new Promise((res) => setTimeout(res, (10 - n) * 2));
      log.push(`end ${n}`);
      concurrent--;
    }, { timers });
    for (let n = 0; n < 10; n++) r.enqueue('instance VI_1', n);
    await idle(r as OrderedRunner<unknown>);
    assert.equal(maxConcurrent, 1);
    assert.deepEqual(log, Array.from({ length: 10 }, (_, n) => [`start ${n}`, `end ${n}`]).flat());
    assert.deepEqual(r.stats(), { keys: 0, pending: 0, running: 0, dropped: 0 });
  });

  it('different keys run concurrently: a stuck key does not hold back another', async () => {
    const stuck = gate();
    const done: string[] = [];
    const r = new OrderedRunner<string>(async (k, v) => {
      if (k === 'a' && v === 'a1') await stuck.p;
      done.push(v);
    }, { timers });
    r.enqueue('a', 'a1');
    r.enqueue('a', 'a2');
    r.enqueue('b', 'b1');
    r.enqueue('b', 'b2');
    for (let i = 0; i < 10 && done.length < 2; i++) await tick();
    assert.deepEqual(done, ['b1', 'b2'], 'key b ran while key a was stuck');
    assert.deepEqual(r.stats(), { keys: 1, pending: 1, running: 1, dropped: 0 });
    stuck.open();
    await idle(r as OrderedRunner<unknown>);
    assert.deepEqual(done, ['b1', 'b2', 'a1', 'a2']);
  });

  it('enqueue returns before any job starts (the caller is never blocked)', async () => {
    const started: number[] = [];
    const r = new OrderedRunner<number>(async (_k, n) => { started.push(n); }, { timers });
    r.enqueue('k', 1);
    assert.deepEqual(started, [], 'nothing ran inside enqueue');
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(started, [], 'nor before the runner\'s next turn');
    await idle(r as OrderedRunner<unknown>);
    assert.deepEqual(started, [1]);
  });

  it('a full key drops its oldest pending job, keeps the newest, and reports each drop', async () => {
    const stuck = gate();
    const ran: number[] = [];
    const drops: Array<[string, number, string]> = [];
    const r = new OrderedRunner<number>(async (_k, n) => {
      if (n === 0) await stuck.p;
      ran.push(n);
    }, { timers, capacityPerKey: 4, onDrop: (k, n, cause) => drops.push([k, n, cause]) });
    r.enqueue('k', 0);
    await tick(); // job 0 starts and blocks
    for (let n = 1; n <= 10; n++) r.enqueue('k', n);
    assert.equal(r.stats().pending, 4);
    assert.equal(r.stats().dropped, 6);
    stuck.open();
    await idle(r as OrderedRunner<unknown>);
    assert.deepEqual(ran, [0, 7, 8, 9, 10], 'the running job, then the 4 newest, in order');
    assert.deepEqual(drops, [1, 2, 3, 4, 5, 6].map((n) => ['k', n, 'overflow']));
  });

  it('a job that throws is reported and the key goes on', async () => {
    const errors: string[] = [];
    const ran: number[] = [];
    const r = new OrderedRunner<number>(async (_k, n) => {
      if (n === 1) throw new Error('boom');
      ran.push(n);
    }, { timers, onError: (_k, n, e) => errors.push(`${n}: ${(e as Error).message}`) });
    [1, 2].forEach((n) => r.enqueue('k', n));
    await idle(r as OrderedRunner<unknown>);
    assert.deepEqual(ran, [2]);
    assert.deepEqual(errors, ['1: boom']);
  });

  it('close drops pending jobs, lets the running one finish, and refuses new ones', async () => {
    const stuck = gate();
    const ran: number[] = [];
    const drops: Array<[number, string]> = [];
    const r = new OrderedRunner<number>(async (_k, n) => {
      if (n === 0) await stuck.p;
      ran.push(n);
    }, { timers, onDrop: (_k, n, cause) => drops.push([n, cause]) });
    r.enqueue('k', 0);
    await tick();
    r.enqueue('k', 1);
    r.enqueue('j', 2);
    assert.equal(r.close(), 2);
    assert.equal(r.enqueue('k', 3), false);
    stuck.open();
    await idle(r as OrderedRunner<unknown>);
    assert.deepEqual(ran, [0]);
    assert.deepEqual(drops.sort(), [[1, 'closed'], [2, 'closed'], [3, 'closed']]);
  });

  it('enqueue does constant work: 100,000 jobs on 1,000 keys arm one start per key and run nothing', async () => {
    // How fast is a benchmark's question (bench/alerts.ts); here: enqueue neither runs a job nor
    // arms a timer per job, and the bounded queues hold exactly their capacity.
    let ran = 0;
    const before = timers.size;
    const r = new OrderedRunner<number>(async () => { ran++; }, { timers, capacityPerKey: 64 });
    for (let n = 0; n < 100_000; n++) r.enqueue(`k${n % 1000}`, n);
    assert.equal(ran, 0);
    assert.equal(timers.size - before, 1000, 'one scheduled start per idle key');
    assert.equal(r.stats().pending, 64_000);
    assert.equal(r.stats().dropped, 36_000);
    r.close();
    await idle(r as OrderedRunner<unknown>);
  });
});
