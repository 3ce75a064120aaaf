// keepalived's script-string splitting (src/alert/argv.ts). The rows marked `ka` were run through
// keepalived 2.2.7 (Debian 12) as notify_master scripts in a network namespace, with a script that
// hex-dumped its arguments: keepalived gave exactly these argv (the config string was written with
// its backslashes and double quotes escaped once more, because keepalived's config reader runs the
// same unescaping once before set_script_params_array() runs it again).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatArgv, splitScriptString, type ArgvErrorReason } from '../../src/process/argv.js';

const ok: Array<{ in: string; argv: string[]; ka?: true }> = [
  { in: '/bin/x a b', argv: ['/bin/x', 'a', 'b'], ka: true },
  { in: "/bin/x  a   'b c'  d'e f'g", argv: ['/bin/x', 'a', 'b c', 'de fg'], ka: true },
  { in: `/bin/x '' x ""`, argv: ['/bin/x', '', 'x', ''], ka: true },
  { in: `/bin/x a\\tb 'c\\td' "e\\tf"`, argv: ['/bin/x', 'a\tb', 'c\td', 'e\tf'], ka: true },
  // A backslash escapes inside single quotes too (not sh's rule).
  { in: `/bin/x 'it\\'s' "say \\"hi\\"" a\\ b`, argv: ['/bin/x', "it's", 'say "hi"', 'a b'], ka: true },
  { in: '/bin/x \\x41\\x42 \\101 \\cA \\q \\\\ \\E', argv: ['/bin/x', 'AB', 'A', '\x01', 'q', '\\', '\x1b'], ka: true },
  // \x takes every hex digit that follows and keeps 8 bits; \x and \c with nothing usable are letters.
  { in: '/bin/x \\x4142 \\xZ \\c', argv: ['/bin/x', 'B', 'xZ', 'c'], ka: true },
  { in: '/bin/x \\xc3\\xa9 é \\12x \\0101', argv: ['/bin/x', 'é', 'é', '\nx', '\b1'], ka: true },
  { in: `/bin/x "a'b" 'a"b' x""y`, argv: ['/bin/x', "a'b", 'a"b', 'xy'], ka: true },
  { in: '/bin/x\ta\vb\fc', argv: ['/bin/x', 'a', 'b', 'c'], ka: true },
  { in: '  /bin/x  \n', argv: ['/bin/x'] },
  { in: '/bin/x \\a\\b\\f\\n\\r\\t\\v', argv: ['/bin/x', '\x07\b\f\n\r\t\v'] },
  { in: '/bin/x "a b"c\' d\'', argv: ['/bin/x', 'a bc d'] },
  { in: '/bin/x \\cz\\c[', argv: ['/bin/x', '\x1a\x1b'] },
];

const bad: Array<{ in: string; reason: ArgvErrorReason; ka?: true }> = [
  { in: "/bin/x 'unterminated", reason: 'unterminated_quote', ka: true },
  { in: '/bin/x "a b', reason: 'unterminated_quote' },
  { in: '/bin/x trailing\\', reason: 'trailing_backslash', ka: true },
  { in: '', reason: 'empty' },
  { in: ' \t ', reason: 'empty' },
  // keepalived would cut the argument at the NUL (it gave ["a"]); tandem refuses instead.
  { in: '/bin/x a\\0b', reason: 'nul_byte' },
  // keepalived would pass the byte 0xff; Node passes arguments as UTF-8 text, so tandem refuses.
  { in: '/bin/x \\777', reason: 'invalid_utf8' },
];

describe('alert argv: keepalived script strings', () => {
  for (const c of ok) {
    it(`${JSON.stringify(c.in)} -> ${JSON.stringify(c.argv)}${c.ka ? ' (as keepalived 2.2.7)' : ''}`, () => {
      assert.deepEqual(splitScriptString(c.in), { ok: true, argv: c.argv });
    });
  }
  for (const c of bad) {
    it(`${JSON.stringify(c.in)} is refused: ${c.reason}${c.ka ? ' (as keepalived 2.2.7)' : ''}`, () => {
      const r = splitScriptString(c.in);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.reason, c.reason);
        assert.ok(r.message.length > 0);
      }
    });
  }
  it('formatArgv quotes what a shell would split, and round-trips through the splitter', () => {
    const argv = ['/bin/x', 'plain', 'a b', "it's", '', 'x=1,y'];
    const text = formatArgv(argv);
    assert.equal(text, `/bin/x plain 'a b' 'it'\\''s' '' x=1,y`);
    // '\'' reads the same under sh and under keepalived's rules, so the words come back.
    assert.deepEqual(splitScriptString(text), { ok: true, argv });
  });
});
