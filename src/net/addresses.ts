// Interface addresses and link state through rtnetlink (native addon): the VIPs a master adds and
// a backup removes. Synchronous on purpose: ~0.1-0.3 ms per change, and the VRRP driver needs
// the VIP in place before it sends the GARP for it.
import { isSystemError, nativeAddon } from './native.js';

export interface IfAddress {
  family: 4 | 6;
  /** inet_ntop text: IPv6 in RFC 5952 compressed form, as Node's net module prints it. */
  address: string;
  prefixLen: number;
}

export interface LinkInfo {
  ifname: string;
  ifindex: number;
  mac: string;
  /** Administratively up (IFF_UP) and operationally up (IFF_RUNNING: carrier present). */
  up: boolean;
}

const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;

/** What keepalived's virtual_ipaddress options put in the RTM_NEWADDR (config/vipOptions.ts). */
export interface AddAddressOptions {
  /** IPv4 only: an address label (at most 15 characters), e.g. "eth0:vip". */
  label?: string;
  /** RT_SCOPE_* number; default global (0). */
  scope?: number;
  /** IPv4 broadcast address (IFA_BROADCAST). */
  broadcast?: string;
  /** Point-to-point peer (IFA_ADDRESS; the address itself is IFA_LOCAL). */
  peer?: string;
  /** IPv6: preferred lifetime in seconds (IFA_CACHEINFO, valid forever); 0 deprecates it. */
  preferredLft?: number;
  flags?: ReadonlyArray<'home' | 'noprefixroute' | 'autojoin' | 'mngtmpaddr'>;
  /** IPv6: keep duplicate address detection (keepalived's -nodad); default off (IFA_F_NODAD). */
  dad?: boolean;
}

// linux/if_addr.h
const IFA_F = { nodad: 0x02, home: 0x10, mngtmpaddr: 0x100, noprefixroute: 0x200, autojoin: 0x400 } as const;
const INFINITY_LIFE_TIME = 0xffffffff;

/** The IFA_F_* bits for `opts` on an address of `family`: IPv6 without duplicate address
 *  detection (keepalived vrrp_ipaddress.c netlink_ipaddress(): "Disable, per VIP, Duplicate
 *  Address Detection") unless `dad`, so that the VIP answers at once. */
export function addressFlags(family: 4 | 6, opts: AddAddressOptions): number {
  let f = family === 6 && !opts.dad ? IFA_F.nodad : 0;
  for (const name of opts.flags ?? []) f |= IFA_F[name];
  return f;
}

/** Adds `address/prefixLen` to `ifname` with keepalived's options. 'exists' when it is already
 *  there. Other failures throw a SystemError. */
export function addAddress(ifname: string, address: string, prefixLen: number,
  opts: AddAddressOptions = {}): 'added' | 'exists' {
  const family = familyOf(address);
  try {
    nativeAddon().addrAdd(ifname, family, address, prefixLen, {
      label: opts.label, scope: opts.scope, broadcast: opts.broadcast, peer: opts.peer,
      // keepalived sends IFA_CACHEINFO only for a lifetime other than forever.
      preferredLft: family === 6 && opts.preferredLft !== undefined && opts.preferredLft !== INFINITY_LIFE_TIME ? opts.preferredLft : undefined,
      flags: addressFlags(family, opts),
    });
    return 'added';
  } catch (e) {
    if (isSystemError(e, 'EEXIST')) return 'exists';
    throw e;
  }
}

/** Deletes `address/prefixLen` (with its `peer`, if it has one) from `ifname`; 'absent' when no
 * such address (with that prefix length) is there. Other failures throw a SystemError. */
export function deleteAddress(ifname: string, address: string, prefixLen: number, peer?: string): 'deleted' | 'absent' {
  try {
    nativeAddon().addrDel(ifname, familyOf(address), address, prefixLen, peer);
    return 'deleted';
  } catch (e) {
    if (isSystemError(e, 'EADDRNOTAVAIL')) return 'absent';
    throw e;
  }
}

/** The IPv4 and IPv6 addresses of `ifname`, in the kernel's order. Throws ENODEV if none such. */
export function listAddresses(ifname: string): IfAddress[] {
  return nativeAddon().addrList(ifname).map(({ family, address, prefixLen }) => ({ family, address, prefixLen }));
}

/** Link state of `ifname`, or undefined when there is no such interface. */
export function linkInfo(ifname: string): LinkInfo | undefined {
  const link = nativeAddon().linkGet(ifname);
  if (link === undefined) return undefined;
  return { ifname: link.ifname, ifindex: link.ifindex, mac: link.mac, up: isLinkUp(link.flags) };
}

export function isLinkUp(flags: number): boolean {
  return (flags & IFF_UP) !== 0 && (flags & IFF_RUNNING) !== 0;
}

function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}
