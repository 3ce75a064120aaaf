// A scratch directory for one describe() block: created before its tests, removed after them,
// with write(name, text) returning the written file's path.
import { before, after } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  let dir = '';
  before(() => { dir = mkdtempSync(join(tmpdir(), prefix)); });
  after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    get dir() { return dir; },
    write(name: string, text: string) { const p = join(dir, name); writeFileSync(p, text); return p; },
  };
}
