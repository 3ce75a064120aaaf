// "Did you mean" for unknown keys: the closest known key by edit distance, if it is close enough
// to be a plausible typo (at most a third of the key's length, and at least 1 edit allowed).

export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  const cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    for (let j = 0; j <= b.length; j++) prev[j] = cur[j]!;
  }
  return prev[b.length]!;
}

export function suggest(unknown: string, known: readonly string[]): string | undefined {
  const u = unknown.toLowerCase().replace(/-/g, '_');
  const limit = Math.max(1, Math.floor(unknown.length / 3));
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    // The distance is at least the difference in length: a candidate that far off cannot be
    // close enough, and skipping it keeps a megabyte-long key from costing length x length work
    // per candidate (the config fuzz found an 8 MB key that took 14 s here).
    if (Math.abs(u.length - k.length) > limit) continue;
    const d = editDistance(u, k.toLowerCase());
    if (d < bestD) { bestD = d; best = k; }
  }
  return bestD <= limit ? best : undefined;
}
