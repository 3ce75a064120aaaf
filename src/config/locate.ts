// Where a key sits in a config file, for errors found after validation (a reload that would
// change a restart-only key): the value's position, else the nearest parent present (the key was
// removed, so its default would apply), else undefined.
import { readFileSync } from 'node:fs';
import { LineCounter, isMap, parseDocument } from './yaml.js';
import type { Node } from 'yaml';
import { displayName } from './load.js';

export function locateKey(file: string, path: readonly string[]): { file: string; line: number; col: number } | undefined {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { return undefined; }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
    const parent = n > 1 ? doc.getIn(path.slice(0, n - 1), true) : doc.contents;
    if (node && typeof node === 'object' && node.range) {
      // Point at the key when there is one (`ipvs_backend:`), like the loader's errors.
      const pair = isMap(parent) ? parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === path[n - 1]) : undefined;
      const offset = (pair?.key as Node | undefined)?.range?.[0] ?? node.range[0];
      const { line, col } = lineCounter.linePos(offset);
      return { file: displayName(file), line, col };
    }
  }
  return undefined;
}
