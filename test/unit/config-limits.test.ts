// Issue 12 §1: config nesting that used to crash the loader (an uncaught RangeError) or come out
// as "1:1 YAML syntax: Maximum call stack size exceeded". Past the documented limit (block, flow
// and alias-expanded forms) the file is refused with a located error, exit 2 from the CLI; a YAML
// syntax error is located where it is.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatConfigError } from '../../src/config/errors.js';
import { loadConfigText } from '../../src/config/load.js';
import { MAX_NESTING } from '../../src/config/nesting.js';
import { crossCheckLbBackend } from '../../src/config/lbBackend.js';
import type { Config } from '../../src/config/model.js';
import { LineCounter, YAMLMap } from 'yaml';

const root = new URL('../../../', import.meta.url).pathname;
const tandem = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin/tandem'), ...args], { encoding: 'utf8', cwd: root, timeout: 60_000 });

function load(text: string) {
  const r = loadConfigText(text, 'lb.yaml', { hostname: 'h' });
  return { ok: r.ok, errors: r.ok ? [] : r.errors.map(formatConfigError), config: r.ok ? r.config : undefined };
}

/** `global.router_id` nested in `n` flow lists: the document is n + 2 levels deep. */
const flowLists = (n: number) => `global:\n  router_id: ${'['.repeat(n)}${']'.repeat(n)}\n`;
/** A block mapping `n` levels deep from the root (k0: k1: ... one more space each). */
const blockMaps = (n: number) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' 1\n';
/** Anchors x0..xn, each three lists around the one before: x_i is 3(i + 1) deep, the text 5. */
const aliasChain = (n: number) => 'defs:\n  a0: &x0 [[[1]]]\n' +
  Array.from({ length: n }, (_, i) => `  a${i + 1}: &x${i + 1} [[[*x${i}]]]`).join('\n') + '\n';

const TOO_DEEP = new RegExp(`nested deeper than ${MAX_NESTING} levels of mappings and lists`);

