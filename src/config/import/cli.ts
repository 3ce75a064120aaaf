// `tandem import [--config-id ID] [--strict] FILE` (issue 5 §4, issue 13 §1): the converted YAML
// on stdout, every note on stderr (`not converted: FILE:LINE: KEYWORD: REASON` for what has no
// tandem form, `note: ...` for what was converted to what keepalived runs rather than what the
// file says) and at the top of the output. --config-id ID: the config id conditional lines
// (`@ID ...`, `@^ID ...`) are read for, as `keepalived -i ID`; the default is keepalived's (this
// host's name up to its first dot), and a file with such lines then gets a note saying so.
//
// Exit codes:
//   0  converted without loss: no note;
//   3  converted with notes (each with file:line); with --strict a note is a failure: the notes
//      are printed and no YAML is written, so a lossy conversion cannot end up in a file unseen;
//   2  bad input (a file or include that cannot be read, not keepalived syntax) or wrong usage,
//      as `tandem check` answers an unreadable or invalid file.
import { parseArgs } from 'node:util';
import { importKeepalived, noteLine } from './convert.js';

export const IMPORT_USAGE = 'usage: tandem import [--config-id ID] [--strict] /etc/keepalived/keepalived.conf > tandem.yaml\n';

/** The exit code for a conversion with notes (0 without, 2 for bad input). */
export const EXIT_NOTES = 3;

export function runImport(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): number {
  let parsed;
  try {
    parsed = parseArgs({
      args, allowPositionals: true, strict: true,
      options: {
        config: { type: 'string', short: 'f' },
        'config-id': { type: 'string' },
        strict: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    err.write(`tandem import: ${(e as Error).message}\n${IMPORT_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) { out.write(IMPORT_USAGE); return 0; }
  const files = values.config !== undefined ? [values.config, ...positionals] : positionals;
  if (files.length !== 1) {
    err.write(IMPORT_USAGE);
    return 2;
  }
  const file = files[0]!;
  const r = importKeepalived(file, { configId: values['config-id'] });
  if (!r.ok) {
    err.write(`${r.error.file}:${r.error.line}: ${r.error.message}\n`);
    return 2;
  }
  const notes = r.unconverted;
  if (!values.strict || notes.length === 0) out.write(r.yaml);
  for (const u of notes) err.write(`${noteLine(u)}\n`);
  if (notes.length === 0) return 0;
  const count = `${notes.length} note${notes.length === 1 ? '' : 's'}`;
  err.write(values.strict
    ? `${file}: ${count}: not converted (--strict: any note is a failure; listed above)\n`
    : `${file}: ${count} (listed above and at the top of the output)\n`);
  return EXIT_NOTES;
}
