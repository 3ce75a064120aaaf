// Start-up (issue 15 §3): from starting the daemon to its first advert on the wire, tandem
// against keepalived, and `tandem check -f conf/lb1.yaml` against Node's own start.
//
//   npm run bench:startup -- [--runs N] [--only tandem|keepalived] [--out FILE.json]
//   (default 20 starts of each daemon and 20 runs of each command; env RUNS=N sets the same)
//
// First advert: one instance, priority 255 and state MASTER (the address owner, RFC 5798
// §6.4.1: it sends its first advert at once), VRRPv3, advert_int 1, one VIP. The spawn time is
// CLOCK_REALTIME read just before `ip netns exec <lb1> <daemon>` is spawned (both daemons pay the
// same `ip netns exec`); the advert time is the kernel's capture stamp (CLOCK_REALTIME) of the
// first advert from lb1 on the lab's bridge. Between starts the daemon is stopped with SIGTERM
// and the VIP removed; tandem and keepalived starts alternate so that a busy moment of the
// machine lands on both.
//
// `tandem check`: wall time of `node bin/tandem check -f conf/lb1.yaml` (exit 0 required) and of
// `node -e 0`, alternating, after one unrecorded run of each (a cold file cache is not the point).
//
// Everything runs without NODE_EXTRA_CA_CERTS, as under tandem's systemd unit (which sets no
// such variable): a shell that has it set makes Node 20 read and parse that CA bundle at every
// start, before any of tandem's code (~90 ms of `node -e 0` on the machine of docs/benchmarks.md).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { DirectorSpec } from '../test/lib/director-spec.js';
import { renderKeepalivedConf } from '../test/lib/keepalived.js';
import { Lab, requireLabTools, sleep, type LabNode } from '../test/lib/netns.js';
import { Observer, type VrrpEvent } from '../test/lib/observer.js';
import { REPO_ROOT, TANDEM_BIN, renderTandemConfig, requireTandemBuilt } from '../test/lib/tandem.js';
import { DAEMON_NODE_FLAGS } from '../src/daemon/nodeFlags.js';
import { realtimeNs } from './lib/adverts.js';
import { checkCounts, eachArg, oneOf, usage, fmt, printStatsTable, stats, writeResults, type Stats } from './lib/common.js';
import { hostFacts, loadAverage } from './lib/proc.js';
import { loadBundle } from '../src/boot.cjs';

delete process.env.NODE_EXTRA_CA_CERTS;

type Impl = 'tandem' | 'keepalived';
const VRID = 51;
const VIP = '192.0.2.100/24';
const CHECK_CONF = 'conf/lb1.yaml';

interface Args { runs: number; only: Impl | null; out: string | null }

function parseArgs(argv: string[]): Args {
  const o: Args = { runs: Number(process.env.RUNS ?? 20), only: null, out: null };
  eachArg(argv, (a, next) => {
    if (a === '--runs') o.runs = Number(next());
    else if (a === '--out') o.out = next();
    else if (a === '--only') o.only = oneOf('--only', next(), ['tandem', 'keepalived'] as const);
    else if (a === '--help' || a === '-h') usage('node dist/bench/startup.js [--runs N] [--only tandem|keepalived] [--out FILE.json]  (env RUNS=N)');
    else throw new Error(`unknown argument ${a}`);
  });
  checkCounts([['runs', o.runs, 1000]]);
  return o;
}

const SPEC: DirectorSpec = {
  routerId: 'lb1',
  instances: [{
    name: 'VI_1', vrid: VRID, version: 3, priority: 255, state: 'MASTER', advertInt: 1, vips: [VIP],
    garpMasterDelay: 0, tandemExtra: { state: 'MASTER' },
  }],
};

