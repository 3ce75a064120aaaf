// The network of `tandem lab`, built from network namespaces and veth pairs: one switch
// namespace with three bridges (front, back, management) and one namespace per host.
//
//   client (192.0.2.50) ---- br-front ---- lb1 eth0 192.0.2.1      lb2 eth0 192.0.2.2
//                                          VIP 192.0.2.100 on the master
//   rs1..rs3 (198.51.100.11-13) -- br-back -- lb1 eth1 198.51.100.2  lb2 eth1 198.51.100.3
//   default route via 198.51.100.1         gateway VIP 198.51.100.1 on the master
//   host end (root namespace) 203.0.113.254 -- br-mgmt -- lb1 eth2 203.0.113.1, lb2 eth2 .2
//
// Names: every namespace is `tlab<pid>-<role>` (pid of the lab process) and the host end of the
// management link is `tlab<pid>h`, so a lab that died without cleaning up (SIGKILL) is found and
// removed by the next one (removeStaleLabs), and two labs never share a name. Addresses are from
// the documentation ranges (RFC 5737). The addresses the daemons use come from conf/lab-lb*.yaml
// and are checked against this plan at start (labPlan.ts).
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabAborted, nsRun, run, runSync } from './proc.js';

export const LAB_PREFIX = 'tlab';

export const NET = {
  front: { bridge: 'br-front', prefixLen: 24 },
  back: { bridge: 'br-back', prefixLen: 24 },
  mgmt: { bridge: 'br-mgmt', prefixLen: 24 },
} as const;

export const ADDRESSES = {
  client: '192.0.2.50',
  lb1: { front: '192.0.2.1', back: '198.51.100.2', mgmt: '203.0.113.1' },
  lb2: { front: '192.0.2.2', back: '198.51.100.3', mgmt: '203.0.113.2' },
  realServers: ['198.51.100.11', '198.51.100.12', '198.51.100.13'],
  gateway: '198.51.100.1',
  host: '203.0.113.254',
  mgmtNet: '203.0.113.0/24',
} as const;

export type DirectorName = 'lb1' | 'lb2';

export interface LabNames {
  /** `tlab<pid>`. */
  base: string;
  switch: string;
  lb1: string;
  lb2: string;
  client: string;
  realServers: string[];
  /** The host end of the management veth in the root namespace (<= 15 characters). */
  hostIf: string;
}

export function labNames(pid: number): LabNames {
  const base = `${LAB_PREFIX}${pid}`;
  return {
    base,
    switch: `${base}-sw`,
    lb1: `${base}-lb1`,
    lb2: `${base}-lb2`,
    client: `${base}-cl`,
    realServers: ADDRESSES.realServers.map((_, i) => `${base}-rs${i + 1}`),
    hostIf: `${base}h`,
  };
}

export function allNamespaces(n: LabNames): string[] {
  return [n.lb1, n.lb2, ...n.realServers, n.client, n.switch];
}

/** One link: a veth with `port` on `bridge` in the switch namespace and `ifname` in `ns`. */
interface LinkPlan {
  ns: string;
  ifname: string;
  port: string;
  bridge: string;
  address: string;
  prefixLen: number;
}

function links(n: LabNames): LinkPlan[] {
  const out: LinkPlan[] = [];
  for (const d of ['lb1', 'lb2'] as const) {
    const a = ADDRESSES[d];
    out.push({ ns: n[d], ifname: 'eth0', port: `${d}-f`, bridge: NET.front.bridge, address: a.front, prefixLen: NET.front.prefixLen });
    out.push({ ns: n[d], ifname: 'eth1', port: `${d}-b`, bridge: NET.back.bridge, address: a.back, prefixLen: NET.back.prefixLen });
    out.push({ ns: n[d], ifname: 'eth2', port: `${d}-m`, bridge: NET.mgmt.bridge, address: a.mgmt, prefixLen: NET.mgmt.prefixLen });
  }
  n.realServers.forEach((ns, i) => out.push({ ns, ifname: 'eth0', port: `rs${i + 1}`, bridge: NET.back.bridge, address: ADDRESSES.realServers[i]!, prefixLen: NET.back.prefixLen }));
  out.push({ ns: n.client, ifname: 'eth0', port: 'cl', bridge: NET.front.bridge, address: ADDRESSES.client, prefixLen: NET.front.prefixLen });
  return out;
}

/** The bridge ports of a director in the switch namespace (down = its cables are pulled). */
export function directorPorts(d: DirectorName): string[] {
  return [`${d}-f`, `${d}-b`, `${d}-m`];
}

