// One entry of `virtual_routes` / `static_routes` and of `virtual_rules` / `static_rules`:
// keepalived's text ("198.51.100.0/24 via 203.0.113.1 dev eth0 table 100 metric 10",
// "from 192.0.2.10 table 100") or a mapping with the same option names
// ({ to: 198.51.100.0/24, via: 203.0.113.1, dev: eth0, table: 100 }). A mapping is turned into
// the same words, so both forms go through one parser and one set of rules.
//
// The rules are keepalived's (2.2.x): keepalived/vrrp/vrrp_iproute.c alloc_route() and
// parse_nexthops(), keepalived/vrrp/vrrp_iprule.c alloc_rule(), and keepalived.conf(5)
// (virtual_routes, virtual_rules, static_routes, static_rules):
// - a route needs a destination ("Route must have a destination"); `to`, a type word (blackhole,
//   unreachable, prohibit, throw, unicast) and `default` / `any` / `all` may come before it;
// - IPv4 and IPv6 do not mix in one entry ("Cannot mix IPv4 and IPv6 addresses for route");
//   `from` is IPv6 only ("route from address only supported with IPv6");
// - a tracked route (no `no_track`) has protocol RTPROT_KEEPALIVED ("Route cannot be tracked if
//   protocol is not RTPROT_KEEPALIVED(18), resetting protocol"), and one without `dev` is not
//   tracked ("cannot track route %s with no interface specified, not tracking");
// - a rule needs an action (table / lookup, goto, nop, blackhole, unreachable, prohibit, l3mdev:
//   "No action specified for rule"), goto needs a lower preference ("goto target %u specified
//   without preference", "preference %u >= goto target %u"), suppress_* need a table action, a
//   tracked rule has FRA_PROTOCOL RTPROT_KEEPALIVED, and a rule without a preference gets 16384,
//   16383, ... per family in file order, with keepalived's warning.
// What keepalived parses and tandem does not install (encap, expires, rtt, realms, congctl, ...)
// is an error naming the option, never dropped silently.
import type { Node, Scalar } from 'yaml';
import { canonicalIp, parseIp } from '../ip/address.js';
import { RTPROT_KEEPALIVED, type NextHop, type RouteSpec, type RouteType, type RuleAction, type RuleSpec } from '../ip/route.js';
import { describe, report, subNode, warn, type Ctx, type Validator } from './fields.js';
import { SCOPES } from './vipOptions.js';
import { isMap, isScalar, isSeq } from './yaml.js';

/** A route of the config: what goes to the kernel, and whether its deletion is put right. */
export interface ConfigRoute {
  spec: RouteSpec;
  /** keepalived's no_track (or no `dev`): someone deleting it is not undone until the next
   *  install (a transition to MASTER, a reload). */
  noTrack: boolean;
}

export interface ConfigRule {
  spec: RuleSpec;
  noTrack: boolean;
}

/** keepalived's first automatic rule preference (vrrp_iprule.c RULE_START_PRIORITY). */
export const RULE_START_PRIORITY = 16384;

/** RTPROT_BOOT: what iproute2 and keepalived give a route or rule that names no protocol. */
const RTPROT_BOOT = 3;

// iproute2's rt_tables, rt_protos: the names keepalived's find_rttables_*() knows without files.
const TABLES: Readonly<Record<string, number>> = { default: 253, main: 254, local: 255 };
const PROTOCOLS: Readonly<Record<string, number>> = {
  redirect: 1, kernel: 2, boot: 3, static: 4, gated: 8, ra: 9, mrt: 10, zebra: 11, bird: 12, dnrouted: 13,
  xorp: 14, ntk: 15, dhcp: 16, keepalived: 18, babel: 42, bgp: 186, isis: 187, ospf: 188, rip: 189, eigrp: 192,
};
const ROUTE_TYPES: readonly RouteType[] = ['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw'];
/** Route types keepalived accepts (find_rttables_rtntype()) that tandem does not install. */
const OTHER_ROUTE_TYPES = new Set(['local', 'broadcast', 'anycast', 'multicast', 'nat', 'xresolve']);
/** keepalived's route options tandem does not install: an error, not a silent drop. */
const UNSUPPORTED_ROUTE = new Set(['as', 'encap', 'expires', 'rtt', 'rttvar', 'reordering', 'window', 'cwnd', 'ssthresh',
  'realms', 'rto_min', 'features', 'quickack', 'congctl', 'pref', 'ttl-propagate', 'fastopen_no_cookie', 'track_group', 'or']);
