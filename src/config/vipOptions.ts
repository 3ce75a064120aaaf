// One entry of `virtual_ipaddresses` / `virtual_ipaddresses_excluded`: keepalived's text
// ("192.0.2.10/24 dev eth1 label eth1:vip scope global brd + no_track") or a mapping with the
// same option names ({ address: 192.0.2.10/24, dev: eth1, label: "eth1:vip" }).
//
// The options and their rules are keepalived's, keepalived/vrrp/vrrp_ipaddress.c
// alloc_ipaddress() (2.2.x) and netlink_ipaddress(), and the man page (keepalived.conf(5),
// virtual_ipaddress):
// - dev NAME: the interface the address goes on (else the instance's);
// - scope NAME|N: find_rttables_scope(): global 0, site 200, link 253, host 254, nowhere 255, or a
//   number 0..255; IPv6 takes none ("Cannot specify scope for IPv6 addresses");
// - brd|broadcast ADDR|+|-: IPv4 only ("VRRP is trying to assign a broadcast ... to the IPv6
//   address ... skipping VIP"); '+' sets the host bits of the address, '-' clears them, for a
//   prefix of at most 30 ("Address prefix length %d too long for broadcast"); not with peer;
// - label TEXT: IPv4 only ("Cannot specify label for IPv6 addresses"); keepalived copies at most
//   IFNAMSIZ bytes, the kernel takes 15 characters (IFA_LABEL's policy). The man page: "it should
//   be of the form <realdev>:<anytext>"; `ip addr` refuses another (iproute2 ipaddr_modify()), the
//   kernel and keepalived do not: a warning here;
// - peer ADDR: a point-to-point peer (IFA_ADDRESS; the VIP is IFA_LOCAL), same family, no prefix
//   on either ("Cannot specify address prefix when specifying peer address");
// - no_track: deleting the address does not change the instance's state, and it comes back at
//   the next transition to MASTER (the man page);
// - preferred_lft N|forever: IPv6 (IFA_CACHEINFO); default 0 for a /128 (deprecated: never a
//   source address), forever otherwise (alloc_ipaddress(): "Set the old defaults");
// - home, noprefixroute, autojoin, mngtmpaddr: IFA_F_* flags; -nodad: duplicate address detection
//   stays on (IPv6 VIPs are added with IFA_F_NODAD otherwise);
// - track_group: static addresses only; use_vmac: issue 16 §3 (not built here).
import { isMap, isScalar } from './yaml.js';
import type { Node, Scalar } from 'yaml';
import { canonicalIp } from '../ip/address.js';
import { boolean, describe, field, object, report, subNode, warn, type Ctx, type Validator } from './fields.js';
import type { Vip, VipFlag } from './model.js';

/** keepalived's scope names (iproute2 rt_scopes). */
export const SCOPES: Readonly<Record<string, number>> = { global: 0, site: 200, link: 253, host: 254, nowhere: 255 };
export const FOREVER = 0xffffffff;
const FLAG_WORDS: readonly VipFlag[] = ['home', 'noprefixroute', 'autojoin', 'mngtmpaddr'];

/** An option's value as written, with the node to point at. */
interface Opt { value: string | number | boolean; node: Node }
type Opts = Map<string, Opt>;

