// `tandem lab` (issue 6 §3) run as an operator would run it, as a child process: its JSON report
// must say every step passed with the times measured (failover within a sane bound, the stopped
// real server taken out of the table with no request failing after), its status page must be
// reachable from the root namespace while it runs, and nothing it made may be left after it
// exits: not at the end, not after Ctrl-C, and not after a lab that was killed outright (the
// next lab removes what it left).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireLabTools, sleep, waitFor } from '../lib/netns.js';
import { requireTandemBuilt, TANDEM_BIN } from '../lib/tandem.js';

interface StepReport { id: string; title: string; passed: boolean; measurements: Record<string, number | null>; failures: string[]; narration: string[] }
interface LabReport {
  prefix: string; workdir: string; backend: string | null; statusPages: string[]; hostLink: boolean; steps: StepReport[];
  passed: boolean; interrupted: string | null; error: string | null;
  cleanup: { namespacesRemoved: string[]; processesStopped: number; namespacesLeft: string[]; processesLeft: number[]; workdirRemoved: boolean } | null;
}

/** Whether the status sockets' directory existed before these tests. */
const RUN_DIR_AT_START = existsSync('/run/tandem');

/** status_socket of conf/lab-lb1.yaml and conf/lab-lb2.yaml. */
const LAB_SOCKETS = ['/run/tandem/lab-lb1.sock', '/run/tandem/lab-lb2.sock'];

class LabRun {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  code: number | null = null;
  signal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [TANDEM_BIN, 'lab', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (c: string) => { this.stdout += c; });
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => { this.stderr += c; });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => { this.code = code; this.signal = signal; resolve(); }));
  }

  get prefix(): string { return `tlab${this.child.pid}`; }

  async waitExit(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.exited.then(() => true), new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); })]);
    clearTimeout(timer);
    return r;
  }

  report(): LabReport {
    try {
      return JSON.parse(this.stdout) as LabReport;
    } catch (e) {
      throw new Error(`no JSON report (${(e as Error).message}); exit ${this.code ?? this.signal}\n--- stdout ---\n${this.stdout.slice(-2000)}\n--- stderr ---\n${this.stderr.slice(-6000)}`);
    }
  }

  async waitForOutput(re: RegExp, timeoutMs: number): Promise<void> {
    await waitFor(() => {
      if (re.test(this.stderr)) return true;
      if (this.code !== null || this.signal !== null) throw new Error(`lab exited (${this.code ?? this.signal}) before printing ${re}`);
      return false;
    }, { timeoutMs, intervalMs: 100, what: `lab output ${re}` }).catch((e: Error) => { throw new Error(`${e.message}\n--- stderr ---\n${this.stderr.slice(-4000)}`); });
  }
}

function labNamespacesOf(prefix: string): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  return out.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`${prefix}-`));
}

function processesMentioning(marker: string): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(marker)) out.push({ pid: Number(name), cmd });
    } catch { /* exited */ }
  }
  return out;
}

/** Asserts that nothing of the lab `prefix` is left: namespaces, processes, host link, sockets. */
function assertNothingLeft(prefix: string, workdir?: string): void {
  assert.deepEqual(labNamespacesOf(prefix), [], `namespaces of ${prefix} left`);
  assert.deepEqual(processesMentioning(`${prefix}-`), [], `processes of ${prefix} left`);
  const link = spawnSync('ip', ['link', 'show', `${prefix}h`], { encoding: 'utf8' });
  assert.notEqual(link.status, 0, `host link ${prefix}h left: ${link.stdout}`);
  if (workdir) assert.ok(!existsSync(workdir), `work directory ${workdir} left`);
  for (const s of LAB_SOCKETS) assert.ok(!existsSync(s), `${s} left`);
}

