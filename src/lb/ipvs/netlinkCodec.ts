// The kernel's IPVS generic netlink family ("IPVS", include/uapi/linux/ip_vs.h), pure: table
// operations -> request messages, GET_SERVICE / GET_DEST dump replies -> the LbTable types.
// No node: imports; Uint8Array and DataView only.
//
// Wire layout (linux/netlink.h, linux/genetlink.h; every part padded to 4 bytes):
//   nlmsghdr   len u32 | type u16 (the family id) | flags u16 | seq u32 | pid u32
//   genlmsghdr cmd u8 | version u8 (IPVS_GENL_VERSION = 1) | reserved u16
//   attributes nlattr: len u16 (header included, padding not) | type u16 | payload
// Integers are in host byte order except where ip_vs.h says __be: IPVS_SVC_ATTR_PORT,
// IPVS_DEST_ATTR_PORT and IPVS_DEST_ATTR_TUN_PORT are network order, addresses are raw bytes in
// a 16-byte union nf_inet_addr (IPv4 in the first 4).
//
// What the requests carry follows ipvsadm 1.31's libipvs (ipvs_nl_fill_service_attr /
// ipvs_nl_fill_dest_attr) and what the kernel's ip_vs_genl_parse_service / _parse_dest require:
// - NEW_SERVICE / SET_SERVICE: the whole service (AF, FWMARK or PROTOCOL+ADDR+PORT, SCHED_NAME,
//   FLAGS {flags, mask = ~0}, TIMEOUT, NETMASK, and PE_NAME when set). mask ~0 replaces every
//   flag, so an edit carries the complete entry, as `ipvsadm -E` does.
// - NETMASK: an IPv4 mask as its 4 address bytes (255.255.255.255 when not persistent); for IPv6
//   the prefix length as a host-order u32 (128 when not given): ip_vs_add_service refuses an
//   IPv6 service whose netmask is not 1..128, persistent or not.
// - DEL_SERVICE and every destination command name the service by its identifying attributes
//   only; the kernel looks it up and answers ESRCH when it is not there.
// - NEW_DEST / SET_DEST: ADDR_FAMILY, ADDR, PORT, FWD_METHOD, WEIGHT, U_THRESH = L_THRESH = 0
//   and, for TUN, TUN_TYPE / TUN_PORT / TUN_FLAGS (all zero = ipip). A DR or TUN real server of
//   an address service gets the service's port, as ipvsadm gives it, so both backends leave the
//   same table. DEL_DEST: ADDR_FAMILY, ADDR, PORT.
// Nested attributes are written without NLA_F_NESTED, as the kernel's own IPVS dumps are
// (nla_nest_start_noflag); the family parses them leniently either way.
import { formatIp, parseIp, type Family } from '../../ip/address.js';
import {
  type Forwarding, hostPort, type Protocol, type RealServer, type ServiceAddress, serviceKey, type Tunnel,
  type TunnelCsum, type VirtualService,
} from '../../config/lbModel.js';
import type { TableOp } from '../reconcile.js';

export const IPVS_GENL_NAME = 'IPVS';
export const IPVS_GENL_VERSION = 1;

// linux/netlink.h
const NLMSG_HDRLEN = 16;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLMSG_NOOP = 1;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH
const NLA_HDRLEN = 4;
const NLA_TYPE_MASK = 0x3fff; // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
const GENL_HDRLEN = 4;

/** IPVS_CMD_* (ip_vs.h). */
export const IpvsCmd = {
  NEW_SERVICE: 1, SET_SERVICE: 2, DEL_SERVICE: 3, GET_SERVICE: 4,
  NEW_DEST: 5, SET_DEST: 6, DEL_DEST: 7, GET_DEST: 8,
} as const;

const CMD_ATTR_SERVICE = 1;
const CMD_ATTR_DEST = 2;

const SVC_ATTR = { AF: 1, PROTOCOL: 2, ADDR: 3, PORT: 4, FWMARK: 5, SCHED_NAME: 6, FLAGS: 7, TIMEOUT: 8, NETMASK: 9, PE_NAME: 11 } as const;
const DEST_ATTR = {
  ADDR: 1, PORT: 2, FWD_METHOD: 3, WEIGHT: 4, U_THRESH: 5, L_THRESH: 6, ADDR_FAMILY: 11,
  TUN_TYPE: 13, TUN_PORT: 14, TUN_FLAGS: 15,
} as const;

