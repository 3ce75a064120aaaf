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

/**
 * The body of a bundle's module loader: `defs` (one `[moduleFunction, deps, ...rest]` per module,
 * as source text), `loaded`, and `load(id)`, which runs each module once, on first require, as
 * CommonJS does (cycles included). A relative require goes to its module number, anything else to
 * `nodeRequire`. `moreArgs`: source text of extra arguments of every module function call (it can
 * use `rest`, the def's elements after deps).
 */
export function moduleLoaderSource(defs, moreArgs = '') {
  return `const defs = [
${defs.join(',\n')}
];
const loaded = new Array(defs.length);
function load(id) {
  if (loaded[id]) return loaded[id].exports;
  const module = loaded[id] = { exports: {} };
  const [fn, deps, ...rest] = defs[id];
  fn.call(module.exports, module, module.exports, (spec) => (Object.hasOwn(deps, spec) ? load(deps[spec]) : nodeRequire(spec))${moreArgs ? `, ${moreArgs}` : ''});
  return module.exports;
}`;
}