/** One start: spawn, wait for the first advert from lb1 captured after the spawn, stop. ms. */
async function oneStart(impl: Impl, lab: Lab, node: LabNode, obs: Observer, n: number, files: { tandemConf: string; keepalivedConf: string }): Promise<number> {
  const argv = impl === 'tandem'
    ? [process.execPath, ...DAEMON_NODE_FLAGS, TANDEM_BIN, 'run', '-f', files.tandemConf, '--state-file', lab.path(`tandem-${n}.state.json`)]
    : ['keepalived', '--dont-fork', '--log-console', '--vrrp', '-f', files.keepalivedConf, '-p', lab.path(`k-${n}.pid`), '-r', lab.path(`k-${n}-vrrp.pid`)];
  const from = obs.mark;
  const spawnedNs = realtimeNs();
  const proc = lab.spawn(node, argv, { cwd: REPO_ROOT, logPath: lab.path(`${impl}-${n}.log`) });
  try {
    const first = await obs.waitForEvent((e) => e.kind === 'vrrp' && e.src === node.ipv4[0] && e.vrid === VRID && e.priority > 0 && e.tNs >= spawnedNs,
      10_000, from, `first advert of ${impl} start ${n}`) as VrrpEvent;
    return Number(first.tNs - spawnedNs) / 1e6;
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- ${impl} output ---\n${proc.tail()}`);
  } finally {
    await proc.stop(5000);
    await lab.removeAddress(node, VIP);
    obs.events.splice(0, obs.events.length);
  }
}

/** Wall time of a command, ms; throws unless it exits 0. */
function wallMs(argv: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr || r.stdout}`);
  return ms;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const impls: Impl[] = args.only ? [args.only] : ['tandem', 'keepalived'];
  requireLabTools('tcpdump', ...(impls.includes('keepalived') ? ['keepalived'] : []));
  requireTandemBuilt();
  // bin/tandem runs the one-script bundle only while it is current (src/boot.cts); a `tsc -p .`
  // after `npm run build` measures the ES modules instead, which is said here, loudly.
  const bundled = loadBundle() !== undefined;
  console.log(bundled ? 'tandem runs from its bundle (dist/vendor/tandem.cjs)'
    : 'WARNING: dist/vendor/tandem.cjs is missing or stale: measuring the ES modules (run npm run build)');
  const started = new Date();
  const loadBefore = loadAverage();
  console.log(`load average at start: ${loadBefore}`);
  const firstAdvertMs: Record<Impl, number[]> = { tandem: [], keepalived: [] };
  const errors: string[] = [];
  const lab = await Lab.create({ prefix: 'tK', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }] });
  try {
    const files = { tandemConf: lab.path('tandem.yaml'), keepalivedConf: lab.path('keepalived.conf') };
    writeFileSync(files.tandemConf, renderTandemConfig({ ...SPEC, tandemTop: { global: { status_socket: lab.path('tandem.sock') } } }));
    writeFileSync(files.keepalivedConf, renderKeepalivedConf(SPEC));
    const obs = await Observer.start(lab);
    try {
      for (let i = 0; i < args.runs; i++) {
        for (const impl of impls) {
          try {
            const ms = await oneStart(impl, lab, lab.node('lb1'), obs, i, files);
            firstAdvertMs[impl].push(ms);
            process.stdout.write(`  ${impl} start ${i + 1}/${args.runs}: first advert after ${ms.toFixed(1)} ms\n`);
          } catch (e) {
            errors.push(`${impl} start ${i + 1}: ${(e as Error).message}`);
            console.log(`  ERROR ${impl} start ${i + 1}: ${(e as Error).message.split('\n')[0]}`);
          }
          await sleep(200);
        }
      }
    } finally {
      await obs.stop().catch(() => undefined);
    }
  } finally {
    await lab.destroy();
  }

  const checkArgv = [process.execPath, ...DAEMON_NODE_FLAGS, TANDEM_BIN, 'check', '-f', CHECK_CONF];
  const nodeArgv = [process.execPath, '-e', '0'];
  const checkMs: number[] = [];
  const nodeMs: number[] = [];
  wallMs(checkArgv);
  wallMs(nodeArgv);
  for (let i = 0; i < args.runs; i++) {
    checkMs.push(wallMs(checkArgv));
    nodeMs.push(wallMs(nodeArgv));
  }

  const summary: Record<string, Stats | null> = {
    tandemFirstAdvert: stats(firstAdvertMs.tandem), keepalivedFirstAdvert: stats(firstAdvertMs.keepalived),
    tandemCheck: stats(checkMs), nodeStart: stats(nodeMs),
  };
  const diff = (a: Stats | null, b: Stats | null): number | null => (a && b ? a.median - b.median : null);
  const derived = {
    firstAdvertMedianMinusKeepalivedMs: diff(summary.tandemFirstAdvert!, summary.keepalivedFirstAdvert!),
    firstAdvertMedianRatio: summary.tandemFirstAdvert && summary.keepalivedFirstAdvert ? summary.tandemFirstAdvert.median / summary.keepalivedFirstAdvert.median : null,
    checkMedianMinusNodeMs: diff(summary.tandemCheck!, summary.nodeStart!),
  };
  console.log('');
  printStatsTable(`start -> first advert on the wire (priority 255, state MASTER; spawn of ip netns exec -> kernel capture stamp), ${args.runs} starts each`, [
    ['tandem run', summary.tandemFirstAdvert!], ['keepalived --vrrp', summary.keepalivedFirstAdvert!],
  ]);
  printStatsTable(`wall time, ${args.runs} runs each`, [[`tandem check -f ${CHECK_CONF}`, summary.tandemCheck!], ['node -e 0', summary.nodeStart!]]);
  console.log(`first advert: tandem - keepalived median ${fmt(derived.firstAdvertMedianMinusKeepalivedMs, 1)} ms (target <= 50), ratio ${fmt(derived.firstAdvertMedianRatio, 2)}`);
  console.log(`tandem check median ${fmt(summary.tandemCheck?.median, 1)} ms (target < 150), ${fmt(derived.checkMedianMinusNodeMs, 1)} ms more than node -e 0`);
  console.log(`load average at start ${loadBefore}, at end ${loadAverage()}; tandem from ${bundled ? 'its bundle' : 'the ES modules (stale bundle)'}`);
  for (const e of errors) console.log(`ERROR ${e.split('\n')[0]}`);
  if (args.out) {
    writeResults(args.out, started, () => ({
      host: hostFacts(), settings: { runs: args.runs, spec: SPEC, checkConf: CHECK_CONF, bundled }, loadAverageAtStart: loadBefore,
      samplesMs: { firstAdvert: firstAdvertMs, tandemCheck: checkMs, nodeStart: nodeMs }, summary, derived, errors,
    }));
  }
  if (errors.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
