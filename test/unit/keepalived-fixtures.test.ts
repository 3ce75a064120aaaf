// The keepalived fixture harness (issue 13 §4), unit tier (no root): every fixture under
// test/fixtures/keepalived (top level, rules/, shapes/: test/lib/keepalived-fixtures.ts) is
// imported with `node bin/tandem import [import-args] <conf>` from the repository root, its
// stdout / stderr / exit code must equal the goldens beside it (NAME.yaml, NAME.stderr,
// NAME.exit), and `tandem check` must accept the converted file (exit 0; warnings allowed).
// Then it counts how many fixtures convert with no note and pass check, and holds every note to
// the list of keywords tandem does not convert yet (test/lib/keepalived-not-converted.ts).
// keepalived -t on the same fixtures is in test/integration/import-keepalived.test.ts.
//
// UPDATE_GOLDEN=1 node test/run.mjs keepalived-fixtures   rewrites the goldens from this
// branch's importer; review them with `git diff test/fixtures/keepalived` before committing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  FIXTURE_DIRS, FIXTURE_ROOT, REPO_ROOT, importFixture, lineDiff, listFixtures, mapLimit, parseHeader, parseNotes, tandem,
  type Fixture, type RunResult,
} from '../lib/keepalived-fixtures.js';
import { NOT_CONVERTED_YET, noteKeywords } from '../lib/keepalived-not-converted.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const REGENERATE = 'UPDATE_GOLDEN=1 node test/run.mjs keepalived-fixtures rewrites the goldens (then review git diff test/fixtures/keepalived)';

/**
 * Conversions `tandem check` refuses on a machine without IPVS only because main's importer
 * does not write `global.backend: ipvs`: with `backend: auto` check judges the virtual servers
 * against this machine's nft backend (DR, TUN, wlc, lc, ops are IPVS-only). A keepalived.conf
 * means IPVS, and issue 13 §1 has the importer say so (branch i13-import). Each entry must still
 * lack `global.backend` in its output, so the list goes stale loudly once the importer writes it.
 */
const REFUSED_UNTIL_IMPORT_WRITES_BACKEND_IPVS = new Set([
  'ipv6-vrrpv3', 'lvs-dr-director', 'lvs-nat-checkers',
  'shapes/dns-resolvers', 'shapes/dr-pair-lb1', 'shapes/dr-pair-lb2', 'shapes/fwmark-ipv6-dr', 'shapes/lvs-tun',
]);

