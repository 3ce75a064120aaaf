// Network-namespace lab for integration tests and benchmarks: one bridge namespace holding a
// bridge, and one namespace per node joined to it by a veth pair (`eth0` inside the node,
// `p-<node>` on the bridge). Everything a lab creates is named `<prefix><pid>-<seq>-...` so
// parallel runs never collide, and is deleted in `destroy()`, on process exit and on signals.
// Set TANDEM_TEST_KEEP=1 to keep the lab directories (configs, logs, state files) for debugging.
// Interface names live only inside the lab's namespaces, so the 15-character limit is easy.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, createWriteStream, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// ---------------------------------------------------------------------------------------------
// Preconditions: a test that cannot run says so loudly (a skipped test would count as a pass).

/** Throws unless the process runs as root (namespaces, veths and raw sockets need it). */
export function requireRoot(): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error('integration test needs root (network namespaces, veth, raw sockets): run as root');
  }
}

/** Throws, naming every missing one, unless each tool is on PATH. */
export function requireTools(...tools: string[]): void {
  const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) {
    throw new Error(`integration test needs missing tool(s): ${missing.join(', ')} (Debian: apt-get install ${missing.map(debianPackageOf).join(' ')})`);
  }
}

function debianPackageOf(tool: string): string {
  return ({ ip: 'iproute2', arping: 'iputils-arping', ping: 'iputils-ping', tcpdump: 'tcpdump', keepalived: 'keepalived', python3: 'python3' } as Record<string, string>)[tool] ?? tool;
}

/** Both of the above, for the usual integration set-up. */
export function requireLabTools(...extra: string[]): void {
  requireRoot();
  requireTools('ip', 'sysctl', ...extra);
}

// ---------------------------------------------------------------------------------------------
// Bounded waiting and command execution.

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what?: string;
}

/**
 * Polls `fn` until it returns a truthy value (returned) or `timeoutMs` passes (throws, with the
 * last value or error seen). Errors thrown by `fn` count as "not yet".
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitOptions): Promise<NonNullable<T>> {
  const interval = opts.intervalMs ?? 50;
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (let i = 0; i < 1_000_000; i++) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(interval, Math.max(1, deadline - Date.now())));
  }
  const lastText = last instanceof Error ? last.message : JSON.stringify(last);
  throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what ?? 'condition'} (last: ${lastText})`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Do not throw on a non-zero exit. */
  allowFail?: boolean;
  timeoutMs?: number;
  input?: string;
}

/** Runs argv (no shell) and resolves with its output; throws on non-zero exit unless allowFail. */
export function run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('run: empty argv');
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs ?? 20_000, maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      // execFile's error carries the exit status as a number in `code` (a string for spawn errors).
      const status = (err as { code?: unknown } | null)?.code;
      const code = err ? (typeof status === 'number' ? status : 1) : 0;
      if (err && !opts.allowFail) {
        reject(new Error(`command failed (${code}): ${argv.join(' ')}\n${stderr || stdout || err.message}`));
        return;
      }
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs argv inside namespace `ns`. */
export function nsRun(ns: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return run(['ip', 'netns', 'exec', ns, ...argv], opts);
}

// ---------------------------------------------------------------------------------------------
// Long-running processes inside a namespace.

