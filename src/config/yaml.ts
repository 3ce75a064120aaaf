// The `yaml` package, loaded fast: every config module takes yaml's values (isMap, Parser, ...) from
// here, and its types from 'yaml' (type-only imports, erased).
// Why: require('yaml') reads, resolves and compiles the package's 72 CommonJS files, 35-80 ms of
// every `tandem run` / `tandem check` (more on a loaded machine). `npm run build` writes them as
// one script with V8's code cache (scripts/bundle-yaml.mjs -> dist/vendor/yaml.cjs, yaml.cache);
// compiled from the cache it loads in about 3 ms. The bundle is used only when it was built from the
// installed package's version; otherwise (a bare `tsc -p .`, or the package upgraded since the
// bundle was built) this is plain require('yaml'). test/unit/yaml-bundle.test.ts checks the bundle
// against the package.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Script } from 'node:vm';
import type * as Yaml from 'yaml';

type YamlModule = typeof Yaml;
const nodeRequire = createRequire(import.meta.url);
const bundleUrl = new URL('../../vendor/yaml.cjs', import.meta.url);
const cacheUrl = new URL('../../vendor/yaml.cache', import.meta.url);

/** How yaml was loaded: 'bundle+cache' (the code cache was accepted), 'bundle', or 'package'. */
export let yamlSource: 'bundle+cache' | 'bundle' | 'package' = 'package';

/** The bundle's package, or undefined when it is missing or built from another yaml version. */
export function loadYamlBundle(bundle: URL = bundleUrl, cache: URL = cacheUrl): { yaml: YamlModule; version: string; hash: string; cacheAccepted: boolean } | undefined {
  let source: string;
  try {
    // latin1: the bundle is ASCII only (scripts/lib/ascii.mjs), which reads several times faster.
    source = readFileSync(bundle, 'latin1');
  } catch {
    return undefined;
  }
  let cachedData: Buffer | undefined;
  try { cachedData = readFileSync(cache); } catch { cachedData = undefined; }
  // V8 rejects a cache made by another V8 version, with other flags, or for another source: then it
  // compiles the source as usual (cachedDataRejected), no harm done.
  const script = new Script(source, { filename: bundle.pathname, ...(cachedData ? { cachedData } : {}) });
  const made = (script.runInThisContext() as (req: NodeJS.Require) => { yaml: YamlModule; version: string; hash: string })(nodeRequire);
  if (made.version !== installedYamlVersion()) return undefined;
  return { ...made, cacheAccepted: cachedData !== undefined && !script.cachedDataRejected };
}

/** The installed package's version: its package.json where npm puts it (node_modules/ at the
 *  package's root), read as a file, or else where Node's resolution finds it. Why not always
 *  require('yaml/package.json'): the first JSON require of a start resolves the package's exports
 *  map and loads Node's JSON loader, 3.2 ms before the first advert, the file read 0.4 ms. */
export function installedYamlVersion(): string {
  let text: string;
  try {
    text = readFileSync(new URL('../../../node_modules/yaml/package.json', import.meta.url), 'utf8');
  } catch {
    return (nodeRequire('yaml/package.json') as { version: string }).version;
  }
  return (JSON.parse(text) as { version: string }).version;
}

function loadYaml(): YamlModule {
  const b = loadYamlBundle();
  if (b) {
    yamlSource = b.cacheAccepted ? 'bundle+cache' : 'bundle';
    return b.yaml;
  }
  return nodeRequire('yaml') as YamlModule;
}

const y = loadYaml();

// Values, and for the classes the type of the same name, as 'yaml' exports them.
export const { isAlias, isMap, isScalar, isSeq, parseDocument, CST } = y;
export const Composer = y.Composer;
export type Composer = Yaml.Composer;
export const LineCounter = y.LineCounter;
export type LineCounter = Yaml.LineCounter;
export const Parser = y.Parser;
export type Parser = Yaml.Parser;
export const YAMLParseError = y.YAMLParseError;
export type YAMLParseError = Yaml.YAMLParseError;
export const YAMLMap = y.YAMLMap;
export type YAMLMap<K = unknown, V = unknown> = Yaml.YAMLMap<K, V>;
