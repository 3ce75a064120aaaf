// Failover benchmark: tandem pair vs keepalived pair in the same namespace topology, kill -9 of
// the master, timed on the wire by an observer on the bridge (tcpdump, nanosecond timestamps).
//
//   npm run bench:failover -- [--out results.json] [--only keepalived|tandem] [--trials N]
//   (env TRIALS=N also sets the trial count; default 20)
//
// Per trial: from the master's last advert to the backup's first advert, and to the backup's
// first gratuitous ARP. RFC 3768/5798 §6.1 says the backup speaks Master_Down_Interval =
// 3 * Advert_Interval + Skew_Time after the last advert it heard. Both directors always run
// at priority 100, so the backup's Skew_Time is the same in every trial; after a kill the dead
// director is restarted (at the same priority it stays BACKUP: no preemption to wait for) and
// the roles swap for the next trial.
import type { DirectorSpec } from '../test/lib/director-spec.js';
import { Keepalived } from '../test/lib/keepalived.js';
import { Lab, requireLabTools, sleep, type LabNode } from '../test/lib/netns.js';
import { Observer, masterDownIntervalS, measureFailover, nowNs, type FailoverMeasurement } from '../test/lib/observer.js';
import { Tandem, requireTandemBuilt } from '../test/lib/tandem.js';
import { eachArg, stats, toolVersion, writeResults, type Stats } from './lib/common.js';

type Impl = 'tandem' | 'keepalived';

interface BenchConfig {
  id: string;
  version: 2 | 3;
  advertInt: number;
}

const CONFIGS: BenchConfig[] = [
  { id: 'v2-adv1s', version: 2, advertInt: 1 },
  { id: 'v3-adv0.1s', version: 3, advertInt: 0.1 },
];
const PRIORITY = 100;
const VRID = 51;
const VIP = '192.0.2.100';

interface Trial {
  advertGapS: number;
  announceGapS: number | null;
  announceAfterAdvertS: number | null;
}


interface ConfigResult {
  impl: Impl;
  config: string;
  version: 2 | 3;
  advertIntS: number;
  backupPriority: number;
  formulaS: number;
  trials: Trial[];
  errors: string[];
  advertGap: Stats | null;
  announceGap: Stats | null;
  announceAfterAdvert: Stats | null;
  /** median advert gap - formula, milliseconds. */
  medianMinusFormulaMs: number | null;
}

