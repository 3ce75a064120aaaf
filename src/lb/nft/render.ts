// The nftables rendering of an LbTable (docs/nft-backend.md), pure: tandem's tables `ip tandem`
// and `ip6 tandem` as a model of named objects (maps with their elements, chains with their
// rules as nft prints them), the script that creates them from empty, and the script that turns
// one model into another touching only the objects that differ.
//
// Per family, a fixed skeleton:
//   map dispatch        VIP . l4proto . port : goto svc_<tag>      (inet services)
//   map dispatch_fwm    mark : goto svc_<tag>                      (fwmark services)
//   chain prerouting    nat/dstnat: meta mark vmap @dispatch_fwm; ip daddr . meta l4proto . th dport vmap @dispatch
//   chain output        the same for connections the director itself opens
//   map post_dispatch   VIP . l4proto : goto pv_<group>; map post_dispatch_fwm  mark : goto post_<tag>
//   chain postrouting   nat/srcnat: ct status dnat ... vmap @post_dispatch(_fwm)
// Per virtual service (tag = protocol, address, port, e.g. tcp_192_0_2_10_80, or fwm_7):
//   map rs_<tag>        real server addr . port : weight, comment = the service's settings. This
//                       is the service's record: readTable() recovers the LbTable from it.
//   chain svc_<tag>     [persistence lookup] ; dnat to <scheduler> map { ranges : server } ; reject
//   map persist_<tag>   client (masked) : server, dynamic with the persistence timeout
//   chain post_<tag>    [update @persist_<tag>] ; [masquerade]   (only with persistence/masquerade)
//   chain pv_<group>, map pvp_<group>: the VIP's ports (ct original proto-dst) -> post_<tag>;
//                       nft 1.0.6 cannot concatenate `ct original proto-dst`, hence two levels.
// IPVS's schedulers that nft can express honestly (NFT_SCHEDULERS) map as:
//   rr  numgen inc mod N over the servers with weight > 0 (IPVS rr ignores weights but 0)
//   wrr numgen inc mod sum(weights), each server a range as wide as its weight: the same share
//       per cycle as ip_vs_wrr.c (which interleaves the cycle instead of grouping it)
//   sh  jhash ip saddr mod sum(weights), weighted ranges: a client address always reaches the
//       same server while the set is unchanged (ip_vs_sh.c: a weighted bucket table of saddr)
//   dh  jhash ip daddr, the same for the destination address (ip_vs_dh.c)
// Weight 0 (inhibit_on_failure) = in rs_<tag>, not in the scheduling map: no new connections,
// while persistent clients already mapped to it keep it (IPVS, expire_quiescent_template=0).
import {
  destKey, NFT_SCHEDULERS, type RealServer, type ServiceAddress, serviceKey, type VirtualService,
} from '../../config/lbModel.js';
import type { Family } from '../../ip/address.js';
import type { LbTable, ServiceEntry } from '../model.js';

export const TABLE_NAME = 'tandem';
/** Clients remembered per persistent service (the dynamic map's bound). */
export const PERSIST_MAP_SIZE = 1_048_576;
const COMMENT_PREFIX = 'tandem;';

export interface MapDecl {
  /** Key types, e.g. ['ipv4_addr', 'inet_service']. */
  type: string[];
  /** Data type ('' for a set). */
  data: string;
  /** As `nft -j` reports them (it does not report `dynamic`). */
  flags: string[];
  timeoutS?: number;
  size?: number;
  comment?: string;
}

export interface NftMap {
  decl: MapDecl;
  /** key text -> value text, both as nft prints them; null = dynamic contents tandem does not manage. */
  elements: Map<string, string> | null;
}

export interface BaseChain { type: string; hook: string; prio: number; policy: string }

export interface NftChain {
  base: BaseChain | null;
  /** Each rule as nft prints it (parse.ts turns `nft -j` rules back into this text). */
  rules: string[];
}

export interface FamilyModel {
  family: Family;
  maps: Map<string, NftMap>;
  chains: Map<string, NftChain>;
}

/** Both tables; null = the table does not exist (a family with no service has none). */
export interface NftModel { 4: FamilyModel | null; 6: FamilyModel | null }

export class NftRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NftRenderError';
  }
}