// Node sysctls: IPv6 duplicate address detection and router solicitations only add noise and
// delay on these links (the lab is IPv4).
const NODE_SYSCTLS = [
  'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
  'net.ipv6.conf.all.router_solicitations=0', 'net.ipv6.conf.default.router_solicitations=0',
];

export interface BuildOptions {
  /** Connect the management bridge to the root namespace (status pages reachable from the host). */
  hostLink: boolean;
  /** Non-null once the lab is being torn down. */
  aborted?: () => string | null;
}

export interface BuildResult {
  /** Why the host link was not made, if it was asked for and could not be. */
  hostLinkSkipped: string | null;
}

/**
 * Creates the namespaces, bridges and links. Registers each namespace in `created` as soon as
 * it exists, so a failure halfway leaves nothing the caller's cleanup does not know about.
 */
export async function buildTopology(n: LabNames, opts: BuildOptions, created: Set<string>): Promise<BuildResult> {
  for (const ns of [n.switch, ...allNamespaces(n).filter((x) => x !== n.switch)]) {
    // Interrupted: create nothing more (cleanup waits for this build to settle, then deletes
    // what `created` holds).
    const stop = opts.aborted?.();
    if (stop) throw new LabAborted(stop);
    created.add(ns);
    await run(['ip', 'netns', 'add', ns]);
  }
  const sw = (args: string) => ({ ns: n.switch, line: args });
  const batch: Array<{ ns: string; line: string }> = [];
  for (const b of [NET.front.bridge, NET.back.bridge, NET.mgmt.bridge]) {
    batch.push(sw(`link add ${b} type bridge`), sw(`link set ${b} up`));
  }
  for (const l of links(n)) {
    batch.push(sw(`link add ${l.port} type veth peer name ${l.ifname} netns ${l.ns}`));
    batch.push(sw(`link set ${l.port} master ${l.bridge} up`));
  }
  await ipBatch(n.switch, batch.map((b) => b.line));

  await Promise.all(allNamespaces(n).filter((ns) => ns !== n.switch).map(async (ns) => {
    await nsRun(ns, ['sysctl', '-qw', ...NODE_SYSCTLS]);
    const lines = ['link set lo up'];
    for (const l of links(n).filter((x) => x.ns === ns)) {
      lines.push(`addr add ${l.address}/${l.prefixLen} dev ${l.ifname}`, `link set ${l.ifname} up`);
    }
    if (n.realServers.includes(ns)) lines.push(`route add default via ${ADDRESSES.gateway}`);
    await ipBatch(ns, lines);
  }));
  // Directors route between the front and back networks (LVS-NAT): an operator sets this in
  // /etc/sysctl.d/; tandem does not change sysctls.
  for (const d of [n.lb1, n.lb2]) await nsRun(d, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);

  let hostLinkSkipped: string | null = null;
  if (opts.hostLink && !opts.aborted?.()) {
    hostLinkSkipped = await rootHasMgmtNet();
    if (!hostLinkSkipped) {
      await run(['ip', 'link', 'add', n.hostIf, 'type', 'veth', 'peer', 'name', 'host', 'netns', n.switch]);
      await ipBatch(n.switch, [`link set host master ${NET.mgmt.bridge} up`]);
      await run(['ip', 'addr', 'add', `${ADDRESSES.host}/${NET.mgmt.prefixLen}`, 'dev', n.hostIf]);
      await run(['ip', 'link', 'set', n.hostIf, 'up']);
    }
  }
  return { hostLinkSkipped };
}

