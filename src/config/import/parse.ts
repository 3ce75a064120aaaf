// keepalived.conf reader for `tandem import` (issue 5 §4): lexes keepalived's config syntax into
// a tree of statements, each with the file and line it came from, following `include` lines.
//
// The syntax is keepalived's (lib/parser.c, keepalived.conf(5)):
// - a statement is a keyword and its words on one line; a `{` opens a block of statements that
//   belongs to the statement before it (on the same line or alone on the next line), `}` closes it;
//   `global_defs { router_id lb1 }` on one line is the same as the multi-line form;
// - `#` or `!` outside quotes starts a comment running to the end of the line;
// - "double quoted" words keep their spaces (the quotes are removed);
// - `include PATTERN` reads every file the glob matches, in sorted order; a relative pattern is
//   taken from the directory of the file that includes it.
// - a line starting with `@ID` (after blanks) is read only when ID is the config id, `@^ID` only
//   when it is not; the `@...` word is removed first (lib/parser.c read_line(): the word after
//   `@` up to the first blank is compared with the whole config id; with nothing after it the
//   line is dropped; this happens before include lines are looked for, so `@lb1 include x`
//   includes x on lb1 only). The config id defaults to the host name up to its first dot
//   (core/main.c), `keepalived -i ID` / `tandem import --config-id ID` sets it.
// Comment lines directly above a statement are kept with it, so the converter can carry them over.
// Errors are data: the first problem that stops the parse is returned with its file:line.
// Blocks may nest at most MAX_NESTING deep, counted across includes (a file included inside a
// block starts at that block's depth): include expansion and the converter walk the tree
// recursively, and 64 is far beyond keepalived's deepest block (virtual_server > real_server >
// HTTP_GET > url, 4 levels).
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { MAX_NESTING } from '../nesting.js';

export interface Stmt {
  /** The keyword and its words, quotes removed. */
  words: string[];
  /** Which words were written in quotes (same indexes as words). */
  quoted: boolean[];
  file: string;
  line: number;
  /** The statements inside `{ }`, or undefined when the statement has no block. */
  block: Stmt[] | undefined;
  /** Comment lines directly above the statement (without the `#` / `!`). */
  comments: string[];
}

export interface ParseError {
  file: string;
  line: number;
  message: string;
}

export type ParseResult =
  | { ok: true; statements: Stmt[]; notes: ParseNote[]; conditionals: Where[] }
  | { ok: false; error: ParseError };

export interface Where { file: string; line: number }

export interface ParseOptions {
  /** The config id conditional lines (`@ID ...`, `@^ID ...`) are read for; none: no `@ID` line is read. */
  configId?: string;
}

/** Something the reader noticed but that does not stop it (e.g. an include matching nothing). */
export interface ParseNote {
  file: string;
  line: number;
  message: string;
}

/** keepalived's own limit on include depth is not documented; 32 is far beyond any real setup. */
const MAX_INCLUDE_DEPTH = 32;
/** Bounds the work on a hostile or broken glob (e.g. `include /*` on a big tree). */
const MAX_INCLUDED_FILES = 1000;

interface Token {
  kind: 'word' | 'open' | 'close';
  text: string;
  quoted: boolean;
  line: number;
}

interface Line {
  line: number;
  tokens: Token[];
  comment: string | undefined;
}

/** Splits one file's text into lines of tokens. */
export function lex(
  text: string, file: string, opts: ParseOptions & { conditionals?: Where[] } = {},
): { ok: true; lines: Line[] } | { ok: false; error: ParseError } {
  const out: Line[] = [];
  const rows = text.split(/\r?\n/);
  for (let n = 0; n < rows.length; n++) {
    const lineNo = n + 1;
    const row = conditional(rows[n]!, opts.configId, () => opts.conditionals?.push({ file, line: lineNo }));
    const tokens: Token[] = [];
    let comment: string | undefined;
    let i = 0;
    while (i < row.length) {
      const c = row[i]!;
      if (c === ' ' || c === '\t' || c === '\f' || c === '\v') { i++; continue; }
      if (c === '#' || c === '!') { comment = row.slice(i + 1).trim(); break; }
      if (c === '{') { tokens.push({ kind: 'open', text: c, quoted: false, line: lineNo }); i++; continue; }
      if (c === '}') { tokens.push({ kind: 'close', text: c, quoted: false, line: lineNo }); i++; continue; }
      if (c === '"') {
        const end = row.indexOf('"', i + 1);
        if (end < 0) return { ok: false, error: { file, line: lineNo, message: 'unterminated quoted string' } };
        tokens.push({ kind: 'word', text: row.slice(i + 1, end), quoted: true, line: lineNo });
        i = end + 1;
        continue;
      }
      let j = i;
      while (j < row.length && !' \t\f\v{}"#!'.includes(row[j]!)) j++;
      tokens.push({ kind: 'word', text: row.slice(i, j), quoted: false, line: lineNo });
      i = j;
    }
    out.push({ line: lineNo, tokens, comment });
  }
  return { ok: true, lines: out };
}

