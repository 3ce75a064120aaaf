// VRRP under load (issue 15 §3): one master at advert_int 0.05 s (VRRPv3: the interval is in
// centiseconds) whose daemon also runs 10,000 TCP checks at delay_loop 1, reloads its 10,000 real
// servers every 30 s (two configs that differ in every weight, alternately), and has 64 notify
// scripts hanging; a tandem backup (priority 100) listens on the same link. Then the same for
// keepalived with the same checks (its checker process), where this machine lets it run them.
//
//   npm run bench:vrrp-load -- [--seconds S] [--warmup S] [--checks N] [--hung N] [--reload-every S]
//                              [--only tandem|keepalived] [--out FILE.json]
//   (defaults: 600 s window after 5 s, 10,000 checks, 64 hung scripts, a reload every 30 s)
//
// Topology: a lab (test/lib/netns.ts) with lb1 (master, 192.0.2.1) and lb2 (backup, 192.0.2.2)
// on a bridge; tcpdump on the bridge stamps every advert (kernel time, ns). In lb1's namespace,
// bench/checks.ts's `--role server` process listens on the 10,000 loopback addresses
// 127.10.x.y:18080 (the same helper and addresses as bench:checks); nothing listens on
// 127.20.0.1..64, the real servers whose TCP_CHECK fails, so each goes down once and starts its
// notify_down `/bin/sleep <window + warm-up + 300>` (tandem: notify_script_timeout 3600 so none
// is killed in the window; keepalived never kills notify scripts). The scripts run in process
// groups of their own, so a kill of the daemon's group would not reach them: the bench kills
// every one it has seen at exit, and each ends by itself a few minutes after the run anyway. Each real server is its own key in tandem's
// ordered runner, so the 64 run side by side; the bench counts the daemon's `sleep` children.
//
// Figures over the window: the master's advert interval on the wire (p50/p99/max, and
// |interval - 50 ms|; also for the intervals that end during a reload or in the 2 s after it),
// the backup's takeovers (its BACKUP -> MASTER log lines) and adverts on the wire (in the window
// and since the backup started), the
// master's CPU (% of one core, whole daemon, 1 s samples) and RSS, the hung scripts outstanding,
// the reloads (time, result), and, as the daemon's responsiveness, the round trip of a request
// to its status socket each second (GET of an unknown path, answered 404 by the event loop
// without building a document), and tandem's own event-loop delay (its /metrics, once a minute).
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DirectorSpec } from '../test/lib/director-spec.js';
import { renderKeepalivedConf } from '../test/lib/keepalived.js';
import { Lab, requireLabTools, sleep, waitFor, type LabNode, type NsProcess } from '../test/lib/netns.js';
import { Observer } from '../test/lib/observer.js';
import { REPO_ROOT, TANDEM_BIN, Tandem, renderTandemConfig, requireTandemBuilt, type TandemStateFile } from '../test/lib/tandem.js';
import { DAEMON_NODE_FLAGS } from '../src/daemon/nodeFlags.js';
import { advertIntervals, advertsIn, advertTiming, intervalTiming, realtimeNs, type AdvertTiming } from './lib/adverts.js';
import { checkCounts, eachArg, oneOf, usage, fmt, ratio, stats, type Stats } from './lib/common.js';
import { runSideBySide } from './lib/sideBySide.js';
import { childrenOf, loadAverage, sampleCpu, type CpuWindow } from './lib/proc.js';
import { endpointAddress } from './lib/endpoints.js';
import { fetchFromSocket } from '../src/api/statusCli.js';

type Impl = 'tandem' | 'keepalived';
const ADVERT_INT_S = 0.05;
const VRID = 51;
const VIP = '192.0.2.100/24';
const VS_ADDRESS = '192.0.2.100';
const RS_PORT = 18080; // bench/checks.ts PORT.tcp
const REAL_SERVERS_PER_VS = 100;
const CHECKS_JS = fileURLToPath(new URL('./checks.js', import.meta.url));
/** Descriptors for 10,000 listeners or 10,000 probes in flight: up to 65536, or the hard limit
 *  when it is lower (raising it needs CAP_SYS_RESOURCE, which a container may not grant). */
