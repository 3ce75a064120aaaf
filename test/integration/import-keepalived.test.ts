// Every keepalived fixture (test/lib/keepalived-fixtures.ts: the top level, rules/, shapes/) is
// a config Debian's keepalived (2.2.7) accepts: `keepalived -t -f FILE` runs in a network
// namespace this test creates with exactly the interfaces the fixture's `# interfaces:` header
// names (veth pairs: this kernel has no dummy driver; each peer gets a name no fixture uses),
// and its result is judged by the `# keepalived-t:` header (judgeKeepalivedT). keepalived checks
// that the interfaces exist, so a fixture whose header names its interfaces is also run once
// without each of them: keepalived must refuse that, which shows the header names what is
// needed and the namespace is what keepalived judged (a header without `# interfaces:` gets the
// convention's default, eth0 eth1, needed or not). The goldens and `tandem check` on the
// conversions are the unit tier (test/unit/keepalived-fixtures.test.ts).
//
// keepalived -t's exit codes (keepalived/core/main.c config_test_exit(), 2.2.7): 0 no error,
// 4 KEEPALIVED_EXIT_CONFIG (file not found, CONFIG_BAD_IF, CONFIG_FATAL), 5
// KEEPALIVED_EXIT_CONFIG_TEST (any other config error; measured: an instance on a missing
// interface is one), 6 KEEPALIVED_EXIT_CONFIG_TEST_SECURITY (scripts without script security).
// Namespaces are `tkt<pid>-<n>`, each deleted by the test that made it, and any left at the end
// (or by a run that was killed) by this file's hooks.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleNamespaces, requireLabTools, run } from '../lib/netns.js';
import { judgeKeepalivedT, listFixtures, type Fixture, type KeepalivedTExpectation } from '../lib/keepalived-fixtures.js';

const PREFIX = 'tkt';
const live = new Set<string>();
let seq = 0;

/** A namespace holding `interfaces` (each a veth whose peer is `ktpeer<i>`), all up. */
async function namespaceWith(interfaces: string[]): Promise<string> {
  const ns = `${PREFIX}${process.pid}-${++seq}`;
  await run(['ip', 'netns', 'add', ns]);
  live.add(ns);
  for (const [i, name] of interfaces.entries()) {
    await run(['ip', '-n', ns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `ktpeer${i}`]);
    await run(['ip', '-n', ns, 'link', 'set', name, 'up']);
  }
  return ns;
}

async function removeNamespace(ns: string): Promise<void> {
  await run(['ip', 'netns', 'del', ns], { allowFail: true });
  live.delete(ns);
}

async function keepalivedTest(interfaces: string[], file: string): Promise<{ status: number; stderr: string }> {
  const ns = await namespaceWith(interfaces);
  try {
    const r = await run(['ip', 'netns', 'exec', ns, 'keepalived', '-t', '-f', file], { allowFail: true, timeoutMs: 20_000 });
    return { status: r.code, stderr: r.stderr };
  } finally {
    await removeNamespace(ns);
  }
}

let fixtures: Fixture[] = [];
let listError: Error | undefined;
try { fixtures = listFixtures(); } catch (e) { listError = e as Error; }

