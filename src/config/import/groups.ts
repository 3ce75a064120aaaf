// virtual_server_group: a named list of services (address ranges with a port, and firewall marks)
// that a `virtual_server group NAME { ... }` block configures all at once. keepalived programs one
// IPVS service per address of each range and one per mark, each with the block's settings and
// real servers (check/ipvswrapper.c ipvs_group_range_cmd() walks the range). tandem has no
// group yet, so the import writes the virtual servers the group stands for, each marked with
// the group entry it came from.
//
// Entries, as check/check_data.c alloc_vsg_entry() (2.2.7) reads them:
//   fwmark N [inet|inet6]        a firewall-mark service (the family is optional);
//   A-N PORT                     A to N, N replacing the last byte (IPv4, decimal, up to 255) or
//                                the last 16-bit group (IPv6, hex, lib/utils.c inet_stor()); N
//                                must be greater than A's last part;
//   A-B PORT                     A to B, B a whole address of A's family, B >= A;
//   A/LEN PORT                   every address of the network (A's host bits must be zero);
//   A PORT                       one address.
// A port of 0 or none is "all ports", which keepalived allows only with persistence and tandem
// does not have: such an entry is noted and left out.
import { canonicalIp, inetNtop, parseIp } from '../../ip/address.js';
import { changed, note, type Ctx } from './notes.js';
import type { Stmt } from './parse.js';

/** One service of a group, as it will be written: an address and port, or a mark. */
export type GroupService =
  | { kind: 'inet'; address: string; port: number; family: 4 | 6; entry: Stmt }
  | { kind: 'fwmark'; fwmark: number; family: 4 | 6 | undefined; entry: Stmt };

export interface VirtualServerGroup {
  name: string;
  stmt: Stmt;
  services: GroupService[];
}

/** More services than this in one group is refused with a note (an IPv6 /64 would be 2^64). */
export const MAX_GROUP_SERVICES = 1024;

export function parseVirtualServerGroup(ctx: Ctx, s: Stmt): VirtualServerGroup | undefined {
  const name = s.words[1];
  if (!name || s.words.length > 2) { note(ctx, s, 'expected virtual_server_group <name> { ... }'); return undefined; }
  const services: GroupService[] = [];
  let fwmarkNoFamily = false;
  const families = new Set<4 | 6>();
  for (const e of s.block ?? []) {
    const first = e.words[0]!;
    if (first === 'fwmark') {
      const text = e.words[1];
      const mark = text !== undefined && /^\d{1,10}$/.test(text) ? Number(text) : NaN;
      if (!(mark >= 1 && mark <= 0xffffffff)) { note(ctx, e, `expected fwmark 1..4294967295, got ${JSON.stringify(text ?? '')}`, 'fwmark'); continue; }
      const fam = e.words[2];
      if (fam !== undefined && fam !== 'inet' && fam !== 'inet6') { changed(ctx, e, `fwmark family ${fam} unknown: keepalived ignores the entry (check_data.c alloc_vsg_entry), and so does the conversion`, 'fwmark'); continue; }
      const family = fam === 'inet' ? 4 : fam === 'inet6' ? 6 : undefined;
      if (family) families.add(family); else fwmarkNoFamily = true;
      services.push({ kind: 'fwmark', fwmark: mark, family, entry: e });
      continue;
    }
    const range = addressRange(ctx, e);
    if (!range) continue;
    const portText = e.words[1];
    const port = portText !== undefined && /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (portText === undefined || port === 0) {
      note(ctx, e, 'no port: keepalived makes it a service of every port (persistent); tandem has no such service: entry not converted', first);
      continue;
    }
    if (!(port >= 1 && port <= 65535)) { note(ctx, e, `expected a port 1..65535, got ${JSON.stringify(portText)}`, first); continue; }
    if (e.words.length > 2) note(ctx, e, `extra words ignored: ${e.words.slice(2).join(' ')}`, first);
    families.add(range.family);
    const count = range.last - range.first + 1n;
    if (BigInt(services.length) + count > BigInt(MAX_GROUP_SERVICES)) {
      note(ctx, e, `the group would stand for more than ${MAX_GROUP_SERVICES} virtual servers: entry not converted`, first);
      continue;
    }
    for (let a = range.first; a <= range.last; a++) {
      services.push({ kind: 'inet', address: fromBig(a, range.family), port, family: range.family, entry: e });
    }
  }
  if (families.has(4) && families.has(6) && fwmarkNoFamily) {
    changed(ctx, s, `keepalived removes the group (check_data.c vsg_handler: "virtual server group ${name} cannot have IPv4, IPv6 and fwmark without family - removing"), and so does the conversion`);
    return undefined;
  }
  if ((s.block ?? []).length === 0) {
    changed(ctx, s, `keepalived removes the group (check_data.c vsg_handler: "virtual server group ${name} has no entries - removing"), and so does the conversion`);
    return undefined;
  }
  return { name, stmt: s, services };
}

