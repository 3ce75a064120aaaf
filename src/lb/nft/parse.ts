// `nft -j list table {ip,ip6} tandem` read back, pure: the JSON becomes the same object model
// render.ts builds (maps with elements as text, chains with rules printed as nft prints them),
// and the model becomes an LbTable. Each service's record is its rs_<tag> map (settings in the
// comment, real servers and weights in the elements); every other object of the service (its
// chains, its persistence map, its dispatch elements) and the table's skeleton are compared with
// what render.ts makes of that record. Anything that differs (a rule deleted or edited by hand,
// an element gone, an object added) marks the service as drifted: its scheduler reads back as
// `<scheduler> (nft drift: <what>)`, so reconcile() sees a difference and emits edit_service,
// and the backend's next apply rewrites what differs (docs/nft-backend.md).
import { canonicalIp, type Family } from '../../ip/address.js';
import { destKey, type RealServer, serviceKey, type VirtualService } from '../../config/lbModel.js';
import type { LbTable, ServiceEntry } from '../model.js';
import {
  declKey, modelOf, parseServiceComment, sameRules, serviceTag, TABLE_NAME, type FamilyModel, type MapDecl, type NftChain,
  type NftMap, type NftModel,
} from './render.js';

export interface ParsedFamily {
  /** null: the table does not exist. */
  model: FamilyModel | null;
  /** Services recovered from rs_<tag> maps, exactly as recorded (no drift marks). */
  recorded: ServiceEntry[];
  /** Objects that could not be read as tandem's (kept in the model so the next apply rewrites them). */
  problems: string[];
}

type Json = unknown;
type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** One `nft -j list table <family> tandem` output. An empty string = no such table. */
export function parseNftJson(text: string, family: Family): ParsedFamily {
  if (text.trim() === '') return { model: null, recorded: [], problems: [] };
  const doc = JSON.parse(text) as { nftables?: Json[] };
  const model: FamilyModel = { family, maps: new Map(), chains: new Map() };
  const problems: string[] = [];
  let sawTable = false;
  for (const item of doc.nftables ?? []) {
    if (!isObj(item)) continue;
    if (isObj(item.table) && item.table.name === TABLE_NAME) sawTable = true;
    const m = item.map ?? item.set;
    if (isObj(m) && m.table === TABLE_NAME) {
      model.maps.set(String(m.name), readMap(m, problems));
      continue;
    }
    const c = item.chain;
    if (isObj(c) && c.table === TABLE_NAME) {
      model.chains.set(String(c.name), {
        base: typeof c.hook === 'string' ? { type: String(c.type), hook: c.hook, prio: Number(c.prio), policy: String(c.policy ?? 'accept') } : null,
        rules: [],
      });
      continue;
    }
    const r = item.rule;
    if (isObj(r) && r.table === TABLE_NAME) {
      const chain = model.chains.get(String(r.chain));
      const text = ruleText(r.expr, family);
      if (chain) chain.rules.push(text);
    }
  }
  if (!sawTable) return { model: null, recorded: [], problems };
  return { model, recorded: recordedServices(model, problems), problems };
}

function splitType(t: unknown): string[] {
  if (Array.isArray(t)) return t.map(String);
  return typeof t === 'string' ? t.split(' . ') : [];
}

function readMap(m: Obj, problems: string[]): NftMap {
  const decl: MapDecl = {
    type: splitType(m.type),
    data: m.map === undefined ? '' : splitType(m.map).join(' . '),
    flags: Array.isArray(m.flags) ? m.flags.map(String) : typeof m.flags === 'string' ? [m.flags] : [],
    ...(typeof m.timeout === 'number' ? { timeoutS: m.timeout } : {}),
    ...(typeof m.size === 'number' ? { size: m.size } : {}),
    ...(typeof m.comment === 'string' ? { comment: m.comment } : {}),
  };
  // A map with timeouts is written by the packet path (`update @persist_<tag>`): its contents
  // are not tandem's to compare.
  if (decl.flags.includes('timeout')) return { decl, elements: null };
  const elements = new Map<string, string>();
  for (const e of Array.isArray(m.elem) ? m.elem : []) {
    if (decl.data !== '' && Array.isArray(e) && e.length === 2) elements.set(valueText(e[0]), valueText(e[1]));
    else if (decl.data === '') elements.set(valueText(e), '');
    else problems.push(`map ${String(m.name)}: unreadable element ${JSON.stringify(e)}`);
  }
  return { decl, elements };
}

