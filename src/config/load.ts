// Load a YAML config: parse with positions, validate every key, cross-check, freeze.
// Uses the `yaml` package because it keeps a source range on every node (nested keys included),
// which is what `file:line:col` errors need; js-yaml only reports positions for syntax errors.
import { basename } from 'node:path';
import { hostname } from 'node:os';
import { Composer, LineCounter, Parser, YAMLParseError } from './yaml.js';
import type { CST, Document, Node, YAMLError } from 'yaml';
import { inFileOrder, type ConfigIssue } from './errors.js';
import { nodeOf, partialValue, report, type Ctx } from './fields.js';
import { configShape, type RawConfig } from './schema.js';
import { crossCheck, toModel } from './build.js';
import type { BackendIssues } from './lbBackend.js';
import { readConfigText } from './readText.js';
import { deepFreeze, type Config } from './model.js';
import { refuseInsecureConfigFile } from './scriptSecurity.js';
import { MAX_NESTING, estimateNodes, expandAliases, tooDeepInText } from './nesting.js';
import { interfaceMtu } from './interfaceMtu.js';
import { maskUrlCredentials, sharesRun, yamlSecretSpans, type SecretSpan } from './secrets.js';

/** A config and its warnings, or every error (and the warnings found with them). */
export type LoadResult =
  /** backendIssues: what each backend cannot express, for global.backend auto (lbBackend.ts). */
  | { ok: true; config: Config; warnings: ConfigIssue[]; backendIssues: BackendIssues }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

/** What a config is checked against on this machine; tests pass their own. */
export interface LoadEnv {
  /** The default router_id. */
  hostname: string;
  /** An interface's MTU, or undefined when this machine has no such interface (the VIP limit). */
  interfaceMtu: (ifname: string) => number | undefined;
  /** Most nodes a document may have, aliases expanded (MAX_EXPANDED_NODES; tests pass fewer). */
  maxNodes: number;
}

export function loadConfigFile(path: string): LoadResult {
  // A directory, an unreadable, binary, non-UTF-8 or too big file: one line saying so (readText.ts).
  const read = readConfigText(path, displayName(path));
  if (!read.ok) return { ok: false, errors: [read.issue], warnings: [] };
  // enable_script_security covers the file that names the scripts too (src/config/scriptSecurity.ts).
  return refuseInsecureConfigFile(loadConfigText(read.text, path), path, displayName(path));
}

export function loadConfigText(text: string, file: string, env: Partial<LoadEnv> = {}): LoadResult {
  const shown = displayName(file);
  try {
    return loadText(text, file, shown, {
      hostname: env.hostname ?? hostname(), interfaceMtu: env.interfaceMtu ?? interfaceMtu, maxNodes: env.maxNodes ?? MAX_EXPANDED_NODES,
    });
  } catch (e) {
    // Last resort: nesting is bounded before anything recurses (nesting.ts), so this means a walk
    // was missed (or a huge list spread into arguments, push(...xs)). Still a refusal that says
    // what happened (exit 2), never a stack trace.
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      return { ok: false, warnings: [], errors: [{ severity: 'error', file: shown, path: '',
        message: `checking this file ran out of stack (${e.message.split('\n')[0]}): refusing (a bug in tandem: please report it with the file)` }] };
    }
    throw e;
  }
}

