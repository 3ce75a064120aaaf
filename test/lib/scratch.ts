// A scratch directory for one describe() block: created before its tests, removed after them,
// with write(name, text) returning the written file's path.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ScratchDir {
  /** The directory (set once the before() hook has run). */
  readonly dir: string;
  /** Writes `text` to `name` in the directory; returns its path. */
  write(name: string, text: string): string;
}

/** Call inside describe(): registers the before/after hooks that create and remove the directory. */
export function scratchDir(prefix: string): ScratchDir {
  return scratch(prefix, false);
}

/** scratchDir for tests that chown files: before() first asserts it runs as root, and the
 *  directory is made mode 0755 (mkdtemp makes it 0700). */
export function rootScratchDir(prefix: string): ScratchDir {
  return scratch(prefix, true);
}

function scratch(prefix: string, root: boolean): ScratchDir {
  let dir = '';
  before(() => {
    if (root) assert.equal(process.geteuid?.(), 0, 'this test chowns files and needs root');
    dir = mkdtempSync(join(tmpdir(), prefix));
    if (root) chmodSync(dir, 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    get dir() { return dir; },
    write(name: string, text: string) { const p = join(dir, name); writeFileSync(p, text); return p; },
  };
}
