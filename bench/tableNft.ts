// The nftables half of `npm run bench:table` (issue 6 §4), on the host: this kernel has nftables,
// so no VM is needed. A lab namespace of its own (`tK<pid>-<n>-nft`, test/lib/netns.ts: deleted at
// the end, on signals and on exit) runs bench/agents/table-nft-agent.ts, which times tandem's
// NftBackend against `nft -f` of the same ruleset written by hand (renderRuleset), from empty and
// for one change; this side prints medians and ratios and writes the JSON.
import { cpus } from 'node:os';
import { Lab, requireLabTools } from '../test/lib/netns.js';
import { fmt, printStatsTable, ratio, stats, writeResults } from './lib/common.js';

const AGENT = new URL('./agents/table-nft-agent.js', import.meta.url).pathname;

export interface NftBenchArgs { out: string | null; runs: number; changes: number; timeoutS: number }

interface ChangeRun { change: number; side: string; service: string; dest: string; weight: number; ms: number; diffApplyMs: number; inKernel: boolean }
interface AgentResult {
  kernel: string; nft: string; cpus: number; ops: number; scriptBytes: number; scriptLines: number;
  applyRuns: Array<{ run: number; first: string; tandemApplyMs: number; tandemPassMs: number; tandemReadMs: number; nftFileMs: number }>;
  changeRuns: ChangeRun[];
  readMs: number;
  errors: string[];
}


/** Runs the nft benchmark; resolves with the number of errors the agent reported. */
export async function runNftTableBench(args: NftBenchArgs): Promise<number> {
  requireLabTools('nft');
  const started = new Date();
  console.log(`nftables on the host, in a namespace of its own: ${args.runs} apply runs per side, ${args.changes} changes per side`);
  const lab = await Lab.create({ prefix: 'tK', nodes: [{ name: 'nft' }] });
  let r: AgentResult;
  const t0 = performance.now();
  try {
    const run = await lab.exec(lab.node('nft'), [process.execPath, AGENT, JSON.stringify({ runs: args.runs, changes: args.changes })],
      { allowFail: true, timeoutMs: args.timeoutS * 1000 });
    process.stderr.write(run.stderr.split('\n').filter((l) => l.startsWith('run ')).map((l) => `  ${l}\n`).join(''));
    const m = /^TABLE-NFT-RESULT (.*)$/m.exec(run.stdout);
    if (run.code !== 0 || !m) {
      throw new Error(`the nft agent failed (exit ${run.code})\nstdout:\n${run.stdout.slice(-4000)}\nstderr:\n${run.stderr.slice(-4000)}`);
    }
    r = JSON.parse(m[1]!) as AgentResult;
  } finally {
    await lab.destroy();
  }
  const totalMs = performance.now() - t0;

  const tandemApply = stats(r.applyRuns.map((x) => x.tandemApplyMs));
  const tandemPass = stats(r.applyRuns.map((x) => x.tandemPassMs));
  const nftFile = stats(r.applyRuns.map((x) => x.nftFileMs));
  const tandemChange = stats(r.changeRuns.filter((x) => x.side === 'tandem').map((x) => x.ms));
  const tandemChangeDiffApply = stats(r.changeRuns.filter((x) => x.side === 'tandem').map((x) => x.diffApplyMs));
  const nftChange = stats(r.changeRuns.filter((x) => x.side === 'nft-f').map((x) => x.ms));
  const ratios = {
    applyVsNftFile: ratio(tandemApply?.median, nftFile?.median),
    passVsNftFile: ratio(tandemPass?.median, nftFile?.median),
    changeVsNftFile: ratio(tandemChange?.median, nftChange?.median),
    changeDiffApplyVsNftFile: ratio(tandemChangeDiffApply?.median, nftChange?.median),
  };

  console.log(`\nhost: ${r.kernel}, ${r.cpus} CPUs (${cpus()[0]?.model ?? '?'}); ${r.nft}; whole nft run ${fmt(totalMs, 0)} ms\n`);
  printStatsTable(`nft 1. apply ${r.ops} ops (100 services x 100 real servers, wrr) from empty, ${args.runs} runs each, rotating the order`, [
    ['tandem: NftBackend.apply (the reconcile ops)', tandemApply],
    ['tandem: whole reconciler pass (read+diff+apply)', tandemPass],
    [`nft -f of renderRuleset (${r.scriptLines} lines, ${r.scriptBytes} bytes)`, nftFile],
  ], 2);
  console.log(`ratio tandem/nft -f (medians): apply ${fmt(ratios.applyVsNftFile, 3)}, whole pass ${fmt(ratios.passVsNftFile, 3)}\n`);
  printStatsTable(`nft 2. one real server's weight changed, 10,000 in the table: ${args.changes} changes per side`, [
    ['tandem: NftBackend.apply (one edit_dest)', tandemChange],
    ['tandem: diff of the service + apply', tandemChangeDiffApply],
    ['nft -f of the minimal hand-written change', nftChange],
  ], 2);
  console.log(`ratio tandem/nft -f (medians): apply ${fmt(ratios.changeVsNftFile, 3)}, diff+apply ${fmt(ratios.changeDiffApplyVsNftFile, 3)}`);
  console.log(`reading the 10,000-entry table back (NftBackend.readTable): ${fmt(r.readMs, 0)} ms`);
  for (const e of r.errors) console.log(`ERROR ${e}`);

  if (args.out) {
    writeResults(args.out, started, () => ({
      host: { cpu: cpus()[0]?.model ?? null, cpus: cpus().length, node: process.version, kernel: r.kernel, nft: r.nft },
      runsRequested: args.runs, changesRequested: args.changes,
      ops: r.ops, scriptBytes: r.scriptBytes, scriptLines: r.scriptLines,
      summary: { tandemApply, tandemPass, nftFile, tandemChange, tandemChangeDiffApply, nftChange, readMs: r.readMs, ratios },
      raw: { applyRuns: r.applyRuns, changeRuns: r.changeRuns },
      errors: r.errors,
    }), 'nft results');
  }
  return r.errors.length;
}
