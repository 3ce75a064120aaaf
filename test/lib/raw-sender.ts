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

/** Encodes a VRRP message (RFC 3768 §5.1 for v2, RFC 5798 §5.1 for v3) with its checksum. */
export function encodeVrrp(f: VrrpFields, ck: ChecksumOptions): Uint8Array {
  const v2 = f.version === 2;
  const addrBytes = f.addrs.length * 4;
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
  f.addrs.forEach((a, i) => b.set(ipv4Bytes(a), 8 + i * 4));
  if (v2 && f.authPass !== undefined) {
    const pass = new TextEncoder().encode(f.authPass).subarray(0, 8);
    b.set(pass, 8 + addrBytes);
  }
  const pseudo = !v2 && (ck.form ?? 'pseudo') === 'pseudo';
  let sum = 0;
  if (pseudo) {
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

function onesSum(b: Uint8Array, start: number): number {
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
