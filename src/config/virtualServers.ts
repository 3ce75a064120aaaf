// The `virtual_servers` part of the config (issue 3 §1): keepalived's virtual_server /
// real_server / checker keywords in snake_case, validated with the fields.ts combinators so every
// error is located at file:line:col. Defaults are keepalived's (REFERENCE.md "Health checker
// defaults"); where tandem adds a key it says so.
//
// Timing keys (connect_timeout, retry, delay_before_retry, delay_loop, warmup, alpha) may be
// given on a virtual server, a real server or a check; the nearest one wins, as in keepalived 2.x.
import { isMap, isScalar, isSeq, YAMLMap } from './yaml.js';
import type { Node, Scalar } from 'yaml';
import {
  boolean, describe, field, integer, integerLiteral, ipAddress, list, nodeOf, number, object, oneOf, report, string, warn,
  type Corrections, type Ctx, type Validator,
} from './fields.js';
import { suggest } from './suggest.js';
import { notifyScript } from './notifyScripts.js';
import {
  CHECK_KINDS, DNS_TYPES, realServerId, type CheckConfig, type CheckKind, type HttpUrl, type RealServerConfig,
  type VirtualServerConfig,
} from './lbModel.js';
import { destKey, type Forwarding, type RealServer, SCHEDULERS, type ServiceAddress, serviceKey } from './lbModel.js';
import { type Family, netmaskToPrefix } from '../ip/address.js';
import type { GroupService } from './virtualServerGroups.js';

/** keepalived's defaults (REFERENCE.md), seconds. */
export const CHECK_DEFAULTS = {
  connectTimeoutS: 5,
  delayLoopS: 60,
  /** retry per checker kind: DNS 3, MISC 0, all others 1. */
  retry: { tcp_check: 1, http_get: 1, ssl_get: 1, dns_check: 3, smtp_check: 1, misc_check: 0, ping_check: 1, udp_check: 1 },
  /** delay_before_retry per kind: HTTP/SSL 3 s, all others 1 s. */
  delayBeforeRetryS: { tcp_check: 1, http_get: 3, ssl_get: 3, dns_check: 1, smtp_check: 1, misc_check: 1, ping_check: 1, udp_check: 1 },
  dnsType: 'SOA',
  dnsName: '.',
  smtpHelo: 'smtpchecker.keepalived.org',
} as const;

/** ipvsadm's MAX_TIMEOUT (31 days) bounds persistence_timeout. */
const MAX_PERSISTENCE_S = 86400 * 31;

const port = integer(1, 65535);
const seconds = (max: number) => number(0, max, ' seconds');
const positiveSeconds = (max: number) => number(0.001, max, ' seconds');
const hostname = string({ pattern: /^[A-Za-z0-9.-]{1,253}$/, what: 'a host name' });
const hex = string({ pattern: /^(?:[0-9a-fA-F]{2})+$/, what: 'hex bytes (e.g. 0a1b)' });

/** `warmup: true` (the default: up to delay_loop), `false` (none) or a number of seconds. */
const warmup: Validator<boolean | number> = (at, ctx) => {
  if (isScalar(at.node) && typeof at.node.value === 'boolean') return at.node.value;
  if (isScalar(at.node) && typeof at.node.value === 'number') return seconds(86400)(at, ctx);
  report(ctx, at.node, at.path, `expected true, false or a number of seconds, got ${describe(at.node, { numberAsWritten: true })}`);
  return undefined;
};

/** `200`, `"200-299"`, or a list of those (keepalived's status_code). */
const statusCodes: Validator<Array<[number, number]>> = (at, ctx) => {
  const one = (node: Node | null | undefined, path: string): [number, number] | undefined => {
    const v = isScalar(node) ? (node as Scalar).value : undefined;
    const code = integerLiteral(node)?.value; // `200.0` is not a status code (fields.ts integerLiteral)
    if (code !== undefined && code >= 100n && code <= 599n) return [Number(code), Number(code)];
    if (typeof v === 'string') {
      const m = /^(\d{3})-(\d{3})$/.exec(v);
      if (m && Number(m[1]) >= 100 && Number(m[2]) <= 599 && Number(m[1]) <= Number(m[2])) return [Number(m[1]), Number(m[2])];
    }
    report(ctx, node, path, `expected a status code 100..599 or a range like "200-299", got ${describe(node, { numberAsWritten: true })}`);
    return undefined;
  };
  if (isSeq(at.node)) {
    const out: Array<[number, number]> = [];
    let ok = at.node.items.length > 0;
    if (!ok) report(ctx, at.node, at.path, 'expected at least one status code');
    at.node.items.forEach((n, i) => {
      const r = one(n as Node, `${at.path}[${i}]`);
      if (r) out.push(r); else ok = false;
    });
    return ok ? out : undefined;
  }
  const r = one(at.node, at.path);
  return r ? [r] : undefined;
};

