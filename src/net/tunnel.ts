// Tunnel devices and link up/down through rtnetlink (src/native/rtnetlink_tunnel.cc), for
// `tandem realserver` (issue 16 §5). Synchronous, as net/addresses.ts: a few calls per run.
import { isSystemError, nativeAddon } from './native.js';

/** The addon's functions from rtnetlink_tunnel.cc (typed here, beside their only user). */
interface NativeTunnelAddon {
  /** Throws EEXIST when the name, or a tunnel with the same endpoints, exists. */
  tunnelAdd(name: string, kind: 'ipip' | 'ip6tnl', local: string): void;
  tunnelDelete(name: string): void;
  tunnelSetUp(name: string, up: boolean): void;
  /** IFLA_INFO_KIND, '' for a link without one (lo, a NIC), undefined when there is no such link. */
  tunnelKind(name: string): string | undefined;
}

function addon(): NativeTunnelAddon {
  return nativeAddon() as unknown as NativeTunnelAddon;
}

/** Creates an ipip (IPv4 outer) or ip6tnl (IPv6 outer, mode any) device with this local address, down. */
export function createTunnel(name: string, kind: 'ipip' | 'ip6tnl', local: string): void {
  addon().tunnelAdd(name, kind, local);
}

/** Deletes a link; 'absent' when there is none of that name. */
export function deleteLink(name: string): 'deleted' | 'absent' {
  try {
    addon().tunnelDelete(name);
    return 'deleted';
  } catch (e) {
    if (isSystemError(e, 'ENODEV')) return 'absent';
    throw e;
  }
}

/** Sets IFF_UP on or off. */
export function setLinkUp(name: string, up: boolean): void {
  addon().tunnelSetUp(name, up);
}

/** The link's kind ('' for none), or undefined when there is no such link. */
export function linkKind(name: string): string | undefined {
  return addon().tunnelKind(name);
}

const IFF_UP = 0x1;

/** Whether the link exists, is administratively up (IFF_UP), and its kind. */
export function linkState(name: string): { up: boolean; kind: string } | undefined {
  const link = nativeAddon().linkGet(name);
  if (link === undefined) return undefined;
  return { up: (link.flags & IFF_UP) !== 0, kind: linkKind(name) ?? '' };
}
