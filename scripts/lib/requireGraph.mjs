// The module graph a bundle holds (scripts/bundle-tandem.mjs, scripts/bundle-yaml.mjs): every file
// reachable from `entry` by a relative require('./x.js'), entry first, each with its code and
// the module number each of its relative requires resolves to.
import { dirname, resolve } from 'node:path';

/**
 * `read(file)` gives the module's CommonJS code and anything else to keep with it:
 * `{ code, ...extra }`. Returns `[{ file, code, deps: { spec: id }, ...extra }]`.
 */
export function collectRequires(entry, read) {
  const ids = new Map();
  const mods = [];
  const visit = (file) => {
    if (ids.has(file)) return ids.get(file);
    const id = mods.length;
    ids.set(file, id);
    const mod = { file, deps: {}, ...read(file) };
    mods.push(mod);
    for (const m of mod.code.matchAll(/\brequire\((['"])([^'"]+)\1\)/g)) {
      const spec = m[2];
      if (!spec.startsWith('.')) continue;
      mod.deps[spec] = visit(resolve(dirname(file), spec));
    }
    return id;
  };
  visit(entry);
  return mods;
}
