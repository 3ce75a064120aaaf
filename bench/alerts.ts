// Alert-path speed (issue 14 §4: speed claims live here, not in unit tests). What the unit tests
// (test/unit/alert-runner.test.ts) assert as behaviour, enqueue does constant work and never runs
// a job, this measures as time: 100,000 events queued on 1,000 keys through OrderedRunner (what
// every notify script event goes through). Run: `npm run bench:alerts` (no root, no network).
// Prints the median of TRIALS runs (env, default 20) in milliseconds.
import { OrderedRunner } from '../src/alert/orderedRunner.js';
import { createSystemTimers } from '../src/timers.js';
import { median } from './lib/common.js';

const timers = createSystemTimers();
const trials = Number(process.env.TRIALS ?? 20);
const JOBS = 100_000;
const KEYS = 1000;

function once(): number {
  const r = new OrderedRunner<number>(async () => {}, { timers, capacityPerKey: 64 });
  const t0 = timers.now();
  for (let n = 0; n < JOBS; n++) r.enqueue(`k${n % KEYS}`, n);
  const ms = timers.now() - t0;
  r.close();
  return ms;
}

const runs: number[] = [];
for (let i = 0; i < trials; i++) {
  runs.push(once());
  await new Promise((res) => timers.setImmediate(() => res(undefined)));
}
console.log(`OrderedRunner.enqueue: ${JOBS} jobs on ${KEYS} keys, median ${median(runs).toFixed(1)} ms over ${trials} trials ` +
  `(min ${Math.min(...runs).toFixed(1)}, max ${Math.max(...runs).toFixed(1)}); the unit test used to bound it at 1000 ms`);
