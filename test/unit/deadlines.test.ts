// DeadlineQueue: many deadlines under one timer. A manual clock (test/lib/manualTimers.ts) decides
// what is due and runs the queue's single timer; no test sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineQueue, type DeadlineOwner } from '../../src/check/deadlines.js';
import type { Timers } from '../../src/timers.js';
import { ManualTimers } from '../lib/manualTimers.js';

class Owner implements DeadlineOwner {
  dueAt: number | null = null;
  fired: number[] = [];
  constructor(private readonly clock: Timers, readonly onFire?: () => void) {}
  onDue(): void { this.fired.push(this.clock.now()); this.onFire?.(); }
}

test('owners fire once, in deadline order, only when due; replaced and cancelled deadlines do not fire', () => {
  const clock = new ManualTimers();
  const q = new DeadlineQueue<Owner>(clock);
  const order: string[] = [];
  const a = new Owner(clock, () => order.push('a'));
  const b = new Owner(clock, () => order.push('b'));
  const c = new Owner(clock, () => order.push('c'));
  const d = new Owner(clock, () => order.push('d'));
  q.set(a, 30);
  q.set(b, 10);
  q.set(c, 20);
  q.set(d, 5);
  q.set(b, 40); // replaced: the entry at 10 is stale
  q.set(d, null); // cancelled
  assert.equal(q.size, 3);
  clock.advance(25);
  assert.deepEqual(order, ['c']);
  assert.deepEqual(c.fired, [20], 'at its deadline');
  clock.advance(75);
  assert.deepEqual(order, ['c', 'a', 'b']);
  assert.deepEqual([a.fired, b.fired], [[30], [40]]);
  assert.deepEqual([a.dueAt, b.dueAt, c.dueAt, d.dueAt], [null, null, null, null]);
  assert.equal(q.size, 0);
  assert.equal(clock.size, 0, 'no timer left armed');
  clock.advance(1000);
  assert.deepEqual(order, ['c', 'a', 'b'], 'nothing fires twice');
});

test('an owner re-arming from onDue is run again at its new deadline, not in the same pass', () => {
  const manual = new ManualTimers();
  // Each wakeup of the queue's timer is one pass: number them.
  let pass = 0;
  const clock: Timers = {
    now: () => manual.now(), wallNow: () => manual.wallNow(), clear: (h) => manual.clear(h),
    setImmediate: (fn) => manual.setImmediate(() => { pass++; fn(); }),
    setTimeout: (fn, ms) => manual.setTimeout(() => { pass++; fn(); }, ms),
  };
  const q = new DeadlineQueue<Owner>(clock);
  let inPass = -1;
  let samePass = 0;
  const o: Owner = new Owner(clock, () => {
    if (inPass === pass) samePass++;
    inPass = pass;
    if (o.fired.length < 3) q.set(o, clock.now()); // due at once, again
  });
  q.set(o, 0);
  for (let i = 0; i < 20 && o.fired.length < 3; i++) manual.step();
  assert.equal(o.fired.length, 3);
  assert.equal(samePass, 0, 'a deadline at "now" set while firing waits for the next wakeup');
  assert.equal(q.size, 0);
});

test('heap order holds for thousands of random deadlines; stale entries are rebuilt away', () => {
  const clock = new ManualTimers();
  const q = new DeadlineQueue<Owner>(clock);
  const fireOrder: number[] = [];
  const armedAt = new Map<Owner, number>();
  const owners = Array.from({ length: 2000 }, () => {
    const o: Owner = new Owner(clock, () => fireOrder.push(armedAt.get(o)!));
    return o;
  });
  let seed = 7;
  const rand = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
  // Re-arm every owner several times: most entries become stale.
  for (let round = 0; round < 5; round++) for (const o of owners) q.set(o, Math.floor(rand() * 1000) + 1);
  assert.equal(q.size, owners.length);
  for (const o of owners) armedAt.set(o, o.dueAt!);
  clock.advance(2000);
  assert.equal(fireOrder.length, owners.length, 'every owner fired exactly once');
  assert.deepEqual(fireOrder, [...armedAt.values()].sort((x, y) => x - y), 'in deadline order');
});

test('clear() cancels everything and leaves no timer behind', () => {
  const clock = new ManualTimers();
  const q = new DeadlineQueue<Owner>(clock);
  const a = new Owner(clock);
  q.set(a, 1);
  q.clear();
  assert.equal(clock.size, 0, 'the timer is cleared');
  clock.advance(10);
  assert.deepEqual(a.fired, []);
  assert.equal(a.dueAt, null);
  assert.equal(q.size, 0);
});