export interface SpawnOptions {
  /** Receives stdout as raw bytes instead of lines (e.g. a pcap stream). */
  onStdout?: (chunk: Buffer) => void;
  /** File that receives the process's stdout and stderr (also kept in memory as lines). */
  logPath?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * A process started with `ip netns exec NS argv...` (ip execs the program, so `pid` is the
 * program's own pid). It leads its own process group, so killGroup reaches its children too.
 */
export class NsProcess {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  readonly pid: number;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;
  private readonly log: WriteStream | undefined;
  private readonly lineWaiters = new Set<() => void>();

  constructor(readonly ns: string, readonly argv: string[], opts: SpawnOptions = {}) {
    this.log = opts.logPath ? createWriteStream(opts.logPath, { flags: 'a' }) : undefined;
    this.child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    if (this.child.pid === undefined) throw new Error(`could not spawn in ${ns}: ${argv.join(' ')}`);
    this.pid = this.child.pid;
    liveProcesses.add(this);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        liveProcesses.delete(this);
        resolve();
      });
    });
    // 'close' comes after the last output chunk, unlike 'exit'.
    this.child.on('close', () => this.log?.end());
    if (opts.onStdout) this.child.stdout?.on('data', opts.onStdout);
    const textStreams = opts.onStdout ? [this.child.stderr] : [this.child.stdout, this.child.stderr];
    for (const stream of textStreams) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.log?.write(chunk);
        partial += chunk;
        const parts = partial.split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) this.lines.push(line);
        if (parts.length > 0) for (const w of this.lineWaiters) w();
      });
    }
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  /** The last n lines of output, for failure messages. */
  tail(n = 30): string {
    return this.lines.slice(-n).join('\n');
  }

  /** Resolves with the first line (from index `from`) matching re; throws after timeoutMs. */
  async waitForLine(re: RegExp, timeoutMs: number, from = 0): Promise<{ line: string; index: number }> {
    const find = (): { line: string; index: number } | undefined => {
      for (let i = from; i < this.lines.length; i++) {
        const line = this.lines[i]!;
        if (re.test(line)) return { line, index: i };
      }
      return undefined;
    };
    const hit = find();
    if (hit) return hit;
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.lineWaiters.delete(check);
        this.child.off('exit', onExit);
      };
      const check = (): void => {
        const h = find();
        if (h) { done(); resolve(h); }
      };
      const onExit = (): void => {
        // Let the last data events land first.
        setTimeout(() => {
          const h = find();
          done();
          if (h) resolve(h);
          else reject(new Error(`process exited (${this.exitCode ?? this.exitSignal}) before a line matched ${re}: ${this.argv.join(' ')}\n${this.tail()}`));
        }, 50);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a line matching ${re}: ${this.argv.join(' ')}\n--- last output ---\n${this.tail()}`));
      }, timeoutMs);
      this.lineWaiters.add(check);
      this.child.on('exit', onExit);
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) {
      try { process.kill(this.pid, sig); } catch { /* already gone */ }
    }
  }

  /** Sends sig to the whole process group (the program and any children it forked). */
  signalGroup(sig: NodeJS.Signals): void {
    try { process.kill(-this.pid, sig); } catch { /* already gone */ }
  }

  /** Waits for exit up to timeoutMs; resolves true if it exited. */
  async waitExit(timeoutMs: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
    const r = await Promise.race([this.exited.then(() => true), timedOut]);
    clearTimeout(timer);
    return r;
  }

  /** SIGTERM, then SIGKILL to the group after graceMs. */
  async stop(graceMs = 3000): Promise<void> {
    this.signal('SIGTERM');
    if (!(await this.waitExit(graceMs))) {
      this.signalGroup('SIGKILL');
      await this.waitExit(2000);
    }
  }

  /** Immediate SIGKILL of the whole group (a crash). */
  async kill9(): Promise<void> {
    this.signalGroup('SIGKILL');
    this.signal('SIGKILL');
    await this.waitExit(3000);
  }
}

// ---------------------------------------------------------------------------------------------
// Emergency cleanup: whatever is still alive when the process ends is killed and deleted.

const liveProcesses = new Set<NsProcess>();
const liveNamespaces = new Set<string>();
const liveDirs = new Set<string>();
let handlersInstalled = false;

function emergencyCleanup(): void {
  for (const p of liveProcesses) {
    try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  liveProcesses.clear();
  for (const ns of liveNamespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  liveNamespaces.clear();
  if (!process.env.TANDEM_TEST_KEEP) for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  liveDirs.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', emergencyCleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      emergencyCleanup();
      // The test runner makes process.exit throw in tests (test/lib/no-exit.mjs): a signal really ends the run.
      const exit = (process as unknown as Record<symbol, ((code: number) => never) | undefined>)[Symbol.for('tandem.realExit')] ?? process.exit;
      exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/**
 * Deletes namespaces left by earlier runs with this prefix whose owning pid is dead (a run that
 * was killed with SIGKILL could not clean up after itself).
 */
export function removeStaleNamespaces(prefix: string): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  const removed: string[] = [];
  const re = new RegExp(`^(${prefix}(\\d+)-\\S+)`);
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = re.exec(line.trim());
    if (!m) continue;
    const pid = Number(m[2]);
    let alive = true;
    try { process.kill(pid, 0); } catch { alive = false; }
    if (!alive) {
      // Orphans of the dead run (a daemon still inside the namespace) would keep it alive.
      const pids = spawnSync('ip', ['netns', 'pids', m[1]!], { encoding: 'utf8' }).stdout ?? '';
      for (const p of pids.split(/\s+/).filter(Boolean)) {
        try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
      }
      spawnSync('ip', ['netns', 'del', m[1]!], { stdio: 'ignore' });
      removed.push(m[1]!);
    }
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------
// The lab.

export interface NodeSpec {
  /** Short name (letters/digits, <= 8 chars): the namespace suffix and bridge port `p-<name>`. */
  name: string;
  /** Addresses with prefix length, e.g. 192.0.2.1/24. */
  ipv4?: string[];
  /** Addresses with prefix length, e.g. 2001:db8::1/64 (added with nodad). */
  ipv6?: string[];
}

export interface LabNode {
  name: string;
  ns: string;
  /** The node's interface on the bridge (always eth0). */
  ifname: string;
  /** The veth end on the bridge, inside the bridge namespace. */
  bridgePort: string;
  mac: string;
  /** IPv4 addresses without prefix length. */
  ipv4: string[];
  /** Global IPv6 addresses without prefix length. */
  ipv6: string[];
  /** The link-local IPv6 address of eth0 (VRRPv3 over IPv6 is sent from it, RFC 5798 §5.1.2.1). */
  linkLocal: string;
}

export interface LabOptions {
  /** Namespace prefix owned by the caller, e.g. "tC" (tests) or "tK" (bench). */
  prefix: string;
  nodes: NodeSpec[];
}

export interface InterfaceAddress {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope: string;
}

let labSeq = 0;

// IPv6 on test links: duplicate address detection only delays things (every address here is
// unique by construction), so it is off; router solicitations are noise on the wire.
const NODE_SYSCTLS = [
  'net.ipv6.conf.all.accept_dad=0',
  'net.ipv6.conf.default.accept_dad=0',
  'net.ipv6.conf.all.router_solicitations=0',
  'net.ipv6.conf.default.router_solicitations=0',
  'net.ipv6.conf.all.dad_transmits=0',
  'net.ipv6.conf.default.dad_transmits=0',
  // Static addresses survive a link flap (IPv6 flushes them on down by default), so a link
  // test leaves the node as it found it; a daemon must still remove its own VIPs itself.
  'net.ipv6.conf.all.keep_addr_on_down=1',
  'net.ipv6.conf.default.keep_addr_on_down=1',
];

export class Lab {
  /** Bridge namespace: holds br0 and the bridge ends of the veths; the observer captures here. */
  readonly bridgeNs: string;
  readonly bridge = 'br0';
  /** A private directory for configs, logs and state files; removed by destroy(). */
  readonly dir: string;
  readonly nodes = new Map<string, LabNode>();
  private readonly namespaces: string[] = [];
  private readonly processes = new Set<NsProcess>();
  private destroyed = false;

  private constructor(readonly base: string) {
    this.bridgeNs = `${base}-br`;
    this.dir = mkdtempSync(join(tmpdir(), `${base}-`));
    liveDirs.add(this.dir);
  }

  static async create(opts: LabOptions): Promise<Lab> {
    requireLabTools();
    installHandlers();
    removeStaleNamespaces(opts.prefix);
    const lab = new Lab(`${opts.prefix}${process.pid}-${++labSeq}`);
    try {
      await lab.addNamespace(lab.bridgeNs);
      // No IPv6 on the bridge itself: it only forwards frames. Multicast snooping off so that
      // 224.0.0.18 / ff02::12 are flooded to every port whatever MLD/IGMP state says.
      await lab.exec(lab.bridgeNs, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      await lab.exec(lab.bridgeNs, ['ip', 'link', 'add', lab.bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0']);
      await lab.exec(lab.bridgeNs, ['ip', 'link', 'set', lab.bridge, 'up']);
      for (const spec of opts.nodes) await lab.addNode(spec);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  private async addNamespace(ns: string): Promise<void> {
    await run(['ip', 'netns', 'add', ns]);
    this.namespaces.push(ns);
    liveNamespaces.add(ns);
    await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /** Adds a namespace joined to the bridge with addresses on its eth0. */
  async addNode(spec: NodeSpec): Promise<LabNode> {
    if (!/^[a-z0-9]{1,8}$/i.test(spec.name)) throw new Error(`node name must be 1-8 letters/digits: ${spec.name}`);
    if (this.nodes.has(spec.name)) throw new Error(`node exists: ${spec.name}`);
    const ns = `${this.base}-${spec.name}`;
    const bridgePort = `p-${spec.name}`;
    await this.addNamespace(ns);
    await this.exec(ns, ['sysctl', '-qw', ...NODE_SYSCTLS]);
    await run(['ip', 'link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', bridgePort, 'netns', this.bridgeNs]);
    await this.exec(this.bridgeNs, ['sysctl', '-qw', `net.ipv6.conf.${bridgePort}.disable_ipv6=1`], { allowFail: true });
    await this.exec(this.bridgeNs, ['ip', 'link', 'set', bridgePort, 'master', this.bridge, 'up']);
    for (const a of spec.ipv4 ?? []) await this.exec(ns, ['ip', 'addr', 'add', a, 'dev', 'eth0']);
    for (const a of spec.ipv6 ?? []) await this.exec(ns, ['ip', '-6', 'addr', 'add', a, 'dev', 'eth0', 'nodad']);
    await this.exec(ns, ['ip', 'link', 'set', 'eth0', 'up']);
    const link = JSON.parse((await this.exec(ns, ['ip', '-j', 'link', 'show', 'dev', 'eth0'])).stdout) as Array<{ address: string }>;
    const linkLocal = await waitFor(async () => (await this.addresses(ns)).find((a) => a.family === 'inet6' && a.scope === 'link')?.local, {
      timeoutMs: 5000, what: `link-local address on ${ns} eth0`,
    });
    const node: LabNode = {
      name: spec.name,
      ns,
      ifname: 'eth0',
      bridgePort,
      mac: link[0]!.address,
      ipv4: (spec.ipv4 ?? []).map(stripPrefix),
      ipv6: (spec.ipv6 ?? []).map(stripPrefix),
      linkLocal,
    };
    this.nodes.set(spec.name, node);
    return node;
  }

  node(name: string): LabNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name} in lab ${this.base}`);
    return n;
  }

  /** Runs argv in a namespace (a namespace name or a node). */
  exec(where: string | LabNode, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return nsRun(typeof where === 'string' ? where : where.ns, argv, opts);
  }

  /** Starts a long-running process in a namespace; destroy() kills it if still running. */
  spawn(where: string | LabNode, argv: string[], opts: SpawnOptions = {}): NsProcess {
    if (this.destroyed) throw new Error('lab destroyed');
    const p = new NsProcess(typeof where === 'string' ? where : where.ns, argv, opts);
    this.processes.add(p);
    void p.exited.then(() => this.processes.delete(p));
    return p;
  }

  /** A path inside the lab's private directory. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** Addresses on an interface (default eth0) of a namespace. */
  async addresses(where: string | LabNode, ifname = 'eth0'): Promise<InterfaceAddress[]> {
    const r = await this.exec(where, ['ip', '-j', 'addr', 'show', 'dev', ifname]);
    const parsed = JSON.parse(r.stdout || '[]') as Array<{ addr_info?: Array<{ family: string; local: string; prefixlen: number; scope: string }> }>;
    return (parsed[0]?.addr_info ?? []).map((a) => ({ family: a.family as 'inet' | 'inet6', local: a.local, prefixlen: a.prefixlen, scope: a.scope }));
  }

  /** Whether ip (without prefix length) is configured on the node's eth0. */
  async hasAddress(node: LabNode, ip: string): Promise<boolean> {
    return (await this.addresses(node)).some((a) => sameIp(a.local, ip));
  }

  /** Names of the nodes (among `candidates`) whose eth0 holds ip. */
  async holders(ip: string, candidates: LabNode[]): Promise<string[]> {
    const out: string[] = [];
    for (const n of candidates) if (await this.hasAddress(n, ip)) out.push(n.name);
    return out;
  }

  /** Removes ip from the node's eth0 if present (what a reboot does to a crashed director's VIPs). */
  async removeAddress(node: LabNode, ipWithPrefix: string): Promise<void> {
    const ip = stripPrefix(ipWithPrefix);
    const a = (await this.addresses(node)).find((x) => sameIp(x.local, ip));
    if (a) await this.exec(node, ['ip', 'addr', 'del', `${a.local}/${a.prefixlen}`, 'dev', node.ifname], { allowFail: true });
  }

  /** The node's neighbour entry for ip on eth0, or null. */
  async neighbour(node: LabNode, ip: string): Promise<{ lladdr: string | null; state: string[] } | null> {
    const r = await this.exec(node, ['ip', '-j', 'neigh', 'show', 'to', stripPrefix(ip), 'dev', node.ifname]);
    const entries = JSON.parse(r.stdout || '[]') as Array<{ dst: string; lladdr?: string; state?: string[] }>;
    const e = entries.find((x) => sameIp(x.dst, stripPrefix(ip)));
    return e ? { lladdr: e.lladdr ?? null, state: e.state ?? [] } : null;
  }

  /**
   * Link down. side 'node': `ip link set eth0 down` inside the node (administrative down).
   * side 'bridge': the bridge end goes down, so the node's eth0 loses carrier (a pulled cable).
   */
  async linkDown(node: LabNode, side: 'node' | 'bridge' = 'node'): Promise<void> {
    if (side === 'node') await this.exec(node, ['ip', 'link', 'set', node.ifname, 'down']);
    else await this.exec(this.bridgeNs, ['ip', 'link', 'set', node.bridgePort, 'down']);
  }

  async linkUp(node: LabNode, side: 'node' | 'bridge' = 'node'): Promise<void> {
    if (side === 'node') await this.exec(node, ['ip', 'link', 'set', node.ifname, 'up']);
    else await this.exec(this.bridgeNs, ['ip', 'link', 'set', node.bridgePort, 'up']);
  }

  /**
   * Cuts the node off the bridge while both veth ends stay up with carrier: the node sees no
   * link event, only silence (the split-brain case).
   */
  async detach(node: LabNode): Promise<void> {
    await this.exec(this.bridgeNs, ['ip', 'link', 'set', node.bridgePort, 'nomaster']);
  }

  async attach(node: LabNode): Promise<void> {
    await this.exec(this.bridgeNs, ['ip', 'link', 'set', node.bridgePort, 'master', this.bridge]);
  }

  /**
   * Adds an extra interface (up) to a node, e.g. one to track. It is a veth pair with both ends
   * in the node (`<ifname>` and `<ifname>p`): this kernel has no dummy driver.
   */
  async addLocalLink(node: LabNode, ifname: string): Promise<void> {
    await this.exec(node, ['ip', 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', `${ifname}p`]);
    await this.exec(node, ['ip', 'link', 'set', `${ifname}p`, 'up']);
    await this.exec(node, ['ip', 'link', 'set', ifname, 'up']);
  }

  /** Sets any interface of a node up or down. */
  async setLink(node: LabNode, ifname: string, up: boolean): Promise<void> {
    await this.exec(node, ['ip', 'link', 'set', ifname, up ? 'up' : 'down']);
  }

  /** Kills every process the lab started and deletes its namespaces and directory. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of [...this.processes]) {
      p.signalGroup('SIGKILL');
      p.signal('SIGKILL');
    }
    await Promise.all([...this.processes].map((p) => p.waitExit(3000)));
    for (const ns of this.namespaces.reverse()) {
      await run(['ip', 'netns', 'del', ns], { allowFail: true });
      liveNamespaces.delete(ns);
    }
    if (!process.env.TANDEM_TEST_KEEP) rmSync(this.dir, { recursive: true, force: true });
    liveDirs.delete(this.dir);
  }
}

export function stripPrefix(addr: string): string {
  const i = addr.indexOf('/');
  return i < 0 ? addr : addr.slice(0, i);
}

/** Compares two IP address strings (IPv6 in any textual form). */
export function sameIp(a: string, b: string): boolean {
  if (a === b) return true;
  if (!a.includes(':') || !b.includes(':')) return false;
  return expandIpv6(a) === expandIpv6(b);
}

function expandIpv6(a: string): string {
  const [head, tail] = a.toLowerCase().split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((x) => x.padStart(4, '0')).join(':');
}
