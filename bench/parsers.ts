// Parser cost benchmark: the speed claims that used to be wall-clock bounds in unit tests (issue
// 14 §6: a unit test asserts behaviour, a timing claim belongs here).
//
//   npm run bench:parsers -- [--runs N] [--out parsers.json]   (env RUNS=N; default 30)
//
// 1. HTTP_GET/SSL_GET header reader (src/check/probes/http.ts HttpResponseReader) fed a header one
//    byte per push, the way a hostile server trickles it: the time to reach K bytes, for K up to
//    the cap (HTTP_MAX_HEADER_BYTES), and the cost per byte. Linear time means the per-byte median
//    stays flat as K grows; a reader that re-scanned or re-joined what it already holds would
//    grow with K. The unit test (test/unit/probes-http.test.ts) asserts the verdict at the cap;
//    the claim it used to make with a stopwatch ("the whole trickle to the cap in under 1 s") is
//    the target printed here.
import { writeFileSync } from 'node:fs';
import { HTTP_MAX_HEADER_BYTES, HttpResponseReader } from '../src/check/probes/http.js';
import { fmt, stats, type Stats } from './lib/common.js';

interface Args { runs: number; out: string | null }

function parseArgs(argv: string[]): Args {
  const args: Args = { runs: Number(process.env.RUNS ?? 30), out: null };
  // Options come in pairs: --runs N, --out FILE.
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined || (flag !== '--runs' && flag !== '--out')) {
      throw new Error(`bad arguments at ${flag} (see the comment at the top of bench/parsers.ts)`);
    }
    if (flag === '--runs') args.runs = Number(value);
    else args.out = value;
  }
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error(`--runs must be a positive integer, got ${args.runs}`);
  return args;
}

/** Milliseconds to push `bytes` header bytes one at a time (after the status line); throws if the
 *  reader decided before the last one, so every sample measures the same work. */
function trickle(bytes: number): number {
  const reader = new HttpResponseReader({ statusCodes: [[200, 200]], digest: undefined });
  const line = Buffer.from('X-Filler: y\r\n');
  const status = Buffer.from('HTTP/1.0 200 OK\r\n');
  const t0 = performance.now();
  let v = reader.push(status);
  for (let i = 0; i < bytes - status.length; i++) {
    if (v !== 'more') throw new Error(`the reader decided after ${status.length + i} of ${bytes} bytes: ${JSON.stringify(v)}`);
    v = reader.push(line.subarray(i % line.length, (i % line.length) + 1));
  }
  return performance.now() - t0;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const sizes = [HTTP_MAX_HEADER_BYTES / 8, HTTP_MAX_HEADER_BYTES / 4, HTTP_MAX_HEADER_BYTES / 2, HTTP_MAX_HEADER_BYTES];
  for (let w = 0; w < 3; w++) trickle(HTTP_MAX_HEADER_BYTES); // warm-up (JIT), not counted
  const rows: Array<{ bytes: number; ms: Stats | null; nsPerByte: Stats | null }> = [];
  for (const bytes of sizes) {
    const ms: number[] = [];
    for (let r = 0; r < args.runs; r++) ms.push(trickle(bytes));
    rows.push({ bytes, ms: stats(ms), nsPerByte: stats(ms.map((x) => (x * 1e6) / bytes)) });
  }
  console.log(`1. HTTP header trickled one byte per push, ${args.runs} runs per size (cap ${HTTP_MAX_HEADER_BYTES} bytes)`);
  console.log(['bytes', 'median ms', 'p95 ms', 'p99 ms', 'max ms', 'median ns/byte', 'p95 ns/byte'].join('  '));
  for (const r of rows) {
    console.log([String(r.bytes).padStart(5), fmt(r.ms?.median, 2).padStart(9), fmt(r.ms?.p95, 2).padStart(6),
      fmt(r.ms?.p99, 2).padStart(6), fmt(r.ms?.max, 2).padStart(6), fmt(r.nsPerByte?.median, 0).padStart(14),
      fmt(r.nsPerByte?.p95, 0).padStart(11)].join('  '));
  }
  const first = rows[0]!.nsPerByte?.median ?? NaN;
  const last = rows[rows.length - 1]!.nsPerByte?.median ?? NaN;
  const growth = last / first;
  const capMedian = rows[rows.length - 1]!.ms?.median ?? NaN;
  console.log(`per-byte cost at the cap / at cap/8: ${fmt(growth, 2)} (linear: about 1; target < 2)`);
  console.log(`the whole trickle to the cap, median ${fmt(capMedian, 1)} ms (target < 1000 ms)`);
  if (args.out) {
    writeFileSync(args.out, `${JSON.stringify({
      date: new Date().toISOString(), node: process.version, runs: args.runs, cap: HTTP_MAX_HEADER_BYTES,
      httpHeaderTrickle: rows, perByteGrowth: growth,
    }, null, 2)}\n`);
    console.log(`wrote ${args.out}`);
  }
}

main();
