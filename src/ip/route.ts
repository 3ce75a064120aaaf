// The value types of routes and policy rules (rtnetlink's vocabulary, linux/rtnetlink.h and
// linux/fib_rules.h): what config/routes.ts builds from keepalived's virtual_routes /
// virtual_rules / static_routes / static_rules text and net/routes.ts puts in the kernel. Types
// and constants only, here because config/ and net/ may both import ip/ and not each other.

/** RTPROT_KEEPALIVED (linux/rtnetlink.h): the protocol keepalived gives every route and rule it
 *  tracks (vrrp_iproute.c / vrrp_iprule.c alloc_route() / alloc_rule()), so that
 *  `ip route show proto keepalived` lists them and a deletion event is known to be ours. */
export const RTPROT_KEEPALIVED = 18;

export type RouteType = 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw';

export interface NextHop {
  /** Gateway (RTA_GATEWAY in the rtnexthop). */
  via?: string;
  dev?: string;
  /** 1..256 (rtnh_hops = weight - 1). */
  weight?: number;
  onlink?: boolean;
}

export interface RouteSpec {
  family: 4 | 6;
  /** Destination network address (0.0.0.0 / :: with dstLen 0 for `default`). */
  dst: string;
  dstLen: number;
  /** RTA_PREFSRC (keepalived's `src`). */
  src?: string;
  /** RTA_SRC with rtm_src_len (keepalived's `from`, IPv6 only). */
  from?: string;
  fromLen?: number;
  /** RTA_GATEWAY (keepalived's `via` / `gw`). */
  via?: string;
  /** RTA_OIF by name (keepalived's `dev` / `oif`). */
  dev?: string;
  /** RT_TABLE_* number (rtm_table when < 256, else RT_TABLE_UNSPEC and RTA_TABLE); main = 254. */
  table: number;
  /** RTA_PRIORITY (keepalived's `metric` / `priority` / `preference`). */
  metric?: number;
  /** rtm_protocol; RTPROT_KEEPALIVED for tracked routes. */
  protocol: number;
  /** rtm_scope (RT_SCOPE_UNIVERSE 0 unless set: keepalived's default, alloc_route()). */
  scope: number;
  type: RouteType;
  /** RTNH_F_ONLINK in rtm_flags. */
  onlink?: boolean;
  /** rtm_tos (IPv4). */
  tos?: number;
  /** RTA_METRICS: RTAX_MTU, RTAX_ADVMSS, RTAX_HOPLIMIT, RTAX_INITCWND, RTAX_INITRWND. */
  mtu?: number;
  advmss?: number;
  hoplimit?: number;
  initcwnd?: number;
  initrwnd?: number;
  /** RTA_MULTIPATH (keepalived's `nexthop ...`): replaces via/dev when present. */
  nexthops?: NextHop[];
}

export type RuleAction = 'table' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';

export interface RuleSpec {
  family: 4 | 6;
  /** FRA_SRC / src_len; absent: from all. */
  from?: string;
  fromLen?: number;
  /** FRA_DST / dst_len. */
  to?: string;
  toLen?: number;
  /** FIB_RULE_INVERT (keepalived's `not`). */
  invert?: boolean;
  /** FRA_PRIORITY; keepalived gives a rule without one 16384, 16383, ... per family. */
  priority: number;
  action: RuleAction;
  /** For action 'table' (frh.table when < 256, else FRA_TABLE). */
  table?: number;
  /** For action 'goto': FRA_GOTO. */
  gotoPriority?: number;
  /** frh.tos. */
  tos?: number;
  /** FRA_FWMARK and FRA_FWMASK. */
  fwmark?: number;
  fwmask?: number;
  /** FRA_IFNAME (keepalived's `iif` / `dev`) and FRA_OIFNAME. */
  iif?: string;
  oif?: string;
  /** FRA_SUPPRESS_PREFIXLEN, FRA_SUPPRESS_IFGROUP. */
  suppressPrefixLen?: number;
  suppressIfgroup?: number;
  /** FRA_PROTOCOL; RTPROT_KEEPALIVED for tracked rules. */
  protocol?: number;
  /** FRA_IP_PROTO, FRA_SPORT_RANGE, FRA_DPORT_RANGE, FRA_UID_RANGE. */
  ipProto?: number;
  sport?: [number, number];
  dport?: [number, number];
  uidRange?: [number, number];
  /** FRA_L3MDEV. */
  l3mdev?: boolean;
  /** FRA_FLOW. */
  realms?: number;
}

