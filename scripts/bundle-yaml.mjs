#!/usr/bin/env node
// Build step (npm run build, after tsc): the `yaml` package's CommonJS files (node_modules/yaml/dist,
// 74 files) as one script, dist/vendor/yaml.cjs, plus V8's code cache for it, dist/vendor/yaml.cache.
// Why: requiring the package's 74 files costs about 35 ms of every `tandem` start (resolving,
// stat-ing and compiling each one); one file compiled from its code cache costs a few
// (docs/architecture.md, "Start-up"). src/config/yaml.ts loads it and falls back to the package
// when the bundle is missing or was built from another version.
//
// The bundle is the package's own code, unchanged but for its few non-ASCII characters written as
// \u escapes (lib/ascii.mjs), each file wrapped in a CommonJS module function;
// relative require()s are resolved here to module numbers, anything else (node's `process`,
// `buffer`) goes to Node's require. test/unit/yaml-bundle.test.ts checks that it equals the package.
//
//   node scripts/bundle-yaml.mjs [OUT_DIR]    (default dist/vendor)
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { collectRequires, moduleLoaderSource } from './lib/requireGraph.mjs';
import { asciiSource } from './lib/ascii.mjs';
import { reexecWithDaemonFlags } from './lib/daemonFlags.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const pkgJson = require.resolve('yaml/package.json');
const pkgDir = dirname(pkgJson);
const version = JSON.parse(readFileSync(pkgJson, 'utf8')).version;
const entry = require.resolve('yaml');

/** Every file reachable from the entry by relative require('./x.js'), entry first. */
export function collect() {
  return collectRequires(entry, (file) => ({ code: readFileSync(file, 'utf8') }));
}

/** The package's files, hashed in path order: the same hash means the same package code. */
export function packageHash(mods) {
  const h = createHash('sha256');
  for (const m of [...mods].sort((a, b) => (a.file < b.file ? -1 : 1))) h.update(relative(pkgDir, m.file)).update('\0').update(m.code).update('\0');
  return h.digest('hex');
}

/** Writes yaml.cjs and yaml.cache into outDir. */
export function bundle(outDir) {
  const mods = collect();
  const hash = packageHash(mods);
  const defs = mods.map((m) => `// ${relative(pkgDir, m.file)}\n[function (module, exports, require) {\n${m.code}\n}, ${JSON.stringify(m.deps)}]`);
  // The script's value is a function of Node's require (for the built-in modules): it returns the
  // package's exports, loading each module once, on first require, as Node does (cycles included).
  // ASCII only, read back as latin1 (lib/ascii.mjs: a start reads it several times faster).
  const source = asciiSource(`(function (nodeRequire) {
  'use strict';
  ${moduleLoaderSource(defs)}
  const yaml = load(0);
  return { yaml, version: ${JSON.stringify(version)}, hash: ${JSON.stringify(hash)} };
  })`, 'yaml.cjs');

  mkdirSync(outDir, { recursive: true });
  const bundleFile = join(outDir, 'yaml.cjs');
  writeFileSync(bundleFile, source);
  // The code cache is made after running the bundle and parsing a config, so that the functions a
  // start compiles (V8 compiles lazily) are in it too.
  const script = new vm.Script(source, { filename: bundleFile });
  const { yaml } = script.runInThisContext()(require);
  yaml.parseDocument(readFileSync(join(root, 'conf', 'lb1.yaml'), 'utf8'));
  // As config/load.ts reads a file: tokens with line numbers, then one composed document.
  const lc = new yaml.LineCounter();
  const tokens = Array.from(new yaml.Parser(lc.addNewLine).parse(readFileSync(join(root, 'conf', 'lb2.yaml'), 'utf8')));
  for (const doc of new yaml.Composer({ uniqueKeys: false }).compose(tokens, true)) doc.toJS();
  writeFileSync(join(outDir, 'yaml.cache'), script.createCachedData());
  console.log(`scripts/bundle-yaml.mjs: yaml ${version}, ${mods.length} files -> ${relative(root, bundleFile)} (${source.length} bytes, code cache ${readFileSync(join(outDir, 'yaml.cache')).length} bytes)`);
  return { version, hash, files: mods.length, bundleFile };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // The code cache is V8's under the daemon's flags, or bin/tandem would reject it (lib/daemonFlags.mjs).
  await reexecWithDaemonFlags(fileURLToPath(import.meta.url), process.argv.slice(2));
  bundle(resolve(process.argv[2] ?? join(root, 'dist', 'vendor')));
}