/** A running director of either implementation, reduced to what the benchmark needs. */
interface Director {
  node: LabNode;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

function parseArgs(argv: string[]): { out: string | null; only: Impl | null; trials: number } {
  let out: string | null = null;
  let only: Impl | null = null;
  let trials = Number(process.env.TRIALS ?? 20);
  eachArg(argv, (a, next) => {
    if (a === '--out') out = next();
    else if (a === '--only') {
      const v = next();
      if (v !== 'tandem' && v !== 'keepalived') throw new Error(`--only tandem|keepalived, got ${v}`);
      only = v;
    } else if (a === '--trials') trials = Number(next());
    else if (a === '--help' || a === '-h') {
      console.log('usage: node dist/bench/failover.js [--out FILE.json] [--only tandem|keepalived] [--trials N]  (env TRIALS=N)');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  });
  if (!Number.isInteger(trials) || trials < 1 || trials > 1000) throw new Error(`trials must be 1..1000, got ${trials}`);
  return { out, only, trials };
}

function spec(node: LabNode, cfg: BenchConfig): DirectorSpec {
  return {
    routerId: node.name,
    instances: [{
      name: 'VI_1', vrid: VRID, version: cfg.version, priority: PRIORITY, advertInt: cfg.advertInt,
      ...(cfg.version === 2 ? { authPass: 'bench' } : {}),
      vips: [`${VIP}/24`],
      // One burst, no second burst or refresh: only the first announcement is measured.
      garpMasterDelay: 0,
    }],
  };
}

/** Starts a director and resolves once it is in `want` state. */
async function startDirector(impl: Impl, lab: Lab, node: LabNode, cfg: BenchConfig, want: 'MASTER' | 'BACKUP'): Promise<Director> {
  const timeout = masterDownIntervalS(cfg.version, PRIORITY, cfg.advertInt) * 1000 + 10_000;
  if (impl === 'keepalived') {
    const k = await Keepalived.start(lab, node, spec(node, cfg));
    if (want === 'MASTER') await k.waitForState('VI_1', 'MASTER', timeout);
    else if (k.currentState('VI_1') !== 'BACKUP') throw new Error(`keepalived on ${node.name} not BACKUP:\n${k.tail()}`);
    return { node, kill9: () => k.kill9(), stop: async () => { await k.stop().catch(() => k.kill9()); } };
  }
  const t = await Tandem.start(lab, node, spec(node, cfg));
  await t.waitForState('VI_1', want, timeout);
  return { node, kill9: () => t.kill9(), stop: async () => { await t.stop().catch(() => t.kill9()); } };
}


async function runConfig(impl: Impl, cfg: BenchConfig, lab: Lab, trials: number): Promise<ConfigResult> {
  const formulaS = masterDownIntervalS(cfg.version, PRIORITY, cfg.advertInt);
  const result: ConfigResult = {
    impl, config: cfg.id, version: cfg.version, advertIntS: cfg.advertInt, backupPriority: PRIORITY, formulaS,
    trials: [], errors: [], advertGap: null, announceGap: null, announceAfterAdvert: null, medianMinusFormulaMs: null,
  };
  const nodes = [lab.node('lb1'), lab.node('lb2')];
  const obs = await Observer.start(lab);
  const running: Director[] = [];
  try {
    let master = await startDirector(impl, lab, nodes[0]!, cfg, 'MASTER');
    running.push(master);
    let backup = await startDirector(impl, lab, nodes[1]!, cfg, 'BACKUP');
    running.push(backup);
    for (let i = 0; i < trials; i++) {
      const masterSrc = master.node.ipv4[0]!;
      const backupSrc = backup.node.ipv4[0]!;
      // The backup must have heard the master since it (re)started, so its timer runs from the
      // master's adverts and not from its own start.
      const mark = obs.mark;
      await obs.waitForEvent((e) => e.kind === 'vrrp' && e.src === masterSrc && e.priority > 0
        && obs.adverts({ src: masterSrc }, mark).length >= 2, cfg.advertInt * 1000 * 3 + 5000, mark, `2 adverts from ${master.node.name}`);
      // Kill at a random phase of the advert cycle.
      await sleep(Math.random() * cfg.advertInt * 1000);
      const killedAt = nowNs();
      await master.kill9();
      running.splice(running.indexOf(master), 1);
      await lab.removeAddress(master.node, VIP); // the dead director "reboots" without its VIP
      const from = obs.mark;
      try {
        await obs.waitForEvent((e) => e.kind === 'vrrp' && e.src === backupSrc && e.priority > 0, formulaS * 1000 + 5000, from, `first advert from ${backup.node.name}`);
        await obs.waitForEvent((e) => e.kind === 'arp' && e.gratuitous && e.senderIp === VIP && e.senderMac === backup.node.mac, 3000, from, `first GARP from ${backup.node.name}`);
      } catch (err) {
        result.errors.push(`trial ${i + 1}: ${(err as Error).message}`);
        break;
      }
      const m: FailoverMeasurement | null = measureFailover(obs.events, {
        vrid: VRID, oldMasterSrc: masterSrc, newMasterSrc: backupSrc, newMasterMac: backup.node.mac, vip: VIP, sinceNs: killedAt,
      });
      if (!m) {
        result.errors.push(`trial ${i + 1}: handover not found on the wire`);
        break;
      }
      result.trials.push({ advertGapS: m.advertGapS, announceGapS: m.announceGapS, announceAfterAdvertS: m.announceAfterAdvertS });
      process.stdout.write(`  ${impl} ${cfg.id} trial ${i + 1}/${trials}: advert gap ${m.advertGapS.toFixed(6)} s, GARP +${((m.announceAfterAdvertS ?? NaN) * 1000).toFixed(3)} ms\n`);
      // Restart the dead director as the new backup and swap roles.
      const restarted = await startDirector(impl, lab, master.node, cfg, 'BACKUP');
      running.push(restarted);
      master = backup;
      backup = restarted;
      // Drop events of finished trials: only the current handover is ever measured.
      obs.events.splice(0, obs.events.length);
    }
  } catch (err) {
    result.errors.push((err as Error).message);
  } finally {
    for (const d of running) await d.kill9();
    for (const n of nodes) await lab.removeAddress(n, VIP);
    await obs.stop().catch(() => undefined);
  }
  result.advertGap = stats(result.trials.map((t) => t.advertGapS));
  result.announceGap = stats(result.trials.flatMap((t) => (t.announceGapS === null ? [] : [t.announceGapS])));
  result.announceAfterAdvert = stats(result.trials.flatMap((t) => (t.announceAfterAdvertS === null ? [] : [t.announceAfterAdvertS])));
  result.medianMinusFormulaMs = result.advertGap ? (result.advertGap.median - formulaS) * 1000 : null;
  return result;
}

function fmt(x: number | null | undefined, digits: number, scale = 1): string {
  return x === null || x === undefined ? '-' : (x * scale).toFixed(digits);
}


async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const impls: Impl[] = args.only ? [args.only] : ['tandem', 'keepalived'];
  requireLabTools('tcpdump', ...(impls.includes('keepalived') ? ['keepalived'] : []));
  if (impls.includes('tandem')) requireTandemBuilt();
  const lab = await Lab.create({
    prefix: 'tK',
    nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }, { name: 'lb2', ipv4: ['192.0.2.2/24'] }],
  });
  const results: ConfigResult[] = [];
  const started = new Date();
  try {
    for (const cfg of CONFIGS) {
      for (const impl of impls) {
        console.log(`${impl} ${cfg.id}: ${args.trials} trials`);
        results.push(await runConfig(impl, cfg, lab, args.trials));
      }
    }
  } finally {
    await lab.destroy();
  }

  console.log('');
  console.log('failover on the wire: master\'s last advert -> backup\'s first advert (kill -9 of the master)');
  console.log(`backup priority ${PRIORITY}; formula = 3 * advert_int + Skew_Time(priority) (RFC 3768/5798 §6.1)`);
  console.log('');
  const header = ['config', 'impl', 'n', 'median s', 'p95 s', 'formula s', 'median-formula ms', 'GARP-after-advert median ms', 'p95 ms', 'errors'];
  const rows = results.map((r) => [
    r.config, r.impl, String(r.advertGap?.n ?? 0), fmt(r.advertGap?.median, 6), fmt(r.advertGap?.p95, 6), fmt(r.formulaS, 6),
    fmt(r.medianMinusFormulaMs, 3), fmt(r.announceAfterAdvert?.median, 3, 1000), fmt(r.announceAfterAdvert?.p95, 3, 1000), String(r.errors.length),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));

  const ratios: Array<{ config: string; advertGapMedian: number | null; medianMinusFormula: number | null; announceAfterAdvertMedian: number | null }> = [];
  for (const cfg of CONFIGS) {
    const t = results.find((r) => r.impl === 'tandem' && r.config === cfg.id);
    const k = results.find((r) => r.impl === 'keepalived' && r.config === cfg.id);
    if (!t || !k) continue;
    const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
      a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;
    ratios.push({
      config: cfg.id,
      advertGapMedian: ratio(t.advertGap?.median, k.advertGap?.median),
      medianMinusFormula: ratio(t.medianMinusFormulaMs, k.medianMinusFormulaMs),
      announceAfterAdvertMedian: ratio(t.announceAfterAdvert?.median, k.announceAfterAdvert?.median),
    });
  }
  if (ratios.length > 0) {
    console.log('');
    console.log('ratio tandem/keepalived:');
    for (const r of ratios) {
      console.log(`  ${r.config}: median gap ${fmt(r.advertGapMedian, 4)}, median-formula ${fmt(r.medianMinusFormula, 2)}, GARP-after-advert ${fmt(r.announceAfterAdvertMedian, 2)}`);
    }
  }
  for (const r of results) for (const e of r.errors) console.log(`ERROR ${r.impl} ${r.config}: ${e.split('\n')[0]}`);

  if (args.out) {
    writeResults(args.out, started, () => ({
      host: {
        kernel: toolVersion(['uname', '-r']),
        node: process.version,
        keepalived: impls.includes('keepalived') ? toolVersion(['keepalived', '--version']) : null,
        tcpdump: toolVersion(['tcpdump', '--version']),
      },
      trialsRequested: args.trials,
      results,
      ratios,
    }));
  }
  if (results.some((r) => r.errors.length > 0)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
