// What bin/tandem runs: the CLI (cli.ts main) from the one-script bundle that `npm run build`
// writes (scripts/bundle-tandem.mjs -> dist/vendor/tandem.cjs, compiled from its V8 code cache),
// or from dist/src/cli.js, the ES modules, when there is no bundle, when any module it was built
// from has changed since (a `tsc -p .` after the build: the bundle would run old code), or when
// TANDEM_NO_BUNDLE is set. Why: start-up time (issue 15; docs/architecture.md, "Start-up").
// CommonJS (.cts -> dist/src/boot.cjs), as bin/tandem is (bin/package.json): a CommonJS entry does
// not start Node's ES module loader (with node:fs/promises and node:readline under it), which a
// start that runs the bundle never needs.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

type Main = (argv: string[]) => Promise<number>;
interface Bundle {
  load(id: number): unknown;
  /** The dist/ files it was built from (relative to dist/) and their mtimes then. */
  inputs: [string, number][];
  /** The module URLs evaluated so far (test/unit/cli-imports.test.ts). */
  loadedIds(): string[];
  /** Whether V8 took the code cache (false: the bundle was compiled from source, as after a
   *  cache made under other node flags: scripts/lib/daemonFlags.mjs). Set by loadBundle. */
  cacheAccepted?: boolean;
}

const dist = pathToFileURL(`${__dirname}/../`);

/** The bundle in `dir` (dist/vendor/), if it exists and every module in it is the one in dist/ now. */
export function loadBundle(dir: URL = new URL('vendor/', dist)): Bundle | undefined {
  if (process.env.TANDEM_NO_BUNDLE) return undefined;
  const file = new URL('tandem.cjs', dir);
  let source: string;
  try {
    // latin1: the bundle is ASCII only (scripts/lib/ascii.mjs), and read so it costs ~0.2 ms where
    // decoding it as UTF-8 cost 4-6 ms.
    source = readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
  let cachedData: Buffer | undefined;
  try { cachedData = readFileSync(new URL('tandem.cache', dir)); } catch { cachedData = undefined; }
  // A rejected cache (another V8 or other flags) only means compiling the source as usual.
  const script = new Script(source, { filename: file.pathname, ...(cachedData ? { cachedData } : {}) });
  const b = (script.runInThisContext() as (req: NodeJS.Require, distUrl: string) => Bundle)(createRequire(new URL('src/cli.js', dist)), dist.href);
  // Paths as strings: 163 stat()s of URLs cost ~2 ms of every start (each URL made into a path),
  // of strings ~0.7 ms.
  const distPath = fileURLToPath(dist);
  for (const [rel, mtimeMs] of b.inputs) {
    let now: number;
    try { now = statSync(distPath + rel).mtimeMs; } catch { return undefined; }
    if (now !== mtimeMs) return undefined;
  }
  b.cacheAccepted = cachedData !== undefined && !script.cachedDataRejected;
  return b;
}

/** cli.ts main(), from the bundle when it is current (see above). */
export async function loadMain(): Promise<{ main: Main; bundle: Bundle | undefined }> {
  const b = loadBundle();
  if (b) return { main: (b.load(0) as { main: Main }).main, bundle: b };
  return { main: (await import('./cli.js')).main, bundle: undefined };
}
