// How deep a config may nest, measured before anything recurses over it.
//
// The `yaml` package composes documents recursively (about 800 levels exhaust Node's stack; its
// composer then reports "Maximum call stack size exceeded" as if it were a syntax error), and so
// do our own walks. So nesting is measured twice, both times with a loop and an explicit stack:
// in the text, on the parser's token tree (the `yaml` Parser is iterative), before composing;
// and after composing, with every alias counted as the node it names, since a chain of aliases
// (`x1: &x1 [[[*x0]]]`, `x2: &x2 [[[*x1]]]` ...) nests far deeper than the text does.
import { CST as cstValues, isAlias, isMap, isScalar, isSeq } from './yaml.js';
import type { CST, Alias, Node, YAMLMap, YAMLSeq } from 'yaml';

/**
 * Deepest nesting of mappings and lists accepted (README, config reference). The deepest real
 * config is about 10 levels (virtual_servers > real_servers > checks > http_get > urls > ...).
 */
export const MAX_NESTING = 64;

/** Where nesting first goes past the limit: the offset in the text and the key path there. */
export interface TooDeep {
  offset: number;
  path: string;
  /** The alias through which the expanded document goes past the limit (expanded check only). */
  alias?: string;
}

interface CstEntry {
  /** A collection, or (with `pair`) the flow sequence holding a pair: `[a: 1]` is a list of one mapping. */
  token: CST.BlockMap | CST.BlockSequence | CST.FlowCollection;
  pair: CST.CollectionItem | undefined;
  /** Collections above this one, from the document's root. */
  depth: number;
  parent: CstEntry | undefined;
  /** How the parent reaches this node, for the error's key path: by this key, else by index. */
  key: CST.Token | null | undefined;
  index: number;
}

function isCollectionToken(t: CST.Token | null | undefined): t is CST.BlockMap | CST.BlockSequence | CST.FlowCollection {
  return t?.type === 'block-map' || t?.type === 'block-seq' || t?.type === 'flow-collection';
}

/** The first place in the parsed text where collections nest deeper than `limit`. */
export function tooDeepInText(tokens: readonly CST.Token[], limit = MAX_NESTING): TooDeep | undefined {
  const stack: CstEntry[] = [];
  for (let i = tokens.length - 1; i >= 0; i--) {
    const t = tokens[i]!;
    if (t.type === 'document' && isCollectionToken(t.value)) stack.push({ token: t.value, pair: undefined, depth: 0, parent: undefined, key: undefined, index: 0 });
  }
  while (stack.length) {
    const entry = stack.pop()!;
    if (entry.depth + 1 > limit) return { offset: cstOffset(entry), path: pathOf(entry) };
    const depth = entry.depth + 1;
    // Children pushed last item first, so the first is looked at first: the earliest place is reported.
    const push = (token: CST.Token | null | undefined, key: CST.Token | null | undefined, index: number) => {
      if (isCollectionToken(token)) stack.push({ token, pair: undefined, depth, parent: entry, key, index });
    };
    if (entry.pair) {
      push(entry.pair.value, entry.pair.key, 0);
      push(entry.pair.key, entry.pair.key, 0);
      continue;
    }
    const coll = entry.token;
    const isList = coll.type === 'block-seq' || (coll.type === 'flow-collection' && coll.start.source === '[');
    for (let i = coll.items.length - 1; i >= 0; i--) {
      const it = coll.items[i] as CST.CollectionItem;
      if (isList && coll.type === 'flow-collection' && it.sep?.some((t) => t.type === 'map-value-ind')) {
        stack.push({ token: coll, pair: it, depth, parent: entry, key: undefined, index: i });
        continue;
      }
      const key = isList ? undefined : it.key;
      push(it.value, key, i);
      push(it.key, key, i);
    }
  }
  return undefined;
}

function cstOffset(e: CstEntry): number {
  if (e.pair) return e.pair.key?.offset ?? e.pair.sep?.[0]?.offset ?? e.token.offset;
  return e.token.type === 'flow-collection' ? e.token.start.offset : e.token.offset;
}

function scalarText(token: CST.Token): string | undefined {
  if (token.type !== 'scalar' && token.type !== 'single-quoted-scalar' && token.type !== 'double-quoted-scalar') return undefined;
  return cstValues.resolveAsScalar(token)?.value;
}

