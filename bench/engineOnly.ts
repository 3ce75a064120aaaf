// The native TCP check engine alone (src/net/tcpCheckEngine.ts), without the check scheduler:
// what probing N loopback endpoints every second costs the process, in quiet mode (successes
// stay on the engine thread) and in report mode (every outcome goes to JS, which asks for the
// next probe with probeIn, as a scheduler without quiet mode would). Not an npm script yet.
//
//   node dist/bench/engineOnly.js [--tcp N] [--window S] [--warmup S] [--only quiet|report|rss]
//   (defaults 10000 endpoints, 30 s window, 5 s warm-up; rss: bytes per target at 10,000 and 50,000)
//
// The endpoints are bench/checks.ts's: its `--role server tcp N` process (N loopback addresses,
// one port each) inside a network namespace this bench creates and deletes (`tEo<pid>`); the
// checker is this file's `--role engine MODE N` in its own process, so /proc/PID is only its
// cost. Checks per second = SYNs sent in the namespace per second (bench/lib/synCount.ts: the
// engine's half-open probes are no connect()s, so ActiveOpens misses them). The HAProxy figure to
// compare with: `node dist/bench/checks.js --only haproxy --mode tcp` (same endpoints, interval
// and timeout).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTcpCheckEngine } from '../src/net/tcpCheckEngine.js';
import { eachArg, oneOf, usage, checkCounts } from './lib/common.js';
import { sampleCpu, rssKb } from './lib/proc.js';
import { endpointAddress } from './lib/endpoints.js';
import { installSynCounter, synsSent } from './lib/synCount.js';

type Mode = 'quiet' | 'report';
const SELF = fileURLToPath(import.meta.url);
const CHECKS = fileURLToPath(new URL('./checks.js', import.meta.url));
const PORT = 18080; // bench/checks.ts PORT.tcp
const INTERVAL_MS = 1000;
const TIMEOUT_MS = 1000;
const FD_LIMIT = 65536;

// ---------------------------------------------------------------------------------------------
// role: engine

function runEngine(mode: Mode, n: number): void {
  let results = 0;
  let failed = 0;
  const due = new Float64Array(n);
  const t0 = performance.now();
  const e = createTcpCheckEngine((batch) => {
    results += batch.length;
    const now = performance.now();
    for (const o of batch) {
      if (!o.ok) failed++;
      if (mode === 'report') {
        // Keep the 1 s grid: the next probe is due one interval after this one was.
        let next = due[o.id]! + INTERVAL_MS;
        if (next < now) next += Math.ceil((now - next) / INTERVAL_MS) * INTERVAL_MS;
        due[o.id] = next;
        e.probeIn(o.id, next - now);
      } else {
        e.setQuiet(o.id, INTERVAL_MS, INTERVAL_MS);
      }
    }
  });
  for (let id = 0; id < n; id++) {
    e.add(id, { family: 4, address: endpointAddress(id), port: PORT, timeoutMs: TIMEOUT_MS });
    const phase = (id * INTERVAL_MS) / n;
    due[id] = t0 + phase;
    if (mode === 'quiet') e.setQuiet(id, INTERVAL_MS, phase);
    else e.probeIn(id, phase);
  }
  setInterval(() => {
    process.stdout.write(JSON.stringify({ results, failed, ...e.stats() }) + '\n');
  }, 250);
  process.on('SIGTERM', () => { e.close(); process.exit(0); });
}

// Bytes per target: RSS after adding N targets with a scheduled (far) probe, minus before.
async function runRss(n: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const settle = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) { gc?.(); await new Promise((r) => setTimeout(r, 100)); }
    return rssKb(process.pid);
  };
  const e = createTcpCheckEngine(() => {});
  const before = await settle();
  for (let id = 0; id < n; id++) {
    e.add(id, { family: 4, address: endpointAddress(id), port: PORT, timeoutMs: TIMEOUT_MS });
    e.setQuiet(id, INTERVAL_MS, 3_600_000);
  }
  await new Promise((r) => setTimeout(r, 300)); // the thread takes the commands
  const after = await settle();
  const s = e.stats();
  e.close();
  process.stdout.write(JSON.stringify({ n, targets: s.targets, rssBeforeKb: before, rssAfterKb: after, bytesPerTarget: ((after - before) * 1024) / n }) + '\n');
}

// ---------------------------------------------------------------------------------------------
// role: bench

const LIVE = new Set<ChildProcess>();
let NETNS: string | null = null;
process.on('exit', () => {
  for (const c of LIVE) { try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ } }
  if (NETNS !== null) spawnSync('ip', ['netns', 'delete', NETNS]);
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(130));

