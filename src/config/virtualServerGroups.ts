// virtual_server_groups: a named list of services (address ranges with a port, single addresses,
// networks, firewall marks) that one `virtual_servers` entry with `group: NAME` configures all at
// once (keepalived's `virtual_server_group NAME { ... }` and `virtual_server group NAME { ... }`).
//
// keepalived keeps one virtual_server_t for the block: one set of real servers, one checker per
// real server, one quorum, and programs the block's settings and real servers into every IPVS
// service the group stands for (check/ipvswrapper.c ipvs_group_cmd() / ipvs_group_range_cmd()
// walk each entry's range). tandem expands the group into one virtual service per member in the
// LB model (config/virtualServers.ts toVirtualServerModel), so the table (IPVS or nft) holds each
// member service, and marks each with the group: the checker merge (check/merge.ts checkKey)
// makes a real server's checks one probe for the whole group, and lb/service.ts raises the real
// server and quorum alerts once per group, as keepalived's single block does.
//
// Entries, as check/check_data.c alloc_vsg_entry() (2.2.7) reads them, as keepalived's text or as
// a mapping with the same parts:
//   "fwmark N [inet|inet6]"        { fwmark: N, ip_family: inet6 }
//   "A-N PORT"                     A to N, N replacing the last byte (IPv4, decimal, up to 255) or
//                                  the last 16-bit group (IPv6, hex, lib/utils.c inet_stor()); N
//                                  must be greater than A's last part
//   "A-B PORT"                     A to B, B a whole address of A's family, B >= A
//   "A/LEN PORT"                   every address of the network (A's host bits must be zero)
//   "A PORT"                       { address: A (or a range / network), port: PORT }
// keepalived's "no port" entry (every port, which it allows only with persistence) is refused:
// tandem has no all-ports service.
import { isMap, isScalar } from './yaml.js';
import type { Node } from 'yaml';
import { canonicalIp, inetNtop, parseIp } from '../ip/address.js';
import { describe, field, integer, list, nodeOf, object, oneOf, report, reportDuplicateNames, string, type Ctx, type Validator } from './fields.js';

/** More services than this in one group is refused (an IPv6 /64 would be 2^64): 1024 services
 *  x their real servers is already a large table for one config entry. */
export const MAX_GROUP_SERVICES = 1024;

/** One service of a group: an address and port, or a mark. */
export type GroupService =
  | { kind: 'inet'; address: string; port: number; family: 4 | 6 }
  | { kind: 'fwmark'; fwmark: number; family: 4 | 6 | undefined };

/** One entry as written: a range of addresses with a port, or a mark. */
export type GroupEntry =
  | { kind: 'inet'; first: bigint; last: bigint; family: 4 | 6; port: number }
  | { kind: 'fwmark'; fwmark: number; family: 4 | 6 | undefined };

export interface AddressRange { first: bigint; last: bigint; family: 4 | 6 }

