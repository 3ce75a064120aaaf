// The daemon's precise machine timer (daemon/preciseTimer.ts over native/precise_timer.cc) on the
// real clock: it fires at its deadline and waiting costs no CPU (the timerfd sleeps in epoll;
// the old timer spun on setImmediate for the last 1 ms of every wait).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPreciseTimer, monotonicNow } from '../../src/daemon/preciseTimer.js';

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;

test('the precise timer fires at its deadline: error p90 < 2 ms, max < 25 ms over 200 arms, never early', { timeout: 30_000 }, async () => {
  const timer = createPreciseTimer(monotonicNow);
  const errors: number[] = [];
  for (let i = 0; i < 200; i++) {
    // 2..11.9 ms: whole and fractional milliseconds, where libuv's rounding would show.
    const at = monotonicNow() + 2 + ((i * 7.3) % 9.9);
    const firedAt = await new Promise<number>((resolve) => timer.arm(at, () => resolve(monotonicNow())));
    errors.push(firedAt - at);
  }
  const early = errors.filter((e) => e < 0);
  assert.deepEqual(early, [], 'fired before its deadline');
  // p90, not p99: on the shared 2-CPU test host at load ~4 the p99 is the scheduler's (the
  // process waits for a CPU after the wake-up), 2.7-12 ms for this timer and 4.3-5.5 ms for the
  // old spinning one in the same minutes; idle, both stay under 1 ms. The tail bound (max) still
  // catches a timer that rounds to the next millisecond or sleeps on a coarse clock.
  const text = `error p50 ${quantile(errors, 0.5).toFixed(3)} p90 ${quantile(errors, 0.9).toFixed(3)} p99 ${quantile(errors, 0.99).toFixed(3)} max ${Math.max(...errors).toFixed(3)} ms`;
  assert.ok(quantile(errors, 0.9) < 2 && Math.max(...errors) < 25, text);
});

test('waiting on the precise timer costs almost no CPU (no spin): 100 arms of 10 ms', { timeout: 30_000 }, async () => {
  const timer = createPreciseTimer(monotonicNow);
  const cpu0 = process.cpuUsage();
  const t0 = monotonicNow();
  for (let i = 0; i < 100; i++) {
    const at = monotonicNow() + 10;
    await new Promise<void>((resolve) => timer.arm(at, resolve));
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const wallMs = monotonicNow() - t0;
  // The old timer spun on setImmediate for the last 1 ms of every wait: ~100 ms of CPU here (and
  // ~1.3 ms per arm measured on this host); the timerfd sleeps in epoll: ~0.1 ms per arm.
  assert.ok(cpuMs < 40, `the process used ${cpuMs.toFixed(1)} ms of CPU in ${wallMs.toFixed(0)} ms of waiting`);
});

test('a cancelled or re-armed precise timer does not fire its old callback; a past deadline fires inside arm()', { timeout: 30_000 }, async () => {
  const timer = createPreciseTimer(monotonicNow);
  const fired: string[] = [];
  timer.arm(monotonicNow() + 5, () => fired.push('cancelled'));
  timer.cancel();
  timer.arm(monotonicNow() + 5, () => fired.push('replaced'));
  await new Promise<void>((resolve) => timer.arm(monotonicNow() + 10, () => { fired.push('kept'); resolve(); }));
  await new Promise((r) => setTimeout(r, 20));
  timer.arm(monotonicNow() - 1, () => fired.push('past'));
  assert.deepEqual(fired, ['kept', 'past']);
});