const HARD_NOFILE = ((): number => {
  const h = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return h === 'unlimited' ? 65536 : Math.min(65536, Number(h) || 1024);
})();
const PRLIMIT = ['prlimit', `--nofile=${HARD_NOFILE}:${HARD_NOFILE}`, '--'];

/** Real servers nobody listens on: their check fails and their notify_down hangs. */
function deadAddress(i: number): string {
  return `127.200.${Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** The notify_down that hangs for the whole run (and not much longer, should it be orphaned). */
function hungScript(args: Args): string[] {
  return ['/bin/sleep', String(args.seconds + args.warmupS + 300)];
}

/** Every hung script seen, killed at exit whatever happened to the daemon. */
const HUNG_SEEN = new Set<number>();
process.on('exit', () => {
  for (const pid of HUNG_SEEN) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep') process.kill(pid, 'SIGKILL');
    } catch { /* gone */ }
  }
});

/** The daemon's `sleep` children now (its hung notify scripts), remembered for the exit. */
function hungScriptsOf(pids: number[]): number {
  let n = 0;
  for (const p of pids) {
    for (const c of childrenOf(p)) {
      if (c.comm !== 'sleep') continue;
      HUNG_SEEN.add(c.pid);
      n++;
    }
  }
  return n;
}

interface Args { seconds: number; warmupS: number; checks: number; hung: number; reloadEveryS: number; only: Impl | null; out: string | null }

function parseArgs(argv: string[]): Args {
  const o: Args = { seconds: 600, warmupS: 5, checks: 10_000, hung: 64, reloadEveryS: 30, only: null, out: null };
  eachArg(argv, (a, next) => {
    if (a === '--seconds') o.seconds = Number(next());
    else if (a === '--warmup') o.warmupS = Number(next());
    else if (a === '--checks') o.checks = Number(next());
    else if (a === '--hung') o.hung = Number(next());
    else if (a === '--reload-every') o.reloadEveryS = Number(next());
    else if (a === '--out') o.out = next();
    else if (a === '--only') o.only = oneOf('--only', next(), ['tandem', 'keepalived'] as const);
    else if (a === '--help' || a === '-h') usage('node dist/bench/vrrpLoad.js [--seconds S] [--warmup S] [--checks N] [--hung N] [--reload-every S] [--only tandem|keepalived] [--out FILE.json]');
    else throw new Error(`unknown argument ${a}`);
  });
  if (o.checks + o.hung + 256 > HARD_NOFILE) throw new Error(`${o.checks} checks + ${o.hung} need more descriptors than the hard limit ${HARD_NOFILE} allows`);
  checkCounts([['seconds', o.seconds, 3000], ['warmup', o.warmupS, 600], ['checks', o.checks, 62_500], ['hung', o.hung, 1000], ['reload-every', o.reloadEveryS, 3600]]);
  return o;
}

// ---------------------------------------------------------------------------------------------
// The two configs (weights 1 or 2 on every live real server), for each implementation.

interface Rs { address: string; weight: number; notifyDown: boolean }
interface Vs { port: number; rs: Rs[] }

function services(args: Args, weight: 1 | 2): Vs[] {
  const out: Vs[] = [];
  for (let i = 0; i < args.checks; i += REAL_SERVERS_PER_VS) {
    const rs: Rs[] = [];
    for (let j = i; j < Math.min(args.checks, i + REAL_SERVERS_PER_VS); j++) rs.push({ address: endpointAddress(j), weight, notifyDown: false });
    out.push({ port: 10_000 + out.length, rs });
  }
  if (args.hung > 0) out.push({ port: 10_000 + out.length, rs: Array.from({ length: args.hung }, (_, i) => ({ address: deadAddress(i), weight: 1, notifyDown: true })) });
  return out;
}

function vrrpSpec(routerId: string, priority: number): DirectorSpec {
  return {
    routerId,
    instances: [{ name: 'VI_1', vrid: VRID, version: 3, priority, advertInt: ADVERT_INT_S, vips: [VIP], garpMasterDelay: 0 }],
  };
}

function tandemMasterSpec(args: Args, weight: 1 | 2): DirectorSpec {
  return {
    ...vrrpSpec('lb1', 200),
    tandemTop: {
      global: { backend: 'nft', notify_script_timeout: 3600 },
      virtual_servers: services(args, weight).map((vs) => ({
        address: VS_ADDRESS, port: vs.port, protocol: 'TCP', lb_algo: 'wrr', lb_kind: 'NAT', delay_loop: 1,
        real_servers: vs.rs.map((r) => ({
          address: r.address, port: RS_PORT, weight: r.weight,
          ...(r.notifyDown ? { notify_down: hungScript(args) } : {}),
          // bench:checks' settings: connect_timeout 1, one retry 1 s later, first probes spread over one delay_loop.
          checks: [{ tcp_check: { connect_timeout: 1, retry: 1, delay_before_retry: 1, warmup: 1 } }],
        })),
      })),
    },
  };
}

function keepalivedMasterConf(args: Args, weight: 1 | 2): string {
  const lines = [renderKeepalivedConf(vrrpSpec('lb1', 200))];
  for (const vs of services(args, weight)) {
    lines.push(`virtual_server ${VS_ADDRESS} ${vs.port} {`, '  delay_loop 1', '  lb_algo wrr', '  lb_kind NAT', '  protocol TCP');
    for (const r of vs.rs) {
      lines.push(`  real_server ${r.address} ${RS_PORT} {`, `    weight ${r.weight}`);
      if (r.notifyDown) lines.push(`    notify_down "${hungScript(args).join(' ')}"`);
      lines.push('    TCP_CHECK {', '      connect_timeout 1', '      retry 1', '      delay_before_retry 1', '      warmup 1', '    }', '  }');
    }
    lines.push('}');
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// One run.

interface Reload { atS: number; ms: number; ok: boolean; detail: string; fromNs: bigint; toNs: bigint }

interface Result {
  impl: Impl;
  /** What actually ran: keepalived may run without its checker here (see note). */
  mode: string;
  note: string | null;
  checks: number;
  master: { pids: number[]; cpu: CpuWindow | null };
  adverts: AdvertTiming | null;
  /** The master's adverts per second over the window (20 expected): fewer = adverts missed,
   *  20 with short intervals = adverts sent late in bursts. */
  advertsPerS: number | null;
  /** Reloads not started because the one before had not finished when the next was due. */
  reloadsSkipped: number;
  /** Intervals ending during a reload or within 2 s after it. */
  advertsAroundReloads: AdvertTiming | null;
  /** The backup's BACKUP -> MASTER transitions (its own log) in the window, and since it started. */
  takeoversInWindow: number;
  takeoversSinceBackupStart: number;
  /** The backup's adverts on the wire: in the window, and since it started (x advert_int =
   *  about the time it spent as a second master). */
  backupAdvertsInWindow: number;
  backupAdvertsSinceStart: number;
  /** The backup's first advert, seconds from the window's start (negative: in the warm-up). */
  firstBackupAdvertS: number | null;
  hungScripts: { min: number; max: number; median: number } | null;
  statusRoundTripMs: Stats | null;
  statusRoundTripFailures: number;
  /** tandem's own event-loop delay (its /metrics, api/loopDelay.ts), one reading per 60 s
   *  window: p99 and max of that window, ms. */
  loopDelayWindows: Array<{ p99: number; max: number }>;
  reloads: Array<Omit<Reload, 'fromNs' | 'toNs'>>;
  /** tandem only: the sender thread's lateness against its deadlines over the whole run. */
  sender: SenderView | null;
  loadAverageBefore: string;
  error: string | null;
}

/** Round trip of one request to the daemon's unix status socket (404 path), ms; null on failure. */
function statusRoundTrip(socketPath: string): Promise<number | null> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = request({ socketPath, path: '/bench-ping', method: 'GET', timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('timeout', () => { req.destroy(); resolve(null); });
    req.on('error', () => resolve(null));
    req.end();
  });
}

/** tandem_event_loop_delay_seconds{quantile="0.99"} and _max_seconds from /metrics on the
 *  status socket, in ms; null when either is missing (keepalived has no such socket). */
function loopDelayOf(socketPath: string): Promise<{ p99: number; max: number } | null> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/metrics', method: 'GET', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => {
        const p99 = /^tandem_event_loop_delay_seconds\{quantile="0.99"\} (\S+)$/m.exec(body);
        const max = /^tandem_event_loop_delay_max_seconds (\S+)$/m.exec(body);
        resolve(p99 && max ? { p99: Number(p99[1]) * 1000, max: Number(max[1]) * 1000 } : null);
      });
    });
    req.on('timeout', () => { req.destroy(); resolve(null); });
    req.on('error', () => resolve(null));
    req.end();
  });
}

const RELOAD_LIMIT_MS = 600_000;

/** POST /reload on the daemon's status socket: the status code (0: no answer) and the body. */
function postReload(socketPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/reload', method: 'POST', timeout: RELOAD_LIMIT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => { req.destroy(); resolve({ status: 0, body: `no answer within ${RELOAD_LIMIT_MS} ms` }); });
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
    req.end();
  });
}

interface Master {
  pids(): number[];
  reload(weight: 1 | 2): Promise<{ ok: boolean; detail: string }>;
  statusSocket: string | null;
  stop(): Promise<void>;
}

/** The sender thread's own account of VI_1's adverts (status advert_sender): how late it sent
 *  against the deadlines, apart from what the kernel's path adds before the capture. */
interface SenderView { thread_priority: string; max_late_us: number; late_over_1ms: number; sent: number; late: number }

async function senderView(socketPath: string): Promise<SenderView | null> {
  const st = JSON.parse(await fetchFromSocket(socketPath, '/status')) as { instances: Array<{ name: string; advert_sender: SenderView | null }> };
  return st.instances.find((i) => i.name === 'VI_1')?.advert_sender ?? null;
}

/** tandem with the 10,000 real servers, started here rather than with test/lib/tandem.ts
 *  Tandem.start, whose 15 s bound a loaded machine can exceed with this config. */
async function startTandemMaster(lab: Lab, node: LabNode, args: Args): Promise<Master> {
  const configPath = lab.path('tandem-load.yaml');
  const statePath = lab.path('tandem-load.state.json');
  const socketPath = lab.path('tandem-load.sock');
  const texts = {} as Record<1 | 2, string>;
  for (const w of [1, 2] as const) {
    const spec = tandemMasterSpec(args, w);
    const top = spec.tandemTop!;
    texts[w] = renderTandemConfig({ ...spec, tandemTop: { ...top, global: { ...(top.global as object), status_socket: socketPath } } });
  }
  writeFileSync(configPath, texts[1]);
  const proc = lab.spawn(node, [...PRLIMIT, process.execPath, ...DAEMON_NODE_FLAGS, TANDEM_BIN, 'run', '-f', configPath, '--state-file', statePath], {
    logPath: lab.path('tandem-load.log'), cwd: REPO_ROOT,
  });
  const stop = async (): Promise<void> => { await proc.stop(20_000); };
  try {
    await waitFor(() => {
      if (!proc.running) throw new Error(`exited with ${proc.exitCode ?? proc.exitSignal}`);
      const st = JSON.parse(readFileSync(statePath, 'utf8')) as TandemStateFile;
      return st.pid === proc.pid && st.instances.some((i) => i.name === 'VI_1' && i.state === 'MASTER');
    }, { timeoutMs: 120_000, intervalMs: 100, what: 'the loaded tandem master in its state file' });
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n--- tandem log ---\n${proc.tail()}`);
  }
  return {
    pids: () => [proc.pid],
    reload: async (w) => {
      writeFileSync(configPath, texts[w]);
      // POST /reload itself, as `tandem reload` does, but without its 60 s limit: a reload that
      // takes longer is timed to its end (bounded by RELOAD_LIMIT_MS).
      const r = await postReload(socketPath);
      return { ok: r.status === 200, detail: r.status === 200 ? '' : `${r.status} ${r.body.slice(0, 300)}` };
    },
    statusSocket: socketPath,
    stop,
  };
}

