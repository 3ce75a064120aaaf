// The config fuzz campaign (issue 12 §6, docs/fuzzing.md): mutated configs through the three
// doors an operator's file comes in by, each of which must answer "valid" or "invalid, here is
// where" and never crash:
// - `tandem check -f FILE` on mutated tandem YAML: exit 0 (OK) or 2, every error line located
//   (file:line:col), no stack trace;
// - `tandem import FILE` on mutated keepalived.conf files: exit 0, 3 (notes) or 2, no stack trace; a
//   converted file then goes through `tandem check` too;
// - a running daemon's reload of mutated copies of its own config (POST /reload on its status
//   socket, as `tandem reload` does): applied (200) or refused (422) with located errors, never
//   500, and the daemon keeps running; at the end it reloads its original config and is MASTER.
// check and import run in-process in a few child processes (configRunner.ts) through the CLI's
// own main(); a sample of the jobs also runs as a real `bin/tandem` process, which must give the
// same exit code.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { parse, parseDocument, stringify, visit } from 'yaml';
import { mulberry32 } from '../lib/prng.js';
import { Lab, waitFor } from '../lib/netns.js';
import { REPO_ROOT, TANDEM_BIN, Tandem, requireTandemBuilt } from '../lib/tandem.js';
import type { JobResult } from './configRunner.js';
import type { DirectorSpec } from '../lib/director-spec.js';

export interface ConfigFuzzOptions {
  /** Mutated configs per door (check, import, and reload unless `reloads` is given). */
  count: number;
  /** Mutated configs for the reload door (each reload takes ~0.2 s: a worker thread starts). */
  reloads?: number;
  seed: number;
  /** Which doors (default all three). */
  doors?: Array<'check' | 'import' | 'reload'>;
  log?: (line: string) => void;
}

export interface DoorResult {
  door: 'check' | 'import' | 'reload';
  runs: number;
  exitCodes: Record<string, number>;
  /** Jobs also run as a real bin/tandem process (check, import). */
  realProcesses: number;
  maxMs: number;
  medianMs: number;
}

export interface ConfigFuzzReport {
  seed: number;
  doors: DoorResult[];
  failures: string[];
  summary: string;
  ok: boolean;
}

type Rng = () => number;
const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

/** Scalars worth putting anywhere: type confusion, limits, YAML's odd literals, huge text. */
const SCALAR_POOL: readonly string[] = [
  '0', '-1', '1', '255', '256', '65535', '65536', '4294967296', '9007199254740993', '1e309', '-1e309',
  '254.99999999999999', '0.5', '1.5', '40.96', '0x10', '0o17', '1_000', '.inf', '-.inf', '.nan', '~', 'null',
  'true', 'no', 'yes', "''", '""', '"73914682"', 'MASTER', 'BACKUP', 'PASS', 'AH', 'eth0', 'lo', 'x'.repeat(300),
  '192.0.2.1', '192.0.2.300', '2001:db8::1', '2001:db8::1/129', '192.0.2.0/33', '::', '0.0.0.0', '255.255.255.255',
  '"\\u0000"', '"\\ud800"', '"é 😀"', '!!binary aGVsbG8=', '!!timestamp 2001-12-14', '!!float 3', '!!str 3', '[]', '{}',
  '[1, [2, [3]]]', '{a: {b: {c: 1}}}', '*undefined_alias', '&anchor 7',
];
const TEXT_TOKENS: readonly string[] = [
  '[', ']', '{', '}', ': ', '- ', ',', '&a ', '*a', '!!map ', '!!seq ', '!tag ', '|', '>', '"', "'", '#', '? ',
  '\t', '\0', '\ufeff', '\u2028', '%YAML 1.1\n', '---\n', '...\n', '<<: *a\n', '\n  ', '\r', '\\', '\x7f', '\xff',
];
const KEEPALIVED_TOKENS: readonly string[] = [
  '{', '}', '"', '#', '!', '\n', ' ', 'include nonexistent.conf\n', 'include *.conf\n', 'include conf.d/*.conf\n',
  'vrrp_instance X {\n', 'virtual_server 192.0.2.1 80 {\n', 'real_server 198.51.100.1 80 {\n', 'TCP_CHECK {\n',
  'HTTP_GET {\n', 'url {\n', 'authentication {\n', 'auth_pass 73914682\n', 'priority 999\n', 'virtual_router_id 0\n',
  'unicast_peer {\n', 'virtual_ipaddress {\n', 'track_script {\n', 'vrrp_script s {\n', 'global_defs {\n', 'nopreempt\n',
  'state MASTER\n', 'lb_kind dr\n', 'lb_algo xyz\n', 'delay_loop -5\n', 'weight 1e9\n', 'advert_int 0\n', '192.0.2.2/99\n',
];