describe('keepalived -t accepts every fixture, in a namespace with the interfaces its header names', () => {
  let dir = '';
  before(() => {
    requireLabTools('keepalived');
    removeStaleNamespaces(PREFIX);
    dir = mkdtempSync(join(tmpdir(), 'tandem-kt-'));
  });
  after(async () => {
    for (const ns of [...live]) await removeNamespace(ns);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the fixtures are listed (every header valid)', () => {
    if (listError) throw listError;
    assert.ok(fixtures.length >= 32, `${fixtures.length} fixtures`);
  });

  for (const f of fixtures) {
    const minimal = f.header.interfacesGiven ? '; refused without any one of them' : ' (the default)';
    it(`${f.name}: keepalived-t ${f.header.keepalivedT.kind} with ${f.header.interfaces.join(' ')}${minimal}`, async () => {
      const r = await keepalivedTest(f.header.interfaces, f.abs);
      const verdict = judgeKeepalivedT(f.header.keepalivedT, r);
      assert.equal(verdict, undefined, `keepalived -t -f ${f.conf}: ${verdict}`);
      if (!f.header.interfacesGiven) return;
      for (const missing of f.header.interfaces) {
        const without = await keepalivedTest(f.header.interfaces.filter((i) => i !== missing), f.abs);
        assert.notEqual(without.status, 0, `keepalived -t accepts ${f.conf} without ${missing}: drop it from "# interfaces:"\n${without.stderr}`);
        assert.match(without.stderr, new RegExp(`interface ${missing}\\b|Non-existent interface`), `without ${missing}`);
      }
    });
  }

  // The judge and the namespace can fail: each case is a real keepalived -t run.
  const variant = (name: string, edit: (text: string) => string): string => {
    const f = fixtures.find((x) => x.name === name);
    assert.ok(f, `fixture ${name}`);
    const text = readFileSync(f.abs, 'utf8');
    const out = edit(text);
    assert.notEqual(out, text, 'the edit changed nothing');
    const p = join(dir, `${name.replace(/\//g, '__')}.conf`);
    writeFileSync(p, out);
    return p;
  };
  const ok: KeepalivedTExpectation = { kind: 'ok' };

  it('a misspelt keyword is refused (exit 5, "Unknown keyword")', async () => {
    const r = await keepalivedTest(['eth0'], variant('shapes/dr-pair-lb1', (t) => t.replace('priority 150', 'priorty 150')));
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, /Unknown keyword 'priorty'/);
    assert.match(judgeKeepalivedT(ok, r) ?? '', /expected keepalived -t to accept it without a warning/);
  });

  it('exit 6 hides a real error behind script security: "warns" refuses it unless the security line is alone', async () => {
    const f = fixtures.find((x) => x.name === 'shapes/unicast-cloud-haproxy');
    assert.ok(f && f.header.keepalivedT.kind === 'warns');
    const r = await keepalivedTest(['eth0'], variant(f.name, (t) => t.replace('priority 110', 'priorty 110')));
    assert.equal(r.status, 6, r.stderr);
    assert.match(r.stderr, /Unknown keyword 'priorty'/);
    assert.match(judgeKeepalivedT(f.header.keepalivedT, r) ?? '', /printed lines the header's .* does not expect:\n.*Unknown keyword 'priorty'/);
  });

  it('a warning with exit 0 is not "ok" (an include that matches nothing)', async () => {
    const r = await keepalivedTest(['eth0'], variant('shapes/include-services', (t) => t.replace('conf.d/include-services/*.conf', 'conf.d/no-such-dir/*.conf')));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /Config files missing/);
    assert.match(judgeKeepalivedT(ok, r) ?? '', /expected keepalived -t to accept it without a warning/);
    assert.equal(judgeKeepalivedT({ kind: 'warns', pattern: /Config files missing/ }, r), undefined);
  });

  it('exit 5 carries on when every line is a warning the header names (a sync group of one); another line beside it is refused', async () => {
    const f = fixtures.find((x) => x.name === 'rules/check-sync-group-of-one');
    assert.ok(f && f.header.keepalivedT.kind === 'warns');
    const r = await keepalivedTest(f.header.interfaces, f.abs);
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, /^Sync group G1 has only 1 virtual router\(s\) - this probably isn't what you want$/m);
    assert.equal(judgeKeepalivedT(f.header.keepalivedT, r), undefined);
    const broken = await keepalivedTest(f.header.interfaces, variant(f.name, (t) => t.replace('priority 150', 'priorty 150')));
    assert.equal(broken.status, 5, broken.stderr);
    assert.match(broken.stderr, /Unknown keyword 'priorty'/);
    assert.match(broken.stderr, /Sync group G1 has only 1 virtual router/);
    assert.match(judgeKeepalivedT(f.header.keepalivedT, broken) ?? '', /printed lines the header's .* does not expect:\n.*Unknown keyword 'priorty'/);
  });

  it('an interface the namespace lacks is refused (exit 5: the namespace is what keepalived judges)', async () => {
    const r = await keepalivedTest(['eth0'], variant('shapes/nat-pair-lb1', (t) => t.replace('interface eth1', 'interface eth7')));
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, /interface eth7 for vrrp_instance VI_GW doesn't exist/);
  });
});
