// Issue 12 §1 for `tandem import`: keepalived blocks nested past the limit used to overflow the
// stack in include expansion (an uncaught RangeError, exit 1); now they are refused at file:line
// with exit 2, counting the blocks around an include.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseKeepalivedFile } from '../../src/config/import/parse.js';
import { scratchDir } from '../lib/scratch.js';

const root = new URL('../../../', import.meta.url).pathname;
const tandem = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin/tandem'), ...args], { encoding: 'utf8', cwd: root, timeout: 60_000 });

/** `n` nested blocks, one `{` per line: block k opens on line k. */
const nested = (n: number, inner = 'priority 100') =>
  Array.from({ length: n }, (_, i) => `${' '.repeat(i)}b${i} {`).join('\n') + `\n${inner}\n` + '}\n'.repeat(n);

describe('keepalived.conf import: block nesting limit', () => {
  const scratch = scratchDir('tandem-import-depth-');
  const { write } = scratch;

  it('64 nested blocks parse; the 65th is refused at its line', () => {
    const ok = parseKeepalivedFile(write('d64.conf', nested(64)));
    assert.ok(ok.ok, ok.ok ? '' : ok.error.message);
    let depth = 0;
    for (let s = ok.statements[0]; s?.block; s = s.block[0]) depth++;
    assert.equal(depth, 64);
    const deep = parseKeepalivedFile(write('d65.conf', nested(65)));
    assert.ok(!deep.ok);
    assert.deepEqual(deep.error, { file: deep.error.file, line: 65, message: 'blocks nested deeper than 64 levels: refusing' });
    assert.match(deep.error.file, /d65\.conf$/);
  });

  it('20,000 braces on one line: refused at line 1, no stack overflow', () => {
    const r = parseKeepalivedFile(write('line.conf', `global_defs ${'{ a '.repeat(20_000)}${'}'.repeat(20_000)}\n`));
    assert.ok(!r.ok);
    assert.equal(r.error.line, 1);
    assert.equal(r.error.message, 'blocks nested deeper than 64 levels: refusing');
  });

  it('an included file starts at the depth of the block that includes it', () => {
    write('inner.conf', nested(31));
    const outer = write('outer.conf', nested(34, 'include inner.conf'));
    const r = parseKeepalivedFile(outer);
    assert.ok(!r.ok);
    // 34 around the include + 31 in inner.conf: the 31st block of inner.conf is the 65th.
    assert.match(r.error.file, /inner\.conf$/);
    assert.equal(r.error.line, 31);
    assert.equal(r.error.message, 'blocks nested deeper than 64 levels (counting the blocks around the include of this file): refusing');
    write('inner2.conf', nested(30));
    const fits = parseKeepalivedFile(write('outer2.conf', nested(34, 'include inner2.conf')));
    assert.ok(fits.ok, fits.ok ? '' : `${fits.error.file}:${fits.error.line}: ${fits.error.message}`);
  });

  it('tandem import exits 2 with file:line on the deep file, nothing on stdout, no stack trace', () => {
    const p = write('deep.conf', `vrrp_instance VI_1 ${'{ a '.repeat(5000)}${'}'.repeat(5000)}\n`);
    const r = tandem('import', p);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `${p}:1: blocks nested deeper than 64 levels: refusing\n`);
  });

  it('an invalid file (unbalanced braces) and an unreadable one exit 2 as bad input', () => {
    const open = write('open.conf', 'vrrp_instance VI_1 {\n  priority 100\n');
    const r = tandem('import', open);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /open\.conf:1: '\{' of vrrp_instance is never closed/);
    assert.equal(tandem('import', join(scratch.dir, 'missing.conf')).status, 2);
  });
});

describe('keepalived.conf import: a long included file', () => {
  const scratch = scratchDir('tandem-import-long-');

  it('an include of 200,000 statements is read (push(...list) of that many overflowed the stack)', () => {
    scratch.write('long.conf', Array.from({ length: 200_000 }, (_, i) => `k${i} ${i}`).join('\n') + '\n');
    const top = scratch.write('top.conf', 'global_defs {\n  router_id lb1\n}\ninclude long.conf\n');
    const r = parseKeepalivedFile(top);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.equal(r.statements.length, 200_001);
    assert.deepEqual(r.statements[200_000]!.words, ['k199999', '199999']);
  });
});
