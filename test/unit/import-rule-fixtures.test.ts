// The keepalived rule fixtures (test/fixtures/keepalived/rules/, issue 13 §4 for the §1 classes):
// `tandem import [import-args] FILE`, run from the repository root as an operator runs it, gives
// exactly the golden stdout (NAME.yaml), stderr (NAME.stderr) and exit code (NAME.exit), and
// `tandem check` accepts every conversion. UPDATE_GOLDEN=1 rewrites the goldens (then review the
// diff). keepalived -t on the same files: test/integration/import-rule-fixtures.test.ts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listRuleFixtures, parseRuleHeader, REPO_ROOT } from '../lib/rule-fixtures.js';

const tandem = (args: string[]) => spawnSync(process.execPath, [join(REPO_ROOT, 'bin/tandem'), ...args], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60_000 });
const UPDATE = process.env.UPDATE_GOLDEN === '1';

/** One fixture per keepalived rule of issue 13 §1. */
const CLASSES: Record<string, string> = {
  'unicast-peer-prefix': 'unicast_src_ip / unicast_peer with a prefix',
  'lb-kind-case': 'lb_kind / lb_algo compared as keepalived compares them',
  'repeated-keywords': 'a keyword given twice in one block',
  'vrrp-strict': 'vrrp_strict',
  'master-nopreempt': 'state MASTER with nopreempt',
  'nb-get-retry-tcp': 'nb_get_retry inside TCP_CHECK',
  'no-protocol': 'a virtual_server with no protocol',
  'dropped-references': 'a track_script naming no script, sync groups with no members',
  'conditional-config-id': 'conditional lines and --config-id',
  'virtual-server-group': 'virtual_server_group ranges and fwmarks',
  'smtp-check-hosts': 'SMTP_CHECK host blocks',
  'ipvs-backend': 'a keepalived.conf means IPVS',
};

describe('keepalived rule fixtures: tandem import goldens and tandem check', () => {
  const fixtures = listRuleFixtures();
  let dir = '';
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tandem-rule-fixtures-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('there is a fixture for every rule class, and no other', () => {
    assert.deepEqual(fixtures.map((f) => f.name).sort(), Object.keys(CLASSES).sort());
  });

  it('the header parser refuses a fixture without its header lines', () => {
    assert.throws(() => parseRuleHeader('vrrp_instance VI_1 {\n}\n', 'x.conf'), /needs "# fixture:" and "# keepalived-t:"/);
    assert.throws(() => parseRuleHeader('# fixture: a\n# keepalived-t: maybe\n', 'x.conf'), /must be "ok" or "warns <regex>"/);
  });

  for (const f of fixtures) {
    it(`${f.name}: the goldens, and tandem check accepts the conversion`, () => {
      const r = tandem(['import', ...f.importArgs, f.conf]);
      assert.equal(r.error, undefined);
      const stem = join(REPO_ROOT, 'test/fixtures/keepalived/rules', f.name);
      if (UPDATE) {
        writeFileSync(`${stem}.yaml`, r.stdout);
        writeFileSync(`${stem}.stderr`, r.stderr);
        writeFileSync(`${stem}.exit`, `${r.status}\n`);
      }
      for (const ext of ['yaml', 'stderr', 'exit']) assert.ok(existsSync(`${stem}.${ext}`), `${f.name}.${ext} is missing: run with UPDATE_GOLDEN=1`);
      assert.equal(r.stdout, readFileSync(`${stem}.yaml`, 'utf8'), `${f.name}: stdout differs from ${f.name}.yaml`);
      assert.equal(r.stderr, readFileSync(`${stem}.stderr`, 'utf8'), `${f.name}: stderr differs from ${f.name}.stderr`);
      assert.equal(`${r.status}\n`, readFileSync(`${stem}.exit`, 'utf8'), `${f.name}: exit code`);
      // Exit 0 exactly when there is no note.
      assert.equal(r.status === 0, r.stderr === '', `${f.name}: exit ${r.status} with stderr:\n${r.stderr}`);
      assert.ok(r.status === 0 || r.status === 3, `${f.name}: exit ${r.status}`);
      const out = join(dir, `${f.name}.yaml`);
      writeFileSync(out, r.stdout);
      const check = tandem(['check', '-f', out]);
      assert.equal(check.status, 0, `tandem check refuses the conversion of ${f.name}:\n${check.stderr}`);
    });
  }
});
