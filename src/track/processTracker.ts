// keepalived `vrrp_track_process`: how many processes match a name (and optionally arguments),
// and whether that count is within quorum..quorum_max.
//
// keepalived (keepalived/vrrp/vrrp_track_process.c) scans /proc once at startup and then follows
// the kernel's process-event connector (netlink CN_PROC). Node cannot open that socket without
// the native addon, so tandem scans /proc on an interval instead (default 1 s): a process that
// starts and dies between two scans is not seen, and a change is seen up to one interval late.
// The matching rules are keepalived's:
//  - without arguments, the process name is compared exactly with /proc/PID/comm (from
//    /proc/PID/stat; the kernel truncates it to 15 characters); zombies do not count;
//  - with arguments, `param_match` or `full_command`, argv[0] of /proc/PID/cmdline is compared
//    exactly with the name, then the arguments (check_params()): exact (all, and no more),
//    partial (the configured ones are the first ones), initial (as partial, but the last
//    configured one may be a prefix of the actual one);
//  - up when quorum <= count <= quorum_max; fork_delay / terminate_delay hold a gained / lost
//    quorum for that long before reporting it (a reload that restarts the process does not flap).
// The matched processes' CPU % and RSS come from `pidusage`, sampled at most every few seconds,
// for the status only.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type pidusageFn from 'pidusage';

// Loaded on the first sample, not at start-up: requiring pidusage's files costs ~7 ms of every
// `tandem run`, track_process or not (issue 15).
let pidusageLoaded: typeof pidusageFn | undefined;
const pidusage = (): typeof pidusageFn => (pidusageLoaded ??= createRequire(import.meta.url)('pidusage') as typeof pidusageFn);
import type { Logger } from '../log.js';

export type ParamMatch = 'none' | 'exact' | 'initial' | 'partial';

export interface ProcessMatchSpec {
  process: string;
  args: readonly string[] | undefined;
  paramMatch: ParamMatch;
  /** Compare argv[0] of the command line instead of comm (implied by args or param_match). */
  fullCommand: boolean;
}

/** One live process as read from /proc: comm is null for a zombie, argv null when not read. */
export interface ProcEntry {
  pid: number;
  comm: string | null;
  argv: readonly string[] | null;
}

export function matchesProcess(spec: ProcessMatchSpec, p: ProcEntry): boolean {
  if (!spec.fullCommand) return p.comm !== null && p.comm === spec.process;
  if (p.argv === null || p.argv[0] !== spec.process) return false;
  if (spec.paramMatch === 'none') return true;
  const actual = p.argv.slice(1);
  const want = spec.args ?? [];
  if (spec.paramMatch === 'exact') return actual.length === want.length && want.every((a, i) => actual[i] === a);
  if (actual.length < want.length) return false;
  if (spec.paramMatch === 'partial') return want.every((a, i) => actual[i] === a);
  // initial: the last configured argument may be a prefix of the actual one.
  return want.every((a, i) => (i === want.length - 1 ? actual[i]!.startsWith(a) : actual[i] === a));
}

export function hasQuorum(count: number, quorum: number, quorumMax: number): boolean {
  return count >= quorum && count <= quorumMax;
}

export interface QuorumDelayConfig {
  forkDelayMs: number;
  terminateDelayMs: number;
}

export interface QuorumDelayState {
  /** What has been reported; null before the first scan. */
  reported: boolean | null;
  /** A change waiting out its delay. */
  pending: { up: boolean; at: number } | null;
}

export const initialQuorumState: QuorumDelayState = { reported: null, pending: null };

/** The raw quorum as of `now` in; what to report. Also called at `pending.at` with the last raw value. */
export function quorumStep(cfg: QuorumDelayConfig, st: QuorumDelayState, rawUp: boolean, now: number): { state: QuorumDelayState; changed: boolean } {
  if (st.reported === null) return { state: { reported: rawUp, pending: null }, changed: true }; // startup scan: no delay
  if (rawUp === st.reported) return { state: { reported: st.reported, pending: null }, changed: false };
  const delay = rawUp ? cfg.forkDelayMs : cfg.terminateDelayMs;
  const pending = st.pending && st.pending.up === rawUp ? st.pending : { up: rawUp, at: now + delay };
  if (now >= pending.at) return { state: { reported: rawUp, pending: null }, changed: true };
  return { state: { reported: st.reported, pending }, changed: false };
}

/** Reads the live processes: comm and state from /proc/PID/stat, argv from cmdline if asked. */
export function readProcs(opts: { comm: boolean; cmdline: boolean }, pids: readonly string[] = listPids()): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const d of pids) {
    let comm: string | null = null;
    let argv: string[] | null = null;
    try {
      if (opts.comm) {
        const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
        // "pid (comm) S ...": comm may itself contain ')' and spaces; the state follows the last ')'.
        const open = stat.indexOf('(');
        const close = stat.lastIndexOf(')');
        if (open < 0 || close < open) continue;
        comm = stat[close + 2] === 'Z' ? null : stat.slice(open + 1, close);
      }
      if (opts.cmdline) {
        const raw = readFileSync(`/proc/${d}/cmdline`, 'utf8');
        argv = raw === '' ? [] : raw.replace(/\0$/, '').split('\0');
      }
    } catch {
      continue; // exited while we looked
    }
    out.push({ pid: Number(d), comm, argv });
  }
  return out;
}

