// Small validators over `yaml` nodes. Each validator reads one node, reports problems into the
// shared context with the node's own position, and returns the typed value (or undefined when
// the node is invalid). Nothing throws: every error of a file is collected in one pass.
import { isMap, isScalar, isSeq } from './yaml.js';
import type { LineCounter, Node, Pair, Scalar, YAMLMap } from 'yaml';
import { canonicalIp } from '../ip/address.js';
import type { ConfigIssue, Severity } from './errors.js';
import { isSecretKey, lastKeyOf, maskSecretText, maskUrlCredentials, redactValues } from './secrets.js';
import { suggest } from './suggest.js';

export interface Ctx {
  file: string;
  lineCounter: LineCounter;
  /** Errors and warnings, in the order found (the loader sorts them by position). */
  issues: ConfigIssue[];
}

/** Where a value lives: its node (for the position) and its key path (for the message). */
export interface At {
  node: Node | null | undefined;
  path: string;
  /** Fallback node for a missing value (the map that should have held the key). */
  parent?: Node | null | undefined;
}

export type Validator<T> = (at: At, ctx: Ctx) => T | undefined;

/** A node standing for the character at `index` of a scalar's text (an option inside a keepalived
 *  text entry such as a VIP or a route), so that an error points at the option, not at the entry. */
export function subNode(n: Scalar, index: number): Node {
  const start = n.range?.[0] ?? 0;
  const quote = n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE' ? 1 : 0;
  const at = start + quote + index;
  return { range: [at, at, at] } as unknown as Node;
}

/** Records an error at the node's position: the config is refused. */
export function report(ctx: Ctx, node: Node | null | undefined, path: string, message: string): void {
  record(ctx, 'error', node, path, message);
}

/**
 * Records a warning at the node's position: the config runs, and the message says what runs
 * (keepalived's correction of what the file says, or what it will not do). Used where keepalived
 * logs and carries on, unless tandem cannot run what keepalived would.
 */
export function warn(ctx: Ctx, node: Node | null | undefined, path: string, message: string): void {
  record(ctx, 'warning', node, path, message);
}

/**
 * Every config issue goes through here, so this is where a secret's value is kept out of the
 * message even if the caller formatted it itself: URL credentials are masked, and the text of a
 * secret node (see markSecret) is replaced. Warnings get the same masking as errors.
 */
function record(ctx: Ctx, severity: Severity, node: Node | null | undefined, path: string, message: string): void {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = ctx.lineCounter.linePos(offset);
  let text = maskUrlCredentials(message);
  if (isSecretNode(node) || (isScalar(node) && isSecretKey(lastKeyOf(path)))) text = redactValues(text, scalarTexts(node));
  ctx.issues.push({ severity, file: ctx.file, line, col, path, message: text });
}

// Value nodes under a secret key (secrets.ts isSecretKey), marked by object() as it meets the
// key, before any validator sees the value: describe() and report() then never show them.
const secretNodes = new WeakSet<object>();

/** Marks a value (and everything inside it) as secret. */
export function markSecret(node: unknown): void {
  if (node === null || typeof node !== 'object' || secretNodes.has(node)) return;
  secretNodes.add(node);
  if (isMap(node)) for (const p of node.items) { markSecret(p.key); markSecret(p.value); }
  else if (isSeq(node)) for (const i of node.items) markSecret(i);
}

export function isSecretNode(node: unknown): boolean {
  return node !== null && typeof node === 'object' && secretNodes.has(node);
}

/** Every way a scalar's value can appear in a message: as parsed, as JSON, as written. */
function scalarTexts(node: Node | null | undefined): string[] {
  const out: string[] = [];
  const walk = (n: unknown) => {
    if (isScalar(n)) {
      if (n.value !== null && n.value !== undefined) {
        out.push(String(n.value), JSON.stringify(n.value));
        if (typeof n.value === 'string') out.push(JSON.stringify(n.value).slice(1, -1));
      }
      if (typeof n.source === 'string') out.push(n.source);
    } else if (isMap(n)) for (const p of n.items) { walk(p.key); walk(p.value); }
    else if (isSeq(n)) for (const i of n.items) walk(i);
  };
  walk(node);
  return out;
}

/**
 * What a node holds, for "expected X, got Y". A secret's value is never shown, only its kind;
 * any other string is shown with URL credentials and `<secret key> <value>` inside it masked.
 */
export function describe(node: Node | null | undefined, opts: { numberAsWritten?: boolean } = {}): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (isSecretNode(node)) {
      const kind = typeof v === 'number' ? 'a number' : typeof v === 'boolean' ? 'true or false' : typeof v === 'string' ? 'a string' : 'a value';
      return `${kind} (not shown: a secret)`;
    }
    // numberAsWritten: a number as written (`200.0000000000000001`), not as the double it rounds
    // to, where that would mislead (a status code, a netmask: virtualServers.ts).
    if (opts.numberAsWritten && typeof v === 'number') return (node as Scalar).source ?? String(v);
    return typeof v === 'string' ? JSON.stringify(maskSecretText(v)) : String(v);
  }
  return 'an unsupported node';
}

