// The frame of a benchmark that runs tandem and its peer one after the other in one lab: the
// lab is removed whatever happens, the summary is printed, the results file written, and the
// exit code is 1 when either run failed.
import { Lab, type LabOptions } from '../../test/lib/netns.js';
import { writeResults } from './common.js';
import { hostFacts, loadAverage } from './proc.js';

export async function runSideBySide<I extends string, R extends { impl: I; error: string | null }>(o: {
  lab: LabOptions;
  impls: readonly I[];
  run(impl: I, lab: Lab): Promise<R>;
  summary(results: R[]): void;
  /** --out, and the settings it records. */
  out: string | null;
  settings: object;
}): Promise<void> {
  const started = new Date();
  console.log(`load average at start: ${loadAverage()}`);
  const lab = await Lab.create(o.lab);
  const results: R[] = [];
  try {
    for (const impl of o.impls) results.push(await o.run(impl, lab));
  } finally {
    await lab.destroy();
  }
  o.summary(results);
  if (o.out) writeResults(o.out, started, () => ({ host: hostFacts(), settings: o.settings, results }));
  if (results.some((r) => r.error)) process.exitCode = 1;
}