/** keepalived with its checker; if the checker cannot run here (no IPVS in this kernel: its
 *  start_check() stops on ipvs_start() failing, keepalived/check/check_daemon.c), the reason is
 *  returned and keepalived runs VRRP only with the same instance, for its advert timing. */
/** keepalived 2.2.7's lines when its checker cannot start: "IPVS: Can't initialize ipvs: ..."
 *  (keepalived/check/ipvswrapper.c), then the parent's "pid N exited with permanent error ...". */
const CHECKER_FAILED = /Can't initiali[sz]e ipvs|exited with permanent error|Healthcheck child process.*(died|exited)/;

/** tandem's transition log line (src/vrrp/instance.ts): `BACKUP -> MASTER (reason) priority=N`. */
const TAKEOVER_LINE = /\bBACKUP -> MASTER\b/;

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

async function startKeepalivedMaster(lab: Lab, node: LabNode, args: Args): Promise<{ master: Master; mode: string; note: string | null }> {
  const confs = { 1: lab.path('keepalived-load-1.conf'), 2: lab.path('keepalived-load-2.conf') } as const;
  writeFileSync(confs[1], keepalivedMasterConf(args, 1));
  writeFileSync(confs[2], keepalivedMasterConf(args, 2));
  const live = lab.path('keepalived-load.conf');
  const vrrpOnly = lab.path('keepalived-vrrp-only.conf');
  writeFileSync(vrrpOnly, renderKeepalivedConf(vrrpSpec('lb1', 200)));
  const spawnK = (conf: string, extra: string[], tag: string): NsProcess => lab.spawn(node, [
    ...PRLIMIT, 'keepalived', '--dont-fork', '--log-console', '--log-detail', ...extra, '-f', conf,
    '-p', lab.path(`k-${tag}.pid`), '-r', lab.path(`k-${tag}-vrrp.pid`), '-c', lab.path(`k-${tag}-check.pid`),
  ], { logPath: lab.path(`keepalived-${tag}.log`) });
  const pidOf = async (file: string): Promise<number> => {
    for (let i = 0; i < 100; i++) {
      try { const p = Number(readFileSync(file, 'utf8').trim()); if (p > 0) return p; } catch { /* not yet */ }
      await sleep(50);
    }
    return 0;
  };

  writeFileSync(live, keepalivedMasterConf(args, 1));
  const full = spawnK(live, [], 'full');
  let note: string | null = null;
  try {
    await full.waitForLine(/\(VI_1\) Entering MASTER STATE/, 30_000);
    // The checker may still die at its start (it is a child of its own): give it a moment.
    await sleep(3000);
    const checker = await pidOf(lab.path('k-full-check.pid'));
    const bad = full.lines.find((l) => CHECKER_FAILED.test(l));
    if (bad || !full.running || checker === 0 || !alive(checker)) note = bad ?? (full.running ? 'no checker process' : `keepalived exited: ${full.tail(3)}`);
  } catch (e) {
    note = full.lines.find((l) => CHECKER_FAILED.test(l)) ?? (e as Error).message.split('\n')[0]!;
  }
  if (note === null) {
    const pids = [full.pid, await pidOf(lab.path('k-full-vrrp.pid')), await pidOf(lab.path('k-full-check.pid'))].filter((p) => p > 0);
    return {
      mode: 'vrrp + checker', note: null,
      master: {
        pids: () => pids,
        reload: async (w) => {
          writeFileSync(live, keepalivedMasterConf(args, w));
          full.signal('SIGHUP');
          return { ok: full.running, detail: '' };
        },
        statusSocket: null,
        stop: async () => { await full.stop(10_000); },
      },
    };
  }
  console.log(`  keepalived's checker cannot run here: ${note}`);
  console.log('  keepalived runs VRRP only (same instance), reloaded by SIGHUP on the same beat');
  await full.stop(10_000);
  await lab.removeAddress(node, VIP);
  const k = spawnK(vrrpOnly, ['--vrrp'], 'vrrp');
  await k.waitForLine(/\(VI_1\) Entering MASTER STATE/, 30_000);
  const pids = [k.pid, await pidOf(lab.path('k-vrrp-vrrp.pid'))].filter((p) => p > 0);
  return {
    mode: 'vrrp only', note: `checker could not run: ${note}`,
    master: {
      pids: () => pids,
      reload: async () => { k.signal('SIGHUP'); return { ok: k.running, detail: '' }; },
      statusSocket: null,
      stop: async () => { await k.stop(10_000); },
    },
  };
}

