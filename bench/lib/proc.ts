// What the VRRP benchmarks read about a daemon from /proc: CPU time of the whole process (all
// threads), resident memory, its children. Sampled by the benchmark, never by the daemon itself.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { median, stats, toolVersion, type Stats } from './common.js';

/** /proc/PID/stat counts CPU time in clock ticks (sysconf(_SC_CLK_TCK)). */
export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** The fields of /proc/PID/stat after the command name (which is in parentheses and may hold spaces). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime (fields 14 and 15 of /proc/PID/stat): every thread of the process, no children. */
export function cpuTicks(pid: number): number {
  const f = statFields(pid);
  return Number(f[11]) + Number(f[12]);
}

/** VmRSS in kB. */
export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
}

/** Pids whose parent is `pid`, with their command names (comm). */
export function childrenOf(pid: number): Array<{ pid: number; comm: string }> {
  const out: Array<{ pid: number; comm: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(name), comm });
    } catch { /* exited while we looked */ }
  }
  return out;
}

export interface CpuWindow {
  /** CPU % of one core per ~1 s sample, summed over the pids. */
  cpuPctSamples: number[];
  cpuPct: Stats | null;
  /** CPU time over the whole window / window length, % of one core. */
  cpuPctMean: number;
  /** Summed VmRSS per sample, MB. */
  rssMbMedian: number;
  rssMbMax: number;
  windowS: number;
}

/**
 * Samples the summed CPU time and RSS of `pids` once a second for `seconds` (the daemon is all of
 * them: keepalived's parent and its VRRP / checker children; tandem's one process). `each` runs
 * after every sample (e.g. to read other counters on the same beat); it must not throw.
 */
export async function sampleCpu(pids: () => number[], seconds: number, each?: (i: number) => void | Promise<void>): Promise<CpuWindow> {
  const sum = (f: (pid: number) => number): number => pids().reduce((a, p) => a + f(p), 0);
  const t0 = performance.now();
  const first = sum(cpuTicks);
  let prev = first;
  let prevT = t0;
  const cpu: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < seconds; i++) {
    const wait = t0 + (i + 1) * 1000 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const ticks = sum(cpuTicks);
    const now = performance.now();
    cpu.push(((ticks - prev) / CLK_TCK) / ((now - prevT) / 1000) * 100);
    rss.push(sum(rssKb) / 1024);
    prev = ticks;
    prevT = now;
    if (each) await each(i);
  }
  const windowS = (prevT - t0) / 1000;
  return {
    cpuPctSamples: cpu, cpuPct: stats(cpu), cpuPctMean: ((prev - first) / CLK_TCK) / windowS * 100,
    rssMbMedian: median(rss), rssMbMax: Math.max(...rss), windowS,
  };
}

/** `uptime`'s load averages, for the record of how busy the machine was. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** Host facts every VRRP benchmark writes into its JSON. */
export function hostFacts(): Record<string, string> {
  return {
    kernel: toolVersion(['uname', '-r']), node: process.version, cpus: toolVersion(['nproc']),
    keepalived: toolVersion(['keepalived', '--version']), tcpdump: toolVersion(['tcpdump', '--version']), loadAverageAtEnd: loadAverage(),
  };
}