function loadText(text: string, file: string, shown: string, env: LoadEnv): LoadResult {
  const lineCounter = new LineCounter();
  const ctx: Ctx = { file: shown, lineCounter, issues: [] };
  const refused = (): LoadResult => ({ ok: false, ...split(ctx.issues) });
  const fileIssue = (message: string): LoadResult => ({ ok: false, errors: [{ severity: 'error', file: shown, path: '', message }], warnings: [] });
  // Parsing costs per node: a document far bigger than a config is refused before (nesting.ts).
  const estimated = estimateNodes(text);
  if (estimated > env.maxNodes) {
    return fileIssue(`has about ${estimated} YAML nodes (estimated from its text before parsing), more than the ${env.maxNodes} ` +
      `a config may have (10,000 real servers with two checks each take about ${NODES_10K_RS}): refusing`);
  }
  // The parser (text -> token tree) is iterative; the composer (tokens -> nodes) recurses, so the
  // nesting is measured on the tokens first.
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const deepText = tooDeepInText(tokens, MAX_NESTING);
  if (deepText) {
    const { line, col } = lineCounter.linePos(deepText.offset);
    ctx.issues.push({ severity: 'error', file: shown, line, col, path: deepText.path, message: tooDeepMessage() });
    return refused();
  }
  const doc = composeOne(tokens, text.length);
  const spans = doc.errors.length ? yamlSecretSpans(text) : [];
  for (const e of doc.errors) {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    // The composer turns its own stack overflow into an error of this code; it is not a syntax error.
    if (e.code === 'RESOURCE_EXHAUSTION') {
      const message = `reading this ran out of stack (${e.message.split('\n')[0]}) within the nesting limit of ${MAX_NESTING}: refusing`;
      ctx.issues.push({ severity: 'error', file: shown, line, col, path: '', message });
    } else ctx.issues.push(syntaxError(e, shown, lineCounter, spans));
  }
  if (ctx.issues.length) return refused();
  const root = doc.contents as Node | null;
  // Nothing to point at: the whole file is empty (or comments only).
  if (root === null) return fileIssue(text.trim() === '' ? 'the file is empty' : 'the file has only comments: nothing to run');
  // Anchors and aliases (`notify: *hook`) are plain YAML that operators use to avoid repeating a
  // script or a check: an alias is validated as the node it names (errors in it point at the
  // anchor), once the expanded document is known to be neither too big nor too deep.
  const maxNodes = env.maxNodes;
  const expanded = expandAliases(root, MAX_NESTING, maxNodes);
  if (expanded.tooDeep) {
    const { line, col } = lineCounter.linePos(expanded.tooDeep.offset);
    ctx.issues.push({ severity: 'error', file: shown, line, col, path: expanded.tooDeep.path, message: tooDeepMessage(expanded.tooDeep.alias) });
    return refused();
  }
  if (expanded.size > maxNodes) {
    // Only blame aliases when they did it: the document as written may be that big by itself
    // (estimateNodes() refuses that before parsing; this says so should it ever count short).
    report(ctx, root, '', expanded.written > maxNodes
      ? `the document has ${expanded.written} nodes, more than the ${maxNodes} a config may have (10,000 real servers with two checks each take about ${NODES_10K_RS}): refusing`
      : `the document expands to more than ${maxNodes} nodes through YAML aliases (${expanded.written} as written): refusing (alias bomb?)`);
    return refused();
  }
  const raw = configShape({ node: root, path: '' }, ctx);
  // Cross-field checks run on whatever parsed, so one pass reports every error: when a field is
  // wrong, on the parts that are valid (partialConfig), with the failed items left out.
  const usable = raw ?? partialConfig(root);
  const config = usable ? toModel(usable, file, env.hostname) : undefined;
  const checked = config && crossCheck(config, root, ctx, { ...env, partial: raw === undefined, globalValid: raw !== undefined || globalIsValid(root) });
  const { errors, warnings } = split(ctx.issues);
  if (errors.length || !config || !checked || raw === undefined) return { ok: false, errors, warnings };
  return { ok: true, config: deepFreeze(config), warnings, backendIssues: checked.backendIssues };
}

/** Errors and warnings, each in the order of the file. */
function split(issues: readonly ConfigIssue[]): { errors: ConfigIssue[]; warnings: ConfigIssue[] } {
  const sorted = inFileOrder(issues);
  return { errors: sorted.filter((i) => i.severity === 'error'), warnings: sorted.filter((i) => i.severity === 'warning') };
}

/**
 * The valid parts of a config whose field validation failed (fields.ts partialValue()): the
 * top-level keys that validated, `global` without its invalid keys (their defaults apply), and
 * each list with the items that failed left out as holes, so that every item keeps the index it
 * has in the file (the cross-checks name `vrrp_instances[3]` and find its node by that index).
 */
function partialConfig(root: Node): RawConfig | undefined {
  const top = partialValue<Record<string, unknown>>(root);
  if (!top) return undefined;
  const out: Record<string, unknown> = { ...top };
  for (const key of ['global', 'vrrp_instances', 'vrrp_sync_groups', 'vrrp_scripts', 'vrrp_track_files', 'vrrp_track_processes', 'virtual_servers']) {
    if (out[key] === undefined) out[key] = partialValue(nodeOf(root, key));
  }
  return out as RawConfig;
}

/** Whether `global` validated (a partial one lacks its invalid keys, which script security needs). */
function globalIsValid(root: Node): boolean {
  const top = partialValue<Record<string, unknown>>(root);
  return top !== undefined && (top.global !== undefined || nodeOf(root, 'global') === undefined);
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
function syntaxError(e: YAMLError, file: string, lineCounter: LineCounter, spans: readonly SecretSpan[]): ConfigIssue {
  const [from, to] = e.pos;
  const { line, col } = lineCounter.linePos(from);
  const message = maskUrlCredentials(e.message.split('\n')[0] ?? '');
  const secret = spans.find((s) => from <= s.end && to > s.start);
  if (!secret) return { severity: 'error', file, line, col, path: '', message: `YAML syntax: ${message}` };
  const shown = sharesRun(message, secret.text, 3)
    ? `${e.code} in the value of ${secret.key} (the parser's message is not shown: it quotes the secret value)`
    : message;
  return { severity: 'error', file, line, col, path: secret.key, message: `YAML syntax: ${shown}` };
}

export function displayName(file: string): string {
  // Errors name the file as the operator gave it; tests pass bare names.
  return file.includes('/') && process.cwd() !== '/' && file.startsWith(process.cwd() + '/')
    ? file.slice(process.cwd().length + 1)
    : file || basename(file);
}

/** Three times the 300,000 nodes of 10,000 real servers with two checks each; parsing that many
 *  takes about 10 s and 1 GB here (nesting.ts estimateNodes()). */
export const MAX_EXPANDED_NODES = 1_000_000;
/** Nodes of 10,000 real servers with an http_get and a tcp_check each (measured, for the message). */
const NODES_10K_RS = '300,000';
