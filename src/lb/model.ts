// The load-balancing table as tandem sees it, independent of the backend (IPVS via ipvsadm or
// netlink, nftables): virtual services and the real servers ("destinations" in IPVS) behind
// them. Pure: no node: imports. Both the desired table (lb/desired.ts) and the table read back
// from the kernel (lb/ipvs/parse.ts) use these types, so lb/reconcile.ts can compare them field
// by field.
import { formatIp, parseIp, type Family } from '../vrrp/ip.js';

export type { Family };
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
/** NAT = masquerading (-m), DR = direct routing / gatewaying (-g), TUN = IP tunnelling (-i). */
export type Forwarding = 'NAT' | 'DR' | 'TUN';

/** Every IPVS scheduler Linux has (net/netfilter/ipvs/ip_vs_*.c). `twos` needs Linux 6.2+;
 *  Debian 12's 6.1 kernel lacks it (CONFIG_IP_VS_TWOS is not set). */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'mh', 'sed', 'nq', 'fo', 'ovf', 'twos'] as const;
export type Scheduler = (typeof SCHEDULERS)[number];

/** What identifies a virtual service in the kernel: (family, protocol, address, port) or
 *  (family, fwmark). */
export type ServiceAddress =
  | { kind: 'inet'; family: Family; protocol: Protocol; address: string; port: number }
  | { kind: 'fwmark'; family: Family; fwmark: number };

export interface Persistence {
  /** ipvsadm -p: 1..2678400 seconds. */
  timeoutS: number;
  /** ipvsadm -M as a prefix length (/32 or /128 = per client address, the kernel's default). */
  netmaskPrefix: number;
}

export interface VirtualService {
  id: ServiceAddress;
  /** A string, not Scheduler: a foreign service may use a scheduler tandem does not know. */
  scheduler: string;
  persistence: Persistence | null;
  /** Persistence engine (ipvsadm --pe), e.g. `sip`. */
  pe: string | null;
  /** One-packet scheduling (ipvsadm -o), UDP only. */
  ops: boolean;
  /** Scheduler flags (ipvsadm -b), sorted: sh-fallback, sh-port, mh-fallback, mh-port, flag-N. */
  schedFlags: readonly string[];
  /** tandem-only, nft backend only (`nft_masquerade`): also SNAT (masquerade) the client's
   *  connections to the real servers, like LVS FULLNAT. Absent = false. */
  masquerade?: boolean;
}

export type TunnelCsum = 'nocsum' | 'csum' | 'remcsum';
/** Tunnel encapsulation of a TUN real server (ipvsadm --tun-type, Linux 5.3+). */
export type Tunnel =
  | { type: 'ipip' }
  | { type: 'gue'; port: number; csum: TunnelCsum }
  | { type: 'gre'; csum: TunnelCsum };

export interface RealServer {
  family: Family;
  address: string;
  /** 0 for a real server of a fwmark service given without a port. */
  port: number;
  forwarding: Forwarding;
  /** 0..65535 here; 0 = in the table but given no new connections (inhibit_on_failure). */
  weight: number;
  /** TUN only; null for NAT and DR. */
  tunnel: Tunnel | null;
}

export interface ServiceEntry {
  service: VirtualService;
  /** Keyed by destKey(). */
  dests: ReadonlyMap<string, RealServer>;
}

/** Keyed by serviceKey(). */
export type LbTable = ReadonlyMap<string, ServiceEntry>;

/** The service's name as `ipvsadm -Ln` prints it: `TCP 192.0.2.10:80`, `UDP [2001:db8::1]:53`,
 *  `FWM 1`, `FWM 1 IPv6`. Used as the map key, in logs, in plans and in the API. */
export function serviceKey(id: ServiceAddress): string {
  if (id.kind === 'fwmark') return id.family === 6 ? `FWM ${id.fwmark} IPv6` : `FWM ${id.fwmark}`;
  return `${id.protocol} ${hostPort(id.address, id.port)}`;
}

/** `198.51.100.11:80`, `[2001:db8::11]:80`. */
export function destKey(d: { address: string; port: number }): string {
  return hostPort(d.address, d.port);
}

export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Canonical text of an address (IPv6 per RFC 5952), or undefined when it is not one. The
 *  config (node's inet_ntop) and ipvsadm (glibc's inet_ntop) print the same canonical form,
 *  so canonical text compares equal exactly when the addresses are equal. */
export function canonicalAddress(s: string): { address: string; family: Family } | undefined {
  const p = parseIp(s);
  return p ? { address: formatIp(p.bytes), family: p.family } : undefined;
}

/** Prefix length of a contiguous dotted IPv4 netmask (`255.255.255.0` -> 24), else undefined. */
export function netmaskToPrefix(mask: string): number | undefined {
  const p = parseIp(mask);
  if (!p || p.family !== 4) return undefined;
  const n = ((p.bytes[0]! << 24) | (p.bytes[1]! << 16) | (p.bytes[2]! << 8) | p.bytes[3]!) >>> 0;
  const prefix = 32 - Math.log2((~n >>> 0) + 1);
  return Number.isInteger(prefix) ? prefix : undefined;
}

export function prefixToNetmask(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

export function sameService(a: VirtualService, b: VirtualService): boolean {
  return a.scheduler === b.scheduler &&
    (a.persistence === null ? b.persistence === null
      : b.persistence !== null && a.persistence.timeoutS === b.persistence.timeoutS &&
        a.persistence.netmaskPrefix === b.persistence.netmaskPrefix) &&
    a.pe === b.pe && a.ops === b.ops && (a.masquerade ?? false) === (b.masquerade ?? false) &&
    a.schedFlags.length === b.schedFlags.length && a.schedFlags.every((f, i) => f === b.schedFlags[i]);
}

export function sameDest(a: RealServer, b: RealServer): boolean {
  return a.forwarding === b.forwarding && a.weight === b.weight && sameTunnel(a.tunnel, b.tunnel);
}

function sameTunnel(a: Tunnel | null, b: Tunnel | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.type !== b.type) return false;
  if (a.type === 'gue' && b.type === 'gue') return a.port === b.port && a.csum === b.csum;
  if (a.type === 'gre' && b.type === 'gre') return a.csum === b.csum;
  return true;
}

/** Builds an LbTable from services and their real servers (later duplicates win). */
export function tableOf(entries: Iterable<{ service: VirtualService; dests: Iterable<RealServer> }>): LbTable {
  const out = new Map<string, ServiceEntry>();
  for (const e of entries) {
    const dests = new Map<string, RealServer>();
    for (const d of e.dests) dests.set(destKey(d), d);
    out.set(serviceKey(e.service.id), { service: e.service, dests });
  }
  return out;
}
