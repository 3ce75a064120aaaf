// What every benchmark here needs: order statistics and the versions of the tools it compares.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

export interface Stats { n: number; median: number; p95: number; p99: number; min: number; max: number }

export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Median, nearest-rank p95 and p99, min and max of the finite samples; null when there are none. */
export function stats(xs: readonly number[]): Stats | null {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const rank = (q: number): number => s[Math.max(0, Math.ceil(q * s.length) - 1)]!;
  return { n: s.length, median: median(s), p95: rank(0.95), p99: rank(0.99), min: s[0]!, max: s[s.length - 1]! };
}

/** First line a tool prints about its version (keepalived prints it on stderr). */
export function toolVersion(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}

export function fmt(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

export function ratio(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || b === 0 ? null : a / b;
}

/** Prints rows of stats (ms) as an aligned table. */
export function printStatsTable(title: string, rows: Array<[string, Stats | null]>, digits = 1): void {
  console.log(title);
  const header = ['', 'n', 'median ms', 'p95 ms', 'min ms', 'max ms'];
  const cells = rows.map(([name, s]) => [name, String(s?.n ?? 0), fmt(s?.median, digits), fmt(s?.p95, digits), fmt(s?.min, digits), fmt(s?.max, digits)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const c of cells) console.log(line(c));
  console.log('');
}

/** Walks a benchmark's command line: `on(a, next)` for each argument `a`, where next() takes the
 *  argument after it as its value (an error when there is none). */
export function eachArg(argv: readonly string[], on: (a: string, next: () => string) => void): void {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    on(a, next);
  }
}

/** `v` if it is one of `choices`, else an error naming the option (`--only tandem|keepalived`). */
export function oneOf<T extends string>(option: string, v: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(v)) throw new Error(`${option} ${choices.join('|')}, got ${v}`);
  return v as T;
}

/** Prints `usage: node dist/bench/NAME.js OPTIONS` and exits 0 (--help). */
export function usage(text: string): never {
  console.log(`usage: ${text}`);
  process.exit(0);
}

/** Each [name, value, max]: an error unless the value is an integer 1..max. */
export function checkCounts(counts: ReadonlyArray<readonly [string, number, number]>): void {
  for (const [name, v, max] of counts) {
    if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`${name} must be an integer 1..${max}, got ${v}`);
  }
}

/** Writes a benchmark's results file: the command line, when it started and finished, then what
 *  body() returns (built after the finish time is taken), as indented JSON. */
export function writeResults(out: string, started: Date, body: () => object, what = 'results'): void {
  const head = { command: `node ${process.argv.slice(1).join(' ')}`, started: started.toISOString(), finished: new Date().toISOString() };
  writeFileSync(out, JSON.stringify({ ...head, ...body() }, null, 2) + '\n');
  console.log(`\n${what} written to ${out}`);
}
