// A keepalived script string -> argv, by keepalived's own rules, so a notify line copied from a
// keepalived.conf runs the same program with the same arguments under tandem (without a shell).
//
// keepalived reads `notify_master "/path/x.sh a 'b c'"` in two passes: the config parser takes the
// quoted word after the keyword (the words after it are an optional user and group), then
// notify_script_init() -> set_script_params_array() re-splits that word with
// alloc_strvec_quoted_escaped() (keepalived lib/parser.c; keepalived/core/notify.c). In YAML the
// first pass is YAML's own quoting, so this module implements the second one:
//
// - words are separated by runs of white space: space, \t, \f, \n, \r, \v (WHITE_SPACE_STR);
// - "..." and '...' group, and may start or end mid-word: a"b c"d is the one word `ab cd`;
//   "" or '' alone is an empty argument; an unterminated quote is an error;
// - a backslash escapes everywhere, INSIDE SINGLE QUOTES TOO (unlike sh):
//     \a \b \E(ESC) \f \n \r \t \v; \xHH.. (all the hex digits that follow, kept to 8 bits);
//     \cX (control-X: X & 0x1f); \N, \NN, \NNN octal (kept to 8 bits);
//     any other character stands for itself (\" \' \\ \  ...);
//   a backslash at the very end is an error ("Missing escape char at end").
//   \x or \c with nothing usable after them are the letters x and c (the "any other" rule).
// - escapes produce bytes; the argument is those bytes read as UTF-8 (invalid UTF-8 is refused,
//   because Node passes arguments as UTF-8 text). A NUL byte is refused too: keepalived keeps C
//   strings, so it would silently cut the argument there.
//
// Pure: no I/O.

/** A program and its arguments, run without a shell. */
export type Argv = readonly string[];

export type ArgvErrorReason = 'empty' | 'unterminated_quote' | 'trailing_backslash' | 'nul_byte' | 'invalid_utf8';

export type ArgvParse =
  | { ok: true; argv: string[] }
  | { ok: false; reason: ArgvErrorReason; message: string };

/** keepalived's WHITE_SPACE_STR (lib/parser.c). */
const WHITE = new Set([0x20, 0x09, 0x0c, 0x0a, 0x0d, 0x0b]);
const DQ = 0x22;
const SQ = 0x27;
const BS = 0x5c;

const SIMPLE_ESCAPES: Record<number, number> = {
  0x61: 0x07, // \a
  0x62: 0x08, // \b
  0x45: 0x1b, // \E
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
  0x76: 0x0b, // \v
};

const isHex = (b: number | undefined) =>
  b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));
const hexValue = (b: number) => (b <= 0x39 ? b - 0x30 : (b | 0x20) - 0x61 + 10);
const isOctal = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x37;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Split one keepalived script string into argv (see the rules at the top of this file). */
export function splitScriptString(text: string): ArgvParse {
  const src = Buffer.from(text, 'utf8');
  const words: Buffer[] = [];
  let i = 0;
  while (i < src.length) {
    while (i < src.length && WHITE.has(src[i]!)) i++;
    if (i >= src.length) break;
    const out: number[] = [];
    let quote = 0;
    for (;;) {
      if (i >= src.length) {
        if (quote) {
          return { ok: false, reason: 'unterminated_quote', message: `missing terminating ${String.fromCharCode(quote)} in ${JSON.stringify(text)}` };
        }
        break;
      }
      const c = src[i]!;
      if (c === BS) {
        i++;
        if (i >= src.length) {
          return { ok: false, reason: 'trailing_backslash', message: `a backslash at the end escapes nothing in ${JSON.stringify(text)}` };
        }
        const e = src[i]!;
        if (e === 0x78 /* x */ && isHex(src[i + 1])) {
          let v = 0;
          i++;
          while (isHex(src[i])) v = ((v << 4) | hexValue(src[i++]!)) & 0xff;
          out.push(v);
        } else if (e === 0x63 /* c */ && i + 1 < src.length) {
          out.push(src[i + 1]! & 0x1f);
          i += 2;
        } else if (isOctal(e)) {
          let v = e - 0x30;
          i++;
          for (let n = 0; n < 2 && isOctal(src[i]); n++) v = (v << 3) + (src[i++]! - 0x30);
          out.push(v & 0xff);
        } else {
          out.push(SIMPLE_ESCAPES[e] ?? e);
          i++;
        }
        continue;
      }
      if (quote) {
        if (c === quote) quote = 0;
        else out.push(c);
        i++;
        continue;
      }
      if (c === DQ || c === SQ) {
        quote = c;
        i++;
        continue;
      }
      if (WHITE.has(c)) break;
      out.push(c);
      i++;
    }
    words.push(Buffer.from(out));
  }
  if (words.length === 0) return { ok: false, reason: 'empty', message: 'no program given' };
  const argv: string[] = [];
  for (const [n, w] of words.entries()) {
    if (w.includes(0)) {
      return { ok: false, reason: 'nul_byte', message: `argument ${n} contains a NUL byte (\\0 or \\x00), which no program can receive` };
    }
    try {
      argv.push(utf8.decode(w));
    } catch {
      return { ok: false, reason: 'invalid_utf8', message: `argument ${n} is not valid UTF-8 after its escapes` };
    }
  }
  return { ok: true, argv };
}

/** How tandem prints an argv in logs: words that need it are single-quoted, sh-style, so a line
 *  can be pasted into a shell to reproduce the run (keepalived's cmd_str() does the same). */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
