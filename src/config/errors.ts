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
  return `${e.file}:${e.line}:${e.col} ${e.path ? `${e.path}: ` : ''}${e.message}`;
}

/** Thrown (only) by loadConfigFile callers that want an exception; carries every error. */
export class ConfigInvalidError extends Error {
  constructor(readonly errors: readonly ConfigError[]) {
    super(`invalid config (${errors.length} error${errors.length === 1 ? '' : 's'}):\n` +
      errors.map(formatConfigError).join('\n'));
    this.name = 'ConfigInvalidError';
  }
}