/** Documentation ranges (RFC 5737, RFC 3849) and MCAST-TEST-NET (RFC 5771) for a multicast group. */
const DOC_V4 = [/^192\.0\.2\.\d+$/, /^198\.51\.100\.\d+$/, /^203\.0\.113\.\d+$/, /^233\.252\.0\.\d+$/];
function isNetmask(a: string): boolean {
  const bits = a.split('.').map(Number).reduce((acc, o) => acc * 256 + o, 0).toString(2).padStart(32, '0');
  return /^1+0*$/.test(bits);
}
/** The IP addresses in a fixture's text that are not documentation addresses. */
function undocumentedAddresses(text: string): string[] {
  const bad: string[] = [];
  const noComments = text.split('\n').map((l) => l.replace(/^\s*[#!].*$/, '')).join('\n');
  for (const m of noComments.matchAll(/(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.])/g)) {
    const a = m[1]!;
    // A range's first address (192.0.2.10-20) matches too; a netmask (persistence_granularity) is not an address.
    if (!DOC_V4.some((re) => re.test(a)) && !isNetmask(a)) bad.push(a);
  }
  for (const m of noComments.matchAll(/(?<![\w:])([0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{0,4}){2,7})(?![\w:])/g)) {
    if (!/^2001:db8:/i.test(m[1]!)) bad.push(m[1]!);
  }
  return bad;
}

function readGolden(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** Compares one fixture's run with its goldens; every mismatch is described with a diff. */
function goldenMismatches(f: Fixture, r: RunResult): string[] {
  const problems: string[] = [];
  const parts: [string, string, string][] = [
    ['exit code', f.golden.exit, `${r.status}\n`],
    ['stdout', f.golden.yaml, r.stdout],
    ['stderr', f.golden.stderr, r.stderr],
  ];
  for (const [what, path, actual] of parts) {
    const golden = readGolden(path);
    const file = relative(REPO_ROOT, path);
    if (golden === undefined) problems.push(`${file}: no golden for the ${what}`);
    else if (golden !== actual) problems.push(`${file}: the ${what} differs from the golden (- golden, + now):\n${lineDiff(golden, actual)}`);
  }
  return problems;
}

let fixtures: Fixture[] = [];
let listError: Error | undefined;
try { fixtures = listFixtures(); } catch (e) { listError = e as Error; }

describe('keepalived fixtures: the corpus', () => {
  it('every fixture has a valid header (a throw here names the file)', () => {
    if (listError) throw listError;
    assert.ok(fixtures.length > 0);
  });

  it('at least 25 operator shapes, each with a one-line description and the interfaces keepalived -t needs', () => {
    const shapes = fixtures.filter((f) => f.name.startsWith('shapes/'));
    assert.ok(shapes.length >= 25, `${shapes.length} shapes`);
    for (const f of shapes) {
      assert.ok(f.header.description.length >= 20, `${f.conf}: the fixture line says too little`);
      // Named, not defaulted, so that the integration test proves each one is needed.
      assert.ok(f.header.interfacesGiven, `${f.conf}: no "# interfaces:" line`);
    }
  });

  it('fixtures use documentation addresses only (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)', () => {
    const offenders: string[] = [];
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : /\.(conf|conf\.off)$/.test(e.name) ? [join(dir, e.name)] : []);
    const files = walk(FIXTURE_ROOT);
    assert.ok(files.length >= fixtures.length);
    for (const file of files) {
      const bad = undocumentedAddresses(readFileSync(file, 'utf8'));
      if (bad.length) offenders.push(`${relative(REPO_ROOT, file)}: ${bad.join(' ')}`);
    }
    assert.deepEqual(offenders, []);
  });

  it('the address lint catches an address outside the documentation ranges', () => {
    assert.deepEqual(undocumentedAddresses('real_server 10.0.0.1 80 {\n  2001:db8::1\n  fd00::1\n}\n# 10.9.9.9 in a comment\n'), ['10.0.0.1', 'fd00::1']);
    assert.deepEqual(undocumentedAddresses('persistence_granularity 255.255.255.0\nvrrp_mcast_group4 233.252.0.18\n192.0.2.10-20 80\n'), []);
  });

  it('every golden belongs to a fixture (no orphan .yaml / .stderr / .exit)', () => {
    const expected = new Set(fixtures.flatMap((f) => [f.golden.yaml, f.golden.stderr, f.golden.exit]));
    const orphans: string[] = [];
    for (const dir of FIXTURE_DIRS) {
      const abs = join(FIXTURE_ROOT, dir);
      if (!existsSync(abs)) continue;
      for (const e of readdirSync(abs)) {
        const p = join(abs, e);
        if (/\.(yaml|stderr|exit)$/.test(e) && !expected.has(p)) orphans.push(relative(REPO_ROOT, p));
      }
    }
    assert.deepEqual(orphans, []);
  });

  it('header parsing: defaults, both keepalived-t forms, and located errors', () => {
    const h = parseHeader('# fixture: a pair\n# keepalived-t: ok\n\nvrrp_instance X {\n}\n', 'x.conf');
    assert.deepEqual(h, { description: 'a pair', interfaces: ['eth0', 'eth1'], interfacesGiven: false, importArgs: [], keepalivedT: { kind: 'ok' } });
    const w = parseHeader('# fixture: f\n# interfaces: eth2\n# import-args: --config-id lb1\n# keepalived-t: warns no protocol set\n', 'w.conf');
    assert.deepEqual([w?.interfaces, w?.interfacesGiven], [['eth2'], true]);
    assert.deepEqual(w?.importArgs, ['--config-id', 'lb1']);
    assert.ok(w?.keepalivedT.kind === 'warns' && w.keepalivedT.pattern.test('Virtual server x: no protocol set - defaulting to UDP'));
    assert.equal(parseHeader('! Configuration File for keepalived\nglobal_defs {\n}\n', 'legacy.conf'), undefined);
    // A header line below the first statement is not part of the header.
    assert.equal(parseHeader('global_defs {\n}\n# fixture: late\n# keepalived-t: ok\n', 'late.conf'), undefined);
    assert.throws(() => parseHeader('# fixture: f\n# keepalived-t: maybe\n', 'b.conf'), /b\.conf:2: keepalived-t must be "ok" or "warns <regex>"/);
    assert.throws(() => parseHeader('# fixture: f\n', 'c.conf'), /c\.conf: header "# keepalived-t: \.\.\." is missing/);
    assert.throws(() => parseHeader('# fixture: f\n# fixture: g\n# keepalived-t: ok\n', 'd.conf'), /d\.conf:2: header "fixture" given twice/);
    assert.throws(() => parseHeader('# fixture: f\n# interfaces: eth0 a/b\n# keepalived-t: ok\n', 'e.conf'), /e\.conf:2: interfaces: "a\/b"/);
  });

  it('a golden mismatch is shown as a diff with line numbers', () => {
    const d = lineDiff('a\nb\nc\nd\ne\nf\ng\nh\n', 'a\nb\nc\nd\nE\nf\ng\nh\ni\n');
    // Both texts end in a newline, so the last context line is the empty one after it.
    assert.equal(d, '@@ golden line 2, now line 2 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n+i\n ');
  });
});

// Every fixture is imported and its output checked once, for the goldens and for the count.
let workDir = '';
const runs = new Map<string, { imported: RunResult; checked: RunResult }>();
before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'tandem-fixtures-'));
  await mapLimit(fixtures, 2, async (f) => {
    const imported = await importFixture(f);
    if (UPDATE) {
      writeFileSync(f.golden.yaml, imported.stdout);
      writeFileSync(f.golden.stderr, imported.stderr);
      writeFileSync(f.golden.exit, `${imported.status}\n`);
    }
    const outFile = join(workDir, `${f.name.replace(/\//g, '__')}.yaml`);
    writeFileSync(outFile, imported.stdout);
    const checked = await tandem(['check', '-f', outFile]);
    runs.set(f.name, { imported, checked });
  });
});
after(() => { if (workDir) rmSync(workDir, { recursive: true, force: true }); });

