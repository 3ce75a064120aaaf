// node:test reporter: one line per test (ok / FAIL with the error), failures repeated at the end,
// and a closing line `N passed, N failed` that counts what really happened:
// - leaves (tests) are counted; a suite is counted only when it fails by itself (a hook that
//   failed, a describe body that threw), not when it fails because a test in it did;
// - a file-level result is not a test: a file whose process failed (a crash, a non-zero exit)
//   counts as one failure, and a file that reported no test at all (it registered none, or it
//   ended before reporting any) counts as one failure too. The runner (test/run.mjs) passes the
//   list of files in TANDEM_TEST_FILES.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

export default async function* reporter(source) {
  let passed = 0;
  let failed = 0;
  const failures = [];
  const files = process.env.TANDEM_TEST_FILES ? JSON.parse(readFileSync(process.env.TANDEM_TEST_FILES, 'utf8')) : [];
  const leavesByFile = new Map(files.map((f) => [f, 0]));
  const failedFiles = new Set();
  const fail = (file, name, msg) => {
    failed++;
    failures.push(`${file} ${name}\n${indent(msg)}`);
    return `FAIL ${name} (${file})\n${indent(msg)}\n`;
  };
  for await (const ev of source) {
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') {
      if (ev.type === 'test:stderr' || ev.type === 'test:stdout') yield ev.data.message;
      continue;
    }
    const d = ev.data;
    const file = d.file ? relative(process.cwd(), d.file) : '';
    const err = d.details?.error;
    const msg = err?.cause?.stack ?? err?.cause?.message ?? err?.stack ?? String(err);
    if (d.nesting === 0 && d.file && d.name === d.file) {
      // The file itself (node:test wraps each file's process in a test named after it).
      if (ev.type === 'test:fail') { failedFiles.add(d.file); yield fail(file, 'the test file failed (crashed, or exited non-zero)', msg); }
      continue;
    }
    if (d.details?.type === 'suite') {
      if (ev.type === 'test:fail' && err?.failureType !== 'subtestsFailed') {
        if (d.file) failedFiles.add(d.file);
        yield fail(file, `${d.name} (the suite itself: ${err?.failureType ?? 'failed'})`, msg);
      }
      continue;
    }
    if (d.file) leavesByFile.set(d.file, (leavesByFile.get(d.file) ?? 0) + 1);
    const ms = d.details?.duration_ms?.toFixed(0) ?? '?';
    if (ev.type === 'test:pass') {
      if (d.skip || d.todo) {
        failed++;
        failures.push(`${file} ${d.name}: skipped/todo tests count as failures`);
        yield `SKIP ${d.name} (${file}) counted as failed\n`;
        continue;
      }
      passed++;
      yield `ok   ${d.name} (${ms} ms)\n`;
    } else {
      yield fail(`${file}, ${ms} ms`, d.name, msg);
    }
  }
  for (const [f, n] of leavesByFile) {
    if (n === 0 && !failedFiles.has(f)) yield fail(relative(process.cwd(), f), 'the file reported no test (it registers none, or ended before reporting any)', '');
  }
  if (failures.length) yield `\nFailures:\n${failures.map((f) => `- ${f}`).join('\n')}\n\n`;
  yield `${passed} passed, ${failed} failed\n`;
}
function indent(s) { return String(s).split('\n').map((l) => `    ${l}`).join('\n'); }
