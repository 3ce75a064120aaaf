// The Internet checksum (RFC 1071) and the pseudo-headers VRRP puts in front of its message.
//
// Which bytes are summed (the "form"):
// - v2 (RFC 3768 §5.3.8): the VRRP message only.
// - v3 over IPv6 (RFC 5798 §5.2.8): IPv6 pseudo-header (RFC 8200 §8.1) + message.
// - v3 over IPv4 (RFC 5798 §5.2.8 as keepalived and most Linux implementations read it): an IPv4
//   pseudo-header (src, dst, zero, protocol 112, VRRP length) + message. Cisco, Juniper and
//   RFC 9568 §5.2.8 sum the message only, as for v2: keepalived >= 2.2.8 `v3_checksum_as_v2`.

import { parseIp, VRRP_GROUP4, type Family } from './address.js';

export const IPPROTO_VRRP = 112;

/** One's complement sum of 16-bit big-endian words, folded to 16 bits (RFC 1071 §4.1). An odd
 *  trailing byte is padded with a zero byte. Each part is summed as if it started on an even
 *  offset, which holds for pseudo-headers (12 or 40 bytes) followed by a message. */
export function onesSum(parts: readonly Uint8Array[]): number {
  let sum = 0;
  for (const p of parts) {
    const even = p.length & ~1;
    for (let i = 0; i < even; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
    if (p.length & 1) sum += p[p.length - 1]! << 8;
    // Fold now and then so the sum stays a small integer for any input length.
    if (sum > 0x7fffffff) sum = (sum & 0xffff) + (sum >>> 16);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The checksum to put in a header whose checksum field is zero in `parts`. */
export function internetChecksum(parts: readonly Uint8Array[]): number {
  return ~onesSum(parts) & 0xffff;
}

/** IPv4 pseudo-header as keepalived builds it for VRRPv3 (RFC 768 layout, protocol 112). */
export function pseudoHeader4(src: Uint8Array, dst: Uint8Array, length: number): Uint8Array {
  const h = new Uint8Array(12);
  h.set(src, 0);
  h.set(dst, 4);
  h[9] = IPPROTO_VRRP;
  h[10] = length >> 8;
  h[11] = length & 0xff;
  return h;
}

/** IPv6 pseudo-header (RFC 8200 §8.1): src, dst, 32-bit upper-layer length, 3 zeros, next header
 *  (VRRP here; ICMPv6 for the neighbour advertisements in net/announce.ts). */
export function pseudoHeader6(src: Uint8Array, dst: Uint8Array, length: number, nextHeader = IPPROTO_VRRP): Uint8Array {
  const h = new Uint8Array(40);
  h.set(src, 0);
  h.set(dst, 16);
  new DataView(h.buffer).setUint32(32, length);
  h[39] = nextHeader;
  return h;
}

/**
 * The forms a VRRP checksum can take:
 * - 'message': over the VRRP message only (v2; v3/IPv4 from Cisco, Juniper, RFC 9568,
 *   keepalived `v3_checksum_as_v2`).
 * - 'pseudo': with the pseudo-header of the carrying packet (v3; the only form for IPv6).
 * - 'pseudo_mcast_dst': v3/IPv4 with the pseudo-header's destination replaced by 224.0.0.18,
 *   what keepalived before 2.0 sent on unicast (keepalived 2.2.7 `old_unicast_checksum`, and it
 *   switches to this form by itself when a unicast peer's advert only passes this way).
 */
export type ChecksumForm = 'message' | 'pseudo' | 'pseudo_mcast_dst';

export interface ChecksumIp { family: Family; src: string; dst: string; }

function addressBytes(s: string, family: Family): Uint8Array {
  const p = parseIp(s);
  if (!p || p.family !== family) throw new TypeError(`VRRP checksum: ${s} is not an IPv${family} address`);
  return p.bytes;
}

/** The parts summed for `message` in `form`. Throws on an address of the wrong family. */
export function checksumParts(message: Uint8Array, form: ChecksumForm, ip: ChecksumIp): Uint8Array[] {
  if (form === 'message') return [message];
  const src = addressBytes(ip.src, ip.family);
  if (ip.family === 6) return [pseudoHeader6(src, addressBytes(ip.dst, 6), message.length), message];
  const dst = addressBytes(form === 'pseudo_mcast_dst' ? VRRP_GROUP4 : ip.dst, 4);
  return [pseudoHeader4(src, dst, message.length), message];
}

/** The checksum value for `message`, whose checksum field (bytes 6-7) is ignored. */
export function vrrpChecksum(message: Uint8Array, form: ChecksumForm, ip: ChecksumIp): number {
  const zeroed = message.slice();
  if (zeroed.length >= 8) { zeroed[6] = 0; zeroed[7] = 0; }
  return internetChecksum(checksumParts(zeroed, form, ip));
}

/** True when `message` (checksum field included) sums to all ones in `form` (RFC 1071 §2). */
export function checksumValid(message: Uint8Array, form: ChecksumForm, ip: ChecksumIp): boolean {
  return onesSum(checksumParts(message, form, ip)) === 0xffff;
}
