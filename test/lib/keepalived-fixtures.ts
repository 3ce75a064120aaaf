// The keepalived fixture corpus (issue 13 §4) and what the harness needs to judge it:
// discovery, the header convention, the goldens, running `tandem import` / `tandem check`, a
// line diff for golden mismatches, and the judge of a `keepalived -t` result.
//
// A fixture is a `.conf` file directly in test/fixtures/keepalived/ (the first corpus, issue 5),
// in rules/ (one per keepalived rule or check class) or in shapes/ (the configs operators run).
// Files in deeper directories (conf.d/...) are only included by fixtures. Each fixture starts
// with header comment lines:
//   # fixture: <one line: what it shows>
//   # interfaces: eth0 eth1          what keepalived -t's namespace must have (default eth0 eth1)
//   # import-args: --config-id lb1   optional extra `tandem import` arguments
//   # keepalived-t: ok | warns <regex>
// and has goldens beside it: NAME.yaml (stdout of `node bin/tandem import [import-args]
// test/fixtures/keepalived/<dir>/NAME.conf` run from the repository root), NAME.stderr and
// NAME.exit. The top-level fixtures predate the header; their headers are in LEGACY_HEADERS
// below, so that their line numbers (asserted in test/unit/import.test.ts) stay as they are.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const REPO_ROOT = new URL('../../../', import.meta.url).pathname;
export const FIXTURE_ROOT = join(REPO_ROOT, 'test/fixtures/keepalived');
export const FIXTURE_DIRS = ['', 'rules', 'shapes'] as const;
const TANDEM_BIN = join(REPO_ROOT, 'bin/tandem');

export type KeepalivedTExpectation = { kind: 'ok' } | { kind: 'warns'; pattern: RegExp };

export interface FixtureHeader {
  description: string;
  interfaces: string[];
  /** The header names its interfaces (else the default eth0 eth1 applies, needed or not). */
  interfacesGiven: boolean;
  importArgs: string[];
  keepalivedT: KeepalivedTExpectation;
}

export interface Fixture {
  /** `shapes/nat-pair-lb1`, `rules/...`, or `lvs-dr-director` for a top-level one. */
  name: string;
  /** The .conf path relative to the repository root, as the goldens' command line gives it. */
  conf: string;
  abs: string;
  header: FixtureHeader;
  golden: { yaml: string; stderr: string; exit: string };
}

const DEFAULT_INTERFACES = ['eth0', 'eth1'];

/** keepalived -t exits 6 with only the script-security line for vrrp_scripts without enable_script_security. */
const warnsSecurity: KeepalivedTExpectation = { kind: 'warns', pattern: /SECURITY VIOLATION - scripts are being executed but script_security not enabled/ };

/**
 * Headers of the fixtures that came before the convention (measured with keepalived 2.2.7 -t in
 * a namespace with eth0 and eth1: the two with vrrp_scripts exit 6 with only the security line).
 */
export const LEGACY_HEADERS: Record<string, FixtureHeader> = {
  'ipv6-vrrpv3': { description: 'dual stack: an IPv6 VIP and an IPv4 VIP in VRRPv3 at 500 ms, an IPv6 DR service', interfaces: ['eth0'], interfacesGiven: true, importArgs: [], keepalivedT: { kind: 'ok' } },
  'lvs-dr-director': { description: 'LVS-DR director: mail alerts, PASS auth, a VIP with dev/label, HTTP and SSL checks with digests', interfaces: ['eth0'], interfacesGiven: true, importArgs: [], keepalivedT: { kind: 'ok' } },
  'lvs-nat-checkers': { description: 'LVS-NAT director: an excluded gateway VIP, every checker type, a sorry server, a fwmark service', interfaces: ['eth0', 'eth1'], interfacesGiven: true, importArgs: [], keepalivedT: { kind: 'ok' } },
  'sync-groups': { description: 'firewall pair: a sync group, track script, process and file, group notify scripts', interfaces: ['eth0', 'eth1'], interfacesGiven: true, importArgs: [], keepalivedT: warnsSecurity },
  'unicast-cloud': { description: 'cloud pair: unicast VRRP, nopreempt, a track script, notify scripts with quoted arguments', interfaces: ['eth0'], interfacesGiven: true, importArgs: [], keepalivedT: warnsSecurity },
  'unsupported': { description: 'valid keepalived with keywords tandem has no equivalent for', interfaces: ['eth0'], interfacesGiven: true, importArgs: [], keepalivedT: { kind: 'ok' } },
  'with-include': { description: 'a main file that includes its services with a glob (conf.d/*.conf)', interfaces: ['eth0'], interfacesGiven: true, importArgs: [], keepalivedT: { kind: 'ok' } },
};