const proto = (p: string) => p.toLowerCase();
const addrType = (f: Family) => (f === 6 ? 'ipv6_addr' : 'ipv4_addr');
const ipKw = (f: Family) => (f === 6 ? 'ip6' : 'ip');
const familyName = (f: Family) => (f === 6 ? 'ip6' : 'ip');

/** `tcp_192_0_2_10_80`, `udp_2001_db8__10_53`, `fwm_7`: the name part of a service's objects. */
export function serviceTag(id: ServiceAddress): string {
  if (id.kind === 'fwmark') return `fwm_${id.fwmark}`;
  return `${proto(id.protocol)}_${addrTag(id.address)}_${id.port}`;
}

function addrTag(address: string): string {
  return address.replace(/[.:]/g, '_');
}

/** The group of a service's post stage: protocol + VIP (`tcp_192_0_2_10`). */
function groupTag(id: ServiceAddress & { kind: 'inet' }): string {
  return `${proto(id.protocol)}_${addrTag(id.address)}`;
}

/** The comment on rs_<tag> that records the service's settings. */
export function serviceComment(s: VirtualService): string {
  const p = s.persistence ? `${s.persistence.timeoutS}/${s.persistence.netmaskPrefix}` : 'none';
  return `${COMMENT_PREFIX}service=${serviceKey(s.id)};scheduler=${s.scheduler};persistence=${p};masquerade=${s.masquerade ? 'yes' : 'no'}`;
}

/** The service recorded in an rs_<tag> comment, or undefined when it is not one tandem wrote. */
export function parseServiceComment(comment: string, family: Family): VirtualService | undefined {
  if (!comment.startsWith(COMMENT_PREFIX)) return undefined;
  const kv = new Map<string, string>();
  for (const part of comment.slice(COMMENT_PREFIX.length).split(';')) {
    const i = part.indexOf('=');
    if (i < 0) return undefined;
    kv.set(part.slice(0, i), part.slice(i + 1));
  }
  const id = parseServiceKey(kv.get('service') ?? '', family);
  const scheduler = kv.get('scheduler');
  const p = kv.get('persistence');
  const m = kv.get('masquerade');
  if (!id || !scheduler || !p || (m !== 'yes' && m !== 'no')) return undefined;
  let persistence: VirtualService['persistence'] = null;
  if (p !== 'none') {
    const pm = /^(\d+)\/(\d+)$/.exec(p);
    if (!pm) return undefined;
    persistence = { timeoutS: Number(pm[1]), netmaskPrefix: Number(pm[2]) };
  }
  return { id, scheduler, persistence, pe: null, ops: false, schedFlags: [], ...(m === 'yes' ? { masquerade: true } : {}) };
}

/** serviceKey() read back: `TCP 192.0.2.10:80`, `UDP [2001:db8::1]:53`, `FWM 1`, `FWM 1 IPv6`. */
export function parseServiceKey(key: string, family: Family): ServiceAddress | undefined {
  const fw = /^FWM (\d+)( IPv6)?$/.exec(key);
  if (fw) return (fw[2] ? 6 : 4) === family ? { kind: 'fwmark', family, fwmark: Number(fw[1]) } : undefined;
  const m = /^(TCP|UDP|SCTP) (?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d+)$/.exec(key);
  if (!m) return undefined;
  const address = m[2] ?? m[3]!;
  if ((m[2] ? 6 : 4) !== family) return undefined;
  return { kind: 'inet', family, protocol: m[1] as 'TCP' | 'UDP' | 'SCTP', address, port: Number(m[4]) };
}

/**
 * Why this backend cannot render a service, or null when it can. The config layer reports the
 * same limits as located errors (nftConfig.ts); this is the backstop for ops built elsewhere.
 */
export function unrenderableService(s: VirtualService): string | null {
  if (!(NFT_SCHEDULERS as readonly string[]).includes(s.scheduler)) {
    return `the nft backend cannot express scheduler ${s.scheduler} (it can: ${NFT_SCHEDULERS.join(', ')})`;
  }
  if (s.pe !== null) return `the nft backend has no persistence engine (${s.pe})`;
  if (s.ops) return 'the nft backend cannot do one-packet scheduling (ops): conntrack NAT schedules per flow';
  if (s.schedFlags.length > 0) return `the nft backend has no scheduler flags (${s.schedFlags.join(', ')})`;
  if (s.persistence) {
    const max = s.id.family === 6 ? 128 : 32;
    // nft 1.0.6 aborts (netlink_linearize.c assertion) on a masked IPv6 key: only /128 works.
    if (s.id.family === 6 && s.persistence.netmaskPrefix !== 128) return 'the nft backend cannot mask IPv6 persistence keys (nft 1.0.6): persistence_granularity must be 128';
    if (s.persistence.netmaskPrefix < 1 || s.persistence.netmaskPrefix > max) return `bad persistence prefix /${s.persistence.netmaskPrefix}`;
  }
  return null;
}