function scalarValue(at: At): unknown {
  return isScalar(at.node) ? (at.node as Scalar).value : undefined;
}

/**
 * The integer a scalar is written as, judged on its source text, not on the number YAML made of
 * it: `254.99999999999999` reads as the double 255, `1e2` as 100, `100.0` as 100, and digits
 * past 2^53 round. Only plain decimal digits with an optional sign count (YAML 1.2 core's
 * decimal int). The core schema's `0x1f` and `0o17` are refused too: keepalived reads these
 * keywords in base 10 (lib/parser.c read_unsigned()/read_int(): strtoul(..., 10), and trailing
 * characters are an "invalid number"), so a hex VRID would not survive a trip to keepalived.
 * `literal` is that source text (for messages), `value` is undefined unless it is such a literal.
 */
export function integerLiteral(node: Node | null | undefined): { literal: string; value: bigint | undefined } | undefined {
  if (!isScalar(node) || typeof node.value !== 'number') return undefined;
  const literal = (node as Scalar).source ?? String(node.value);
  return { literal, value: node.type === 'PLAIN' && /^[-+]?[0-9]+$/.test(literal) ? BigInt(literal) : undefined };
}

export const integer = (min: number, max: number): Validator<number> => (at, ctx) => {
  const lit = integerLiteral(at.node);
  if (lit && lit.value === undefined) {
    const why = /^[-+]?0[xXoO]/.test(lit.literal) ? ', in decimal (keepalived reads these in base 10)' : '';
    report(ctx, at.node, at.path, `expected an integer literal ${min}..${max}${why}, got ${lit.literal}`);
    return undefined;
  }
  if (!lit || lit.value! < BigInt(min) || lit.value! > BigInt(max)) {
    report(ctx, at.node, at.path, `expected an integer ${min}..${max}, got ${lit ? lit.literal : describe(at.node)}`);
    return undefined;
  }
  return Number(lit.value);
};

export const number = (min: number, max: number, unit = ''): Validator<number> => (at, ctx) => {
  const v = scalarValue(at);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    report(ctx, at.node, at.path, `expected a number ${min}..${max}${unit}, got ${describe(at.node)}`);
    return undefined;
  }
  return v;
};

export const boolean: Validator<boolean> = (at, ctx) => {
  const v = scalarValue(at);
  if (typeof v !== 'boolean') {
    report(ctx, at.node, at.path, `expected true or false, got ${describe(at.node)}`);
    return undefined;
  }
  return v;
};

export const string = (opts: { pattern?: RegExp; what?: string; maxLen?: number } = {}): Validator<string> =>
  (at, ctx) => {
    const v = scalarValue(at);
    const what = opts.what ?? 'a string';
    if (typeof v !== 'string' || v.length === 0) {
      report(ctx, at.node, at.path, `expected ${what}, got ${describe(at.node)}`);
      return undefined;
    }
    if (opts.maxLen !== undefined && v.length > opts.maxLen) {
      report(ctx, at.node, at.path, `expected ${what} of at most ${opts.maxLen} characters, got ${v.length}`);
      return undefined;
    }
    if (opts.pattern && !opts.pattern.test(v)) {
      report(ctx, at.node, at.path, `expected ${what}, got ${describe(at.node)}`);
      return undefined;
    }
    return v;
  };

export const oneOf = <T extends string>(values: readonly T[]): Validator<T> => (at, ctx) => {
  const v = scalarValue(at);
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    const hint = typeof v === 'string' ? suggest(v, values) : undefined;
    report(ctx, at.node, at.path,
      `expected one of ${values.join(', ')}, got ${describe(at.node)}${hint ? ` (did you mean ${hint}?)` : ''}`);
    return undefined;
  }
  return v as T;
};

export const ipAddress: Validator<{ address: string; family: 4 | 6 }> = (at, ctx) => {
  const v = scalarValue(at);
  const ip = typeof v === 'string' ? canonicalIp(v) : undefined;
  if (!ip) {
    report(ctx, at.node, at.path, `expected an IPv4 or IPv6 address, got ${describe(at.node)}`);
    return undefined;
  }
  return ip;
};

export interface Cidr { address: string; prefixLen: number; family: 4 | 6; }