const ifnamePattern = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** The keepalived text: the address first, then options (the one-word ones without a value). */
function parseText(n: Scalar, text: string, path: string, ctx: Ctx): { address: string; addrNode: Node; opts: Opts } | undefined {
  const words: Array<{ w: string; i: number }> = [];
  for (const m of text.matchAll(/\S+/g)) words.push({ w: m[0], i: m.index });
  if (words.length === 0) { report(ctx, n, path, 'expected an address with optional /prefix and options'); return undefined; }
  const opts: Opts = new Map();
  let ok = true;
  for (let k = 1; k < words.length; k++) {
    const { w, i } = words[k]!;
    const node = subNode(n, i);
    const key = w === 'broadcast' ? 'brd' : w === '-nodad' ? 'nodad' : w;
    if (opts.has(key)) {
      report(ctx, node, `${path}.${key}`, `${w} is given twice (keepalived: "Cannot specify ipaddress device more than once")`);
      ok = false;
      if (VALUE_OPTIONS.has(key)) k++;
      continue;
    }
    if (w === 'no_track' || w === '-nodad' || (FLAG_WORDS as readonly string[]).includes(w)) {
      opts.set(key, { value: w === '-nodad' ? false : true, node });
      continue;
    }
    if (!VALUE_OPTIONS.has(key)) {
      report(ctx, node, `${path}.${w}`, unknownOption(w));
      ok = false;
      continue;
    }
    const v = words[k + 1];
    if (!v) { report(ctx, node, `${path}.${key}`, `${w} needs a value (keepalived: "No ${w} parameter specified")`); ok = false; break; }
    opts.set(key, { value: v.w, node: subNode(n, v.i) });
    k++;
  }
  return ok ? { address: words[0]!.w, addrNode: subNode(n, words[0]!.i), opts } : undefined;
}

const VALUE_OPTIONS = new Set(['dev', 'scope', 'brd', 'label', 'peer', 'preferred_lft', 'track_group']);

function unknownOption(w: string): string {
  if (w === 'use_vmac') return 'use_vmac on an address is not supported yet (VMAC is issue 16 §3)';
  if (w === 'nodad') return 'unknown option nodad: keepalived\'s is -nodad (duplicate address detection on; IPv6 VIPs are added without it)';
  return `unknown option ${w} (keepalived's: dev, scope, brd, label, peer, no_track, preferred_lft, home, -nodad, noprefixroute, autojoin, mngtmpaddr)`;
}

const word = (what: string): Validator<string | number> => (at, ctx) => {
  const v = isScalar(at.node) ? at.node.value : undefined;
  if ((typeof v === 'string' && v.length) || typeof v === 'number') return v;
  report(ctx, at.node, at.path, `expected ${what}, got ${describe(at.node)}`);
  return undefined;
};

const mapShape = object({
  address: field(word('an address with optional /prefix'), { required: true }),
  dev: field(word('an interface name')),
  scope: field(word('a scope (global, site, link, host, nowhere or 0..255)')),
  brd: field(word('a broadcast address, + or -')),
  broadcast: field(word('a broadcast address, + or -')),
  label: field(word('a label')),
  peer: field(word('a peer address')),
  preferred_lft: field(word('a number of seconds or forever')),
  no_track: field(boolean),
  home: field(boolean),
  noprefixroute: field(boolean),
  autojoin: field(boolean),
  mngtmpaddr: field(boolean),
  // `nodad: false` is keepalived's `-nodad` (the default, true, adds IPv6 VIPs without DAD).
  nodad: field(boolean),
  track_group: field(word('a track group')),
  use_vmac: field(boolean),
});

/** A VIP entry (string or mapping) -> the model's Vip; every problem reported where it is. */
export const vipEntry: Validator<Vip> = (at, ctx) => {
  if (isScalar(at.node) && typeof at.node.value === 'string') {
    const parsed = parseText(at.node as Scalar, at.node.value, at.path, ctx);
    return parsed && build(parsed.address, parsed.addrNode, parsed.opts, at.node, at.path, ctx);
  }
  if (isMap(at.node)) {
    const raw = mapShape(at, ctx) as Record<string, unknown> | undefined;
    if (!raw) return undefined;
    const opts: Opts = new Map();
    for (const p of at.node.items) {
      if (!isScalar(p.key)) continue;
      const k = String(p.key.value);
      const key = k === 'broadcast' ? 'brd' : k;
      if (k === 'address' || raw[k] === undefined) continue;
      if (opts.has(key)) { report(ctx, p.key as Node, `${at.path}.${k}`, 'brd and broadcast are the same option: give one'); return undefined; }
      if (k === 'use_vmac' || (k === 'track_group')) { report(ctx, p.key as Node, `${at.path}.${k}`, unknownOption(k)); return undefined; }
      if (typeof raw[k] === 'boolean' && raw[k] === false && k !== 'nodad') continue;
      opts.set(key, { value: raw[k] as string | number | boolean, node: p.value as Node });
    }
    const addrNode = (at.node.items.find((p) => isScalar(p.key) && p.key.value === 'address')?.value as Node) ?? at.node;
    return build(String(raw.address), addrNode, opts, at.node, at.path, ctx);
  }
  report(ctx, at.node ?? at.parent, at.path, `expected an address (e.g. "192.0.2.100/24 dev eth1") or a mapping with address:, got ${describe(at.node)}`);
  return undefined;
};

