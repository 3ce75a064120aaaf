// The bundles are ASCII only and read as latin1 (scripts/lib/ascii.mjs, src/boot.cts,
// src/config/yaml.ts): a non-ASCII character left in one would be read back as mojibake, and the
// escaping must not change what the code means.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

const root = new URL('../../../', import.meta.url).pathname;
const { asciiSource, isAscii } = await import(pathToFileURL(join(root, 'scripts', 'lib', 'ascii.mjs')).href) as {
  asciiSource(s: string, what?: string): string; isAscii(s: string): boolean;
};

test('dist/vendor/tandem.cjs and yaml.cjs are ASCII only (what boot.cts and yaml.ts read as latin1)', () => {
  for (const f of ['tandem.cjs', 'yaml.cjs']) {
    const bytes = readFileSync(join(root, 'dist', 'vendor', f));
    const high = bytes.findIndex((b) => b > 0x7f);
    assert.equal(high, -1, `${f}: byte 0x${bytes[high]?.toString(16)} at offset ${high}`);
    assert.equal(bytes.toString('latin1'), bytes.toString('utf8'), f);
  }
});

test('escaping keeps the meaning of strings, templates, regular expressions, identifiers and comments', () => {
  const src = [
    "// § 6.4.1 in a comment, and µs",
    "const café = 'a § b';",
    "const t = `${café} µ 😀`;",
    "const re = /^[§µ]+$/u;",
    "({ café, t, ok: re.test('§µ§'), astral: [...t].length, rx: /😀/u.test(t) })",
  ].join('\n');
  const out = asciiSource(src);
  assert.ok(isAscii(out), out);
  assert.ok(!isAscii(src));
  const run = (code: string) => JSON.stringify(new Script(code).runInNewContext());
  assert.equal(run(out), run(src));
  assert.equal(run(out), JSON.stringify({ café: 'a § b', t: 'a § b µ 😀', ok: true, astral: 9, rx: true }));
  assert.match(out, /const caf\\u00e9 = 'a \\u00a7 b';/);
});

test('a non-ASCII character after a backslash is refused with its line, not escaped into another meaning', () => {
  assert.throws(() => asciiSource("const a = 1;\nconst s = '\\§';", 'x.cjs'), /^Error: x\.cjs:2: a non-ASCII character after a backslash/);
});
