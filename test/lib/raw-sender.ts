// Crafted VRRP packets for wire-input tests: our own encoder (independent of src/vrrp/packet.ts,
// so a shared bug cannot hide) builds whole IPv4 datagrams, and a small python3 program sends
// them from a lab namespace through a raw socket with IP_HDRINCL, so the test controls the TTL
// and can send what no well-behaved stack would. The kernel still fills in the IP total length,
// id and header checksum (raw(7)), so defects are placed in the VRRP message.
import type { Lab, LabNode } from './netns.js';
import { requireTools } from './netns.js';

export interface VrrpFields {
  version: number;
  /** 1 = ADVERTISEMENT. */
  type?: number;
  vrid: number;
  priority: number;
  /** Default addrs.length. */
  count?: number;
  /** v2: seconds; v3: centiseconds. */
  advertInt: number;
  /** v2 only: 0 none, 1 PASS. */
  authType?: number;
  /** v2 PASS password (up to 8 bytes, zero padded). */
  authPass?: string;
  addrs: string[];
}

export interface ChecksumOptions {
  /**
   * v3 over IPv4: 'pseudo' (RFC 5798 §5.2.8, with the IPv4 pseudo-header) or 'v2' (the form
   * Cisco, Juniper and RFC 9568 use: over the VRRP message only). v2 always uses the latter.
   */
  form?: 'pseudo' | 'v2';
  src: string;
  dst: string;
  /** XOR applied to the correct checksum (non-zero = a bad checksum). */
  corrupt?: number;
}

/** Encodes a VRRP message (RFC 3768 §5.1 for v2, RFC 5798 §5.1 for v3) with its checksum. The
 *  family is the checksum source's: IPv6 (v3 only) carries 16-byte addresses and uses the IPv6
 *  pseudo-header (RFC 5798 §5.2.8, RFC 8200 §8.1). */
export function encodeVrrp(f: VrrpFields, ck: ChecksumOptions): Uint8Array {
  const v6 = ck.src.includes(':');
  const v2 = f.version === 2 && !v6;
  const addrLen = v6 ? 16 : 4;
  const addrBytes = f.addrs.length * addrLen;
  const len = 8 + addrBytes + (v2 ? 8 : 0);
  const b = new Uint8Array(len);
  b[0] = ((f.version & 0x0f) << 4) | ((f.type ?? 1) & 0x0f);
  b[1] = f.vrid;
  b[2] = f.priority;
  b[3] = f.count ?? f.addrs.length;
  if (v2) {
    b[4] = f.authType ?? (f.authPass !== undefined ? 1 : 0);
    b[5] = f.advertInt;
  } else {
    // 4 reserved bits, 12-bit Max Adver Int in centiseconds.
    b[4] = (f.advertInt >> 8) & 0x0f;
    b[5] = f.advertInt & 0xff;
  }
  f.addrs.forEach((a, i) => b.set(v6 ? ipv6Bytes(a) : ipv4Bytes(a), 8 + i * addrLen));
  if (v2 && f.authPass !== undefined) {
    const pass = new TextEncoder().encode(f.authPass).subarray(0, 8);
    b.set(pass, 8 + addrBytes);
  }
  const pseudo = !v2 && (v6 || (ck.form ?? 'pseudo') === 'pseudo');
  let sum = 0;
  if (pseudo && v6) {
    const p = new Uint8Array(40);
    p.set(ipv6Bytes(ck.src), 0);
    p.set(ipv6Bytes(ck.dst), 16);
    p[34] = len >> 8;
    p[35] = len & 0xff;
    p[39] = 112;
    sum = onesSum(p, sum);
  } else if (pseudo) {
    const p = new Uint8Array(12);
    p.set(ipv4Bytes(ck.src), 0);
    p.set(ipv4Bytes(ck.dst), 4);
    p[9] = 112;
    p[10] = len >> 8;
    p[11] = len & 0xff;
    sum = onesSum(p, sum);
  }
  sum = onesSum(b, sum);
  const checksum = (~sum & 0xffff) ^ (ck.corrupt ?? 0);
  b[6] = checksum >> 8;
  b[7] = checksum & 0xff;
  return b;
}

export function onesSum(b: Uint8Array, start: number): number {
  let sum = start;
  for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function ipv4Bytes(a: string): Uint8Array {
  const parts = a.split('.').map(Number);
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 address ${a}`);
  return Uint8Array.from(parts);
}

function macBytes(mac: string): number[] {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  if (b.length !== 6 || b.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad MAC ${mac}`);
  return b;
}

/** The 16 bytes of an IPv6 address in any text form (a trailing dotted quad allowed). */
export function ipv6Bytes(a: string): Uint8Array {
  let text = a;
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const q = ipv4Bytes(quad[1]!);
    text = `${text.slice(0, quad.index)}${((q[0]! << 8) | q[1]!).toString(16)}:${((q[2]! << 8) | q[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 address ${a}`);
  const groups = (h: string) => (h === '' ? [] : h.split(':').map((g) => {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) throw new Error(`bad IPv6 address ${a}`);
    return parseInt(g, 16);
  }));
  const head = groups(halves[0]!), tail = halves.length === 2 ? groups(halves[1]!) : [];
  const all = halves.length === 2 ? [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
  if (all.length !== 8) throw new Error(`bad IPv6 address ${a}`);
  const out = new Uint8Array(16);
  all.forEach((g, i) => { out[2 * i] = g >> 8; out[2 * i + 1] = g & 0xff; });
  return out;
}

