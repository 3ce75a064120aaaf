// The VRRP advertisement codec (RFC 3768 §5.1 for v2, RFC 5798 §5.1 for v3). Pure: bytes in,
// fields out, and back. Receive policy (TTL, auth, VRID, checksum) lives in validate.ts.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  |Version| Type  | Virtual Rtr ID|   Priority    | Count IPvX Addr|
//  v2:  | Auth Type     |   Adver Int   |          Checksum             |
//  v3:  |(rsvd) |     Max Adver Int     |          Checksum             |
//  |                  IPvX Address(es) ...                            |
//  v2 over IPv4 only: | Authentication Data (8 bytes) |
//
// keepalived leaves the 8 authentication bytes out of v2 over IPv6 (not standard; kept so its
// packets decode), and so do we.

import { formatIp, parseIp, type Family } from '../ip/address.js';
import { vrrpChecksum, type ChecksumForm } from '../ip/checksum.js';
import type { DropReason } from './validate.js';

export const VRRP_HEADER_LEN = 8;
export const VRRP_AUTH_LEN = 8;
export const VRRP_TYPE_ADVERTISEMENT = 1;
export const AUTH_NONE = 0, AUTH_PASS = 1, AUTH_AH = 2;

export interface Advert {
  version: 2 | 3; type: number;      // 1 = ADVERTISEMENT
  vrid: number; priority: number;
  advertIntCs: number;               // v3: Max Adver Int in centiseconds (12 bits); v2: Adver Int seconds * 100
  addresses: string[];               // IPvX addresses (same family as the carrying IP packet)
  authType: number;                  // v2: 0 none, 1 simple text (PASS), 2 (AH: not supported); v3: 0
  authPass: string;                  // v2 PASS: up to 8 bytes, zero padded on the wire; '' otherwise
}

export interface IpContext { family: Family; src: string; dst: string; }

export interface EncodeOptions { v3ChecksumAsV2?: boolean; v3OldUnicastChecksum?: boolean; }

export type DecodeResult =
  | { ok: true; advert: Advert; checksum: number }
  | { ok: false; reason: DropReason; detail: string };

/** Bytes of one address of `family` in the address list. */
export function addressLength(family: Family): number { return family === 4 ? 4 : 16; }

/** The length a VRRP message must have given its own header, as keepalived's
 *  expected_vrrp_pkt_len() computes it: the version nibble (not the instance's version) decides
 *  whether the 8 authentication bytes follow, and only over IPv4. */
export function expectedLength(header: Uint8Array, family: Family): number {
  const version = header[0]! >> 4;
  const count = header[3]!;
  return VRRP_HEADER_LEN + count * addressLength(family) + (family === 4 && version === 2 ? VRRP_AUTH_LEN : 0);
}

/** The 8 authentication bytes for a v2 PASS password: its UTF-8 bytes, cut at 8, zero padded
 *  (keepalived copies at most 8 bytes of auth_pass into auth_data). */
export function authPassBytes(pass: string): Uint8Array {
  const out = new Uint8Array(VRRP_AUTH_LEN);
  out.set(new TextEncoder().encode(pass).subarray(0, VRRP_AUTH_LEN));
  return out;
}

function passFromBytes(b: Uint8Array): string {
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  return new TextDecoder().decode(b.subarray(0, end));
}

function checkByte(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`encodeAdvert: ${name} ${v} not in 0..${max}`);
}

/**
 * Builds the VRRP message (no IP header) with its checksum. The checksum form: v2 over the
 * message (RFC 3768 §5.3.8); v3 with the IPvX pseudo-header (RFC 5798 §5.2.8), or over the
 * message only for v3/IPv4 when `v3ChecksumAsV2` (RFC 9568, keepalived `v3_checksum_as_v2`).
 * `v3OldUnicastChecksum` puts 224.0.0.18 in the v3/IPv4 pseudo-header instead of the real
 * destination (keepalived `old_unicast_checksum`, what keepalived < 2.0 sent on unicast).
 * Throws RangeError/TypeError on fields that do not fit the wire (callers validate config first).
 */