async function runOne(impl: Impl, lab: Lab, args: Args): Promise<Result> {
  const r: Result = {
    impl, mode: impl === 'tandem' ? 'vrrp + checks in one daemon' : '', note: null, checks: args.checks, master: { pids: [], cpu: null },
    adverts: null, advertsPerS: null, reloadsSkipped: 0, advertsAroundReloads: null, takeoversInWindow: 0, takeoversSinceBackupStart: 0, backupAdvertsInWindow: 0, backupAdvertsSinceStart: 0, firstBackupAdvertS: null,
    hungScripts: null, statusRoundTripMs: null, statusRoundTripFailures: 0, loopDelayWindows: [], reloads: [], sender: null, loadAverageBefore: loadAverage(), error: null,
  };
  const lb1 = lab.node('lb1');
  const lb2 = lab.node('lb2');
  const obs = await Observer.start(lab);
  const server = lab.spawn(lb1, [...PRLIMIT, process.execPath, CHECKS_JS, '--role', 'server', 'tcp', String(args.checks)]);
  let master: Master | null = null;
  let backup: Tandem | null = null;
  try {
    await server.waitForLine(/"ready":true/, 120_000);
    if (impl === 'tandem') master = await startTandemMaster(lab, lb1, args);
    else {
      const k = await startKeepalivedMaster(lab, lb1, args);
      master = k.master;
      r.mode = k.mode;
      r.note = k.note;
    }
    r.master.pids = master.pids();
    backup = await Tandem.start(lab, lb2, vrrpSpec('lb2', 100));
    await backup.waitForState('VI_1', 'BACKUP', 15_000);
    const backupStartNs = realtimeNs();
    const b = backup;
    const takeoversFrom = (mark: number): number => b.proc.lines.slice(mark).filter((l) => TAKEOVER_LINE.test(l)).length;
    const backupStartMark = b.proc.lines.length;
    console.log(`  ${impl} (${r.mode}): master MASTER (pids ${r.master.pids.join(', ')}), backup listening; warm-up ${args.warmupS} s, window ${args.seconds} s`);
    const warmTracker = setInterval(() => hungScriptsOf(r.master.pids), 500);
    await sleep(args.warmupS * 1000);
    clearInterval(warmTracker);

    const fromNs = realtimeNs();
    const windowMark = b.proc.lines.length;
    const reloads: Reload[] = [];
    const hung: number[] = [];
    const rtt: number[] = [];
    let reloading: Promise<void> | null = null;
    let weight: 1 | 2 = 1;
    const m = master;
    r.master.cpu = await sampleCpu(() => m.pids(), args.seconds, async (i) => {
      const s = i + 1;
      hung.push(hungScriptsOf(m.pids()));
      if (m.statusSocket) {
        // Not awaited: a slow answer must not hold the 1 s beat of the sampler.
        void statusRoundTrip(m.statusSocket).then((ms) => { if (ms === null) r.statusRoundTripFailures++; else rtt.push(ms); });
        // The daemon's own figure, once per window of its monitor (60 s), just before it rotates.
        if (s % 60 === 59) void loopDelayOf(m.statusSocket).then((d) => { if (d) r.loopDelayWindows.push(d); });
      }
      if (s % args.reloadEveryS === 0 && reloading !== null) r.reloadsSkipped++;
      if (s % args.reloadEveryS === 0 && reloading === null) {
        weight = weight === 1 ? 2 : 1;
        const w = weight;
        const t0 = performance.now();
        const startNs = realtimeNs();
        reloading = m.reload(w).then((o) => {
          reloads.push({ atS: s, ms: performance.now() - t0, ok: o.ok, detail: o.detail, fromNs: startNs, toNs: realtimeNs() });
          console.log(`    reload at ${s} s (weights ${w}): ${o.ok ? 'ok' : 'FAILED'} in ${(performance.now() - t0).toFixed(0)} ms${o.detail ? `: ${o.detail}` : ''}`);
        }, (e: Error) => {
          reloads.push({ atS: s, ms: performance.now() - t0, ok: false, detail: e.message, fromNs: startNs, toNs: realtimeNs() });
        }).finally(() => { reloading = null; });
      }
      if (s % 60 === 0) console.log(`    ${s} s: ${obs.adverts({ src: lb2.ipv4[0]! }).length} backup adverts so far`);
    });
    if (reloading) await reloading;
    const toNs = realtimeNs();
    r.takeoversInWindow = takeoversFrom(windowMark);
    r.takeoversSinceBackupStart = takeoversFrom(backupStartMark);
    await sleep(300);

    const masterAdverts = advertsIn(obs.events, fromNs, toNs, (e) => e.src === lb1.ipv4[0] && e.vrid === VRID);
    r.adverts = advertTiming(masterAdverts, ADVERT_INT_S * 1000);
    r.advertsPerS = masterAdverts.length / (Number(toNs - fromNs) / 1e9);
    // An interval belongs to a reload when it ends while the reload runs or within 2 s after it.
    const near = (t: bigint): boolean => reloads.some((x) => t >= x.fromNs && t <= x.toNs + 2_000_000_000n);
    const around = advertIntervals(masterAdverts).filter((x) => near(x.endNs)).map((x) => x.ms);
    r.advertsAroundReloads = reloads.length === 0 ? null : intervalTiming(around, ADVERT_INT_S * 1000, 1, around.length + 1);
    const backupAll = advertsIn(obs.events, backupStartNs, toNs, (e) => e.src === lb2.ipv4[0] && e.vrid === VRID);
    r.backupAdvertsSinceStart = backupAll.length;
    r.backupAdvertsInWindow = backupAll.filter((e) => e.tNs >= fromNs).length;
    r.firstBackupAdvertS = backupAll.length > 0 ? Number(backupAll[0]!.tNs - fromNs) / 1e9 : null;
    r.hungScripts = hung.length ? { min: Math.min(...hung), max: Math.max(...hung), median: stats(hung)!.median } : null;
    r.statusRoundTripMs = stats(rtt);
    if (m.statusSocket) r.sender = await senderView(m.statusSocket).catch(() => null);
    r.reloads = reloads.map(({ fromNs: _f, toNs: _t, ...rest }) => rest);
  } catch (e) {
    r.error = (e as Error).message;
  } finally {
    if (backup) await backup.stop().catch(() => backup!.kill9());
    if (master) await master.stop().catch(() => undefined);
    await server.stop();
    await obs.stop().catch(() => undefined);
    for (const n of [lb1, lb2]) await lab.removeAddress(n, VIP);
  }
  return r;
}