const UNSUPPORTED_RULE = new Set(['realms', 'tunnel-id', 'track_group']);
const IP_PROTOS: Readonly<Record<string, number>> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, sctp: 132 };

interface Tok { w: string; node: Node }

const ifnamePattern = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** A whole unsigned number, decimal or 0x hex (keepalived reads these with strtoul(.., 0)). */
function unsigned(w: string | undefined, max: number): number | undefined {
  if (w === undefined || !/^(0x[0-9a-f]+|\d+)$/i.test(w)) return undefined;
  const n = Number(w);
  return n <= max ? n : undefined;
}

/** The words of an entry: a text's words with their own positions, or a mapping's keys and values. */
function tokens(at: { node: Node | null | undefined; path: string }, ctx: Ctx, what: string, listKeys: Record<string, string>): Tok[] | undefined {
  const n = at.node;
  if (isScalar(n) && typeof n.value === 'string') {
    return [...n.value.matchAll(/\S+/g)].map((m) => ({ w: m[0], node: subNode(n as Scalar, m.index) }));
  }
  if (isMap(n)) {
    const out: Tok[] = [];
    const positional: { to?: Tok; type?: Tok } = {};
    for (const p of n.items) {
      if (!isScalar(p.key)) continue;
      const k = String(p.key.value);
      const v = p.value as Node | null;
      const keyNode = p.key as Node;
      if (isScalar(v) && typeof v.value === 'boolean') {
        if (v.value) out.push({ w: k, node: keyNode });
        continue;
      }
      if (listKeys[k] !== undefined && isSeq(v)) {
        // nexthops: [{ via, dev, weight }, ...] -> nexthop via .. dev .. nexthop ..
        for (const item of v.items) {
          out.push({ w: listKeys[k]!, node: item as Node });
          const sub = tokens({ node: item as Node, path: at.path }, ctx, what, {});
          if (!sub) return undefined;
          out.push(...sub);
        }
        continue;
      }
      if (!isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number')) {
        report(ctx, v ?? keyNode, `${at.path}.${k}`, `expected a value for ${k}, got ${describe(v)}`);
        return undefined;
      }
      // A route's `to: X` and `type: T` are its positional words: the type, then the
      // destination (alloc_route() takes them wherever they stand among the options).
      if (what === 'route' && (k === 'to' || k === 'type')) { positional[k] = { w: String(v.value), node: v as Node }; continue; }
      out.push({ w: k, node: keyNode }, { w: String(v.value), node: v as Node });
    }
    // First: after a nexthop every word belongs to the nexthops (parse_nexthops()).
    return [...(positional.type ? [positional.type] : []), ...(positional.to ? [positional.to] : []), ...out];
  }
  report(ctx, n, at.path, `expected a ${what} as keepalived writes it (a string) or a mapping, got ${describe(n)}`);
  return undefined;
}

/** An address with optional /prefix, or default / any / all (keepalived parse_route()). */
function prefix(w: string): { address?: string; family?: 4 | 6; len: number } | 'bad' | 'hostbits' {
  if (w === 'default' || w === 'any' || w === 'all') return { len: 0 };
  const [a, l, ...rest] = w.split('/');
  const ip = a ? canonicalIp(a) : undefined;
  if (!ip || rest.length) return 'bad';
  const max = ip.family === 4 ? 32 : 128;
  const len = l === undefined ? max : /^\d{1,3}$/.test(l) ? Number(l) : NaN;
  if (!(len >= 0 && len <= max)) return 'bad';
  const bytes = parseIp(ip.address)!.bytes;
  for (let bit = len; bit < max; bit++) if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) return 'hostbits';
  return { address: ip.address, family: ip.family, len };
}