function build(text: string, addrNode: Node, opts: Opts, entry: Node, path: string, ctx: Ctx): Vip | undefined {
  const [addr, len, ...rest] = text.split('/');
  const ip = addr ? canonicalIp(addr) : undefined;
  if (!ip || rest.length) {
    report(ctx, addrNode, path, `expected an address with optional /prefix (e.g. 192.0.2.100/24), got ${JSON.stringify(text)}`);
    return undefined;
  }
  const max = ip.family === 4 ? 32 : 128;
  let prefixLen = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(prefixLen >= 0 && prefixLen <= max)) {
    report(ctx, addrNode, path, `prefix length must be 0..${max}, got ${JSON.stringify(text)}`);
    return undefined;
  }
  const vip: Vip = { address: ip.address, prefixLen, family: ip.family };
  let ok = true;
  const bad = (key: string, msg: string) => { report(ctx, opts.get(key)!.node, `${path}.${key}`, msg); ok = false; };
  const str = (key: string) => String(opts.get(key)!.value);
  const v6Only = ip.family === 6;

  if (opts.has('track_group')) bad('track_group', 'track_group applies to static addresses only (keepalived: "Unknown configuration entry \'track_group\' for ip address")');
  if (opts.has('dev')) {
    if (ifnamePattern.test(str('dev'))) vip.dev = str('dev'); else bad('dev', `expected an interface name (1..15 characters), got ${JSON.stringify(str('dev'))}`);
  }
  if (opts.has('scope')) {
    const s = str('scope');
    const n = Object.hasOwn(SCOPES, s) ? SCOPES[s]! : /^\d{1,3}$/.test(s) && Number(s) <= 255 ? Number(s) : undefined;
    if (v6Only) bad('scope', 'IPv6 addresses take no scope (keepalived vrrp_ipaddress.c alloc_ipaddress(): "Cannot specify scope for IPv6 addresses"); the kernel sets it from the address');
    else if (n === undefined) bad('scope', `expected global, site, link, host, nowhere or 0..255, got ${JSON.stringify(s)} (keepalived: "Invalid scope")`);
    else vip.scope = n;
  }
  if (opts.has('peer')) {
    // keepalived 2.2.7 reads the peer with parse_ipaddress(..., false): no /prefix ("VRRP parsed
    // invalid IP 203.0.113.2/32", "Invalid peer address"), and the VIP's prefix becomes the
    // peer's, a full /32 or /128.
    const peer = canonicalIp(str('peer'));
    if (!peer) bad('peer', `expected an address without /prefix, got ${JSON.stringify(str('peer'))} (keepalived: "Invalid peer address")`);
    else if (peer.family !== ip.family) bad('peer', `${peer.address} is IPv${peer.family}, the address IPv${ip.family} (keepalived: "Peer address %s does not match address family")`);
    else if (len !== undefined && prefixLen !== max) bad('peer', `an address with a peer is a /${max} (keepalived: "Cannot specify address prefix when specifying peer address"): drop /${prefixLen}`);
    else { vip.peer = peer.address; prefixLen = vip.prefixLen = max; }
  }
  if (opts.has('brd')) {
    const b = str('brd');
    if (v6Only) bad('brd', 'IPv6 has no broadcast (keepalived: "VRRP is trying to assign a broadcast ... to the IPv6 address ... skipping VIP")');
    else if (vip.peer !== undefined) bad('brd', 'brd and peer together: keepalived ignores the broadcast ("Cannot specify broadcast and peer addresses"); give one');
    else if (b === '+' || b === '-') {
      if (prefixLen > 30) bad('brd', `brd ${b} needs a prefix of at most 30, the address has /${prefixLen} (keepalived: "Address prefix length %d too long for broadcast")`);
      else vip.broadcast = hostBits(ip.address, prefixLen, b === '+');
    } else {
      const bi = canonicalIp(b);
      if (!bi || bi.family !== 4) bad('brd', `expected an IPv4 address, + or -, got ${JSON.stringify(b)} (keepalived: "VRRP is trying to assign invalid broadcast")`);
      else vip.broadcast = bi.address;
    }
  }
  if (opts.has('label')) {
    const l = str('label');
    if (v6Only) bad('label', 'IPv6 addresses have no label (keepalived vrrp_ipaddress.c alloc_ipaddress(): "Cannot specify label for IPv6 addresses")');
    else if (l.length > 15 || !/^[\x21-\x7e]+$/.test(l)) bad('label', `expected a label of 1..15 printable characters, got ${JSON.stringify(l)} (IFA_LABEL holds IFNAMSIZ - 1)`);
    else vip.label = l;
  }
  if (opts.has('preferred_lft')) {
    const p = opts.get('preferred_lft')!.value;
    const n = p === 'forever' ? FOREVER : typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= FOREVER ? p
      : typeof p === 'string' && /^\d{1,10}$/.test(p) && Number(p) <= FOREVER ? Number(p) : undefined;
    if (!v6Only) bad('preferred_lft', 'preferred_lft is for IPv6 addresses (keepalived sends IFA_CACHEINFO for IPv6 only, vrrp_ipaddress.c netlink_ipaddress())');
    else if (n === undefined) bad('preferred_lft', `expected a number of seconds 0..4294967295 or forever, got ${JSON.stringify(p)} (keepalived: "preferred_lft %s is invalid")`);
    else vip.preferredLft = n;
  }
  if (ip.family === 6 && vip.preferredLft === undefined && prefixLen === 128) vip.preferredLft = 0;
  if (opts.get('no_track')?.value === true) vip.noTrack = true;
  const flags = FLAG_WORDS.filter((f) => opts.get(f)?.value === true);
  if (flags.length) vip.flags = flags;
  if (opts.has('nodad') && opts.get('nodad')!.value === false) {
    if (!v6Only) bad('nodad', '-nodad is for IPv6 addresses (IPv4 has no duplicate address detection)');
    else vip.dad = true;
  }
  void entry;
  return ok ? vip : undefined;
}

