// The lab's measurements from the client's requests (src/lab/measure.ts): out-of-order and
// in-flight samples, the outage measured by when the successful requests were sent, the strip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSample, recoveryAfter, settledSince, strip, tally, type Sample } from '../../src/lab/measure.js';

const T0 = 1_000_000;
/** Requests every 100 ms from T0; `pattern` gives each one's result: . ok, x failed. */
function samples(pattern: string, from = T0): Sample[] {
  return [...pattern].map((c, i) => ({ seq: i, sent: from + i * 100, ms: 2, ok: c === '.', rs: c === '.' ? `rs${(i % 3) + 1}` : null, err: c === '.' ? null : 'timeout 800 ms' }));
}

test('parseSample reads the client line and ignores anything else', () => {
  assert.deepEqual(parseSample('{"seq":3,"sent":5,"ms":2,"ok":true,"rs":"rs1","err":null}'), { seq: 3, sent: 5, ms: 2, ok: true, rs: 'rs1', err: null });
  assert.equal(parseSample('rs1 listening on 198.51.100.11:80'), null);
  assert.equal(parseSample('{"seq":"x"}'), null);
  assert.equal(parseSample('{broken'), null);
});

test('settledSince stops at the first request still in flight', () => {
  const s = samples('..........');
  const withGap = s.filter((x) => x.seq !== 4).reverse(); // arrival order differs; seq 4 still in flight
  assert.deepEqual(settledSince(withGap, T0).map((x) => x.seq), [0, 1, 2, 3]);
  assert.deepEqual(settledSince(withGap, T0 + 450).map((x) => x.seq), [5, 6, 7, 8, 9]);
  assert.deepEqual(settledSince(s, T0, T0 + 300).map((x) => x.seq), [0, 1, 2]);
});

test('recoveryAfter: the outage runs from the event to the answer of the first request of the final run of successes', () => {
  // Event at T0 + 250: request 2 (sent T0+200) was before it; 3 succeeded through the old master
  // still in flight; 4..8 failed; 9.. succeeded.
  const s = samples('....xxxxx' + '.'.repeat(12));
  const r = recoveryAfter(s, T0 + 250, 10);
  assert.ok(r);
  assert.equal(r.failed, 5);
  assert.equal(r.firstGood.seq, 9);
  assert.equal(r.recoveryMs, 900 + 2 - 250, 'answered 2 ms after it was sent');
  assert.deepEqual(r.errors, { 'timeout 800 ms': 5 });
  // Not enough successes yet after the last failure: not recovered.
  assert.equal(recoveryAfter(samples('....xxxxx.....'), T0 + 250, 10), null);
  // A failure among the successes restarts the run.
  const flap = recoveryAfter(samples('..xx.....x' + '.'.repeat(10)), T0, 10);
  assert.equal(flap?.firstGood.seq, 10);
  assert.equal(flap?.failed, 3);
});

test('recoveryAfter with no failure: the time to the first request after the event', () => {
  const r = recoveryAfter(samples('.'.repeat(15)), T0 + 30, 10);
  assert.equal(r?.failed, 0);
  assert.equal(r?.firstGood.seq, 1);
  assert.equal(r?.recoveryMs, 72);
});

test('tally and strip', () => {
  const s = samples('..x...');
  assert.deepEqual(tally(s), { total: 6, failed: 1, byServer: { rs1: 2, rs2: 2, rs3: 1 } });
  assert.equal(strip(s, T0 + 150), '..|x...');
  assert.equal(strip(s, T0 + 10_000), '..x...|');
  assert.equal(strip(samples('.'.repeat(100)), T0, 10), '..........');
});