/** An element key or value, or an operand, as nft prints it. */
export function valueText(v: Json): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') {
    const c = canonicalIp(v);
    return c ? c.address : v;
  }
  if (isObj(v)) {
    if (Array.isArray(v.concat)) return v.concat.map(valueText).join(' . ');
    if (Array.isArray(v.range) && v.range.length === 2) return `${valueText(v.range[0])}-${valueText(v.range[1])}`;
    if (isObj(v.goto)) return `goto ${String(v.goto.target)}`;
    if (isObj(v.jump)) return `jump ${String(v.jump.target)}`;
    if (isObj(v.elem)) return valueText(v.elem.val);
    if (isObj(v.prefix)) return `${valueText(v.prefix.addr)}/${String(v.prefix.len)}`;
    if ('accept' in v) return 'accept';
    if ('drop' in v) return 'drop';
  }
  return `?${JSON.stringify(v)}`;
}

/** An expression (the left side of a match, a map key ...) as nft prints it. */
function exprText(e: Json, family: Family): string {
  if (!isObj(e)) return valueText(e);
  if (isObj(e.meta)) return `meta ${String(e.meta.key)}`;
  if (isObj(e.payload)) return `${String(e.payload.protocol)} ${String(e.payload.field)}`;
  if (isObj(e.ct)) return `ct ${e.ct.dir ? `${String(e.ct.dir)} ` : ''}${String(e.ct.key)}`;
  if (Array.isArray(e.concat)) return e.concat.map((x) => exprText(x, family)).join(' . ');
  if (Array.isArray(e['&'])) return `${exprText(e['&'][0], family)} & ${exprText(e['&'][1], family)}`;
  if (isObj(e.numgen)) {
    const n = e.numgen;
    return `numgen ${String(n.mode)} mod ${String(n.mod)}${n.offset ? ` offset ${String(n.offset)}` : ''}`;
  }
  if (isObj(e.jhash)) {
    const j = e.jhash;
    return `jhash ${exprText(j.expr, family)} mod ${String(j.mod)} seed 0x${Number(j.seed ?? 0).toString(16)}${j.offset ? ` offset ${String(j.offset)}` : ''}`;
  }
  if (Array.isArray(e.set)) return `{ ${e.set.map((x) => (Array.isArray(x) ? `${valueText(x[0])} : ${valueText(x[1])}` : valueText(x))).join(', ')} }`;
  if (isObj(e.map)) return `${exprText(e.map.key, family)} map ${mapData(e.map.data, family)}`;
  return valueText(e);
}

function mapData(d: Json, family: Family): string {
  return typeof d === 'string' ? d : exprText(d, family);
}

/** One statement as nft prints it; unknown ones print as `?<json>`, which never equals a rendered rule. */
function stmtText(s: Json, family: Family): string {
  if (typeof s === 'string') return s; // statements nft has no JSON form for (`update @map {...}`)
  if (!isObj(s)) return `?${JSON.stringify(s)}`;
  if (isObj(s.match)) {
    const m = s.match;
    const op = m.op === '==' || m.op === 'in' ? '' : `${String(m.op)} `;
    const right = Array.isArray(m.right) ? m.right.map(valueText).join(',') : isObj(m.right) && Array.isArray(m.right.set) ? exprText(m.right, family) : valueText(m.right);
    return `${exprText(m.left, family)} ${op}${right}`;
  }
  if (isObj(s.vmap)) return `${exprText(s.vmap.key, family)} vmap ${mapData(s.vmap.data, family)}`;
  if (isObj(s.dnat)) {
    // nft omits the family when the address is a plain map lookup; the table's family is the one.
    const fam = typeof s.dnat.family === 'string' ? s.dnat.family : family === 6 ? 'ip6' : 'ip';
    const port = s.dnat.port !== undefined ? `:${exprText(s.dnat.port, family)}` : '';
    return `dnat ${fam} to ${exprText(s.dnat.addr, family)}${port}`;
  }
  if ('masquerade' in s && (s.masquerade === null || (isObj(s.masquerade) && Object.keys(s.masquerade).length === 0))) return 'masquerade';
  if ('reject' in s) {
    const r = s.reject;
    const dflt = family === 6 ? 'icmpv6' : 'icmp';
    if (r === null || (isObj(r) && r.type === dflt && r.expr === 'port-unreachable')) return 'reject';
    return `?${JSON.stringify(s)}`;
  }
  if ('accept' in s) return 'accept';
  if ('drop' in s) return 'drop';
  if (isObj(s.jump)) return `jump ${String(s.jump.target)}`;
  if (isObj(s.goto)) return `goto ${String(s.goto.target)}`;
  return `?${JSON.stringify(s)}`;
}