function nest(rng: Rng): string {
  const depth = pick(rng, [10, 70, 300, 1200, 3000]);
  return rng() < 0.5 ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`;
}

function insertAt(text: string, at: number, s: string): string { return text.slice(0, at) + s + text.slice(at); }

/** One random text edit: the kind of damage an editor, a bad merge or a hostile user does. */
function textMutation(rng: Rng, text: string, tokens: readonly string[]): string {
  const at = int(rng, 0, text.length);
  const lines = text.split('\n');
  switch (int(rng, 0, 9)) {
    case 0: return insertAt(text, at, pick(rng, tokens));
    case 1: return text.slice(0, at) + text.slice(Math.min(text.length, at + int(rng, 1, 40)));
    case 2: { const i = int(rng, 0, lines.length - 1); lines.splice(int(rng, 0, lines.length), 0, lines[i]!); return lines.join('\n'); }
    case 3: { const i = int(rng, 0, lines.length - 1); lines[i] = rng() < 0.5 ? '  ' + lines[i] : lines[i]!.replace(/^ {1,2}/, ''); return lines.join('\n'); }
    case 4: return text.slice(0, at);
    case 5: return text.replace(/\b\d+(\.\d+)?\b/g, (m) => (rng() < 0.15 ? pick(rng, SCALAR_POOL) : m));
    case 6: return insertAt(text, at, tokens === KEEPALIVED_TOKENS ? `${'{'.repeat(int(rng, 50, 3000))}` : nest(rng));
    case 7: { const c = text.charCodeAt(Math.min(at, text.length - 1)) || 32; return text.slice(0, at) + String.fromCharCode(c ^ (1 << int(rng, 0, 6))) + text.slice(at + 1); }
    case 8: { const i = int(rng, 0, lines.length - 1), j = int(rng, 0, lines.length - 1); [lines[i], lines[j]] = [lines[j]!, lines[i]!]; return lines.join('\n'); }
    default: return insertAt(text, at, pick(rng, SCALAR_POOL));
  }
}

/** Paths into a parsed YAML value: where a structural mutation can land. */
function paths(v: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = [], depth = 0): Array<Array<string | number>> {
  out.push(prefix);
  if (depth > 12 || out.length > 5000) return out;
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out, depth + 1));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out, depth + 1);
  return out;
}

function poolValue(rng: Rng): unknown {
  const s = pick(rng, SCALAR_POOL);
  try { return parse(s, { logLevel: 'silent' }); } catch { return s; }
}

/** One random edit of the structure: wrong types, missing and unknown keys, limits, bulk. */
function structuralMutation(rng: Rng, doc: unknown): unknown {
  const all = paths(doc);
  const p = pick(rng, all);
  if (p.length === 0) return rng() < 0.5 ? poolValue(rng) : doc;
  const parentPath = p.slice(0, -1);
  let parent: any = doc; // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const k of parentPath) parent = parent[k];
  const key = p[p.length - 1]!;
  switch (int(rng, 0, 7)) {
    case 0: parent[key] = poolValue(rng); break;
    case 1: if (Array.isArray(parent)) parent.splice(Number(key), 1); else delete parent[key]; break;
    case 2: if (!Array.isArray(parent)) parent[`${String(key)}x`] = parent[key]; break; // a near-miss key
    case 3: { // bulk: a list grown far past what real configs hold
      const v = parent[key];
      const n = pick(rng, [2, 256, 300]);
      parent[key] = Array.isArray(v) && v.length ? Array.from({ length: n }, (_, i) => (typeof v[0] === 'string' && /^\d+\.\d+\.\d+\.\d+/.test(v[0]) ? `192.0.2.${i % 250}/${24 + (i % 9)}` : v[i % v.length])) : v;
      break;
    }
    case 4: parent[key] = [parent[key]]; break;
    case 5: parent[key] = { value: parent[key] }; break;
    case 6: { const other = pick(rng, all); let v: any = doc; for (const k of other) v = v?.[k]; parent[key] = v; break; } // eslint-disable-line @typescript-eslint/no-explicit-any
    default: parent[key] = typeof parent[key] === 'number' ? parent[key] + pick(rng, [1, -1, 0.5, 1e6]) : `${String(parent[key])}${pick(rng, ['x', ' ', '/', '.'])}`;
  }
  return doc;
}

function mutateYaml(rng: Rng, seedText: string): string {
  let text = seedText;
  const n = int(rng, 1, 4);
  for (let i = 0; i < n; i++) {
    if (rng() < 0.5) {
      let doc: unknown;
      // The harness's own parse and stringify can fail on what earlier mutations made (a deep
      // nest overflows the yaml package's recursion): then this round is a text mutation.
      try { doc = parse(text, { maxAliasCount: 100, logLevel: 'silent' }); } catch { doc = undefined; }
      if (doc !== undefined && doc !== null && typeof doc === 'object') {
        try {
          // stringify() writes repeated objects as anchors and aliases: alias handling gets fuzzed too.
          text = stringify(structuralMutation(rng, doc), { aliasDuplicateObjects: rng() < 0.5 });
          continue;
        } catch { /* fall through */ }
      }
    }
    text = textMutation(rng, text, TEXT_TOKENS);
  }
  return text;
}

function mutateKeepalived(rng: Rng, seedText: string): string {
  let text = seedText;
  const n = int(rng, 1, 5);
  for (let i = 0; i < n; i++) text = textMutation(rng, text, KEEPALIVED_TOKENS);
  return text;
}

/** What one check or import may take: the seeds are small files (the largest mutant is a few
 *  hundred kB), which tandem reads in milliseconds; seconds mean work that grows faster than the
 *  input, which an attacker with write access to a config could use. */
const SLOW_MS = 3000;

const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;
/** An error or a warning at its place: `file:line:col path: msg`, `file:line:col warning: path: msg`. */
const LOCATED = /^[^\s:][^:]*:\d+:\d+ /;
const WARNING = /^[^\s:][^:]*:\d+:\d+ warning: /;
/** The summary `tandem check` ends a refusal with: `file: 2 errors, 1 warning (...)`. */
const SUMMARY = /: \d+ errors?(, \d+ warnings?)?( \(.*\))?$/;
/** An issue about the whole file (`file: is a directory ...`): no line to name, so none is made up. */
const aboutTheFile = (line: string, shown: string) => line.startsWith(`${shown}: `) && !SUMMARY.test(line);

/** A pool of configRunner processes with a per-job time limit. */
class RunnerPool {
  private readonly runners: Array<{ child: ChildProcessWithoutNullStreams; busy: boolean; waiters: Map<number, (r: JobResult) => void> }> = [];
  private nextId = 1;
  constructor(private readonly size: number, private readonly cwd: string) {}

  private start(): (typeof this.runners)[number] {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'test', 'fuzz', 'configRunner.js')], { cwd: this.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const r = { child, busy: false, waiters: new Map<number, (x: JobResult) => void>() };
    createInterface({ input: child.stdout }).on('line', (line) => {
      let res: JobResult;
      try { res = JSON.parse(line) as JobResult; } catch { return; }
      r.waiters.get(res.id)?.(res);
      r.waiters.delete(res.id);
    });
    child.stderr.resume();
    child.on('exit', () => {
      const i = this.runners.indexOf(r);
      if (i >= 0) this.runners.splice(i, 1);
      for (const [id, w] of r.waiters) w({ id, code: null, out: '', err: '', crash: `runner exited (code ${child.exitCode}, signal ${child.signalCode})`, ms: 0 });
    });
    this.runners.push(r);
    return r;
  }

  async run(argv: string[], timeoutMs = 30_000): Promise<JobResult> {
    let r = this.runners.find((x) => !x.busy);
    for (let i = 0; !r && i < 100_000; i++) {
      if (this.runners.length < this.size) r = this.start();
      else { await new Promise((res) => setTimeout(res, 2)); r = this.runners.find((x) => !x.busy); }
    }
    const runner = r!;
    runner.busy = true;
    const id = this.nextId++;
    try {
      return await new Promise<JobResult>((resolve) => {
        const t = setTimeout(() => {
          runner.waiters.delete(id);
          runner.child.kill('SIGKILL');
          resolve({ id, code: null, out: '', err: '', crash: `hung: no answer in ${timeoutMs} ms`, ms: timeoutMs });
        }, timeoutMs);
        runner.waiters.set(id, (res) => { clearTimeout(t); resolve(res); });
        runner.child.stdin.write(JSON.stringify({ id, argv }) + '\n');
      });
    } finally {
      runner.busy = false;
    }
  }

  close(): void { for (const r of this.runners) r.child.kill('SIGKILL'); }
}

function tally(codes: Record<string, number>, code: number | null): void {
  const k = String(code);
  codes[k] = (codes[k] ?? 0) + 1;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
}

/**
 * What every answer to check or import must look like; returns the defects. `shown` is the name
 * `tandem check` gives the file (relative to its working directory), for issues about the whole
 * file. Exit 2: every line an error or warning at its file:line:col, an issue about the whole
 * file, or the summary. Exit 0: OK on stdout, and only located warnings on stderr.
 */
function judgeCli(door: 'check' | 'import', r: JobResult, shown = ''): string[] {
  const bad: string[] = [];
  if (r.crash) bad.push(`crashed: ${r.crash.split('\n').slice(0, 4).join(' | ')}`);
  // import: 3 is "converted with notes" (src/config/import/cli.ts).
  if (r.code !== 0 && r.code !== 2 && !(door === 'import' && r.code === 3)) bad.push(`exit ${r.code}`);
  if (STACK_LINE.test(r.err) || STACK_LINE.test(r.out)) bad.push(`stack trace in output: ${r.err.split('\n').find((l) => STACK_LINE.test(l))}`);
  if (door === 'check' && r.code === 2) {
    const lines = r.err.split('\n').filter(Boolean);
    const unlocated = lines.filter((l) => !LOCATED.test(l) && !SUMMARY.test(l) && !aboutTheFile(l, shown) && !/-f FILE is required/.test(l));
    if (unlocated.length) bad.push(`error without file:line:col: ${unlocated[0]}`);
  }
  if (door === 'check' && r.code === 0) {
    if (!/: OK \(/.test(r.out)) bad.push(`exit 0 without OK: ${r.out.slice(0, 200)}`);
    const notWarnings = r.err.split('\n').filter(Boolean).filter((l) => !WARNING.test(l));
    if (notWarnings.length) bad.push(`exit 0 with a line that is not a located warning: ${notWarnings[0]}`);
  }
  return bad;
}

function realProcess(argv: string[], cwd: string): { code: number | null; err: string } {
  const p = spawnSync(process.execPath, [TANDEM_BIN, ...argv], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: p.status, err: p.stderr ?? '' };
}

export async function runConfigFuzz(opts: ConfigFuzzOptions): Promise<ConfigFuzzReport> {
  requireTandemBuilt();
  const log = opts.log ?? (() => undefined);
  const doors = opts.doors ?? ['check', 'import', 'reload'];
  const rng = mulberry32(opts.seed ^ 0x9e3779b9);
  const work = mkdtempSync(join(tmpdir(), 'tandem-cfuzz-'));
  const failures: string[] = [];
  const results: DoorResult[] = [];
  const pool = new RunnerPool(2, work);
  const keep = (what: string, text: string) => {
    // A failing input is kept for replay (and printed with the seed).
    const dir = join(work, 'failing');
    mkdirSync(dir, { recursive: true });
    const f = join(dir, `${failures.length}-${what}`);
    writeFileSync(f, text);
    return f;
  };
  try {
    const yamlSeeds = readdirSync(join(REPO_ROOT, 'conf')).filter((f) => f.endsWith('.yaml')).map((f) => readFileSync(join(REPO_ROOT, 'conf', f), 'utf8'));
    const kaDir = join(REPO_ROOT, 'test', 'fixtures', 'keepalived');
    const kaSeeds = readdirSync(kaDir).filter((f) => f.endsWith('.conf')).map((f) => readFileSync(join(kaDir, f), 'utf8'));

    if (doors.includes('check')) {
      const d: DoorResult = { door: 'check', runs: 0, exitCodes: {}, realProcesses: 0, maxMs: 0, medianMs: 0 };
      const times: number[] = [];
      for (let i = 0; i < opts.count; i++) {
        const text = mutateYaml(rng, pick(rng, yamlSeeds));
        const file = join(work, `check-${i % 4}.yaml`);
        writeFileSync(file, text);
        const r = await pool.run(['check', '-f', file]);
        d.runs++; tally(d.exitCodes, r.code); times.push(r.ms);
        const bad = judgeCli('check', r, relative(work, file));
        if (r.ms > SLOW_MS) bad.push(`took ${r.ms} ms (more than ${SLOW_MS} ms for one config)`);
        if (i % 200 === 0) {
          const real = realProcess(['check', '-f', file], work);
          d.realProcesses++;
          if (real.code !== r.code) bad.push(`bin/tandem exited ${real.code}, in-process ${r.code}`);
          if (STACK_LINE.test(real.err)) bad.push('bin/tandem printed a stack trace');
        }
        if (bad.length) failures.push(`check #${i} (${keep(`check-${i}.yaml`, text)}): ${bad.join('; ')}`);
      }
      d.maxMs = Math.max(0, ...times); d.medianMs = median(times);
      results.push(d);
      log(`check: ${d.runs} mutated configs, exit codes ${JSON.stringify(d.exitCodes)}, median ${d.medianMs} ms, max ${d.maxMs} ms`);
    }

    if (doors.includes('import')) {
      const d: DoorResult = { door: 'import', runs: 0, exitCodes: {}, realProcesses: 0, maxMs: 0, medianMs: 0 };
      const times: number[] = [];
      // The fixtures' conf.d/ is there so that include lines resolve.
      cpSync(kaDir, join(work, 'ka'), { recursive: true });
      let chained = 0;
      for (let i = 0; i < opts.count; i++) {
        const text = mutateKeepalived(rng, pick(rng, kaSeeds));
        const file = join(work, 'ka', `mutant-${i % 4}.conf`);
        writeFileSync(file, text);
        const r = await pool.run(['import', file]);
        d.runs++; tally(d.exitCodes, r.code); times.push(r.ms);
        const bad = judgeCli('import', r);
        if (r.ms > SLOW_MS) bad.push(`took ${r.ms} ms (more than ${SLOW_MS} ms for one file)`);
        if (i % 200 === 0) {
          const real = realProcess(['import', file], work);
          d.realProcesses++;
          if (real.code !== r.code) bad.push(`bin/tandem exited ${real.code}, in-process ${r.code}`);
          if (STACK_LINE.test(real.err)) bad.push('bin/tandem printed a stack trace');
        }
        if ((r.code === 0 || r.code === 3) && !r.crash) {
          // What import wrote must itself be judged by check without a crash.
          const out = join(work, `imported-${i % 4}.yaml`);
          writeFileSync(out, r.out);
          const c = await pool.run(['check', '-f', out]);
          chained++;
          for (const b of judgeCli('check', c, relative(work, out))) bad.push(`check of the imported YAML: ${b}`);
        }
        if (bad.length) failures.push(`import #${i} (${keep(`import-${i}.conf`, text)}): ${bad.join('; ')}`);
      }
      d.maxMs = Math.max(0, ...times); d.medianMs = median(times);
      results.push(d);
      log(`import: ${d.runs} mutated keepalived.conf files, exit codes ${JSON.stringify(d.exitCodes)}, ${chained} converted files checked, median ${d.medianMs} ms, max ${d.maxMs} ms`);
    }

    if (doors.includes('reload')) {
      try {
        results.push(await reloadDoor(opts.reloads ?? opts.count, rng, failures, keep, log));
      } catch (e) {
        failures.push(`reload door: ${(e as Error).message}`);
      }
    }
  } finally {
    pool.close();
    if (failures.length === 0) rmSync(work, { recursive: true, force: true });
    else log(`failing inputs kept in ${join(work, 'failing')}`);
  }
  const summary = results.map((r) => `${r.door} ${r.runs} (${Object.entries(r.exitCodes).map(([k, v]) => `exit ${k}: ${v}`).join(', ')})`).join('; ') +
    `; ${failures.length} failure(s)`;
  return { seed: opts.seed, doors: results, failures, summary, ok: failures.length === 0 && results.length === doors.length };
}

