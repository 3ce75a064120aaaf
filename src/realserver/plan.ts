// The real-server planner (pure: no node: module, no I/O): what `tandem realserver` must change to
// make this host a real server of an LVS-DR or LVS-TUN virtual service, what --check reports, and
// what --remove undoes. The adapter (realserver/host.ts) reads the state, runs the steps, and
// keeps the record of undos.
//
// keepalived configures only the director side (its IPVS lb_kind DR / TUN); the real-server side
// is the Linux Virtual Server recipe (linuxvirtualserver.org "ARP problem in VS/TUN and VS/DR",
// kb.linux-vs.org "ARP Issues in LVS/DR and LVS/TUN Clusters"):
// - DR: every VIP on lo as a host address, so packets the director forwards unchanged (its MAC,
//   the VIP as destination) are delivered locally; lo up (a fresh namespace has it down).
// - TUN: every VIP on the tunnel device that decapsulates what the director sends (ipip for an
//   IPv4 outer header, ip6tnl for IPv6), the device up; rp_filter relaxed, see below.
// - Both: the server must not answer ARP for the VIPs nor use them as ARP source, or the router
//   would send clients to it instead of the director:
//     arp_ignore = 1 (reply only for addresses on the interface the request came in on; lo's VIPs
//       are not on eth0). The kernel uses max(conf/all, conf/IF) (include/linux/inetdevice.h
//       IN_DEV_ARP_IGNORE), so both are set. 2 and 8 are stricter and kept; 3 would still answer
//       for lo's global-scope VIPs, so it is replaced.
//     arp_announce = 2 (always the best local address of the outgoing interface as ARP source,
//       never a VIP). Also max(all, IF) (IN_DEV_ARP_ANNOUNCE); 2 is the highest value.
// - IPv6 has no equivalent to set: neighbour discovery answers a solicitation only for an address
//   on the interface it arrived on (net/ipv6/ndisc.c ndisc_recv_ns(): ipv6_get_ifaddr(..., dev,
//   strict 1)), so a /128 on lo or on the tunnel is never advertised on eth0.
// - rp_filter (TUN): a decapsulated packet arrives on the tunnel with the client's source, whose
//   route goes out of eth0: strict reverse-path filtering (1) drops it. The kernel uses
//   max(conf/all, conf/DEV) (IN_DEV_RPFILTER), so a strict value in either is relaxed to 2, loose:
//   accepted when the source is reachable through any interface, which still drops spoofed
//   unroutable sources. 0 (off) and 2 are already relaxed and left alone: tandem never makes the
//   host's filtering stricter than it was. IPv6 has no rp_filter sysctl.

import type { RealServerConfig, RealServerTunnel } from '../config/realServerConfig.js';

/** What the adapter read of the host; only what the config names. */
export interface HostState {
  links: Record<string, LinkState | undefined>;
  /** Addresses per interface, `address/prefixLen` (canonical text). */
  addresses: Record<string, readonly string[] | undefined>;
  /** /proc/sys/net/ipv4/conf/<dev>/<name> values, keyed `dev/name`; undefined: no such file. */
  sysctls: Record<string, number | undefined>;
}

export interface LinkState { up: boolean; /** IFLA_INFO_KIND ('' for none, e.g. lo or a physical NIC). */ kind: string }

export type Step =
  | { kind: 'create_tunnel'; name: string; type: 'ipip' | 'ip6tnl'; local: string }
  | { kind: 'link_up'; ifname: string }
  | { kind: 'add_address'; ifname: string; address: string; prefixLen: number }
  | { kind: 'set_sysctl'; key: string; from: number; to: number };

/** What --remove does for a step that was taken (the record holds these, in the order taken). */
export type Undo =
  | { kind: 'delete_tunnel'; name: string }
  | { kind: 'link_down'; ifname: string }
  | { kind: 'delete_address'; ifname: string; address: string; prefixLen: number }
  | { kind: 'restore_sysctl'; key: string; value: number; set: number };

/** Something the config needs that tandem cannot make (a missing interface, a missing module). */
export interface Blocker { what: string; why: string }

export interface Plan { steps: Step[]; blockers: Blocker[] }

/** The sysctls a mode needs: key `dev/name` -> whether a value is fine, and the value to set. */
interface SysctlNeed { key: string; ok: (v: number) => boolean; to: number }

const ARP_IGNORE_OK = new Set([1, 2, 8]);

export function sysctlNeeds(config: RealServerConfig): SysctlNeed[] {
  const needs: SysctlNeed[] = [];
  // arp sysctls are IPv4's; an IPv6-only server needs none (see above).
  if (config.vips.some((v) => v.family === 4)) {
    for (const dev of ['all', config.interface]) {
      needs.push({ key: `${dev}/arp_ignore`, ok: (v) => ARP_IGNORE_OK.has(v), to: 1 });
      needs.push({ key: `${dev}/arp_announce`, ok: (v) => v === 2, to: 2 });
    }
  }
  const tunnel = config.tunnel;
  if (tunnel && config.vips.some((v) => v.family === 4)) {
    for (const dev of ['all', tunnel.name]) needs.push({ key: `${dev}/rp_filter`, ok: (v) => v !== 1, to: 2 });
  }
  return needs;
}