/** `192.0.2.100/24`, `2001:db8::1/64`, or a bare address (/32, /128 as keepalived does). */
export const cidr: Validator<Cidr> = (at, ctx) => {
  const v = scalarValue(at);
  if (typeof v === 'string') {
    const [addr, len, ...rest] = v.split('/');
    const ip = addr ? canonicalIp(addr) : undefined;
    if (ip && rest.length === 0) {
      const max = ip.family === 4 ? 32 : 128;
      const prefixLen = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
      if (prefixLen >= 0 && prefixLen <= max) return { ...ip, prefixLen };
      report(ctx, at.node, at.path, `prefix length must be 0..${max}, got ${describe(at.node)}`);
      return undefined;
    }
  }
  report(ctx, at.node, at.path, `expected an address with optional /prefix (e.g. 192.0.2.100/24), got ${describe(at.node)}`);
  return undefined;
};

export const list = <T>(item: Validator<T>, opts: { min?: number } = {}): Validator<T[]> => (at, ctx) => {
  if (at.node === null || at.node === undefined || (isScalar(at.node) && at.node.value === null)) {
    if ((opts.min ?? 0) > 0) report(ctx, at.node ?? at.parent, at.path, `expected a list of at least ${opts.min}, got nothing`);
    return (opts.min ?? 0) > 0 ? undefined : [];
  }
  if (!isSeq(at.node)) {
    report(ctx, at.node, at.path, `expected a list, got ${describe(at.node)}`);
    return undefined;
  }
  const out: T[] = [];
  let ok = true;
  at.node.items.forEach((n, i) => {
    const v = item({ node: n as Node, path: `${at.path}[${i}]`, parent: at.node }, ctx);
    // An item that failed leaves a hole, so the valid ones keep their index (partialValue()).
    if (v === undefined) ok = false; else out[i] = v;
  });
  if (!ok) {
    partials.set(at.node, out);
    return undefined;
  }
  if (out.length < (opts.min ?? 0)) {
    report(ctx, at.node, at.path, `expected a list of at least ${opts.min}, got ${out.length}`);
    return undefined;
  }
  return out;
};

// What parsed of a mapping or list that failed validation (object() and list() keep it here):
// a mapping's valid keys, a list's valid items with holes where items failed. The loader builds
// a partial config from it, so that the cross-field checks also run on a file with field errors
// and one pass reports every error (load.ts partialConfig()).
const partials = new WeakMap<object, unknown>();

/**
 * The part of a failed value that validated: for a mapping, an object with its valid keys (an
 * invalid key is left out, so its default applies); for a list, a sparse array whose holes are
 * the items that failed (forEach, map and some skip holes; find and for...of do not). Undefined
 * when the node validated or was not a mapping or list at all.
 */
export function partialValue<T>(node: Node | null | undefined): T | undefined {
  return node && typeof node === 'object' ? partials.get(node) as T | undefined : undefined;
}

export interface FieldSpec<T> {
  validate: Validator<T>;
  required?: boolean;
  default?: T;
}
type Shape = Record<string, FieldSpec<unknown>>;
type Out<S extends Shape> = { [K in keyof S]: S[K] extends FieldSpec<infer T> ? T | (S[K]['default'] extends undefined ? undefined : never) : never };

export const field = <T>(validate: Validator<T>, opts: { required?: boolean; default?: T } = {}): FieldSpec<T> =>
  ({ validate, ...opts });

/**
 * Edits of the model that keepalived's rules make where the file says something keepalived
 * corrects (each announced by a warning: a member that does not exist is dropped, an interval
 * rounded). Cross-checks queue them; crossCheck() applies them once every check has seen the
 * model as the file wrote it, so no check finds an item moved or gone.
 */
export type Corrections = Array<() => void>;

/** The `name` of each item of the top-level list `key` as written, valid or not: in a partial
 *  model (load.ts partialConfig()) a failed item is missing, but its name still exists. */
export function namesInFile(root: Node | null | undefined, key: string): Set<string> {
  const list = nodeOf(root, key);
  const out = new Set<string>();
  if (isSeq(list)) {
    for (const item of list.items) {
      const n = nodeOf(item as Node, 'name');
      if (isScalar(n) && typeof n.value === 'string') out.add(n.value);
    }
  }
  return out;
}

/**
 * Reports each item of the top-level list `key` whose `name` an earlier item already has, read
 * from the file (valid or not): a name written twice is a duplicate even when one of the two
 * items has another error, so both errors come out in one pass.
 */
export function reportDuplicateNames(root: Node | null | undefined, key: string, ctx: Ctx, what: (name: string, first: number) => string): void {
  const list = nodeOf(root, key);
  if (!isSeq(list)) return;
  const seen = new Map<string, number>();
  list.items.forEach((item, i) => {
    const n = nodeOf(item as Node, 'name');
    if (!isScalar(n) || typeof n.value !== 'string') return;
    const first = seen.get(n.value);
    if (first !== undefined) report(ctx, n, `${key}[${i}].name`, what(n.value, first));
    else seen.set(n.value, i);
  });
}