/** An IPv6 header (RFC 8200 §3, traffic class CS6 as keepalived sends) + payload, next header 112. */
export function ipv6Datagram(opts: { src: string; dst: string; hopLimit: number; payload: Uint8Array }): Uint8Array {
  const h = new Uint8Array(40 + opts.payload.length);
  h[0] = 0x6c; // version 6, traffic class 0xc0
  h[4] = opts.payload.length >> 8;
  h[5] = opts.payload.length & 0xff;
  h[6] = 112;
  h[7] = opts.hopLimit;
  h.set(ipv6Bytes(opts.src), 8);
  h.set(ipv6Bytes(opts.dst), 24);
  h.set(opts.payload, 40);
  return h;
}

/**
 * The Ethernet frame that carries a datagram to a multicast group (RFC 1112 §6.4: 01:00:5e + the
 * group's low 23 bits; RFC 2464 §7: 33:33 + its low 32 bits), or to a unicast destination whose
 * MAC is given, from `srcMac`; an IPv4 header gets its checksum here (a raw IP socket leaves that
 * to the kernel, a packet socket does not).
 */
export function ethernetFrame(srcMac: string, datagram: Uint8Array, unicastDstMac?: string): Uint8Array {
  const v6 = datagram[0]! >> 4 === 6;
  const d = datagram.slice();
  const multicast = v6 ? d[24] === 0xff : (d[16]! & 0xf0) === 0xe0;
  if (!multicast && unicastDstMac === undefined) throw new Error('ethernetFrame: a unicast destination needs its MAC');
  const dstMac = !multicast ? macBytes(unicastDstMac!) : v6
    ? [0x33, 0x33, d[36]!, d[37]!, d[38]!, d[39]!]
    : [0x01, 0x00, 0x5e, d[17]! & 0x7f, d[18]!, d[19]!];
  if (!v6) {
    d[10] = d[11] = 0;
    const sum = ~onesSum(d.subarray(0, (d[0]! & 0x0f) * 4), 0) & 0xffff;
    d[10] = sum >> 8;
    d[11] = sum & 0xff;
  }
  const f = new Uint8Array(14 + d.length);
  f.set(dstMac, 0);
  f.set(macBytes(srcMac), 6);
  f[12] = v6 ? 0x86 : 0x08;
  f[13] = v6 ? 0xdd : 0x00;
  f.set(d, 14);
  return f;
}

const FRAME_SENDER = `
import socket, sys, time
ifname, interval = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
frames = [bytes.fromhex(l.strip()) for l in sys.stdin if l.strip()]
start = time.monotonic()
n = 0
for i, f in enumerate(frames):
    wait = start + i * interval - time.monotonic()
    if wait > 0:
        time.sleep(min(wait, 1.0))
    s.send(f)
    n += 1
print(n)
`;

/**
 * Sends whole Ethernet frames (ethernetFrame) from the node's interface through a packet socket,
 * `intervalMs` apart (0: back to back). A packet socket, not a raw IP one, because raw(7) fills in
 * a zero IPv4 source address ("Filled in when zero") and an advert from 0.0.0.0 is what we test.
 */
export async function sendFrames(lab: Lab, node: LabNode, frames: Uint8Array[], intervalMs = 0, ifname = node.ifname): Promise<void> {
  requireTools('python3');
  const input = frames.map((f) => Buffer.from(f).toString('hex')).join('\n') + '\n';
  const timeoutMs = 20_000 + frames.length * intervalMs;
  const r = await lab.exec(node, ['python3', '-c', FRAME_SENDER, ifname, String(intervalMs / 1000)], { input, timeoutMs });
  if (Number(r.stdout.trim()) !== frames.length) throw new Error(`frame sender sent ${r.stdout.trim()} of ${frames.length}: ${r.stderr}`);
}

/** An IPv4 header (no options) + payload; protocol 112 (VRRP) unless given. */
export function ipv4Datagram(opts: { src: string; dst: string; ttl: number; protocol?: number; payload: Uint8Array }): Uint8Array {
  const h = new Uint8Array(20 + opts.payload.length);
  h[0] = 0x45;
  h[1] = 0xc0; // DSCP CS6, as routing protocols (and keepalived) use
  const total = h.length;
  h[2] = total >> 8;
  h[3] = total & 0xff;
  h[8] = opts.ttl;
  h[9] = opts.protocol ?? 112;
  h.set(ipv4Bytes(opts.src), 12);
  h.set(ipv4Bytes(opts.dst), 16);
  h.set(opts.payload, 20);
  return h;
}

/** A deterministic pseudo-random generator (xorshift32), so failures can be replayed. */
export function seededBytes(seed: number, length: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const SENDER = `
import socket, sys
ifname = sys.argv[1].encode()
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname)
n = 0
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    dst, hexdata = line.split(' ', 1)
    s.sendto(bytes.fromhex(hexdata), (dst, 0))
    n += 1
print(n)
`;

/** Sends complete IPv4 datagrams (as built by ipv4Datagram) from the node's interface. */
export async function sendIpv4Datagrams(lab: Lab, node: LabNode, datagrams: Uint8Array[], ifname = node.ifname): Promise<void> {
  requireTools('python3');
  const input = datagrams.map((d) => {
    const dst = `${d[16]}.${d[17]}.${d[18]}.${d[19]}`;
    return `${dst} ${Buffer.from(d).toString('hex')}`;
  }).join('\n') + '\n';
  const r = await lab.exec(node, ['python3', '-c', SENDER, ifname], { input });
  if (Number(r.stdout.trim()) !== datagrams.length) throw new Error(`raw sender sent ${r.stdout.trim()} of ${datagrams.length}: ${r.stderr}`);
}