/** The device that holds the VIPs. */
export function vipDevice(config: RealServerConfig): string {
  return config.tunnel?.name ?? 'lo';
}

/**
 * The steps that make `state` ready for `config`, in order. A step that needs an earlier one done
 * first (the sysctls of a tunnel not yet created) is left for the next round: the adapter applies,
 * reads the state again and plans again until the plan is empty (planRounds bounds it).
 * An empty plan with no blockers: ready.
 */
export function planSetup(config: RealServerConfig, state: HostState): Plan {
  const steps: Step[] = [];
  const blockers: Blocker[] = [];
  const dev = vipDevice(config);
  if (!state.links[config.interface]) blockers.push({ what: `interface ${config.interface}`, why: 'no such interface' });
  const link = state.links[dev];
  const tunnel = config.tunnel;
  let devReady = link !== undefined;
  if (tunnel) {
    const t = tunnelSteps(tunnel, link, blockers);
    steps.push(...t);
    devReady = link !== undefined && t.length === 0 && !blockers.some((b) => b.what === `tunnel ${tunnel.name}`);
  } else if (!link) {
    blockers.push({ what: 'lo', why: 'no loopback interface' });
  }
  if (link && !link.up && blockers.length === 0) steps.push({ kind: 'link_up', ifname: dev });
  if (devReady) {
    const have = new Set(state.addresses[dev] ?? []);
    for (const v of config.vips) {
      if (!have.has(`${v.address}/${v.prefixLen}`)) steps.push({ kind: 'add_address', ifname: dev, address: v.address, prefixLen: v.prefixLen });
    }
  }
  for (const need of sysctlNeeds(config)) {
    const [d] = need.key.split('/');
    const v = state.sysctls[need.key];
    if (v === undefined) {
      // A tunnel about to be created has no conf directory yet: the next round sets it.
      if (d === tunnel?.name && !devReady) continue;
      if (d === config.interface && !state.links[config.interface]) continue;
      blockers.push({ what: `net.ipv4.conf.${need.key.replace('/', '.')}`, why: 'not readable' });
    } else if (!need.ok(v)) {
      steps.push({ kind: 'set_sysctl', key: need.key, from: v, to: need.to });
    }
  }
  return { steps, blockers };
}

function tunnelSteps(tunnel: RealServerTunnel, link: LinkState | undefined, blockers: Blocker[]): Step[] {
  if (link) {
    if (link.kind !== tunnel.kind) blockers.push({ what: `tunnel ${tunnel.name}`, why: `exists but is ${link.kind ? `an ${link.kind}` : 'not a tunnel'} device, not ${tunnel.kind}` });
    return [];
  }
  if (tunnel.fallback) {
    // The fallback device comes with the module, in every namespace (ipip_init_net,
    // ip6_tnl_init_net); tandem loads no module.
    blockers.push({ what: `tunnel ${tunnel.name}`, why: `missing: load the ${tunnel.kind === 'ipip' ? 'ipip' : 'ip6_tunnel'} kernel module (modprobe ${tunnel.kind === 'ipip' ? 'ipip' : 'ip6_tunnel'})` });
    return [];
  }
  return [{ kind: 'create_tunnel', name: tunnel.name, type: tunnel.kind, local: tunnel.local! }];
}

/** The undo of a step taken. `link_up` of a tunnel tandem created needs none: deleting it does. */
export function undoOf(step: Step): Undo {
  switch (step.kind) {
    case 'create_tunnel': return { kind: 'delete_tunnel', name: step.name };
    case 'link_up': return { kind: 'link_down', ifname: step.ifname };
    case 'add_address': return { kind: 'delete_address', ifname: step.ifname, address: step.address, prefixLen: step.prefixLen };
    case 'set_sysctl': return { kind: 'restore_sysctl', key: step.key, value: step.from, set: step.to };
  }
}

function undoKey(u: Undo): string {
  switch (u.kind) {
    case 'delete_tunnel': return `tunnel ${u.name}`;
    case 'link_down': return `link ${u.ifname}`;
    case 'delete_address': return `addr ${u.ifname} ${u.address}/${u.prefixLen}`;
    case 'restore_sysctl': return `sysctl ${u.key}`;
  }
}

/**
 * The record after more steps were taken: an undo already recorded keeps its first entry (a
 * sysctl keeps the value it had before tandem first changed it, not tandem's own value).
 */
export function recordSteps(record: readonly Undo[], taken: readonly Step[]): Undo[] {
  return recordUndos(record, taken.map(undoOf));
}