/** Whatever a failed test left behind goes, so the next test (and the machine) starts clean. */
function forceCleanup(lab: LabRun): void {
  try { process.kill(lab.child.pid!, 'SIGKILL'); } catch { /* exited */ }
  for (const ns of labNamespacesOf(lab.prefix)) {
    for (const p of (spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '').split(/\s+/).filter(Boolean)) {
      try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
    }
    spawnSync('ip', ['netns', 'del', ns]);
  }
  for (const p of processesMentioning(`${lab.prefix}-`)) {
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  spawnSync('ip', ['link', 'del', `${lab.prefix}h`]);
  for (const d of readdirSync(tmpdir())) if (d.startsWith(`${lab.prefix}-`)) rmSync(join(tmpdir(), d), { recursive: true, force: true });
  // The lab's daemons' status sockets (one lab at a time, so they were this lab's).
  for (const s of LAB_SOCKETS) rmSync(s, { force: true });
  // A lab killed outright cannot remove the socket directory it created.
  if (!RUN_DIR_AT_START) { try { rmdirSync('/run/tandem'); } catch { /* not empty or not there */ } }
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function step(r: LabReport, id: string): StepReport {
  const s = r.steps.find((x) => x.id === id);
  assert.ok(s, `no step ${id} in ${JSON.stringify(r.steps.map((x) => x.id))}`);
  return s;
}

test('tandem lab: every step passes with measured times, the status page is reachable from the host, nothing is left', { timeout: 300_000 }, async () => {
  requireLabTools('nft');
  requireTandemBuilt();
  // The daemons' socket directory: a lab that had to create it removes it again.
  const runDirBefore = existsSync('/run/tandem');
  const lab = new LabRun(['--json', '--non-interactive']);
  try {
    // While it runs: lb1's status page and /status.json from the root namespace (the host link).
    await lab.waitForOutput(/status pages \(from this host\): (\S+)/, 60_000);
    const page = /status pages \(from this host\): (\S+)/.exec(lab.stderr)![1]!;
    assert.equal(page, 'http://203.0.113.1:9650/');
    const doc = await waitFor(async () => {
      const r = await httpGet(`${page}status.json`);
      return r.status === 200 ? (JSON.parse(r.body) as { router_id: string; instances: unknown[] }) : null;
    }, { timeoutMs: 30_000, intervalMs: 200, what: `${page}status.json from the host` });
    assert.equal(doc.router_id, 'lab-lb1');
    const html = await httpGet(page);
    assert.equal(html.status, 200);
    assert.match(html.body, /<html/i);

    assert.ok(await lab.waitExit(240_000), `lab did not finish within 240 s\n${lab.stderr.slice(-4000)}`);
    const r = lab.report();
    const ctx = `\n--- narration ---\n${lab.stderr.slice(-8000)}`;
    assert.equal(r.prefix, lab.prefix);
    assert.deepEqual(r.steps.map((s) => s.id), ['start', 'failover', 'real_server_down', 'real_server_up', 'preempt'], ctx);
    for (const s of r.steps) assert.ok(s.passed, `step ${s.id} failed: ${s.failures.join('; ')}${ctx}`);
    assert.equal(r.error, null, ctx);
    assert.equal(r.interrupted, null);
    assert.equal(r.passed, true, ctx);
    assert.equal(lab.code, 0, ctx);
    assert.equal(r.hostLink, true);

    // advert_int 0.2 s: Master_Down_Interval ~0.72 s; 5 s leaves room for a loaded machine.
    const failover = step(r, 'failover').measurements;
    assert.ok(failover.lb2MasterMs !== null && failover.lb2MasterMs! > 300 && failover.lb2MasterMs! < 5000, `lb2 MASTER after ${failover.lb2MasterMs} ms`);
    assert.ok(failover.clientRecoveryMs !== null && failover.clientRecoveryMs! > 0 && failover.clientRecoveryMs! < 5000, `client recovered after ${failover.clientRecoveryMs} ms`);
    assert.ok(failover.failedRequests! >= 1, 'a crash with the cables pulled must cost some requests');

    const down = step(r, 'real_server_down').measurements;
    assert.ok(down.statusDownMs !== null && down.statusDownMs! < 10_000, `status down after ${down.statusDownMs} ms`);
    assert.ok(down.tableRemovedMs !== null && down.tableRemovedMs! < 10_000, `nft removal after ${down.tableRemovedMs} ms`);
    assert.equal(down.failedAfterRemoval, 0);

    const up = step(r, 'real_server_up').measurements;
    assert.ok(up.tableAddedMs !== null && up.firstAnswerMs !== null, JSON.stringify(up));
    const preempt = step(r, 'preempt').measurements;
    assert.ok(preempt.lb1MasterMs !== null && preempt.lb1MasterMs! >= 2000, `lb1 preempted ${preempt.lb1MasterMs} ms after its start (preempt_delay is 2 s)`);

    assert.ok(r.cleanup, 'no cleanup report');
    assert.deepEqual(r.cleanup.namespacesLeft, []);
    assert.deepEqual(r.cleanup.processesLeft, []);
    assert.equal(r.cleanup.namespacesRemoved.length, 7);
    assertNothingLeft(lab.prefix, r.workdir);
    if (!runDirBefore) assert.ok(!existsSync('/run/tandem'), 'the lab created /run/tandem and left it');
  } finally {
    forceCleanup(lab);
  }
});

test('tandem lab: Ctrl-C in the middle of a step stops it and removes everything', { timeout: 180_000 }, async () => {
  requireLabTools('nft');
  requireTandemBuilt();
  const lab = new LabRun(['--json', '--non-interactive']);
  try {
    // In step 2, while lb2 is taking over and the client is failing: processes, pulled cables
    // and a killed daemon's leftovers are all in play.
    await lab.waitForOutput(/lb1 crashed/, 120_000);
    assert.ok(labNamespacesOf(lab.prefix).length === 7, `expected the lab's 7 namespaces while it runs: ${labNamespacesOf(lab.prefix).join(' ')}`);
    assert.ok(processesMentioning(`${lab.prefix}-`).length >= 5, 'expected the lab\'s processes while it runs');
    lab.child.kill('SIGINT');
    assert.ok(await lab.waitExit(30_000), `lab did not exit within 30 s of SIGINT\n${lab.stderr.slice(-3000)}`);
    assert.equal(lab.code, 130, `exit ${lab.code ?? lab.signal}\n${lab.stderr.slice(-3000)}`);
    const r = lab.report();
    assert.equal(r.interrupted, 'SIGINT');
    assert.equal(r.passed, false);
    assert.ok(r.steps.length < 5, 'the run stopped early');
    assert.deepEqual(r.cleanup?.namespacesLeft, []);
    assert.deepEqual(r.cleanup?.processesLeft, []);
    assertNothingLeft(lab.prefix, r.workdir);
  } finally {
    forceCleanup(lab);
  }
});

test('tandem lab: what a lab killed with SIGKILL left is removed by the next one', { timeout: 180_000 }, async () => {
  requireLabTools('nft');
  requireTandemBuilt();
  const dead = new LabRun(['--json', '--non-interactive']);
  let next: LabRun | undefined;
  try {
    // Killed in step 1, with both daemons, the real servers and the client running (later, the
    // lab's own step 2 kills lb1's daemon).
    await dead.waitForOutput(/started tandem on lb1/, 120_000);
    dead.child.kill('SIGKILL');
    assert.ok(await dead.waitExit(10_000));
    await sleep(200);
    const leftNs = labNamespacesOf(dead.prefix);
    assert.equal(leftNs.length, 7, `a SIGKILLed lab cannot clean up: its namespaces stay (${leftNs.join(' ')})`);
    // The daemons log to files, not to the dead lab's pipes, so they go on running.
    const leftDaemons = processesMentioning(`${dead.prefix}-`).filter((p) => p.cmd.includes(' run -f '));
    assert.equal(leftDaemons.length, 2, `its two tandem daemons stay: ${JSON.stringify(leftDaemons)}; in its namespaces: ${
      leftNs.map((ns) => `${ns}: ${(spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '').trim()}`).join(', ')}\n${dead.stderr.slice(-1500)}`);

    next = new LabRun(['--json', '--non-interactive']);
    await next.waitForOutput(/removed what a lab that died left behind: /, 60_000);
    assert.match(next.stderr, new RegExp(`${dead.prefix}-sw`));
    // The real servers and the client of the dead lab exit by themselves when their parent is
    // gone (within ~1 s); the daemons are killed through the namespaces they run in.
    await waitFor(() => processesMentioning(`${dead.prefix}-`).length === 0, { timeoutMs: 10_000, what: `processes of ${dead.prefix} to be gone` })
      .catch((e: Error) => assert.fail(`${e.message}: ${JSON.stringify(processesMentioning(`${dead.prefix}-`))}`));
    assert.deepEqual(labNamespacesOf(dead.prefix), []);
    next.child.kill('SIGINT');
    assert.ok(await next.waitExit(30_000));
    assertNothingLeft(next.prefix);
    assertNothingLeft(dead.prefix);
  } finally {
    forceCleanup(dead);
    if (next) forceCleanup(next);
  }
});
