// Routes and rules that follow an owner: an instance's virtual_routes / virtual_rules (installed
// when it becomes MASTER, removed when it leaves) and global's static_routes / static_rules
// (statics.ts: while tandem runs). One set of operations for both, over the network port.
//
// keepalived's order (vrrp.c vrrp_state_become_master(): the VIPs, then virtual routes, then
// virtual rules; vrrp_restore_interface() the other way round): a route may name a VIP as its
// src, and a rule may send traffic to a table only these routes fill.
//
// Where tandem differs: keepalived moves an instance to BACKUP when someone deletes one of its
// tracked routes or rules (its ChangeLog for 2.0.1: "if it transitions to master again the route
// will be re-added"); tandem puts it back at once, as it does a deleted VIP, so that a stray
// `ip route flush` costs no failover. `no_track` keeps keepalived's meaning: the deletion is not
// undone until the next install.
import type { ConfigRoute, ConfigRule, VrrpInstanceConfig } from '../config/model.js';
import { routeIs, routeText, ruleIs, ruleText, type RouteInfo, type RuleInfo } from '../ip/route.js';
import type { RateLimitedLog } from '../log.js';
import type { VrrpNetwork } from './network.js';

export interface RouteSet {
  routes: readonly ConfigRoute[];
  rules: readonly ConfigRule[];
}

export const NO_ROUTES: RouteSet = { routes: [], rules: [] };

/** One kernel entry with its port calls: what install() and remove() do to each, in order. */
interface Entry { what: 'route' | 'rule'; text: string; add(): 'added' | 'exists'; del(): 'deleted' | 'absent' }

export class RouteOps {
  constructor(private readonly net: VrrpNetwork) {}

  /** Adds the routes, then the rules; returns the texts of what was not there and is now. What
   *  is there already stays; one that cannot be added (a gateway not reachable yet, a device
   *  that is down) is logged, rate-limited, and does not keep the others away. */
  install(set: RouteSet, fail: RateLimitedLog): string[] {
    return this.entries(set).flatMap((e) => {
      try {
        return e.add() === 'added' ? [`${e.what} ${e.text}`] : [];
      } catch (err) {
        fail.warn(`${e.what}-add:${e.text}`, `adding ${e.what} ${e.text} failed: ${(err as Error).message}`);
        return [];
      }
    });
  }

  /** Deletes the rules, then the routes; returns the texts of what was there. */
  remove(set: RouteSet, fail: RateLimitedLog): string[] {
    return this.entries(set, 'rules first').flatMap((e) => {
      try {
        return e.del() === 'deleted' ? [`${e.what} ${e.text}`] : [];
      } catch (err) {
        fail.warn(`${e.what}-del:${e.text}`, `removing ${e.what} ${e.text} failed: ${(err as Error).message}`);
        return [];
      }
    });
  }

  /** The routes, then the rules (or the rules first), each list in its config order. */
  private entries(set: RouteSet, order: 'routes first' | 'rules first' = 'routes first'): Entry[] {
    const routes = set.routes.map((r): Entry => ({ what: 'route', text: routeText(r.spec), add: () => this.net.addRoute(r.spec), del: () => this.net.deleteRoute(r.spec) }));
    const rules = set.rules.map((r): Entry => ({ what: 'rule', text: ruleText(r.spec), add: () => this.net.addRule(r.spec), del: () => this.net.deleteRule(r.spec) }));
    return order === 'routes first' ? [...routes, ...rules] : [...rules, ...routes];
  }

  /** The tracked entries of `set` that this deletion event took away. */
  deleted(set: RouteSet, e: { kind: 'route'; route: RouteInfo } | { kind: 'rule'; rule: RuleInfo }): RouteSet {
    return e.kind === 'route'
      ? { routes: set.routes.filter((r) => !r.noTrack && routeIs(r.spec, e.route)), rules: [] }
      : { routes: [], rules: set.rules.filter((r) => !r.noTrack && ruleIs(r.spec, e.rule)) };
  }

  /** The tracked entries of `set` that are not in the kernel now (read back: after lost events). */
  missing(set: RouteSet): RouteSet {
    const tracked = { routes: set.routes.filter((r) => !r.noTrack), rules: set.rules.filter((r) => !r.noTrack) };
    const families = new Set([...tracked.routes.map((r) => r.spec.family), ...tracked.rules.map((r) => r.spec.family)]);
    const routes = [...families].flatMap((f) => (tracked.routes.length ? this.net.listRoutes(f) : []));
    const rules = [...families].flatMap((f) => (tracked.rules.length ? this.net.listRules(f) : []));
    return {
      routes: tracked.routes.filter((r) => !routes.some((k) => routeIs(r.spec, k))),
      rules: tracked.rules.filter((r) => !rules.some((k) => ruleIs(r.spec, k))),
    };
  }

  /** Whether a route of `set` goes out of `ifname` (the kernel drops such routes, IPv4 without
   *  an event, when the link goes down: they are put back when it comes up). */
  usesInterface(set: RouteSet, ifname: string): boolean {
    return set.routes.some((r) => r.spec.dev === ifname || (r.spec.nexthops ?? []).some((h) => h.dev === ifname));
  }
}

/** An instance's virtual_routes and virtual_rules. */
export function routeSetOf(cfg: VrrpInstanceConfig): RouteSet {
  return { routes: cfg.virtualRoutes, rules: cfg.virtualRules };
}

/** The interfaces an instance's tracked routes go out of: keepalived tracks each like the
 *  instance's own (weight 0: down is FAULT, "since the route cannot be added", its ChangeLog for
 *  2.0.1; vrrp_iproute.c alloc_route() tracks only a route with an oif, and only its top-level
 *  one). A no_track route's interface is not tracked. */
export function trackedRouteInterfaces(cfg: VrrpInstanceConfig): string[] {
  return [...new Set(cfg.virtualRoutes.flatMap((r) => (!r.noTrack && r.spec.dev !== undefined ? [r.spec.dev] : [])))];
}

/** Every interface an instance's routes name (they must exist to be added). */
export function routeInterfaces(cfg: VrrpInstanceConfig): string[] {
  return [...new Set(cfg.virtualRoutes.flatMap((r) => [...(r.spec.dev !== undefined ? [r.spec.dev] : []), ...(r.spec.nexthops ?? []).flatMap((h) => (h.dev !== undefined ? [h.dev] : []))]))];
}
