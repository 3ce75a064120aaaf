// The import fixtures are real keepalived configs: `keepalived -t` (2.2.7) accepts each one.
// keepalived checks that the interfaces exist, so it runs in a network namespace this test
// creates with eth0 and eth1 (a veth pair: this kernel has no dummy driver), deleted after.
//
// keepalived -t exit codes (keepalived(8) "Exit status", numbered one higher in 2.2.7's binary
// than in its man page): 0 OK; non-zero for config errors; and a separate code when scripts are
// configured without enable_script_security, with only the "SECURITY VIOLATION" line on stderr.
// The fixtures with notify scripts deliberately leave script security off (tandem's
// enable_script_security would refuse scripts that do not exist on the test machine), so that
// code, with nothing else on stderr, counts as accepted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireLabTools } from '../lib/netns.js';

const root = new URL('../../../', import.meta.url).pathname;
const fixtureDir = join(root, 'test/fixtures/keepalived');
const SECURITY_ONLY = /^(SECURITY VIOLATION - scripts are being executed but script_security not enabled\.\n)+$/;

describe('keepalived -t accepts every import fixture', () => {
  const ns = `tandem-imp-${process.pid}`;
  let dir = '';
  const run = (...args: string[]) => spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 20_000 });
  const keepalivedTest = (file: string) => run('ip', 'netns', 'exec', ns, 'keepalived', '-t', '-f', file);

  before(() => {
    requireLabTools('keepalived');
    dir = mkdtempSync(join(tmpdir(), 'tandem-imp-'));
    const steps = [
      ['ip', 'netns', 'add', ns],
      ['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1'],
      ['ip', '-n', ns, 'link', 'set', 'eth0', 'up'],
      ['ip', '-n', ns, 'link', 'set', 'eth1', 'up'],
    ];
    for (const s of steps) {
      const r = run(...s);
      if (r.status !== 0) throw new Error(`${s.join(' ')} failed: ${r.stderr}`);
    }
  });
  after(() => {
    run('ip', 'netns', 'del', ns);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const fixtures = readdirSync(fixtureDir).filter((f) => f.endsWith('.conf')).sort();
  it('there are fixtures to check', () => assert.ok(fixtures.length >= 7));
  for (const f of fixtures) {
    it(f, () => {
      const r = keepalivedTest(join(fixtureDir, f));
      const accepted = r.status === 0 || (r.status === 6 && SECURITY_ONLY.test(r.stderr));
      assert.ok(accepted, `keepalived -t ${f}: exit ${r.status}\n${r.stderr}`);
      if (r.status === 0) assert.equal(r.stderr, '', 'keepalived -t printed warnings');
    });
  }

  it('the check can fail: keepalived -t refuses a fixture with a misspelt keyword', () => {
    const text = readFileSync(join(fixtureDir, 'lvs-dr-director.conf'), 'utf8').replace('priority 150', 'priorty 150');
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, text);
    const r = keepalivedTest(bad);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Unknown keyword 'priorty'/);
  });
});
