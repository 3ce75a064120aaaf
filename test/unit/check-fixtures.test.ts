// Issue 13 §2: `tandem check` accepts what keepalived accepts. Each fixture
// test/fixtures/keepalived/rules/check-*.conf is a keepalived.conf that keepalived 2.2.7 runs
// (its `# keepalived-t:` header is judged in test/integration/import-keepalived.test.ts; the
// goldens of its import in test/unit/keepalived-fixtures.test.ts). Here its conversion goes
// through `tandem check`, which must accept it (exit 0) with exactly the warnings its header
// names, one `# check-warns: <regex>` line per warning (or `# check: ok` for none), each located
// `file:line:col warning: ...`; and `tandem check --strict` must refuse it (exit 2) when it has any.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { REPO_ROOT, importFixture, listFixtures, mapLimit, tandem, type Fixture, type RunResult } from '../lib/keepalived-fixtures.js';

interface CheckExpectation { ok: boolean; warns: RegExp[] }

/** The fixture's `# check: ok` / `# check-warns: <regex>` lines (in its header of comments). */
function checkExpectation(f: Fixture): CheckExpectation {
  const warns: RegExp[] = [];
  let ok = false;
  for (const l of readFileSync(f.abs, 'utf8').split('\n')) {
    if (!/^\s*[#!]/.test(l)) break;
    const m = /^# (check|check-warns): (.+)$/.exec(l);
    if (!m) continue;
    if (m[1] === 'check') {
      assert.equal(m[2]!.trim(), 'ok', `${f.conf}: "# check:" takes ok`);
      ok = true;
    } else warns.push(new RegExp(m[2]!.trim()));
  }
  assert.ok(ok !== (warns.length > 0), `${f.conf}: give "# check: ok" or "# check-warns: ..." lines (one of the two)`);
  return { ok, warns };
}

const fixtures = listFixtures().filter((f) => f.name.startsWith('rules/check-'));
let dir = '';
const runs = new Map<string, { imported: RunResult; file: string; checked: RunResult; strict: RunResult }>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-check-fixtures-'));
  await mapLimit(fixtures, 2, async (f) => {
    const imported = await importFixture(f);
    const file = join(dir, `${f.name.replace(/\//g, '__')}.yaml`);
    writeFileSync(file, imported.stdout);
    const [checked, strict] = [await tandem(['check', '-f', file]), await tandem(['check', '--strict', '-f', file])];
    runs.set(f.name, { imported, file, checked, strict });
  });
});
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

describe('tandem check accepts what keepalived accepts (rules/check-* fixtures)', () => {
  it('there are fixtures for the classes of issue 13 §2', () => {
    const names = fixtures.map((f) => f.name);
    for (const n of ['rules/check-local-mailbox', 'rules/check-smtp-alert-no-server', 'rules/check-sync-group-of-one']) {
      assert.ok(names.includes(n), `${n} is missing (have ${names.join(', ')})`);
    }
  });

  for (const f of fixtures) {
    it(`${f.name}: ${f.header.description}`, () => {
      const expect = checkExpectation(f);
      const r = runs.get(f.name);
      assert.ok(r, `${f.name} was not run`);
      assert.notEqual(r.imported.stdout, '', `tandem import wrote nothing (exit ${r.imported.status}): ${r.imported.stderr}`);
      const shown = `tandem check -f ${relative(REPO_ROOT, r.file)}: exit ${r.checked.status}\n${r.checked.stdout}${r.checked.stderr}`;
      assert.equal(r.checked.status, 0, shown);
      assert.match(r.checked.stdout, /: OK \(/, shown);
      const lines = r.checked.stderr.split('\n').filter(Boolean);
      for (const l of lines) assert.match(l, /^\S+\.yaml:\d+:\d+ warning: /, `every line is a located warning: ${l}`);
      // Each expected warning is there once, and nothing else is.
      for (const re of expect.warns) {
        assert.equal(lines.filter((l) => re.test(l)).length, 1, `one warning matching /${re.source}/\n${shown}`);
      }
      for (const l of lines) assert.ok(expect.warns.some((re) => re.test(l)), `a warning the header does not name: ${l}`);
      if (expect.ok) {
        assert.equal(r.checked.stderr, '', shown);
        assert.equal(r.strict.status, 0, `--strict on a config without warnings: ${r.strict.stderr}`);
      } else {
        assert.match(r.checked.stdout, new RegExp(`; ${lines.length} warnings?, listed on stderr\\)$`, 'm'), shown);
        assert.equal(r.strict.status, 2, `--strict must refuse a config with warnings:\n${r.strict.stdout}${r.strict.stderr}`);
        assert.match(r.strict.stderr, /\(--strict: warnings count as errors\)$/m);
      }
    });
  }
});
