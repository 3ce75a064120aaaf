// node:test reporter: one line per test (ok / FAIL with the error), failures repeated at the end,
// and a closing line `N passed, N failed`.
import { relative } from 'node:path';

export default async function* reporter(source) {
  let passed = 0;
  let failed = 0;
  const failures = [];
  for await (const ev of source) {
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') {
      if (ev.type === 'test:stderr' || ev.type === 'test:stdout') yield ev.data.message;
      continue;
    }
    const d = ev.data;
    // Count leaves only: a suite (or a file wrapper) is reported by its tests.
    if (d.details?.type === 'suite') continue;
    const file = d.file ? relative(process.cwd(), d.file) : '';
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
      failed++;
      const err = d.details?.error;
      const msg = err?.cause?.stack ?? err?.cause?.message ?? err?.stack ?? String(err);
      failures.push(`${file} ${d.name}\n${indent(msg)}`);
      yield `FAIL ${d.name} (${file}, ${ms} ms)\n${indent(msg)}\n`;
    }
  }
  if (failures.length) yield `\nFailures:\n${failures.map((f) => `- ${f}`).join('\n')}\n\n`;
  yield `${passed} passed, ${failed} failed\n`;
}
function indent(s) { return String(s).split('\n').map((l) => `    ${l}`).join('\n'); }