/** The value after the option word at `i` (reported when missing), and that value as an
 *  unsigned number up to `max`. */
function valueReaders(toks: Tok[], bad: (t: Tok, msg: string) => void) {
  const valueOf = (i: number): Tok | undefined => {
    const v = toks[i + 1];
    if (!v) bad(toks[i]!, `${toks[i]!.w} needs a value`);
    return v;
  };
  const num = (i: number, max: number, what: string): number | undefined => {
    const v = valueOf(i);
    if (!v) return undefined;
    const n = unsigned(v.w, max);
    if (n === undefined) bad(v, `${toks[i]!.w}: expected ${what} 0..${max}, got ${JSON.stringify(v.w)}`);
    return n;
  };
  return { valueOf, num };
}

const anyAddress = (f: 4 | 6) => (f === 4 ? '0.0.0.0' : '::');

/** The family one entry speaks, checked word by word ("Cannot mix IPv4 and IPv6"). */
class Family {
  value: 4 | 6 | undefined;
  constructor(private readonly bad: (t: Tok, msg: string) => void, private readonly what: string) {}
  set(f: 4 | 6 | undefined, t: Tok): boolean {
    if (f === undefined) return true;
    if (this.value !== undefined && this.value !== f) {
      this.bad(t, `${t.w} is IPv${f}, the rest of the ${this.what} IPv${this.value} (keepalived: "Cannot mix IPv4 and IPv6 addresses for ${this.what}")`);
      return false;
    }
    this.value = f;
    return true;
  }
}

function table(w: string | undefined): number | undefined {
  if (w === undefined) return undefined;
  if (Object.hasOwn(TABLES, w)) return TABLES[w];
  const n = unsigned(w, 0xffffffff);
  return n === undefined || n === 0 ? undefined : n;
}

function protocolNumber(w: string | undefined): number | undefined {
  if (w === undefined) return undefined;
  return Object.hasOwn(PROTOCOLS, w) ? PROTOCOLS[w] : unsigned(w, 255);
}