/** The label rule of the man page and iproute2 (ipaddr_modify(): "label must match dev or be
 *  prefixed by dev with a colon"): warned, not refused, as keepalived and the kernel accept it. */
export function checkLabel(vip: Vip, instanceIf: string, node: Node | undefined, path: string, ctx: Ctx): void {
  if (vip.label === undefined) return;
  const dev = vip.dev ?? instanceIf;
  if (vip.label !== dev && !vip.label.startsWith(`${dev}:`)) {
    warn(ctx, node, path, `label ${vip.label} does not start with ${dev}: (keepalived.conf(5): "it should be of the form <realdev>:<anytext>"; ip addr refuses it, keepalived and the kernel add it)`);
  }
}

/** `+`: the address with every host bit set; `-`: cleared (iproute2's brd +/-). */
function hostBits(address: string, prefixLen: number, set: boolean): string {
  const n = address.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
  const mask = prefixLen === 0 ? 0xffffffff : (0xffffffff >>> prefixLen);
  const b = (set ? (n | mask) : (n & ~mask)) >>> 0;
  return [24, 16, 8, 0].map((s) => (b >>> s) & 0xff).join('.');
}

/** A static_ipaddress entry: a VIP entry that names its dev (there is no instance whose
 *  interface it could take). */
export const staticAddressEntry: Validator<Vip & { dev: string }> = (at, ctx) => {
  const v = vipEntry(at, ctx);
  if (v === undefined) return undefined;
  if (v.dev === undefined) {
    report(ctx, at.node, at.path, `a static address needs dev (e.g. "${v.address}/${v.prefixLen} dev eth0"): there is no instance whose interface it could take`);
    return undefined;
  }
  return v as Vip & { dev: string };
};