/** The node of key `k` in a mapping, for cross-field errors reported after the first pass. */
export function nodeOf(map: Node | null | undefined, key: string): Node | undefined {
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  return (pair?.value as Node | undefined) ?? (pair?.key as Node | undefined);
}

/** Every key name of every mapping shape built with object(): the schema's vocabulary, so a
 *  test can list which of them secrets.ts's rule makes secret (test/unit/secrets.test.ts). */
export const schemaKeyNames: ReadonlySet<string> = new Set<string>();

/** What an unknown key is shown as. A key that is not a name (`73914682` in
 *  `{ auth_type: PASS, 73914682 }`) inside a mapping that holds a secret may be that secret
 *  written without its key: it is not shown. Any other is shown with secrets.ts's masking
 *  (`auth_pass 73914682`, a keepalived line without the colon, becomes `auth_pass ***`). */
function shownKey(key: string, holdsSecret: boolean): string {
  const masked = maskSecretText(key);
  if (masked === key && holdsSecret && !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) return '(not shown)';
  return masked;
}

/** An unknown key as it appears in an error's key path: a plain key as written (masked by
 *  shownKey); anything else (spaces, line breaks, control characters, a collection used as a key)
 *  quoted and cut, so that every error stays one line of `file:line:col path: message` (the config
 *  fuzz found keys that spread an error over many lines). */
function keyInPath(keyNode: Node | null | undefined, holdsSecret: boolean): string {
  if (!isScalar(keyNode)) return isMap(keyNode) ? '{...}' : isSeq(keyNode) ? '[...]' : '?';
  const k = shownKey(String(keyNode.value), holdsSecret);
  if (/^[A-Za-z0-9_.@*() -]{1,64}$/.test(k) && !/^ | $/.test(k)) return k;
  return JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}...` : k);
}

/** Registers the shape's keys (schemaKeyNames) once, when the schema module is built. */
function withShape<S extends Shape, T>(shape: S, validate: (at: At, ctx: Ctx, holdsSecret: boolean) => T | undefined): Validator<T> {
  const keys = Object.keys(shape);
  for (const k of keys) (schemaKeyNames as Set<string>).add(k);
  const holdsSecret = keys.some(isSecretKey);
  return (at, ctx) => validate(at, ctx, holdsSecret);
}

/**
 * A mapping with known keys. Unknown keys are errors with a "did you mean" where one is close;
 * missing required keys are reported at the mapping. Returns undefined if any field failed.
 * The value of a secret key (secrets.ts isSecretKey), known or not, is marked secret before
 * anything reads it, so no message about it shows it.
 */
export const object = <S extends Shape>(shape: S): Validator<Out<S>> => withShape(shape, (at, ctx, holdsSecret) => {
  if (!isMap(at.node)) {
    report(ctx, at.node ?? at.parent, at.path, `expected a mapping, got ${describe(at.node)}`);
    return undefined;
  }
  const map = at.node as YAMLMap;
  const known = Object.keys(shape);
  const seen = new Map<string, Pair>();
  let ok = true;
  for (const pair of map.items) {
    const keyNode = pair.key as Node;
    const key = isScalar(keyNode) ? String(keyNode.value) : '';
    if (isSecretKey(key)) markSecret(pair.value);
    if (!Object.hasOwn(shape, key)) {
      const shown = keyInPath(keyNode, holdsSecret);
      const hint = isScalar(keyNode) ? suggest(key, known) : undefined;
      report(ctx, keyNode, at.path ? `${at.path}.${shown}` : shown, isScalar(keyNode)
        ? `unknown key${hint ? ` (did you mean ${hint}?)` : ''}`
        : `a key must be a plain word, got ${describe(keyNode)} (a key written with ? or as a flow collection)`);
      ok = false;
      continue;
    }
    const path = at.path ? `${at.path}.${key}` : key;
    if (seen.has(key)) {
      report(ctx, keyNode, path, 'duplicate key');
      ok = false;
      continue;
    }
    seen.set(key, pair);
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(shape)) {
    const path = at.path ? `${at.path}.${key}` : key;
    const pair = seen.get(key);
    const valueNode = pair?.value as Node | null | undefined;
    const absent = !pair || valueNode === null || valueNode === undefined ||
      (isScalar(valueNode) && valueNode.value === null);
    if (absent) {
      if (spec.required) {
        report(ctx, (pair?.key as Node | undefined) ?? map, path, 'required key is missing');
        ok = false;
      } else out[key] = spec.default;
      continue;
    }
    const v = spec.validate({ node: valueNode, path, parent: map }, ctx);
    if (v === undefined) ok = false; else out[key] = v;
  }
  if (!ok) partials.set(map, out);
  return ok ? (out as Out<S>) : undefined;
});