/** The range an address entry stands for, or why keepalived skips it (alloc_vsg_entry()). */
export function parseAddressRange(text: string): AddressRange | { error: string } {
  const slash = text.indexOf('/');
  const dash = text.indexOf('-');
  const startText = slash >= 0 ? text.slice(0, slash) : dash >= 0 ? text.slice(0, dash) : text;
  const start = canonicalIp(startText);
  if (!start) return { error: `${JSON.stringify(startText)} is not an IP address` };
  const family = start.family;
  const bits = family === 4 ? 32 : 128;
  const a = addressToBig(start.address);
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    const len = /^\d{1,3}$/.test(lenText) ? Number(lenText) : NaN;
    if (!(len >= 1 && len <= bits)) return { error: `invalid netmask ${JSON.stringify(lenText)}` };
    const host = (1n << BigInt(bits - len)) - 1n;
    if ((a & host) !== 0n) return { error: 'address mask bits not empty' };
    return { first: a, last: a | host, family };
  }
  if (dash < 0) return { first: a, last: a, family };
  const endText = text.slice(dash + 1);
  if (endText.includes(family === 4 ? '.' : ':')) {
    const end = canonicalIp(endText);
    if (end?.family !== family) return { error: `invalid range end ${JSON.stringify(endText)}` };
    const b = addressToBig(end.address);
    if (b < a) return { error: 'the range ends before it starts' };
    return { first: a, last: b, family };
  }
  // lib/utils.c inet_stor(): strtoul(end, 10 for IPv4, 16 for IPv6); the number replaces the last
  // byte / 16-bit group, and must be greater than it (check_data.c alloc_vsg_entry()). keepalived
  // warns about characters after the number and uses it; tandem's own config refuses them.
  const m = (family === 4 ? /^(\d+)$/ : /^([0-9a-fA-F]+)$/).exec(endText);
  if (!m) return { error: `invalid range end ${JSON.stringify(endText)}` };
  const n = BigInt(parseInt(m[1]!, family === 4 ? 10 : 16));
  const max = family === 4 ? 0xffn : 0xffffn;
  if (n > max) return { error: `range end ${m[1]} too large` };
  if ((a & max) >= n) return { error: 'the range end is not greater than its start' };
  return { first: a, last: (a & ~max) | n, family };
}

/** The address as one unsigned number (network byte order). `address` must be canonical. */
export function addressToBig(address: string): bigint {
  return parseIp(address)!.bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

export function bigToAddress(n: bigint, family: 4 | 6): string {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = bytes.length - 1; i >= 0; i--, n >>= 8n) bytes[i] = Number(n & 0xffn);
  return inetNtop(bytes);
}

/** How many services an entry stands for. */
export function entrySize(e: GroupEntry): bigint {
  return e.kind === 'fwmark' ? 1n : e.last - e.first + 1n;
}

/** The services of a group's entries, in order (each range walked as ipvs_group_range_cmd()). */
export function groupServices(entries: readonly GroupEntry[]): GroupService[] {
  const out: GroupService[] = [];
  for (const e of entries) {
    if (e.kind === 'fwmark') { out.push({ kind: 'fwmark', fwmark: e.fwmark, family: e.family }); continue; }
    for (let a = e.first; a <= e.last; a++) out.push({ kind: 'inet', address: bigToAddress(a, e.family), port: e.port, family: e.family });
  }
  return out;
}

const FAMILY_WORDS: Record<string, 4 | 6> = { inet: 4, inet6: 6 };

/** keepalived's entry text: "A[-N|/LEN] PORT" or "fwmark N [inet|inet6]". */
function entryFromText(text: string): GroupEntry | { error: string } {
  const words = text.trim().split(/\s+/);
  if (words[0] === 'fwmark') {
    const mark = /^\d{1,10}$/.test(words[1] ?? '') ? Number(words[1]) : NaN;
    if (!(mark >= 1 && mark <= 0xffffffff)) return { error: `expected fwmark 1..4294967295, got ${JSON.stringify(words[1] ?? '')}` };
    if (words.length > 3) return { error: `unexpected ${JSON.stringify(words.slice(3).join(' '))} after the family` };
    if (words[2] !== undefined && !(words[2] in FAMILY_WORDS)) return { error: `expected inet or inet6 after the mark, got ${JSON.stringify(words[2])}` };
    return { kind: 'fwmark', fwmark: mark, family: words[2] === undefined ? undefined : FAMILY_WORDS[words[2]] };
  }
  if (words.length !== 2) {
    return { error: words.length < 2
      ? 'expected "ADDRESS PORT" (a port is required: tandem has no all-ports service) or "fwmark N [inet|inet6]"'
      : `unexpected ${JSON.stringify(words.slice(2).join(' '))} after the port` };
  }
  return inetEntry(words[0]!, words[1]!);
}

function inetEntry(addressText: string, portText: string | number): GroupEntry | { error: string } {
  const range = parseAddressRange(addressText);
  if ('error' in range) return range;
  const port = typeof portText === 'number' ? portText : /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    return { error: `expected a port 1..65535, got ${JSON.stringify(portText)} (tandem has no all-ports service)` };
  }
  return { kind: 'inet', ...range, port };
}

