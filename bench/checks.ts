// Health-check cost benchmark (issue 3 §6): tandem's CheckScheduler vs HAProxy checking the same
// endpoints on loopback every second, in one run, one after the other against the same servers.
//
//   npm run bench:checks -- [--out results.json] [--tcp N] [--http N] [--merge N] [--window S]
//                           [--warmup S] [--only tandem|haproxy] [--mode tcp|http|merge]
//                           [--engine on|off] [--syn on|off]
//   --engine: tandem's tcp_checks and plain http_gets on the native check engine (net/tcpCheckEngine.ts, the
//   daemon's default: on) or through the JS prober (off, as before the engine).
//   (env TCP_ENDPOINTS, HTTP_ENDPOINTS, MERGE_ENDPOINTS, WINDOW_S, WARMUP_S set the same;
//    defaults 10000, 1000, 1000, 30, 5)
//
// Mode `merge` (checker merge, check/merge.ts): N TCP endpoints, each a real server in 10 virtual
// services with the same tcp_check (10 x N real servers). tandem probes each endpoint once per
// interval (N checks/s); HAProxy has no merge: its 10 backends each check their N servers
// (10 x N checks/s). Both rates are counted at the target side (ActiveOpens) and printed.
//
// This one file plays three roles, chosen by its first argument:
//   (none)            the bench: starts the servers and each checker in turn, samples them, reports;
//   --role server     ONE process listening on N loopback addresses (127.x.y.z, one port each),
//                     counting accepted connections (in http mode answering each request with
//                     `HTTP/1.0 200 OK`); prints its cumulative count every 250 ms;
//   --role tandem     CheckScheduler over N RealServerConfig built in code, as the daemon builds it
//                     (with the native check engine unless --engine off), its runProbe (the JS
//                     probes) wrapped to count probes;
//                     prints its cumulative counts every 250 ms.
// Each checker runs in its own process (so /proc/PID shows only its cost) started through
// `bash -c 'ulimit -n <up to 65536>; exec ...'`: 10,000 endpoints need more than 1024 fds.
//
// Everything runs inside a network namespace the bench creates and deletes (`tCk<pid>`), so the
// namespace's own counters see only the benchmark. Checks per second = SYNs sent per second,
// counted by an nftables rule on the namespace's output hook (bench/lib/synCount.ts): tandem's
// half-open TCP probes leave from a raw socket, which TCP's ActiveOpens never counts. Neither
// accepted connections nor PassiveOpens count the TCP checks: both HAProxy's and tandem's answer
// the SYN-ACK with a RST without completing the handshake, so the server never accepts them.
// Accepts (HTTP) and tandem's own probe counter are reported next to it as cross-checks.
//   --syn off: tandem's engine connect()s every TCP probe instead of sending it half-open.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckConfig, RealServerConfig } from '../src/config/lbModel.js';
import { CheckScheduler } from '../src/check/scheduler.js';
import { DAEMON_NODE_FLAGS } from '../src/daemon/nodeFlags.js';
import { runProbe } from '../src/check/probes/index.js';
import { checkCounts, eachArg, oneOf, usage, median, toolVersion, writeResults } from './lib/common.js';
import { createSystemTimers } from '../src/timers.js';
import { createTcpCheckEngine, type TcpCheckOutcome } from '../src/net/tcpCheckEngine.js';
import { endpointAddress } from './lib/endpoints.js';
import { installSynCounter, synsSent } from './lib/synCount.js';

type Mode = 'tcp' | 'http' | 'merge';
type Impl = 'tandem' | 'haproxy';

const SELF = fileURLToPath(import.meta.url);
const PORT: Record<Mode, number> = { tcp: 18080, http: 18081, merge: 18082 };
/** Mode `merge`: each endpoint is a real server of this many virtual services. */
const SERVICES_PER_SERVER = 10;
const FD_LIMIT = 65536;
const CHECK_INTERVAL_MS = 1000;
const CHECK_TIMEOUT_MS = 1000;
/** /proc/PID/stat counts CPU time in clock ticks (sysconf(_SC_CLK_TCK)). */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