/** The reload door's daemon: one VRRP instance and a virtual server (the table backend is
 *  whatever `auto` picks here), so a reload exercises both halves of the plan. */
function reloadSpec(socketPath: string): DirectorSpec {
  return {
    routerId: 'fz1',
    instances: [{ name: 'VI_1', vrid: 51, version: 3, priority: 150, advertInt: 0.5, vips: ['192.0.2.100/24'] }],
    tandemTop: {
      global: { status_socket: socketPath },
      virtual_servers: [{
        address: '192.0.2.100', port: 80, protocol: 'TCP', lb_algo: 'rr', lb_kind: 'NAT', delay_loop: 5,
        real_servers: [
          { address: '198.51.100.11', port: 80, weight: 1, checks: [{ tcp_check: { connect_timeout: 1 } }] },
          { address: '198.51.100.12', port: 80, weight: 2, checks: [{ tcp_check: { connect_timeout: 1 } }] },
        ],
      }],
    },
  };
}

/** Absolute or relative file paths among a YAML document's strings (addresses excluded); null
 *  when the text is not YAML at all. A document whose global.status_socket is not `socketPath`
 *  counts as naming a new path (a valid one would move the socket, to /run/tandem by default). */
function pathsIn(text: string, socketPath: string): Set<string> | null {
  const out = new Set<string>();
  let doc;
  try { doc = parseDocument(text, { logLevel: 'silent', uniqueKeys: false }); } catch { return null; }
  if (doc.errors.length) return null;
  try {
    const js = doc.toJS({ maxAliasCount: 1000 }) as { global?: { status_socket?: unknown } } | null;
    if (js && typeof js === 'object' && !Array.isArray(js) && js.global?.status_socket !== socketPath) out.add('(status_socket moved)');
  } catch { return null; }
  try {
    visit(doc, { Scalar(_, n) { if (typeof n.value === 'string' && n.value.includes('/') && !/^[0-9a-f.:]+\/\d+$/i.test(n.value)) out.add(n.value); } });
  } catch { return null; }
  return out;
}

