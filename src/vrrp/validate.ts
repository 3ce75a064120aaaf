// Receive checks for VRRP advertisements, in the order keepalived 2.2.7 applies them
// (keepalived/vrrp/vrrp_scheduler.c vrrp_dispatcher_read() then keepalived/vrrp/vrrp.c
// vrrp_check_packet()), each citing its rule in RFC 3768 §7.1 (v2) / RFC 5798 §7.1 (v3).
// Pure: a received packet and a VRID lookup in, a verdict with a typed reason out.
//
// Where keepalived differs from the order the RFCs list, keepalived wins, because an operator
// comparing logs and counters of the two daemons must see the same reason for the same packet:
// - keepalived finds the instance by VRID right after checking that the fixed 8-byte header is
//   there, before any other check (every later check needs the instance's config), so
//   'unknown_vrid' comes second, not last as in the RFCs' list.
// - The address count is compared before the checksum and the address list after it.
// - v3 (RFC 5798 §6.4.2): no advert interval check; a backup learns the master's interval.
//
// One check is tandem's own and comes last: 'bad_source' (see sourceAddressProblem). keepalived
// 2.2.7 has no such check (vrrp_check_packet() never looks at the source beyond
// check_unicast_src), so a valid advert from 0.0.0.0 makes its master step down. It runs after
// every keepalived check so that a packet keepalived drops is dropped here for the same reason
// and counted under the same name: 'bad_source' counts exactly the packets keepalived would
// have accepted.

import { isMulticast, parseIp, sameIp, type Family } from '../ip/address.js';
import { checksumValid } from '../ip/checksum.js';
import {
  AUTH_AH, AUTH_NONE, AUTH_PASS, VRRP_AUTH_LEN, VRRP_HEADER_LEN, VRRP_TYPE_ADVERTISEMENT,
  authPassBytes, decodeAdvert, expectedLength, type Advert,
} from './packet.js';

/** Why a received packet was dropped, in the order the checks run. */
export type DropReason =
  | 'too_short' | 'unknown_vrid' | 'own_packet' | 'bad_length' | 'bad_ttl' | 'bad_version'
  | 'invalid_auth_type' | 'auth_type_mismatch' | 'bad_auth' | 'advert_int_mismatch' | 'bad_type'
  | 'address_count_mismatch' | 'bad_checksum' | 'unicast_multicast_mismatch'
  | 'address_list_mismatch' | 'unicast_peer_unknown' | 'bad_source';

/** Every drop reason, in check order (for counters that start at zero). The two address
 *  reasons only occur with InstanceRx.strictAddressCheck. */
export const DROP_REASONS: readonly DropReason[] = [
  'too_short', 'unknown_vrid', 'own_packet', 'bad_length', 'bad_ttl', 'bad_version',
  'invalid_auth_type', 'auth_type_mismatch', 'bad_auth', 'advert_int_mismatch', 'bad_type',
  'address_count_mismatch', 'bad_checksum', 'unicast_multicast_mismatch',
  'address_list_mismatch', 'unicast_peer_unknown', 'bad_source',
];

/** Accepted, but worth logging and counting. */
export type Note =
  | 'address_count_mismatch'    // the advert carries another number of addresses than we have
  | 'address_list_mismatch'     // one of our addresses is missing from the advert
  | 'checksum_v2_form'          // v3/IPv4 checksum without pseudo-header (RFC 9568, Cisco, Juniper)
  | 'checksum_old_unicast_form'; // v3/IPv4 unicast, pseudo-header dst 224.0.0.18 (keepalived < 2.0)

export const NOTES: readonly Note[] = [
  'address_count_mismatch', 'address_list_mismatch', 'checksum_v2_form', 'checksum_old_unicast_form',
];

/** What the net layer delivers: the VRRP message (no IP header) and what the IP layer said. */
export interface ReceivedPacket {
  family: Family; payload: Uint8Array; src: string; dst: string;
  ttl: number;       // IPv4 TTL or IPv6 hop limit; negative when the transport could not tell
  ifindex: number;
}