// ---------------------------------------------------------------------------------------------
// role: server

function runServer(mode: Mode, n: number): void {
  let accepts = 0;
  const response = Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n');
  const onConn = (s: Socket): void => {
    accepts++;
    // Checkers close with a RST (both tandem and HAProxy): an error here is the normal end.
    s.on('error', () => s.destroy());
    if (mode === 'http') s.once('data', () => s.end(response));
    else s.on('data', () => undefined);
  };
  const servers: Server[] = [];
  let listening = 0;
  for (let i = 0; i < n; i++) {
    const srv = createServer(onConn);
    srv.on('error', (e) => { console.error(`listen ${endpointAddress(i)}:${PORT[mode]}: ${e.message}`); process.exit(1); });
    srv.listen({ host: endpointAddress(i), port: PORT[mode], backlog: 64 }, () => {
      if (++listening === n) process.stdout.write(JSON.stringify({ ready: true }) + '\n');
    });
    servers.push(srv);
  }
  setInterval(() => process.stdout.write(JSON.stringify({ accepts }) + '\n'), 250);
  process.on('SIGTERM', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// role: tandem

function benchServer(mode: Mode, i: number, service = 0): RealServerConfig {
  const address = endpointAddress(i);
  const port = PORT[mode];
  const common = {
    connectIp: address, connectPort: port, bindTo: undefined, bindPort: undefined,
    timeoutMs: CHECK_TIMEOUT_MS, retry: 1, delayBeforeRetryMs: CHECK_INTERVAL_MS, delayLoopMs: CHECK_INTERVAL_MS,
    // warmup = delay_loop: the first probes spread over one interval, as HAProxy spreads its own.
    warmupMs: CHECK_INTERVAL_MS, alpha: false, rise: 1,
  };
  const check: CheckConfig = mode !== 'http'
    ? { ...common, kind: 'tcp_check' }
    : {
      ...common, kind: 'http_get', urls: [{ path: '/health', statusCodes: [[200, 200]], digest: undefined, virtualhost: undefined }],
      virtualhost: undefined, httpProtocol: '1.0', enableSni: false, verifyCertificate: false,
    };
  return {
    id: `TCP 192.0.2.${100 + service}:80 -> ${address}:${port}`,
    dest: { family: 4, address, port, forwarding: 'NAT', weight: 1, tunnel: null },
    inhibitOnFailure: false,
    checks: [check],
  };
}

function runTandem(mode: Mode, n: number): void {
  let probes = 0;
  let ok = 0;
  let failed = 0;
  const failReasons: Record<string, number> = {};
  let downEvents = 0;
  const services = mode === 'merge' ? SERVICES_PER_SERVER : 1;
  const servers = Array.from({ length: n * services }, (_, k) => benchServer(mode, k % n, Math.floor(k / n)));
  // The bench passes --engine to this role as TANDEM_BENCH_ENGINE (1 = on).
  const useEngine = process.env.TANDEM_BENCH_ENGINE === '1';
  const syn = process.env.TANDEM_BENCH_SYN !== '0';
  const tcpEngine = (onResults: (b: readonly TcpCheckOutcome[]) => void) => createTcpCheckEngine((batch) => {
    for (const o of batch) {
      if (o.ok) ok++;
      else { failed++; const r = o.reason ?? 'connect_error'; failReasons[r] = (failReasons[r] ?? 0) + 1; }
    }
    onResults(batch);
  }, { syn });
  const sched = new CheckScheduler({ timers: createSystemTimers(), random: Math.random,
    servers, ...(useEngine ? { tcpEngine } : {}),
    onEvent: (e) => { if (e.type === 'server_changed' && !e.up) downEvents++; },
    runProbe: async (check, opts) => {
      probes++;
      const r = await runProbe(check, opts);
      if (r.ok) ok++;
      else { failed++; failReasons[r.reason] = (failReasons[r.reason] ?? 0) + 1; }
      return r;
    },
  });
  // Event-loop delay: when the loop lags, every probe's completion (and so its next start,
  // delay_loop after the result) is late, and the check rate falls below one per interval.
  // perf_hooks records the time between two runs of its 10 ms timer: the delay is that less 10 ms
  // (figures printed before 2026-12-02, the issue 15 text's among them, included the 10 ms).
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const delayMs = (ns: number): number => Math.max(0, ns / 1e6 - 10);
  loop.enable();
  sched.start();
  setInterval(() => {
    const loopDelayMs = { p50: delayMs(loop.percentile(50)), p99: delayMs(loop.percentile(99)), max: delayMs(loop.max) };
    const m = process.memoryUsage();
    const memMB = { heapUsed: m.heapUsed / 1e6, heapTotal: m.heapTotal / 1e6, external: m.external / 1e6, arrayBuffers: m.arrayBuffers / 1e6 };
    const merge = sched.mergeStats();
    // With the engine every tcp_check probe is the engine's; its quiet successes never reach JS.
    const e = merge.engine;
    const counts = e ? { probes: probes + e.probes, ok: ok + e.suppressed, failed } : { probes, ok, failed };
    process.stdout.write(JSON.stringify({ ...counts, failReasons, downEvents, loopDelayMs, memMB, merge }) + '\n');
  }, 250);
  process.on('SIGTERM', () => { sched.close(); process.exit(0); });
}

// ---------------------------------------------------------------------------------------------
// role: bench

interface Counters { accepts: number; probes?: number; ok?: number; failed?: number; failReasons?: Record<string, number>; downEvents?: number }

/** A child process started through bash (for ulimit -n), whose JSON stdout lines are kept. */
class Child {
  readonly proc: ChildProcess;
  last: Record<string, unknown> = {};
  private buf = '';
  stderr = '';
  private readonly waiters: Array<{ pred: (o: Record<string, unknown>) => boolean; resolve: () => void }> = [];
  exited = false;

  constructor(readonly name: string, argv: string[], netns: string) {
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    // detached: its own process group, so cleanup can signal the whole group by its id.
    // The hard limit may be below FD_LIMIT without CAP_SYS_RESOURCE: take what is allowed.
    // `ip netns exec` and bash both exec: the pid is the checker's own.
    this.proc = spawn('ip', ['netns', 'exec', netns, 'bash', '-c', `h=$(ulimit -Hn); [ "$h" = unlimited ] || [ "$h" -ge ${FD_LIMIT} ] && h=${FD_LIMIT}; ulimit -n "$h" && exec ${quoted}`], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    LIVE.add(this);
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const o = JSON.parse(line) as Record<string, unknown>;
          this.last = { ...this.last, ...o };
          for (const w of [...this.waiters]) if (w.pred(o)) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(); }
        } catch { /* a partial or foreign line */ }
      }
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => { this.stderr = (this.stderr + d).slice(-4000); });
    this.proc.on('exit', () => { this.exited = true; LIVE.delete(this); });
  }

  get pid(): number { return this.proc.pid!; }

  waitFor(pred: (o: Record<string, unknown>) => boolean, ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.name}: no ${what} within ${ms} ms\n${this.stderr}`)), ms);
      this.waiters.push({ pred, resolve: () => { clearTimeout(t); resolve(); } });
      this.proc.once('exit', (code) => { clearTimeout(t); reject(new Error(`${this.name} exited (${code}) before ${what}\n${this.stderr}`)); });
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    killGroup(this.pid, 'SIGTERM');
    const t = setTimeout(() => killGroup(this.pid, 'SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  }
}

const LIVE = new Set<Child>();
function killGroup(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(-pid, sig); } catch { /* already gone */ }
}
let NETNS: string | null = null;
function deleteNetns(): void {
  if (NETNS === null) return;
  spawnSync('ip', ['netns', 'delete', NETNS]);
  NETNS = null;
}
// Whatever happens, leave no server, checker, HAProxy or namespace behind.
process.on('exit', () => { for (const c of LIVE) killGroup(c.pid, 'SIGKILL'); deleteNetns(); });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(130));

interface ProcSample { cpuTicks: number; rssKb: number; hwmKb: number }

/** utime + stime + cutime + cstime (fields 14..17 of /proc/PID/stat), VmRSS and VmHWM. */
function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuTicks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { cpuTicks, rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function haproxyConfig(mode: Mode, n: number, statsPort: number): string {
  const lines = [
    'global',
    // Checks are not connections: maxconn only sizes the (unused) frontend. A larger one would make
    // HAProxy want more fds than a hard limit without CAP_SYS_RESOURCE allows.
    '  maxconn 4096',
    // One thread, like tandem's one event loop: the comparison is per core of work.
    '  nbthread 1',
    '  spread-checks 0',
    'defaults',
    '  mode tcp',
    `  timeout connect ${CHECK_TIMEOUT_MS}ms`,
    `  timeout check ${CHECK_TIMEOUT_MS}ms`,
    '  timeout client 10s',
    '  timeout server 10s',
    // HAProxy refuses to start without a listener; this one is never used.
    'frontend bench_fe',
    `  bind 127.9.9.9:${statsPort}`,
    '  default_backend bench_be',
    'backend bench_be',
    ...(mode === 'http' ? ['  option httpchk GET /health', '  http-check expect status 200'] : []),
    `  default-server check inter ${CHECK_INTERVAL_MS}ms fall 2 rise 1`,
  ];
  for (let i = 0; i < n; i++) lines.push(`  server s${i} ${endpointAddress(i)}:${PORT[mode]}`);
  // merge: the same N servers in 9 more backends, as 10 virtual services name them; each backend
  // checks its own (HAProxy shares no check between backends: `track` would, but is another
  // configuration, and keepalived configs imported as-is do not have it).
  for (let b = 1; mode === 'merge' && b < SERVICES_PER_SERVER; b++) {
    lines.push(`backend bench_be${b}`, `  default-server check inter ${CHECK_INTERVAL_MS}ms fall 2 rise 1`);
    for (let i = 0; i < n; i++) lines.push(`  server s${i} ${endpointAddress(i)}:${PORT[mode]}`);
  }
  return lines.join('\n') + '\n';
}

interface RunResult {
  impl: Impl;
  mode: Mode;
  endpoints: number;
  windowS: number;
  /** Accepted connections per second at the servers over the window. */
  checksPerS: number;
  /** Connections the servers accepted per second (HAProxy's TCP checks are never accepted). */
  acceptsPerS: number;
  /** Checks per second the configuration asks for: one per endpoint per second; in mode merge
   *  HAProxy's is one per server per backend (10 x endpoints), tandem's one per endpoint. */
  expectedPerS: number;
  /** checksPerS within 5% of expectedPerS. */
  rateAsConfigured: boolean;
  /** tandem only: distinct checks (SharedChecks) and real servers (members) it runs. */
  sharedChecks: number | null;
  members: number | null;
  /** The endpoint server's CPU over the window (% of one core): near 100 it limits the rate. */
  serverCpuPct: number;
  /** tandem only: probes started / succeeded / failed per second by its own counter. */
  probesPerS: number | null;
  okPerS: number | null;
  failedPerS: number | null;
  failReasons: Record<string, number> | null;
  /** tandem only: event-loop delay since its start (perf_hooks histogram), ms. */
  loopDelayMs: { p50: number; p99: number; max: number } | null;
  cpuPctSamples: number[];
  cpuPctMedian: number;
  /** CPU time over the whole window / window, % of one core. */
  cpuPctMean: number;
  rssMbMedian: number;
  rssMbPeak: number;
  error: string | null;
}

async function measure(impl: Impl, mode: Mode, n: number, server: Child, warmupS: number, windowS: number, workDir: string, netns: string): Promise<RunResult> {
  const res: RunResult = {
    impl, mode, endpoints: n, windowS, checksPerS: NaN, acceptsPerS: NaN,
    expectedPerS: (mode === 'merge' && impl === 'haproxy' ? SERVICES_PER_SERVER : 1) * n * 1000 / CHECK_INTERVAL_MS,
    rateAsConfigured: false, sharedChecks: null, members: null, serverCpuPct: NaN, probesPerS: null, okPerS: null, failedPerS: null, failReasons: null, loopDelayMs: null,
    cpuPctSamples: [], cpuPctMedian: NaN, cpuPctMean: NaN, rssMbMedian: NaN, rssMbPeak: NaN, error: null,
  };
  let checker: Child | null = null;
  try {
    if (impl === 'tandem') {
      checker = new Child('tandem', [process.execPath, ...DAEMON_NODE_FLAGS, SELF, '--role', 'tandem', mode, String(n)], netns);
    } else {
      const cfg = join(workDir, `haproxy-${mode}.cfg`);
      writeFileSync(cfg, haproxyConfig(mode, n, PORT[mode] + 900));
      checker = new Child('haproxy', ['haproxy', '-f', cfg, '-db'], netns);
    }
    await sleep(warmupS * 1000);
    if (checker.exited) throw new Error(`${impl} exited during warm-up\n${checker.stderr}`);
    const acc0 = Number(server.last.accepts);
    const syns0 = synsSent(netns);
    const server0 = sampleProc(server.pid);
    const probes0 = { ...checker.last } as Record<string, unknown>;
    const t0 = performance.now();
    let prev = sampleProc(checker.pid);
    let prevT = t0;
    const rss: number[] = [];
    let peakKb = prev.hwmKb;
    const first = prev;
    for (let i = 0; i < windowS; i++) {
      await sleep(t0 + (i + 1) * 1000 - performance.now());
      const s = sampleProc(checker.pid);
      const now = performance.now();
      res.cpuPctSamples.push(((s.cpuTicks - prev.cpuTicks) / CLK_TCK) / ((now - prevT) / 1000) * 100);
      rss.push(s.rssKb / 1024);
      peakKb = Math.max(peakKb, s.hwmKb);
      prev = s;
      prevT = now;
    }
    const elapsedS = (prevT - t0) / 1000;
    res.checksPerS = (synsSent(netns) - syns0) / elapsedS;
    res.acceptsPerS = (Number(server.last.accepts) - acc0) / elapsedS;
    res.rateAsConfigured = Math.abs(res.checksPerS - res.expectedPerS) <= 0.05 * res.expectedPerS;
    res.serverCpuPct = ((sampleProc(server.pid).cpuTicks - server0.cpuTicks) / CLK_TCK) / elapsedS * 100;
    res.cpuPctMedian = median(res.cpuPctSamples);
    res.cpuPctMean = ((prev.cpuTicks - first.cpuTicks) / CLK_TCK) / elapsedS * 100;
    res.rssMbMedian = median(rss);
    res.rssMbPeak = peakKb / 1024;
    if (impl === 'tandem') {
      const c = checker.last as unknown as Counters;
      const b = probes0 as unknown as Counters;
      res.probesPerS = ((c.probes ?? 0) - (b.probes ?? 0)) / elapsedS;
      res.okPerS = ((c.ok ?? 0) - (b.ok ?? 0)) / elapsedS;
      res.failedPerS = ((c.failed ?? 0) - (b.failed ?? 0)) / elapsedS;
      res.failReasons = c.failReasons ?? {};
      res.loopDelayMs = (checker.last.loopDelayMs as RunResult['loopDelayMs']) ?? null;
      const m = checker.last.merge as { sharedChecks?: number; members?: number } | undefined;
      res.sharedChecks = m?.sharedChecks ?? null;
      res.members = m?.members ?? null;
    }
  } catch (e) {
    res.error = (e as Error).message;
  } finally {
    if (checker) await checker.stop();
  }
  return res;
}

function parseArgs(argv: string[]): { out: string | null; tcp: number; http: number; merge: number; windowS: number; warmupS: number; only: Impl | null; mode: Mode | null; engine: boolean; syn: boolean } {
  const env = process.env;
  const o = {
    out: null as string | null, tcp: Number(env.TCP_ENDPOINTS ?? 10_000), http: Number(env.HTTP_ENDPOINTS ?? 1000), merge: Number(env.MERGE_ENDPOINTS ?? 1000),
    windowS: Number(env.WINDOW_S ?? 30), warmupS: Number(env.WARMUP_S ?? 5), only: null as Impl | null, mode: null as Mode | null,
    engine: true, syn: true,
  };
  eachArg(argv, (a, next) => {
    if (a === '--out') o.out = next();
    else if (a === '--tcp') o.tcp = Number(next());
    else if (a === '--http') o.http = Number(next());
    else if (a === '--merge') o.merge = Number(next());
    else if (a === '--engine') o.engine = oneOf('--engine', next(), ['on', 'off'] as const) === 'on';
    else if (a === '--syn') o.syn = oneOf('--syn', next(), ['on', 'off'] as const) === 'on';
    else if (a === '--window') o.windowS = Number(next());
    else if (a === '--warmup') o.warmupS = Number(next());
    else if (a === '--only') o.only = oneOf('--only', next(), ['tandem', 'haproxy'] as const);
    else if (a === '--mode') o.mode = oneOf('--mode', next(), ['tcp', 'http', 'merge'] as const);
    else if (a === '--help' || a === '-h') usage('node dist/bench/checks.js [--out FILE.json] [--tcp N] [--http N] [--merge N] [--window S] [--warmup S] [--only tandem|haproxy] [--mode tcp|http|merge] [--engine on|off] [--syn on|off]');
    else throw new Error(`unknown argument ${a}`);
  });
  checkCounts([['tcp', o.tcp, 62_500 * 100], ['http', o.http, 62_500 * 100], ['merge', o.merge, 62_500 * 100], ['window', o.windowS, 3600], ['warmup', o.warmupS, 600]]);
  return o;
}


async function bench(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  process.env.TANDEM_BENCH_ENGINE = args.engine ? '1' : '0';
  process.env.TANDEM_BENCH_SYN = args.syn ? '1' : '0';
  const impls: Impl[] = args.only ? [args.only] : ['tandem', 'haproxy'];
  if (impls.includes('haproxy') && spawnSync('haproxy', ['-v']).status !== 0) {
    throw new Error('haproxy not found: apt-get install -y haproxy');
  }
  const modes: Array<{ mode: Mode; n: number }> = [{ mode: 'tcp' as Mode, n: args.tcp }, { mode: 'http' as Mode, n: args.http }, { mode: 'merge' as Mode, n: args.merge }]
    .filter((m) => args.mode === null || m.mode === args.mode);
  NETNS = `tCk${process.pid}`;
  const netns = NETNS;
  const add = spawnSync('ip', ['netns', 'add', netns], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`ip netns add ${netns}: ${add.stderr} (needs root)`);
  spawnSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  installSynCounter(netns);
  const workDir = mkdtempSync(join(tmpdir(), 'tandem-bench-checks-'));
  const results: RunResult[] = [];
  const started = new Date();
  try {
    for (const { mode, n } of modes) {
      const server = new Child(`server-${mode}`, [process.execPath, SELF, '--role', 'server', mode, String(n)], netns);
      try {
        await server.waitFor((o) => o.ready === true, 60_000, `${n} listeners`);
        for (const impl of impls) {
          console.log(`${impl}${impl === 'tandem' ? ` (tcp engine ${args.engine ? 'on' : 'off'}, half-open ${args.engine && args.syn ? 'on' : 'off'})` : ''} ${mode}: ${n} endpoints${mode === 'merge' ? ` x ${SERVICES_PER_SERVER} services` : ''}, warm-up ${args.warmupS} s, window ${args.windowS} s`);
          const r = await measure(impl, mode, n, server, args.warmupS, args.windowS, workDir, netns);
          results.push(r);
          if (r.error) console.log(`  ERROR ${r.error.split('\n')[0]}`);
          else console.log(`  ${r.checksPerS.toFixed(0)} checks/s (configured ${r.expectedPerS}), CPU ${r.cpuPctMedian.toFixed(1)} %, RSS ${r.rssMbMedian.toFixed(1)} MB${r.sharedChecks !== null ? `, ${r.sharedChecks} distinct checks for ${r.members} real servers` : ''}`);
          // Let the previous checker's sockets drain before the next one is measured.
          await sleep(2000);
        }
      } finally {
        await server.stop();
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    deleteNetns();
  }

  console.log('');
  console.log(`health checks on loopback, interval ${CHECK_INTERVAL_MS} ms, window ${args.windowS} s after ${args.warmupS} s warm-up; CPU in % of one core (median of 1 s samples)`);
  console.log('');
  const f = (x: number | null, d: number): string => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const header = ['mode', 'impl', 'endpoints', 'checks/s (SYNs)', 'accepted/s', 'probes/s (own)', 'failed/s', 'CPU % median', 'CPU % mean', 'RSS MB', 'RSS peak MB', 'server CPU %', 'loop delay p99 ms', 'error'];
  const rows = results.map((r) => [
    r.mode, r.impl, String(r.endpoints), f(r.checksPerS, 0), f(r.acceptsPerS, 0), f(r.probesPerS, 0), f(r.failedPerS, 1), f(r.cpuPctMedian, 1), f(r.cpuPctMean, 1),
    f(r.rssMbMedian, 1), f(r.rssMbPeak, 1), f(r.serverCpuPct, 0), f(r.loopDelayMs?.p99 ?? null, 1), r.error ? 'yes' : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));

  const ratios: Array<{ mode: Mode; cpuMedian: number | null; rss: number | null; checksPerS: number | null }> = [];
  for (const { mode } of modes) {
    const t = results.find((r) => r.impl === 'tandem' && r.mode === mode && !r.error);
    const h = results.find((r) => r.impl === 'haproxy' && r.mode === mode && !r.error);
    if (!t || !h) continue;
    const ratio = (a: number, b: number): number | null => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : null);
    ratios.push({ mode, cpuMedian: ratio(t.cpuPctMedian, h.cpuPctMedian), rss: ratio(t.rssMbMedian, h.rssMbMedian), checksPerS: ratio(t.checksPerS, h.checksPerS) });
  }
  if (ratios.length > 0) {
    console.log('');
    console.log('ratio tandem/haproxy:');
    for (const r of ratios) console.log(`  ${r.mode}: CPU ${f(r.cpuMedian, 2)}, RSS ${f(r.rss, 2)}, checks/s ${f(r.checksPerS, 3)}`);
  }
  for (const r of results) {
    if (r.error) console.log(`ERROR ${r.impl} ${r.mode}: ${r.error}`);
    else if (!r.rateAsConfigured) console.log(`WARNING ${r.impl} ${r.mode}: ${r.checksPerS.toFixed(0)} checks/s, configured ${r.expectedPerS}/s: its CPU figures are for another rate`);
  }

  if (args.out) {
    writeResults(args.out, started, () => ({
      host: {
        kernel: toolVersion(['uname', '-r']), node: process.version, cpus: spawnSync('nproc', { encoding: 'utf8' }).stdout.trim(),
        haproxy: impls.includes('haproxy') ? toolVersion(['haproxy', '-v']) : null,
      },
      settings: { intervalMs: CHECK_INTERVAL_MS, timeoutMs: CHECK_TIMEOUT_MS, warmupS: args.warmupS, windowS: args.windowS, haproxyThreads: 1, tcpEngine: args.engine },
      results,
      ratios,
    }));
  }
  if (results.some((r) => r.error)) process.exitCode = 1;
}

const [flag, roleName, roleMode, roleN] = process.argv.slice(2);
if (flag === '--role') {
  const mode = roleMode as Mode;
  const n = Number(roleN);
  if ((roleName !== 'server' && roleName !== 'tandem') || (mode !== 'tcp' && mode !== 'http' && mode !== 'merge') || !Number.isInteger(n) || n < 1) {
    throw new Error('usage: --role server|tandem tcp|http|merge COUNT');
  }
  if (roleName === 'server') runServer(mode, n);
  else runTandem(mode, n);
} else {
  bench().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  });
}
