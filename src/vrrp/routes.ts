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

export interface Installed {
  /** Texts of what was not there and is now. */
  added: string[];
  /** Texts of what could not be added (the reason is logged, rate-limited). */
  failed: string[];
}

export class RouteOps {
  constructor(private readonly net: VrrpNetwork) {}

  /** Adds the routes, then the rules. What is there already stays; one that cannot be added (a
   *  gateway not reachable yet, a device that is down) does not keep the others away. */
  install(set: RouteSet, fail: RateLimitedLog): Installed {
    const out: Installed = { added: [], failed: [] };
    for (const r of set.routes) {
      const text = routeText(r.spec);
      try {
        if (this.net.addRoute(r.spec) === 'added') out.added.push(`route ${text}`);
      } catch (e) {
        out.failed.push(`route ${text}`);
        fail.warn(`route-add:${text}`, `adding route ${text} failed: ${(e as Error).message}`);
      }
    }
    for (const r of set.rules) {
      const text = ruleText(r.spec);
      try {
        if (this.net.addRule(r.spec) === 'added') out.added.push(`rule ${text}`);
      } catch (e) {
        out.failed.push(`rule ${text}`);
        fail.warn(`rule-add:${text}`, `adding rule ${text} failed: ${(e as Error).message}`);
      }
    }
    return out;
  }

  /** Deletes the rules, then the routes; returns the texts of what was there. */
  remove(set: RouteSet, fail: RateLimitedLog): string[] {
    const removed: string[] = [];
    for (const r of set.rules) {
      const text = ruleText(r.spec);
      try {
        if (this.net.deleteRule(r.spec) === 'deleted') removed.push(`rule ${text}`);
      } catch (e) {
        fail.warn(`rule-del:${text}`, `removing rule ${text} failed: ${(e as Error).message}`);
      }
    }
    for (const r of set.routes) {
      const text = routeText(r.spec);
      try {
        if (this.net.deleteRoute(r.spec) === 'deleted') removed.push(`route ${text}`);
      } catch (e) {
        fail.warn(`route-del:${text}`, `removing route ${text} failed: ${(e as Error).message}`);
      }
    }
    return removed;
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

export const isEmpty = (s: RouteSet) => s.routes.length === 0 && s.rules.length === 0;

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
