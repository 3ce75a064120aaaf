// `tandem import FILE` (issue 5 §4): the converted YAML on stdout, every keyword that was not
// converted on stderr (file:line: keyword: reason). Exit 0 when the file was read and converted
// (even in part: the list says what is missing), 2 when it cannot be read or parsed (bad input, as
// `tandem check` answers an unreadable or invalid file) and on usage errors.
import { formatUnconverted, importKeepalived } from './convert.js';

export function runImport(args: string[], out = process.stdout, err = process.stderr): number {
  if (args.length !== 1) {
    err.write('usage: tandem import /etc/keepalived/keepalived.conf > tandem.yaml\n');
    return 2;
  }
  const r = importKeepalived(args[0]!);
  if (!r.ok) {
    err.write(`${r.error.file}:${r.error.line}: ${r.error.message}\n`);
    return 2;
  }
  out.write(r.yaml);
  for (const u of r.unconverted) err.write(`not converted: ${formatUnconverted(u)}\n`);
  if (r.unconverted.length) err.write(`${args[0]}: ${r.unconverted.length} keyword${r.unconverted.length === 1 ? '' : 's'} not converted (listed above and at the top of the output)\n`);
  return 0;
}