/**
 * A row as keepalived reads it for the config id (lib/parser.c read_line()): unchanged unless it
 * starts with `@`; without its `@ID` word when ID matches (`@^ID`: does not match); '' when the
 * line is not for this config id, or has nothing after the id. The id ends at the first blank,
 * and keepalived has removed comments before: an id running into `#` or `!` has nothing after it.
 */
function conditional(row: string, configId: string | undefined, seen: () => void): string {
  const start = row.search(/[^ \t\f\v]/);
  if (start < 0 || row[start] !== '@') return row;
  seen();
  const rev = row[start + 1] === '^';
  const ofs = start + (rev ? 2 : 1);
  const blank = row.slice(ofs).search(/[ \t]/);
  const comment = row.slice(ofs).search(/[#!]/);
  if (blank < 0 || (comment >= 0 && comment < blank)) return '';
  const id = row.slice(ofs, ofs + blank);
  const matches = configId !== undefined && id === configId;
  return matches !== rev ? row.slice(ofs + blank) : '';
}

/** Reads `path` and everything it includes. */
export function parseKeepalivedFile(path: string, opts: ParseOptions = {}): ParseResult {
  const notes: ParseNote[] = [];
  const state: ReadState = { files: 0, configId: opts.configId, conditionals: [] };
  try {
    const statements = readOne(resolve(path), displayPath(path), [], notes, state, undefined, 0);
    return { ok: true, statements, notes, conditionals: state.conditionals };
  } catch (e) {
    if (e instanceof ParseFailure) return { ok: false, error: e.error };
    throw e;
  }
}

class ParseFailure extends Error {
  constructor(readonly error: ParseError) { super(`${error.file}:${error.line}: ${error.message}`); }
}

function displayPath(p: string): string {
  const abs = resolve(p);
  const cwd = process.cwd();
  return abs.startsWith(cwd + '/') ? abs.slice(cwd.length + 1) : abs;
}

/** What the whole read shares: the file count bound, the config id and where `@` lines were. */
interface ReadState { files: number; configId: string | undefined; conditionals: Where[] }

function readOne(
  abs: string, shown: string, stack: string[], notes: ParseNote[], state: ReadState,
  from: { file: string; line: number } | undefined, depth: number,
): Stmt[] {
  let real: string;
  let text: string;
  try {
    real = realpathSync(abs);
    text = readFileSync(real, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ParseFailure({ file: from?.file ?? shown, line: from?.line ?? 1,
      message: `cannot read ${shown}: ${err.code ?? err.message}` });
  }
  if (stack.includes(real)) {
    throw new ParseFailure({ file: from!.file, line: from!.line,
      message: `include loop: ${shown} is already being read (${[...stack, real].join(' -> ')})` });
  }
  if (stack.length >= MAX_INCLUDE_DEPTH) {
    throw new ParseFailure({ file: from!.file, line: from!.line, message: `includes nested deeper than ${MAX_INCLUDE_DEPTH}` });
  }
  if (++state.files > MAX_INCLUDED_FILES) {
    throw new ParseFailure({ file: from!.file, line: from!.line, message: `more than ${MAX_INCLUDED_FILES} files included` });
  }
  const lexed = lex(text, shown, { configId: state.configId, conditionals: state.conditionals });
  if (!lexed.ok) throw new ParseFailure(lexed.error);
  const inner = [...stack, real];
  return buildTree(lexed.lines, shown, depth, (pattern, line, at) => {
    const base = dirname(abs);
    const files = expandGlob(isAbsolute(pattern) ? pattern : join(base, pattern));
    if (files.length === 0) notes.push({ file: shown, line, message: `include ${pattern}: no file matches` });
    return files.flatMap((f) => readOne(f, displayPath(f), inner, notes, state, { file: shown, line }, at));
  });
}

type Include = (pattern: string, line: number, depth: number) => Stmt[];

/**
 * Lines -> statement tree. `include` statements are replaced by the statements they read.
 * `depth` is how many blocks enclose this file's statements (those around its include line).
 */
function buildTree(lines: Line[], file: string, depth: number, include: Include): Stmt[] {
  const root: Stmt[] = [];
  const open: Array<{ stmt: Stmt | undefined; list: Stmt[]; line: number }> = [{ stmt: undefined, list: root, line: 0 }];
  let pendingComments: string[] = [];
  /** The last statement of the current list, if it could still take a block opened on a later line. */
  let last: Stmt | undefined;
  for (const l of lines) {
    if (l.tokens.length === 0) {
      // A comment line joins the comments of the next statement; a blank line breaks the run.
      if (l.comment !== undefined) pendingComments.push(l.comment);
      else pendingComments = [];
      continue;
    }
    let current: Stmt | undefined;
    for (const t of l.tokens) {
      const top = open[open.length - 1]!;
      if (t.kind === 'word') {
        if (!current) {
          current = { words: [], quoted: [], file, line: l.line, block: undefined, comments: pendingComments };
          pendingComments = [];
          top.list.push(current);
        }
        current.words.push(t.text);
        current.quoted.push(t.quoted);
      } else if (t.kind === 'open') {
        const owner = current ?? last;
        if (!owner || owner.block) throw new ParseFailure({ file, line: l.line, message: "'{' without a keyword before it" });
        // open holds the root list too: this block's depth is depth + open.length.
        if (depth + open.length > MAX_NESTING) {
          throw new ParseFailure({ file, line: l.line,
            message: `blocks nested deeper than ${MAX_NESTING} levels${depth ? ' (counting the blocks around the include of this file)' : ''}: refusing` });
        }
        owner.block = [];
        open.push({ stmt: owner, list: owner.block, line: l.line });
        current = undefined;
        last = undefined;
      } else {
        if (open.length === 1) throw new ParseFailure({ file, line: l.line, message: "'}' without a matching '{'" });
        const closed = open.pop()!;
        current = undefined;
        pendingComments = [];
        last = closed.stmt;
      }
    }
    if (current) last = current;
    // Trailing comments (`priority 150  # primary`) go with the statement too.
    if (current && l.comment) current.comments = [...current.comments, l.comment];
  }
  if (open.length > 1) {
    const unclosed = open[open.length - 1]!;
    throw new ParseFailure({ file, line: unclosed.line, message: `'{' of ${unclosed.stmt?.words[0] ?? 'a block'} is never closed` });
  }
  return expandIncludes(root, include, depth);
}

/** Recursive, but only as deep as the blocks, which buildTree bounds. */
function expandIncludes(list: Stmt[], include: Include, depth: number): Stmt[] {
  const out: Stmt[] = [];
  for (const s of list) {
    if (s.words[0] === 'include' && !s.block) {
      if (s.words.length !== 2) throw new ParseFailure({ file: s.file, line: s.line, message: 'include takes one file name or pattern' });
      // One by one: push(...list) passes every statement as an argument, and an included file
      // of 10^5 lines overflows the stack that way.
      for (const included of include(s.words[1]!, s.line, depth)) out.push(included);
      continue;
    }
    if (s.block) s.block = expandIncludes(s.block, include, depth + 1);
    out.push(s);
  }
  return out;
}

/**
 * Shell-style glob (`*`, `?`, `[...]` in any path component, as glob(3) which keepalived uses),
 * sorted; a pattern without wildcards names itself (a missing file then fails to read, as in
 * keepalived, which reports it).
 */
export function expandGlob(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) return [pattern];
  const parts = pattern.split('/');
  let paths = [parts[0] === '' ? '/' : '.'];
  for (let i = parts[0] === '' ? 1 : 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '') continue;
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const dir of paths) {
      if (!/[*?[]/.test(part)) {
        next.push(join(dir, part));
        continue;
      }
      const re = globToRegExp(part);
      let names: string[];
      try { names = readdirSync(dir); } catch { continue; }
      for (const name of names.sort()) {
        // glob(3): a leading dot is only matched by a pattern starting with one.
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (!re.test(name)) continue;
        const p = join(dir, name);
        if (!last) {
          try { if (!statSync(p).isDirectory()) continue; } catch { continue; }
        }
        next.push(p);
      }
    }
    paths = next;
  }
  return paths.filter((p) => { try { return statSync(p).isFile(); } catch { return false; } });
}

function globToRegExp(part: string): RegExp {
  let re = '^';
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = part.indexOf(']', i + 2);
      if (end < 0) { re += '\\['; continue; }
      let body = part.slice(i + 1, end);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}
