// Load a YAML config: parse with positions, validate every key, cross-check, freeze.
// Uses the `yaml` package because it keeps a source range on every node (nested keys included),
// which is what `file:line:col` errors need; js-yaml only reports positions for syntax errors.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { hostname } from 'node:os';
import { Composer, LineCounter, Parser, YAMLParseError, type CST, type Document, type Node, type YAMLError } from 'yaml';
import type { ConfigError } from './errors.js';
import { report, type Ctx } from './fields.js';
import { configShape } from './schema.js';
import { crossCheck, toModel } from './build.js';
import { deepFreeze, type Config } from './model.js';
import { refuseInsecureConfigFile } from './scriptSecurity.js';
import { MAX_NESTING, expandAliases, tooDeepInText } from './nesting.js';
import { interfaceMtu } from './interfaceMtu.js';
import { maskUrlCredentials, sharesRun, yamlSecretSpans, type SecretSpan } from './secrets.js';

export type LoadResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

/** What a config is checked against on this machine; tests pass their own. */
export interface LoadEnv {
  /** The default router_id. */
  hostname: string;
  /** An interface's MTU, or undefined when this machine has no such interface (the VIP limit). */
  interfaceMtu: (ifname: string) => number | undefined;
}

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

export function loadConfigText(text: string, file: string, env: Partial<LoadEnv> = {}): LoadResult {
  const shown = displayName(file);
  try {
    return loadText(text, file, shown, { hostname: env.hostname ?? hostname(), interfaceMtu: env.interfaceMtu ?? interfaceMtu });
  } catch (e) {
    // Last resort: nesting is bounded before anything recurses (nesting.ts), so this means a walk
    // was missed (or a huge list spread into arguments, push(...xs)). Still a refusal that says
    // what happened (exit 2), never a stack trace.
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      return { ok: false, errors: [{ file: shown, line: 1, col: 1, path: '',
        message: `checking this file ran out of stack (${e.message.split('\n')[0]}): refusing (a bug in tandem: please report it with the file)` }] };
    }
    throw e;
  }
}

function loadText(text: string, file: string, shown: string, env: LoadEnv): LoadResult {
  const lineCounter = new LineCounter();
  const ctx: Ctx = { file: shown, lineCounter, errors: [] };
  // The parser (text -> token tree) is iterative; the composer (tokens -> nodes) recurses, so the
  // nesting is measured on the tokens first.
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const deepText = tooDeepInText(tokens, MAX_NESTING);
  if (deepText) {
    const { line, col } = lineCounter.linePos(deepText.offset);
    ctx.errors.push({ file: shown, line, col, path: deepText.path, message: tooDeepMessage() });
    return { ok: false, errors: ctx.errors };
  }
  const doc = composeOne(tokens, text.length);
  const spans = doc.errors.length ? yamlSecretSpans(text) : [];
  for (const e of doc.errors) {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    // The composer turns its own stack overflow into an error of this code; it is not a syntax error.
    if (e.code === 'RESOURCE_EXHAUSTION') {
      const message = `reading this ran out of stack (${e.message.split('\n')[0]}) within the nesting limit of ${MAX_NESTING}: refusing`;
      ctx.errors.push({ file: shown, line, col, path: '', message });
    } else ctx.errors.push(syntaxError(e, shown, lineCounter, spans));
  }
  if (ctx.errors.length) return { ok: false, errors: ctx.errors };
  const root = doc.contents as Node | null;
  if (root === null) {
    report(ctx, null, '', 'the file is empty');
    return { ok: false, errors: ctx.errors };
  }
  // Anchors and aliases (`notify: *hook`) are plain YAML that operators use to avoid repeating a
  // script or a check: an alias is validated as the node it names (errors in it point at the
  // anchor), once the expanded document is known to be neither too big nor too deep.
  const expanded = expandAliases(root, MAX_NESTING, MAX_EXPANDED_NODES);
  if (expanded.tooDeep) {
    const { line, col } = lineCounter.linePos(expanded.tooDeep.offset);
    ctx.errors.push({ file: shown, line, col, path: expanded.tooDeep.path, message: tooDeepMessage(expanded.tooDeep.alias) });
    return { ok: false, errors: ctx.errors };
  }
  if (expanded.size > MAX_EXPANDED_NODES) {
    report(ctx, root, '', `the document expands to more than ${MAX_EXPANDED_NODES} nodes through YAML aliases: refusing (alias bomb?)`);
    return { ok: false, errors: ctx.errors };
  }
  const raw = configShape({ node: root, path: '' }, ctx);
  // Cross-field checks run on whatever parsed, so one pass reports as much as possible.
  const config = raw ? toModel(raw, file, env.hostname) : undefined;
  if (config) crossCheck(config, root, ctx, env);
  if (ctx.errors.length || !config) {
    ctx.errors.sort((a, b) => a.line - b.line || a.col - b.col);
    return { ok: false, errors: ctx.errors };
  }
  return { ok: true, config: deepFreeze(config) };
}

function tooDeepMessage(alias?: string): string {
  return `nested deeper than ${MAX_NESTING} levels of mappings and lists${alias ? ` once the alias *${alias} here is expanded` : ''}` +
    ' (the limit; a real config needs about 10): refusing';
}

/** As the `yaml` package's parseDocument(), from tokens already parsed. */
function composeOne(tokens: CST.Token[], length: number): Document.Parsed {
  const composer = new Composer({ uniqueKeys: false });
  let doc: Document.Parsed | undefined;
  for (const d of composer.compose(tokens, true, length)) {
    if (!doc) { doc = d; continue; }
    doc.errors.push(new YAMLParseError([d.range[0], d.range[1]], 'MULTIPLE_DOCS', 'a config is one YAML document; this is the start of a second one'));
    break;
  }
  return doc!;
}

/**
 * A YAML syntax error, located. The parser's message can quote the text at the error ("Block
 * scalar header includes extra characters: |<value>", "Invalid escape sequence \x.."), so an
 * error inside a secret's value (secrets.ts yamlSecretSpans: found in the raw text, since the
 * document does not parse) names the key, and keeps the parser's message only if it has no
 * three consecutive characters in common with the value as written (an invalid escape such as
 * `\q` can still show); else it gives the parser's error code instead.
 */
function syntaxError(e: YAMLError, file: string, lineCounter: LineCounter, spans: readonly SecretSpan[]): ConfigError {
  const [from, to] = e.pos;
  const { line, col } = lineCounter.linePos(from);
  const message = maskUrlCredentials(e.message.split('\n')[0] ?? '');
  const secret = spans.find((s) => from <= s.end && to > s.start);
  if (!secret) return { file, line, col, path: '', message: `YAML syntax: ${message}` };
  const shown = sharesRun(message, secret.text, 3)
    ? `${e.code} in the value of ${secret.key} (the parser's message is not shown: it quotes the secret value)`
    : message;
  return { file, line, col, path: secret.key, message: `YAML syntax: ${shown}` };
}

export function displayName(file: string): string {
  // Errors name the file as the operator gave it; tests pass bare names.
  return file.includes('/') && process.cwd() !== '/' && file.startsWith(process.cwd() + '/')
    ? file.slice(process.cwd().length + 1)
    : file || basename(file);
}

/** A config of 10,000 real servers with a few checks each is well under this. */
const MAX_EXPANDED_NODES = 2_000_000;