export function unrenderableDest(s: VirtualService, d: RealServer): string | null {
  if (d.forwarding !== 'NAT') return `the nft backend forwards by NAT (DNAT) only, not ${d.forwarding}`;
  if (d.family !== s.id.family) return `real server ${d.address} is not IPv${s.id.family} like ${serviceKey(s.id)}`;
  if (s.id.kind === 'fwmark' && d.port !== 0) return `a real server of a fwmark service keeps the packet's port with the nft backend: port must be 0, got ${d.port}`;
  if (s.id.kind === 'inet' && d.port === 0) return 'a real server of an address:port service needs a port';
  // nft 1.0.6 aborts on an IPv6 dynamic map with address . port data: the persistence map keeps
  // the address only, so the port must be the service's.
  if (s.id.kind === 'inet' && s.id.family === 6 && s.persistence && d.port !== s.id.port) {
    return `an IPv6 persistent service with the nft backend needs real server port ${s.id.port} (the virtual server's), got ${d.port}`;
  }
  return null;
}

function emptyFamily(family: Family): FamilyModel {
  const m: FamilyModel = { family, maps: new Map(), chains: new Map() };
  const at = addrType(family);
  const ip = ipKw(family);
  m.maps.set('dispatch', { decl: { type: [at, 'inet_proto', 'inet_service'], data: 'verdict', flags: [] }, elements: new Map() });
  m.maps.set('dispatch_fwm', { decl: { type: ['mark'], data: 'verdict', flags: [] }, elements: new Map() });
  m.maps.set('post_dispatch', { decl: { type: [at, 'inet_proto'], data: 'verdict', flags: [] }, elements: new Map() });
  m.maps.set('post_dispatch_fwm', { decl: { type: ['mark'], data: 'verdict', flags: [] }, elements: new Map() });
  // IPVS looks fwmark services up first (ip_vs_core.c ip_vs_service_find()).
  const dispatch = ['meta mark vmap @dispatch_fwm', `${ip} daddr . meta l4proto . th dport vmap @dispatch`];
  m.chains.set('prerouting', { base: { type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' }, rules: [...dispatch] });
  m.chains.set('output', { base: { type: 'nat', hook: 'output', prio: -100, policy: 'accept' }, rules: [...dispatch] });
  m.chains.set('postrouting', {
    base: { type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' },
    rules: ['ct status dnat meta mark vmap @post_dispatch_fwm', `ct status dnat ct original ${ip} daddr . meta l4proto vmap @post_dispatch`],
  });
  return m;
}

/** Real servers in a stable order (by destKey). */
function sortedDests(e: ServiceEntry): RealServer[] {
  return [...e.dests.values()].sort((a, b) => (destKey(a) < destKey(b) ? -1 : destKey(a) > destKey(b) ? 1 : 0));
}

function destValue(s: VirtualService, d: RealServer): string {
  return s.id.kind === 'fwmark' ? d.address : `${d.address} . ${d.port}`;
}

function maskText(family: Family, prefix: number): string {
  if (family === 4) return prefixMask4(prefix);
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, prefix - i * 16));
    groups.push(((0xffff << (16 - bits)) & 0xffff).toString(16));
  }
  return groups.join(':').replace(/(^|:)0(:0)+$/, '::');
}

function prefixMask4(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

/** The persistence key: `ip saddr` or `ip saddr & 255.255.255.0`. */
function persistKey(s: VirtualService): string {
  const f = s.id.family;
  const prefix = s.persistence!.netmaskPrefix;
  return prefix === (f === 6 ? 128 : 32) ? `${ipKw(f)} saddr` : `${ipKw(f)} saddr & ${maskText(f, prefix)}`;
}

/** What the persistence map stores: the server the connection was DNATed to. */
function persistData(s: VirtualService): { type: string; expr: string } {
  const f = s.id.family;
  if (s.id.kind === 'fwmark' || f === 6) return { type: addrType(f), expr: `${ipKw(f)} daddr` };
  return { type: `${addrType(f)} . inet_service`, expr: `${ipKw(f)} daddr . ${proto(s.id.protocol)} dport` };
}

function l4(s: VirtualService): string {
  return s.id.kind === 'inet' ? `meta l4proto ${proto(s.id.protocol)} ` : '';
}

/** The scheduling rule (or null when no server may take new connections). */
function schedulingRule(s: VirtualService, dests: RealServer[]): string | null {
  const f = s.id.family;
  const live = dests.filter((d) => d.weight > 0);
  if (live.length === 0) return null;
  const elems: string[] = [];
  let selector: string;
  let total = 0;
  if (s.scheduler === 'rr') {
    live.forEach((d, i) => elems.push(`${i} : ${destValue(s, d)}`));
    total = live.length;
    selector = `numgen inc mod ${total}`;
  } else {
    for (const d of live) {
      elems.push(`${d.weight === 1 ? total : `${total}-${total + d.weight - 1}`} : ${destValue(s, d)}`);
      total += d.weight;
    }
    selector = s.scheduler === 'wrr' ? `numgen inc mod ${total}`
      : `jhash ${ipKw(f)} ${s.scheduler === 'sh' ? 'saddr' : 'daddr'} mod ${total} seed 0x0`;
  }
  // The IPv6 persistence map keeps addresses only (see unrenderableDest): so does a v6 dnat to
  // an address . port map, unchanged.
  return `${l4(s)}dnat ${ipKw(f)} to ${selector} map { ${elems.join(', ')} }`;
}

/** Adds one service's objects to a family model. Throws NftRenderError when it cannot be rendered. */
function addService(m: FamilyModel, e: ServiceEntry): void {
  const s = e.service;
  const why = unrenderableService(s);
  if (why) throw new NftRenderError(`${serviceKey(s.id)}: ${why}`);
  const dests = sortedDests(e);
  for (const d of dests) {
    const w = unrenderableDest(s, d);
    if (w) throw new NftRenderError(`${serviceKey(s.id)} -> ${destKey(d)}: ${w}`);
  }
  const f = s.id.family;
  const tag = serviceTag(s.id);
  const rs = new Map<string, string>();
  for (const d of dests) rs.set(`${d.address} . ${d.port}`, String(d.weight));
  m.maps.set(`rs_${tag}`, { decl: { type: [addrType(f), 'inet_service'], data: 'mark', flags: [], comment: serviceComment(s) }, elements: rs });

  const rules: string[] = [];
  if (s.persistence) {
    const data = persistData(s);
    m.maps.set(`persist_${tag}`, {
      decl: { type: [addrType(f)], data: data.type, flags: ['timeout'], timeoutS: s.persistence.timeoutS, size: PERSIST_MAP_SIZE },
      elements: null,
    });
    rules.push(`${l4(s)}dnat ${ipKw(f)} to ${persistKey(s)} map @persist_${tag}`);
  }
  const sched = schedulingRule(s, dests);
  if (sched) rules.push(sched);
  // No server may take it: refuse the connection as IPVS does (ip_vs_leave(): ICMP port unreachable).
  rules.push('reject');
  m.chains.set(`svc_${tag}`, { base: null, rules });
  const verdict = `goto svc_${tag}`;
  if (s.id.kind === 'fwmark') m.maps.get('dispatch_fwm')!.elements!.set(String(s.id.fwmark), verdict);
  else m.maps.get('dispatch')!.elements!.set(`${s.id.address} . ${proto(s.id.protocol)} . ${s.id.port}`, verdict);

  if (!s.persistence && !s.masquerade) return;
  const post: string[] = [];
  if (s.persistence) post.push(`update @persist_${tag} { ${persistKey(s)} : ${persistData(s).expr} }`);
  if (s.masquerade) post.push('masquerade');
  m.chains.set(`post_${tag}`, { base: null, rules: post });
  if (s.id.kind === 'fwmark') {
    m.maps.get('post_dispatch_fwm')!.elements!.set(String(s.id.fwmark), `goto post_${tag}`);
    return;
  }
  const g = groupTag(s.id);
  if (!m.chains.has(`pv_${g}`)) {
    m.chains.set(`pv_${g}`, { base: null, rules: [`meta l4proto ${proto(s.id.protocol)} ct original proto-dst vmap @pvp_${g}`] });
    m.maps.set(`pvp_${g}`, { decl: { type: ['inet_service'], data: 'verdict', flags: [] }, elements: new Map() });
    m.maps.get('post_dispatch')!.elements!.set(`${s.id.address} . ${proto(s.id.protocol)}`, `goto pv_${g}`);
  }
  m.maps.get(`pvp_${g}`)!.elements!.set(String(s.id.port), `goto post_${tag}`);
}

/** The model of tandem's tables for `table`. Throws NftRenderError for what it cannot express. */
export function modelOf(table: LbTable): NftModel {
  const out: NftModel = { 4: null, 6: null };
  const keys = [...table.keys()].sort();
  for (const k of keys) {
    const e = table.get(k)!;
    const f = e.service.id.family;
    out[f] ??= emptyFamily(f);
    addService(out[f]!, e);
  }
  return out;
}

/**
 * modelOf(table), computed from `prev` = modelOf(prevTable) when the two tables differ only in
 * the services keyed in `touched` (added, changed or removed): the touched services' objects are
 * taken out and rendered again, every other object is shared with `prev`, and the maps that
 * services share (dispatch, post_dispatch, a VIP's pvp_ map) are copied before they change. A
 * verdict changes one service of 100: this renders 100 real servers, not 10,000, and diffScript
 * skips the shared objects by identity. Equal to modelOf(table) up to Map order (a unit test
 * checks that on random tables and changes).
 */
export function updateModel(prev: NftModel, prevTable: LbTable, table: LbTable, touched: ReadonlySet<string>): NftModel {
  const out: NftModel = { 4: prev[4], 6: prev[6] };
  for (const f of [4, 6] as const) {
    const mine = [...touched].filter((k) => (table.get(k) ?? prevTable.get(k))?.service.id.family === f).sort();
    if (mine.length === 0) continue;
    let hasAny = false;
    for (const e of table.values()) if (e.service.id.family === f) { hasAny = true; break; }
    if (!hasAny) { out[f] = null; continue; }
    const base = prev[f];
    const m: FamilyModel = base ? { family: f, maps: new Map(base.maps), chains: new Map(base.chains) } : emptyFamily(f);
    const own = (name: string): NftMap | undefined => {
      const x = m.maps.get(name);
      if (!x || !base || x !== base.maps.get(name)) return x;
      const copy: NftMap = { decl: x.decl, elements: x.elements ? new Map(x.elements) : null };
      m.maps.set(name, copy);
      return copy;
    };
    for (const name of ['dispatch', 'dispatch_fwm', 'post_dispatch', 'post_dispatch_fwm']) own(name);
    for (const k of mine) {
      const e = prevTable.get(k);
      if (e) removeService(m, e.service.id, own);
      const g = table.get(k)?.service.id;
      if (g && g.kind === 'inet') own(`pvp_${groupTag(g)}`);
    }
    for (const k of mine) {
      const e = table.get(k);
      if (e) addService(m, e);
    }
    out[f] = m;
  }
  return out;
}

/** Takes a service's objects out of a family model (the inverse of addService). */
function removeService(m: FamilyModel, id: ServiceAddress, own: (name: string) => NftMap | undefined): void {
  const tag = serviceTag(id);
  for (const n of [`rs_${tag}`, `persist_${tag}`]) m.maps.delete(n);
  for (const n of [`svc_${tag}`, `post_${tag}`]) m.chains.delete(n);
  if (id.kind === 'fwmark') {
    own('dispatch_fwm')!.elements!.delete(String(id.fwmark));
    own('post_dispatch_fwm')!.elements!.delete(String(id.fwmark));
    return;
  }
  own('dispatch')!.elements!.delete(`${id.address} . ${proto(id.protocol)} . ${id.port}`);
  const g = groupTag(id);
  const pvp = own(`pvp_${g}`);
  if (!pvp) return;
  pvp.elements!.delete(String(id.port));
  if (pvp.elements!.size === 0) {
    m.maps.delete(`pvp_${g}`);
    m.chains.delete(`pv_${g}`);
    own('post_dispatch')!.elements!.delete(`${id.address} . ${proto(id.protocol)}`);
  }
}

// ---- scripts ----

function q(s: string): string {
  return `"${s.replace(/["\\]/g, '')}"`;
}

export function declText(d: MapDecl): string {
  const parts = [`type ${d.type.join(' . ')}${d.data ? ` : ${d.data}` : ''}`];
  if (d.size !== undefined) parts.push(`size ${d.size}`);
  // Dynamic maps are written to from the packet path (`update @map`).
  if (d.flags.length) parts.push(`flags ${d.flags.includes('timeout') ? ['dynamic', ...d.flags].join(',') : d.flags.join(',')}`);
  if (d.timeoutS !== undefined) parts.push(`timeout ${d.timeoutS}s`);
  if (d.comment !== undefined) parts.push(`comment ${q(d.comment)}`);
  return `{ ${parts.join('; ')}; }`;
}

function baseText(b: BaseChain): string {
  return `{ type ${b.type} hook ${b.hook} priority ${b.prio}; policy ${b.policy}; }`;
}

function elementsText(els: Map<string, string>, keys: Iterable<string>, withValues: boolean): string {
  return [...keys].map((k) => (withValues ? `${k} : ${els.get(k)!}` : k)).join(', ');
}

/** Commands that create a family's objects from nothing (after `add table`). */
function createFamily(m: FamilyModel, out: string[]): void {
  const t = `${familyName(m.family)} ${TABLE_NAME}`;
  out.push(`add table ${t}`);
  // Maps first (rules refer to them), then chains (vmap elements refer to them), then rules
  // and elements.
  for (const [name, map] of m.maps) out.push(`add map ${t} ${name} ${declText(map.decl)}`);
  for (const [name, c] of m.chains) out.push(`add chain ${t} ${name}${c.base ? ` ${baseText(c.base)}` : ''}`);
  for (const [name, map] of m.maps) {
    if (map.elements && map.elements.size) out.push(`add element ${t} ${name} { ${elementsText(map.elements, map.elements.keys(), true)} }`);
  }
  for (const [name, c] of m.chains) for (const r of c.rules) out.push(`add rule ${t} ${name} ${r}`);
}

/** The full nft script that creates tandem's tables for `table` from empty. */
export function renderRuleset(table: LbTable): string {
  const model = modelOf(table);
  const out: string[] = [];
  for (const f of [4, 6] as const) if (model[f]) createFamily(model[f]!, out);
  return out.length ? `${out.join('\n')}\n` : '';
}

/** Whether two models describe the same objects (Map order aside). Elements of a dynamic map
 *  (null: its contents are the kernel's) are not compared. */
export function sameModel(a: NftModel, b: NftModel): boolean {
  for (const f of [4, 6] as const) {
    const x = a[f];
    const y = b[f];
    if (x === null || y === null) { if (x !== y) return false; continue; }
    if (x.maps.size !== y.maps.size || x.chains.size !== y.chains.size) return false;
    for (const [name, m] of x.maps) {
      const n = y.maps.get(name);
      if (!n || !sameDecl(m.decl, n.decl) || (m.elements === null) !== (n.elements === null)) return false;
      if (m.elements && n.elements) {
        if (m.elements.size !== n.elements.size) return false;
        for (const [k, v] of m.elements) if (n.elements.get(k) !== v) return false;
      }
    }
    for (const [name, c] of x.chains) {
      const d = y.chains.get(name);
      if (!d || !sameBase(c.base, d.base) || !sameRules(c.rules, d.rules)) return false;
    }
  }
  return true;
}

function sameDecl(a: MapDecl, b: MapDecl): boolean {
  return declKey(a) === declKey(b);
}

export function declKey(d: MapDecl): string {
  return JSON.stringify([d.type, d.data, [...d.flags].sort(), d.timeoutS ?? null, d.size ?? null, d.comment ?? null]);
}

function sameBase(a: BaseChain | null, b: BaseChain | null): boolean {
  return a === null || b === null ? a === b : a.type === b.type && a.hook === b.hook && a.prio === b.prio && a.policy === b.policy;
}

export function sameRules(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}

/** Maps named in a chain's rules (`@name`). */
function mapRefs(rules: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules) for (const m of r.matchAll(/@([A-Za-z0-9_]+)/g)) out.add(m[1]!);
  return out;
}

export interface DiffOptions {
  /** Persistence maps to empty (a real server left the service: its clients must choose again). */
  flushPersist?: ReadonlySet<string>;
}

/**
 * The commands that turn `from` (what the kernel holds) into `to`, touching only objects that
 * differ: an element that changed is deleted and added, a chain whose rules changed is flushed
 * and refilled, a map whose declaration changed is deleted and added with its elements (with the
 * chains that refer to it refilled). One script = one nft transaction.
 */
export function diffScript(from: NftModel, to: NftModel, opts: DiffOptions = {}): string {
  const out: string[] = [];
  for (const f of [4, 6] as const) diffFamily(f, from[f], to[f], opts, out);
  return out.length ? `${out.join('\n')}\n` : '';
}

function diffFamily(f: Family, a: FamilyModel | null, b: FamilyModel | null, opts: DiffOptions, out: string[]): void {
  const t = `${familyName(f)} ${TABLE_NAME}`;
  if (!a && !b) return;
  if (a && !b) {
    out.push(`delete table ${t}`);
    return;
  }
  if (!a) {
    createFamily(b!, out);
    return;
  }
  const to = b!;
  // Maps whose declaration changes are deleted and added again: every chain using one is refilled.
  const recreated = new Set<string>();
  for (const [name, m] of a.maps) {
    const n = to.maps.get(name);
    if (n && !sameDecl(m.decl, n.decl)) recreated.add(name);
  }
  const chainChanged = (name: string): boolean => {
    const c = a.chains.get(name);
    const n = to.chains.get(name);
    if (!c || !n) return false;
    if (!sameBase(c.base, n.base)) return true;
    if (!sameRules(c.rules, n.rules)) return true;
    for (const r of mapRefs(c.rules)) if (recreated.has(r) || !to.maps.has(r)) return true;
    return false;
  };
  const refill = [...to.chains.keys()].filter(chainChanged);
  const rebase = refill.filter((n) => !sameBase(a.chains.get(n)!.base, to.chains.get(n)!.base));
  const goneChains = [...a.chains.keys()].filter((n) => !to.chains.has(n));
  const goneMaps = [...a.maps.keys()].filter((n) => !to.maps.has(n));

  // 1. Elements that go or change, in maps that stay (vmap elements name chains that may go).
  const addEls: string[] = [];
  for (const [name, n] of to.maps) {
    const m = a.maps.get(name);
    // The same object (updateModel shares what a change did not touch): nothing to compare.
    if (!m || m === n || recreated.has(name) || !n.elements) continue;
    const have = m.elements ?? new Map<string, string>();
    const del = [...have.keys()].filter((k) => n.elements!.get(k) !== have.get(k));
    const add = [...n.elements.keys()].filter((k) => have.get(k) !== n.elements!.get(k));
    if (del.length) out.push(`delete element ${t} ${name} { ${del.join(', ')} }`);
    if (add.length) addEls.push(`add element ${t} ${name} { ${elementsText(n.elements, add, true)} }`);
  }
  // 2. Rules that go: chains that change, and chains that go (their rules may name maps that go).
  for (const n of [...refill, ...goneChains]) {
    if (a.chains.get(n)!.rules.length) out.push(`flush chain ${t} ${n}`);
  }
  // Maps before chains: a vmap's elements hold references to chains (goto post_<tag>). A base
  // chain whose hook/type changed cannot be edited in place.
  for (const n of [...goneMaps, ...recreated]) out.push(`delete map ${t} ${n}`);
  for (const n of [...goneChains, ...rebase]) out.push(`delete chain ${t} ${n}`);
  for (const n of opts.flushPersist ?? []) {
    if (a.maps.has(n) && to.maps.has(n) && !recreated.has(n)) out.push(`flush map ${t} ${n}`);
  }
  // 3. Maps and chains that come (or come back).
  for (const [name, n] of to.maps) {
    if (a.maps.has(name) && !recreated.has(name)) continue;
    out.push(`add map ${t} ${name} ${declText(n.decl)}`);
    if (n.elements && n.elements.size) out.push(`add element ${t} ${name} { ${elementsText(n.elements, n.elements.keys(), true)} }`);
  }
  for (const [name, c] of to.chains) {
    if (a.chains.has(name) && !rebase.includes(name)) continue;
    out.push(`add chain ${t} ${name}${c.base ? ` ${baseText(c.base)}` : ''}`);
  }
  // 4. Rules of new and refilled chains, then the elements that point at chains.
  for (const [name, c] of to.chains) {
    if (a.chains.has(name) && !refill.includes(name)) continue;
    for (const r of c.rules) out.push(`add rule ${t} ${name} ${r}`);
  }
  out.push(...addEls);
}
