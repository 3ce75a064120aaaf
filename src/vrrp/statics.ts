// global's static_ipaddress / static_routes / static_rules: present while tandem runs, whatever
// the VRRP state. keepalived adds them when its VRRP process starts (vrrp_daemon.c start_vrrp():
// static addresses, then routes, then rules), puts back a tracked one someone deletes
// ("Restoring deleted static route", vrrp_iproute.c reinstate_static_route()), and removes them
// at a clean stop. tandem removes at a stop only what it added: an address or route that was
// there before tandem started is the operator's, and stays.
import type { GlobalConfig, StaticAddress } from '../config/model.js';
import { routeText, ruleText } from '../ip/route.js';
import type { Logger, RateLimitedLog } from '../log.js';
import type { NetEvent, VrrpNetwork } from './network.js';
import { RouteOps, type RouteSet } from './routes.js';
import { vipAddOptions } from './vips.js';

const addrKey = (a: StaticAddress) => JSON.stringify([a.address, a.prefixLen, a.dev]);
const addrText = (a: StaticAddress) => `${a.address}/${a.prefixLen} dev ${a.dev}`;
const routeKey = (r: RouteSet['routes'][number]) => `route ${routeText(r.spec)}`;
const ruleKey = (r: RouteSet['rules'][number]) => `rule ${ruleText(r.spec)}`;

export interface StaticSet {
  addresses: readonly StaticAddress[];
  routes: RouteSet['routes'];
  rules: RouteSet['rules'];
}

export function staticsOf(g: GlobalConfig): StaticSet {
  return { addresses: g.staticAddresses, routes: g.staticRoutes, rules: g.staticRules };
}

export const hasStatics = (s: StaticSet) => s.addresses.length + s.routes.length + s.rules.length > 0;

export class StaticNet {
  private set: StaticSet = { addresses: [], routes: [], rules: [] };
  /** What tandem added (keys): removed at stop; what was there already is left alone. */
  private readonly ours = new Set<string>();
  private readonly routeOps: RouteOps;

  constructor(private readonly net: VrrpNetwork, private readonly log: Logger, private readonly fail: RateLimitedLog) {
    this.routeOps = new RouteOps(net);
  }

  get current(): StaticSet { return this.set; }

  /** Adds every static entry that is not there. */
  start(set: StaticSet): void {
    this.set = set;
    this.add(set, 'added');
  }

  /** A reload: what left the config is removed (if tandem added it), what is new is added. */
  reconfigure(next: StaticSet): void {
    const nowKeys = new Set([...next.addresses.map(addrKey), ...next.routes.map(routeKey), ...next.rules.map(ruleKey)]);
    const gone: StaticSet = {
      addresses: this.set.addresses.filter((a) => !nowKeys.has(addrKey(a))),
      routes: this.set.routes.filter((r) => !nowKeys.has(routeKey(r))),
      rules: this.set.rules.filter((r) => !nowKeys.has(ruleKey(r))),
    };
    this.remove(gone, 'removed (reload)');
    this.set = next;
    this.add(next, 'added (reload)');
  }

  /** A clean stop: rules, routes, then addresses, of what tandem added. */
  stop(): void {
    this.remove(this.set, 'removed (stop)');
    this.set = { addresses: [], routes: [], rules: [] };
  }

  /** Puts back a tracked static entry this event deleted; a link coming up gets its routes back
   *  (the kernel drops routes through a link that goes down, IPv4 ones without an event). */
  onNetEvent(e: NetEvent): void {
    if (e.kind === 'link') {
      if (e.up && this.routeOps.usesInterface(this.set, e.ifname)) this.add({ addresses: [], routes: this.set.routes, rules: [] }, 'restored (link up)');
      return;
    }
    if (e.op !== 'del') return;
    if (e.kind === 'addr') {
      const a = this.set.addresses.filter((x) => !x.noTrack && x.address === e.address && x.dev === e.ifname);
      if (a.length) this.add({ addresses: a, routes: [], rules: [] }, 'restored (someone deleted it)');
      return;
    }
    const d = this.routeOps.deleted(this.set, e);
    if (d.routes.length || d.rules.length) this.add({ addresses: [], ...d }, 'restored (someone deleted it)');
  }

  /** After lost netlink events: re-read and put back what is missing. */
  reRead(): void {
    // One address dump per interface, not per address.
    const on = new Map<string, Set<string>>();
    const present = (dev: string) => on.get(dev) ?? on.set(dev, new Set(this.net.listAddresses(dev).map((x) => x.address))).get(dev)!;
    const missingAddrs = this.set.addresses.filter((a) => !a.noTrack && !present(a.dev).has(a.address));
    const m = this.routeOps.missing(this.set);
    if (missingAddrs.length || m.routes.length || m.rules.length) this.add({ addresses: missingAddrs, ...m }, 'restored (re-read)');
  }

  private add(set: StaticSet, verb: string): void {
    const added: string[] = [];
    for (const a of set.addresses) {
      try {
        if (this.net.addAddress(a.dev, a.address, a.prefixLen, vipAddOptions(a)) === 'added') {
          added.push(`address ${addrText(a)}`);
          this.ours.add(addrKey(a));
        }
      } catch (e) {
        this.fail.warn(`static-addr:${addrText(a)}`, `static address ${addrText(a)}: cannot add: ${(e as Error).message}`);
      }
    }
    const routes = this.routeOps.install(set, this.fail);
    for (const t of routes) this.ours.add(t);
    added.push(...routes);
    if (added.length) this.log.info(`static ${added.join(', ')} ${verb}`);
  }

  private remove(set: StaticSet, verb: string): void {
    const mine: RouteSet = { routes: set.routes.filter((r) => this.ours.has(routeKey(r))), rules: set.rules.filter((r) => this.ours.has(ruleKey(r))) };
    const removed = this.routeOps.remove(mine, this.fail);
    for (const a of set.addresses.filter((x) => this.ours.has(addrKey(x)))) {
      try {
        if (this.net.deleteAddress(a.dev, a.address, a.prefixLen, a.peer) === 'deleted') removed.push(`address ${addrText(a)}`);
      } catch (e) {
        this.fail.warn(`static-addr-del:${addrText(a)}`, `static address ${addrText(a)}: cannot remove: ${(e as Error).message}`);
      }
    }
    for (const k of [...set.addresses.map(addrKey), ...mine.routes.map(routeKey), ...mine.rules.map(ruleKey)]) this.ours.delete(k);
    if (removed.length) this.log.info(`static ${removed.join(', ')} ${verb}`);
  }
}