function runOf(f: Fixture): { imported: RunResult; checked: RunResult } {
  const r = runs.get(f.name);
  assert.ok(r, `${f.name} was not run`);
  return r;
}

describe('keepalived fixtures: tandem import matches the goldens, tandem check accepts the result', () => {
  it('every entry of the known-refusal list is a fixture', () => {
    const names = new Set(fixtures.map((f) => f.name));
    assert.deepEqual([...REFUSED_UNTIL_IMPORT_WRITES_BACKEND_IPVS].filter((n) => !names.has(n)), []);
  });

  for (const f of fixtures) {
    it(`${f.name}: import matches its goldens`, () => {
      const problems = goldenMismatches(f, runOf(f).imported);
      assert.ok(problems.length === 0, `${f.conf}:\n${problems.join('\n')}\n${REGENERATE}`);
    });

    it(`${f.name}: tandem check accepts the conversion`, () => {
      const r = runOf(f);
      assert.notEqual(r.imported.stdout, '', `tandem import wrote nothing (exit ${r.imported.status}):\n${r.imported.stderr}`);
      const shown = `tandem check -f ${f.name}.yaml: exit ${r.checked.status}\n${r.checked.stdout}${r.checked.stderr}`;
      if (!REFUSED_UNTIL_IMPORT_WRITES_BACKEND_IPVS.has(f.name)) {
        assert.equal(r.checked.status, 0, shown);
        return;
      }
      const backend = (parseYaml(r.imported.stdout) as { global?: { backend?: unknown } } | null)?.global?.backend;
      assert.equal(backend, undefined, `the importer now writes global.backend: ${String(backend)}: remove ${f.name} from REFUSED_UNTIL_IMPORT_WRITES_BACKEND_IPVS`);
      if (r.checked.status === 0) return; // a machine with IPVS: auto is ipvs there
      assert.equal(r.checked.status, 2, shown);
      const lines = r.checked.stderr.split('\n').filter((l) => l !== '' && !/:\d+:\d+ warning: /.test(l));
      assert.ok(lines.length > 0 && lines.every((l) => l.includes('the nft backend') || l.includes('is the nft backend on this machine')),
        `refused for more than the nft backend's limits:\n${shown}`);
    });
  }
});

