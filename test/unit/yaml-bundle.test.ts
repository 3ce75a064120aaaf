// The yaml bundle (scripts/bundle-yaml.mjs -> dist/vendor/yaml.cjs, loaded by src/config/yaml.ts)
// is the installed `yaml` package: the same files, the same exports, the same documents and errors
// for every config in conf/ and for broken YAML; and tandem really loads it from its code cache
// (that is what makes start-up fast). A bundle from another yaml version is not used.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Yaml from 'yaml';
import { installedYamlVersion, loadYamlBundle } from '../../src/config/yaml.js';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/nodeFlags.js';

const root = new URL('../../../', import.meta.url).pathname;
const pkg = createRequire(join(root, 'package.json'))('yaml') as typeof Yaml;
const script = join(root, 'scripts', 'bundle-yaml.mjs');
const { asciiSource } = await import(pathToFileURL(join(root, 'scripts', 'lib', 'ascii.mjs')).href) as { asciiSource(s: string): string };

interface BundleScript { collect(): { file: string; code: string }[]; packageHash(mods: { file: string; code: string }[]): string; bundle(outDir: string): { hash: string; files: number } }

function attempt(f: () => unknown): unknown {
  try { return f(); } catch (e) { return `throws ${(e as Error).name}: ${(e as Error).message}`; }
}

/** What a parse gives, in a form deepEqual can compare across two copies of the package. */
function outcome(y: typeof Yaml, text: string): unknown {
  const lc = new y.LineCounter();
  const doc = y.parseDocument(text, { lineCounter: lc, uniqueKeys: false });
  return {
    js: attempt(() => doc.toJS()),
    text: attempt(() => String(doc)),
    errors: doc.errors.map((e) => [e.code, e.message, e.pos, lc.linePos(e.pos[0])]),
    warnings: doc.warnings.map((e) => [e.code, e.message]),
    tokens: Array.from(new y.Parser().parse(text)).map((t) => t.type),
  };
}

const BROKEN = [
  'a: [1, 2\n', 'a: b: c\n', 'key: "unterminated\n', '- a\nb: c\n', 'a: &x 1\nb: *y\n', 'a:\n\t- tab\n',
  'a: 1\na: 2\n', '---\na: 1\n---\nb: 2\n', '? [complex]\n: key\n', 'x: !!binary aGVsbG8=\n', '%YAML 1.1\n---\ny: yes\n',
];

describe('the yaml bundle', () => {
  let dir = '';
  let fresh: ReturnType<typeof loadYamlBundle>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-yaml-bundle-'));
    const s = await import(pathToFileURL(script).href) as BundleScript;
    s.bundle(dir);
    fresh = loadYamlBundle(pathToFileURL(join(dir, 'yaml.cjs')), pathToFileURL(join(dir, 'yaml.cache')));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('holds every file of the installed package, unchanged', async () => {
    const s = await import(pathToFileURL(script).href) as BundleScript;
    const mods = s.collect();
    assert.ok(mods.length > 50, `${mods.length} files`);
    const text = readFileSync(join(dir, 'yaml.cjs'), 'utf8');
    for (const m of mods) assert.ok(text.includes(asciiSource(m.code)), `${m.file} is in the bundle as it is (non-ASCII as \\u escapes)`);
    assert.ok(fresh, 'the bundle loads');
    assert.equal(fresh.hash, s.packageHash(mods));
    assert.equal(fresh.version, (createRequire(join(root, 'package.json'))('yaml/package.json') as { version: string }).version);
  });

  it('the bundle in dist/vendor (the one tandem loads) was built from the installed package', async () => {
    const s = await import(pathToFileURL(script).href) as BundleScript;
    const built = loadYamlBundle();
    assert.ok(built, 'dist/vendor/yaml.cjs exists and matches the installed version (npm run build writes it)');
    const mods = s.collect();
    assert.equal(built.hash, s.packageHash(mods), 'dist/vendor/yaml.cjs is stale: run npm run build');
    const text = readFileSync(join(root, 'dist', 'vendor', 'yaml.cjs'), 'utf8');
    for (const m of mods) assert.ok(text.includes(asciiSource(m.code)), `${m.file} is in dist/vendor/yaml.cjs as it is (non-ASCII as \\u escapes)`);
  });

  it('exports what the package exports', () => {
    const b = fresh!.yaml;
    assert.deepEqual(Object.keys(b).sort(), Object.keys(pkg).sort());
    for (const k of Object.keys(pkg) as (keyof typeof pkg)[]) assert.equal(typeof b[k], typeof pkg[k], k);
    assert.deepEqual(Object.keys(b.CST).sort(), Object.keys(pkg.CST).sort());
  });

  it('parses every config in conf/ and test/fixtures as the package does', () => {
    const files = [
      ...readdirSync(join(root, 'conf')).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(root, 'conf', f)),
    ];
    assert.ok(files.length >= 3, files.join(' '));
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      assert.deepEqual(outcome(fresh!.yaml, text), outcome(pkg, text), f);
    }
  });

  it('reports the same errors as the package for broken YAML', () => {
    for (const text of BROKEN) assert.deepEqual(outcome(fresh!.yaml, text), outcome(pkg, text), JSON.stringify(text));
    assert.ok(BROKEN.some((t) => (outcome(pkg, t) as { errors: unknown[] }).errors.length > 0));
  });

  it('tandem loads it from its V8 code cache', () => {
    // With the daemon's flags, as bin/tandem runs: V8 accepts a cache only under the flags it was made with.
    const r = spawnSync(process.execPath, [...DAEMON_NODE_FLAGS, '--input-type=module', '-e',
      `const m = await import(${JSON.stringify(pathToFileURL(join(root, 'dist/src/config/yaml.js')).href)}); console.log(m.yamlSource);`],
    { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'bundle+cache');
  });

  it('the installed version, read from node_modules/yaml/package.json, is the one Node resolves', () => {
    assert.equal(installedYamlVersion(), (createRequire(join(root, 'dist', 'src', 'config', 'yaml.js'))('yaml/package.json') as { version: string }).version);
  });

  it('a bundle built from another yaml version is not used', () => {
    const f = join(dir, 'other.cjs');
    writeFileSync(f, readFileSync(join(dir, 'yaml.cjs'), 'utf8').replace(/version: "[^"]+"/, 'version: "0.0.0-other"'));
    assert.equal(loadYamlBundle(pathToFileURL(f), pathToFileURL(join(dir, 'none.cache'))), undefined);
  });
});