/** A route as the kernel reports it (a dump entry or an event). */
export interface RouteInfo {
  family: 4 | 6;
  dst: string;
  dstLen: number;
  table: number;
  protocol: number;
  scope: number;
  type: RouteType | 'other';
  tos: number;
  metric?: number;
  via?: string;
  dev?: string;
  src?: string;
}

/** A rule as the kernel reports it. */
export interface RuleInfo {
  family: 4 | 6;
  priority: number;
  action: RuleAction | 'other';
  table?: number;
  from?: string;
  fromLen: number;
  to?: string;
  toLen: number;
  fwmark?: number;
  iif?: string;
  oif?: string;
  protocol?: number;
}

// ---- log text -------------------------------------------------------------------------------

const MAIN_TABLE = 254;
// /etc/iproute2/rt_protos and rt_scopes names for the common numbers.
const PROTOCOL_NAMES: Record<number, string> = { 2: 'kernel', 3: 'boot', 4: 'static', [RTPROT_KEEPALIVED]: 'keepalived' };
const SCOPE_NAMES: Record<number, string> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };

function prefixText(family: 4 | 6, address: string, len: number | undefined): string {
  const full = family === 4 ? 32 : 128;
  return len === undefined || len === full ? address : `${address}/${len}`;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * One line for the logs, in `ip route` order: "198.51.100.0/24 via 203.0.113.1 dev eth0 table
 * 100 metric 10", "blackhole 198.51.100.0/24 table 100", "default via 192.0.2.1 dev eth0",
 * "2001:db8:1::/64 from 2001:db8:2::/64 dev eth1 ...", "... nexthop via A dev X weight 2 nexthop
 * via B dev Y". The table is left out for main (254), the protocol for keepalived's (18), the
 * scope for global.
 */
export function routeText(spec: RouteSpec): string {
  const parts: string[] = [];
  if (spec.type !== 'unicast') parts.push(spec.type);
  parts.push(spec.dstLen === 0 ? 'default' : `${spec.dst}/${spec.dstLen}`);
  if (spec.from !== undefined) parts.push('from', prefixText(spec.family, spec.from, spec.fromLen));
  if (spec.tos) parts.push('tos', hex(spec.tos));
  if (!spec.nexthops?.length) {
    if (spec.via !== undefined) parts.push('via', spec.via);
    if (spec.dev !== undefined) parts.push('dev', spec.dev);
  }
  if (spec.src !== undefined) parts.push('src', spec.src);
  if (spec.table !== MAIN_TABLE) parts.push('table', String(spec.table));
  if (spec.protocol !== RTPROT_KEEPALIVED) parts.push('proto', PROTOCOL_NAMES[spec.protocol] ?? String(spec.protocol));
  if (spec.scope !== 0) parts.push('scope', SCOPE_NAMES[spec.scope] ?? String(spec.scope));
  if (spec.metric !== undefined) parts.push('metric', String(spec.metric));
  if (spec.onlink) parts.push('onlink');
  for (const key of ['mtu', 'advmss', 'hoplimit', 'initcwnd', 'initrwnd'] as const) {
    const v = spec[key];
    if (v !== undefined) parts.push(key, String(v));
  }
  for (const nh of spec.nexthops ?? []) {
    parts.push('nexthop');
    if (nh.via !== undefined) parts.push('via', nh.via);
    if (nh.dev !== undefined) parts.push('dev', nh.dev);
    if (nh.weight !== undefined) parts.push('weight', String(nh.weight));
    if (nh.onlink) parts.push('onlink');
  }
  return parts.join(' ');
}

/**
 * One line for the logs, in `ip rule` order (keepalived's format_iprule() fields): "from
 * 192.0.2.10 lookup 100 priority 100", "not from all fwmark 0x1/0xff iif eth0 goto 200
 * priority 50", "inet6 from all lookup 100 priority 10" (an IPv6 rule without addresses says
 * so). The protocol is left out when it is keepalived's (18).
 */
export function ruleText(spec: RuleSpec): string {
  const parts: string[] = [];
  if (spec.family === 6 && spec.from === undefined && spec.to === undefined) parts.push('inet6');
  if (spec.invert) parts.push('not');
  parts.push('from', spec.from === undefined ? 'all' : prefixText(spec.family, spec.from, spec.fromLen));
  if (spec.to !== undefined) parts.push('to', prefixText(spec.family, spec.to, spec.toLen));
  if (spec.tos) parts.push('tos', hex(spec.tos));
  if (spec.fwmark !== undefined || spec.fwmask !== undefined) {
    const mark = hex(spec.fwmark ?? 0);
    parts.push('fwmark', spec.fwmask !== undefined && spec.fwmask !== 0xffffffff ? `${mark}/${hex(spec.fwmask)}` : mark);
  }
  if (spec.iif !== undefined) parts.push('iif', spec.iif);
  if (spec.oif !== undefined) parts.push('oif', spec.oif);
  if (spec.ipProto !== undefined) parts.push('ipproto', String(spec.ipProto));
  if (spec.sport) parts.push('sport', `${spec.sport[0]}-${spec.sport[1]}`);
  if (spec.dport) parts.push('dport', `${spec.dport[0]}-${spec.dport[1]}`);
  if (spec.uidRange) parts.push('uidrange', `${spec.uidRange[0]}-${spec.uidRange[1]}`);
  if (spec.l3mdev) parts.push('l3mdev');
  switch (spec.action) {
    case 'table': if (spec.table !== undefined) parts.push('lookup', String(spec.table)); break;
    case 'goto': parts.push('goto', String(spec.gotoPriority)); break;
    default: parts.push(spec.action);
  }
  if (spec.suppressPrefixLen !== undefined) parts.push('suppress_prefixlength', String(spec.suppressPrefixLen));
  if (spec.suppressIfgroup !== undefined) parts.push('suppress_ifgroup', String(spec.suppressIfgroup));
  if (spec.realms !== undefined) parts.push('realms', `${spec.realms >>> 16}/${spec.realms & 0xffff}`);
  parts.push('priority', String(spec.priority));
  if (spec.protocol !== undefined && spec.protocol !== RTPROT_KEEPALIVED) parts.push('protocol', PROTOCOL_NAMES[spec.protocol] ?? String(spec.protocol));
  return parts.join(' ');
}

/** Whether a route the kernel reports is this one: the kernel's key (table, destination, tos,
 *  priority) and the type. An IPv6 route without a metric has 1024 (ip6_route_add()'s default). */
export function routeIs(s: RouteSpec, k: RouteInfo): boolean {
  return s.family === k.family && s.table === k.table && s.dst === k.dst && s.dstLen === k.dstLen && (s.tos ?? 0) === k.tos &&
    (s.metric ?? (s.family === 6 ? 1024 : 0)) === (k.metric ?? 0) && s.type === k.type;
}

/** Whether a rule the kernel reports is this one: what a rule dump shows of it. */
export function ruleIs(s: RuleSpec, k: RuleInfo): boolean {
  return s.family === k.family && s.priority === k.priority && s.action === k.action &&
    (s.action !== 'table' || (s.table ?? 254) === k.table) &&
    s.from === k.from && (s.from === undefined || s.fromLen === k.fromLen) &&
    s.to === k.to && (s.to === undefined || s.toLen === k.toLen) &&
    s.fwmark === k.fwmark && s.iif === k.iif && s.oif === k.oif;
}
