// How many VIPs one advert can carry: keepalived's rule, keepalived/vrrp/vrrp.c
// vrrp_complete_instance() ("Check we can fit the VIPs into a packet"):
//   hdr_len  = sizeof(struct ether_header) 14 + IP header (20 IPv4, 40 IPv6) + VRRP header 8,
//              + VRRP_AUTH_LEN 8 for VRRPv2 (+ the AH header with auth_type AH, which tandem lacks);
//   max_addr = ((ifp ? ifp->mtu : DEFAULT_MTU 1500) - hdr_len) / address size (4 or 16),
//              then at most VRRP_MAX_ADDR 255, because "Count IP addrs field is 8 bits wide".
// keepalived then moves the excess VIPs to the eVIPs with a config error ("Number of VIPs (%u)
// exceeds maximum/space available in packet (max %zu addresses) - excess moved to eVIPs"). 2.2.7
// keeps max_addr of them (`if (i < max_addr) continue;`, observed: 300 IPv4 VIPs give adverts with
// addrs(255), 100 IPv6 VIPs at MTU 1500 addrs(89)); upstream's later list rewrite
// (`if (++i < max_addr) continue;`) keeps max_addr - 1. tandem refuses such a config instead of
// silently changing which addresses are advertised: the operator decides what goes to
// virtual_ipaddresses_excluded. Counting the Ethernet header against the MTU is keepalived's
// (14 bytes stricter than the IP packet needs); keeping it means a list tandem accepts is one that
// keepalived advertises whole, on the same interface.
export const DEFAULT_MTU = 1500;
export const VRRP_MAX_ADDR = 255;

const ETHER_HEADER = 14;
const VRRP_HEADER = 8;
const VRRP_AUTH_LEN = 8;

export interface AdvertRoom {
  /** Addresses one advert can carry. */
  max: number;
  /** What bounds it: the 8-bit address count, or the packet at this MTU. */
  bound: 'count' | 'mtu';
  mtu: number;
  /** Bytes keepalived counts before the addresses (Ethernet, IP and VRRP headers, v2 auth). */
  headerBytes: number;
  addressBytes: 4 | 16;
}

export function advertRoom(family: 4 | 6, version: 2 | 3, mtu: number): AdvertRoom {
  const headerBytes = ETHER_HEADER + (family === 4 ? 20 : 40) + VRRP_HEADER + (family === 4 && version === 2 ? VRRP_AUTH_LEN : 0);
  const addressBytes = family === 4 ? 4 : 16;
  const fit = Math.max(0, Math.floor((mtu - headerBytes) / addressBytes));
  return fit > VRRP_MAX_ADDR
    ? { max: VRRP_MAX_ADDR, bound: 'count', mtu, headerBytes, addressBytes }
    : { max: fit, bound: 'mtu', mtu, headerBytes, addressBytes };
}
