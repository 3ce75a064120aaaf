// `tandem lab`: builds the two-director LVS-NAT lab in network namespaces (topology.ts), runs
// tandem on both directors from conf/lab-lb1.yaml and conf/lab-lb2.yaml, walks through the steps
// (scenario.ts) narrating each with a status table and its measured times, and removes
// everything it made at the end, on an error, and on Ctrl-C / SIGTERM / SIGHUP.
//
// Output: narration on stdout; with --json the narration goes to stderr and stdout gets only
// the JSON report (report.ts LabReport). Exit status: 0 every step passed, 1 a step failed or
// the lab could not run, 128 + signal number when interrupted.
import { mkdtempSync, rmSync, rmdirSync, readdirSync, readFileSync, lstatSync, unlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { VERSION } from '../version.js';
import { labPlan, LabPlanError, type LabPlan } from './labPlan.js';
import { LabAborted, ProcessRegistry, run } from './proc.js';
import { renderSummary, type CleanupReport, type LabReport, type StepReport } from './report.js';
import { Scenario } from './scenario.js';
import {
  ADDRESSES, allNamespaces, buildTopology, destroyTopology, destroyTopologySync, labNamespaces, labNames, removeStaleLabs,
} from './topology.js';

export interface LabOptions {
  /** Pause for Enter between steps (default: when stdin and stdout are terminals and not --json). */
  interactive: boolean;
  json: boolean;
  /** Keep the lab running after the last step until Ctrl-C / SIGTERM. */
  keep: boolean;
  /** Connect the management network to the host (status pages reachable from it). */
  hostLink: boolean;
}

const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export async function runLab(opts: LabOptions): Promise<number> {
  const out = opts.json ? process.stderr : process.stdout;
  const tty = !!out.isTTY;
  let progressShown = false;
  const say = (line: string): void => {
    if (progressShown) { out.write('\r\x1b[K'); progressShown = false; }
    out.write(line + '\n');
  };
  const progress = (line: string | null): void => {
    if (!tty) return;
    out.write('\r\x1b[K' + (line ?? ''));
    progressShown = line !== null;
  };
  const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);

  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    process.stderr.write('tandem lab: run as root (it creates network namespaces, veth pairs and nftables rules)\n');
    return 1;
  }
  const missing: string[] = [];
  for (const tool of ['ip', 'nft', 'sysctl']) {
    if ((await run(['sh', '-c', `command -v ${tool}`], { allowFail: true })).code !== 0) missing.push(tool);
  }
  if (missing.length) {
    process.stderr.write(`tandem lab: missing ${missing.join(', ')} (Debian: apt-get install iproute2 nftables procps)\n`);
    return 1;
  }
  let plan: LabPlan;
  try {
    plan = labPlan();
  } catch (e) {
    process.stderr.write(`tandem lab: ${e instanceof LabPlanError ? e.message : (e as Error).stack}\n`);
    return 1;
  }

  const stale = removeStaleLabs(process.pid);
  if (stale.liveLabs.length) {
    process.stderr.write(`tandem lab: another lab is running (pid ${stale.liveLabs.join(', ')}); one at a time: its addresses and status sockets are fixed\n`);
    return 1;
  }
  if (stale.removed.length) say(`removed what a lab that died left behind: ${stale.removed.join(', ')}`);

  // The status sockets' directories (/run/tandem) that do not exist yet: removed again at the
  // end if they are empty then, so a lab leaves the host as it found it.
  const socketDirsToRemove = [...new Set(['lb1', 'lb2'].map((d) => dirname(plan.directors[d as 'lb1' | 'lb2'].statusSocket)))].filter((d) => !exists(d));
  const names = labNames(process.pid);
  const workdir = mkdtempSync(join(tmpdir(), `${names.base}-`));
  const created = new Set<string>();
  const procs = new ProcessRegistry();
  const report: LabReport = {
    tandem: VERSION, prefix: names.base, workdir,
    configs: [plan.directors.lb1.configFile, plan.directors.lb2.configFile],
    backend: null, statusPages: [], hostLink: false, steps: [], passed: false, interrupted: null, error: null, cleanup: null,
  };

  // Interruption: the first signal makes every wait throw LabAborted (the steps stop within one
  // poll interval) and the normal cleanup runs; a second one cleans up synchronously and exits.
  let abortedBy: string | null = null;
  let cleanedUp = false;
  let wakeAbort: ((e: Error) => void) | undefined;
  const abortPromise = new Promise<never>((_, reject) => { wakeAbort = reject; });
  abortPromise.catch(() => undefined);
  const emergency = (): void => {
    if (cleanedUp) return;
    cleanedUp = true;
    procs.killAllSync();
    destroyTopologySync(names, created);
    removeSockets(plan);
    rmSync(workdir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (abortedBy) { emergency(); process.exit(SIGNAL_EXIT[sig] ?? 1); }
    abortedBy = sig;
    say(`\n${sig}: stopping and cleaning up`);
    wakeAbort?.(new LabAborted(sig));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  process.on('exit', emergency);
  const race = <T>(p: Promise<T>): Promise<T> => Promise.race([p, abortPromise]);

  const scenario = new Scenario(names, plan, procs, workdir, { say, progress, aborted: () => abortedBy });
  const pause = async (next: string): Promise<void> => {
    if (!opts.interactive) return;
    out.write(`\n  [Enter] ${next}    (Ctrl-C stops and cleans up) `);
    await race(readLine());
  };

  let keeping = false;
  // What was running when a signal came: cleanup lets it settle first (it stops within one poll
  // interval), so it cannot create a namespace or start a process behind cleanup's back.
  let building: Promise<unknown> | undefined;
  let running: Promise<unknown> | undefined;
  try {
    say(bold(`tandem lab ${names.base}: two directors (LVS-NAT with nftables), three real servers, a client`));
    say(`  configs: ${report.configs.join(', ')} (run unchanged)`);
    say(`  work directory (logs, state files): ${workdir}`);
    const build = buildTopology(names, { hostLink: opts.hostLink, aborted: () => abortedBy }, created);
    building = build;
    const built = await race(build);
    report.hostLink = opts.hostLink && built.hostLinkSkipped === null;
    report.statusPages = (['lb1', 'lb2'] as const).map((d) => plan.directors[d].pageUrl).filter((u): u is string => u !== null);
    say(`  namespaces: ${allNamespaces(names).join(' ')}`);
    say(`  front ${ADDRESSES.client} (client) -> VIP ${plan.vip}:${plan.port} on lb1/lb2 -> real servers ${plan.realServers.map((r) => r.address).join(', ')} (gateway VIP ${ADDRESSES.gateway})`);
    if (report.hostLink) {
      say(`  status pages (from this host): ${report.statusPages.join('  ')}   (curl ${report.statusPages[0] ?? ''}metrics)`);
    } else {
      const why = opts.hostLink ? built.hostLinkSkipped : 'no host link (--no-host-link)';
      say(`  status pages: ${why}; from inside: ip netns exec ${names.lb1} curl -s ${plan.directors.lb1.pageUrl ?? ''}status.json`);
    }
    say(`  the daemons' own view: tandem status --socket ${plan.directors.lb1.statusSocket} (or ${plan.directors.lb2.statusSocket})`);

    const steps: Array<{ title: string; run: () => Promise<StepReport> }> = [
      { title: 'start both directors, the real servers and the client', run: () => scenario.stepStart() },
      { title: 'crash the master (lb1)', run: () => scenario.stepFailover() },
      { title: 'stop real server rs2', run: () => scenario.stepRealServerDown('rs2') },
      { title: 'start rs2 again', run: () => scenario.stepRealServerUp('rs2') },
      { title: 'bring lb1 back', run: () => scenario.stepPreempt() },
    ];
    for (const [i, s] of steps.entries()) {
      await pause(`step ${i + 1}: ${s.title}`);
      say('');
      say(bold(`${i + 1}. ${s.title}`));
      const stepRun = s.run();
      running = stepRun;
      const r = await race(stepRun);
      report.steps.push(r);
      say('');
      await race(scenario.showTable());
      if (!r.passed) {
        for (const d of ['lb1', 'lb2'] as const) {
          const tail = scenario.logTail(d, 8);
          if (tail) say(`  --- ${d}'s last log lines ---\n${tail.split('\n').map((l) => `    ${l}`).join('\n')}`);
        }
      }
    }
    report.backend = scenario.backendKind;
    if (opts.keep) {
      say('');
      say(bold(`the lab stays up: ${report.statusPages.join('  ')}; Ctrl-C removes it`));
      keeping = true;
      await race(new Promise<never>(() => undefined));
    }
  } catch (e) {
    // With --keep, Ctrl-C after the last step is how the lab ends, not an interruption.
    if (e instanceof LabAborted) report.interrupted = keeping ? null : e.signal;
    else {
      report.error = (e as Error).message;
      say(`\ntandem lab: ${(e as Error).message}`);
    }
  }
  report.backend = scenario.backendKind;

  // Cleanup: graceful stop of everything (tandem removes its VIPs and socket on SIGTERM), then
  // the namespaces (their veths, the host end included), the sockets a killed daemon left, the
  // work directory. Then look again: nothing with this lab's name may be left.
  const tc = Date.now();
  const settle = (p: Promise<unknown> | undefined) => Promise.race([p?.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 10_000))]);
  await settle(building);
  await settle(running);
  const stopped = await procs.stopAll(1500);
  const destroyed = await destroyTopology(names, created);
  for (const e of destroyed.errors) say(`  could not delete namespace ${e}`);
  removeSockets(plan);
  for (const d of socketDirsToRemove) { try { rmdirSync(d); } catch { /* not empty, or already gone */ } }
  rmSync(workdir, { recursive: true, force: true });
  cleanedUp = true;
  const cleanup: CleanupReport = {
    namespacesRemoved: destroyed.removed,
    processesStopped: stopped,
    namespacesLeft: labNamespaces().get(process.pid) ?? [],
    processesLeft: processesWith(`${names.base}-`),
    workdirRemoved: !exists(workdir),
    ms: Date.now() - tc,
  };
  report.cleanup = cleanup;
  report.passed = report.steps.length === 5 && report.steps.every((s) => s.passed) && !report.interrupted && !report.error
    && cleanup.namespacesLeft.length === 0 && cleanup.processesLeft.length === 0;
  for (const line of renderSummary(report)) say(line);
  if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  for (const s of signals) process.off(s, onSignal);
  process.off('exit', emergency);
  process.stdin.unref?.();
  if (report.interrupted) return SIGNAL_EXIT[report.interrupted] ?? 1;
  return report.passed ? 0 : 1;
}

/** One line from stdin (the interactive pause), without taking over the terminal: Ctrl-C stays a
 *  signal. */
function readLine(): Promise<void> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, terminal: false });
    rl.once('line', () => { rl.close(); process.stdin.pause(); resolve(); });
    rl.once('close', () => resolve());
  });
}

/** The status sockets a daemon killed with SIGKILL leaves behind. */
function removeSockets(plan: LabPlan): void {
  for (const d of ['lb1', 'lb2'] as const) {
    const p = plan.directors[d].statusSocket;
    try { if (lstatSync(p).isSocket()) unlinkSync(p); } catch { /* not there */ }
  }
}

function exists(p: string): boolean {
  try { lstatSync(p); return true; } catch { return false; }
}

/** Pids of processes (other than this one) whose command line mentions `marker`. */
export function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) out.push(Number(name));
    } catch { /* exited */ }
  }
  return out;
}
