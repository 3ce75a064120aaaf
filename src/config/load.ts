// Load a YAML config: parse with positions, validate every key, cross-check, freeze.
// Uses the `yaml` package because it keeps a source range on every node (nested keys included),
// which is what `file:line:col` errors need; js-yaml only reports positions for syntax errors.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { hostname } from 'node:os';
import { LineCounter, parseDocument, type Node } from 'yaml';
import type { ConfigError } from './errors.js';
import { report, type Ctx } from './fields.js';
import { configShape } from './schema.js';
import { crossCheck, toModel } from './build.js';
import { deepFreeze, type Config } from './model.js';

export type LoadResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

export function loadConfigFile(path: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ok: false, errors: [{ file: path, line: 1, col: 1, path: '', message: `cannot read file: ${err.code ?? err.message}` }] };
  }
  return loadConfigText(text, path);
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

function displayName(file: string): string {
  // Errors name the file as the operator gave it; tests pass bare names.
  return file.includes('/') && process.cwd() !== '/' && file.startsWith(process.cwd() + '/')
    ? file.slice(process.cwd().length + 1)
    : file || basename(file);
}
