// The folder map of DESIGN.md / docs/architecture.md, checked from the sources: every import of
// every src/**/*.ts (including `import type` and `export ... from`, which tsc erases but which still
// tie the folders together for a reader and for the next refactor) becomes an edge between
// top-level folders under src/ (a file at src/ root is its own node), and the graph must have no
// cycle. Plus the direction rules issue 14 §3 names: config/ is below lb/, alert/, daemon/, api/
// and net/; api/ is below daemon/; the pure cores import no node: module.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const REPO = new URL('../../../', import.meta.url).pathname;
const SRC = join(REPO, 'src');

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Module specifiers a TypeScript source imports or re-exports, type-only ones included. */
export function importSpecifiers(source: string): string[] {
  const out: string[] = [];
  const clause = String.raw`(?:type\s+)?(?:\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*(?:\{[^}]*\}|\*\s+as\s+\w+))?)`;
  const patterns = [
    new RegExp(String.raw`^[ \t]*(?:import|export)\s+${clause}\s*from\s*['"]([^'"]+)['"]`, 'gm'),
    /^[ \t]*import\s*['"]([^'"]+)['"]/gm, // side-effect import
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, // dynamic import and import('x').T type queries
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1]!);
  return out;
}

/** The graph node of a file under src/: its top-level folder, or the file itself at src/ root. */
function nodeOf(rel: string): string {
  const parts = rel.split('/');
  return parts.length === 1 ? parts[0]!.replace(/\.ts$/, '') : parts[0]!;
}

interface Edge { from: string; to: string; file: string; spec: string }

function sourceEdges(): { edges: Edge[]; files: Map<string, string[]> } {
  const edges: Edge[] = [];
  const files = new Map<string, string[]>();
  for (const abs of walk(SRC)) {
    const rel = relative(SRC, abs);
    const specs = importSpecifiers(readFileSync(abs, 'utf8'));
    files.set(rel, specs);
    for (const spec of specs) {
      if (!spec.startsWith('.')) continue;
      const target = relative(SRC, normalize(join(dirname(abs), spec)));
      if (target.startsWith('..')) continue; // outside src/ (none today)
      const from = nodeOf(rel);
      const to = nodeOf(target);
      if (from !== to) edges.push({ from, to, file: rel, spec });
    }
  }
  return { edges, files };
}

/** Strongly connected components with more than one node (Tarjan): each one is a folder cycle. */
export function folderCycles(edges: Array<{ from: string; to: string }>): string[][] {
  const adj = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!adj.has(e.from)) adj.set(e.from, new Set());
    if (!adj.has(e.to)) adj.set(e.to, new Set());
    adj.get(e.from)!.add(e.to);
  }
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); onStack.add(v);
    for (const w of adj.get(v)!) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of [...adj.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

describe('architecture: the folder graph of src/', () => {
  it('the import reader sees every form of import (self-check)', () => {
    const src = [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      'import {\n  c,\n  type D,\n} from "./c.js";',
      "import * as e from './e.js';",
      "import f, { g } from './f.js';",
      "export { h } from './h.js';",
      "export type { I } from './i.js';",
      "export * from './j.js';",
      "import './k.js';",
      "const l = await import('./l.js');",
      "let m: import('./m.js').M;",
      "// a comment saying import nothing from 'x'",
    ].join('\n');
    assert.deepEqual(importSpecifiers(src).sort(),
      ['../b/b.js', './a.js', './c.js', './e.js', './f.js', './h.js', './i.js', './j.js', './k.js', './l.js', './m.js']);
  });

  it('the cycle finder reports a cycle, a type-only one too (self-check)', () => {
    assert.deepEqual(folderCycles([{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' }, { from: 'c', to: 'd' }]),
      [['a', 'b', 'c']]);
    assert.deepEqual(folderCycles([{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }]), []);
  });

  it('reads the whole tree (a reader that sees nothing would pass everything)', () => {
    const { edges, files } = sourceEdges();
    assert.ok(files.size > 100, `only ${files.size} source files found under ${SRC}`);
    assert.ok(edges.length > 100, `only ${edges.length} cross-folder imports found`);
  });

  it('has no import cycle between folders, not even a type-only one', () => {
    const { edges } = sourceEdges();
    const cycles = folderCycles(edges);
    const explain = cycles.map((scc) => {
      const inside = edges.filter((e) => scc.includes(e.from) && scc.includes(e.to));
      const pairs = [...new Set(inside.map((e) => `${e.from} -> ${e.to}`))].sort();
      return `cycle {${scc.join(', ')}}:\n` + pairs.map((p) => {
        const [f, t] = p.split(' -> ');
        const ex = inside.filter((e) => e.from === f && e.to === t).map((e) => `${e.file} imports ${e.spec}`);
        return `  ${p}: ${ex.join('; ')}`;
      }).join('\n');
    });
    assert.deepEqual(explain, [], explain.join('\n'));
  });

  const forbidden: Array<[string, string[]]> = [
    ['config', ['lb', 'alert', 'daemon', 'api', 'net']],
    ['api', ['daemon']],
  ];
  for (const [from, targets] of forbidden) {
    it(`${from}/ imports nothing from ${targets.join('/, ')}/`, () => {
      const bad = sourceEdges().edges.filter((e) => e.from === from && targets.includes(e.to))
        .map((e) => `${e.file} imports ${e.spec}`);
      assert.deepEqual(bad, []);
    });
  }

  it('the pure cores import no node: module', () => {
    const cores = ['vrrp/machine.ts', 'vrrp/advertCadence.ts', 'vrrp/validate.ts', 'check/verdict.ts', 'lb/reconcile.ts', 'lb/desired.ts', 'track/priority.ts', 'realserver/plan.ts'];
    const { files } = sourceEdges();
    const bad: string[] = [];
    for (const core of cores) {
      const specs = files.get(core);
      assert.ok(specs, `${core} is gone: update the list of pure cores`);
      for (const s of specs) if (s.startsWith('node:') || !s.startsWith('.')) bad.push(`${core} imports ${s}`);
    }
    assert.deepEqual(bad, []);
  });
});