/** A rule's expression list as one line of nft text (render.ts writes rules in this form). */
export function ruleText(expr: Json, family: Family): string {
  return Array.isArray(expr) ? expr.map((s) => stmtText(s, family)).join(' ') : `?${JSON.stringify(expr)}`;
}

/** The services recorded in rs_<tag> maps. */
function recordedServices(model: FamilyModel, problems: string[]): ServiceEntry[] {
  const out: ServiceEntry[] = [];
  for (const [name, m] of model.maps) {
    if (!name.startsWith('rs_')) continue;
    const service = m.decl.comment === undefined ? undefined : parseServiceComment(m.decl.comment, model.family);
    if (!service || `rs_${serviceTag(service.id)}` !== name || !m.elements) {
      problems.push(`map ${name}: not a service record tandem wrote`);
      continue;
    }
    const dests = new Map<string, RealServer>();
    for (const [k, v] of m.elements) {
      const km = /^(\S+) \. (\d+)$/.exec(k);
      const addr = km ? canonicalIp(km[1]!) : undefined;
      const weight = Number(v);
      if (!km || !addr || addr.family !== model.family || !Number.isInteger(weight) || weight < 0 || weight > 65535) {
        problems.push(`map ${name}: unreadable real server ${k} : ${v}`);
        continue;
      }
      const d: RealServer = { family: addr.family, address: addr.address, port: Number(km[2]), forwarding: 'NAT', weight, tunnel: null };
      dests.set(destKey(d), d);
    }
    out.push({ service, dests });
  }
  return out;
}

/** The objects (and shared-map elements) that belong to one service in a family model. */
interface ServiceFootprint { maps: string[]; chains: string[]; elements: Array<[map: string, key: string]> }

function footprint(model: FamilyModel, tag: string): ServiceFootprint {
  const maps = [`rs_${tag}`, `persist_${tag}`].filter((n) => model.maps.has(n));
  const chains = [`svc_${tag}`, `post_${tag}`].filter((n) => model.chains.has(n));
  const elements: Array<[string, string]> = [];
  for (const [name, m] of model.maps) {
    if (!m.elements || name.startsWith('rs_')) continue;
    for (const [k, v] of m.elements) {
      if (v === `goto svc_${tag}` || v === `goto post_${tag}`) elements.push([name, k]);
    }
  }
  return { maps, chains, elements };
}

function sameMap(a: NftMap | undefined, b: NftMap | undefined): boolean {
  if (!a || !b) return a === b;
  if (declKey(a.decl) !== declKey(b.decl)) return false;
  if (a.elements === null || b.elements === null) return a.elements === b.elements;
  if (a.elements.size !== b.elements.size) return false;
  for (const [k, v] of a.elements) if (b.elements.get(k) !== v) return false;
  return true;
}

function sameChain(a: NftChain | undefined, b: NftChain | undefined): boolean {
  if (!a || !b) return a === b;
  const base = a.base === null || b.base === null ? a.base === b.base
    : a.base.type === b.base.type && a.base.hook === b.base.hook && a.base.prio === b.base.prio && a.base.policy === b.base.policy;
  return base && sameRules(a.rules, b.rules);
}

/**
 * What differs between the actual family model and the one render.ts makes of the recorded
 * services: per service tag, the objects that differ; `shared` for the skeleton and objects of
 * no single service (which count against every service of the family).
 */
