// The notes `tandem import` gives about a keepalived.conf: every keyword it could not convert, and
// every place where what keepalived runs differs from what the file says (so the converted value
// is keepalived's, not the text's), each with the file and line it came from. Nothing is dropped or
// changed silently: a note is the only way a converter may do either.
//
// Every note goes through note(), which masks secrets (src/config/secrets.ts): the words of a
// statement whose keyword is secret (auth_pass) are masked out of the reason whatever it says,
// and so are URL credentials. The converted YAML itself keeps the secret: writing it is the
// import's job.
import { isSecretKey, maskUrlCredentials, redactValues } from '../secrets.js';
import type { Stmt } from './parse.js';

/**
 * `not-converted`: the keyword (or part of it) has no place in the output.
 * `changed`: converted, but to what keepalived runs rather than what is written (keepalived warns
 * about it, or applies a rule the text does not show).
 */
export type NoteKind = 'not-converted' | 'changed';

/** A keepalived statement tandem did not convert (or converted only in part, or differently), and why. */
export interface Unconverted {
  file: string;
  line: number;
  keyword: string;
  reason: string;
  kind: NoteKind;
}

export function formatUnconverted(u: Unconverted): string {
  return `${u.file}:${u.line}: ${u.keyword}: ${u.reason}`;
}

/** The stderr line of a note: `not converted: FILE:LINE: KEYWORD: REASON` or `note: ...`. */
export function noteLine(u: Unconverted): string {
  return `${u.kind === 'changed' ? 'note' : 'not converted'}: ${formatUnconverted(u)}`;
}

/** What every converter shares: the notes so far and the options of this import. */
export interface Ctx {
  unconverted: Unconverted[];
  /** Notes given once per import whatever the number of blocks they concern (noteOnce). */
  once?: Set<string>;
  /** The preference keepalived gives each rule line that names none (import/routes.ts). */
  rulePriorities?: Map<Stmt, number>;
}

export const NO_EQUIVALENT = 'no tandem equivalent';

/** A keyword (or part of one) that was not converted. */
export function note(ctx: Ctx, s: Stmt, reason: string, keyword = s.words[0] ?? ''): void {
  push(ctx, s, reason, keyword, 'not-converted');
}

/** A keyword converted to what keepalived runs, which is not what its text says. */
export function changed(ctx: Ctx, s: Stmt, reason: string, keyword = s.words[0] ?? ''): void {
  push(ctx, s, reason, keyword, 'changed');
}

function push(ctx: Ctx, s: Stmt, reason: string, keyword: string, kind: NoteKind): void {
  const secretWords = isSecretKey(s.words[0] ?? '') || isSecretKey(keyword) ? s.words.slice(1) : [];
  ctx.unconverted.push({ file: s.file, line: s.line, keyword, reason: redactValues(maskUrlCredentials(reason), secretWords), kind });
}

/** note(), once per `key` in this import (a global keyword whose effect every instance shares). */
export function noteOnce(ctx: Ctx, key: string, s: Stmt, reason: string): void {
  ctx.once ??= new Set();
  if (ctx.once.has(key)) return;
  ctx.once.add(key);
  note(ctx, s, reason);
}
