// FakeTcpCheckEngine (test/lib/fakeTcpCheckEngine.ts) behaves as the TcpCheckEngine contract
// (src/net/tcpCheckEngine.ts) says, so scheduler tests built on it test against the real
// engine's semantics: quiet successes are suppressed and keep their phase, the first failure is
// reported and ends quiet mode, probeIn always reports once, replaced or removed probes never
// report. A manual clock moves time; nothing sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeTcpCheckEngine } from '../lib/fakeTcpCheckEngine.js';
import { ManualTimers } from '../lib/manualTimers.js';
import type { TcpCheckOutcome } from '../../src/net/tcpCheckEngine.js';

const SPEC = { family: 4 as const, address: '192.0.2.10', port: 80, timeoutMs: 300 };

function rig() {
  const clock = new ManualTimers();
  const batches: TcpCheckOutcome[][] = [];
  const engine = new FakeTcpCheckEngine(clock, (b) => batches.push([...b]));
  return { clock, batches, engine, reported: () => batches.flat() };
}

test('probeIn reports its one result after the delay, success and failure alike', () => {
  const { clock, engine, reported } = rig();
  engine.add(1, SPEC);
  engine.add(2, { ...SPEC, port: 81 });
  engine.answerId(2, { ok: false, reason: 'refused', afterMs: 2 });
  engine.probeIn(1, 50);
  engine.probeIn(2, 0);
  clock.advance(10);
  assert.deepEqual(reported(), [{ id: 2, ok: false, reason: 'refused', errno: 111, latencyUs: 2000 }]);
  clock.advance(39);
  assert.equal(reported().length, 1, 'not before its delay');
  clock.advance(1);
  assert.deepEqual(reported()[1], { id: 1, ok: true, latencyUs: 0 });
  clock.advance(10_000);
  assert.equal(reported().length, 2, 'one probe, one report, nothing after');
  assert.deepEqual(engine.starts, [{ id: 2, at: 0 }, { id: 1, at: 50 }]);
});

test('an unanswered probe reports timeout at connect_timeout', () => {
  const { clock, engine, reported } = rig();
  engine.add(1, SPEC);
  engine.answer(() => ({ ok: false, reason: 'timeout' }));
  engine.probeIn(1, 0);
  clock.advance(299);
  assert.equal(reported().length, 0);
  clock.advance(1);
  assert.deepEqual(reported(), [{ id: 1, ok: false, reason: 'timeout', errno: 110, latencyUs: 300_000 }]);
});

test('quiet mode suppresses successes on the first probe\'s grid; the first failure is reported and ends it', () => {
  const { clock, engine, reported } = rig();
  engine.add(7, SPEC);
  engine.answer(() => ({ ok: true, afterMs: 3 }));
  engine.setQuiet(7, 1000, 250);
  clock.advance(250 + 5 * 1000 + 10);
  assert.equal(reported().length, 0, 'successes are not reported');
  assert.deepEqual(engine.starts.map((s) => s.at), [250, 1250, 2250, 3250, 4250, 5250], 'phase kept, not drifting by latency');
  assert.equal(engine.stats().suppressed, 6);
  assert.deepEqual(engine.last(7), { ok: true, latencyUs: 3000, atWallMs: clock.wallNow() - 10 + 3 });

  engine.answer(() => ({ ok: false, reason: 'refused', afterMs: 1 }));
  clock.advance(1000);
  assert.deepEqual(reported(), [{ id: 7, ok: false, reason: 'refused', errno: 111, latencyUs: 1000 }]);
  assert.equal(engine.isQuiet(7), false, 'the failure ended quiet mode');
  engine.answer(() => ({ ok: true }));
  clock.advance(10_000);
  assert.equal(engine.starts.length, 7, 'no probe after the failure until the caller asks');
  assert.equal(engine.last(7)?.ok, false);
  const s = engine.stats();
  assert.equal(s.probes, s.suppressed + s.reported);
});

test('setQuiet(null) ends quiet mode; probeIn replaces a pending quiet probe; both report nothing of the old cycle', () => {
  const { clock, engine, reported } = rig();
  engine.add(1, SPEC);
  engine.setQuiet(1, 100, 0);
  clock.advance(250);
  assert.equal(engine.starts.length, 3);
  engine.setQuiet(1, null);
  clock.advance(1000);
  assert.equal(engine.starts.length, 3, 'no quiet probe after null');
  engine.setQuiet(1, 100, 0);
  clock.advance(50);
  engine.probeIn(1, 10);
  clock.advance(1000);
  assert.deepEqual(reported(), [{ id: 1, ok: true, latencyUs: 0 }], 'the one-shot reports, quiet mode is over');
  assert.equal(engine.starts.length, 5);
});

test('remove() of an in-flight probe reports nothing and counts it aborted', () => {
  const { clock, engine, reported } = rig();
  engine.add(1, SPEC);
  engine.answer(() => ({ ok: false, reason: 'timeout' }));
  engine.probeIn(1, 0);
  clock.advance(100);
  assert.equal(engine.stats().inFlight, 1);
  engine.remove(1);
  clock.advance(1000);
  assert.deepEqual(reported(), []);
  assert.equal(engine.stats().aborted, 1);
  assert.equal(engine.stats().targets, 0);
  assert.equal(engine.last(1), undefined);
  assert.throws(() => engine.probeIn(1, 0), /unknown target/);
});

test('outcomes completing at the same time arrive in one batch', () => {
  const { clock, engine, batches } = rig();
  for (let id = 0; id < 5; id++) { engine.add(id, SPEC); engine.probeIn(id, 20); }
  clock.advance(20);
  assert.equal(batches.length, 1);
  assert.deepEqual(batches[0]!.map((o) => o.id), [0, 1, 2, 3, 4]);
});
