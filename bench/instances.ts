// Many VRRP instances (issue 15 §3): 100 VRRPv3 instances at advert_int 0.1 s, all masters (no
// peer on the link), on one interface; tandem, then keepalived with the equivalent
// keepalived.conf, each for the same window. Per implementation: CPU % of one core (utime+stime
// of the whole daemon, every thread: tandem's one process; keepalived's parent and its VRRP
// child), sampled each second, RSS, and the advert jitter |interval - 100 ms| of every instance,
// timed by the kernel on a capture in another namespace (the lab's bridge, tcpdump, ns stamps).
//
//   npm run bench:instances -- [--seconds S] [--warmup S] [--instances N] [--only tandem|keepalived] [--out FILE.json]
//   (defaults: 60 s window after 5 s warm-up, 100 instances, both implementations)
import type { DirectorSpec } from '../test/lib/director-spec.js';
import { Keepalived } from '../test/lib/keepalived.js';
import { Lab, requireLabTools } from '../test/lib/netns.js';
import { Observer } from '../test/lib/observer.js';
import { Tandem, requireTandemBuilt } from '../test/lib/tandem.js';
import { advertsIn, advertTiming, realtimeNs, type AdvertTiming } from './lib/adverts.js';
import { checkCounts, eachArg, oneOf, usage, fmt, ratio } from './lib/common.js';
import { runSideBySide } from './lib/sideBySide.js';
import { loadAverage, sampleCpu, type CpuWindow } from './lib/proc.js';

type Impl = 'tandem' | 'keepalived';
const ADVERT_INT_S = 0.1;

interface Args { seconds: number; warmupS: number; instances: number; only: Impl | null; out: string | null }

function parseArgs(argv: string[]): Args {
  const o: Args = { seconds: 60, warmupS: 5, instances: 100, only: null, out: null };
  eachArg(argv, (a, next) => {
    if (a === '--seconds') o.seconds = Number(next());
    else if (a === '--warmup') o.warmupS = Number(next());
    else if (a === '--instances') o.instances = Number(next());
    else if (a === '--out') o.out = next();
    else if (a === '--only') o.only = oneOf('--only', next(), ['tandem', 'keepalived'] as const);
    else if (a === '--help' || a === '-h') usage('node dist/bench/instances.js [--seconds S] [--warmup S] [--instances N] [--only tandem|keepalived] [--out FILE.json]');
    else throw new Error(`unknown argument ${a}`);
  });
  checkCounts([['seconds', o.seconds, 3600], ['warmup', o.warmupS, 600], ['instances', o.instances, 255]]);
  return o;
}

/** VRIDs 1..n, each with one VIP 203.0.113.x/24 (x = VRID), priority 100: with no peer on the
 *  link every instance becomes MASTER after its Master_Down_Interval and stays there. */
function spec(n: number): DirectorSpec {
  return {
    routerId: 'lb1',
    instances: Array.from({ length: n }, (_, i) => ({
      name: `VI_${i + 1}`, vrid: i + 1, version: 3 as const, priority: 100, advertInt: ADVERT_INT_S,
      vips: [`203.0.113.${i + 1}/24`],
      // One GARP burst at the transition, no refresh: only adverts are on the wire in the window.
      garpMasterDelay: 0,
    })),
  };
}

interface Result {
  impl: Impl;
  instances: number;
  pids: number[];
  cpu: CpuWindow | null;
  timing: AdvertTiming | null;
  /** Adverts per second seen from lb1 over the window (instances / advert_int expected). */
  advertsPerS: number | null;
  loadAverageBefore: string;
  error: string | null;
}