function postReload(socketPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // agent: false, so no keep-alive connection is reused after the daemon closed it (a client race).
    const req = request({ socketPath, path: '/reload', method: 'POST', timeout: 60_000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('reload timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function reloadDoor(
  count: number, rng: Rng, failures: string[], keep: (what: string, text: string) => string, log: (l: string) => void,
): Promise<DoorResult> {
  const d: DoorResult = { door: 'reload', runs: 0, exitCodes: {}, realProcesses: 0, maxMs: 0, medianMs: 0 };
  const times: number[] = [];
  const lab = await Lab.create({ prefix: 'tZ', nodes: [{ name: 'fz1', ipv4: ['192.0.2.1/24'] }] });
  try {
    const node = lab.node('fz1');
    const socketPath = lab.path('fz1.sock');
    const t = await Tandem.start(lab, node, reloadSpec(socketPath));
    const base = readFileSync(t.configPath, 'utf8');
    await t.waitForState('VI_1', 'MASTER', 15_000);
    await waitFor(() => existsSync(socketPath), { timeoutMs: 10_000, what: `status socket ${socketPath}` });
    const basePaths = pathsIn(base, socketPath)!;
    let skipped = 0;
    for (let i = 0; i < count; i++) {
      let text = mutateYaml(rng, base);
      // A mutant that parses and names a file path the base does not have is not sent: a valid
      // one would make the daemon create that file (a FIFO, a socket) on this machine.
      for (let tries = 0; tries < 20; tries++) {
        const ps = pathsIn(text, socketPath);
        if (ps === null || [...ps].every((p) => basePaths.has(p))) break;
        text = mutateYaml(rng, base);
        skipped++;
      }
      writeFileSync(t.configPath, text);
      const t0 = Date.now();
      let status = 0;
      let body = '';
      try {
        ({ status, body } = await postReload(socketPath));
      } catch (e) {
        failures.push(`reload #${i} (${keep(`reload-${i}.yaml`, text)}): status socket: ${(e as Error).message}; ` +
          `daemon ${t.running ? 'running' : `exited ${t.proc.exitCode ?? t.proc.exitSignal}`}; last log lines:\n${t.tail(15)}`);
        break;
      }
      const ms = Date.now() - t0;
      d.runs++; times.push(ms); tally(d.exitCodes, status === 200 ? 0 : status === 422 ? 2 : status);
      const bad: string[] = [];
      if (status !== 200 && status !== 422) bad.push(`HTTP ${status}: ${body.slice(0, 300)}`);
      let outcome: { ok?: boolean; errors?: string[]; warnings?: string[] } = {};
      try { outcome = JSON.parse(body) as typeof outcome; } catch { bad.push(`not JSON: ${body.slice(0, 200)}`); }
      // Warnings, applied or refused, are located like errors.
      const unlocatedWarning = (outcome.warnings ?? []).find((w) => !WARNING.test(w));
      if (unlocatedWarning !== undefined) bad.push(`warning without file:line:col: ${unlocatedWarning}`);
      if (status === 422) {
        const unlocated = (outcome.errors ?? []).filter((e) => !LOCATED.test(e) && !aboutTheFile(e, t.configPath) &&
          !/interface .* does not exist|no .*address to send from|needs a restart/.test(e));
        if (unlocated.length) bad.push(`refusal without file:line:col: ${unlocated[0]}`);
      }
      if (!t.running) bad.push(`the daemon exited: ${t.tail(10)}`);
      if (bad.length) failures.push(`reload #${i} (${keep(`reload-${i}.yaml`, text)}): ${bad.join('; ')}`);
      if (!t.running) break;
      // Back to the base config every 50 reloads, so mutants keep starting from a running VI_1.
      if (i % 50 === 49) { writeFileSync(t.configPath, base); await postReload(socketPath).catch(() => undefined); }
    }
    writeFileSync(t.configPath, base);
    const last = await postReload(socketPath);
    if (last.status !== 200) failures.push(`the base config was refused at the end: ${last.body.slice(0, 300)}`);
    await t.waitForState('VI_1', 'MASTER', 15_000).catch((e: Error) => failures.push(`not MASTER after the campaign: ${e.message.split('\n')[0]}`));
    const stack = t.proc.lines.filter((l) => STACK_LINE.test(l));
    if (stack.length) failures.push(`the daemon logged a stack trace: ${stack.slice(0, 3).join(' | ')}`);
    log(`reload: ${d.runs} mutated configs, outcome ${JSON.stringify(d.exitCodes)} (0 applied, 2 refused), ${skipped} mutants naming new file paths redrawn, median ${median(times)} ms, max ${Math.max(0, ...times)} ms`);
    if (!t.running) failures.push('the daemon is not running after the campaign');
  } finally {
    await lab.destroy();
  }
  d.maxMs = Math.max(0, ...times); d.medianMs = median(times);
  return d;
}
