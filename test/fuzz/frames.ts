// Ethernet frames carrying VRRP packets for the wire fuzz campaign (wire.ts sends them with
// vrrp-flood.c). The encoder is the tests' own (test/lib/raw-sender.ts), independent of
// src/vrrp/packet.ts and src/ip/checksum.ts, so that a bug shared with the daemon cannot hide.
import { encodeVrrp as encode, ethernetFrame, ipv4Bytes, ipv4Datagram, ipv6Bytes, ipv6Datagram, onesSum, type VrrpFields } from '../lib/raw-sender.js';

export type VrrpMessage = VrrpFields;

/** The VRRP message with its checksum (RFC 3768 §5.3.8 for v2, RFC 5798 §5.2.8 with the pseudo-
 *  header of `ip` for v3); `corrupt` is XORed into the correct checksum. */
export function encodeVrrp(m: VrrpMessage, ip: { src: string; dst: string }, opts: { corrupt?: number } = {}): Uint8Array {
  return encode(m, { src: ip.src, dst: ip.dst, corrupt: opts.corrupt });
}

function pseudoHeader(src: string, dst: string, len: number): Uint8Array {
  if (!src.includes(':')) {
    const p = new Uint8Array(12);
    p.set(ipv4Bytes(src), 0); p.set(ipv4Bytes(dst), 4); p[9] = 112; p[10] = len >> 8; p[11] = len & 0xff;
    return p;
  }
  const p = new Uint8Array(40);
  p.set(ipv6Bytes(src), 0); p.set(ipv6Bytes(dst), 16);
  p[34] = len >> 8; p[35] = len & 0xff; p[39] = 112;
  return p;
}

/** Whether `msg` passes any checksum form a receiver may accept (over the message only, with the
 *  pseudo-header, keepalived's old unicast form with 224.0.0.18): a fuzzed bad checksum must fail
 *  all of them. */
export function checksumAcceptable(msg: Uint8Array, ip: { src: string; dst: string }): boolean {
  const sumWith = (pseudo: Uint8Array | null) => onesSum(msg, pseudo ? onesSum(pseudo, 0) : 0) === 0xffff;
  if (sumWith(null)) return true;
  if (sumWith(pseudoHeader(ip.src, ip.dst, msg.length))) return true;
  return !ip.dst.includes(':') && sumWith(pseudoHeader(ip.src, '224.0.0.18', msg.length));
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

/** A whole Ethernet frame: header, IPv4 (with its header checksum) or IPv6 header, protocol 112. */
export function frame(f: FrameSpec): Uint8Array {
  const datagram = f.dst.includes(':')
    ? ipv6Datagram({ src: f.src, dst: f.dst, hopLimit: f.ttl, payload: f.payload })
    : ipv4Datagram({ src: f.src, dst: f.dst, ttl: f.ttl, payload: f.payload });
  return ethernetFrame(f.srcMac, datagram, f.dstMac);
}

/** The records vrrp-flood.c reads: a 2-byte big-endian length, then the frame. */
export function frameFile(frames: readonly Uint8Array[]): Buffer {
  const total = frames.reduce((n, fr) => n + 2 + fr.length, 0);
  const out = Buffer.alloc(total);
  let o = 0;
  for (const fr of frames) {
    out.writeUInt16BE(fr.length, o);
    out.set(fr, o + 2);
    o += 2 + fr.length;
  }
  return out;
}
