// Link and address events from the kernel (rtnetlink multicast groups RTMGRP_LINK,
// RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR), for track_interfaces and for putting back a VIP that
// someone deleted while we are master.
import { isLinkUp } from './addresses.js';
import { nativeAddon } from './native.js';

export type NetEvent =
  | { kind: 'link'; ifname: string; ifindex: number; up: boolean }
  | { kind: 'addr'; op: 'add' | 'del'; ifname: string; ifindex: number; family: 4 | 6; address: string; prefixLen: number };

/**
 * Calls onEvent for
 * - links: the first event seen for an interface, then each change of its up state
 *   (IFF_UP && IFF_RUNNING); a deleted interface reports up: false. The kernel sends RTM_NEWLINK
 *   for any attribute change; those that leave the up state alone are not reported.
 * - addresses: every RTM_NEWADDR / RTM_DELADDR. An 'add' can repeat for an address that is
 *   already there (the kernel re-sends it when flags change, e.g. when DAD completes).
 * onError gets a SystemError; code ENOBUFS means the kernel dropped events, so re-read the state
 * (linkInfo, listAddresses) you depend on. The watch keeps running after errors until close().
 */
export function watchNetlink(onEvent: (e: NetEvent) => void, onError: (e: Error) => void): { close(): void } {
  const lastUp = new Map<number, boolean>();
  const watch = new (nativeAddon().NetlinkWatch)((ev) => {
    if (ev.type === 'link') {
      const up = ev.op === 'new' && isLinkUp(ev.flags);
      if (ev.op === 'del') lastUp.delete(ev.ifindex);
      else if (lastUp.get(ev.ifindex) === up) return;
      else lastUp.set(ev.ifindex, up);
      onEvent({ kind: 'link', ifname: ev.ifname, ifindex: ev.ifindex, up });
    } else {
      onEvent({
        kind: 'addr', op: ev.op, ifname: ev.ifname, ifindex: ev.ifindex,
        family: ev.family, address: ev.address, prefixLen: ev.prefixLen,
      });
    }
  }, onError);
  return { close: () => watch.close() };
}
