// Ethernet frames carrying VRRP packets, for the wire fuzz campaign (wire.ts sends them with
// vrrp-flood.c). Our own encoder, independent of src/vrrp/packet.ts and src/vrrp/checksum.ts, so
// that a bug shared with the daemon cannot hide: RFC 3768 §5.1 (v2), RFC 5798 §5.1 (v3), the
// IPv4 header (RFC 791, with its checksum: AF_PACKET sends bytes as they are) and the IPv6
// header (RFC 8200).

export type Family = 4 | 6;

export interface VrrpMessage {
  version: number;
  type?: number;
  vrid: number;
  priority: number;
  /** Default addrs.length. */
  count?: number;
  /** v2: seconds; v3: centiseconds (12 bits). */
  advertInt: number;
  /** v2 only: 0 none, 1 PASS, others invalid. Default 1 with authPass, else 0. */
  authType?: number;
  authPass?: string;
  addrs: string[];
  /** Whether the 8 auth bytes follow (default: v2 over IPv4, as keepalived's length rule). */
  withAuth?: boolean;
}

export interface ChecksumForm {
  /** 'pseudo': RFC 5798 §5.2.8 with the IP pseudo-header (v3); 'message': over the VRRP message
   *  only (v2, and the RFC 9568 / Cisco form of v3 over IPv4). Default by version. */
  form?: 'pseudo' | 'message';
  /** Pseudo-header destination when it is not the packet's own (keepalived's old unicast form). */
  pseudoDst?: string;
  /** XOR applied to the correct checksum. */
  corrupt?: number;
}

export function parseIp(a: string): { family: Family; bytes: Uint8Array } {
  if (a.includes(':')) return { family: 6, bytes: ipv6Bytes(a) };
  const parts = a.split('.').map(Number);
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 address ${a}`);
  return { family: 4, bytes: Uint8Array.from(parts) };
}

function ipv6Bytes(a: string): Uint8Array {
  const [head, tail] = a.split('::') as [string, string | undefined];
  const words = (s: string | undefined) => (s ? s.split(':').filter((x) => x !== '').map((w) => parseInt(w, 16)) : []);
  const h = words(head), t = words(tail);
  const fill = a.includes('::') ? 8 - h.length - t.length : 0;
  const all = [...h, ...new Array<number>(fill).fill(0), ...t];
  if (all.length !== 8 || all.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) throw new Error(`bad IPv6 address ${a}`);
  const out = new Uint8Array(16);
  all.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}

function onesSum(b: Uint8Array, start = 0): number {
  let sum = start;
  for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The VRRP message with its checksum (the IP addresses feed the pseudo-header). */
export function encodeVrrp(m: VrrpMessage, ip: { src: string; dst: string }, ck: ChecksumForm = {}): Uint8Array {
  const family = parseIp(ip.dst).family;
  const alen = family === 4 ? 4 : 16;
  const withAuth = m.withAuth ?? (m.version === 2 && family === 4);
  const len = 8 + m.addrs.length * alen + (withAuth ? 8 : 0);
  const b = new Uint8Array(len);
  b[0] = ((m.version & 0x0f) << 4) | ((m.type ?? 1) & 0x0f);
  b[1] = m.vrid & 0xff;
  b[2] = m.priority & 0xff;
  b[3] = (m.count ?? m.addrs.length) & 0xff;
  if (m.version === 2) {
    b[4] = (m.authType ?? (m.authPass !== undefined ? 1 : 0)) & 0xff;
    b[5] = m.advertInt & 0xff;
  } else {
    b[4] = (m.advertInt >> 8) & 0x0f;
    b[5] = m.advertInt & 0xff;
  }
  m.addrs.forEach((a, i) => b.set(parseIp(a).bytes, 8 + i * alen));
  if (withAuth && m.authPass !== undefined) b.set(new TextEncoder().encode(m.authPass).subarray(0, 8), 8 + m.addrs.length * alen);
  const form = ck.form ?? (m.version === 2 ? 'message' : 'pseudo');
  let sum = 0;
  if (form === 'pseudo') sum = onesSum(pseudoHeader(ip.src, ck.pseudoDst ?? ip.dst, len));
  sum = onesSum(b, sum);
  const c = (~sum & 0xffff) ^ (ck.corrupt ?? 0);
  b[6] = c >> 8;
  b[7] = c & 0xff;
  return b;
}

function pseudoHeader(src: string, dst: string, len: number): Uint8Array {
  const s = parseIp(src), d = parseIp(dst);
  if (s.family === 4) {
    const p = new Uint8Array(12);
    p.set(s.bytes, 0); p.set(d.bytes, 4); p[9] = 112; p[10] = len >> 8; p[11] = len & 0xff;
    return p;
  }
  const p = new Uint8Array(40);
  p.set(s.bytes, 0); p.set(d.bytes, 16);
  p[34] = len >> 8; p[35] = len & 0xff; p[39] = 112;
  return p;
}

/** Whether `msg` passes any checksum form a receiver may accept (v2 form, pseudo-header form,
 *  the old unicast form with 224.0.0.18): the fuzz's bad checksums must fail all of them. */
export function checksumAcceptable(msg: Uint8Array, ip: { src: string; dst: string }): boolean {
  const sumWith = (pseudo: Uint8Array | null) => onesSum(msg, pseudo ? onesSum(pseudo) : 0) === 0xffff;
  if (sumWith(null)) return true;
  if (sumWith(pseudoHeader(ip.src, ip.dst, msg.length))) return true;
  return parseIp(ip.dst).family === 4 && sumWith(pseudoHeader(ip.src, '224.0.0.18', msg.length));
}

export function macBytes(mac: string): Uint8Array {
  const parts = mac.split(':').map((x) => parseInt(x, 16));
  if (parts.length !== 6 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad MAC ${mac}`);
  return Uint8Array.from(parts);
}

