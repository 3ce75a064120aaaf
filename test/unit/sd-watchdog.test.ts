// The systemd watchdog (src/daemon/sdNotify.ts watchdog(), sd_watchdog_enabled(3)): WATCHDOG=1
// every WATCHDOG_USEC / 2 on the daemon's timers, one at start, none once stopped, none when the
// service manager did not ask (or asked another process); after a stall the next ping is a full
// interval later. All on a manual clock.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { createSystemdNotifier, watchdogUsecFromEnv } from '../../src/daemon/sdNotify.js';
import type { Timers } from '../../src/timers.js';
import { ManualTimers } from '../lib/manualTimers.js';

function rig(watchdogUsec: number | null) {
  const timers = new ManualTimers(0);
  const sent: Array<{ at: number; state: string }> = [];
  const n = createSystemdNotifier(createLogger({ write: () => undefined }), (state) => { sent.push({ at: timers.now(), state }); return true; },
    { timers, watchdogUsec });
  const pings = () => sent.filter((s) => s.state === 'WATCHDOG=1').map((s) => s.at);
  return { timers, n, sent, pings };
}

describe('systemd watchdog', () => {
  it('WATCHDOG=1 at start and every WATCHDOG_USEC / 2 after, and none once stopped', () => {
    const r = rig(3_000_000);
    const w = r.n.watchdog();
    assert.equal(w.intervalMs, 1500);
    r.timers.advance(6000);
    assert.deepEqual(r.pings(), [0, 1500, 3000, 4500, 6000]);
    w.stop();
    w.stop();
    r.timers.advance(10_000);
    assert.deepEqual(r.pings(), [0, 1500, 3000, 4500, 6000]);
    assert.equal(r.timers.size, 0, 'no timer left to keep the process alive');
  });

  it('a stall longer than the interval: one ping when the loop runs again, the next a full interval later (no burst)', () => {
    const timers = new ManualTimers(0);
    const pings: number[] = [];
    // The loop is busy when the first ping falls due (at 500): its timeout runs 1700 ms late.
    let lag = 1700;
    const busy: Timers = {
      now: () => timers.now(), wallNow: () => timers.wallNow(), setImmediate: (fn) => timers.setImmediate(fn), clear: (h) => timers.clear(h),
      setTimeout: (fn, ms) => { const late = lag; lag = 0; return timers.setTimeout(fn, ms + late); },
    };
    const n = createSystemdNotifier(createLogger({ write: () => undefined }), (s) => { if (s === 'WATCHDOG=1') pings.push(timers.now()); return true; },
      { timers: busy, watchdogUsec: 1_000_000 });
    n.watchdog();
    timers.advance(4000);
    assert.deepEqual(pings, [0, 2200, 2700, 3200, 3700]);
  });

  it('does nothing when the service manager did not ask, or without timers', () => {
    const r = rig(null);
    const w = r.n.watchdog();
    assert.equal(w.intervalMs, null);
    r.timers.advance(60_000);
    assert.deepEqual(r.sent, []);
    w.stop();
    const sent: string[] = [];
    const noTimers = createSystemdNotifier(createLogger({ write: () => undefined }), (s) => { sent.push(s); return true; }, { watchdogUsec: 1_000_000 });
    assert.equal(noTimers.watchdog().intervalMs, null);
    assert.deepEqual(sent, []);
  });

  it('watchdogUsecFromEnv: sd_watchdog_enabled(3)\'s rule', () => {
    assert.equal(watchdogUsecFromEnv({ WATCHDOG_USEC: '5000000' }, 42), 5_000_000);
    assert.equal(watchdogUsecFromEnv({ WATCHDOG_USEC: '5000000', WATCHDOG_PID: '42' }, 42), 5_000_000);
    assert.equal(watchdogUsecFromEnv({ WATCHDOG_USEC: '5000000', WATCHDOG_PID: '43' }, 42), null, 'meant for another process (a parent)');
    assert.equal(watchdogUsecFromEnv({ WATCHDOG_USEC: '5000000', WATCHDOG_PID: 'x' }, 42), null);
    assert.equal(watchdogUsecFromEnv({}, 42), null);
    for (const bad of ['', '0', '-5', '1.5', '5e6', ' 5000000', '99999999999999999999']) {
      assert.equal(watchdogUsecFromEnv({ WATCHDOG_USEC: bad }, 42), null, `WATCHDOG_USEC=${JSON.stringify(bad)}`);
    }
  });
});