async function runOne(impl: Impl, lab: Lab, args: Args): Promise<Result> {
  const r: Result = { impl, instances: args.instances, pids: [], cpu: null, timing: null, advertsPerS: null, loadAverageBefore: loadAverage(), error: null };
  const node = lab.node('lb1');
  const s = spec(args.instances);
  const obs = await Observer.start(lab);
  let stop: () => Promise<void> = async () => undefined;
  try {
    let pids: () => number[];
    if (impl === 'tandem') {
      const t = await Tandem.start(lab, node, s);
      stop = async () => { await t.stop().catch(() => t.kill9()); };
      for (const i of s.instances) await t.waitForState(i.name, 'MASTER', 15_000);
      pids = () => [t.proc.pid];
    } else {
      const k = await Keepalived.start(lab, node, s);
      stop = async () => { await k.stop().catch(() => k.kill9()); };
      for (const i of s.instances) await k.waitForState(i.name, 'MASTER', 15_000);
      const child = await k.vrrpChildPid();
      pids = () => [k.proc.pid, child];
    }
    r.pids = pids();
    console.log(`  ${impl}: ${args.instances} instances MASTER (pids ${r.pids.join(', ')}); warm-up ${args.warmupS} s, window ${args.seconds} s`);
    await new Promise((res) => setTimeout(res, args.warmupS * 1000));
    const fromNs = realtimeNs();
    r.cpu = await sampleCpu(pids, args.seconds);
    const toNs = realtimeNs();
    // Let the capture catch up with the end of the window before it is read.
    await new Promise((res) => setTimeout(res, 300));
    const adverts = advertsIn(obs.events, fromNs, toNs, (e) => e.src === node.ipv4[0]);
    r.timing = advertTiming(adverts, ADVERT_INT_S * 1000);
    r.advertsPerS = adverts.length / (Number(toNs - fromNs) / 1e9);
  } catch (e) {
    r.error = (e as Error).message;
  } finally {
    await stop();
    await obs.stop().catch(() => undefined);
    for (const i of s.instances) await lab.removeAddress(node, i.vips[0]!);
  }
  return r;
}

function printSummary(results: Result[], args: Args): void {
  console.log('');
  console.log(`${args.instances} VRRPv3 instances at advert_int ${ADVERT_INT_S} s, masters only, one interface; window ${args.seconds} s after ${args.warmupS} s`);
  console.log('CPU: % of one core, utime+stime of the whole daemon per 1 s sample; jitter: |interval - 100 ms| per instance, kernel capture stamps');
  console.log('');
  const header = ['impl', 'adverts/s', 'CPU % median', 'CPU % p95', 'CPU % mean', 'RSS MB', 'jitter p50 ms', 'p99 ms', 'max ms', 'interval max ms', 'error'];
  const rows = results.map((r) => [
    r.impl, fmt(r.advertsPerS, 0), fmt(r.cpu?.cpuPct?.median, 1), fmt(r.cpu?.cpuPct?.p95, 1), fmt(r.cpu?.cpuPctMean, 1), fmt(r.cpu?.rssMbMedian, 1),
    fmt(r.timing?.offBy?.median, 3), fmt(r.timing?.offBy?.p99, 3), fmt(r.timing?.offBy?.max, 3), fmt(r.timing?.interval?.max, 1), r.error ? 'yes' : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => x.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  const t = results.find((x) => x.impl === 'tandem' && !x.error);
  const k = results.find((x) => x.impl === 'keepalived' && !x.error);
  if (t && k) {
    const cpu = ratio(t.cpu?.cpuPct?.median, k.cpu?.cpuPct?.median);
    console.log('');
    console.log(`ratio tandem/keepalived: CPU median ${fmt(cpu, 2)} (target <= 1.0), CPU mean ${fmt(ratio(t.cpu?.cpuPctMean, k.cpu?.cpuPctMean), 2)}, RSS ${fmt(ratio(t.cpu?.rssMbMedian, k.cpu?.rssMbMedian), 2)}, `
      + `jitter p99 ${fmt(ratio(t.timing?.offBy?.p99, k.timing?.offBy?.p99), 2)}, max ${fmt(ratio(t.timing?.offBy?.max, k.timing?.offBy?.max), 2)} (targets <= 1.0)`);
  }
  for (const r of results) if (r.error) console.log(`ERROR ${r.impl}: ${r.error}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const impls: Impl[] = args.only ? [args.only] : ['tandem', 'keepalived'];
  requireLabTools('tcpdump', ...(impls.includes('keepalived') ? ['keepalived'] : []));
  if (impls.includes('tandem')) requireTandemBuilt();
  await runSideBySide({
    lab: { prefix: 'tK', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }] },
    impls, run: (impl, lab) => runOne(impl, lab, args), summary: (results) => printSummary(results, args), out: args.out,
    // The per-second CPU samples stay in the results; the adverts themselves are summarised.
    settings: { instances: args.instances, advertIntS: ADVERT_INT_S, version: 3, seconds: args.seconds, warmupS: args.warmupS },
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