/** A virtual_routes / static_routes entry -> the route; every problem located. */
export const routeEntry: Validator<ConfigRoute> = (at, ctx) => {
  const toks = tokens(at, ctx, 'route', { nexthops: 'nexthop' });
  if (!toks) return undefined;
  if (toks.length === 0) { report(ctx, at.node, at.path, 'expected a route (e.g. "198.51.100.0/24 via 203.0.113.1 dev eth0")'); return undefined; }
  let ok = true;
  const bad = (t: Tok, msg: string) => { report(ctx, t.node, at.path, msg); ok = false; };
  const fam = new Family(bad, 'route');
  const r: Partial<RouteSpec> & { table: number; scope: number; type: RouteType } = { table: 254, scope: 0, type: 'unicast' };
  let dst: { address?: string; len: number } | undefined;
  let noTrack = false;
  let protocolTok: Tok | undefined;
  let protocol: number | undefined;
  const nexthops: NextHop[] = [];
  let gwTok: Tok | undefined;
  const { valueOf, num } = valueReaders(toks, bad);
  const address = (t: Tok | undefined, what: string): string | undefined => {
    if (!t) return undefined;
    const ip = canonicalIp(t.w);
    if (!ip) { bad(t, `${what}: expected an address without /prefix, got ${JSON.stringify(t.w)} (keepalived: "invalid route ${what} address")`); return undefined; }
    return fam.set(ip.family, t) ? ip.address : undefined;
  };
  let i = 0;
  for (; i < toks.length; i++) {
    const t = toks[i]!;
    const w = t.w;
    if (w === 'inet' || w === 'inet6') { fam.set(w === 'inet' ? 4 : 6, t); continue; }
    if (w === 'src') { r.src = address(valueOf(i), 'src'); i++; continue; }
    if (w === 'via' || w === 'gw') {
      if (w === 'gw') gwTok = t;
      let v = valueOf(i); i++;
      if (v && (v.w === 'inet' || v.w === 'inet6')) { fam.set(v.w === 'inet' ? 4 : 6, v); v = valueOf(i); i++; }
      r.via = address(v, 'via');
      continue;
    }
    if (w === 'from') {
      const v = valueOf(i); i++;
      if (!v) continue;
      const p = prefix(v.w);
      if (p === 'bad' || p === 'hostbits') { bad(v, `from: expected a network with /prefix, got ${JSON.stringify(v.w)}`); continue; }
      if (p.family !== 6) { bad(v, `from is for IPv6 routes only (keepalived vrrp_iproute.c alloc_route(): "route from address only supported with IPv6"); for IPv4 use src, or a rule`); continue; }
      fam.set(6, v); r.from = p.address; r.fromLen = p.len;
      continue;
    }
    if (w === 'tos' || w === 'dsfield') { r.tos = num(i, 255, 'a TOS value'); i++; continue; }
    if (w === 'table') {
      const v = valueOf(i); i++;
      const n = table(v?.w);
      if (v && n === undefined) bad(v, `table: expected a table number 1..4294967295 or main, local, default, got ${JSON.stringify(v.w)} (a name from /etc/iproute2/rt_tables: give its number)`);
      else if (n !== undefined) r.table = n;
      continue;
    }
    if (w === 'protocol' || w === 'proto') {
      const v = valueOf(i); i++;
      protocol = protocolNumber(v?.w); protocolTok = v;
      if (v && protocol === undefined) bad(v, `protocol: expected 0..255 or a name (boot, static, keepalived, bird, ...), got ${JSON.stringify(v.w)}`);
      continue;
    }
    if (w === 'scope') {
      const v = valueOf(i); i++;
      const n = v === undefined ? undefined : Object.hasOwn(SCOPES, v.w) ? SCOPES[v.w] : unsigned(v.w, 255);
      if (v && n === undefined) bad(v, `scope: expected global, site, link, host, nowhere or 0..255, got ${JSON.stringify(v.w)}`);
      else if (n !== undefined) r.scope = n;
      continue;
    }
    if (w === 'metric' || w === 'priority' || w === 'preference') { r.metric = num(i, 0xffffffff, 'a metric'); i++; continue; }
    if (w === 'dev' || w === 'oif') {
      const v = valueOf(i); i++;
      if (v && !ifnamePattern.test(v.w)) bad(v, `${w}: expected an interface name (1..15 characters), got ${JSON.stringify(v.w)}`);
      else if (v) r.dev = v.w;
      continue;
    }
    if (w === 'onlink') { r.onlink = true; continue; }
    if (w === 'mtu' || w === 'advmss' || w === 'initcwnd' || w === 'initrwnd' || w === 'hoplimit') {
      if (toks[i + 1]?.w === 'lock') { bad(toks[i + 1]!, `${w} lock is not supported by tandem (the metric without lock is)`); i++; }
      const n = num(i, w === 'hoplimit' ? 255 : 0xffffffff, `a ${w} value`); i++;
      if (n !== undefined) r[w] = n;
      continue;
    }
    if (w === 'no_track') { noTrack = true; continue; }
    if (w === 'nexthop') { i = nexthopList(toks, i, nexthops, bad, fam); break; }
    if (UNSUPPORTED_ROUTE.has(w)) { bad(t, `${w}: keepalived's route option is not supported by tandem (supported: src, via, from, dev, table, metric, protocol, scope, tos, onlink, mtu, advmss, hoplimit, initcwnd, initrwnd, nexthop, no_track and the types ${ROUTE_TYPES.join(', ')})`); break; }
    // The destination, with an optional `to` and type word before it (alloc_route()'s last case).
    let k = i;
    if (toks[k]!.w === 'to') k++;
    const typeWord = toks[k]?.w;
    if (typeWord !== undefined && (ROUTE_TYPES as readonly string[]).includes(typeWord)) { r.type = typeWord as RouteType; k++; }
    else if (typeWord !== undefined && OTHER_ROUTE_TYPES.has(typeWord)) { bad(toks[k]!, `route type ${typeWord} is not supported by tandem (supported: ${ROUTE_TYPES.join(', ')})`); break; }
    const d = toks[k];
    if (!d) { bad(toks[k - 1]!, `${toks[k - 1]!.w} needs a destination after it`); break; }
    const p = prefix(d.w);
    if (p === 'hostbits') { bad(d, `${d.w} has host bits set beyond its prefix (the kernel refuses it: "Invalid prefix for given prefix length"); write the network address`); }
    else if (p === 'bad') { bad(d, `unknown route keyword ${d.w} (keepalived: "unknown route keyword"): expected a destination (ADDRESS/PREFIX or default) or an option`); break; }
    else {
      if (dst) bad(d, `a second destination ${d.w}: a route has one`);
      dst = p;
      fam.set(p.family, d);
    }
    i = k;
  }
  if (!ok) return undefined;
  if (!dst) { report(ctx, at.node, at.path, 'a route needs a destination (keepalived: "Route must have a destination"), e.g. 198.51.100.0/24 or default'); return undefined; }
  if (gwTok) warn(ctx, gwTok.node, at.path, '"gw" is deprecated: write "via" (keepalived: "\\"gw\\" for routes is deprecated. Please use \\"via\\"")');
  const family = fam.value ?? 4;
  if (nexthops.length && (r.via || r.dev)) {
    report(ctx, at.node, at.path, 'a route with nexthop entries takes via and dev in each nexthop, not before them');
    return undefined;
  }
  if (!noTrack) {
    // vrrp_iproute.c alloc_route(): a tracked route is RTPROT_KEEPALIVED, and without an oif it
    // is not tracked (its deletion could not be told from its interface going away).
    if (protocol !== undefined && protocol !== RTPROT_KEEPALIVED) {
      warn(ctx, protocolTok?.node, at.path, `a tracked route has protocol keepalived (18), not ${protocol} (keepalived: "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"); add no_track to keep ${protocol}`);
    }
    protocol = RTPROT_KEEPALIVED;
    if (r.dev === undefined) {
      warn(ctx, at.node, at.path, 'a route without dev is not tracked (keepalived: "cannot track route ... with no interface specified, not tracking"): if someone deletes it, it comes back at the next transition to MASTER or reload only');
      noTrack = true;
    }
  }
  const spec: RouteSpec = {
    family, dst: dst.address ?? anyAddress(family), dstLen: dst.len, table: r.table, protocol: protocol ?? RTPROT_BOOT,
    scope: r.scope, type: r.type,
    ...(r.src !== undefined && { src: r.src }), ...(r.from !== undefined && { from: r.from, fromLen: r.fromLen }),
    ...(r.via !== undefined && { via: r.via }), ...(r.dev !== undefined && { dev: r.dev }),
    ...(r.metric !== undefined && { metric: r.metric }), ...(r.onlink && { onlink: true }), ...(r.tos !== undefined && { tos: r.tos }),
    ...(r.mtu !== undefined && { mtu: r.mtu }), ...(r.advmss !== undefined && { advmss: r.advmss }), ...(r.hoplimit !== undefined && { hoplimit: r.hoplimit }),
    ...(r.initcwnd !== undefined && { initcwnd: r.initcwnd }), ...(r.initrwnd !== undefined && { initrwnd: r.initrwnd }),
    ...(nexthops.length && { nexthops }),
  };
  return { spec, noTrack };
};

