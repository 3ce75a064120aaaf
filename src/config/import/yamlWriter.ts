// The output side of `tandem import`: the converters build plain data (objects, lists, scalars)
// with two markers, Commented (comment lines to write above a key or list item: keepalived's own
// comments, carried over) and Flow (a short list written on one line), and renderYaml() turns it
// into the YAML document, headed by the list of notes.
import { Document, Pair, Scalar, YAMLMap, YAMLSeq, type Node } from 'yaml';
import { formatUnconverted, type Unconverted } from './notes.js';

/** A value with comment lines to put above it (above its key in a mapping, above an item in a list). */
export class Commented { constructor(readonly value: unknown, readonly comments: string[]) {} }
/** A short list written on one line (`[a, b]`). */
export class Flow { constructor(readonly items: unknown[]) {} }
export type Obj = Record<string, unknown>;

/** The value under its markers. */
export function unwrap(v: unknown): unknown {
  return v instanceof Commented ? v.value : v;
}

/** A deep copy of converted data, markers included (for values written more than once). */
export function cloneValue<T>(v: T): T {
  if (v instanceof Commented) return new Commented(cloneValue(v.value), [...v.comments]) as T;
  if (v instanceof Flow) return new Flow(v.items.map(cloneValue)) as T;
  if (Array.isArray(v)) return v.map(cloneValue) as T;
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneValue(x)])) as T;
  return v;
}

function toNode(v: unknown): Node {
  if (v instanceof Commented) {
    const n = toNode(v.value);
    n.commentBefore = commentText(v.comments);
    return n;
  }
  if (v instanceof Flow) {
    const seq = new YAMLSeq();
    seq.flow = true;
    for (const i of v.items) seq.items.push(toNode(i));
    return seq;
  }
  if (Array.isArray(v)) {
    const seq = new YAMLSeq();
    for (const i of v) seq.items.push(toNode(i));
    return seq;
  }
  if (v !== null && typeof v === 'object') {
    const map = new YAMLMap();
    for (const [k, val] of Object.entries(v as Obj)) {
      if (val === undefined) continue;
      const key = new Scalar(k);
      let inner: unknown = val;
      // A comment for a key goes above the key, not between the key and its value.
      if (val instanceof Commented) { key.commentBefore = commentText(val.comments); inner = val.value; }
      map.items.push(new Pair(key, toNode(inner)));
    }
    return map;
  }
  return new Scalar(v as string | number | boolean | null);
}

function commentText(lines: string[]): string {
  return lines.map((l) => (l ? ` ${l}` : '')).join('\n');
}

/** The converted document: a header naming the source and listing every note, then the config. */
export function renderYaml(value: Obj, source: string, unconverted: Unconverted[], headLines: string[] = []): string {
  const doc = new Document();
  doc.contents = toNode(value) as YAMLMap;
  const head = [`Converted from ${source} by tandem import.`, ...headLines];
  if (unconverted.length === 0) head.push('Every keyword was converted.');
  else {
    head.push(`Notes (${unconverted.length}): not converted, or converted to what keepalived runs rather than what the file says:`);
    for (const u of unconverted) head.push(`  ${formatUnconverted(u)}`);
  }
  doc.commentBefore = commentText(head);
  return doc.toString({ lineWidth: 0 });
}
