// Load a YAML config: parse with positions, validate every key, cross-check, freeze.
// Uses the `yaml` package because it keeps a source range on every node (nested keys included),
// which is what `file:line:col` errors need; js-yaml only reports positions for syntax errors.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { hostname } from 'node:os';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { ConfigError } from './errors.js';
import { report, type Ctx } from './fields.js';
import { configShape } from './schema.js';
import { crossCheck, toModel } from './build.js';
import { deepFreeze, type Config } from './model.js';
import { refuseInsecureConfigFile } from './scriptSecurity.js';

export type LoadResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

export function loadConfigFile(path: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ok: false, errors: [{ file: path, line: 1, col: 1, path: '', message: `cannot read file: ${err.code ?? err.message}` }] };
  }
  // enable_script_security covers the file that names the scripts too (src/config/scriptSecurity.ts).
  return refuseInsecureConfigFile(loadConfigText(text, path), path, displayName(path));
}

export function loadConfigText(text: string, file: string, defaults = { hostname: hostname() }): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const ctx: Ctx = { file: displayName(file), lineCounter, errors: [] };
  for (const e of doc.errors) {
    const [line, col] = e.linePos?.[0] ? [e.linePos[0].line, e.linePos[0].col] : [1, 1];
    ctx.errors.push({ file: ctx.file, line, col, path: '', message: `YAML syntax: ${e.message.split('\n')[0]}` });
  }
  if (ctx.errors.length) return { ok: false, errors: ctx.errors };
  // Anchors and aliases (`notify: *hook`) are plain YAML that operators use to avoid repeating a
  // script or a check: validate an alias as the node it names (errors in it point at the anchor).
  const expanded = resolveAliases(doc.contents as Node | null);
  if (expanded > MAX_EXPANDED_NODES) {
    report(ctx, doc.contents as Node, '', `the document expands to more than ${MAX_EXPANDED_NODES} nodes through YAML aliases: refusing (alias bomb?)`);
    return { ok: false, errors: ctx.errors };
  }
  const root = doc.contents as Node | null;
  if (root === null) {
    report(ctx, null, '', 'the file is empty');
    return { ok: false, errors: ctx.errors };
  }
  const raw = configShape({ node: root, path: '' }, ctx);
  // Cross-field checks run on whatever parsed, so one pass reports as much as possible.
  const config = raw ? toModel(raw, file, defaults.hostname) : undefined;
  if (config) crossCheck(config, root, ctx);
  if (ctx.errors.length || !config) {
    ctx.errors.sort((a, b) => a.line - b.line || a.col - b.col);
    return { ok: false, errors: ctx.errors };
  }
  return { ok: true, config: deepFreeze(config) };
}

export function displayName(file: string): string {
  // Errors name the file as the operator gave it; tests pass bare names.
  return file.includes('/') && process.cwd() !== '/' && file.startsWith(process.cwd() + '/')
    ? file.slice(process.cwd().length + 1)
    : file || basename(file);
}

/** A config of 10,000 real servers with a few checks each is well under this. */
const MAX_EXPANDED_NODES = 2_000_000;

/**
 * Replaces every alias with the node its anchor names (the latest anchor of that name before it,
 * YAML 1.2 §3.2.2.2), walking the document as written, so the work is linear in the text even
 * when aliases nest. Returns the number of nodes the result expands to when walked (memoised
 * over the shared nodes), so an alias bomb is refused before any validator walks it.
 */
function resolveAliases(root: Node | null): number {
  if (root === null) return 0;
  const anchors = new Map<string, Node>();
  const walk = (node: unknown): unknown => {
    if (isAlias(node)) return anchors.get(node.source) ?? node;
    if (isMap(node)) {
      for (const pair of node.items) {
        pair.key = walk(pair.key);
        pair.value = walk(pair.value);
      }
    } else if (isSeq(node)) {
      node.items = node.items.map(walk);
    }
    // Registered after its children: an alias inside its own anchor stays unresolved.
    if ((isMap(node) || isSeq(node) || isScalar(node)) && node.anchor) anchors.set(node.anchor, node as Node);
    return node;
  };
  walk(root);
  const sizes = new Map<unknown, number>();
  const size = (node: unknown): number => {
    const known = sizes.get(node);
    if (known !== undefined) return known;
    sizes.set(node, 1); // a cycle counts once
    let n = 1;
    if (isMap(node)) for (const p of node.items) n += size(p.key) + size(p.value);
    else if (isSeq(node)) for (const i of node.items) n += size(i);
    n = Math.min(n, Number.MAX_SAFE_INTEGER);
    sizes.set(node, n);
    return n;
  };
  return size(root);
}