describe('keepalived fixtures: how many convert with no note and pass tandem check', () => {
  /** `tandem import` converted the file: 0 (no loss), or 3 (converted with notes, issue 13 §1). */
  const converted = (r: RunResult) => r.status === 0 || r.status === 3;

  it('every fixture converts (exit 0 or 3) and every stderr line is a note or its summary', () => {
    const problems: string[] = [];
    for (const f of fixtures) {
      const { imported } = runOf(f);
      if (!converted(imported)) problems.push(`${f.conf}: exit ${imported.status}: ${imported.stderr}`);
      const { unknown } = parseNotes(imported.stderr);
      for (const l of unknown) problems.push(`${f.conf}: a stderr line that is not a note (update parseNotes if the format changed): ${l}`);
    }
    assert.deepEqual(problems, []);
  });

  it('prints the count (and why each other fixture is not clean)', () => {
    const clean: string[] = [];
    const why: string[] = [];
    for (const f of fixtures) {
      const { imported, checked } = runOf(f);
      const { notes } = parseNotes(imported.stderr);
      if (converted(imported) && notes.length === 0 && checked.status === 0) { clean.push(f.name); continue; }
      const reasons = [
        ...(notes.length ? [`${notes.length} note(s): ${[...new Set(notes.flatMap(noteKeywords))].join(', ')}`] : []),
        ...(checked.status !== 0 ? [`tandem check exits ${checked.status}`] : []),
        ...(!converted(imported) ? [`import exits ${imported.status}`] : []),
      ];
      why.push(`#   ${f.name}: ${reasons.join('; ')}`);
    }
    console.log(`# ${clean.length} of ${fixtures.length} fixtures convert with no note and pass tandem check`);
    for (const l of why) console.log(l);
    const notesPerKeyword = new Map<string, number>();
    for (const f of fixtures) {
      for (const k of parseNotes(runOf(f).imported.stderr).notes.flatMap(noteKeywords)) notesPerKeyword.set(k, (notesPerKeyword.get(k) ?? 0) + 1);
    }
    console.log('# keywords noted (notes; issue that builds it; kind):');
    for (const [k, n] of [...notesPerKeyword].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) {
      const e = NOT_CONVERTED_YET[k];
      console.log(`#   ${k}: ${n}; ${e ? `${e.issue}; ${e.kind}` : 'NOT ON THE LIST'}`);
    }
    assert.equal(clean.length + why.length, fixtures.length);
    assert.equal(fixtures.length, runs.size);
  });

  it('every note names a keyword on the not-converted-yet list (test/lib/keepalived-not-converted.ts)', () => {
    const unlisted: string[] = [];
    for (const f of fixtures) {
      for (const n of parseNotes(runOf(f).imported.stderr).notes) {
        for (const k of noteKeywords(n)) if (!Object.hasOwn(NOT_CONVERTED_YET, k)) unlisted.push(`${n.file}:${n.line}: ${k} (note: ${n.keyword}: ${n.reason})`);
      }
    }
    assert.deepEqual(unlisted, [], 'convert these keywords, or list them in NOT_CONVERTED_YET with the issue that will build them');
  });

  it('every keyword on the list is still named by some fixture\'s note (the list stays true)', () => {
    const named = new Set(fixtures.flatMap((f) => parseNotes(runOf(f).imported.stderr).notes.flatMap(noteKeywords)));
    const stale = Object.keys(NOT_CONVERTED_YET).filter((k) => !named.has(k));
    assert.deepEqual(stale, [], 'no note names these any more: they are converted now (delete them from NOT_CONVERTED_YET) or no fixture uses them (add one)');
  });

  it('notes are read as tandem import writes them: an IPv6 VIP, a group, options; other lines are reported', () => {
    const { notes, unknown } = parseNotes([
      'not converted: shapes/a.conf:16: 2001:db8::10/64: options ignored: dev eth1 no_track; tandem adds the VIP on the instance\'s interface',
      'not converted: shapes/a.conf:26: virtual_server: virtual_server group (virtual_server_group) is not supported: block not converted',
      'not converted: shapes/a.conf:7: use_vmac: no tandem equivalent',
      'shapes/a.conf: 3 keywords not converted (listed above and at the top of the output)',
      'something else',
    ].join('\n') + '\n');
    assert.deepEqual(notes.map((n) => [n.file, n.line, n.keyword]), [['shapes/a.conf', 16, '2001:db8::10/64'], ['shapes/a.conf', 26, 'virtual_server'], ['shapes/a.conf', 7, 'use_vmac']]);
    assert.deepEqual(notes.map(noteKeywords), [['virtual_ipaddress dev', 'virtual_ipaddress no_track'], ['virtual_server group'], ['use_vmac']]);
    assert.deepEqual(unknown, ['something else']);
    assert.deepEqual(noteKeywords({ keyword: '192.0.2.1/24', reason: 'options ignored: dev eth0 frobnicate; ...' }), ['virtual_ipaddress dev', '?frobnicate']);
  });
});