const HEADER_KEYS = ['fixture', 'interfaces', 'import-args', 'keepalived-t'] as const;
type HeaderKey = (typeof HEADER_KEYS)[number];

/**
 * The header of a fixture's text: undefined when it has none of the header keys; throws with
 * the file and line when a header is malformed (a duplicate or unknown value, a missing key).
 * The header is the run of comment lines at the top of the file.
 */
export function parseHeader(text: string, file: string): FixtureHeader | undefined {
  const found = new Map<HeaderKey, { value: string; line: number }>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!/^\s*[#!]/.test(l)) break;
    const m = /^# ([a-z-]+): ?(.*)$/.exec(l);
    if (!m || !(HEADER_KEYS as readonly string[]).includes(m[1]!)) continue;
    const key = m[1] as HeaderKey;
    if (found.has(key)) throw new Error(`${file}:${i + 1}: header "${key}" given twice`);
    found.set(key, { value: m[2]!.trim(), line: i + 1 });
  }
  if (found.size === 0) return undefined;
  const need = (k: HeaderKey) => {
    const v = found.get(k);
    if (!v || v.value === '') throw new Error(`${file}: header "# ${k}: ..." is missing or empty`);
    return v;
  };
  const description = need('fixture').value;
  const kt = need('keepalived-t');
  let keepalivedT: KeepalivedTExpectation;
  if (kt.value === 'ok') keepalivedT = { kind: 'ok' };
  else if (kt.value.startsWith('warns ') && kt.value.slice(6).trim()) {
    try { keepalivedT = { kind: 'warns', pattern: new RegExp(kt.value.slice(6).trim()) }; } catch (e) {
      throw new Error(`${file}:${kt.line}: keepalived-t: bad regex: ${(e as Error).message}`);
    }
  } else throw new Error(`${file}:${kt.line}: keepalived-t must be "ok" or "warns <regex>", got ${JSON.stringify(kt.value)}`);
  const ifs = found.get('interfaces');
  const interfaces = ifs ? ifs.value.split(/\s+/).filter(Boolean) : DEFAULT_INTERFACES;
  for (const n of interfaces) {
    // Linux interface names: at most 15 bytes, no '/', no whitespace (IFNAMSIZ - 1).
    if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(n)) throw new Error(`${file}:${ifs?.line}: interfaces: ${JSON.stringify(n)} is not an interface name`);
  }
  if (new Set(interfaces).size !== interfaces.length) throw new Error(`${file}:${ifs?.line}: interfaces: a name is given twice`);
  const args = found.get('import-args');
  const importArgs = args ? args.value.split(/\s+/).filter(Boolean) : [];
  return { description, interfaces, interfacesGiven: ifs !== undefined, importArgs, keepalivedT };
}

/** Every fixture, sorted by name; throws when one lacks a header (other than the legacy ones). */
export function listFixtures(): Fixture[] {
  const out: Fixture[] = [];
  for (const dir of FIXTURE_DIRS) {
    const abs = join(FIXTURE_ROOT, dir);
    if (!existsSync(abs)) continue; // rules/ arrives with another branch of issue 13
    for (const entry of readdirSync(abs).sort()) {
      if (!entry.endsWith('.conf') || !statSync(join(abs, entry)).isFile()) continue;
      const base = entry.slice(0, -'.conf'.length);
      const name = dir ? `${dir}/${base}` : base;
      const file = join(abs, entry);
      const conf = relative(REPO_ROOT, file);
      const parsed = parseHeader(readFileSync(file, 'utf8'), conf);
      const legacyHeader = dir === '' ? LEGACY_HEADERS[base] : undefined;
      if (parsed && legacyHeader) throw new Error(`${conf} has a header now: remove it from LEGACY_HEADERS`);
      const header = parsed ?? legacyHeader;
      if (!header) throw new Error(`${conf} has no fixture header (# fixture: ... / # keepalived-t: ...)`);
      const stem = join(abs, base);
      out.push({
        name, conf, abs: file, header,
        golden: { yaml: `${stem}.yaml`, stderr: `${stem}.stderr`, exit: `${stem}.exit` },
      });
    }
  }
  return out;
}