interface Range { first: bigint; last: bigint; family: 4 | 6 }

function addressRange(ctx: Ctx, e: Stmt): Range | undefined {
  const text = e.words[0]!;
  const bad = (why: string): undefined => { note(ctx, e, `${why}: keepalived skips the entry (check_data.c alloc_vsg_entry)`, text); return undefined; };
  const slash = text.indexOf('/');
  const dash = text.indexOf('-');
  const startText = slash >= 0 ? text.slice(0, slash) : dash >= 0 ? text.slice(0, dash) : text;
  const start = canonicalIp(startText);
  if (!start) return bad(`${JSON.stringify(startText)} is not an IP address`);
  const family = start.family;
  const bits = family === 4 ? 32 : 128;
  const a = toBig(start.address)!;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    const len = /^\d{1,3}$/.test(lenText) ? Number(lenText) : NaN;
    if (!(len >= 1 && len <= bits)) return bad(`invalid netmask ${JSON.stringify(lenText)}`);
    const host = (1n << BigInt(bits - len)) - 1n;
    if ((a & host) !== 0n) return bad('address mask bits not empty');
    return { first: a, last: a | host, family };
  }
  if (dash < 0) return { first: a, last: a, family };
  const endText = text.slice(dash + 1);
  if (endText.includes(family === 4 ? '.' : ':')) {
    const end = canonicalIp(endText)?.family === family ? toBig(endText) : undefined;
    if (end === undefined) return bad(`invalid range end ${JSON.stringify(endText)}`);
    if (end < a) return bad('the range ends before it starts');
    return { first: a, last: end, family };
  }
  // lib/utils.c inet_stor(): strtoul(end, 10 for IPv4, 16 for IPv6); the number replaces the
  // last byte / 16-bit group, and must be greater than it (check_data.c alloc_vsg_entry()).
  const m = (family === 4 ? /^(\d+)(.*)$/ : /^([0-9a-fA-F]+)(.*)$/).exec(endText);
  if (!m) return bad(`invalid range end ${JSON.stringify(endText)}`);
  const n = BigInt(parseInt(m[1]!, family === 4 ? 10 : 16));
  const max = family === 4 ? 0xffn : 0xffffn;
  if (n > max) return bad(`range end ${m[1]} too large`);
  if (m[2]) {
    // The daemon warns and uses the number ("has extra characters at end"; keepalived -t skips it).
    changed(ctx, e, `keepalived warns about the extra characters ${JSON.stringify(m[2])} after the range end and reads it as ${m[1]} (lib/utils.c inet_stor)`, text);
  }
  const low = a & max;
  if (low >= n) return bad('the range end is not greater than its start');
  return { first: a, last: (a & ~max) | n, family };
}

/** The address as one unsigned number (network byte order). */
function toBig(address: string): bigint | undefined {
  return parseIp(canonicalIp(address)?.address ?? '')?.bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

function fromBig(n: bigint, family: 4 | 6): string {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = bytes.length - 1; i >= 0; i--, n >>= 8n) bytes[i] = Number(n & 0xffn);
  return inetNtop(bytes);
}
