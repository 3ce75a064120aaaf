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

export interface AddAddressOptions {
  /** IPv4 only: an address label (at most 15 characters), e.g. "eth0:vip". */
  label?: string;
}

/** Adds `address/prefixLen` to `ifname`; IPv6 without duplicate address detection so the VIP
 * answers at once. 'exists' when it is already there. Other failures throw a SystemError. */
export function addAddress(ifname: string, address: string, prefixLen: number,
  opts: AddAddressOptions = {}): 'added' | 'exists' {
  try {
    nativeAddon().addrAdd(ifname, familyOf(address), address, prefixLen, opts.label);
    return 'added';
  } catch (e) {
    if (isSystemError(e, 'EEXIST')) return 'exists';
    throw e;
  }
}

/** Deletes `address/prefixLen` from `ifname`; 'absent' when no such address (with that prefix
 * length) is there. Other failures throw a SystemError. */
export function deleteAddress(ifname: string, address: string, prefixLen: number): 'deleted' | 'absent' {
  try {
    nativeAddon().addrDel(ifname, familyOf(address), address, prefixLen);
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