function pathOf(entry: CstEntry): string {
  const steps: string[] = [];
  for (let e: CstEntry | undefined = entry; e?.parent; e = e.parent) {
    const key = e.key ? scalarText(e.key) : undefined;
    steps.push(key !== undefined ? `.${key}` : `[${e.index}]`);
  }
  return joinPath(steps.reverse());
}

/** The key path, with the middle of a very long one left out (`a.b[0][0][0][0]...[0]`). */
function joinPath(steps: readonly string[]): string {
  const named = steps.filter((s) => s !== '');
  const shown = named.length > 8 ? [...named.slice(0, 6), '...', ...named.slice(-1)] : named;
  return shown.join('').replace(/^\./, '');
}

/** What aliases expand to: the document's size and depth, and where it goes too deep. */
export interface Expansion {
  /** Nodes the document has when every alias is replaced by a copy of what it names. */
  size: number;
  /** Collections nested in the deepest branch, aliases expanded. */
  depth: number;
  tooDeep: TooDeep | undefined;
  /** Nodes as written (an alias counts as one): what the size is without the aliases. */
  written: number;
}

interface Measure { depth: number; size: number }
const LEAF: Measure = { depth: 0, size: 1 };

/** A collection being measured: its items are taken one at a time (a map's as key, value, key ...). */
interface Frame { node: YAMLMap | YAMLSeq; next: number; depth: number; size: number }

/** Where an alias sits, to put its target there. */
interface AliasSite { alias: Alias; in: YAMLMap | YAMLSeq; index: number; key: boolean }

/**
 * Measures the composed document with every alias standing for the node it names (the latest
 * anchor of that name before it, YAML 1.2 §3.2.2.2) and, when the result is within `limit` and
 * `maxNodes`, replaces the aliases by those nodes in place, so that the validators see plain
 * nodes (errors inside an alias point at the anchor). The work is linear in the text: each node
 * is visited once, and an alias reuses the measure of its target, which is finished by then.
 */
export function expandAliases(root: Node, limit = MAX_NESTING, maxNodes = Number.MAX_SAFE_INTEGER): Expansion {
  const sites: AliasSite[] = [];
  const targets = new Map<Alias, Node>();
  const counted = { written: 0 };
  const { depth, size } = measure(root, sites, targets, undefined, counted);
  const written = counted.written;
  if (depth > limit) {
    // The error path measures again, keeping every node's measure, to find the place.
    const all = new Map<unknown, Measure>();
    measure(root, [], new Map(), all, { written: 0 });
    return { size, depth, tooDeep: locateTooDeep(root, limit, all, targets), written };
  }
  if (size <= maxNodes) {
    for (const s of sites) {
      const target = targets.get(s.alias);
      if (!target) continue;
      if (isSeq(s.in)) s.in.items[s.index] = target;
      else if (s.key) s.in.items[s.index]!.key = target;
      else s.in.items[s.index]!.value = target;
    }
  }
  return { size, depth, tooDeep: undefined, written };
}

/**
 * Post-order over the tree as written (children in document order before their parent), with
 * an explicit stack. A node's anchor is registered once its children are done, so an alias inside
 * its own anchor stays unresolved (and is refused by the validators as an unsupported node).
 */
function measure(root: Node, sites: AliasSite[], targets: Map<Alias, Node>, all: Map<unknown, Measure> | undefined, counted: { written: number }): Measure {
  const anchors = new Map<string, { node: Node; m: Measure }>();
  const finished = (node: unknown, m: Measure): Measure => {
    all?.set(node, m);
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor && (isMap(node) || isSeq(node) || isScalar(node))) anchors.set(anchor, { node: node as Node, m });
    return m;
  };
  const leaf = (node: unknown, frame: Frame | undefined, index: number, key: boolean): Measure => {
    counted.written++;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (frame) sites.push({ alias: node, in: frame.node, index, key });
      if (target) targets.set(node, target.node);
      const m = target?.m ?? LEAF;
      all?.set(node, m);
      return m;
    }
    return finished(node, LEAF);
  };
  if (!isMap(root) && !isSeq(root)) return leaf(root, undefined, 0, false);
  const stack: Frame[] = [{ node: root, next: 0, depth: 0, size: 1 }];
  counted.written++;
  let result = LEAF;
  while (stack.length) {
    const f = stack[stack.length - 1]!;
    const isMapFrame = isMap(f.node);
    const count = isMapFrame ? f.node.items.length * 2 : f.node.items.length;
    if (f.next >= count) {
      stack.pop();
      const m = finished(f.node, { depth: f.depth + 1, size: f.size });
      const parent = stack[stack.length - 1];
      if (parent) fold(parent, m); else result = m;
      continue;
    }
    const at = f.next++;
    const index = isMapFrame ? at >> 1 : at;
    const key = isMapFrame && (at & 1) === 0;
    const child: unknown = isMapFrame ? (key ? (f.node as YAMLMap).items[index]!.key : (f.node as YAMLMap).items[index]!.value) : f.node.items[index];
    if (child === null || child === undefined) continue;
    if (isMap(child) || isSeq(child)) { stack.push({ node: child, next: 0, depth: 0, size: 1 }); counted.written++; }
    else fold(f, leaf(child, f, index, key));
  }
  return result;
}

