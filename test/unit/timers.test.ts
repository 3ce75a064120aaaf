// Timers (src/timers.ts): the manual implementation every unit test drives, and the system one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSystemTimers } from '../../src/timers.js';
import { ManualTimers } from '../lib/manualTimers.js';

describe('ManualTimers', () => {
  it('runs timeouts in deadline order at their due time, only when advanced', () => {
    const t = new ManualTimers(1000);
    const seen: Array<[string, number]> = [];
    t.setTimeout(() => seen.push(['b', t.now()]), 20);
    t.setTimeout(() => seen.push(['a', t.now()]), 10);
    const c = t.setTimeout(() => seen.push(['c', t.now()]), 15);
    t.clear(c);
    assert.deepEqual(seen, []);
    t.advance(9);
    assert.deepEqual(seen, []);
    t.advance(11);
    assert.deepEqual(seen, [['a', 1010], ['b', 1020]]);
    assert.equal(t.now(), 1020);
    assert.equal(t.size, 0);
  });

  it('callbacks that set timers inside the window run too; immediates run at the current time', () => {
    const t = new ManualTimers();
    const seen: number[] = [];
    t.setTimeout(() => { seen.push(t.now()); t.setTimeout(() => seen.push(t.now()), 5); t.setImmediate(() => seen.push(-t.now())); }, 10);
    t.advance(100);
    assert.deepEqual(seen, [10, -10, 15]);
    assert.equal(t.nextAt(), null);
    assert.equal(t.step(), false);
  });

  it('a timer that re-arms itself at zero delay fails the advance instead of hanging', () => {
    const t = new ManualTimers();
    const loop = () => { t.setTimeout(loop, 0); };
    loop();
    assert.throws(() => t.advance(1), /more than 100,000 callbacks/);
  });

  it('wallNow follows the monotonic clock from its start', () => {
    const t = new ManualTimers(0, 1_000_000);
    t.advance(250);
    assert.equal(t.wallNow(), 1_000_250);
  });
});

describe('createSystemTimers', () => {
  it('fires a timeout and an immediate, and a cleared one never', async () => {
    const t = createSystemTimers();
    const wallBefore = Date.now();
    const seen: string[] = [];
    const gone = t.setTimeout(() => seen.push('cleared'), 0);
    t.clear(gone);
    t.clear(undefined);
    await new Promise<void>((resolve) => {
      t.setImmediate(() => seen.push('immediate'));
      t.setTimeout(() => { seen.push('timeout'); resolve(); }, 1);
    });
    assert.deepEqual(seen, ['immediate', 'timeout']);
    const wall = t.wallNow();
    assert.ok(wall >= wallBefore && wall <= Date.now(), 'wallNow is the wall clock');
  });
});