/** The parts of an instance's config the receive checks need. */
export interface InstanceRx {
  version: 2 | 3; authType: number; authPass: string; advertIntCs: number;
  addresses: string[];      // the VIPs it advertises (a "/prefix" suffix is ignored)
  unicastPeers: string[];   // empty: multicast instance
  ownAddresses: string[];   // addresses of this host: a packet from one of them is our own
  /** keepalived `check_unicast_src` / global `vrrp_check_unicast_src` (default off): drop a
   *  unicast advert whose source is not a unicast peer. */
  checkUnicastSrc?: boolean;
  /** Drop on an address count or list mismatch, as keepalived 2.2.7 does unless
   *  `skip_check_adv_addr`, and as RFC 3768/5798 §7.1 require for a non-owner sender. Default
   *  off: tandem notes the mismatch and accepts the advert, so that two directors whose VIP
   *  lists differ still elect one master instead of both becoming master. */
  strictAddressCheck?: boolean;
  /** IPv4: the directed broadcast addresses of the receiving interface's subnets (its own
   *  addresses' and the VIPs' prefixes); a packet from one of them is 'bad_source'. */
  broadcasts?: readonly string[];
}

export type Verdict =
  | { ok: true; advert: Advert; notes: Note[] }
  | { ok: false; reason: DropReason; detail: string };

const TTL_VRRP = 255;

function drop(reason: DropReason, detail: string): Verdict {
  return { ok: false, reason, detail };
}

