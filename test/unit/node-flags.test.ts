// bin/tandem passes node the daemon's V8 flags (src/daemon/nodeFlags.ts) on its first line, so
// that a service started from the unit file runs as the benches, the lab and the tests measure.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/nodeFlags.js';

it('bin/tandem\'s first line is `#!/usr/bin/env -S node` with DAEMON_NODE_FLAGS', () => {
  const first = readFileSync(fileURLToPath(new URL('../../../bin/tandem', import.meta.url)), 'utf8').split('\n')[0];
  assert.equal(first, `#!/usr/bin/env -S node ${DAEMON_NODE_FLAGS.join(' ')}`);
});

// V8 rejects a code cache made under other flags: the build's bundlers make theirs under
// DAEMON_NODE_FLAGS (scripts/lib/daemonFlags.mjs), else every `tandem` start compiles its whole
// bundle from source (0.09 s -> 0.17 s for `tandem check`). The bundles `npm run build` wrote.
it('the build\'s code caches (dist/vendor) are accepted by a node running with DAEMON_NODE_FLAGS', () => {
  const boot = pathToFileURL(fileURLToPath(new URL('../../src/boot.cjs', import.meta.url))).href;
  const yaml = pathToFileURL(fileURLToPath(new URL('../../src/config/yaml.js', import.meta.url))).href;
  const src = `const { loadBundle } = (await import(${JSON.stringify(boot)})).default;
    const b = loadBundle();
    const y = (await import(${JSON.stringify(yaml)})).loadYamlBundle();
    console.log(JSON.stringify({ tandem: b === undefined ? 'no bundle' : b.cacheAccepted, yaml: y === undefined ? 'no bundle' : y.cacheAccepted }));`;
  const r = spawnSync(process.execPath, [...DAEMON_NODE_FLAGS, '--input-type=module', '-e', src], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { tandem: true, yaml: true });
});