// Service flags (IP_VS_SVC_F_*).
const SVC_F_PERSISTENT = 0x1;
const SVC_F_ONEPACKET = 0x4;
const SVC_F_SCHED1 = 0x8;
const SVC_F_SCHED2 = 0x10;
const SVC_F_SCHED3 = 0x20;

// Forwarding (IP_VS_CONN_F_*, the FWD_MASK bits).
const CONN_F_FWD_MASK = 0x7;
const CONN_F_MASQ = 0;
const CONN_F_LOCALNODE = 1;
const CONN_F_TUNNEL = 2;
const CONN_F_DROUTE = 3;
const FWD_METHOD: Record<Forwarding, number> = { NAT: CONN_F_MASQ, TUN: CONN_F_TUNNEL, DR: CONN_F_DROUTE };

// Tunnels (IP_VS_CONN_F_TUNNEL_TYPE_*, IP_VS_TUNNEL_ENCAP_FLAG_*).
const TUN_TYPE = { ipip: 0, gue: 1, gre: 2 } as const;
const TUN_FLAG_CSUM = 0x1;
const TUN_FLAG_REMCSUM = 0x2;
const TUN_FLAGS: Record<TunnelCsum, number> = { nocsum: 0, csum: TUN_FLAG_CSUM, remcsum: TUN_FLAG_REMCSUM };

const AF_INET = 2;
const AF_INET6 = 10;
const PROTOCOL_NUMBER: Record<Protocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };
const PROTOCOL_NAME = new Map<number, Protocol>([[6, 'TCP'], [17, 'UDP'], [132, 'SCTP']]);

/** Scheduler flags as ipvsadm -b names them -> IP_VS_SVC_F_SCHED* bits (ipvsadm.c). */
const SCHED_FLAG_BITS: Record<string, number> = {
  'sh-fallback': SVC_F_SCHED1, 'sh-port': SVC_F_SCHED2, 'mh-fallback': SVC_F_SCHED1, 'mh-port': SVC_F_SCHED2,
  'flag-1': SVC_F_SCHED1, 'flag-2': SVC_F_SCHED2, 'flag-3': SVC_F_SCHED3,
};

/** Scheduler and persistence engine names: IP_VS_SCHEDNAME_MAXLEN / IP_VS_PENAME_MAXLEN (16,
 *  NUL included); the same rule render.ts applies, so both backends accept the same entries. */
const NAME = /^[a-z0-9][a-z0-9_-]{0,14}$/;
/** ipvsadm's limit for -p (31 days); the kernel keeps timeout * HZ in an unsigned int. */
const MAX_PERSISTENCE_S = 86400 * 31;

/** Netlink integers are host-order. */
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** An operation that cannot be expressed as a valid request; it is never sent. */
export class IpvsEncodeError extends RangeError {
  constructor(what: string) {
    super(`cannot send ${what} to IPVS; refusing to encode it`);
    this.name = 'IpvsEncodeError';
  }
}

// ---------------------------------------------------------------------------------------------
// Writing.

/** Appends netlink messages to one growing buffer. Every byte past `len` is zero (a new
 *  buffer is zeroed and truncate() zeroes what it gives back), so padding needs no writes. */
class NlWriter {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  len = 0;
  /** Per-batch memo of address text -> nf_inet_addr bytes: a 10,000-op batch names each
   *  address many times, and parsing the text was most of the encoding time. */
  readonly addrs = new Map<string, { family: Family; bytes: Uint8Array } | null>();
  /** Per-batch memo of a service's encoded identifying nest, by the id object reconcile() shares
   *  between all the ops of one service. */
  readonly serviceIds = new Map<ServiceAddress, Uint8Array>();