function printSummary(results: Result[], args: Args): void {
  console.log('');
  console.log(`VRRPv3 master at advert_int ${ADVERT_INT_S} s with ${args.checks} TCP checks (delay_loop 1), a reload every ${args.reloadEveryS} s, ${args.hung} hung notify scripts; tandem backup on the link`);
  console.log(`window ${args.seconds} s after ${args.warmupS} s; interval and |interval - 50 ms| from kernel capture stamps; CPU % of one core (whole daemon, 1 s samples)`);
  console.log('');
  const header = ['impl', 'mode', 'adverts/s', 'interval p50', 'p99', 'max', 'off p50', 'off p99', 'off max', 'off p99 reload', 'off max reload', 'takeovers', '(since backup start)', 'backup adverts', '(since start)', 'CPU % med', 'CPU % mean', 'RSS MB', 'hung', 'status rtt p99/max', 'loop delay p99/max', 'reloads ok'];
  const rows = results.map((r) => [
    r.impl, r.mode, fmt(r.advertsPerS, 2), fmt(r.adverts?.interval?.median, 2), fmt(r.adverts?.interval?.p99, 2), fmt(r.adverts?.interval?.max, 2),
    fmt(r.adverts?.offBy?.median, 2), fmt(r.adverts?.offBy?.p99, 2), fmt(r.adverts?.offBy?.max, 2),
    fmt(r.advertsAroundReloads?.offBy?.p99, 2), fmt(r.advertsAroundReloads?.offBy?.max, 2),
    r.error ? '-' : String(r.takeoversInWindow), r.error ? '-' : String(r.takeoversSinceBackupStart), String(r.backupAdvertsInWindow), String(r.backupAdvertsSinceStart),
    fmt(r.master.cpu?.cpuPct?.median, 1), fmt(r.master.cpu?.cpuPctMean, 2), fmt(r.master.cpu?.rssMbMedian, 1),
    r.hungScripts ? `${r.hungScripts.min}-${r.hungScripts.max}` : '-',
    r.statusRoundTripMs ? `${fmt(r.statusRoundTripMs.p99, 1)}/${fmt(r.statusRoundTripMs.max, 1)}` : '-',
    r.loopDelayWindows.length
      ? `${fmt(Math.max(...r.loopDelayWindows.map((w) => w.p99)), 1)}/${fmt(Math.max(...r.loopDelayWindows.map((w) => w.max)), 1)}` : '-',
    `${r.reloads.filter((x) => x.ok).length}/${r.reloads.length}${r.reloadsSkipped ? ` (${r.reloadsSkipped} skipped)` : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => x.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log('(ms; "off" = |interval - 50 ms|; "reload" = intervals ending during a reload or the 2 s after it)');
  const t = results.find((x) => x.impl === 'tandem' && !x.error);
  const k = results.find((x) => x.impl === 'keepalived' && !x.error);
  if (t) {
    const ok = (b: boolean): string => (b ? 'met' : 'NOT met');
    console.log('');
    console.log(`tandem targets: off p99 <= 2 ms ${ok((t.adverts?.offBy?.p99 ?? Infinity) <= 2)}, off max <= 10 ms ${ok((t.adverts?.offBy?.max ?? Infinity) <= 10)}, no takeover ${ok(t.takeoversSinceBackupStart === 0 && t.backupAdvertsSinceStart === 0)}`);
    console.log('"status rtt": the round trip of a 404 request to the status socket, once a second; "loop delay": tandem_event_loop_delay_seconds from its /metrics, the worst p99 and max of its 60 s windows (needs a window of 60 s or more)');
  }
  if (t && k) {
    console.log(`ratio tandem/keepalived (${k.mode}): off p99 ${fmt(ratio(t.adverts?.offBy?.p99, k.adverts?.offBy?.p99), 2)}, off max ${fmt(ratio(t.adverts?.offBy?.max, k.adverts?.offBy?.max), 2)}, CPU mean ${fmt(ratio(t.master.cpu?.cpuPctMean, k.master.cpu?.cpuPctMean), 2)}`);
  }
  for (const r of results) {
    if (r.firstBackupAdvertS !== null) console.log(`${r.impl}: the backup's first advert came ${r.firstBackupAdvertS.toFixed(1)} s from the window's start (negative: in the warm-up); it sent ${r.backupAdvertsSinceStart} (about ${(r.backupAdvertsSinceStart * ADVERT_INT_S).toFixed(1)} s as a second master)`);
    const rl = r.reloads.map((x) => x.ms);
    if (rl.length > 0) console.log(`${r.impl}: reload took median ${fmt(stats(rl)!.median, 0)} ms, max ${fmt(Math.max(...rl), 0)} ms`);
    if (r.sender) {
      console.log(`${r.impl}: the sender thread (${r.sender.thread_priority}) sent ${r.sender.sent} adverts, the latest ${(r.sender.max_late_us / 1000).toFixed(3)} ms after its deadline, ` +
        `${r.sender.late_over_1ms} more than 1 ms late (the wire's "off" beyond that is the kernel's path to the capture)`);
    }
    if (r.note) console.log(`NOTE ${r.impl}: ${r.note}`);
    if (r.error) console.log(`ERROR ${r.impl}: ${r.error}`);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const impls: Impl[] = args.only ? [args.only] : ['tandem', 'keepalived'];
  requireLabTools('tcpdump', 'prlimit', ...(impls.includes('keepalived') ? ['keepalived'] : []));
  requireTandemBuilt();
  await runSideBySide({
    lab: { prefix: 'tK', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }, { name: 'lb2', ipv4: ['192.0.2.2/24'] }] },
    impls, run: (impl, lab) => runOne(impl, lab, args), summary: (results) => printSummary(results, args), out: args.out,
    settings: { advertIntS: ADVERT_INT_S, version: 3, checks: args.checks, hung: args.hung, reloadEveryS: args.reloadEveryS, seconds: args.seconds, warmupS: args.warmupS },
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
