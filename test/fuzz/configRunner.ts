// A child process of the config fuzz (configs.ts): runs `tandem check` / `tandem import` jobs
// in-process through the CLI's own main(), one JSON line in, one JSON line out, so 10,000
// configs do not cost 10,000 Node start-ups. stdout and stderr are captured per job. A job that
// throws, or an uncaught exception or rejection while it runs, is reported as a crash with its
// stack: exactly what `bin/tandem` would have printed before exiting 1.
import { createInterface } from 'node:readline';
import { main } from '../../src/cli.js';

interface Job { id: number; argv: string[] }
export interface JobResult { id: number; code: number | null; out: string; err: string; crash?: string; ms: number }

const realOut = process.stdout.write.bind(process.stdout);
let captureOut = '';
let captureErr = '';
let current: Job | undefined;
let jobStart = 0;

function reply(r: JobResult): void {
  realOut(JSON.stringify(r) + '\n');
}

const fail = (what: string) => (e: unknown) => {
  const err = e as Error;
  if (current) {
    reply({ id: current.id, code: null, out: captureOut, err: captureErr, crash: `${what}: ${err?.stack ?? String(e)}`, ms: Date.now() - jobStart });
  }
  process.exit(70);
};
process.on('uncaughtException', fail('uncaught exception'));
process.on('unhandledRejection', fail('unhandled rejection'));

const MAX_CAPTURE = 64 * 1024;
(process.stdout as unknown as { write: (c: string | Uint8Array) => boolean }).write = (c) => {
  if (captureOut.length < MAX_CAPTURE) captureOut += typeof c === 'string' ? c : Buffer.from(c).toString('utf8');
  return true;
};
(process.stderr as unknown as { write: (c: string | Uint8Array) => boolean }).write = (c) => {
  if (captureErr.length < MAX_CAPTURE) captureErr += typeof c === 'string' ? c : Buffer.from(c).toString('utf8');
  return true;
};

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const job = JSON.parse(line) as Job;
  current = job;
  captureOut = '';
  captureErr = '';
  jobStart = Date.now();
  let code: number | null = null;
  let crash: string | undefined;
  try {
    code = await main(job.argv);
  } catch (e) {
    crash = `main() threw: ${(e as Error)?.stack ?? String(e)}`;
  }
  current = undefined;
  reply({ id: job.id, code, out: captureOut, err: captureErr, ...(crash ? { crash } : {}), ms: Date.now() - jobStart });
}