  private reserve(n: number): number {
    const at = this.len;
    const need = at + ((n + 3) & ~3);
    if (need > this.buf.length) {
      const bigger = new Uint8Array(Math.max(need, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    this.len = need;
    return at;
  }

  /** Rolls back to `at` (a message that could not be finished). */
  truncate(at: number): void {
    this.buf.fill(0, at, this.len);
    this.len = at;
  }

  /** Appends bytes already laid out as aligned attributes. */
  raw(b: Uint8Array): void { const at = this.reserve(b.length); this.buf.set(b, at); }

  /** The bytes written since `at`. */
  since(at: number): Uint8Array { return this.buf.slice(at, this.len); }

  begin(type: number, flags: number, seq: number, cmd: number): number {
    const at = this.reserve(NLMSG_HDRLEN + GENL_HDRLEN);
    this.view.setUint16(at + 4, type, HOST_LE);
    this.view.setUint16(at + 6, flags, HOST_LE);
    this.view.setUint32(at + 8, seq >>> 0, HOST_LE);
    this.buf[at + 16] = cmd;
    this.buf[at + 17] = IPVS_GENL_VERSION;
    return at;
  }

  end(at: number): void { this.view.setUint32(at, this.len - at, HOST_LE); }

  private attrHeader(type: number, payload: number): number {
    const at = this.reserve(NLA_HDRLEN + payload);
    this.view.setUint16(at, NLA_HDRLEN + payload, HOST_LE);
    this.view.setUint16(at + 2, type, HOST_LE);
    return at + NLA_HDRLEN;
  }

  // Each writer takes the offset first: attrHeader() may replace buf and view, and
  // `this.view.setX(this.attrHeader(...))` would write through the old ones.
  bytes(type: number, b: Uint8Array): void { const at = this.attrHeader(type, b.length); this.buf.set(b, at); }
  u8(type: number, v: number): void { const at = this.attrHeader(type, 1); this.buf[at] = v; }
  u16(type: number, v: number): void { const at = this.attrHeader(type, 2); this.view.setUint16(at, v, HOST_LE); }
  be16(type: number, v: number): void { const at = this.attrHeader(type, 2); this.view.setUint16(at, v, false); }
  u32(type: number, v: number): void { const at = this.attrHeader(type, 4); this.view.setUint32(at, v >>> 0, HOST_LE); }
  string(type: number, s: string): void {
    const at = this.attrHeader(type, s.length + 1);
    for (let i = 0; i < s.length; i++) this.buf[at + i] = s.charCodeAt(i);
  }
  /** ip_vs_flags { flags, mask }, both host-order u32. */
  flags(type: number, flags: number, mask: number): void {
    const at = this.attrHeader(type, 8);
    this.view.setUint32(at, flags >>> 0, HOST_LE);
    this.view.setUint32(at + 4, mask >>> 0, HOST_LE);
  }

  nestStart(type: number): number {
    const at = this.reserve(NLA_HDRLEN);
    this.view.setUint16(at + 2, type, HOST_LE);
    return at;
  }
  nestEnd(at: number): void { this.view.setUint16(at, this.len - at, HOST_LE); }

  result(): Uint8Array { return this.buf.subarray(0, this.len); }
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new IpvsEncodeError(what);
}

function checkPort(port: number, min: number): void {
  check(Number.isInteger(port) && port >= min && port <= 65535, `port ${port}`);
}

/** The 16-byte nf_inet_addr of `address`, which must be of `family`. */
function inetAddr(w: NlWriter, address: string, family: Family): Uint8Array {
  let a = w.addrs.get(address);
  if (a === undefined) {
    const p = parseIp(address);
    a = p ? { family: p.family, bytes: new Uint8Array(16) } : null;
    if (p) a!.bytes.set(p.bytes);
    w.addrs.set(address, a);
  }
  check(a !== null && a.family === family, `IPv${family} address ${JSON.stringify(address)}`);
  return a!.bytes;
}

function afOf(family: Family): number {
  check(family === 4 || family === 6, `address family ${String(family)}`);
  return family === 4 ? AF_INET : AF_INET6;
}

/** The attributes that name a service (all DEL_SERVICE and the destination commands need). */
function writeServiceId(w: NlWriter, id: ServiceAddress): void {
  const done = w.serviceIds.get(id);
  if (done !== undefined) {
    w.raw(done);
    return;
  }
  const at = w.len;
  writeServiceIdAttrs(w, id);
  w.serviceIds.set(id, w.since(at));
}

function writeServiceIdAttrs(w: NlWriter, id: ServiceAddress): void {
  w.u16(SVC_ATTR.AF, afOf(id.family));
  if (id.kind === 'fwmark') {
    check(Number.isInteger(id.fwmark) && id.fwmark >= 1 && id.fwmark <= 0xffffffff, `fwmark ${id.fwmark}`);
    w.u32(SVC_ATTR.FWMARK, id.fwmark);
    return;
  }
  const proto = PROTOCOL_NUMBER[id.protocol];
  check(proto !== undefined, `protocol ${JSON.stringify(id.protocol)}`);
  checkPort(id.port, 1);
  const addr = inetAddr(w, id.address, id.family);
  w.u16(SVC_ATTR.PROTOCOL, proto);
  w.bytes(SVC_ATTR.ADDR, addr);
  w.be16(SVC_ATTR.PORT, id.port);
}

function schedFlagBits(flags: readonly string[]): number {
  let bits = 0;
  for (const f of flags) {
    const b = SCHED_FLAG_BITS[f];
    check(b !== undefined, `scheduler flag ${JSON.stringify(f)}`);
    bits |= b!;
  }
  return bits;
}

function writeService(w: NlWriter, s: VirtualService, full: boolean): void {
  const nest = w.nestStart(CMD_ATTR_SERVICE);
  writeServiceId(w, s.id);
  if (full) {
    check(NAME.test(s.scheduler), `scheduler ${JSON.stringify(s.scheduler)}`);
    let flags = schedFlagBits(s.schedFlags);
    let timeout = 0;
    const v6 = s.id.family === 6;
    const full32 = v6 ? 128 : 32;
    let prefix = full32;
    if (s.persistence) {
      const { timeoutS, netmaskPrefix } = s.persistence;
      check(Number.isInteger(timeoutS) && timeoutS >= 1 && timeoutS <= MAX_PERSISTENCE_S, `persistence timeout ${timeoutS}`);
      check(Number.isInteger(netmaskPrefix) && netmaskPrefix >= (v6 ? 1 : 0) && netmaskPrefix <= full32, `netmask /${netmaskPrefix}`);
      flags |= SVC_F_PERSISTENT;
      timeout = timeoutS;
      prefix = netmaskPrefix;
    }
    if (s.ops) {
      // ipvsadm refuses -o for anything but UDP; refusing it here too keeps both backends alike.
      check(s.id.kind === 'inet' && s.id.protocol === 'UDP', 'one-packet scheduling on a non-UDP service');
      flags |= SVC_F_ONEPACKET;
    }
    if (s.pe !== null) check(NAME.test(s.pe), `persistence engine ${JSON.stringify(s.pe)}`);
    w.string(SVC_ATTR.SCHED_NAME, s.scheduler);
    if (s.pe !== null) w.string(SVC_ATTR.PE_NAME, s.pe);
    w.flags(SVC_ATTR.FLAGS, flags, 0xffffffff);
    w.u32(SVC_ATTR.TIMEOUT, timeout);
    if (v6) w.u32(SVC_ATTR.NETMASK, prefix);
    else w.bytes(SVC_ATTR.NETMASK, prefixMaskBytes(prefix));
  }
  w.nestEnd(nest);
}

function prefixMaskBytes(prefix: number): Uint8Array {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

function writeDest(w: NlWriter, service: ServiceAddress, d: RealServer, full: boolean): void {
  check(d.family === service.family || d.forwarding === 'TUN', `IPv${d.family} real server in an IPv${service.family} service`);
  const nest = w.nestStart(CMD_ATTR_DEST);
  const addr = inetAddr(w, d.address, d.family);
  // ipvsadm.c: "The destination port must be equal to the service port if the
  // IP_VS_CONN_F_TUNNEL or IP_VS_CONN_F_DROUTE is set. Don't worry about this if fwmark is used."
  const port = full && d.forwarding !== 'NAT' && service.kind === 'inet' ? service.port : d.port;
  checkPort(port, 0);
  w.u16(DEST_ATTR.ADDR_FAMILY, afOf(d.family));
  w.bytes(DEST_ATTR.ADDR, addr);
  w.be16(DEST_ATTR.PORT, port);
  if (full) {
    const fwd = FWD_METHOD[d.forwarding];
    check(fwd !== undefined, `forwarding ${JSON.stringify(d.forwarding)}`);
    check(Number.isInteger(d.weight) && d.weight >= 0 && d.weight <= 0x7fffffff, `weight ${d.weight}`);
    w.u32(DEST_ATTR.FWD_METHOD, fwd);
    w.u32(DEST_ATTR.WEIGHT, d.weight);
    w.u32(DEST_ATTR.U_THRESH, 0);
    w.u32(DEST_ATTR.L_THRESH, 0);
    if (d.forwarding === 'TUN') {
      const t: Tunnel = d.tunnel ?? { type: 'ipip' };
      const type = TUN_TYPE[t.type];
      check(type !== undefined, `tunnel type ${JSON.stringify(t.type)}`);
      let tport = 0, tflags = 0;
      if (t.type === 'gue') {
        checkPort(t.port, 1); // ip_vs_add_dest: "tunnel port is zero" -> EINVAL
        tport = t.port;
      }
      if (t.type !== 'ipip') {
        const f = TUN_FLAGS[t.csum];
        check(f !== undefined, `tunnel checksum ${JSON.stringify(t.csum)}`);
        tflags = f!;
      }
      w.u8(DEST_ATTR.TUN_TYPE, type);
      w.be16(DEST_ATTR.TUN_PORT, tport);
      w.u16(DEST_ATTR.TUN_FLAGS, tflags);
    }
  }
  w.nestEnd(nest);
}

const OP_CMD: Record<TableOp['op'], number> = {
  add_service: IpvsCmd.NEW_SERVICE, edit_service: IpvsCmd.SET_SERVICE, delete_service: IpvsCmd.DEL_SERVICE,
  add_dest: IpvsCmd.NEW_DEST, edit_dest: IpvsCmd.SET_DEST, delete_dest: IpvsCmd.DEL_DEST,
};

function writeOp(w: NlWriter, op: TableOp, familyId: number, seq: number): void {
  const at = w.begin(familyId, NLM_F_REQUEST | NLM_F_ACK, seq, OP_CMD[op.op]);
  try {
    switch (op.op) {
      case 'add_service': case 'edit_service': writeService(w, op.service, true); break;
      case 'delete_service': writeService(w, op.service, false); break;
      case 'add_dest': case 'edit_dest': case 'delete_dest': {
        const full = op.op !== 'delete_dest';
        const nest = w.nestStart(CMD_ATTR_SERVICE);
        writeServiceId(w, op.service);
        w.nestEnd(nest);
        writeDest(w, op.service, op.dest, full);
        break;
      }
    }
  } catch (e) {
    w.truncate(at);
    throw e;
  }
  w.end(at);
}

/** One acked request for `op`. Throws IpvsEncodeError when the op cannot be sent. */
export function encodeOp(op: TableOp, familyId: number, seq: number): Uint8Array {
  const w = new NlWriter();
  writeOp(w, op, familyId, seq);
  return w.result();
}

export interface EncodedBatch {
  /** The requests, concatenated; request k has sequence number firstSeq + k. */
  buf: Uint8Array;
  /** Index in `ops` of each request, in order. */
  sent: number[];
  /** Ops that could not be encoded (never sent). */
  unencodable: Array<{ index: number; message: string }>;
}

/** Acked requests for `ops` in order, numbered from `firstSeq`. */
export function encodeOps(ops: readonly TableOp[], familyId: number, firstSeq: number): EncodedBatch {
  const w = new NlWriter();
  const sent: number[] = [];
  const unencodable: EncodedBatch['unencodable'] = [];
  ops.forEach((op, index) => {
    try {
      writeOp(w, op, familyId, firstSeq + sent.length);
      sent.push(index);
    } catch (e) {
      if (!(e instanceof IpvsEncodeError)) throw e;
      unencodable.push({ index, message: e.message });
    }
  });
  return { buf: w.result(), sent, unencodable };
}

/** GET_SERVICE dump request: every service. */
export function encodeGetServices(familyId: number, seq: number): Uint8Array {
  const w = new NlWriter();
  const at = w.begin(familyId, NLM_F_REQUEST | NLM_F_DUMP, seq, IpvsCmd.GET_SERVICE);
  w.end(at);
  return w.result();
}

/** GET_DEST dump request: the real servers of one service. */
export function encodeGetDests(familyId: number, seq: number, id: ServiceAddress): Uint8Array {
  const w = new NlWriter();
  const at = w.begin(familyId, NLM_F_REQUEST | NLM_F_DUMP, seq, IpvsCmd.GET_DEST);
  const nest = w.nestStart(CMD_ATTR_SERVICE);
  writeServiceId(w, id);
  w.nestEnd(nest);
  w.end(at);
  return w.result();
}

// ---------------------------------------------------------------------------------------------
// Reading.

/** An entry of a dump that tandem cannot represent; it is left out of the table. */
export interface DecodeProblem {
  /** The entry as far as it could be read, e.g. `TCP 192.0.2.1:80`, `service #3`. */
  entry: string;
  reason: string;
}

/** Attribute payloads indexed by type (IPVS types are small numbers). */
type AttrMap = Array<Uint8Array | undefined>;

/** The attributes in `b` by type (later duplicates win); null when malformed. */
function parseAttrs(b: Uint8Array): AttrMap | null {
  const out: AttrMap = [];
  let at = 0;
  while (at + NLA_HDRLEN <= b.length) {
    const len = rd16(b, at, HOST_LE);
    const type = rd16(b, at + 2, HOST_LE) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN || at + len > b.length) return null;
    if (type < 64) out[type] = b.subarray(at + NLA_HDRLEN, at + len);
    at += (len + 3) & ~3;
  }
  return out;
}

// Plain byte arithmetic rather than a DataView per field: decoding 10,000 real servers reads
// ~100,000 fields.
function rd16(b: Uint8Array, at: number, le: boolean): number {
  return le ? b[at]! | (b[at + 1]! << 8) : (b[at]! << 8) | b[at + 1]!;
}
function rd32(b: Uint8Array, at: number, le: boolean): number {
  return le ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
    : ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}
function u16(a: Uint8Array | undefined): number | undefined { return a && a.length >= 2 ? rd16(a, 0, HOST_LE) : undefined; }
function be16(a: Uint8Array | undefined): number | undefined { return a && a.length >= 2 ? rd16(a, 0, false) : undefined; }
function u32(a: Uint8Array | undefined): number | undefined { return a && a.length >= 4 ? rd32(a, 0, HOST_LE) : undefined; }
function u8(a: Uint8Array | undefined): number | undefined { return a && a.length >= 1 ? a[0] : undefined; }
function str(a: Uint8Array | undefined): string | undefined {
  if (!a) return undefined;
  let end = a.indexOf(0);
  if (end < 0) end = a.length;
  let s = '';
  for (let i = 0; i < end; i++) s += String.fromCharCode(a[i]!);
  return s;
}

function familyOfAf(af: number | undefined): Family | undefined {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;
}

function addrText(a: Uint8Array | undefined, family: Family): string | undefined {
  const n = family === 4 ? 4 : 16;
  return a && a.length >= n ? formatIp(a.slice(0, n)) : undefined;
}

/** The top-level attributes of each message of `cmd` for `familyId` in the datagrams. */
function* messages(datagrams: Iterable<Uint8Array>, familyId: number, cmd: number, problems: DecodeProblem[]): Generator<AttrMap | null> {
  for (const d of datagrams) {
    let at = 0;
    while (at + NLMSG_HDRLEN <= d.length) {
      const len = rd32(d, at, HOST_LE);
      const type = rd16(d, at + 4, HOST_LE);
      if (len < NLMSG_HDRLEN || at + len > d.length) {
        problems.push({ entry: 'datagram', reason: `truncated netlink message (length ${len} at offset ${at})` });
        break;
      }
      if (type === familyId) {
        const c = len >= NLMSG_HDRLEN + GENL_HDRLEN ? d[at + NLMSG_HDRLEN] : undefined;
        if (c === cmd) yield parseAttrs(d.subarray(at + NLMSG_HDRLEN + GENL_HDRLEN, at + len));
        else problems.push({ entry: 'message', reason: `unexpected IPVS command ${c ?? '(none)'} in a dump of command ${cmd}` });
      } else if (type !== NLMSG_DONE && type !== NLMSG_ERROR && type !== NLMSG_NOOP) {
        problems.push({ entry: 'message', reason: `unexpected netlink message type ${type}` });
      }
      at += (len + 3) & ~3;
    }
  }
}

type Decoded<T> = { value: T } | { problem: string; entry?: string };

function decodeServiceAttrs(s: AttrMap): Decoded<VirtualService> {
  const family = familyOfAf(u16(s[SVC_ATTR.AF]));
  if (family === undefined) return { problem: `address family ${u16(s[SVC_ATTR.AF]) ?? '(none)'}` };
  let id: ServiceAddress;
  const fwmark = u32(s[SVC_ATTR.FWMARK]);
  if (fwmark !== undefined && fwmark !== 0) {
    id = { kind: 'fwmark', family, fwmark };
  } else {
    const protoNum = u16(s[SVC_ATTR.PROTOCOL]);
    const address = addrText(s[SVC_ATTR.ADDR], family);
    const port = be16(s[SVC_ATTR.PORT]);
    if (address === undefined || port === undefined) return { problem: 'neither a fwmark nor an address and port' };
    const protocol = protoNum === undefined ? undefined : PROTOCOL_NAME.get(protoNum);
    if (protocol === undefined) return { entry: `protocol ${protoNum ?? '(none)'} ${hostPort(address, port)}`, problem: `protocol ${protoNum ?? '(none)'} (tandem knows TCP, UDP, SCTP)` };
    id = { kind: 'inet', family, protocol, address, port };
  }
  const entry = serviceKey(id);
  const scheduler = str(s[SVC_ATTR.SCHED_NAME]);
  const flagsAttr = s[SVC_ATTR.FLAGS];
  const flags = u32(flagsAttr);
  if (scheduler === undefined || flags === undefined) return { entry, problem: 'no scheduler or flags' };
  let persistence: VirtualService['persistence'] = null;
  if (flags & SVC_F_PERSISTENT) {
    const timeoutS = u32(s[SVC_ATTR.TIMEOUT]);
    const mask = s[SVC_ATTR.NETMASK];
    let prefix: number | undefined;
    if (family === 6) {
      const p = u32(mask);
      prefix = p !== undefined && p >= 1 && p <= 128 ? p : undefined;
    } else if (mask && mask.length >= 4) {
      prefix = maskPrefix(mask);
    }
    if (timeoutS === undefined) return { entry, problem: 'persistent without a timeout' };
    if (prefix === undefined) return { entry, problem: `persistence netmask ${describeMask(mask, family)} is not a prefix` };
    persistence = { timeoutS, netmaskPrefix: prefix };
  }
  const peText = str(s[SVC_ATTR.PE_NAME]);
  return {
    value: {
      id, scheduler, persistence, pe: peText === undefined || peText === '' ? null : peText,
      ops: (flags & SVC_F_ONEPACKET) !== 0, schedFlags: schedFlagNames(scheduler, flags),
    },
  };
}

/** ipvsadm.c print_sched_flags(): names by scheduler, then sorted as parse.ts keeps them. */
function schedFlagNames(scheduler: string, flags: number): string[] {
  const out: string[] = [];
  const prefix = scheduler === 'sh' || scheduler === 'mh' ? scheduler : null;
  if (flags & SVC_F_SCHED1) out.push(prefix ? `${prefix}-fallback` : 'flag-1');
  if (flags & SVC_F_SCHED2) out.push(prefix ? `${prefix}-port` : 'flag-2');
  if (flags & SVC_F_SCHED3) out.push('flag-3');
  return out.sort();
}

function maskPrefix(b: Uint8Array): number | undefined {
  const n = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const prefix = 32 - Math.log2((~n >>> 0) + 1);
  return Number.isInteger(prefix) ? prefix : undefined;
}

function describeMask(mask: Uint8Array | undefined, family: Family): string {
  if (!mask || mask.length < 4) return '(none)';
  return family === 4 ? formatIp(mask.slice(0, 4)) : String(u32(mask));
}

function decodeDestAttrs(d: AttrMap, service: ServiceAddress): Decoded<RealServer> {
  const afAttr = u16(d[DEST_ATTR.ADDR_FAMILY]);
  const family = afAttr === undefined ? service.family : familyOfAf(afAttr);
  if (family === undefined) return { problem: `address family ${afAttr}` };
  const address = addrText(d[DEST_ATTR.ADDR], family);
  const port = be16(d[DEST_ATTR.PORT]);
  if (address === undefined || port === undefined) return { problem: 'no address or port' };
  const entry = hostPort(address, port);
  const fwd = u32(d[DEST_ATTR.FWD_METHOD]);
  const weight = u32(d[DEST_ATTR.WEIGHT]);
  if (fwd === undefined || weight === undefined) return { entry, problem: 'no forwarding method or weight' };
  let forwarding: Forwarding;
  switch (fwd & CONN_F_FWD_MASK) {
    case CONN_F_MASQ: forwarding = 'NAT'; break;
    case CONN_F_TUNNEL: forwarding = 'TUN'; break;
    // ipvsadm.c fwd_switch() prints a local node as -g, so it reads back as DR either way.
    case CONN_F_DROUTE: case CONN_F_LOCALNODE: forwarding = 'DR'; break;
    default: return { entry, problem: `forwarding method ${fwd & CONN_F_FWD_MASK}` };
  }
  let tunnel: Tunnel | null = null;
  if (forwarding === 'TUN') {
    const type = u8(d[DEST_ATTR.TUN_TYPE]) ?? TUN_TYPE.ipip; // older kernels: ipip only
    const flags = u16(d[DEST_ATTR.TUN_FLAGS]) ?? 0;
    // ipvsadm prints --tun-csum when the CSUM bit is set, else --tun-remcsum for REMCSUM.
    const csum: TunnelCsum = flags & TUN_FLAG_CSUM ? 'csum' : flags & TUN_FLAG_REMCSUM ? 'remcsum' : 'nocsum';
    if (type === TUN_TYPE.ipip) tunnel = { type: 'ipip' };
    else if (type === TUN_TYPE.gue) tunnel = { type: 'gue', port: be16(d[DEST_ATTR.TUN_PORT]) ?? 0, csum };
    else if (type === TUN_TYPE.gre) tunnel = { type: 'gre', csum };
    else return { entry, problem: `tunnel type ${type}` };
  }
  return { value: { family, address, port, forwarding, weight, tunnel } };
}

/** GET_SERVICE dump reply datagrams -> services, in dump order. */
export function decodeServices(datagrams: Iterable<Uint8Array>, familyId: number): { services: VirtualService[]; problems: DecodeProblem[] } {
  const services: VirtualService[] = [];
  const problems: DecodeProblem[] = [];
  let n = 0;
  for (const attrs of messages(datagrams, familyId, IpvsCmd.NEW_SERVICE, problems)) {
    n++;
    const nest = attrs?.[CMD_ATTR_SERVICE];
    const s = nest ? parseAttrs(nest) : null;
    if (!s) {
      problems.push({ entry: `service #${n}`, reason: 'malformed attributes' });
      continue;
    }
    const r = decodeServiceAttrs(s);
    if ('problem' in r) problems.push({ entry: r.entry ?? `service #${n}`, reason: r.problem });
    else services.push(r.value);
  }
  return { services, problems };
}

/** GET_DEST dump reply datagrams of `service` -> its real servers, in dump order. */
export function decodeDests(datagrams: Iterable<Uint8Array>, familyId: number, service: ServiceAddress): { dests: RealServer[]; problems: DecodeProblem[] } {
  const dests: RealServer[] = [];
  const problems: DecodeProblem[] = [];
  const key = serviceKey(service);
  let n = 0;
  for (const attrs of messages(datagrams, familyId, IpvsCmd.NEW_DEST, problems)) {
    n++;
    const nest = attrs?.[CMD_ATTR_DEST];
    const d = nest ? parseAttrs(nest) : null;
    if (!d) {
      problems.push({ entry: `${key} real server #${n}`, reason: 'malformed attributes' });
      continue;
    }
    const r = decodeDestAttrs(d, service);
    if ('problem' in r) problems.push({ entry: `${key} -> ${r.entry ?? `real server #${n}`}`, reason: r.problem });
    else dests.push(r.value);
  }
  return { dests, problems };
}

// ---------------------------------------------------------------------------------------------
// Errors.

// Linux errno numbers (asm-generic/errno-base.h, errno.h) the IPVS family answers with.
const EPERM = 1, ENOENT = 2, ESRCH = 3, ENOMEM = 12, EEXIST = 17, EINVAL = 22, EMSGSIZE = 90, ENOPROTOOPT = 92;
const EOPNOTSUPP = 95, EAFNOSUPPORT = 97;

/** ipvsadm's own texts (libipvs ipvs_strerror()), by operation and errno, so a refusal reads
 *  the same whichever backend made it. */
const OP_MESSAGES: Record<TableOp['op'], Record<number, string>> = {
  add_service: { [EEXIST]: 'Service already exists', [ENOENT]: 'Scheduler or persistence engine not found' },
  edit_service: { [ESRCH]: 'No such service', [ENOENT]: 'Scheduler or persistence engine not found' },
  delete_service: { [ESRCH]: 'No such service' },
  add_dest: { [ESRCH]: 'Service not defined', [EEXIST]: 'Destination already exists' },
  edit_dest: { [ESRCH]: 'Service not defined', [ENOENT]: 'No such destination' },
  delete_dest: { [ESRCH]: 'Service not defined', [ENOENT]: 'No such destination' },
};
const ANY_OP_MESSAGES: Record<number, string> = {
  [EPERM]: 'Permission denied (you must be root)',
  [EINVAL]: 'Invalid operation.  Possibly wrong module version, address not unicast, ...',
  [ENOPROTOOPT]: 'Protocol not available',
  [ENOMEM]: 'Memory allocation problem',
  [EOPNOTSUPP]: 'Operation not supported with IPv6',
  [EAFNOSUPPORT]: 'Operation not supported with specified address family',
  [EMSGSIZE]: 'Module is wrong version',
};
/** strerror() texts (glibc) for the rest ipvsadm would fall back to. */
const STRERROR: Record<number, string> = {
  2: 'No such file or directory', 3: 'No such process', 17: 'File exists', 4: 'Interrupted system call', 5: 'Input/output error', 7: 'Argument list too long', 11: 'Resource temporarily unavailable',
  13: 'Permission denied', 16: 'Device or resource busy', 19: 'No such device', 28: 'No space left on device',
  34: 'Numerical result out of range', 71: 'Protocol error', 93: 'Protocol not supported', 105: 'No buffer space available',
  110: 'Connection timed out',
};

/** What ipvsadm would print for `errno` answered to `op`. */
export function ipvsErrorMessage(op: TableOp['op'], errno: number): string {
  return OP_MESSAGES[op][errno] ?? ANY_OP_MESSAGES[errno] ?? STRERROR[errno] ?? `Unknown error ${errno}`;
}
