// Config issues are data (DESIGN.md principle 6): every problem is collected with its position
// and key path, and the whole list is reported at once. An issue is an error (the config is
// refused: nothing runs from it) or a warning (the config runs, as keepalived would run it, and
// the operator is told what keepalived would only have logged). Both are one type, so a
// validator can emit either and neither loses its location.

export type Severity = 'error' | 'warning';

export interface ConfigIssue {
  severity: Severity;
  file: string;
  /** 1-based; absent for an issue about the whole file (it cannot be read, it is too big). */
  line?: number;
  /** 1-based; present exactly when `line` is. */
  col?: number;
  path: string; // e.g. vrrp_instances[0].priority
  message: string;
}

/**
 * One issue, one line: `file:line:col path: message` (an error), `file:line:col warning: path:
 * message` (a warning), `file: message` (about the whole file: there is no line to name).
 */
export function formatConfigError(e: ConfigIssue): string {
  const where = e.line === undefined ? `${e.file}:` : `${e.file}:${e.line}:${e.col ?? 1}`;
  return oneLine(`${where} ${e.severity === 'warning' ? 'warning: ' : ''}${e.path ? `${e.path}: ` : ''}${e.message}`);
}

/** Issues in the order of the file (issues about the whole file first), errors before warnings at one place. */
export function inFileOrder(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0) ||
    (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}

/** "2 errors", "1 warning", "2 errors, 1 warning". */
export function countIssues(errors: number, warnings: number): string {
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
  return [errors ? n(errors, 'error') : '', warnings ? n(warnings, 'warning') : ''].filter(Boolean).join(', ') || '0 errors';
}

/** One error, one line: a line break or control character that reached a message (from a key,
 *  a file name, a library's text) is shown escaped, never written raw to a terminal or a log. */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** Thrown (only) by loadConfigFile callers that want an exception; carries every error. */
export class ConfigInvalidError extends Error {
  constructor(readonly errors: readonly ConfigIssue[]) {
    super(`invalid config (${errors.length} error${errors.length === 1 ? '' : 's'}):\n` +
      errors.map(formatConfigError).join('\n'));
    this.name = 'ConfigInvalidError';
  }
}
