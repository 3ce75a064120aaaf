// Link and address events from the kernel (rtnetlink multicast groups RTMGRP_LINK,
// RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR), for track_interfaces and for putting back a VIP that
// someone deleted while we are master; on request also route events (RTMGRP_IPV4_ROUTE,
// RTMGRP_IPV6_ROUTE: keepalived's routes only) and rule events (RTNLGRP_IPV4_RULE,
// RTNLGRP_IPV6_RULE), for putting back a virtual route or rule someone deleted.
import { isLinkUp } from './addresses.js';
import { nativeAddon } from './native.js';
import type { RouteInfo, RuleInfo } from './routes.js';

export type NetEvent =
  | { kind: 'link'; ifname: string; ifindex: number; up: boolean }
  | { kind: 'addr'; op: 'add' | 'del'; ifname: string; ifindex: number; family: 4 | 6; address: string; prefixLen: number }
  | { kind: 'route'; op: 'add' | 'del'; route: RouteInfo }
  | { kind: 'rule'; op: 'add' | 'del'; rule: RuleInfo };

export interface WatchOptions {
  /** Report routes with rtm_protocol RTPROT_KEEPALIVED (18), added or deleted. Other routes are
   *  dropped in the addon before any JS runs: a host with a full BGP table must not flood the
   *  event loop at a session flap. */
  routes?: boolean;
  /** Report every policy rule added or deleted (IPv4 and IPv6). */
  rules?: boolean;
}

/**
 * Calls onEvent for
 * - links: the first event seen for an interface, then each change of its up state
 *   (IFF_UP && IFF_RUNNING); a deleted interface reports up: false. The kernel sends RTM_NEWLINK
 *   for any attribute change; those that leave the up state alone are not reported.
 * - addresses: every RTM_NEWADDR / RTM_DELADDR. An 'add' can repeat for an address that is
 *   already there (the kernel re-sends it when flags change, e.g. when DAD completes).
 * - with opts.routes: every RTM_NEWROUTE / RTM_DELROUTE of a keepalived-protocol route (the
 *   'add' of a replace too). The kernel sends no RTM_DELROUTE for the IPv4 routes it flushes
 *   when their interface goes down or loses its address: watch the link and address events too.
 * - with opts.rules: every RTM_NEWRULE / RTM_DELRULE.
 * onError gets a SystemError; code ENOBUFS means the kernel dropped events, so re-read the state
 * (linkInfo, listAddresses, listRoutes, listRules) you depend on. The watch keeps running after
 * errors until close().
 */
export function watchNetlink(onEvent: (e: NetEvent) => void, onError: (e: Error) => void,
  opts: WatchOptions = {}): { close(): void } {
  const lastUp = new Map<number, boolean>();
  const watch = new (nativeAddon().NetlinkWatch)((ev) => {
    switch (ev.type) {
      case 'link': {
        const up = ev.op === 'new' && isLinkUp(ev.flags);
        if (ev.op === 'del') lastUp.delete(ev.ifindex);
        else if (lastUp.get(ev.ifindex) === up) return;
        else lastUp.set(ev.ifindex, up);
        onEvent({ kind: 'link', ifname: ev.ifname, ifindex: ev.ifindex, up });
        return;
      }
      case 'addr':
        onEvent({
          kind: 'addr', op: ev.op, ifname: ev.ifname, ifindex: ev.ifindex,
          family: ev.family, address: ev.address, prefixLen: ev.prefixLen,
        });
        return;
      case 'route':
        onEvent({ kind: 'route', op: ev.op, route: ev.route });
        return;
      case 'rule':
        onEvent({ kind: 'rule', op: ev.op, rule: ev.rule });
        return;
    }
  }, onError, { routes: opts.routes === true, rules: opts.rules === true });
  return { close: () => watch.close() };
}