export function driftOf(actual: FamilyModel, expected: FamilyModel | null, tags: readonly string[]): { perService: Map<string, string[]>; shared: string[] } {
  const perService = new Map<string, string[]>();
  const shared: string[] = [];
  const exp = expected ?? { family: actual.family, maps: new Map(), chains: new Map() };
  const owner = new Map<string, string>();
  for (const tag of tags) {
    const fa = footprint(actual, tag);
    const fe = footprint(exp, tag);
    const diffs: string[] = [];
    for (const n of new Set([...fa.maps, ...fe.maps])) {
      owner.set(`map ${n}`, tag);
      if (!sameMap(actual.maps.get(n), exp.maps.get(n))) diffs.push(`map ${n}`);
    }
    for (const n of new Set([...fa.chains, ...fe.chains])) {
      owner.set(`chain ${n}`, tag);
      if (!sameChain(actual.chains.get(n), exp.chains.get(n))) diffs.push(`chain ${n}`);
    }
    for (const [m, k] of [...fa.elements, ...fe.elements]) {
      owner.set(`element ${m} ${k}`, tag);
      const a = actual.maps.get(m)?.elements?.get(k);
      const e = exp.maps.get(m)?.elements?.get(k);
      if (a !== e && !diffs.includes(`element ${m} { ${k} }`)) diffs.push(`element ${m} { ${k} }`);
    }
    if (diffs.length) perService.set(tag, diffs);
  }
  // Everything else: the skeleton and per-VIP objects, compared without the services' elements.
  for (const n of new Set([...actual.maps.keys(), ...exp.maps.keys()])) {
    if (owner.has(`map ${n}`)) continue;
    const a = actual.maps.get(n);
    const e = exp.maps.get(n);
    const strip = (m: NftMap | undefined): NftMap | undefined => {
      if (!m || !m.elements) return m;
      const els = new Map([...m.elements].filter(([k]) => !owner.has(`element ${n} ${k}`)));
      return { decl: m.decl, elements: els };
    };
    if (!sameMap(strip(a), strip(e))) shared.push(`map ${n}`);
  }
  for (const n of new Set([...actual.chains.keys(), ...exp.chains.keys()])) {
    if (owner.has(`chain ${n}`)) continue;
    if (!sameChain(actual.chains.get(n), exp.chains.get(n))) shared.push(`chain ${n}`);
  }
  return { perService, shared };
}

export interface NftReadResult {
  /** The table as reconcile() should see it: drifted services carry a marked scheduler. */
  table: LbTable;
  /** The services exactly as recorded (what the kernel's objects are meant to be). */
  recorded: LbTable;
  /** What the kernel holds, as render.ts models it. */
  model: NftModel;
  /** Per service key: the objects that differ from the record. */
  drift: Map<string, string[]>;
  problems: string[];
}

/** Both families read back (JSON text per family, '' = no table). */
export function readNftTables(json4: string, json6: string): NftReadResult {
  const table = new Map<string, ServiceEntry>();
  const recorded = new Map<string, ServiceEntry>();
  const model: NftModel = { 4: null, 6: null };
  const drift = new Map<string, string[]>();
  const problems: string[] = [];
  for (const [family, text] of [[4, json4], [6, json6]] as const) {
    const p = parseNftJson(text, family);
    model[family] = p.model;
    problems.push(...p.problems);
    if (!p.model) continue;
    const rec = new Map<string, ServiceEntry>();
    for (const e of p.recorded) rec.set(serviceKey(e.service.id), e);
    let expected: FamilyModel | null = null;
    try {
      expected = modelOf(rec)[family];
    } catch (e) {
      problems.push(`cannot render the recorded services: ${(e as Error).message}`);
    }
    const tags = p.recorded.map((e) => serviceTag(e.service.id));
    const d = driftOf(p.model, expected, tags);
    for (const [key, e] of rec) {
      recorded.set(key, e);
      const what = [...(d.perService.get(serviceTag(e.service.id)) ?? []), ...d.shared];
      if (what.length === 0) {
        table.set(key, e);
        continue;
      }
      drift.set(key, what);
      const marked: VirtualService = { ...e.service, scheduler: `${e.service.scheduler} (nft drift: ${what.slice(0, 3).join(', ')}${what.length > 3 ? ', ...' : ''})` };
      table.set(key, { service: marked, dests: e.dests });
    }
  }
  return { table, recorded, model, drift, problems };
}