export function listPids(): string[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d));
}

/** pids read per turn of the event loop: a /proc read costs ~30 µs here, so a batch is ~1 ms. */
const SCAN_BATCH = 16;

/**
 * Reads /proc in batches, yielding to the event loop between them, so a director with hundreds
 * of processes never holds VRRP adverts up for a whole scan.
 */
export async function readProcsYielding(opts: { comm: boolean; cmdline: boolean }): Promise<ProcEntry[]> {
  const pids = listPids();
  const out: ProcEntry[] = [];
  for (let i = 0; i < pids.length; i += SCAN_BATCH) {
    if (i > 0) await new Promise<void>((r) => setImmediate(r));
    out.push(...readProcs(opts, pids.slice(i, i + SCAN_BATCH)));
  }
  return out;
}

export interface ProcessTrackerConfig extends ProcessMatchSpec, QuorumDelayConfig {
  name: string;
  quorum: number;
  quorumMax: number;
}

export interface ProcessUsage {
  /** Sum over the matched processes; 100 = one core. */
  cpuPercent: number;
  rssBytes: number;
  /** Wall-clock ms of the sample. */
  sampledAt: number;
}

export interface ProcessSnapshot {
  name: string;
  process: string;
  count: number;
  pids: number[];
  up: boolean | null;
  quorum: number;
  quorumMax: number | null;
  usage: ProcessUsage | null;
}

/** One tracked process; fed by a scan (see Trackers), reports quorum changes. */
export class ProcessTracker {
  private st: QuorumDelayState = initialQuorumState;
  private pids: number[] = [];
  private rawUp = false;
  private timer: NodeJS.Timeout | null = null;
  private usage: ProcessUsage | null = null;
  private sampling = false;
  private lastSampleAt = -Infinity;

  constructor(
    readonly cfg: ProcessTrackerConfig,
    private readonly deps: { log: Logger; onChange: (up: boolean) => void; now: () => number; usageSampleMs?: number },
  ) {}

  get up(): boolean | null { return this.st.reported; }

  /** The live processes from one scan of /proc. */
  update(procs: readonly ProcEntry[]): void {
    this.pids = procs.filter((p) => matchesProcess(this.cfg, p)).map((p) => p.pid);
    this.rawUp = hasQuorum(this.pids.length, this.cfg.quorum, this.cfg.quorumMax);
    this.evaluate();
    this.maybeSampleUsage();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  snapshot(): ProcessSnapshot {
    return {
      name: this.cfg.name, process: this.cfg.process, count: this.pids.length, pids: [...this.pids],
      up: this.st.reported, quorum: this.cfg.quorum,
      quorumMax: Number.isFinite(this.cfg.quorumMax) ? this.cfg.quorumMax : null, usage: this.usage,
    };
  }

  private now(): number { return this.deps.now(); }

  private evaluate(): void {
    const before = this.st.reported;
    const r = quorumStep(this.cfg, this.st, this.rawUp, this.now());
    this.st = r.state;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.st.pending) this.timer = setTimeout(() => { this.timer = null; this.evaluate(); }, Math.max(0, this.st.pending.at - this.now()));
    if (!r.changed) return;
    const q = `${this.pids.length} running, quorum ${this.cfg.quorum}..${Number.isFinite(this.cfg.quorumMax) ? this.cfg.quorumMax : 'any'}`;
    if (before === null) this.deps.log.info(`vrrp_track_process ${this.cfg.name}: ${this.st.reported ? 'up' : 'down'} (${q})`);
    else this.deps.log.info(`vrrp_track_process ${this.cfg.name}: quorum ${this.st.reported ? 'gained' : 'lost'} (${q})`);
    this.deps.onChange(this.st.reported!);
  }

  private maybeSampleUsage(): void {
    const period = this.deps.usageSampleMs ?? 5000;
    const t = this.now();
    if (this.sampling || t - this.lastSampleAt < period) return;
    if (this.pids.length === 0) { this.usage = null; return; }
    this.sampling = true;
    this.lastSampleAt = t;
    const pids = [...this.pids];
    // maxage keeps pidusage's per-pid history (for the CPU % delta) across our samples. It must
    // be > 0: pidusage 4.1.0 re-reads forever when it cannot keep history (maxage <= 0).
    pidusage()(pids, { maxage: Math.max(1000, period * 3) }).then((stats) => {
      let cpu = 0;
      let rss = 0;
      for (const s of Object.values(stats)) {
        if (!s) continue; // exited since the scan
        cpu += s.cpu;
        rss += s.memory;
      }
      this.usage = { cpuPercent: Math.round(cpu * 10) / 10, rssBytes: rss, sampledAt: Date.now() };
    }, () => { /* the only process exited since the scan: keep the last sample */ })
      .finally(() => { this.sampling = false; });
  }
}
