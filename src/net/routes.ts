// Routes and policy rules through rtnetlink (native addon, native/rtnetlink_route.cc): what
// keepalived's virtual_routes / virtual_rules (per instance) and static_routes / static_rules
// (global) install. Synchronous like the addresses (net/addresses.ts): ~0.1 ms per change, no
// `ip` process.
//
// The value types are plain data, built by config/routes.ts from keepalived's text; this module
// turns them into RTM_NEWROUTE / RTM_DELROUTE / RTM_NEWRULE / RTM_DELRULE.
//
// Failures throw as addresses.ts's do: a SystemError whose `code` is the errno name (EINVAL,
// ENETUNREACH "Nexthop has invalid gateway", ENODEV for an unknown dev, ...) with the kernel's
// extended-ack text in the message; a spec of the wrong shape is a TypeError naming the field.
import type { RouteInfo, RouteSpec, RuleInfo, RuleSpec } from '../ip/route.js';
import { nativeAddon } from './native.js';

// The value types and the log text live in ip/route.ts (config/ builds them and may not import net/).
export { RTPROT_KEEPALIVED, routeText, ruleText, type NextHop, type RouteInfo, type RouteSpec, type RouteType, type RuleAction, type RuleInfo, type RuleSpec } from '../ip/route.js';

// ---- routes ---------------------------------------------------------------------------------

/** Adds the route (NLM_F_EXCL); 'exists' when the kernel holds one with the same key (dst,
 *  table, tos, metric). */
export function addRoute(spec: RouteSpec): 'added' | 'exists' {
  return nativeAddon().routeAdd(spec, false);
}

/** Adds the route or replaces the one with its key (`ip route replace`: NLM_F_CREATE |
 *  NLM_F_REPLACE). */
export function replaceRoute(spec: RouteSpec): void {
  nativeAddon().routeAdd(spec, true);
}

/** Deletes the route `spec` describes and no other: the same dst, table, tos, metric (IPv6:
 *  1024 when unset, the kernel's default), type, protocol and nexthops. 'absent' when there is
 *  none such (a route of the same dst with another metric is left alone). */
export function deleteRoute(spec: RouteSpec): 'deleted' | 'absent' {
  return nativeAddon().routeDel(spec);
}

/** The routes of one family, of table `table` or of every table, in the kernel's order. Cloned
 *  entries (the IPv6 exception cache) are left out; a table nothing was ever put in is []. */
export function listRoutes(family: 4 | 6, table?: number): RouteInfo[] {
  return nativeAddon().routeList(family, table);
}

// ---- rules ----------------------------------------------------------------------------------

/** Adds the rule (NLM_F_EXCL, as keepalived's netlink_rule()); 'exists' when an identical one
 *  is there. */
export function addRule(spec: RuleSpec): 'added' | 'exists' {
  return nativeAddon().ruleAdd(spec);
}

/** Deletes the first rule matching every field of `spec`; 'absent' when none does. */
export function deleteRule(spec: RuleSpec): 'deleted' | 'absent' {
  return nativeAddon().ruleDel(spec);
}

/** The policy rules of one family, in priority order. */
export function listRules(family: 4 | 6): RuleInfo[] {
  return nativeAddon().ruleList(family);
}