/** keepalived's http_protocol (check/check_http.c http_protocol_handler(): exactly "1.0", "1.1",
 *  "1.0C"). YAML reads `1.0` as a number, so the text as written is judged: `1.04` or `1` rounded
 *  to "1.0" would be a version nobody wrote. */
const httpProtocol: Validator<'1.0' | '1.0C' | '1.1'> = (at, ctx) => {
  const v = isScalar(at.node) ? at.node.value : undefined;
  const s = typeof v === 'number' ? (at.node as Scalar).source : v;
  if (s === '1.0' || s === '1.0C' || s === '1.1') return s;
  report(ctx, at.node, at.path, `expected one of 1.0, 1.0C, 1.1, got ${describe(at.node, { numberAsWritten: true })}`);
  return undefined;
};

/** A program to run without a shell: a list of arguments, or one string split at spaces. */
const argv: Validator<string[]> = (at, ctx) => {
  let words: string[] | undefined;
  if (isSeq(at.node)) words = list(string({ what: 'an argument' }), { min: 1 })(at, ctx);
  else {
    const v = string({ what: 'a program path and its arguments' })(at, ctx);
    if (v === undefined) return undefined;
    if (/["'\\$`|;&<>]/.test(v)) {
      report(ctx, at.node, at.path, 'is run without a shell: quotes, $, |, ;, & and redirections do not work here; give a list of arguments');
      return undefined;
    }
    words = v.trim().split(/\s+/);
  }
  if (words && !words[0]!.startsWith('/')) {
    report(ctx, at.node, at.path, `expected an absolute program path, got ${JSON.stringify(words[0])}`);
    return undefined;
  }
  return words;
};

/** `require_reply: true | false | <hex>` (udp_check). */
const requireReply: Validator<boolean | string> = (at, ctx) =>
  isScalar(at.node) && typeof at.node.value === 'boolean' ? at.node.value : hex(at, ctx);

/** persistence_granularity: a dotted IPv4 netmask or an IPv6 prefix length. */
const granularity: Validator<string | number> = (at, ctx) => {
  const v = isScalar(at.node) ? at.node.value : undefined;
  const prefix = integerLiteral(at.node)?.value;
  if (prefix !== undefined && prefix >= 1n && prefix <= 128n) return Number(prefix);
  if (typeof v === 'string' && netmaskToPrefix(v) !== undefined) return v;
  report(ctx, at.node, at.path, `expected an IPv4 netmask (e.g. 255.255.255.0) or an IPv6 prefix length 1..128, got ${describe(at.node, { numberAsWritten: true })}`);
  return undefined;
};

/** Timing keys that every level may carry (virtual server, real server, check). */
const timingFields = {
  connect_timeout: field(positiveSeconds(3600)),
  retry: field(integer(0, 1000)),
  delay_before_retry: field(seconds(3600)),
  delay_loop: field(positiveSeconds(86400)),
  warmup: field(warmup),
  alpha: field(boolean),
};

const checkCommonFields = {
  ...timingFields,
  connect_ip: field(ipAddress),
  connect_port: field(port),
  bindto: field(ipAddress),
  bind_port: field(port),
  // tandem extension: successes in a row to come back up (HAProxy's `rise`); 1 = keepalived.
  rise: field(integer(1, 100)),
};

const urlShape = object({
  path: field(string({ pattern: /^\/\S*$/, what: 'a path starting with /' }), { required: true }),
  status_code: field(statusCodes),
  digest: field(string({ pattern: /^[0-9a-fA-F]{32}$/, what: 'an MD5 digest (32 hex digits)' })),
  virtualhost: field(hostname),
});

const httpFields = {
  ...checkCommonFields,
  urls: field(list(urlShape, { min: 1 }), { required: true }),
  virtualhost: field(hostname),
  http_protocol: field(httpProtocol),
};

const checkShapes = {
  tcp_check: object({ ...checkCommonFields }),
  http_get: object(httpFields),
  ssl_get: object({
    ...httpFields,
    enable_sni: field(boolean, { default: false }),
    // tandem extension: keepalived never verifies the certificate; neither do we unless asked.
    verify_certificate: field(boolean, { default: false }),
  }),
  dns_check: object({
    ...checkCommonFields,
    type: field(oneOf(DNS_TYPES)),
    name: field(string({ pattern: /^(?:\.|(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?)$/, what: 'a DNS name' })),
  }),
  smtp_check: object({ ...checkCommonFields, helo_name: field(hostname) }),
  misc_check: object({
    ...timingFields,
    misc_path: field(argv, { required: true }),
    misc_timeout: field(positiveSeconds(3600)),
    misc_dynamic: field(boolean, { default: false }),
    user: field(string({ pattern: /^[a-z_][a-z0-9_-]*\$?$/, what: 'a user name' })),
    rise: field(integer(1, 100)),
  }),
  ping_check: object({ ...checkCommonFields }),
  udp_check: object({ ...checkCommonFields, payload: field(hex), require_reply: field(requireReply) }),
};
type CheckShapes = typeof checkShapes;
export type RawCheck = { [K in CheckKind]: { kind: K; raw: NonNullable<ReturnType<CheckShapes[K]>> } }[CheckKind];

/** One check: a mapping with exactly one key naming the checker, e.g. `- tcp_check: {}`. */
const check: Validator<RawCheck> = (at, ctx) => {
  if (!isMap(at.node) || at.node.items.length !== 1) {
    const got = isMap(at.node)
      ? `${at.node.items.length} keys (${at.node.items.map((p) => String(isScalar(p.key) ? p.key.value : '?')).join(', ')})`
      : describe(at.node, { numberAsWritten: true });
    report(ctx, at.node ?? at.parent, at.path,
      `expected a mapping with exactly one checker key (${CHECK_KINDS.join(', ')}), got ${got}`);
    return undefined;
  }
  const pair = at.node.items[0]!;
  const keyNode = pair.key as Node;
  const key = isScalar(keyNode) ? String(keyNode.value) : '';
  const path = `${at.path}.${key}`;
  if (!(CHECK_KINDS as readonly string[]).includes(key)) {
    const hint = suggest(key, CHECK_KINDS);
    report(ctx, keyNode, path, `unknown checker${hint ? ` (did you mean ${hint}?)` : ''}; expected one of ${CHECK_KINDS.join(', ')}`);
    return undefined;
  }
  const kind = key as CheckKind;
  const valueNode = pair.value as Node | null;
  // `- tcp_check:` with nothing after it is a TCP check with every default. An empty mapping
  // placed at the key stands in for the value, so "required key is missing" points at the key.
  const empty = valueNode === null || (isScalar(valueNode) && valueNode.value === null);
  let node: Node | null = valueNode;
  if (empty) {
    const stand = new YAMLMap();
    stand.range = keyNode.range;
    node = stand;
  }
  const raw = checkShapes[kind]({ node, path, parent: at.node }, ctx);
  return raw === undefined ? undefined : ({ kind, raw } as RawCheck);
};

const lbKind = oneOf(['NAT', 'DR', 'TUN'] as const);

const realServerObject = object({
  address: field(ipAddress, { required: true }),
  port: field(integer(0, 65535)),
  weight: field(integer(0, 65535), { default: 1 }),
  inhibit_on_failure: field(boolean, { default: false }),
  lb_kind: field(lbKind),
  checks: field(list(check), { default: [] }),
  // keepalived: mail this server's up/down (default: global smtp_alert_checker / smtp_alert, else ON).
  smtp_alert: field(boolean),
  // keepalived notify_up / notify_down (src/config/notifyScripts.ts).
  notify_up: field(notifyScript),
  notify_down: field(notifyScript),
  ...timingFields,
});

const sorryServerObject = object({
  address: field(ipAddress, { required: true }),
  port: field(integer(0, 65535)),
  weight: field(integer(0, 65535), { default: 1 }),
  lb_kind: field(lbKind),
  // keepalived sorry_server_inhibit: keep it in the table with weight 0 while not in use.
  inhibit_on_failure: field(boolean, { default: false }),
});

const virtualServerObject = object({
  address: field(ipAddress),
  // keepalived `virtual_server group NAME`: every service of virtual_server_groups' NAME
  // (src/config/virtualServerGroups.ts), instead of address / port / fwmark.
  group: field(string({ pattern: /^[A-Za-z0-9_.-]+$/, what: 'a virtual_server_groups name' })),
  port: field(integer(0, 65535)),
  fwmark: field(integer(1, 0xffffffff)),
  ip_family: field(oneOf(['inet', 'inet6'] as const)),
  protocol: field(oneOf(['TCP', 'UDP', 'SCTP'] as const), { default: 'TCP' as const }),
  lb_algo: field(oneOf(SCHEDULERS), { default: 'wlc' as const }),
  lb_kind: field(lbKind, { default: 'NAT' as const }),
  persistence_timeout: field(integer(0, MAX_PERSISTENCE_S), { default: 0 }),
  persistence_granularity: field(granularity),
  persistence_engine: field(oneOf(['sip'] as const)),
  ops: field(boolean, { default: false }),
  // tandem-only, nft backend only: masquerade (SNAT) connections to the real servers, like LVS
  // FULLNAT, so real servers need no route back through the director (docs/nft-backend.md).
  nft_masquerade: field(boolean, { default: false }),
  quorum: field(integer(1, 0x7fffffff), { default: 1 }),
  hysteresis: field(integer(0, 0x7fffffff), { default: 0 }),
  sorry_server: field(sorryServerObject),
  real_servers: field(list(realServerObject), { default: [] }),
  // keepalived: mail quorum changes (default: global smtp_alert_checker / smtp_alert, else off).
  smtp_alert: field(boolean),
  // keepalived quorum_up / quorum_down (src/config/notifyScripts.ts).
  quorum_up: field(notifyScript),
  quorum_down: field(notifyScript),
  ...timingFields,
});

/** One virtual server; also checks that the keys naming the service fit together. */
export const virtualServerShape: Validator<NonNullable<ReturnType<typeof virtualServerObject>>> = (at, ctx) => {
  const v = virtualServerObject(at, ctx);
  if (v === undefined) return undefined;
  const here = (key: string) => nodeOf(at.node, key) ?? at.node;
  let ok = true;
  if (v.group !== undefined) {
    for (const key of ['address', 'port', 'fwmark'] as const) {
      if (v[key] !== undefined) {
        report(ctx, here(key), `${at.path}.${key}`, 'a virtual server of a group takes its addresses, ports and marks from the group');
        ok = false;
      }
    }
    return ok ? v : undefined;
  }
  if (v.fwmark !== undefined) {
    for (const key of ['address', 'port'] as const) {
      if (v[key] !== undefined) {
        report(ctx, here(key), `${at.path}.${key}`, 'a fwmark virtual server has no address or port (the mark selects the packets)');
        ok = false;
      }
    }
  } else {
    if (v.address === undefined) {
      report(ctx, at.node, `${at.path}.address`, 'required key is missing (or give fwmark)');
      ok = false;
    }
    if (v.port === undefined || v.port === 0) {
      report(ctx, v.port === 0 ? here('port') : at.node, `${at.path}.port`,
        v.port === 0 ? 'expected an integer 1..65535, got 0' : 'required key is missing (or give fwmark)');
      ok = false;
    }
    if (v.ip_family !== undefined) {
      report(ctx, here('ip_family'), `${at.path}.ip_family`, 'only for fwmark virtual servers; the address gives the family');
      ok = false;
    }
  }
  return ok ? v : undefined;
};

/** The field to add to the root config shape: `virtual_servers: [...]`. */
export const virtualServersField = field(list(virtualServerShape), { default: [] });

export type RawVirtualServer = NonNullable<ReturnType<typeof virtualServerShape>>;
type RawRealServer = RawVirtualServer['real_servers'][number];
type Timing = Partial<Pick<RawRealServer, 'connect_timeout' | 'retry' | 'delay_before_retry' | 'delay_loop' | 'warmup' | 'alpha'>>;

const ms = (s: number) => Math.round(s * 1000);

/** Validated raw values -> the resolved model. Total: cross-field problems are reported by
 *  crossCheckVirtualServers, not thrown here. */
export function toVirtualServerModel(
  raws: readonly RawVirtualServer[],
  smtpAlertDefaults: { virtualServer: boolean; realServer: boolean } = { virtualServer: false, realServer: true },
  /** global script_user: who a misc_check without its own `user` runs as. */
  scriptUser?: { uid: number; gid: number },
  /** virtual_server_groups by name, expanded (virtualServerGroups.ts groupsByName). */
  groups: ReadonlyMap<string, readonly GroupService[]> = new Map(),
): VirtualServerConfig[] {
  return raws.flatMap((r, i) => {
    // A group entry is one virtual service per member (an unknown group: none, and
    // crossCheckVirtualServers reports it).
    const ids: ServiceAddress[] = r.group === undefined
      ? [serviceId(r, r.fwmark !== undefined ? { kind: 'fwmark', fwmark: r.fwmark, family: undefined } : undefined)]
      : (groups.get(r.group) ?? []).map((g) => serviceId(r, g));
    return ids.map((id) => {
      const vs = serviceModel(r, id, smtpAlertDefaults, scriptUser);
      if (r.group !== undefined) vs.group = r.group;
      modelOrigin.set(vs, i);
      return vs;
    });
  });
}

/** Which `virtual_servers` entry each model entry came from (a group entry makes several). */
const modelOrigin = new WeakMap<object, number>();

/**
 * The model's virtual servers with the index of the `virtual_servers` entry each came from, and
 * whether it is the first service of that entry: checks that report per entry (at its nodes)
 * look at the first only, so a group's message comes once. A model built without the loader
 * (tests) is one service per entry.
 */
export function byConfigEntry<V extends object>(model: readonly V[]): Array<{ vs: V; index: number; first: boolean }> {
  const seen = new Set<number>();
  return model.map((vs, n) => {
    const index = modelOrigin.get(vs) ?? n;
    const first = !seen.has(index);
    seen.add(index);
    return { vs, index, first };
  });
}

/** The service of a virtual server, or of one member of its group. */
function serviceId(r: RawVirtualServer, member: GroupService | undefined): ServiceAddress {
  if (member?.kind === 'fwmark') {
    return { kind: 'fwmark', family: member.family ?? serviceFamily(r), fwmark: member.fwmark };
  }
  if (member?.kind === 'inet') return { kind: 'inet', family: member.family, protocol: r.protocol ?? 'TCP', address: member.address, port: member.port };
  return { kind: 'inet', family: serviceFamily(r), protocol: r.protocol ?? 'TCP', address: r.address!.address, port: r.port ?? 0 };
}

function serviceModel(
  r: RawVirtualServer, id: ServiceAddress, smtpAlertDefaults: { virtualServer: boolean; realServer: boolean },
  scriptUser: { uid: number; gid: number } | undefined,
): VirtualServerConfig {
  {
    const family = id.family;
    const key = serviceKey(id);
    const vsForwarding: Forwarding = r.lb_kind ?? 'NAT';
    const timeoutS = r.persistence_timeout ?? 0;
    const g = r.persistence_granularity;
    const netmaskPrefix = typeof g === 'number' ? g : typeof g === 'string' ? netmaskToPrefix(g) ?? 32 : family === 6 ? 128 : 32;
    const dest = (s: { address: { address: string; family: Family }; port?: number | undefined; weight?: number | undefined; lb_kind?: Forwarding | undefined }): RealServer => {
      const forwarding = s.lb_kind ?? vsForwarding;
      return {
        family: s.address.family,
        address: s.address.address,
        port: s.port ?? (id.kind === 'inet' ? id.port : 0),
        forwarding,
        weight: s.weight ?? 1,
        tunnel: forwarding === 'TUN' ? { type: 'ipip' } : null,
      };
    };
    const realServers: RealServerConfig[] = (r.real_servers ?? []).map((rs) => {
      const d = dest(rs);
      const inherited: Timing = { ...pickTiming(r), ...pickTiming(rs) };
      return {
        id: realServerId(key, destKey(d)),
        dest: d,
        inhibitOnFailure: rs.inhibit_on_failure ?? false,
        checks: (rs.checks ?? []).map((c) => checkModel(c, inherited, d, scriptUser)),
        smtpAlert: rs.smtp_alert ?? smtpAlertDefaults.realServer,
        ...(rs.notify_up ? { notifyUp: rs.notify_up } : {}),
        ...(rs.notify_down ? { notifyDown: rs.notify_down } : {}),
      };
    });
    const sorry = r.sorry_server;
    return {
      key,
      family,
      service: {
        id,
        scheduler: r.lb_algo ?? 'wlc',
        persistence: timeoutS > 0 ? { timeoutS, netmaskPrefix } : null,
        pe: r.persistence_engine ?? null,
        ops: r.ops ?? false,
        schedFlags: [],
        ...(r.nft_masquerade ? { masquerade: true } : {}),
      },
      quorum: r.quorum ?? 1,
      hysteresis: r.hysteresis ?? 0,
      sorryServer: sorry ? { dest: dest(sorry), inhibit: sorry.inhibit_on_failure ?? false } : null,
      realServers,
      smtpAlert: r.smtp_alert ?? smtpAlertDefaults.virtualServer,
      ...(r.quorum_up ? { quorumUp: r.quorum_up } : {}),
      ...(r.quorum_down ? { quorumDown: r.quorum_down } : {}),
    };
  }
}

function serviceFamily(r: RawVirtualServer): Family {
  if (r.address) return r.address.family;
  if (r.ip_family) return r.ip_family === 'inet6' ? 6 : 4;
  // keepalived: a fwmark service takes the family of its real servers.
  return r.real_servers?.[0]?.address.family ?? r.sorry_server?.address.family ?? 4;
}

function pickTiming(t: Timing): Timing {
  const out: Timing = {};
  for (const k of ['connect_timeout', 'retry', 'delay_before_retry', 'delay_loop', 'warmup', 'alpha'] as const) {
    if (t[k] !== undefined) (out as Record<string, unknown>)[k] = t[k];
  }
  return out;
}

/** Default port of a probe when the real server has none (fwmark services). */
const WELL_KNOWN_PORT: Partial<Record<CheckKind, number>> = { dns_check: 53, smtp_check: 25 };

function checkModel(c: RawCheck, inherited: Timing, rs: RealServer, scriptUser: { uid: number; gid: number } | undefined): CheckConfig {
  const raw = c.raw as Timing & {
    connect_ip?: { address: string }; connect_port?: number; bindto?: { address: string }; bind_port?: number; rise?: number;
  };
  const t: Timing = { ...inherited, ...pickTiming(raw) };
  const delayLoopMs = ms(t.delay_loop ?? CHECK_DEFAULTS.delayLoopS);
  const w = t.warmup ?? true;
  const common = {
    connectIp: raw.connect_ip?.address ?? rs.address,
    connectPort: raw.connect_port ?? (rs.port || WELL_KNOWN_PORT[c.kind] || 0),
    bindTo: raw.bindto?.address,
    bindPort: raw.bind_port,
    timeoutMs: ms(t.connect_timeout ?? CHECK_DEFAULTS.connectTimeoutS),
    retry: t.retry ?? CHECK_DEFAULTS.retry[c.kind],
    delayBeforeRetryMs: ms(t.delay_before_retry ?? CHECK_DEFAULTS.delayBeforeRetryS[c.kind]),
    delayLoopMs,
    warmupMs: w === true ? delayLoopMs : w === false ? 0 : ms(w),
    alpha: t.alpha ?? false,
    rise: raw.rise ?? 1,
  };
  switch (c.kind) {
    case 'tcp_check': case 'ping_check':
      return { ...common, kind: c.kind };
    case 'http_get': case 'ssl_get': {
      const sslOnly = c.kind === 'ssl_get' ? c.raw : undefined;
      return {
        ...common,
        kind: c.kind,
        urls: c.raw.urls.map((u): HttpUrl => ({
          path: u.path,
          statusCodes: u.status_code ?? [[200, 299]],
          digest: u.digest?.toLowerCase(),
          virtualhost: u.virtualhost,
        })),
        virtualhost: c.raw.virtualhost,
        httpProtocol: c.raw.http_protocol ?? '1.0',
        enableSni: sslOnly?.enable_sni ?? false,
        verifyCertificate: sslOnly?.verify_certificate ?? false,
      };
    }
    case 'dns_check':
      return { ...common, kind: c.kind, queryType: c.raw.type ?? CHECK_DEFAULTS.dnsType, queryName: c.raw.name ?? CHECK_DEFAULTS.dnsName };
    case 'smtp_check':
      return { ...common, kind: c.kind, heloName: c.raw.helo_name ?? CHECK_DEFAULTS.smtpHelo };
    case 'misc_check':
      // keepalived: misc_timeout defaults to delay_loop; a misc check has no connect target.
      return {
        ...common,
        kind: c.kind,
        connectPort: 0,
        timeoutMs: c.raw.misc_timeout !== undefined ? ms(c.raw.misc_timeout) : delayLoopMs,
        argv: c.raw.misc_path,
        dynamic: c.raw.misc_dynamic ?? false,
        user: c.raw.user,
        defaultIds: scriptUser && c.raw.user === undefined ? { uid: scriptUser.uid, gid: scriptUser.gid } : undefined,
      };
    case 'udp_check': {
      const rr = c.raw.require_reply;
      return {
        ...common,
        kind: c.kind,
        payloadHex: (c.raw.payload ?? '').toLowerCase(),
        requireReply: rr !== undefined && rr !== false,
        replyPrefixHex: typeof rr === 'string' ? rr.toLowerCase() : undefined,
      };
    }
  }
}

/**
 * Checks across keys and across virtual servers; errors and warnings point at the offending
 * key's value. `root` is the document's root mapping (the one holding `virtual_servers`).
 * keepalived 2.2.7 (check/check_data.c validate_check_config(), observed with keepalived -t)
 * corrects some of what a file says and carries on; tandem warns and queues the same correction
 * (`fixes`, applied by build.ts crossCheck()):
 * - "one packet scheduling requires UDP - resetting": ops off on a TCP or SCTP service;
 * - "quorum %u ... exceeds total weight of real servers %u, reducing quorum to %u";
 * - "hysteresis %u >= quorum %u; setting hysteresis to %u": to quorum - 1;
 * - "virtual server %s and real server %s ports don't match - resetting" (DR and TUN cannot
 *   change the port): the table entry takes the service's port;
 * - "real server %s is duplicated - removing second rs".
 */
export function crossCheckVirtualServers(model: readonly VirtualServerConfig[], root: Node, ctx: Ctx, fixes: Corrections = []): void {
  const listNode = nodeOf(root, 'virtual_servers');
  const vsNodes = isSeq(listNode) ? (listNode.items as Node[]) : [];
  const seen = new Map<string, number>();
  // A group entry is several model entries (one per member service) from one place in the file:
  // its messages are given once (for its first member); its corrections apply to every member.
  byConfigEntry(model).forEach(({ vs, index: i, first }) => {
    const vsNode = vsNodes[i];
    const p = `virtual_servers[${i}]`;
    const at = (node: Node | undefined, key: string): Node | undefined => nodeOf(node, key) ?? node;
    const err = (node: Node | undefined, path: string, msg: string) => { if (first) report(ctx, node, path, msg); };
    const warnOnce: typeof warn = (...args) => { if (first) warn(...args); };

    const prev = seen.get(vs.key);
    const keyField = vs.group !== undefined ? 'group' : vs.service.id.kind === 'fwmark' ? 'fwmark' : 'address';
    if (prev !== undefined && prev !== i) {
      // Always reported: each member that collides is its own error.
      report(ctx, at(vsNode, keyField), `${p}.${keyField}`,
        `${vs.key}${vs.group !== undefined ? ` (a service of group ${vs.group})` : ''} is already defined by virtual_servers[${prev}]`);
    } else if (prev !== undefined) {
      report(ctx, at(vsNode, keyField), `${p}.${keyField}`, `${vs.key} is twice in group ${vs.group ?? ''}`);
    } else seen.set(vs.key, i);

    // ipvsadm: "One-Packet Scheduling is only for UDP virtual services".
    if (vs.service.ops && !(vs.service.id.kind === 'inet' && vs.service.id.protocol === 'UDP')) {
      warnOnce(ctx, at(vsNode, 'ops'), `${p}.ops`, 'one-packet scheduling (ops) is only for UDP virtual servers: turned off, as keepalived does');
      fixes.push(() => { vs.service.ops = false; });
    }
    // keepalived removes duplicate real servers first, then sums the weights (observed).
    const weights = uniqueDests(vs.realServers).reduce((sum, rs) => sum + rs.dest.weight, 0);
    let quorum = vs.quorum;
    if (weights > 0 && quorum > weights) {
      warnOnce(ctx, at(vsNode, 'quorum'), `${p}.quorum`, `${quorum} is more than the real servers' total weight ${weights}: ` +
        `reduced to ${weights}, as keepalived reduces it (a quorum above the total could never be met)`);
      quorum = weights;
      fixes.push(() => { vs.quorum = weights; });
    }
    if (vs.hysteresis >= quorum && vs.hysteresis > 0) {
      // keepalived sets it to quorum - 1 (observed: hysteresis 3 with quorum 3 becomes 2).
      const lower = quorum - 1;
      warnOnce(ctx, at(vsNode, 'hysteresis'), `${p}.hysteresis`, `${vs.hysteresis} is not less than quorum ${quorum}: set to ${lower}, as keepalived does`);
      fixes.push(() => { vs.hysteresis = lower; });
    }
    const granNode = nodeOf(vsNode, 'persistence_granularity');
    if (granNode) {
      const v = isScalar(granNode) ? granNode.value : undefined;
      if (!vs.service.persistence) {
        err(granNode, `${p}.persistence_granularity`, 'needs persistence_timeout > 0');
      } else if (vs.family === 4 && typeof v !== 'string') {
        err(granNode, `${p}.persistence_granularity`, `an IPv4 virtual server takes a netmask like 255.255.255.0, got ${String(v)}`);
      } else if (vs.family === 6 && typeof v !== 'number') {
        err(granNode, `${p}.persistence_granularity`, `an IPv6 virtual server takes a prefix length 1..128, got ${String(v)}`);
      }
    }

    const rsNodes = listItems(nodeOf(vsNode, 'real_servers'));
    const dests = new Map<string, number>();
    const checkServer = (d: RealServer, node: Node | undefined, path: string, rs?: RealServerConfig) => {
      // Mixed families need tunnelling and are rarely what was meant; tandem refuses them.
      if (d.family !== vs.family) {
        err(at(node, 'address'), `${path}.address`, `must be IPv${vs.family} like ${vs.key}, got ${d.address}`);
      }
      if (vs.service.id.kind === 'inet') {
        const portNode = nodeOf(node, 'port');
        const servicePort = vs.service.id.port;
        // ipvsadm and keepalived give a DR/TUN real server the service's port: it cannot change it.
        if (d.forwarding !== 'NAT' && d.port !== servicePort && portNode && d.port !== 0) {
          warnOnce(ctx, portNode, `${path}.port`, `${d.forwarding} cannot change the port: the table entry takes ${servicePort} like the ` +
            `virtual server, as keepalived resets it (checks still connect to ${d.port}; use lb_kind NAT to change ports)`);
          fixes.push(() => {
            d.port = servicePort;
            if (rs) rs.id = realServerId(vs.key, destKey(d));
          });
        }
        if (d.port === 0 && portNode) err(portNode, `${path}.port`, 'expected an integer 1..65535, got 0');
      }
    };
    const duplicates: RealServerConfig[] = [];
    vs.realServers.forEach((rs, j) => {
      const node = rsNodes[j];
      const path = `${p}.real_servers[${j}]`;
      checkServer(rs.dest, node, path, rs);
      const k = destKey(rs.dest);
      const before = dests.get(k);
      if (before !== undefined) {
        warnOnce(ctx, at(node, 'address'), `${path}.address`, `${k} is already real_servers[${before}] of this virtual server: ` +
          'this one is ignored, as keepalived removes the second');
        duplicates.push(rs);
      } else dests.set(k, j);
      const checkNodes = listItems(nodeOf(node, 'checks'));
      rs.checks.forEach((c, n) => {
        const cNode = checkNodes[n];
        const inner = isMap(cNode) ? (cNode.items[0]?.value as Node | undefined) : undefined;
        if (c.kind !== 'misc_check' && c.kind !== 'ping_check' && c.connectPort === 0) {
          err(cNode, `${path}.checks[${n}].${c.kind}.connect_port`, 'required: the real server has no port (fwmark service)');
        }
        if (c.kind === 'misc_check' && c.timeoutMs > c.delayLoopMs && inner) {
          // keepalived accepts it, and so does tandem: one probe of a check runs at a time, so
          // a slow one only delays the next.
          warnOnce(ctx, nodeOf(inner, 'misc_timeout') ?? cNode, `${path}.checks[${n}].misc_check.misc_timeout`,
            `is longer than delay_loop (${c.delayLoopMs / 1000} s): a slow run delays the next one`);
        }
      });
    });
    if (duplicates.length) fixes.push(() => { vs.realServers = vs.realServers.filter((rs) => !duplicates.includes(rs)); });
    // keepalived finds duplicates by the ports as written, then resets DR/TUN ports, and then
    // runs two entries for one server: tandem cannot (one table entry per address and port).
    if (vs.service.id.kind === 'inet') {
      const servicePort = vs.service.id.port;
      const final = new Map<string, number>();
      vs.realServers.forEach((rs, j) => {
        if (duplicates.includes(rs)) return;
        const d = rs.dest;
        const k = destKey(d.forwarding !== 'NAT' && d.port !== 0 ? { ...d, port: servicePort } : d);
        const other = final.get(k);
        if (other !== undefined) {
          err(at(rsNodes[j], 'port'), `${p}.real_servers[${j}].port`, `with DR/TUN ports reset to ${servicePort}, this is ` +
            `real_servers[${other}] again: one server cannot be two table entries (keepalived runs both; tandem refuses it)`);
        } else final.set(k, j);
      });
    }
    if (vs.sorryServer) {
      const node = nodeOf(vsNode, 'sorry_server');
      checkServer(vs.sorryServer.dest, node, `${p}.sorry_server`);
      const k = destKey(vs.sorryServer.dest);
      const j = dests.get(k);
      if (j !== undefined) err(at(node, 'address'), `${p}.sorry_server.address`, `${k} is also real_servers[${j}]; the sorry server must be another server`);
    }
  });
}

/** The real servers without the second and later of each address and port (keepalived removes those). */
function uniqueDests(servers: readonly RealServerConfig[]): RealServerConfig[] {
  const seen = new Set<string>();
  return servers.filter((rs) => { const k = destKey(rs.dest); if (seen.has(k)) return false; seen.add(k); return true; });
}

function listItems(node: Node | undefined): Array<Node | undefined> {
  return isSeq(node) ? (node.items as Node[]) : [];
}


/** A `group:` that names no virtual_server_groups entry is an error at that key. */
export function crossCheckGroupReferences(root: Node, groupNames: ReadonlySet<string>, ctx: Ctx): void {
  listItems(nodeOf(root, 'virtual_servers')).forEach((vsNode, i) => {
    const g = nodeOf(vsNode, 'group');
    if (!isScalar(g) || typeof g.value !== 'string' || groupNames.has(g.value)) return;
    const names = [...groupNames];
    report(ctx, g, `virtual_servers[${i}].group`, `no virtual_server_groups entry is named ${g.value}` +
      (names.length ? `${suggest(g.value, names) ? ` (did you mean ${suggest(g.value, names)}?)` : ''}` : ' (there is no virtual_server_groups section)'));
  });
}
