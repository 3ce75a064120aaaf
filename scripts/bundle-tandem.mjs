#!/usr/bin/env node
// Build step (npm run build, after tsc and scripts/bundle-yaml.mjs): tandem's own compiled modules
// (dist/src/**, every module cli.js can reach, static or dynamic import) as one script,
// dist/vendor/tandem.cjs, plus V8's code cache for it, dist/vendor/tandem.cache.
// Why: Node 20 loads each ES module with its own asynchronous open/stat/read/close and its own
// compile; the 80 modules before `tandem run`'s first advert cost 60-120 ms on this machine (more
// when it is loaded), one script compiled from its code cache a few ms (docs/architecture.md,
// "Start-up"). src/boot.cts (bin/tandem) runs it, or dist/src/cli.js as before when the bundle is
// missing, older than any module it holds (a `tsc -p .` after the bundle), or TANDEM_NO_BUNDLE is set.
//
// Each module is the compiled ES module turned into CommonJS by TypeScript's own transpiler
// (ts.transpileModule: imports -> require, dynamic import() -> a promise of require), wrapped in a
// module function; `import.meta.url` is the module's own dist/src URL (where dist/ is when it runs),
// so that paths built from it
// (the addon, package.json, the yaml bundle, the reload worker) are the ones the ES module uses.
//
//   node scripts/bundle-tandem.mjs [OUT_DIR]    (default dist/vendor)
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { collectRequires, moduleLoaderSource } from './lib/requireGraph.mjs';
import { reexecWithDaemonFlags } from './lib/daemonFlags.mjs';
import { asciiSource } from './lib/ascii.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const ts = require('typescript');

/** Every module reachable from dist/src/cli.js by a relative import, entry first. */
export function collect(entry = join(root, 'dist', 'src', 'cli.js')) {
  return collectRequires(entry, (file) => {
    const out = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false, inlineSourceMap: false },
    });
    const code = out.outputText.replace(/\bimport\.meta\.url\b/g, '__importMetaUrl').replace(/^\/\/# sourceMappingURL=.*$/m, '');
    return { code, mtimeMs: statSync(file).mtimeMs };
  });
}

/** Writes tandem.cjs and tandem.cache into outDir. */
export function bundle(outDir) {
  const mods = collect();
  const distDir = join(root, 'dist');
  // The module functions are parenthesized: V8 compiles them at once (and keeps them in the code
  // cache) instead of on first call.
  const defs = mods.map((m) => `// ${relative(root, m.file)}\n[(function (module, exports, require, __importMetaUrl) {\n${m.code}\n}), ${JSON.stringify(m.deps)}, ${JSON.stringify(relative(distDir, m.file))}]`);
  // The inputs and their mtimes: src/boot.cts runs the bundle only while every one is unchanged.
  const inputs = mods.map((m) => [relative(distDir, m.file), m.mtimeMs]);
  // The script's value is a function of Node's require (built-in modules, packages) and of the
  // dist/ directory's URL (where it is now: the tree may have been moved since the build): it
  // returns the module loader, each module loaded once, on first require, as CommonJS does.
  // ASCII only, read back as latin1 (lib/ascii.mjs: a start reads it several times faster).
  const source = asciiSource(`(function (nodeRequire, distUrl) {
'use strict';
${moduleLoaderSource(defs, 'new URL(rest[0], distUrl).href')}
return { load, inputs: ${JSON.stringify(inputs)}, loadedIds: () => loaded.flatMap((m, i) => (m ? [new URL(defs[i][2], distUrl).href] : [])) };
})`, 'tandem.cjs');
  mkdirSync(outDir, { recursive: true });
  const bundleFile = join(outDir, 'tandem.cjs');
  writeFileSync(bundleFile, source);
  // The code cache after evaluating what `tandem run` and `tandem check` evaluate and reading a
  // config, so that the functions they compile on the way (V8 compiles lazily) are in it too.
  const script = new vm.Script(source, { filename: bundleFile });
  const b = script.runInThisContext()(createRequire(mods[0].file), pathToFileURL(distDir + '/').href);
  const idOf = (rel) => mods.findIndex((m) => m.file === join(distDir, rel));
  for (const rel of ['src/cli.js', 'src/daemon/run.js', 'src/daemon/compose.js', 'src/daemon/composeLate.js']) b.load(idOf(rel));
  const load = b.load(idOf('src/config/load.js'));
  for (const f of ['conf/lb1.yaml', 'conf/lb2.yaml']) load.loadConfigFile(join(root, f));
  writeFileSync(join(outDir, 'tandem.cache'), script.createCachedData());
  console.log(`scripts/bundle-tandem.mjs: ${mods.length} modules -> ${relative(root, bundleFile)} (${source.length} bytes, code cache ${readFileSync(join(outDir, 'tandem.cache')).length} bytes)`);
  return { modules: mods.length, bundleFile };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // The code cache is V8's under the daemon's flags, or bin/tandem would reject it (lib/daemonFlags.mjs).
  await reexecWithDaemonFlags(fileURLToPath(import.meta.url), process.argv.slice(2));
  bundle(resolve(process.argv[2] ?? join(root, 'dist', 'vendor')));
}
