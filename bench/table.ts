// IPVS table benchmark, in the kernel-tier VM (Debian's kernel under QEMU TCG, test/kernel/vm.ts),
// one boot for everything, tandem's two IPVS backends side by side:
//   1. 10,000 real servers across 100 services applied from empty by tandem (a reconciler pass:
//      IpvsadmBackend.apply of the reconcile ops, one `ipvsadm -R`; and NetlinkIpvsBackend.apply,
//      generic netlink requests, no process) and by `ipvsadm-restore` of the same lines, K times
//      each, rotating the order; medians and the ratios (target <= 1.2);
//   2. verdict -> kernel through each backend: one real server's health flipped,
//      trigger([service]), until the pass has applied (ipvsadm -R exited / the kernel acked) and
//      /proc/net/ip_vs shows it; M flips each (target < 5 ms);
//   3. a no-op process spawn in the same VM (`ipvsadm -v`, /bin/true), the part of (2) the
//      netlink backend does not pay.
//
//   npm run bench:table -- [--out table.json] [--runs K] [--flips M] [--timeout S] [--backend ipvs|nft|all]
//   (env RUNS=K, FLIPS=M also work; defaults 5 and 20)
// --backend nft (or all, the default) also runs the nftables backend on the host (bench/tableNft.ts:
// NftBackend vs `nft -f`, K apply runs and M weight changes per side); with `all`, its JSON goes
// next to --out's with `-nft` before the extension (docs/bench-table.json -> docs/bench-table-nft.json).
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { runInVm, vmAvailable } from '../test/kernel/vm.js';
import { checkCounts, eachArg, fmt, printStatsTable, ratio, stats, writeResults } from './lib/common.js';
import { runNftTableBench } from './tableNft.js';

const AGENT = new URL('./agents/table-agent.js', import.meta.url).pathname;

const SCRIPT = String.raw`
set -eu
# A route for the real servers' documentation subnet: IPVS refuses a real server without one.
ip link add tTbd type dummy
ip addr add 198.51.100.254/24 dev tTbd
ip link set tTbd up
node "$AGENT"
`;

interface Args { out: string | null; runs: number; flips: number; timeoutS: number; backend: 'ipvs' | 'nft' | 'all' }