function fold(into: Frame, m: Measure): void {
  if (m.depth > into.depth) into.depth = m.depth;
  into.size = Math.min(into.size + m.size, Number.MAX_SAFE_INTEGER);
}

/**
 * Goes down from the root along the first branch (in document order) that is too deep, to the
 * first collection past the limit, and reports the outermost alias on the way (the place in the
 * text that pulled the depth in), or that collection itself when no alias was crossed.
 */
function locateTooDeep(root: Node, limit: number, measures: Map<unknown, Measure>, targets: Map<Alias, Node>): TooDeep {
  let node: unknown = root;
  let level = 1; // of `node`, a collection: the root is level 1
  const steps: string[] = [];
  let alias: { node: Alias; path: string } | undefined;
  const tooDeep = (child: unknown) => level + (measures.get(child)?.depth ?? 0) > limit;
  // Each step goes one collection down, so this ends within `limit` steps.
  while (level <= limit) {
    let next: { child: unknown; step: string } | undefined;
    if (isMap(node)) {
      for (const [i, p] of node.items.entries()) {
        const child = tooDeep(p.key) ? p.key : tooDeep(p.value) ? p.value : undefined;
        if (child !== undefined) { next = { child, step: isScalar(p.key) ? `.${String(p.key.value)}` : `[${i}]` }; break; }
      }
    } else if (isSeq(node)) {
      const i = node.items.findIndex(tooDeep);
      if (i >= 0) next = { child: node.items[i], step: `[${i}]` };
    }
    if (!next) break;
    steps.push(next.step);
    let child = next.child;
    if (isAlias(child)) {
      alias ??= { node: child, path: joinPath(steps) };
      child = targets.get(child)!;
    }
    node = child;
    level++;
  }
  if (alias) return { offset: alias.node.range?.[0] ?? 0, path: alias.path, alias: alias.node.source };
  return { offset: (node as Node).range?.[0] ?? 0, path: joinPath(steps) };
}

/**
 * How many nodes a YAML text has, estimated from the text alone, before the `yaml` parser builds
 * anything: parsing costs about 10 µs and 1 KB per node here (4.1 million one-character list
 * items, 8 MB, took 46 s and 3.9 GB), so a document far bigger than any config must be refused
 * before it is parsed. A node starts after a line break or one of `, : - [ { ?` (a mapping and
 * its first key share a start), so counting the lines with content and those characters gives
 * about one count per node, a little more where scalars or comments hold them (IPv6 addresses,
 * URLs, host names, `# ----` banners). It never counts fewer than the nodes: only whole comment
 * lines are skipped, and a line whose first character is `#` is either a comment or the inside
 * of a multi-line scalar, never structure (a `#` after text may be inside quotes: `"a #", 1, 1`
 * must count every item). One pass over the characters: about 20 ms for 3.4 MB.
 */
export function estimateNodes(text: string): number {
  let n = 1;
  let lineHasContent = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) { // \n
      if (lineHasContent) n++;
      lineHasContent = false;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) continue;
    if (c === 35 && !lineHasContent) { // # first on its line: a comment line, to its end
      const nl = text.indexOf('\n', i);
      if (nl < 0) break;
      i = nl - 1;
      continue;
    }
    lineHasContent = true;
    // , : - [ { ?
    if (c === 44 || c === 58 || c === 45 || c === 91 || c === 123 || c === 63) n++;
  }
  return n;
}