// ---- running tandem ----

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/tandem ...args` from the repository root; bounded by a timeout. */
export function tandem(args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TANDEM_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
  });
}

/** The command the goldens record: `tandem import [import-args] <conf>`. */
export function importFixture(f: Fixture): Promise<RunResult> {
  return tandem(['import', ...f.header.importArgs, f.conf]);
}

/** Maps items through fn with at most `limit` calls in flight (the CI machine has 2 cores). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// ---- the notes `tandem import` prints ----

export interface ImportNote {
  file: string;
  line: number;
  keyword: string;
  reason: string;
  /** `not-converted`: no tandem form (yet); `changed`: converted to what keepalived runs, which
   *  is not what the line says (a repeat keepalived ignores, strict mode, lb_kind dr ...). */
  kind: 'not-converted' | 'changed';
}

/**
 * The notes in `tandem import`'s stderr: `not converted: FILE:LINE: KEYWORD: REASON` and
 * `note: FILE:LINE: KEYWORD: REASON`, then one summary line `FILE: N notes (...)`. Any other line is
 * returned in `unknown`, so that a change of the format fails the tests that read notes loudly
 * instead of counting a file with notes as clean.
 */
export function parseNotes(stderr: string): { notes: ImportNote[]; unknown: string[] } {
  const notes: ImportNote[] = [];
  const unknown: string[] = [];
  for (const l of stderr.split('\n')) {
    if (l === '') continue;
    // The keyword may be an IPv6 VIP (2001:db8::1/64: ...): it ends at the first ": ".
    const m = /^(not converted|note): (\S+?):(\d+): (.+?): (.*)$/.exec(l);
    if (m) { notes.push({ file: m[2]!, line: Number(m[3]), keyword: m[4]!, reason: m[5]!, kind: m[1] === 'note' ? 'changed' : 'not-converted' }); continue; }
    if (/^\S+: \d+ (keywords?|notes?) not converted\b/.test(l) || /^\S+: \d+ notes?\b/.test(l)) continue;
    unknown.push(l);
  }
  return { notes, unknown };
}

// ---- goldens ----

/** A unified diff of two texts (LCS over lines, 3 lines of context), for golden mismatches. */
export function lineDiff(expected: string, actual: string, maxLines = 120): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  // LCS table from the end; fixtures are small (hundreds of lines), so O(n*m) is fine.
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  type Op = { t: ' ' | '-' | '+'; text: string; ai: number; bi: number };
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { ops.push({ t: ' ', text: a[i]!, ai: i++, bi: j++ }); }
    // Deletions before insertions, as diff -u shows a changed line.
    else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) { ops.push({ t: '-', text: a[i]!, ai: i++, bi: j }); }
    else { ops.push({ t: '+', text: b[j]!, ai: i, bi: j++ }); }
  }
  const changed = ops.map((o, k) => (o.t !== ' ' ? k : -1)).filter((k) => k >= 0);
  if (changed.length === 0) return '(no line differs: the texts differ in their final newline)';
  const out: string[] = [];
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, changed[k]! - 3);
    let end = changed[k]! + 3;
    while (k + 1 < changed.length && changed[k + 1]! - 3 <= end + 1) end = changed[++k]! + 3;
    end = Math.min(ops.length - 1, end);
    k++;
    out.push(`@@ golden line ${ops[start]!.ai + 1}, now line ${ops[start]!.bi + 1} @@`);
    for (let x = start; x <= end; x++) out.push(`${ops[x]!.t}${ops[x]!.text}`);
  }
  if (out.length > maxLines) return [...out.slice(0, maxLines), `... ${out.length - maxLines} more diff lines`].join('\n');
  return out.join('\n');
}

// ---- keepalived -t ----

/** keepalived/core/main.c config_test_exit() (2.2.7): CONFIG_SECURITY_ERROR exits KEEPALIVED_EXIT_CONFIG_TEST_SECURITY = 6. */
export const KEEPALIVED_EXIT_CONFIG_TEST_SECURITY = 6;

/** The line keepalived -t prints for scripts without enable_script_security (vrrp_scripts and
 *  notify scripts: vrrp/vrrp.c; checker scripts: check/check_data.c, with "check " before "scripts"). */
const SECURITY_LINE = /^SECURITY VIOLATION - (?:check )?scripts are being executed but script_security not enabled\.(?: There are insecure scripts\.)?$/;

/** keepalived/core/main.c config_test_exit() (2.2.7): any other config_err_t exits KEEPALIVED_EXIT_CONFIG_TEST = 5. */
export const KEEPALIVED_EXIT_CONFIG_TEST = 5;

/**
 * Whether a `keepalived -t` result is what the fixture's header promises; undefined when it is,
 * else why not. `ok`: exit 0 and nothing on stderr. `warns <regex>`: keepalived warns and
 * carries on, and its stderr matches the regex. Carrying on is exit 0, or exit 6 with nothing
 * but the script-security line on stderr: lib/parser.c report_config_error() keeps the highest
 * config_err_t seen and CONFIG_SECURITY_ERROR is the highest (lib/parser.h), so exit 6 with any
 * other line may hide a real config error (which alone exits 5, KEEPALIVED_EXIT_CONFIG_TEST).
 * Exit 5 (or 6) carries on too when every line but the script-security one is a warning the
 * header names: keepalived reports with report_config_error(CONFIG_GENERAL_ERROR) much that it
 * corrects and runs (2.2.7, observed: "Sync group G1 has only 1 virtual router(s) - this
 * probably isn't what you want" exits 5, and the daemon runs the group; so do "no scheduler
 * set, setting default 'wlc'", "VRRPv2 advertisement interval ... rounding" and "hysteresis ...
 * setting hysteresis to 0"), so the regex must then account for each line, and a real error
 * ("Unknown keyword") beside the warning still fails.
 */
export function judgeKeepalivedT(expect: KeepalivedTExpectation, r: { status: number | null; stderr: string }): string | undefined {
  // `ok`: exit 0 and nothing on stderr, or exit 6 with only the script-security line.
  // `warns <regex>`: it printed a line the regex matches, every other line but the security one
  // matches it too, and it exited 0, 5 or 6 (so the exit code alone never tells a warning from an
  // error: a misspelt keyword beside an expected warning fails).
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const shown = `exit ${r.status}, stderr:\n${r.stderr || '(empty)'}`;
  const other = lines.filter((l) => !SECURITY_LINE.test(l));
  if (expect.kind === 'ok') {
    if ((r.status === 0 && lines.length === 0) || (r.status === KEEPALIVED_EXIT_CONFIG_TEST_SECURITY && lines.length > 0 && other.length === 0)) return undefined;
    return `expected keepalived -t to accept it without a warning (header "keepalived-t: ok"); ${shown}`;
  }
  if (!lines.some((l) => expect.pattern.test(l))) return `expected keepalived -t to warn (header "warns ${expect.pattern.source}"); ${shown}`;
  if (r.status !== 0 && r.status !== 5 && r.status !== KEEPALIVED_EXIT_CONFIG_TEST_SECURITY) return `expected keepalived -t to warn and carry on (exit 0, 5 or 6); ${shown}`;
  const unexpected = other.filter((l) => !expect.pattern.test(l));
  if (unexpected.length) return `keepalived -t printed lines the header's /${expect.pattern.source}/ does not expect:\n${unexpected.join('\n')}\n(${shown})`;
  return undefined;
}