function stripPrefix(s: string): string {
  const slash = s.indexOf('/');
  return slash < 0 ? s : s.slice(0, slash);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  // Compare every byte, as keepalived's memcmp_constant_time does, so timing says nothing.
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Applies every receive check; the first that fails names the verdict. Never throws. */
export function validateAdvert(rx: ReceivedPacket, lookup: (vrid: number) => InstanceRx | undefined): Verdict {
  const p = rx.payload;

  // keepalived vrrp_get_header(): the fixed header must be there before anything is read.
  // RFC 3768/5798 §7.1: "MUST verify that the received packet contains the complete VRRP packet".
  if (p.length < VRRP_HEADER_LEN) return drop('too_short', `${p.length} bytes, the VRRP header needs ${VRRP_HEADER_LEN}`);

  // keepalived looks the instance up by VRID here (rb_find on the socket's VRIDs) and ignores
  // the packet when none matches, before vrrp_check_packet(): the length, version, auth and
  // interval checks all need the instance, so an unknown VRID is reported before any of them.
  // RFC 3768/5798 §7.1: "MUST verify that the VRID is configured on the receiving interface".
  // The rest of that rule ("and the local router is not the address owner") is not a drop in
  // keepalived either: an owner that hears another owner lowers its priority (machine's job).
  const vrid = p[1]!;
  const inst = lookup(vrid);
  if (!inst) return drop('unknown_vrid', `VRID ${vrid} is not configured`);

  // keepalived never sees its own adverts (it turns IP_MULTICAST_LOOP off); a transport that
  // loops them back must not let us answer ourselves.
  if (inst.ownAddresses.some((a) => sameIp(stripPrefix(a), rx.src))) return drop('own_packet', `source ${rx.src} is one of ours`);

  const unicast = inst.unicastPeers.length > 0;
  const multicastDst = isMulticast(rx.dst);
  // keepalived vrrp_dispatcher_read(), IPv6 only: a multicast packet on a unicast instance (or
  // the reverse) is discarded before vrrp_check_packet (IPv4 is checked after the checksum).
  if (rx.family === 6 && multicastDst === unicast) {
    return drop('unicast_multicast_mismatch', `${multicastDst ? 'multicast' : 'unicast'} packet to ${rx.dst} on a ${unicast ? 'unicast' : 'multicast'} instance`);
  }

  // keepalived vrrp_check_packet() from here on.
  // An AH instance expects IP protocol 51 (RFC 2402 header before VRRP); our transport only
  // receives protocol 112, so keepalived's "No AH header but auth type is AH" applies.
  if (inst.version === 2 && inst.authType === AUTH_AH) return drop('auth_type_mismatch', 'no AH header but the instance uses auth type AH');

  // RFC 3768/5798 §7.1: "MUST verify that the received packet contains the complete VRRP packet
  // (including fixed fields, IPvX address(es) [and Authentication Data])". keepalived wants the
  // exact length, and takes the auth data from the packet's own version nibble.
  const expected = expectedLength(p, rx.family);
  if (p.length !== expected) {
    return drop('bad_length', `packet too ${p.length > expected ? 'long' : 'short'}: ${p.length} bytes, expected ${expected} for ${p[3]} addresses`);
  }

  // RFC 3768 §7.1 "MUST verify that the IP TTL is 255", RFC 5798 §7.1 "MUST verify that the
  // IPvX TTL/Hop Limit is 255". keepalived checks this only on multicast instances (a unicast
  // advert may cross routers), and skips it when the hop limit was not reported.
  if (!unicast && rx.ttl >= 0 && rx.ttl !== TTL_VRRP) return drop('bad_ttl', `TTL/hop limit ${rx.ttl}, expected ${TTL_VRRP}`);

  // RFC 3768 §7.1 "MUST verify the VRRP version is 2", RFC 5798 §7.1 "... is 3": the version
  // the instance runs.
  const version = p[0]! >> 4;
  if (version !== inst.version) return drop('bad_version', `version ${version}, the instance runs ${inst.version}`);

  if (inst.version === 2) {
    // RFC 3768 §5.3.6: auth types 0, 1, 2 exist; keepalived counts others as invalid_authtype.
    const authType = p[4]!;
    if (authType !== AUTH_NONE && authType !== AUTH_PASS && authType !== AUTH_AH) {
      return drop('invalid_auth_type', `auth type ${authType} does not exist`);
    }
    // RFC 3768 §7.1: "MUST verify that the Auth Type matches the locally configured
    // authentication method for the virtual router and perform that authentication method".
    if (authType !== inst.authType) return drop('auth_type_mismatch', `auth type ${authType}, the instance uses ${inst.authType}`);
    if (authType === AUTH_PASS && rx.family === 4) {
      // RFC 3768 §5.3.10: the 8 bytes are compared with the configured password, zero padded.
      if (!equalBytes(p.subarray(p.length - VRRP_AUTH_LEN), authPassBytes(inst.authPass))) {
        return drop('bad_auth', 'password does not match');
      }
    }
    // RFC 3768 §7.1: "MUST verify that the Adver Interval in the packet is the same as the
    // locally configured for this virtual router" (keepalived: "to prevent concurrent VRID
    // running => multiple master in 1 VRID").
    const intCs = p[5]! * 100;
    if (intCs !== inst.advertIntCs) return drop('advert_int_mismatch', `advert interval ${p[5]} s, the instance uses ${inst.advertIntCs / 100} s`);
  }

  // RFC 3768 §5.3.2 / RFC 5798 §5.2.2: "A packet with unknown type MUST be discarded."
  const type = p[0]! & 0x0f;
  if (type !== VRRP_TYPE_ADVERTISEMENT) return drop('bad_type', `type ${type}, expected ${VRRP_TYPE_ADVERTISEMENT} (ADVERTISEMENT)`);

  const notes: Note[] = [];
  const ours = inst.addresses.map(stripPrefix);
  // RFC 3768/5798 §7.1: "MAY verify that the IPvX address(es) associated with the VRID are
  // valid"; on failure "SHOULD log the event" and, unless the sender is the owner, "MUST drop".
  // keepalived compares the count here (before the checksum), the list further down.
  if (p[3] !== ours.length) {
    if (inst.strictAddressCheck) return drop('address_count_mismatch', `${p[3]} addresses, the instance has ${ours.length}`);
    notes.push('address_count_mismatch');
  }

  // RFC 3768 §7.1 / RFC 5798 §7.1: "MUST verify the VRRP checksum".
  const ipc = { family: rx.family, src: rx.src, dst: rx.dst };
  if (version === 2) {
    // RFC 3768 §5.3.8: over the VRRP message only.
    if (!safeChecksumValid(p, 'message', ipc)) return drop('bad_checksum', 'VRRPv2 checksum does not match');
  } else if (!safeChecksumValid(p, 'pseudo', ipc)) {
    // RFC 5798 §5.2.8 with the pseudo-header failed. IPv4 has two more forms in use:
    // - RFC 9568 §5.2.8 / Cisco / Juniper / keepalived `v3_checksum_as_v2`: no pseudo-header;
    // - keepalived 2.2.7 on a unicast instance retries with 224.0.0.18 as the pseudo-header's
    //   destination (what keepalived < 2.0 sent) and accepts it.
    if (rx.family === 4 && unicast && safeChecksumValid(p, 'pseudo_mcast_dst', ipc)) {
      notes.push('checksum_old_unicast_form');
    } else if (rx.family === 4 && safeChecksumValid(p, 'message', ipc)) {
      notes.push('checksum_v2_form');
    } else {
      return drop('bad_checksum', `VRRPv3 checksum does not match (with or without the IPv${rx.family} pseudo-header)`);
    }
  }

  // keepalived vrrp_check_packet(), IPv4: "check that destination address is multicast if don't
  // have any unicast peers and vice versa".
  if (rx.family === 4 && multicastDst === unicast) {
    return drop('unicast_multicast_mismatch', `${multicastDst ? 'multicast' : 'unicast'} packet to ${rx.dst} on a ${unicast ? 'unicast' : 'multicast'} instance`);
  }

  const decoded = decodeAdvert(p, rx.family);
  // Cannot fail: length and version were checked above. Kept as a guard, not an assertion.
  if (!decoded.ok) return decoded;
  const advert = decoded.advert;

  // The list half of the "MAY verify the addresses" rule: keepalived wants each of its VIPs in
  // the advert (vrrp_in_chk_vips), compared as numbers, not text.
  const missing = ours.find((o) => !advert.addresses.some((a) => sameIp(a, o)));
  if (missing !== undefined) {
    if (inst.strictAddressCheck) return drop('address_list_mismatch', `${missing} is not in the advert`);
    notes.push('address_list_mismatch');
  }

  // keepalived with check_unicast_src: the source must be one of the unicast peers.
  if (unicast && inst.checkUnicastSrc && !inst.unicastPeers.some((u) => sameIp(stripPrefix(u), rx.src))) {
    return drop('unicast_peer_unknown', `unicast source ${rx.src} is not a unicast peer`);
  }

  // tandem's own check, last (see the top of this file): no router sends from these addresses.
  const problem = sourceAddressProblem(rx.src, rx.family, inst.broadcasts ?? []);
  if (problem) return drop('bad_source', `source ${rx.src} is ${SOURCE_PROBLEM_TEXT[problem]}: no router sends from it`);

  return { ok: true, advert, notes };
}

/** Why an address cannot be the source of a packet from another router. */
export type SourceProblem =
  | 'unspecified' | 'this_network' | 'multicast' | 'broadcast' | 'directed_broadcast' | 'loopback'
  | 'ipv4_mapped' | 'ipv4_compatible';

const SOURCE_PROBLEM_TEXT: Record<SourceProblem, string> = {
  unspecified: 'the unspecified address',
  this_network: "in 0.0.0.0/8 ('this network', only a source while a host learns its address)",
  multicast: 'a multicast address',
  broadcast: 'the limited broadcast address',
  directed_broadcast: "the receiving interface's directed broadcast address",
  loopback: 'a loopback address',
  ipv4_mapped: 'IPv4-mapped (::ffff:0:0/96 names an IPv4 node, which sends no IPv6)',
  ipv4_compatible: 'the IPv4-compatible form of an address no router sends from',
};

/**
 * The reason `src` cannot have sent a packet that arrived on the wire, or null. IPv4: RFC 1122
 * §3.2.1.3 allows {0, 0} and {0, host} (0.0.0.0/8) only while a host initialises, never
 * {-1, -1} (255.255.255.255), a directed broadcast (the subnets in `broadcasts`) or 127/8 from
 * outside a host, nor a multicast (class D) source, and says "a host MUST silently discard an
 * incoming datagram containing an IP source address that is invalid by the rules of this
 * section". IPv6 (RFC 4291): :: (§2.5.2: sent only by "an initializing host before it has learned
 * its own address"), ::1 (§2.5.3: "must not be used as the source address in IPv6 packets that
 * are sent outside of a single node"), ff00::/8 (§2.7: "must not be used as source addresses"),
 * IPv4-mapped ::ffff:0:0/96 (§2.5.5.2: it represents the address of an IPv4 node, which sends
 * no IPv6), and the deprecated IPv4-compatible ::a.b.c.d (§2.5.5.1) whose a.b.c.d is itself one
 * of the IPv4 cases. Linux drops some of these before a raw socket sees them (IPv4 multicast and
 * limited broadcast sources, loopback without route_localnet; IPv6 ::1 and multicast); the
 * others reach us, 0.0.0.0 and :: among them.
 */
export function sourceAddressProblem(src: string, family: Family, broadcasts: readonly string[]): SourceProblem | null {
  const p = parseIp(src);
  if (!p || p.family !== family) return null; // a transport that cannot tell: not this check's business
  const b = p.bytes;
  if (family === 4) {
    const v4 = ipv4Problem(b);
    if (v4) return v4;
    return broadcasts.some((x) => sameIp(x, src)) ? 'directed_broadcast' : null;
  }
  if (b[0] === 0xff) return 'multicast';
  const zeroTo = (n: number) => b.subarray(0, n).every((x) => x === 0);
  if (zeroTo(15) && b[15] === 0) return 'unspecified';
  if (zeroTo(15) && b[15] === 1) return 'loopback';
  if (zeroTo(10) && b[10] === 0xff && b[11] === 0xff) return 'ipv4_mapped';
  if (zeroTo(12) && ipv4Problem(b.subarray(12)) !== null) return 'ipv4_compatible';
  return null;
}

function ipv4Problem(b: Uint8Array): SourceProblem | null {
  if (b.every((x) => x === 0)) return 'unspecified';
  if (b[0] === 0) return 'this_network';
  if (b[0] === 127) return 'loopback';
  if ((b[0]! & 0xf0) === 0xe0) return 'multicast';
  if (b.every((x) => x === 0xff)) return 'broadcast';
  return null;
}

/** The directed broadcast address of an IPv4 subnet, or null where there is none (a /31 or /32
 *  has no broadcast address, RFC 3021; IPv6 has no broadcast at all). */
export function directedBroadcast(address: string, prefixLen: number): string | null {
  const p = parseIp(address);
  if (!p || p.family !== 4 || prefixLen < 0 || prefixLen > 30) return null;
  const n = ((p.bytes[0]! << 24) | (p.bytes[1]! << 16) | (p.bytes[2]! << 8) | p.bytes[3]!) >>> 0;
  const host = prefixLen === 0 ? 0xffffffff : (2 ** (32 - prefixLen) - 1);
  const bc = (n | host) >>> 0;
  return `${bc >>> 24}.${(bc >>> 16) & 0xff}.${(bc >>> 8) & 0xff}.${bc & 0xff}`;
}

/** checksumValid, but an address that does not parse (a broken transport) fails the check
 *  instead of throwing. */
function safeChecksumValid(p: Uint8Array, form: 'message' | 'pseudo' | 'pseudo_mcast_dst', ip: { family: Family; src: string; dst: string }): boolean {
  if (form !== 'message') {
    const s = parseIp(ip.src), d = parseIp(ip.dst);
    if (!s || !d || s.family !== ip.family || d.family !== ip.family) return false;
  }
  return checksumValid(p, form, ip);
}
