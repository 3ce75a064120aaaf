// The keepalived rule fixtures (test/fixtures/keepalived/rules/) are keepalived configs that
// Debian's keepalived 2.2.7 reads as their header says (`keepalived-t: ok`, or `warns <regex>`:
// it warns and carries on, every warning it prints matching the regex). keepalived -t checks
// that the interfaces exist, so it runs in a network namespace this test creates with the
// interfaces the header names (veth pairs: this kernel has no dummy driver), deleted after.
// The judge (test/lib/rule-fixtures.ts judgeKeepalivedT) is shown to refuse a fixture with one
// more, unexpected warning.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireLabTools } from '../lib/netns.js';
import { judgeKeepalivedT, listRuleFixtures } from '../lib/rule-fixtures.js';

const run = (...args: string[]) => spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 20_000 });

describe('keepalived -t reads every rule fixture as its header says', () => {
  const fixtures = listRuleFixtures();
  /** One namespace per set of interfaces, named by this process. */
  const namespaces = new Map<string, string>();
  let dir = '';

  const namespaceFor = (interfaces: string[]): string => {
    const key = [...interfaces].sort().join(' ');
    const have = namespaces.get(key);
    if (have) return have;
    const ns = `tandem-kr${process.pid}-${namespaces.size}`;
    const made = run('ip', 'netns', 'add', ns);
    if (made.status !== 0) throw new Error(`ip netns add ${ns}: ${made.stderr}`);
    namespaces.set(key, ns);
    // Pairs of the named interfaces; an odd one out gets a peer of its own name's making.
    for (let i = 0; i < interfaces.length; i += 2) {
      const a = interfaces[i]!;
      const b = interfaces[i + 1] ?? `${a.slice(0, 11)}-pr`;
      for (const step of [
        ['ip', '-n', ns, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b],
        ['ip', '-n', ns, 'link', 'set', a, 'up'],
        ['ip', '-n', ns, 'link', 'set', b, 'up'],
      ]) {
        const r = run(...step);
        if (r.status !== 0) throw new Error(`${step.join(' ')} failed: ${r.stderr}`);
      }
    }
    return ns;
  };
  const keepalivedT = (ns: string, file: string) => run('ip', 'netns', 'exec', ns, 'keepalived', '-t', '-f', file);

  before(() => {
    requireLabTools('keepalived');
    dir = mkdtempSync(join(tmpdir(), 'tandem-kr-'));
  });
  after(() => {
    for (const ns of namespaces.values()) run('ip', 'netns', 'del', ns);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('there are rule fixtures to check', () => assert.ok(fixtures.length >= 12, String(fixtures.length)));

  for (const f of fixtures) {
    it(`${f.name} (keepalived-t: ${f.keepalivedT.kind})`, () => {
      const r = keepalivedT(namespaceFor(f.interfaces), f.abs);
      assert.equal(r.error, undefined, String(r.error));
      const why = judgeKeepalivedT(f.keepalivedT, r);
      assert.equal(why, undefined, `${f.conf}: ${why}`);
    });
  }

  it('the judge can fail: an unexpected warning in a "warns" fixture, and any warning in an "ok" one', () => {
    const warns = fixtures.find((f) => f.name === 'lb-kind-case')!;
    const bad = join(dir, 'lb-kind-case-typo.conf');
    writeFileSync(bad, readFileSync(warns.abs, 'utf8').replace('  delay_loop 6\n', '  delay_loop 6\n  delay_lop 6\n'));
    const r = keepalivedT(namespaceFor(warns.interfaces), bad);
    assert.match(r.stderr, /Unknown keyword 'delay_lop'/);
    assert.match(judgeKeepalivedT(warns.keepalivedT, r) ?? '', /does not expect:\n.*delay_lop/);
    const ok = fixtures.find((f) => f.name === 'ipvs-backend')!;
    const bad2 = join(dir, 'ipvs-backend-warning.conf');
    writeFileSync(bad2, readFileSync(ok.abs, 'utf8').replace('  lb_kind DR\n', '  lb_kind dr\n'));
    const r2 = keepalivedT(namespaceFor(ok.interfaces), bad2);
    assert.match(judgeKeepalivedT(ok.keepalivedT, r2) ?? '', /expected keepalived -t to accept it without a warning/);
  });
});
