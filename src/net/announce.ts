// Pure builders for the frames that announce a VIP after a failover (RFC 5798 §6.4.1 (o),
// §6.4.2), byte for byte what keepalived 2.2.7 sends (vrrp_arp.c, vrrp_ndisc.c; checked against
// frames captured from it):
// - IPv4: a gratuitous ARP request, RFC 5227 §3 / RFC 826, sender = target = the VIP.
// - IPv6: an unsolicited neighbour advertisement, RFC 4861 §4.4 and §7.2.6, from the VIP to
//   all-nodes, Override set, with the target link-layer address option.
// No node: imports; Uint8Array and DataView only.

import { internetChecksum, pseudoHeader6 } from '../ip/checksum.js';
import { parseIp } from '../ip/address.js';

const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ARP_HTYPE_ETHERNET = 1;
const ARP_OP_REQUEST = 1;
const IPPROTO_ICMPV6 = 58;
const ICMPV6_NEIGHBOR_ADVERT = 136;
const ND_OPT_TARGET_LL_ADDR = 2;
const ND_HOP_LIMIT = 255; // RFC 4861 §7.1.2: receivers drop ND with any other hop limit
const NA_FLAG_ROUTER = 0x80;
const NA_FLAG_OVERRIDE = 0x20;

const ETH_HEADER = 14;
const ARP_LEN = 28;
const IPV6_HEADER = 40;
const NA_LEN = 24; // type, code, checksum, flags+reserved, target
const LL_OPT_LEN = 8; // type, length (in 8-octet units), 6-byte MAC

const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
// ff02::1 and its Ethernet mapping 33:33 + low 32 bits (RFC 2464 §7).
const ALL_NODES_IP = addressBytes('ff02::1', 6);
const ALL_NODES_MAC = new Uint8Array([0x33, 0x33, 0x00, 0x00, 0x00, 0x01]);

/** "aa:bb:cc:dd:ee:ff" (also with '-') to 6 bytes; throws on anything else. */
export function parseMac(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`bad MAC address '${s}'`);
  }
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

/** 6 bytes to lower-case "aa:bb:cc:dd:ee:ff". */
export function formatMac(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Ethernet broadcast ARP request announcing `ip` at `mac` (42 bytes, unpadded like keepalived's;
 * the NIC pads to the Ethernet minimum). Target hardware address ff:ff:ff:ff:ff:ff as keepalived. */
export function buildGarp(mac: Uint8Array, ip: string): Uint8Array {
  checkMac(mac);
  const ipBytes = addressBytes(ip, 4);
  const frame = new Uint8Array(ETH_HEADER + ARP_LEN);
  const view = new DataView(frame.buffer);
  frame.set(BROADCAST_MAC, 0);
  frame.set(mac, 6);
  view.setUint16(12, ETHERTYPE_ARP);
  const arp = ETH_HEADER;
  view.setUint16(arp, ARP_HTYPE_ETHERNET);
  view.setUint16(arp + 2, ETHERTYPE_IPV4);
  frame[arp + 4] = 6; // hardware address length
  frame[arp + 5] = 4; // protocol address length
  view.setUint16(arp + 6, ARP_OP_REQUEST);
  frame.set(mac, arp + 8); // sender hardware address
  frame.set(ipBytes, arp + 14); // sender protocol address
  frame.set(BROADCAST_MAC, arp + 18); // target hardware address
  frame.set(ipBytes, arp + 24); // target protocol address = sender: "gratuitous"
  return frame;
}

export interface NaOptions {
  /** The Router flag. keepalived sets it when IPv6 forwarding is on for the interface, because a
   * host that sees R=0 from its default router removes that router (RFC 4861 §7.2.5). */
  router?: boolean;
}

/** Unsolicited NA for `ip` at `mac` (86 bytes): 33:33:00:00:00:01 / ff02::1, source address the
 * VIP itself (as keepalived), hop limit 255, Override set, Solicited clear (RFC 4861 §7.2.6). */
export function buildUnsolicitedNa(mac: Uint8Array, ip: string, opts: NaOptions = {}): Uint8Array {
  checkMac(mac);
  const target = addressBytes(ip, 6);
  const icmpLen = NA_LEN + LL_OPT_LEN;
  const frame = new Uint8Array(ETH_HEADER + IPV6_HEADER + icmpLen);
  const view = new DataView(frame.buffer);
  frame.set(ALL_NODES_MAC, 0);
  frame.set(mac, 6);
  view.setUint16(12, ETHERTYPE_IPV6);

  const ip6 = ETH_HEADER;
  view.setUint32(ip6, 6 << 28); // version 6, traffic class 0, flow label 0
  view.setUint16(ip6 + 4, icmpLen);
  frame[ip6 + 6] = IPPROTO_ICMPV6;
  frame[ip6 + 7] = ND_HOP_LIMIT;
  frame.set(target, ip6 + 8);
  frame.set(ALL_NODES_IP, ip6 + 24);

  const icmp = ip6 + IPV6_HEADER;
  frame[icmp] = ICMPV6_NEIGHBOR_ADVERT;
  frame[icmp + 1] = 0; // code
  frame[icmp + 4] = NA_FLAG_OVERRIDE | (opts.router === true ? NA_FLAG_ROUTER : 0);
  frame.set(target, icmp + 8);
  frame[icmp + 24] = ND_OPT_TARGET_LL_ADDR;
  frame[icmp + 25] = 1; // length in units of 8 octets
  frame.set(mac, icmp + 26);
  view.setUint16(icmp + 2, icmpv6Checksum(target, ALL_NODES_IP, frame.subarray(icmp)));
  return frame;
}

/** RFC 4443 §2.3: ones' complement sum over the IPv6 pseudo-header (RFC 8200 §8.1) and the
 * ICMPv6 message (whose checksum field must be zero here). */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, message: Uint8Array): number {
  return internetChecksum([pseudoHeader6(src, dst, message.length, IPPROTO_ICMPV6), message]);
}

function checkMac(mac: Uint8Array): void {
  if (mac.length !== 6) throw new Error(`MAC address must be 6 bytes, got ${mac.length}`);
}

/** The 4 or 16 bytes of `s`, parsed by the same code as every other address in tandem. */
function addressBytes(s: string, family: 4 | 6): Uint8Array {
  const ip = parseIp(s);
  if (!ip || ip.family !== family) throw new Error(`bad IPv${family} address '${s}'`);
  return ip.bytes;
}