/** Starts argv inside the namespace with a raised fd limit; resolves once a JSON line satisfies `ready`. */
function startIn(netns: string, argv: string[]): { proc: ChildProcess; last: () => Record<string, number>; ready: Promise<void> } {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const proc = spawn('ip', ['netns', 'exec', netns, 'bash', '-c', `h=$(ulimit -Hn); [ "$h" = unlimited ] || [ "$h" -ge ${FD_LIMIT} ] && h=${FD_LIMIT}; ulimit -n "$h" && exec ${quoted}`], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  LIVE.add(proc);
  proc.on('exit', () => LIVE.delete(proc));
  let last: Record<string, number> = {};
  let buf = '';
  let resolveReady: () => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    proc.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited (${code})`)));
  });
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try { last = { ...last, ...(JSON.parse(line) as Record<string, number>) }; resolveReady(); } catch { /* not ours */ }
    }
  });
  return { proc, last: () => last, ready };
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise<void>((r) => proc.once('exit', () => r()));
  try { process.kill(-proc.pid!, 'SIGTERM'); } catch { /* gone */ }
  const t = setTimeout(() => { try { process.kill(-proc.pid!, 'SIGKILL'); } catch { /* gone */ } }, 3000);
  await gone;
  clearTimeout(t);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function bench(): Promise<void> {
  const o = { tcp: 10_000, windowS: 30, warmupS: 5, only: null as Mode | 'rss' | null };
  eachArg(process.argv.slice(2), (a, next) => {
    if (a === '--tcp') o.tcp = Number(next());
    else if (a === '--window') o.windowS = Number(next());
    else if (a === '--warmup') o.warmupS = Number(next());
    else if (a === '--only') o.only = oneOf('--only', next(), ['quiet', 'report', 'rss'] as const);
    else if (a === '--help' || a === '-h') usage('node dist/bench/engineOnly.js [--tcp N] [--window S] [--warmup S] [--only quiet|report|rss]');
    else throw new Error(`unknown argument ${a}`);
  });
  checkCounts([['tcp', o.tcp, 62_500 * 100], ['window', o.windowS, 3600], ['warmup', o.warmupS, 600]]);

  if (o.only === null || o.only === 'rss') {
    for (const n of [10_000, 50_000]) {
      const r = spawnSync(process.execPath, ['--expose-gc', SELF, '--role', 'rss', 'quiet', String(n)], { encoding: 'utf8' });
      console.log(`rss: ${r.stdout.trim() || r.stderr.trim()}`);
    }
    if (o.only === 'rss') return;
  }

  NETNS = `tEo${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', NETNS], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`ip netns add ${NETNS}: ${add.stderr} (needs root)`);
  spawnSync('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
  installSynCounter(NETNS);
  const server = startIn(NETNS, [process.execPath, CHECKS, '--role', 'server', 'tcp', String(o.tcp)]);
  try {
    await server.ready;
    for (const mode of (o.only ? [o.only] : ['quiet', 'report']) as Mode[]) {
      const eng = startIn(NETNS, [process.execPath, SELF, '--role', 'engine', mode, String(o.tcp)]);
      try {
        await eng.ready;
        await sleep(o.warmupS * 1000);
        const opens0 = synsSent(NETNS!);
        const s0 = eng.last();
        const w = await sampleCpu(() => [eng.proc.pid!], o.windowS);
        const opens = (synsSent(NETNS!) - opens0) / w.windowS;
        const s1 = eng.last();
        const per = (k: string): number => ((s1[k] ?? 0) - (s0[k] ?? 0)) / w.windowS;
        console.log(`${mode}: ${o.tcp} endpoints at ${INTERVAL_MS} ms, window ${w.windowS.toFixed(1)} s: ` +
          `checks/s ${opens.toFixed(0)} (engine probes/s ${per('probes').toFixed(0)}, reported/s ${per('reported').toFixed(0)}, ` +
          `suppressed/s ${per('suppressed').toFixed(0)}, failed ${s1.failed ?? 0}, lateStarts ${s1.lateStarts ?? 0}), ` +
          `CPU % median ${w.cpuPct?.median.toFixed(1)} mean ${w.cpuPctMean.toFixed(1)}, RSS MB median ${w.rssMbMedian.toFixed(1)} max ${w.rssMbMax.toFixed(1)}`);
      } finally {
        await stop(eng.proc);
      }
      await sleep(2000);
    }
  } finally {
    await stop(server.proc);
  }
}

const [flag, role, roleMode, roleN] = process.argv.slice(2);
if (flag === '--role') {
  const n = Number(roleN);
  if (!Number.isInteger(n) || n < 1) throw new Error('usage: --role engine|rss quiet|report COUNT');
  if (role === 'rss') await runRss(n);
  else if (role === 'engine' && (roleMode === 'quiet' || roleMode === 'report')) runEngine(roleMode, n);
  else throw new Error('usage: --role engine|rss quiet|report COUNT');
} else {
  bench().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  });
}
