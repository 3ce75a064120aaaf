// The real VRRP network port (vrrp/network.ts VrrpNetwork): a thin object over the net/ adapters,
// built once by the daemon and handed to the VRRP router. It names no vrrp/ type (net/ sits below
// vrrp/ in the folder graph, and lb/ uses net/): the daemon, which passes it to the router, is
// where the compiler checks that it fits the port.
import { addAddress, deleteAddress, linkInfo, listAddresses, type AddAddressOptions } from './addresses.js';
import { buildGarp, buildUnsolicitedNa } from './announce.js';
import { openAnnouncer } from './announcer.js';
import { watchNetlink, type NetEvent } from './netlinkWatch.js';
import { openAdvertSender, type AdvertReport } from './advertSender.js';
import { addRoute, addRule, deleteRoute, deleteRule, listRoutes, listRules } from './routes.js';
import type { RouteSpec, RuleSpec } from '../ip/route.js';
import { VmacManager, type VmacHandle, type VmacRequest } from './vmac.js';
import { openVrrpSocket, receiveBufferBytes, type VrrpSocketOptions } from './vrrpSocket.js';

/** `now`: the router's clock (the daemon's Timers.now()); received packets' arrival times are
 *  given on it, since the router compares them with its own deadlines. */
export function createVrrpNetwork(now: () => number) {
  const vmacs = new VmacManager();
  return {
    openSocket: (req: VrrpSocketOptions) => openVrrpSocket({ ...req, now }),
    /** The thread that sends MASTER adverts on time whatever the loop does (native/advert_sender.cc). */
    openAdvertSender: (onReport: (reports: AdvertReport[]) => void) => openAdvertSender(onReport),
    receiveBufferBytes: (load: Parameters<typeof receiveBufferBytes>[0]) => receiveBufferBytes(load),
    openAnnouncer: (ifname: string) => openAnnouncer(ifname),
    addAddress: (ifname: string, address: string, prefixLen: number, opts?: AddAddressOptions) => addAddress(ifname, address, prefixLen, opts),
    deleteAddress: (ifname: string, address: string, prefixLen: number, peer?: string) => deleteAddress(ifname, address, prefixLen, peer),
    listAddresses: (ifname: string) => listAddresses(ifname),
    linkInfo: (ifname: string) => linkInfo(ifname),
    /** Builds one frame per address and throws it away: the first takeover's GARP is not the
     *  builders' first run. */
    warmUpAnnouncements: (addresses: ReadonlyArray<{ family: 4 | 6; address: string }>) => {
      for (const a of addresses) (a.family === 4 ? buildGarp : buildUnsolicitedNa)(new Uint8Array(6), a.address);
    },
    /** virtual_routes / virtual_rules and the statics (net/routes.ts over native/rtnetlink_route.cc). */
    addRoute: (spec: RouteSpec) => addRoute(spec),
    deleteRoute: (spec: RouteSpec) => deleteRoute(spec),
    listRoutes: (family: 4 | 6) => listRoutes(family),
    addRule: (spec: RuleSpec) => addRule(spec),
    deleteRule: (spec: RuleSpec) => deleteRule(spec),
    listRules: (family: 4 | 6) => listRules(family),
    // Route events are those of protocol keepalived only (the addon filters: a BGP full table
    // must not flood this loop); rule events all.
    watch: (onEvent: (e: NetEvent) => void, onError: (e: Error) => void) => watchNetlink(onEvent, onError, { routes: true, rules: true }),
    /** use_vmac (net/vmac.ts): macvlans with the virtual MAC, through rtnetlink_link.cc. */
    acquireVmac: (req: VmacRequest) => vmacs.acquire(req),
    releaseVmac: (h: VmacHandle, req: VmacRequest) => vmacs.release(h, req),
  };
}
