// The bundles' V8 code caches (bundle-yaml.mjs, bundle-tandem.mjs) must be made by a node running
// with the daemon's flags (src/daemon/nodeFlags.ts, which bin/tandem passes): V8 keeps a hash of
// its flags in a cache and rejects one made under other flags (--max-semi-space-size included),
// and a rejected cache means compiling the whole bundle again at every start (`tandem check`
// 0.09 s -> 0.17 s on the machine of docs/benchmarks.md). Run as a script, a bundler calls
// reexecWithDaemonFlags() first: without the flags it runs itself again with them and exits.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const flagsModule = new URL('../../dist/src/daemon/nodeFlags.js', import.meta.url);

/** The daemon's node flags, from the compiled src/daemon/nodeFlags.ts (tsc runs first). */
export async function daemonFlags() {
  if (!existsSync(flagsModule)) throw new Error(`${flagsModule.pathname} is missing: run tsc -p . before the bundlers`);
  return (await import(flagsModule.href)).DAEMON_NODE_FLAGS;
}

/** Returns when this process has the daemon's flags; else runs `script` again with them and exits with its status. */
export async function reexecWithDaemonFlags(script, args) {
  const flags = await daemonFlags();
  if (flags.every((f) => process.execArgv.includes(f))) return;
  const r = spawnSync(process.execPath, [...flags, script, ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
