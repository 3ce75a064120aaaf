#!/usr/bin/env node
// Runs the compiled tests (dist/test/<tier>/**/*.test.js) with node:test and a reporter whose
// last line is `N passed, N failed` (what .ci/run is judged by).
// Usage: node test/run.mjs [unit|integration|<substring filter>...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const distTest = join(root, 'dist', 'test');
function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = walk(distTest)
  .filter((f) => filters.length === 0 || filters.some((x) => relative(distTest, f).includes(x)))
  .sort((a, b) => tierRank(a) - tierRank(b) || a.localeCompare(b));
function tierRank(f) { return f.includes('/unit/') ? 0 : f.includes('/integration/') ? 1 : 2; }
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ') || '(all)'}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const r = spawnSync(process.execPath, [
  '--test', '--test-concurrency=1',
  `--test-reporter=${join(root, 'test', 'reporter.mjs')}`, '--test-reporter-destination=stdout',
  ...files,
], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
