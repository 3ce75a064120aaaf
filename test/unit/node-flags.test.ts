// bin/tandem passes node the daemon's V8 flags (src/daemon/nodeFlags.ts) on its first line, so
// that a service started from the unit file runs as the benches, the lab and the tests measure.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/nodeFlags.js';

it('bin/tandem\'s first line is `#!/usr/bin/env -S node` with DAEMON_NODE_FLAGS', () => {
  const first = readFileSync(fileURLToPath(new URL('../../../bin/tandem', import.meta.url)), 'utf8').split('\n')[0];
  assert.equal(first, `#!/usr/bin/env -S node ${DAEMON_NODE_FLAGS.join(' ')}`);
});
