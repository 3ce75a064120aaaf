// What each command loads (start-up time, issue 15): `tandem check` loads the config modules and
// not the daemon, the status API, the LB/check code or the lab; `tandem run` does not load the lab;
// `--version` loads no config module.
// Checked both ways bin/tandem can run (src/boot.cts): from the bundle (its list of evaluated
// modules) and from the ES modules (a loader hook that records every module loaded).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadBundle } from '../../src/boot.cjs';

const root = new URL('../../../', import.meta.url).pathname;
const boot = pathToFileURL(join(root, 'dist/src/boot.cjs')).href;

/** dist/src/... paths of the modules a command loaded, from a bundle in bundleDir. */
function viaBundle(bundleDir: string, args: string[]): { status: number | null; modules: string[]; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { loadBundle } = await import(${JSON.stringify(boot)});
    const bundle = loadBundle(new URL(${JSON.stringify(pathToFileURL(bundleDir + '/').href)}));
    if (!bundle) { console.error('the bundle built for this test is not current'); process.exit(9); }
    process.stdout.write = () => true;
    const code = await bundle.load(0).main(${JSON.stringify(args)});
    process.stderr.write('\\nMODULES ' + JSON.stringify(bundle.loadedIds()) + '\\n');
    process.exit(code);
  `], { encoding: 'utf8', cwd: root });
  const line = r.stderr.split('\n').find((l) => l.startsWith('MODULES ')) ?? 'MODULES []';
  return { status: r.status, modules: (JSON.parse(line.slice(8)) as string[]).map(rel), stderr: r.stderr };
}

/** The same from the ES modules (TANDEM_NO_BUNDLE), through a loader hook. */
function viaEsm(hook: string, args: string[]): { status: number | null; modules: string[]; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(hook).href, join(root, 'bin/tandem'), ...args],
    { encoding: 'utf8', cwd: root, env: { ...process.env, TANDEM_NO_BUNDLE: '1' } });
  const modules = r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => rel(l.slice(7)));
  return { status: r.status, modules, stderr: r.stderr };
}

const rel = (url: string) => url.replace(pathToFileURL(root).href, '');
const under = (mods: string[], dir: string) => mods.filter((m) => m.startsWith(`dist/src/${dir}/`));

describe('the modules each command loads', () => {
  let dir = '';
  let hook = '';
  let badRun = '';
  let bundleDir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-cli-imports-'));
    // A bundle of the modules in dist/ now (dist/vendor/'s is stale after a bare tsc -p .).
    bundleDir = join(dir, 'vendor');
    const b = spawnSync(process.execPath, [join(root, 'scripts/bundle-tandem.mjs'), bundleDir], { encoding: 'utf8', cwd: root });
    assert.equal(b.status, 0, b.stderr);
    hook = join(dir, 'hook.mjs');
    // register() runs the hooks off the main thread; they report on stderr, which the child shares.
    writeFileSync(hook, `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
export async function load(url, context, next) { process.stderr.write('LOADED ' + url + '\\\\n'); return next(url, context); }
\`));
`);
    // An interface no host has: `tandem run` stops at VRRP's start (exit 1), after loading what it loads.
    badRun = join(dir, 'run.yaml');
    writeFileSync(badRun, `global:\n  router_id: lb1\n  status_socket: ${join(dir, 'tandem.sock')}\nvrrp_instances:\n` +
      '  - { name: VI_1, interface: tandemnone0, virtual_router_id: 1, priority: 100, advert_int: 1, virtual_ipaddresses: [192.0.2.100/24] }\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a bundle is used only while every module in it is unchanged (else bin/tandem runs the ES modules)', () => {
    const at = pathToFileURL(bundleDir + '/');
    assert.ok(loadBundle(at), 'current right after it was built');
    // The same bundle, but one module's recorded mtime is not the one in dist/ now (as after tsc -p .).
    const other = join(dir, 'other');
    mkdirSync(other);
    const text = readFileSync(join(bundleDir, 'tandem.cjs'), 'utf8');
    const changed = text.replace(/\["src\/version\.js",([0-9.]+)\]/, (_m, t: string) => `["src/version.js",${Number(t) - 1000}]`);
    assert.notEqual(changed, text);
    writeFileSync(join(other, 'tandem.cjs'), changed);
    assert.equal(loadBundle(pathToFileURL(other + '/')), undefined, 'a module rewritten since the bundle');
    assert.ok(loadBundle(at));
    process.env.TANDEM_NO_BUNDLE = '1';
    try { assert.equal(loadBundle(at), undefined, 'TANDEM_NO_BUNDLE'); } finally { delete process.env.TANDEM_NO_BUNDLE; }
  });

  for (const [how, run] of [['bundle', (a: string[]) => viaBundle(bundleDir, a)], ['ES modules', (a: string[]) => viaEsm(hook, a)]] as const) {
    it(`check loads config/ but not daemon/, api/, lb/, check/, alert/ or lab/ (${how})`, () => {
      const r = run(['check', '-f', 'conf/lb1.yaml']);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.modules.includes('dist/src/cli.js') && r.modules.includes('dist/src/config/load.js'), r.modules.join(' '));
      for (const d of ['daemon', 'api', 'lb', 'check', 'alert', 'lab', 'vrrp', 'net']) assert.deepEqual(under(r.modules, d), [], `${d}/ loaded by check`);
    });

    it(`--version loads no config/ module (${how})`, () => {
      const r = run(['--version']);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.modules.includes('dist/src/cli.js'), r.modules.join(' '));
      assert.deepEqual(under(r.modules, 'config'), []);
    });

    it(`run loads the daemon but not lab/ (${how})`, () => {
      const r = run(['run', '-f', badRun]);
      assert.equal(r.status, 1, r.stderr);
      assert.ok(r.modules.includes('dist/src/daemon/run.js') && r.modules.includes('dist/src/vrrp/router.js'), r.modules.join(' '));
      assert.deepEqual(under(r.modules, 'lab'), []);
    });
  }
});
