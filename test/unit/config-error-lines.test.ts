// Every config error is one line `file:line:col path: message` (found by the config fuzz: a
// multi-line or collection key put line breaks into the key path, and the "error" spread over
// lines that name no position).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load.js';
import { formatConfigError } from '../../src/config/errors.js';

function lines(text: string): string[] {
  const r = loadConfigText(text, 'lb.yaml', { hostname: 'h', interfaceMtu: () => undefined });
  assert.ok(!r.ok, 'the config must be refused');
  return r.errors.map(formatConfigError);
}

describe('config errors are one line each', () => {
  it('a quoted key with a line break is shown escaped and cut', () => {
    const out = lines('"global1\\nvrrp_instances": 1\n');
    assert.deepEqual(out, ['lb.yaml:1:1 "global1\\nvrrp_instances": unknown key']);
  });

  it('a flow collection as a key is named as such, at its position', () => {
    const out = lines('global:\n  ? [a, b]\n  : 1\n');
    assert.equal(out.length, 1);
    assert.match(out[0]!, /^lb\.yaml:2:5 global\.\[\.\.\.\]: a key must be a plain word, got a list/);
  });

  it('a long multi-line plain key is cut to 40 characters', () => {
    const key = `[\n  ${'x'.repeat(80)}`;
    const out = lines(`${JSON.stringify(key)}: 1\n`);
    assert.equal(out.length, 1);
    assert.ok(!out[0]!.includes('\n'), out[0]);
    assert.ok(out[0]!.length < 100, out[0]);
  });

  it('control characters anywhere in an error are escaped', () => {
    const line = formatConfigError({ severity: 'error', file: 'a\u001b[31m.yaml', line: 1, col: 2, path: 'x\ty', message: 'bad\r\nthing\u2028' });
    assert.equal(line, 'a\\u001b[31m.yaml:1:2 x\\ty: bad\\u000d\\nthing\\u2028');
  });
});
