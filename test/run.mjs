#!/usr/bin/env node
// Runs the compiled tests (dist/test/<tier>/**/*.test.js) with node:test and a reporter whose
// last line is `N passed, N failed` (what .ci/run is judged by), and makes that line true:
// - a compiled test whose source test/**/*.test.ts is gone is deleted first, never run;
// - every test file runs with test/lib/no-exit.mjs preloaded, so a test that calls process.exit()
//   fails instead of ending its file and hiding the tests after it;
// - the reporter is told which files run, so a file that reports no test fails (test/reporter.mjs).
// Usage: node test/run.mjs [unit|integration|<substring filter>...]
//        node test/run.mjs --dir DIR   (the *.test.js / *.test.mjs files under DIR: the runner's own test)
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const distTest = join(root, 'dist', 'test');
function walk(dir, ext) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p, ext));
    else if (ext.some((e) => name.endsWith(e))) out.push(p);
  }
  return out;
}

let args = process.argv.slice(2);
let base = distTest;
if (args[0] === '--dir') {
  base = args[1];
  args = args.slice(2);
} else {
  // dist/ is never cleaned by tsc: a test compiled from a source since deleted would keep running.
  for (const f of walk(distTest, ['.test.js'])) {
    const source = join(root, 'test', relative(distTest, f)).replace(/\.js$/, '.ts');
    if (!existsSync(source)) {
      rmSync(f, { force: true });
      rmSync(`${f}.map`, { force: true });
      console.log(`# removed ${relative(root, f)}: its source ${relative(root, source)} no longer exists`);
    }
  }
}
const filters = args;
const files = walk(base, ['.test.js', '.test.mjs'])
  .filter((f) => filters.length === 0 || filters.some((x) => relative(base, f).includes(x)))
  .sort((a, b) => tierRank(a) - tierRank(b) || a.localeCompare(b));
function tierRank(f) { return f.includes('/unit/') ? 0 : f.includes('/integration/') ? 1 : 2; }
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ') || '(all)'}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const fileList = join(tmpdir(), `tandem-test-files-${process.pid}.json`);
writeFileSync(fileList, JSON.stringify(files));
let r;
try {
  r = spawnSync(process.execPath, [
    '--import', join(root, 'test', 'lib', 'no-exit.mjs'),
    '--test', '--test-concurrency=1',
    `--test-reporter=${join(root, 'test', 'reporter.mjs')}`, '--test-reporter-destination=stdout',
    ...files,
  ], { stdio: 'inherit', cwd: root, env: childEnv() });
} finally {
  rmSync(fileList, { force: true });
}
process.exit(r.status ?? 1);

/** The environment of the node --test process: ours, the file list for the reporter, and not
 *  node:test's NODE_TEST_CONTEXT (set when this runner is itself run from a test, it would make
 *  the inner run report to its parent instead of through our reporter).
 *  Nor NODE_EXTRA_CA_CERTS: Node 20 reads and parses that bundle at every process start, before
 *  any code runs (`node -e 1` 0.13 s with /etc/ssl/certs/ca-certificates.crt, 0.04 s without,
 *  measured here), and the tests start a node process per test file and many more (daemons, CLI
 *  runs). Their TLS is all to their own servers with their own self-signed certificates, which no
 *  extra CA would vouch for. */
function childEnv() {
  const env = { ...process.env, TANDEM_TEST_FILES: fileList };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}
