// Config errors are data (DESIGN.md principle 6): every problem is collected with its position
// and key path, and the whole list is reported at once.

export interface ConfigError {
  file: string;
  line: number; // 1-based
  col: number; // 1-based
  path: string; // e.g. vrrp_instances[0].priority
  message: string;
}

export function formatConfigError(e: ConfigError): string {
  return oneLine(`${e.file}:${e.line}:${e.col} ${e.path ? `${e.path}: ` : ''}${e.message}`);
}

/** One error, one line: a line break or control character that reached a message (from a key,
 *  a file name, a library's text) is shown escaped, never written raw to a terminal or a log. */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** Thrown (only) by loadConfigFile callers that want an exception; carries every error. */
export class ConfigInvalidError extends Error {
  constructor(readonly errors: readonly ConfigError[]) {
    super(`invalid config (${errors.length} error${errors.length === 1 ? '' : 's'}):\n` +
      errors.map(formatConfigError).join('\n'));
    this.name = 'ConfigInvalidError';
  }
}
