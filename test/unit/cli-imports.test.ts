// What each command loads (start-up time, issue 15): `tandem check` loads the config modules and
// not the daemon, the status API, the LB/check code or the lab; `tandem run` does not load the lab.
// Checked both ways bin/tandem can run (src/boot.ts): from the bundle (its list of evaluated
// modules) and from the ES modules (a loader hook that records every module loaded).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('../../../', import.meta.url).pathname;
const boot = pathToFileURL(join(root, 'dist/src/boot.js')).href;

/** dist/src/... paths of the modules a command loaded, from the bundle. */
function viaBundle(args: string[]): { status: number | null; modules: string[]; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { loadMain } = await import(${JSON.stringify(boot)});
    const { main, bundle } = await loadMain();
    if (!bundle) { console.error('no current bundle (npm run build writes dist/vendor/tandem.cjs)'); process.exit(9); }
    process.stdout.write = () => true;
    const code = await main(${JSON.stringify(args)});
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
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-cli-imports-'));
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

  for (const [how, run] of [['bundle', (a: string[]) => viaBundle(a)], ['ES modules', (a: string[]) => viaEsm(hook, a)]] as const) {
    it(`check loads config/ but not daemon/, api/, lb/, check/, alert/ or lab/ (${how})`, () => {
      const r = run(['check', '-f', 'conf/lb1.yaml']);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.modules.includes('dist/src/cli.js') && r.modules.includes('dist/src/config/load.js'), r.modules.join(' '));
      for (const d of ['daemon', 'api', 'lb', 'check', 'alert', 'lab', 'vrrp', 'net']) assert.deepEqual(under(r.modules, d), [], `${d}/ loaded by check`);
    });

    it(`run loads the daemon but not lab/ (${how})`, () => {
      const r = run(['run', '-f', badRun]);
      assert.equal(r.status, 1, r.stderr);
      assert.ok(r.modules.includes('dist/src/daemon/run.js') && r.modules.includes('dist/src/vrrp/router.js'), r.modules.join(' '));
      assert.deepEqual(under(r.modules, 'lab'), []);
    });
  }
});
