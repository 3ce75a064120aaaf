// A reload of the VRRP router (the plan comes from daemon/reloadPlan.ts): instances with the same
// identity keep their machine and state and take the new settings; removed ones stop as at
// shutdown; added ones start. All or nothing: everything that can refuse the reload is checked
// before anything changes.
import type { Config, Vip, VrrpInstanceConfig } from '../config/model.js';
import { specKey } from '../config/routes.js';
import { routeSetOf, type RouteSet } from './routes.js';
import { hasStatics, staticsOf } from './statics.js';
import { vipKey } from './vips.js';
import { vmacReloadRefusal } from './vmac.js';
import type { RunningGroup, RunningInstance } from './running.js';
import { machineConfigFor, rxFor, VrrpStartError, wireFor } from './running.js';
import type { VrrpRouter } from './router.js';
import { afterReconfigure } from './sendHealth.js';

/** The VRRP part of a reload plan (daemon/reloadPlan.ts VrrpPlan has this shape). */
export interface VrrpReload {
  kept: ReadonlyArray<{ old: VrrpInstanceConfig; next: VrrpInstanceConfig; changed: readonly string[] }>;
  added: readonly VrrpInstanceConfig[];
  removed: readonly VrrpInstanceConfig[];
}

/** Throws VrrpStartError when `next` cannot run here (a missing interface, no address to send
 *  from); changes nothing. */
export function checkReconfigure(router: VrrpRouter, next: Config, plan: VrrpReload): void {
  // A kept instance's interface runs already; a VIP's `dev` may be new.
  router.requireInterfaces([...plan.added, ...plan.kept.map((k) => k.next)]);
  // The source address leaves out every VIP of the new config.
  for (const cfg of [...plan.added, ...plan.kept.map((k) => k.next)]) router.vips.sourceAddress(next, cfg);
  for (const k of plan.kept) {
    const refusal = vmacReloadRefusal(k.old, k.next);
    if (refusal) throw new VrrpStartError(refusal);
  }
}

export function reconfigure(router: VrrpRouter, next: Config, plan: VrrpReload): void {
  checkReconfigure(router, next, plan);
  router.config = next;
  if (next.vrrpInstances.length || hasStatics(staticsOf(next.global))) {
    router.watcher ??= router.deps.net.watch((e) => router.onNetEvent(e), (e) => router.onWatchError(e));
  }
  router.statics.reconfigure(staticsOf(next.global));
  router.watchLinks(next.vrrpInstances);
  const byOldName = new Map(router.instances.map((r) => [r.cfg.name, r]));
  const previousGroups = new Map(router.instances.flatMap((r) => (r.group ? [[r.group.name, r.group] as const] : [])));
  // Removed routers first: their priority 0 advert and VIP removal happen before an added
  // router on the same interface could claim an address they held.
  for (const o of plan.removed) {
    const r = byOldName.get(o.name)!;
    r.log.info('removed by reload: stopping (priority 0 advert if master, VIPs removed)');
    router.stopInstance(r);
  }
  const kept = plan.kept.map((k) => {
    const r = byOldName.get(k.old.name)!;
    if (k.changed.length) reconfigureInstance(router, r, k.next, k.changed);
    return r;
  });
  const added = plan.added.map((cfg) => router.buildInstance(cfg));
  router.instances = [...kept, ...added];
  router.index();
  const last = router.lastTransitions;
  for (const o of plan.removed) if (!router.byName.has(o.name)) last.delete(o.name);
  for (const k of plan.kept) {
    if (k.old.name === k.next.name) continue;
    const t = last.get(k.old.name);
    last.delete(k.old.name);
    if (t) last.set(k.next.name, t);
  }
  router.groups.build(next, router.instances, router.byName, previousGroups as ReadonlyMap<string, RunningGroup>);
  router.sockets.closeUnused(router.instances);
  router.sockets.sizeReceiveBuffers(router.instances);
  // Priorities (a new base priority, new tracker weights) and faults, then the new routers.
  for (const r of router.instances) router.health.refresh(r);
  for (const r of added) r.driver.start();
}

/** Same router, new settings: the send path, the receive checks, the machine's config; a
 *  master's VIPs are changed in place (the added ones announced, the others left alone). */
function reconfigureInstance(router: VrrpRouter, r: RunningInstance, cfg: VrrpInstanceConfig, changed: readonly string[]): void {
  const oldVips = r.wire.allVips;
  const oldRoutes = routeSetOf(r.cfg);
  if (r.cfg.name !== cfg.name) r.log = router.deps.log.child(`vrrp[${cfg.name}]`);
  r.cfg = cfg;
  r.srcIp = router.vips.sourceAddress(router.config, cfg);
  r.wire = wireFor(cfg);
  r.rx = rxFor(cfg, r.srcIp, router.vips.broadcastsOf(cfg));
  r.driver.reconfigure(machineConfigFor(cfg, r.srcIp, router.externalAdverts));
  const keyword = router.deps.keyword ?? ((f: string) => f);
  r.log.info(`reloaded: ${changed.map(keyword).join(', ')} changed; state ${r.driver.snapshot().state} kept`);
  // The new settings may fix a send fault (or cause one): start over; reconfigure() applies it.
  router.sendPath.checkEncodable(r, afterReconfigure(r.sendHealth));
  if (r.driver.snapshot().state !== 'MASTER' || r.sendHealth.fault) return;
  const key = (v: Vip) => vipKey(cfg, v);
  const now = new Set(r.wire.allVips.map(key));
  const before = new Set(oldVips.map(key));
  const gone = oldVips.filter((v) => !now.has(key(v)));
  const fresh = r.wire.allVips.filter((v) => !before.has(key(v)));
  // Routes and rules as keepalived's clear_diff_routes() / clear_diff_rules(): what left the
  // config goes (before the VIPs it may use as src), what is new comes (after them).
  const routeGone = routeDifference(oldRoutes, routeSetOf(cfg));
  const removed = [...router.routes.remove(routeGone, r.sendFail), ...router.vips.remove(r, gone, r.sendFail)];
  const added = router.vips.add(r, fresh, r.sendFail);
  added.push(...router.routes.install(routeDifference(routeSetOf(cfg), oldRoutes), r.sendFail));
  // New addresses are announced like a takeover's (garp_master_repeat); the others are not
  // re-announced, so the neighbours' caches see nothing happen.
  router.vips.announce(r, fresh, cfg.garpMasterRepeat, r.sendFail);
  if (removed.length) r.log.info(`removed ${removed.join(', ')} from ${cfg.interface} (reload)`);
  if (added.length) r.log.info(`added ${added.join(', ')} on ${cfg.interface} (reload)`);
}

/** The routes and rules of `a` that are not in `b`, entry for entry (any difference, a new
 *  gateway as much as a new destination, removes the old one and adds the new). */
function routeDifference(a: RouteSet, b: RouteSet): RouteSet {
  const inB = new Set([...b.routes, ...b.rules].map((r) => specKey(r.spec)));
  return { routes: a.routes.filter((r) => !inB.has(specKey(r.spec))), rules: a.rules.filter((r) => !inB.has(specKey(r.spec))) };
}