function parseArgs(argv: string[]): Args {
  let out: string | null = null;
  let runs = Number(process.env.RUNS ?? 5);
  let flips = Number(process.env.FLIPS ?? 20);
  let timeoutS = 900;
  let backend: Args['backend'] = 'all';
  eachArg(argv, (a, next) => {
    if (a === '--out') out = next();
    else if (a === '--runs') runs = Number(next());
    else if (a === '--flips') flips = Number(next());
    else if (a === '--timeout') timeoutS = Number(next());
    else if (a === '--backend') {
      const b = next();
      if (b !== 'ipvs' && b !== 'nft' && b !== 'all') throw new Error(`--backend must be ipvs, nft or all, got ${b}`);
      backend = b;
    }
    else if (a === '--help' || a === '-h') {
      console.log('usage: node dist/bench/table.js [--out FILE.json] [--runs K] [--flips M] [--timeout S] [--backend ipvs|nft|all]  (env RUNS=K FLIPS=M)');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  });
  checkCounts([['runs', runs, 100], ['flips', flips, 1000], ['timeout', timeoutS, 7200]]);
  return { out, runs, flips, timeoutS, backend };
}


type FlipRun = { flip: number; op: string; verdictToAppliedMs: number; applyMs: number; passMs: number; inKernel: boolean };
interface AgentResult {
  kernel: string; ipvsadm: string; cpus: number; ops: number; batchBytes: number;
  applyRuns: Array<{
    run: number; first: string; tandemApplyMs: number; tandemPassMs: number; tandemReadMs: number; restoreMs: number;
    netlinkApplyMs: number; netlinkPassMs: number; netlinkReadMs: number;
  }>;
  startPass: { readMs: number; totalMs: number; ops: number };
  flipRuns: FlipRun[];
  netlinkStartPass: { readMs: number; totalMs: number; ops: number };
  netlinkFlipRuns: FlipRun[];
  spawnIpvsadmMs: number[]; spawnTrueMs: number[]; errors: string[];
}


async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.backend !== 'ipvs') {
    const nftOut = args.out === null || args.backend === 'nft' ? args.out : args.out.replace(/(\.json)?$/, '-nft$1');
    const nftErrors = await runNftTableBench({ out: nftOut, runs: args.runs, changes: args.flips, timeoutS: args.timeoutS });
    if (nftErrors > 0) process.exitCode = 1;
    if (args.backend === 'nft') return;
    console.log('');
  }
  const a = vmAvailable();
  if (!a.ok) throw new Error(`the table benchmark needs the kernel-tier VM: ${a.why}`);
  const started = new Date();
  console.log(`booting ${a.kernel} under QEMU TCG: ${args.runs} apply runs per side, ${args.flips} verdict flips`);
  const run = await runInVm(SCRIPT, {
    timeoutMs: args.timeoutS * 1000,
    env: { AGENT, RUNS: String(args.runs), FLIPS: String(args.flips), SPAWNS: String(args.flips) },
  });
  const m = /^TABLE-RESULT (.*)$/m.exec(run.stdout);
  if (run.code !== 0 || !m) {
    throw new Error(`the agent failed (exit ${run.code})\nstdout:\n${run.stdout.slice(-4000)}\nstderr:\n${run.stderr.slice(-4000)}`);
  }
  const r = JSON.parse(m[1]!) as AgentResult;

  const tandemApply = stats(r.applyRuns.map((x) => x.tandemApplyMs));
  const tandemPass = stats(r.applyRuns.map((x) => x.tandemPassMs));
  const restore = stats(r.applyRuns.map((x) => x.restoreMs));
  const netlinkApply = stats(r.applyRuns.map((x) => x.netlinkApplyMs));
  const netlinkPass = stats(r.applyRuns.map((x) => x.netlinkPassMs));
  const verdict = stats(r.flipRuns.map((x) => x.verdictToAppliedMs));
  const flipApply = stats(r.flipRuns.map((x) => x.applyMs));
  const flipPass = stats(r.flipRuns.map((x) => x.passMs));
  const netlinkVerdict = stats(r.netlinkFlipRuns.map((x) => x.verdictToAppliedMs));
  const netlinkFlipApply = stats(r.netlinkFlipRuns.map((x) => x.applyMs));
  const netlinkFlipPass = stats(r.netlinkFlipRuns.map((x) => x.passMs));
  const spawnIpvsadm = stats(r.spawnIpvsadmMs);
  const spawnTrue = stats(r.spawnTrueMs);
  const ratios = {
    applyVsRestore: ratio(tandemApply?.median, restore?.median),
    passVsRestore: ratio(tandemPass?.median, restore?.median),
    netlinkApplyVsRestore: ratio(netlinkApply?.median, restore?.median),
    netlinkPassVsRestore: ratio(netlinkPass?.median, restore?.median),
    netlinkVsIpvsadmApply: ratio(netlinkApply?.median, tandemApply?.median),
    netlinkVsIpvsadmVerdict: ratio(netlinkVerdict?.median, verdict?.median),
    /** Share of the verdict -> kernel median that a bare `ipvsadm -v` spawn accounts for. */
    spawnShareOfVerdict: ratio(spawnIpvsadm?.median, verdict?.median),
  };

  console.log(`\nVM: ${r.kernel}, ${r.cpus} vCPUs, QEMU TCG (software emulation) on ${cpus()[0]?.model ?? '?'}; ${r.ipvsadm}`);
  console.log(`boot ${run.bootMs} ms, whole run ${run.totalMs} ms\n`);
  printStatsTable(`1. apply ${r.ops} ops (100 services x 100 real servers) from empty, ${args.runs} runs each, rotating the order`, [
    ['tandem: IpvsadmBackend.apply (render + ipvsadm -R)', tandemApply],
    ['tandem: whole reconciler pass (read+diff+apply)', tandemPass],
    ['tandem: NetlinkIpvsBackend.apply (genetlink)', netlinkApply],
    ['tandem: whole reconciler pass, netlink', netlinkPass],
    ['ipvsadm-restore (same lines)', restore],
  ]);
  console.log(`ratio tandem/ipvsadm-restore (medians): ipvsadm backend apply ${fmt(ratios.applyVsRestore, 3)}, whole pass ${fmt(ratios.passVsRestore, 3)}; ` +
    `netlink backend apply ${fmt(ratios.netlinkApplyVsRestore, 3)}, whole pass ${fmt(ratios.netlinkPassVsRestore, 3)}  (target <= 1.2)`);
  console.log(`ratio netlink/ipvsadm backend (medians): apply ${fmt(ratios.netlinkVsIpvsadmApply, 3)}\n`);
  printStatsTable(`2. verdict -> kernel with 10,000 real servers in the table: ${args.flips} flips per backend (down = delete_dest, up = add_dest)`, [
    ['ipvsadm: trigger([service]) -> pass applied', verdict],
    ['  the pass (desired+diff+apply)', flipPass],
    ['  its IpvsadmBackend.apply (ipvsadm -R)', flipApply],
    ['netlink: trigger([service]) -> pass applied', netlinkVerdict],
    ['  the pass (desired+diff+apply)', netlinkFlipPass],
    ['  its NetlinkIpvsBackend.apply', netlinkFlipApply],
    ['no-op spawn: ipvsadm -v', spawnIpvsadm],
    ['no-op spawn: /bin/true', spawnTrue],
  ]);
  console.log(`a bare ipvsadm spawn is ${fmt((ratios.spawnShareOfVerdict ?? NaN) * 100, 0)}% of the ipvsadm backend's verdict -> kernel median; ` +
    `netlink/ipvsadm verdict -> kernel (medians) ${fmt(ratios.netlinkVsIpvsadmVerdict, 3)} (target < 5 ms)`);
  console.log(`start pass of the running reconciler (reads 10,000 entries): ipvsadm read ${fmt(r.startPass.readMs, 0)} ms, total ${fmt(r.startPass.totalMs, 0)} ms, ${r.startPass.ops} ops; ` +
    `netlink read ${fmt(r.netlinkStartPass.readMs, 0)} ms, total ${fmt(r.netlinkStartPass.totalMs, 0)} ms, ${r.netlinkStartPass.ops} ops`);
  for (const e of r.errors) console.log(`ERROR ${e}`);

  if (args.out) {
    writeResults(args.out, started, () => ({
      host: { cpu: cpus()[0]?.model ?? null, cpus: cpus().length, node: process.version, kernel: spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim() },
      vm: { kernel: r.kernel, cpus: r.cpus, accel: 'tcg', ipvsadm: r.ipvsadm, bootMs: run.bootMs, totalMs: run.totalMs },
      runsRequested: args.runs, flipsRequested: args.flips,
      ops: r.ops, batchBytes: r.batchBytes,
      summary: {
        tandemApply, tandemPass, netlinkApply, netlinkPass, restore, verdict, flipPass, flipApply,
        netlinkVerdict, netlinkFlipPass, netlinkFlipApply, spawnIpvsadm, spawnTrue, ratios,
      },
      raw: {
        applyRuns: r.applyRuns, startPass: r.startPass, flipRuns: r.flipRuns, netlinkStartPass: r.netlinkStartPass,
        netlinkFlipRuns: r.netlinkFlipRuns, spawnIpvsadmMs: r.spawnIpvsadmMs, spawnTrueMs: r.spawnTrueMs,
      },
      errors: r.errors,
    }));
  }
  if (r.errors.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
