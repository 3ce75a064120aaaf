// The test runner's last line is what CI is judged by (`N passed, N failed`), so it must be true.
// Each case runs test/run.mjs on a directory of small test files that misbehave the ways issue 14
// found (a file with no test, a process.exit() that hid the tests after it, a describe body that
// throws, a failing hook) and reads the closing line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('../../../test/run.mjs', import.meta.url));

describe('test runner', () => {
  let dir = '';
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tandem-runner-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the runner on one directory of files; returns the closing line and the exit status. */
  function run(name: string, files: Record<string, string>): { summary: string; status: number | null; out: string } {
    const d = join(dir, name);
    mkdirSync(d);
    for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
    const r = spawnSync(process.execPath, [runner, '--dir', d], { encoding: 'utf8', timeout: 60_000 });
    const lines = r.stdout.trim().split('\n');
    return { summary: lines[lines.length - 1]!, status: r.status, out: r.stdout };
  }
  const ok = "import { test } from 'node:test';\ntest('fine', () => {});\n";

  it('counts passing tests as passed (the baseline)', () => {
    const r = run('good', { 'a.test.mjs': ok, 'b.test.mjs': ok });
    assert.equal(r.summary, '2 passed, 0 failed', r.out);
    assert.equal(r.status, 0);
  });

  it('a file that registers no test fails', () => {
    const r = run('empty', { 'a.test.mjs': ok, 'empty.test.mjs': '// nothing here\n' });
    assert.equal(r.summary, '1 passed, 1 failed', r.out);
    assert.match(r.out, /empty\.test\.mjs.*reported no test|reported no test.*empty/s);
  });

  it('a test that calls process.exit(0) fails, and the tests after it still run', () => {
    const r = run('exit', {
      'x.test.mjs': "import { test } from 'node:test';\ntest('a', () => {});\ntest('b', () => { process.exit(0); });\ntest('c', () => {});\n",
    });
    assert.equal(r.summary, '2 passed, 1 failed', r.out);
    assert.match(r.out, /FAIL b .*\n.*process\.exit\(0\) called in a test/);
    assert.notEqual(r.status, 0);
  });

  it('a describe body that throws counts as a failure', () => {
    const r = run('suite', { 's.test.mjs': "import { describe } from 'node:test';\ndescribe('s', () => { throw new Error('boom'); });\n" });
    assert.equal(r.summary, '0 passed, 1 failed', r.out);
    assert.notEqual(r.status, 0);
  });

  it('a failing hook counts as a failure even when every test passed', () => {
    const r = run('hook', {
      'h.test.mjs': "import { describe, it, after } from 'node:test';\ndescribe('s', () => { after(() => { throw new Error('hook'); }); it('x', () => {}); });\n",
    });
    assert.equal(r.summary, '1 passed, 1 failed', r.out);
    assert.match(r.out, /the suite itself: hookFailed/);
  });

  it('a crashing file is a failure', () => {
    const r = run('crash', { 'c.test.mjs': "import { test } from 'node:test';\ntest('a', () => {});\nsetTimeout(() => { throw new Error('late crash'); }, 10);\n" });
    assert.match(r.summary, /^\d+ passed, [1-9]\d* failed$/, r.out);
    assert.notEqual(r.status, 0);
  });
});
