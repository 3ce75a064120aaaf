// The bundles (bundle-yaml.mjs, bundle-tandem.mjs) are written in ASCII only, and read back as
// latin1 (src/boot.cts, src/config/yaml.ts). Why: one non-ASCII character anywhere (a "§" in a
// comment) makes V8 hold the whole script as a two-byte string, and Node decode all of it as
// UTF-8 on the slow path: reading tandem.cjs (1.2 MB, 158 such characters) took 4-6 ms of every
// start, as ASCII read as latin1 0.1-0.3 ms (2026-12-04, docs/architecture.md "Start-up").
//
// Each UTF-16 code unit above 0x7f becomes \uXXXX, which means the same character in every place
// JavaScript allows one in source text: comments, string and template literals (their cooked
// value), regular expressions and identifiers. Two places where it would not: after a backslash
// (`'\§'` would become the escaped backslash `'\\u00a7'`) and a template's raw text
// (String.raw); the first is refused here, and neither occurs in what is bundled (the yaml
// bundle's tests compare its parses with the package's).

/** `source` with every non-ASCII UTF-16 code unit written as a \uXXXX escape. */
export function asciiSource(source, what = 'source') {
  return source.replace(/[^\x00-\x7f]/g, (ch, offset) => {
    if (offset > 0 && source[offset - 1] === '\\') {
      const line = source.slice(0, offset).split('\n').length;
      throw new Error(`${what}:${line}: a non-ASCII character after a backslash cannot be escaped without changing its meaning`);
    }
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** Whether `text` is ASCII only (what boot.cts and yaml.ts read as latin1 must be). */
export function isAscii(text) {
  return !/[^\x00-\x7f]/.test(text);
}