/** keepalived parse_nexthops(): `nexthop [via ADDR] [dev NAME] [weight 1..256] [onlink]`, repeated.
 *  Returns the index of the last word read. */
function nexthopList(toks: Tok[], start: number, out: NextHop[], bad: (t: Tok, m: string) => void, fam: Family): number {
  let i = start;
  let nh: NextHop | undefined;
  for (; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.w === 'nexthop') { nh = {}; out.push(nh); continue; }
    const v = toks[i + 1];
    if (t.w === 'onlink') { nh!.onlink = true; continue; }
    if (!v) { bad(t, `${t.w} needs a value`); return i; }
    if (t.w === 'via') {
      let a = v;
      if (a.w === 'inet' || a.w === 'inet6') { fam.set(a.w === 'inet' ? 4 : 6, a); a = toks[++i + 1] ?? a; }
      const ip = canonicalIp(a.w);
      if (!ip) bad(a, `nexthop via: expected an address, got ${JSON.stringify(a.w)}`);
      else if (fam.set(ip.family, a)) nh!.via = ip.address;
    } else if (t.w === 'dev') {
      if (!ifnamePattern.test(v.w)) bad(v, `nexthop dev: expected an interface name, got ${JSON.stringify(v.w)}`);
      else nh!.dev = v.w;
    } else if (t.w === 'weight') {
      const n = unsigned(v.w, 256);
      if (n === undefined || n < 1) bad(v, `nexthop weight: expected 1..256, got ${JSON.stringify(v.w)} (keepalived: "Invalid weight")`);
      else nh!.weight = n;
    } else {
      bad(t, `nexthop: unknown option ${t.w} (tandem takes via, dev, weight, onlink)`);
      return i;
    }
    i++;
  }
  if (out.some((h) => h.via === undefined && h.dev === undefined)) bad(toks[start]!, 'each nexthop needs via or dev');
  return i;
}