export function encodeAdvert(a: Advert, ip: IpContext, opts?: EncodeOptions): Uint8Array {
  checkByte('type', a.type, 15);
  checkByte('vrid', a.vrid, 255);
  checkByte('priority', a.priority, 255);
  if (a.addresses.length > 255) throw new RangeError(`encodeAdvert: ${a.addresses.length} addresses, at most 255`);
  const withAuth = a.version === 2 && ip.family === 4;
  const alen = addressLength(ip.family);
  const msg = new Uint8Array(VRRP_HEADER_LEN + a.addresses.length * alen + (withAuth ? VRRP_AUTH_LEN : 0));
  msg[0] = (a.version << 4) | a.type;
  msg[1] = a.vrid;
  msg[2] = a.priority;
  msg[3] = a.addresses.length;
  if (a.version === 2) {
    checkByte('authType', a.authType, 255);
    if (a.advertIntCs % 100 !== 0) throw new RangeError(`encodeAdvert: v2 advert interval ${a.advertIntCs} cs is not whole seconds`);
    checkByte('advert interval (s)', a.advertIntCs / 100, 255);
    msg[4] = a.authType;
    msg[5] = a.advertIntCs / 100;
  } else {
    // RFC 5798 §5.2.7: 12-bit Max Adver Int in centiseconds; the 4 reserved bits are zero.
    checkByte('advert interval (cs)', a.advertIntCs, 0xfff);
    msg[4] = a.advertIntCs >> 8;
    msg[5] = a.advertIntCs & 0xff;
  }
  a.addresses.forEach((s, i) => {
    const p = parseIp(s);
    if (!p || p.family !== ip.family) throw new TypeError(`encodeAdvert: ${s} is not an IPv${ip.family} address`);
    msg.set(p.bytes, VRRP_HEADER_LEN + i * alen);
  });
  if (withAuth && a.authType === AUTH_PASS) msg.set(authPassBytes(a.authPass), msg.length - VRRP_AUTH_LEN);
  const form: ChecksumForm = a.version === 2 || (ip.family === 4 && opts?.v3ChecksumAsV2) ? 'message'
    : ip.family === 4 && opts?.v3OldUnicastChecksum ? 'pseudo_mcast_dst' : 'pseudo';
  const sum = vrrpChecksum(msg, form, ip);
  msg[6] = sum >> 8;
  msg[7] = sum & 0xff;
  return msg;
}

/**
 * Reads a VRRP message (what follows the IPv4 header, or the IPv6 payload). Checks structure
 * only, in keepalived's order: enough bytes for the fixed header (vrrp_get_header), the exact
 * length for the address count (RFC 5798 §7.1 "MUST verify that the received packet contains
 * the complete VRRP packet"; keepalived also refuses extra bytes), then a version it knows.
 * Checksum, TTL, auth and type are left to validate.ts. Never throws.
 */
export function decodeAdvert(payload: Uint8Array, family: Family): DecodeResult {
  if (payload.length < VRRP_HEADER_LEN) {
    return { ok: false, reason: 'too_short', detail: `${payload.length} bytes, the VRRP header needs ${VRRP_HEADER_LEN}` };
  }
  const expected = expectedLength(payload, family);
  if (payload.length !== expected) {
    return {
      ok: false, reason: 'bad_length',
      detail: `packet too ${payload.length > expected ? 'long' : 'short'}: ${payload.length} bytes, ${payload[3]} addresses need ${expected}`,
    };
  }
  const version = payload[0]! >> 4;
  if (version !== 2 && version !== 3) return { ok: false, reason: 'bad_version', detail: `version ${version}` };
  const alen = addressLength(family);
  const addresses: string[] = [];
  for (let i = 0; i < payload[3]!; i++) {
    addresses.push(formatIp(payload.subarray(VRRP_HEADER_LEN + i * alen, VRRP_HEADER_LEN + (i + 1) * alen)));
  }
  const v2 = version === 2;
  const authType = v2 ? payload[4]! : 0;
  const withAuth = v2 && family === 4;
  const advert: Advert = {
    version, type: payload[0]! & 0x0f,
    vrid: payload[1]!, priority: payload[2]!,
    advertIntCs: v2 ? payload[5]! * 100 : ((payload[4]! & 0x0f) << 8) | payload[5]!,
    addresses,
    authType,
    authPass: withAuth && authType === AUTH_PASS ? passFromBytes(payload.subarray(payload.length - VRRP_AUTH_LEN)) : '',
  };
  return { ok: true, advert, checksum: (payload[6]! << 8) | payload[7]! };
}