const entryMap = object({
  address: field(string({ what: 'an address, a range (A-N, A-B) or a network (A/LEN)' })),
  port: field(integer(1, 65535)),
  fwmark: field(integer(1, 0xffffffff)),
  ip_family: field(oneOf(['inet', 'inet6'] as const)),
});

/** One member entry: keepalived's text, or a mapping with the same parts. */
const groupEntry: Validator<GroupEntry> = (at, ctx) => {
  let r: GroupEntry | { error: string };
  if (isScalar(at.node) && typeof at.node.value === 'string') r = entryFromText(at.node.value);
  else if (isMap(at.node)) {
    const m = entryMap(at, ctx);
    if (m === undefined) return undefined;
    if ((m.fwmark === undefined) === (m.address === undefined)) {
      report(ctx, at.node, at.path, 'give either address and port, or fwmark');
      return undefined;
    }
    if (m.fwmark !== undefined) {
      if (m.port !== undefined) { report(ctx, nodeOf(at.node, 'port'), `${at.path}.port`, 'a fwmark entry has no port (the mark selects the packets)'); return undefined; }
      r = { kind: 'fwmark', fwmark: m.fwmark, family: m.ip_family === undefined ? undefined : FAMILY_WORDS[m.ip_family] };
    } else {
      if (m.ip_family !== undefined) { report(ctx, nodeOf(at.node, 'ip_family'), `${at.path}.ip_family`, 'only for fwmark entries; the address gives the family'); return undefined; }
      if (m.port === undefined) { report(ctx, at.node, `${at.path}.port`, 'required key is missing (tandem has no all-ports service)'); return undefined; }
      r = inetEntry(m.address!, m.port);
    }
  } else {
    report(ctx, at.node, at.path, `expected "ADDRESS PORT", "fwmark N [inet|inet6]" or a mapping, got ${describe(at.node)}`);
    return undefined;
  }
  if ('error' in r) { report(ctx, isMap(at.node) ? nodeOf(at.node, 'address') ?? at.node : at.node, at.path, r.error); return undefined; }
  return r;
};

const groupName = string({ pattern: /^[A-Za-z0-9_.-]+$/, what: 'a name of letters, digits, _ . -' });

const groupObject = object({
  name: field(groupName, { required: true }),
  members: field(list(groupEntry, { min: 1 }), { required: true }),
});

/** One group; also bounds how many services it stands for. */
export const virtualServerGroupShape: Validator<NonNullable<ReturnType<typeof groupObject>>> = (at, ctx) => {
  const g = groupObject(at, ctx);
  if (g === undefined) return undefined;
  const total = g.members.reduce((n, e) => n + entrySize(e), 0n);
  if (total > BigInt(MAX_GROUP_SERVICES)) {
    report(ctx, nodeOf(at.node, 'members') ?? at.node, `${at.path}.members`,
      `stands for ${total} virtual servers; at most ${MAX_GROUP_SERVICES} per group (split it, or use a fwmark for a large range)`);
    return undefined;
  }
  return g;
};

export type RawVirtualServerGroup = NonNullable<ReturnType<typeof virtualServerGroupShape>>;

/** The groups by name, expanded (the first of two with one name: the loader reports the second). */
export function groupsByName(raws: readonly RawVirtualServerGroup[]): Map<string, GroupService[]> {
  const out = new Map<string, GroupService[]>();
  for (const g of raws) if (!out.has(g.name)) out.set(g.name, groupServices(g.members));
  return out;
}

/** Errors across groups: a name used twice (keepalived check_parser.c vsg_handler() would add both
 *  and ipvs_get_group_by_name() find only the first: tandem refuses the ambiguity). */
export function crossCheckVirtualServerGroups(root: Node, ctx: Ctx): void {
  reportDuplicateNames(root, 'virtual_server_groups', ctx, (n, first) => `duplicate virtual_server_group name ${n} (first at virtual_server_groups[${first}])`);
}