/** Runs `ip -batch -` in a namespace (one process for many changes). */
async function ipBatch(ns: string, lines: string[]): Promise<void> {
  await run(['ip', '-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
}

/** A reason not to connect the host, or null: the root namespace already uses 203.0.113.0/24. */
async function rootHasMgmtNet(): Promise<string | null> {
  const routes = await run(['ip', '-j', '-4', 'route', 'show', 'root', ADDRESSES.mgmtNet], { allowFail: true });
  const parsed = JSON.parse(routes.stdout || '[]') as unknown[];
  if (parsed.length > 0) return `the host already has a route in ${ADDRESSES.mgmtNet}`;
  return null;
}

/** Pulls a director's cables (bridge side down) or plugs them back. */
export async function setDirectorLinks(n: LabNames, d: DirectorName, up: boolean): Promise<void> {
  await ipBatch(n.switch, directorPorts(d).map((p) => `link set ${p} ${up ? 'up' : 'down'}`));
}

/**
 * What a reboot does to a crashed director: its VIPs and its nftables ruleset are gone. (A
 * daemon killed with SIGKILL leaves both behind, as keepalived does.)
 */
export async function rebootClean(n: LabNames, d: DirectorName, vips: Array<{ ifname: string; cidr: string }>): Promise<void> {
  for (const v of vips) await nsRun(n[d], ['ip', 'addr', 'del', v.cidr, 'dev', v.ifname], { allowFail: true });
  await nsRun(n[d], ['nft', 'flush', 'ruleset'], { allowFail: true });
}

/** Deletes the lab's namespaces (their veths go with them, the host end included). */
export async function destroyTopology(n: LabNames, created: Set<string>): Promise<{ removed: string[]; errors: string[] }> {
  const removed: string[] = [];
  const errors: string[] = [];
  // The veths die with their namespaces; the processes in them were stopped before. A deletion
  // that fails (EBUSY while a mount of the namespace file is still being torn down) is retried.
  for (const ns of [...created].reverse()) {
    let last = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await run(['ip', 'netns', 'del', ns], { allowFail: true });
      if (r.code === 0 || !labNamespaceExists(ns)) { last = ''; break; }
      last = r.stderr.trim();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (last) errors.push(`${ns}: ${last}`);
    else { created.delete(ns); removed.push(ns); }
  }
  await run(['ip', 'link', 'del', n.hostIf], { allowFail: true });
  return { removed, errors };
}

function labNamespaceExists(ns: string): boolean {
  return runSync(['ip', 'netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === ns);
}

/** The same, synchronously (the process 'exit' handler). */
export function destroyTopologySync(n: LabNames, created: Set<string>): void {
  for (const ns of [...created].reverse()) runSync(['ip', 'netns', 'del', ns]);
  created.clear();
  runSync(['ip', 'link', 'del', n.hostIf]);
}

/** Lab namespaces now present, by owning pid. */
export function labNamespaces(): Map<number, string[]> {
  const out = new Map<number, string[]>();
  const r = runSync(['ip', 'netns', 'list']);
  const re = new RegExp(`^(${LAB_PREFIX}(\\d+)-\\S+)`);
  for (const line of r.stdout.split('\n')) {
    const m = re.exec(line.trim());
    if (!m) continue;
    const pid = Number(m[2]);
    out.set(pid, [...(out.get(pid) ?? []), m[1]!]);
  }
  return out;
}

/** Whether pid is a live `tandem lab` (not a reused pid of some other program). */
export function isLiveLab(pid: number): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmd.includes('lab') || cmd.some((a) => a.includes(`${LAB_PREFIX}${pid}`));
  } catch {
    return false;
  }
}

/**
 * Removes what a lab that is no longer running left behind: its processes (found through the
 * namespaces they run in), namespaces and the host end of its management link. Returns the
 * namespaces removed and the pids of live labs other than `self` (one lab at a time: the
 * addresses, the host route and the daemons' status sockets are fixed).
 */
export function removeStaleLabs(self: number): { removed: string[]; liveLabs: number[] } {
  const removed: string[] = [];
  const liveLabs: number[] = [];
  for (const [pid, namespaces] of labNamespaces()) {
    if (pid === self) continue;
    if (isLiveLab(pid)) { liveLabs.push(pid); continue; }
    for (const ns of namespaces) {
      const pids = runSync(['ip', 'netns', 'pids', ns]).stdout.split(/\s+/).filter(Boolean);
      for (const p of pids) {
        try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
      }
    }
    for (const ns of namespaces) {
      runSync(['ip', 'netns', 'del', ns]);
      removed.push(ns);
    }
  }
  // A host end whose switch namespace is already gone is gone too (a veth pair dies with either
  // end); one whose lab died between creating it and moving the peer is removed here.
  const links = runSync(['ip', '-j', 'link', 'show']).stdout;
  for (const l of JSON.parse(links || '[]') as Array<{ ifname: string }>) {
    const m = new RegExp(`^${LAB_PREFIX}(\\d+)h$`).exec(l.ifname);
    if (m && Number(m[1]) !== self && !isLiveLab(Number(m[1]))) {
      runSync(['ip', 'link', 'del', l.ifname]);
      removed.push(l.ifname);
    }
  }
  // Its work directory (logs, state files): /tmp/tlab<pid>-XXXXXX.
  for (const name of readdirSync(tmpdir())) {
    const m = new RegExp(`^${LAB_PREFIX}(\\d+)-`).exec(name);
    if (m && Number(m[1]) !== self && !isLiveLab(Number(m[1]))) {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
      removed.push(join(tmpdir(), name));
    }
  }
  return { removed, liveLabs };
}