/** The Ethernet destination for an IP destination: the multicast MAC (RFC 1112 §6.4, RFC 2464
 *  §7) or the given unicast MAC. */
export function dstMacFor(dst: string, unicastMac: string): Uint8Array {
  const d = parseIp(dst);
  if (d.family === 4 && d.bytes[0]! >= 224 && d.bytes[0]! <= 239) {
    return Uint8Array.from([0x01, 0x00, 0x5e, d.bytes[1]! & 0x7f, d.bytes[2]!, d.bytes[3]!]);
  }
  if (d.family === 6 && d.bytes[0] === 0xff) return Uint8Array.from([0x33, 0x33, d.bytes[12]!, d.bytes[13]!, d.bytes[14]!, d.bytes[15]!]);
  return macBytes(unicastMac);
}

export interface FrameSpec {
  srcMac: string;
  /** Used when the IP destination is unicast. */
  dstMac: string;
  src: string;
  dst: string;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl: number;
  payload: Uint8Array;
}

/** A whole Ethernet frame: header, IPv4 (with header checksum) or IPv6 header, protocol 112. */
export function frame(f: FrameSpec): Uint8Array {
  const s = parseIp(f.src), d = parseIp(f.dst);
  if (s.family !== d.family) throw new Error(`mixed families ${f.src} -> ${f.dst}`);
  const ipLen = s.family === 4 ? 20 : 40;
  const out = new Uint8Array(14 + ipLen + f.payload.length);
  out.set(dstMacFor(f.dst, f.dstMac), 0);
  out.set(macBytes(f.srcMac), 6);
  out[12] = s.family === 4 ? 0x08 : 0x86;
  out[13] = s.family === 4 ? 0x00 : 0xdd;
  const ip = out.subarray(14, 14 + ipLen);
  if (s.family === 4) {
    const total = 20 + f.payload.length;
    ip[0] = 0x45; ip[1] = 0xc0; ip[2] = total >> 8; ip[3] = total & 0xff;
    ip[6] = 0x40; // DF
    ip[8] = f.ttl & 0xff; ip[9] = 112;
    ip.set(s.bytes, 12); ip.set(d.bytes, 16);
    const c = ~onesSum(ip) & 0xffff;
    ip[10] = c >> 8; ip[11] = c & 0xff;
  } else {
    ip[0] = 0x6c; // version 6, traffic class 0xc0 (CS6) in the next 8 bits
    ip[4] = f.payload.length >> 8; ip[5] = f.payload.length & 0xff;
    ip[6] = 112; ip[7] = f.ttl & 0xff;
    ip.set(s.bytes, 8); ip.set(d.bytes, 24);
  }
  out.set(f.payload, 14 + ipLen);
  return out;
}

/** The records vrrp-flood.c reads: a 2-byte big-endian length, then the frame. */
export function frameFile(frames: readonly Uint8Array[]): Buffer {
  const total = frames.reduce((n, f) => n + 2 + f.length, 0);
  const out = Buffer.alloc(total);
  let o = 0;
  for (const f of frames) {
    out.writeUInt16BE(f.length, o);
    out.set(f, o + 2);
    o += 2 + f.length;
  }
  return out;
}
