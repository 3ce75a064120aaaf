// The event-loop delay figures (src/api/loopDelay.ts): window arithmetic with a scripted histogram
// and a manual clock, their summary in /metrics, and their line in `tandem status`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LoopDelayWindow, type DelayHistogram } from '../../src/api/loopDelay.js';
import { renderMetrics } from '../../src/api/metrics.js';
import { renderStatusTable } from '../../src/api/statusCli.js';
import type { DaemonStatus } from '../../src/api/status.js';

/** A histogram of recorded delays (ns), answering as perf_hooks' does (nearest rank). */
class ScriptedHistogram implements DelayHistogram {
  private v: number[] = [];
  record(...ns: number[]): void { this.v.push(...ns); }
  percentile(p: number): number {
    const s = [...this.v].sort((a, b) => a - b);
    return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
  }
  get max(): number { return this.v.length ? Math.max(...this.v) : 0; }
  get mean(): number { return this.v.length ? this.v.reduce((a, b) => a + b, 0) / this.v.length : NaN; }
  get count(): number { return this.v.length; }
  reset(): void { this.v = []; }
}

const ms = (x: number) => x * 1e6;

describe('event loop delay window', () => {
  it('reports the part of the first window seen so far', () => {
    let t = 1000;
    const h = new ScriptedHistogram();
    const w = new LoopDelayWindow(h, () => t);
    h.record(ms(10), ms(10), ms(10), ms(80));
    t += 5000;
    const r = w.read();
    assert.deepEqual(r, { window_s: 5, p50_ms: 10, p99_ms: 80, max_ms: 80, count: 4, sum_s: 0.11 });
  });

  it('after a rotation reports the last full window, and keeps count and sum since start', () => {
    let t = 0;
    const h = new ScriptedHistogram();
    const w = new LoopDelayWindow(h, () => t);
    h.record(ms(200), ms(200));
    t = 60_000;
    w.rotate();
    h.record(ms(1), ms(1), ms(3));
    t = 90_000;
    // The quiet minute's figures are not mixed into the one that had a 200 ms stall ...
    assert.deepEqual({ ...w.read(), sum_s: Math.round(w.read().sum_s * 1e6) / 1e6 },
      { window_s: 60, p50_ms: 200, p99_ms: 200, max_ms: 200, count: 5, sum_s: 0.405 });
    t = 120_000;
    w.rotate();
    // ... and the next full window replaces them.
    const r = w.read();
    assert.equal(r.window_s, 60);
    assert.equal(r.p50_ms, 1);
    assert.equal(r.max_ms, 3);
    assert.equal(r.count, 5);
  });

  it('takes the sampling interval off every sample: an idle loop reads 0, a 40 ms stall 40', () => {
    const h = new ScriptedHistogram();
    const w = new LoopDelayWindow(h, () => 0, ms(10));
    // perf_hooks records the time between two runs of its 10 ms timer.
    h.record(ms(10), ms(10), ms(10.5), ms(50));
    const r = w.read();
    assert.equal(r.p50_ms, 0);
    assert.equal(r.max_ms, 40);
    assert.equal(r.count, 4);
    assert.ok(Math.abs(r.sum_s - 0.0405) < 1e-9, String(r.sum_s));
  });

  it('an empty window reports zeros, not NaN', () => {
    const h = new ScriptedHistogram();
    const w = new LoopDelayWindow(h, () => 0);
    w.rotate();
    assert.deepEqual(w.read(), { window_s: 0, p50_ms: 0, p99_ms: 0, max_ms: 0, count: 0, sum_s: 0 });
  });
});

function status(withLoop: boolean): DaemonStatus {
  return {
    pid: 1, version: '0.1.0', router_id: 'lb1', hostname: 'lb1', started_at: '2026-01-02T02:00:00.000Z',
    instances: [], rx: { accepted: 0, drops: {} }, lb: null,
    trackers: { scripts: [], files: [], processes: [] },
    alerts: { scripts: { run: 0, failed: 0, timed_out: 0, dropped: 0, keys: 0, pending: 0, running: 0 }, notify_fifo: null, webhooks: [], mail: null },
    ...(withLoop ? { event_loop: { delay: { window_s: 60, p50_ms: 1.5, p99_ms: 34, max_ms: 151, count: 6000, sum_s: 12.5 } } } : {}),
  };
}

describe('event loop delay in metrics and status', () => {
  const proc = { cpuSeconds: 1, residentBytes: 1, startTimeSeconds: 1, openFds: null };

  it('is a Prometheus summary in seconds plus a max gauge', () => {
    const text = renderMetrics(status(true), proc);
    assert.match(text, /^# TYPE tandem_event_loop_delay_seconds summary$/m);
    assert.match(text, /^tandem_event_loop_delay_seconds\{quantile="0.5"\} 0.0015$/m);
    assert.match(text, /^tandem_event_loop_delay_seconds\{quantile="0.99"\} 0.034$/m);
    assert.match(text, /^tandem_event_loop_delay_seconds_sum 12.5$/m);
    assert.match(text, /^tandem_event_loop_delay_seconds_count 6000$/m);
    assert.match(text, /^tandem_event_loop_delay_max_seconds 0.151$/m);
  });

  it('is left out when the daemon has no monitor', () => {
    assert.doesNotMatch(renderMetrics(status(false), proc), /event_loop/);
  });

  it('has a line in tandem status', () => {
    const text = renderStatusTable(status(true), Date.parse('2026-01-02T03:00:00.000Z'));
    assert.match(text, /^event loop delay: p50 1.5 ms, p99 34 ms, max 151 ms \(last 60 s\)$/m);
  });
});