const RULE_ACTION_WORDS: Readonly<Record<string, RuleAction>> = { nop: 'nop', blackhole: 'blackhole', unreachable: 'unreachable', prohibit: 'prohibit' };

function range(w: string | undefined, max: number): [number, number] | undefined {
  const m = w === undefined ? null : /^(\d+)(?:-(\d+))?$/.exec(w);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return lo <= hi && hi <= max ? [lo, hi] : undefined;
}

/** Per config load: the next automatic preference of each family (keepalived's counters). */
const nextPriority = new WeakMap<Ctx, { 4: number; 6: number }>();

/** A virtual_rules / static_rules entry -> the rule; every problem located. A rule without a
 *  preference gets keepalived's (alloc_rule(): 16384, 16383, ... per family, in the order the
 *  rules are read, "This is probably not what you want": the kernel orders rules of one
 *  preference by when they were added, and they are added at different transitions). */
export const ruleEntry: Validator<ConfigRule> = (at, ctx) => {
  const toks = tokens(at, ctx, 'rule', {});
  if (!toks) return undefined;
  if (toks.length === 0) { report(ctx, at.node, at.path, 'expected a rule (e.g. "from 192.0.2.10 table 100")'); return undefined; }
  let ok = true;
  const bad = (t: Tok, msg: string) => { report(ctx, t.node, at.path, msg); ok = false; };
  const fam = new Family(bad, 'rule');
  const r: Partial<RuleSpec> = {};
  let action: RuleAction | undefined;
  let actionTok: Tok | undefined;
  let tableOption: Tok | undefined;
  let noTrack = false;
  let protocolTok: Tok | undefined;
  const setAction = (a: RuleAction, t: Tok) => {
    if (action !== undefined) { bad(t, `${t.w}: a rule has one action; it has ${actionTok!.w} already (keepalived: "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule")`); return; }
    action = a; actionTok = t;
  };
  const { valueOf, num } = valueReaders(toks, bad);
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const w = t.w;
    if (w === 'inet' || w === 'inet6') { fam.set(w === 'inet' ? 4 : 6, t); continue; }
    if (w === 'from' || w === 'to') {
      const v = valueOf(i); i++;
      if (!v) continue;
      const p = prefix(v.w);
      if (p === 'bad') { bad(v, `${w}: expected an address with optional /prefix or all, got ${JSON.stringify(v.w)} (keepalived: "Invalid rule ${w} address")`); continue; }
      if (p === 'hostbits') { bad(v, `${w}: ${v.w} has host bits set beyond its prefix: write the network address`); continue; }
      if (!fam.set(p.family, v)) continue;
      if (p.address !== undefined) {
        if (w === 'from') { r.from = p.address; r.fromLen = p.len; } else { r.to = p.address; r.toLen = p.len; }
      }
      continue;
    }
    if (w === 'table' || w === 'lookup') {
      const v = valueOf(i); i++;
      const n = table(v?.w);
      if (v && n === undefined) bad(v, `${w}: expected a table number 1..4294967295 or main, local, default, got ${JSON.stringify(v.w)} (keepalived: "Table 0 is not valid"; a name from rt_tables: give its number)`);
      else if (n !== undefined) { r.table = n; setAction('table', t); }
      continue;
    }
    if (w === 'not') { r.invert = true; continue; }
    if (w === 'preference' || w === 'order' || w === 'priority' || w === 'pref') { r.priority = num(i, 0xffffffff, 'a preference'); i++; continue; }
    if (w === 'tos' || w === 'dsfield') { r.tos = num(i, 255, 'a TOS value'); i++; continue; }
    if (w === 'fwmark') {
      const v = valueOf(i); i++;
      if (!v) continue;
      const [mark, mask, ...rest] = v.w.split('/');
      const m = unsigned(mark, 0xffffffff);
      const k = mask === undefined ? undefined : unsigned(mask, 0xffffffff);
      if (m === undefined || rest.length || (mask !== undefined && k === undefined)) bad(v, `fwmark: expected MARK or MARK/MASK (numbers, 0x hex allowed), got ${JSON.stringify(v.w)} (keepalived: "Invalid rule fwmark")`);
      else { r.fwmark = m; if (k !== undefined) r.fwmask = k; }
      continue;
    }
    if (w === 'suppress_prefixlength' || w === 'sup_pl') { r.suppressPrefixLen = num(i, 0x7fffffff, 'a prefix length'); tableOption = t; i++; continue; }
    if (w === 'suppress_ifgroup' || w === 'sup_group') { r.suppressIfgroup = num(i, 0xffffffff, 'an interface group'); tableOption = t; i++; continue; }
    if (w === 'dev' || w === 'iif' || w === 'oif') {
      const v = valueOf(i); i++;
      if (v && !ifnamePattern.test(v.w)) bad(v, `${w}: expected an interface name (1..15 characters), got ${JSON.stringify(v.w)}`);
      else if (v && w === 'oif') r.oif = v.w;
      else if (v) r.iif = v.w;
      continue;
    }
    if (w === 'uidrange') {
      const v = valueOf(i); i++;
      const u = range(v?.w, 0xffffffff);
      if (v && (!u || !v.w.includes('-'))) bad(v, `uidrange: expected START-END, got ${JSON.stringify(v.w)} (keepalived: "Invalid uidrange")`);
      else if (u) r.uidRange = u;
      continue;
    }
    if (w === 'sport' || w === 'dport') {
      const v = valueOf(i); i++;
      const p = range(v?.w, 65535);
      if (v && !p) bad(v, `${w}: expected PORT or START-END (0..65535), got ${JSON.stringify(v.w)} (keepalived: "invalid ${w} range")`);
      else if (p) r[w] = p;
      continue;
    }
    if (w === 'ipproto') {
      const v = valueOf(i); i++;
      const n = v === undefined ? undefined : Object.hasOwn(IP_PROTOS, v.w) ? IP_PROTOS[v.w] : unsigned(v.w, 255);
      if (v && n === undefined) bad(v, `ipproto: expected a protocol name (tcp, udp, sctp, icmp, ...) or number, got ${JSON.stringify(v.w)} (keepalived: "Invalid ipproto")`);
      else if (n !== undefined) r.ipProto = n;
      continue;
    }
    if (w === 'protocol' || w === 'proto') {
      const v = valueOf(i); i++;
      const n = protocolNumber(v?.w);
      protocolTok = v;
      if (v && n === undefined) bad(v, `protocol: expected 0..255 or a name, got ${JSON.stringify(v.w)} (keepalived: "Invalid protocol")`);
      else if (n !== undefined) r.protocol = n;
      continue;
    }
    if (w === 'l3mdev') { r.l3mdev = true; setAction('table', t); continue; }
    if (w === 'no_track') { noTrack = true; continue; }
    if (UNSUPPORTED_RULE.has(w)) { bad(t, `${w}: keepalived's rule option is not supported by tandem`); if (w !== 'track_group') i++; continue; }
    let a = t;
    if (w === 'type') { const v = valueOf(i); i++; if (!v) continue; a = v; }
    if (a.w === 'goto') {
      const v = valueOf(i); i++;
      const n = unsigned(v?.w, 0xffffffff);
      if (v && n === undefined) bad(v, `goto: expected a preference 0..4294967295, got ${JSON.stringify(v.w)} (keepalived: "Invalid target")`);
      else if (n !== undefined) { r.gotoPriority = n; setAction('goto', a); }
      continue;
    }
    if (Object.hasOwn(RULE_ACTION_WORDS, a.w)) { setAction(RULE_ACTION_WORDS[a.w]!, a); continue; }
    bad(a, `unknown rule option ${a.w} (keepalived: "Unknown rule option")`);
  }
  if (!ok) return undefined;
  const entry = at.node ?? undefined;
  if (action === undefined) { report(ctx, entry, at.path, 'a rule needs an action: table N (or lookup), goto N, nop, blackhole, unreachable, prohibit or l3mdev (keepalived: "No action specified for rule")'); return undefined; }
  if (action === 'goto') {
    if (r.priority === undefined) { report(ctx, actionTok!.node, at.path, `goto ${r.gotoPriority} needs a preference of its own below it (keepalived: "goto target %u specified without preference")`); return undefined; }
    if (r.priority >= r.gotoPriority!) { report(ctx, actionTok!.node, at.path, `preference ${r.priority} >= goto target ${r.gotoPriority}: a goto jumps forward (keepalived: "Invalid rule - preference %u >= goto target %u")`); return undefined; }
  }
  if (action !== 'table' && tableOption) { report(ctx, tableOption.node, at.path, `${tableOption.w} applies to a table action only (keepalived: "suppressor/realm specified for non table action")`); return undefined; }
  if (r.l3mdev && r.table !== undefined) { report(ctx, entry, at.path, 'table cannot be given with l3mdev (keepalived: "table cannot be specified for l3mdev rules")'); return undefined; }
  if (!noTrack) {
    if (r.protocol !== undefined && r.protocol !== RTPROT_KEEPALIVED) {
      warn(ctx, protocolTok?.node, at.path, `a tracked rule has protocol keepalived (18), not ${r.protocol} (keepalived: "Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"); add no_track to keep ${r.protocol}`);
    }
    r.protocol = RTPROT_KEEPALIVED;
  }
  const family = fam.value ?? 4;
  let priority = r.priority;
  if (priority === undefined) {
    let next = nextPriority.get(ctx);
    if (!next) nextPriority.set(ctx, next = { 4: RULE_START_PRIORITY, 6: RULE_START_PRIORITY });
    priority = next[family]--;
    warn(ctx, entry, at.path, `rule has no preference: given ${priority} (keepalived: "Rule has no preference specified - setting to ${priority}. This is probably not what you want.")`);
  }
  return { spec: { ...r, family, action, priority }, noTrack };
};

/** The kernel's identity of a route (fib: table, destination, tos, priority): two entries with
 *  one key are one route in the kernel, whatever else they say. */
export function routeKey(s: RouteSpec): string {
  return JSON.stringify([s.family, s.table, s.dst, s.dstLen, s.tos ?? 0, s.metric ?? null]);
}

/** The whole entry, whatever order its words came in: two rules with one key are one rule (a
 *  rule has no narrower kernel identity), two routes with one key the same route. */
export function specKey(s: RouteSpec | RuleSpec): string {
  return JSON.stringify(Object.entries(s).sort(([a], [b]) => a.localeCompare(b)));
}
