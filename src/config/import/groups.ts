// virtual_server_group: a named list of services (address ranges with a port, and firewall marks)
// that a `virtual_server group NAME { ... }` block configures all at once. keepalived programs one
// IPVS service per address of each range and one per mark, each with the block's settings and
// real servers (check/ipvswrapper.c ipvs_group_range_cmd() walks the range). tandem's config has
// the same groups (config/virtualServerGroups.ts): the import writes each group a block uses to
// `virtual_server_groups` (its entries as keepalived's text) and the block as one virtual server
// with `group: NAME` (virtualServers.ts convertGroupServer()).
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
import { canonicalIp } from '../../ip/address.js';
import { bigToAddress, MAX_GROUP_SERVICES, parseAddressRange, type AddressRange } from '../virtualServerGroups.js';
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

export { MAX_GROUP_SERVICES };

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
    entryText.set(e, `${range.text} ${port}`);
    families.add(range.family);
    const count = range.last - range.first + 1n;
    if (BigInt(services.length) + count > BigInt(MAX_GROUP_SERVICES)) {
      note(ctx, e, `the group would stand for more than ${MAX_GROUP_SERVICES} virtual servers: entry not converted`, first);
      continue;
    }
    for (let a = range.first; a <= range.last; a++) {
      services.push({ kind: 'inet', address: bigToAddress(a, range.family), port, family: range.family, entry: e });
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

/**
 * The range of an address entry (config/virtualServerGroups.ts parseAddressRange(), the rules of
 * check/check_data.c alloc_vsg_entry()), and the text tandem's config takes for it. keepalived
 * reads a range end with characters after the number as the number, with a warning (lib/utils.c
 * inet_stor()); tandem's config refuses such text, so the conversion writes the number alone.
 */
function addressRange(ctx: Ctx, e: Stmt): (AddressRange & { text: string }) | undefined {
  const written = e.words[0]!;
  let text = written;
  const dash = written.indexOf('-');
  const start = dash >= 0 ? canonicalIp(written.slice(0, dash)) : undefined;
  const end = written.slice(dash + 1);
  if (start && !/[.:]/.test(end)) {
    const m = (start.family === 4 ? /^(\d+)(\D.*)$/ : /^([0-9a-fA-F]+)([^0-9a-fA-F].*)$/).exec(end);
    if (m) {
      changed(ctx, e, `keepalived warns about the extra characters ${JSON.stringify(m[2])} after the range end and reads it as ${m[1]} (lib/utils.c inet_stor)`, written);
      text = `${written.slice(0, dash + 1)}${m[1]}`;
    }
  }
  const r = parseAddressRange(text);
  if ('error' in r) { note(ctx, e, `${r.error}: keepalived skips the entry (check_data.c alloc_vsg_entry)`, written); return undefined; }
  return { ...r, text };
}

/** The entry as `virtual_server_groups` takes it (keepalived's text, the range end cleaned). */
export function groupEntryText(e: Stmt): string {
  return entryText.get(e) ?? e.words.join(' ');
}
const entryText = new WeakMap<Stmt, string>();