/**
 * Undos for what the kernel did by itself when a step ran: setting lo up adds 127.0.0.1/8 and ::1
 * (net/ipv4/devinet.c inetdev_event() NETDEV_UP, net/ipv6/addrconf.c init_loopback()), which
 * setting it down again leaves (IPv4): --remove deletes the addresses that appeared, so the host
 * ends as it was. `before` and `after` are the link's addresses around the step.
 */
export function sideEffectUndos(step: Step, before: readonly string[], after: readonly string[]): Undo[] {
  if (step.kind !== 'link_up') return [];
  const had = new Set(before);
  return after.filter((a) => !had.has(a)).map((a) => {
    const [address, len] = a.split('/');
    return { kind: 'delete_address', ifname: step.ifname, address: address!, prefixLen: Number(len) };
  });
}

/** Undos added to the record as they come (the first entry of each kept, as recordSteps). */
export function recordUndos(record: readonly Undo[], more: readonly Undo[]): Undo[] {
  const out = [...record];
  const have = new Set(out.map(undoKey));
  for (const u of more) if (!have.has(undoKey(u))) { have.add(undoKey(u)); out.push(u); }
  return out;
}

export type RemoveStep =
  | { kind: 'delete_tunnel'; name: string }
  | { kind: 'link_down'; ifname: string }
  | { kind: 'delete_address'; ifname: string; address: string; prefixLen: number }
  | { kind: 'set_sysctl'; key: string; from: number; to: number };

export interface RemovePlan { steps: RemoveStep[]; /** Undos not done, and why (someone changed it since). */ left: Array<{ undo: Undo; why: string }> }

/**
 * What --remove does: the record's undos, newest first, each only while the host still shows what
 * tandem did (a sysctl someone set to another value since is theirs now, and is left).
 */
export function planRemove(record: readonly Undo[], state: HostState): RemovePlan {
  const steps: RemoveStep[] = [];
  const left: RemovePlan['left'] = [];
  const deleted = new Set<string>();
  for (const u of [...record].reverse()) {
    switch (u.kind) {
      case 'delete_tunnel':
        if (state.links[u.name]) { steps.push(u); deleted.add(u.name); } else left.push({ undo: u, why: 'already gone' });
        break;
      case 'link_down': {
        const l = state.links[u.ifname];
        if (!l) left.push({ undo: u, why: 'the interface is gone' });
        else if (!l.up) left.push({ undo: u, why: 'already down' });
        else steps.push(u);
        break;
      }
      case 'delete_address':
        // A tunnel deleted takes its addresses with it (and is deleted after them: newest first).
        if ((state.addresses[u.ifname] ?? []).includes(`${u.address}/${u.prefixLen}`)) steps.push(u);
        else left.push({ undo: u, why: 'already gone' });
        break;
      case 'restore_sysctl': {
        const v = state.sysctls[u.key];
        if (v === undefined) left.push({ undo: u, why: 'gone (its interface was removed)' });
        else if (v !== u.set) left.push({ undo: u, why: `now ${v}, not the ${u.set} tandem set: changed since, left as is` });
        else steps.push({ kind: 'set_sysctl', key: u.key, from: v, to: u.value });
        break;
      }
    }
  }
  // What is on a tunnel that is deleted (its addresses, its up flag, its sysctls) goes with it.
  const onDeleted = (s: RemoveStep): boolean => s.kind !== 'delete_tunnel' &&
    deleted.has(s.kind === 'set_sysctl' ? s.key.split('/')[0]! : s.kind === 'link_down' || s.kind === 'delete_address' ? s.ifname : '');
  return { steps: steps.filter((s) => !onDeleted(s)), left };
}

/** One line per step, for the CLI and --check. */
export function describeStep(s: Step | RemoveStep): string {
  switch (s.kind) {
    case 'create_tunnel': return `create ${s.type} device ${s.name} (local ${s.local})`;
    case 'link_up': return `set ${s.ifname} up`;
    case 'link_down': return `set ${s.ifname} down`;
    case 'delete_tunnel': return `delete device ${s.name}`;
    case 'add_address': return `add ${s.address}/${s.prefixLen} on ${s.ifname}`;
    case 'delete_address': return `delete ${s.address}/${s.prefixLen} from ${s.ifname}`;
    case 'set_sysctl': return `net.ipv4.conf.${s.key.replace('/', '.')}: ${s.from} -> ${s.to}`;
  }
}

export function describeUndo(u: Undo): string {
  switch (u.kind) {
    case 'delete_tunnel': return `delete device ${u.name}`;
    case 'link_down': return `set ${u.ifname} down`;
    case 'delete_address': return `delete ${u.address}/${u.prefixLen} from ${u.ifname}`;
    case 'restore_sysctl': return `net.ipv4.conf.${u.key.replace('/', '.')} back to ${u.value}`;
  }
}

/** Rounds of plan/apply/read before giving up (create, then its sysctls, then nothing: 3). */
export const MAX_ROUNDS = 4;
