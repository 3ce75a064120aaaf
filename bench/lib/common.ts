// What every benchmark here needs: order statistics and the versions of the tools it compares.
import { spawnSync } from 'node:child_process';

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