describe('config nesting limit', () => {
  it('the limit is 64, as the README documents', () => {
    assert.equal(MAX_NESTING, 64);
    assert.match(readFileSync(join(root, 'README.md'), 'utf8'), /nested at most 64 levels deep/);
  });

  it('flow lists: 64 levels load (and reach the validators), 65 are refused where the 65th opens', () => {
    const ok = load(flowLists(62));
    assert.deepEqual(ok.errors, ['lb.yaml:2:14 global.router_id: expected a router id, got a list']);
    const deep = load(flowLists(63));
    // `  router_id: ` is 13 characters, so the 63rd `[` (the 65th level) is column 13 + 63.
    assert.deepEqual(deep.errors, [`lb.yaml:2:76 global.router_id[0][0][0][0]...[0]: ${TOO_DEEP.source} (the limit; a real config needs about 10): refusing`]);
  });

  it('the issue\'s 2 KB file (router_id: in 1,000 lists) is refused at the same place, not reported as a syntax error', () => {
    const r = load(`router_id: ${'['.repeat(1000)}${']'.repeat(1000)}\n`);
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0]!, /^lb\.yaml:1:75 router_id(\[0\]){5}\.\.\.\[0\]: nested deeper than 64 levels/);
    assert.doesNotMatch(r.errors[0]!, /YAML syntax|call stack/);
  });

  it('block mappings: 64 levels load, 65 and 2,000 are refused at the key that opens the 65th', () => {
    assert.deepEqual(load(blockMaps(64)).errors, ['lb.yaml:1:1 k0: unknown key']);
    for (const n of [65, 2000]) {
      const r = load(blockMaps(n));
      assert.equal(r.errors.length, 1, `${n}: ${r.errors.join('\n')}`);
      assert.match(r.errors[0]!, /^lb\.yaml:65:65 k0\.k1\.k2\.k3\.k4\.k5\.\.\.\.k63: nested deeper than 64 levels/, String(n));
    }
  });

  it('a pair inside a flow list is a mapping of its own and counts as a level', () => {
    const pair = (n: number) => `global:\n  router_id: ${'['.repeat(n)}a: 1${']'.repeat(n)}\n`;
    assert.deepEqual(load(pair(61)).errors, ['lb.yaml:2:14 global.router_id: expected a router id, got a list']);
    assert.match(load(pair(62)).errors[0]!, /^lb\.yaml:2:76 global\.router_id\[0\].*: nested deeper than 64 levels/);
  });

  it('aliases: a chain whose text is 5 deep but expands past 64 is refused at the alias that pulls it in', () => {
    // a_i holds x_i: 2 levels (root, defs) + 3(i + 1). a19 is 62 deep, a20 is 65.
    assert.deepEqual(load(aliasChain(19)).errors, ['lb.yaml:1:1 defs: unknown key']);
    const r = load(aliasChain(20) + 'global:\n  router_id: *x20\n');
    assert.deepEqual(r.errors, [
      'lb.yaml:22:16 defs.a20[0][0][0]: nested deeper than 64 levels of mappings and lists once the alias *x19 here is expanded' +
      ' (the limit; a real config needs about 10): refusing',
    ]);
    // 1,000 anchors deep: the same single refusal, no stack overflow in the expansion.
    const long = load(aliasChain(1000));
    assert.equal(long.errors.length, 1);
    assert.match(long.errors[0]!, /^lb\.yaml:22:16 defs\.a20.*once the alias \*x19 here is expanded/);
  });

  it('aliases within the limit still validate as the node they name', () => {
    const r = load('vrrp_scripts:\n  - { name: chk, script: &s /usr/bin/true, weight: 0 }\n  - { name: chk2, script: *s, weight: 0 }\n');
    assert.equal(r.ok, true, r.errors.join('\n'));
    assert.deepEqual(r.config!.vrrpScripts.map((s) => s.argv), [['/usr/bin/true'], ['/usr/bin/true']]);
  });

  it('a YAML syntax error is located where it is, not at 1:1', () => {
    assert.deepEqual(load('global:\n  router_id: lb1\nvrrp_instances:\n  - name: [a\n').errors,
      ['lb.yaml:5:1 YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]']);
    assert.deepEqual(load('global: {}\n---\nglobal: {}\n').errors,
      ['lb.yaml:2:1 YAML syntax: a config is one YAML document; this is the start of a second one']);
  });

  it('a reader that runs out of stack within the limit (a small stack) says so, located, instead of "YAML syntax"', () => {
    // 100 kB of stack cannot compose 64 levels (the default ~1 MB composes ~800). What the
    // composer does then must still come out as a refusal that tells the truth.
    const script = `import { loadConfigText } from ${JSON.stringify(join(root, 'dist/src/config/load.js'))};\n` +
      `const r = loadConfigText(${JSON.stringify(flowLists(62))}, 'lb.yaml', { hostname: 'h' });\n` +
      'process.stdout.write(JSON.stringify(r.ok ? null : r.errors));\n';
    const r = spawnSync(process.execPath, ['--stack-size=100', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const errors = JSON.parse(r.stdout) as Array<{ line: number; col: number; message: string }>;
    assert.equal(errors.length, 1, r.stdout);
    assert.equal(errors[0]!.line, 2);
    assert.ok(errors[0]!.col > 14, r.stdout);
    assert.match(errors[0]!.message, /^reading this ran out of stack \(Maximum call stack size exceeded\) within the nesting limit of 64: refusing$/);
  });

  describe('from the command line', () => {
    let dir = '';
    before(() => { dir = mkdtempSync(join(tmpdir(), 'tandem-limits-')); });
    after(() => rmSync(dir, { recursive: true, force: true }));

    for (const [name, text, where] of [
      ['flow', `router_id: ${'['.repeat(1000)}${']'.repeat(1000)}\n`, ':1:75 router_id'],
      ['block', blockMaps(2000), ':65:65 k0.k1'],
    ] as const) {
      it(`check and run exit 2 on the 1,000-deep ${name} file with one located error and no stack trace`, () => {
        const f = join(dir, `${name}.yaml`);
        writeFileSync(f, text);
        const check = tandem('check', '-f', f);
        assert.equal(check.status, 2, check.stderr);
        const lines = check.stderr.split('\n');
        assert.equal(lines.length, 3, check.stderr);
        assert.ok(lines[0]!.startsWith(`${f}${where}`), check.stderr);
        assert.match(lines[0]!, /: nested deeper than 64 levels of mappings and lists \(the limit; a real config needs about 10\): refusing$/);
        assert.deepEqual(lines.slice(1), [`${f}: 1 error`, '']);
        // run refuses at load, before it needs root or opens a socket.
        const run = tandem('run', '-f', f);
        assert.equal(run.status, 2, run.stdout + run.stderr);
        assert.match(run.stdout + run.stderr, new RegExp(`ERROR ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}${where.replace(/[.[\]]/g, '\\$&')}.*nested deeper than 64 levels`));
        assert.match(run.stdout + run.stderr, /refusing to start: 1 config error/);
        for (const out of [check.stderr, run.stdout + run.stderr]) assert.doesNotMatch(out, /RangeError|    at |call stack/);
      });
    }
  });
});

describe('long flat lists do not overflow the stack either', () => {
  it('200,000 backend errors are all reported (push(...errors) of that many threw a RangeError)', () => {
    // A model as toModel() builds it, cut down to what the nft check reads: one service, 200,000
    // real servers forwarding by DR, which nftables cannot do (one located error each).
    const realServers = Array.from({ length: 200_000 }, () => ({ dest: { forwarding: 'DR', port: 80 } }));
    const config = {
      global: { backend: 'nft' },
      virtualServers: [{ family: 4, sorryServer: null, realServers,
        service: { scheduler: 'rr', pe: null, ops: false, persistence: null, masquerade: false, id: { kind: 'inet', port: 80 } } }],
    } as unknown as Config;
    const lineCounter = new LineCounter();
    lineCounter.addNewLine(0); // a text of one line: errors without a node are at 1:1
    const ctx = { file: 'lb.yaml', lineCounter, issues: [] };
    crossCheckLbBackend(config, new YAMLMap(), ctx);
    assert.equal(ctx.issues.length, 200_000);
    assert.match(formatConfigError(ctx.issues[199_999]!), /^lb\.yaml:1:1 virtual_servers\[0\]\.real_servers\[199999\]\.lb_kind: the nft backend forwards by NAT \(DNAT\) only, not DR$/);
  });
});
