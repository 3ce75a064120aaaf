// What a reload changes (issue 5 §1), pure: old config + new config -> the plan the daemon
// applies. Nothing here touches a socket or the kernel; the services apply their part.
//
// VRRP instances are matched by identity, not by name: (VRID, family, interface, unicast or
// multicast) is what a peer sees on the wire, so an instance with the same identity is the same
// virtual router and keeps its state (a MASTER stays MASTER, its VIPs stay where they are) while
// its priority, VIPs, timers or scripts change. Another identity is another router: the old one
// stops as at shutdown (priority 0 advert, VIPs removed: RFC 5798 §6.4.3) and the new one starts.
//
// Real servers are matched by id (`<service> -> <dest>`): one whose checks are unchanged keeps its
// checker and verdict (a server that is down stays down, with no new warm-up); a changed weight or
// inhibit flag only changes the desired table, which the reconciler turns into the one kernel
// entry that differs. Checks are merged (check/merge.ts): a changed server's new checks start
// fresh unless another real server already runs an equal one, whose verdict they join.
import type { LbPlan } from '../lb/service.js';
import { isDeepStrictEqual } from 'node:util';
import type { Config, VrrpInstanceConfig } from '../config/model.js';
import type { RealServerConfig, VirtualServerConfig } from '../config/lbModel.js';

/** The keys a running daemon cannot change without a restart, by config path. */
export const RESTART_ONLY_GLOBALS = ['ipvs_backend', 'backend'] as const;

export type InstanceIdentity = string;

/** `vrid 51 IPv4 eth0 multicast`: the wire identity, also how a plan names an instance. */
export function instanceIdentity(i: VrrpInstanceConfig): InstanceIdentity {
  return `vrid ${i.vrid} IPv${i.family} ${i.interface} ${i.unicastPeers.length ? 'unicast' : 'multicast'}`;
}

export interface KeptInstance {
  old: VrrpInstanceConfig;
  next: VrrpInstanceConfig;
  /** The config keys (model names) whose values differ; empty = untouched. */
  changed: string[];
}

export interface VrrpPlan {
  kept: KeptInstance[];
  added: VrrpInstanceConfig[];
  removed: VrrpInstanceConfig[];
  /** Sync group membership or settings differ (groups are rebuilt; same-named groups keep state). */
  groupsChanged: boolean;
  /** global's static_ipaddress / static_routes / static_rules differ (vrrp/statics.ts applies the difference). */
  staticsChanged: boolean;
}


export interface ReloadPlan {
  vrrp: VrrpPlan;
  lb: LbPlan;
  /** Trackers (vrrp_scripts, files, processes) whose definition changed, added or removed. */
  trackersChanged: string[];
  alertsChanged: boolean;
  statusApiChanged: boolean;
}

/** Keys of `global` (as written in the file) whose change needs a restart, with both values. */
export function restartOnlyChanges(old: Config, next: Config): Array<{ key: string; from: unknown; to: unknown }> {
  const o = old.global as unknown as Record<string, unknown>;
  const n = next.global as unknown as Record<string, unknown>;
  const byModel: Record<string, string> = { ipvs_backend: 'ipvsBackend', backend: 'backend' };
  return RESTART_ONLY_GLOBALS.flatMap((key) => {
    const m = byModel[key]!;
    return isDeepStrictEqual(o[m], n[m]) ? [] : [{ key, from: o[m], to: n[m] }];
  });
}

export function planReload(old: Config, next: Config): ReloadPlan {
  return {
    vrrp: planVrrp(old, next),
    lb: planLb(old.virtualServers, next.virtualServers),
    trackersChanged: changedByName([
      ...old.vrrpScripts.map((s) => ['script', s] as const), ...old.trackFiles.map((s) => ['file', s] as const),
      ...old.trackProcesses.map((s) => ['process', s] as const),
    ], [
      ...next.vrrpScripts.map((s) => ['script', s] as const), ...next.trackFiles.map((s) => ['file', s] as const),
      ...next.trackProcesses.map((s) => ['process', s] as const),
    ]),
    alertsChanged: !isDeepStrictEqual(alertView(old), alertView(next)),
    statusApiChanged: old.global.statusSocket !== next.global.statusSocket || !isDeepStrictEqual(old.global.metricsListen, next.global.metricsListen),
  };
}

function planVrrp(old: Config, next: Config): VrrpPlan {
  const before = new Map(old.vrrpInstances.map((i) => [instanceIdentity(i), i]));
  const after = new Map(next.vrrpInstances.map((i) => [instanceIdentity(i), i]));
  const kept: KeptInstance[] = [];
  const added: VrrpInstanceConfig[] = [];
  for (const [id, n] of after) {
    const o = before.get(id);
    if (!o) { added.push(n); continue; }
    const changed = (Object.keys(n) as Array<keyof VrrpInstanceConfig>).filter((k) => !isDeepStrictEqual(o[k], n[k]));
    kept.push({ old: o, next: n, changed });
  }
  const removed = [...before].filter(([id]) => !after.has(id)).map(([, o]) => o);
  const statics = (c: Config) => [c.global.staticAddresses, c.global.staticRoutes, c.global.staticRules];
  return { kept, added, removed, groupsChanged: !isDeepStrictEqual(old.vrrpSyncGroups, next.vrrpSyncGroups), staticsChanged: !isDeepStrictEqual(statics(old), statics(next)) };
}

export function planLb(old: readonly VirtualServerConfig[], next: readonly VirtualServerConfig[]): LbPlan {
  const rsBefore = new Map<string, RealServerConfig>(old.flatMap((vs) => vs.realServers.map((rs) => [rs.id, rs] as const)));
  const rsAfter = new Map<string, RealServerConfig>(next.flatMap((vs) => vs.realServers.map((rs) => [rs.id, rs] as const)));
  const plan: LbPlan = {
    keptCheckers: [], restartedCheckers: [], addedServers: [], removedServers: [], weightChanges: [],
    addedServices: [], removedServices: [], changedServices: [],
  };
  for (const [id, n] of rsAfter) {
    const o = rsBefore.get(id);
    if (!o) { plan.addedServers.push(id); continue; }
    (isDeepStrictEqual(o.checks, n.checks) ? plan.keptCheckers : plan.restartedCheckers).push(id);
    if (o.dest.weight !== n.dest.weight) plan.weightChanges.push({ id, from: o.dest.weight, to: n.dest.weight });
  }
  for (const id of rsBefore.keys()) if (!rsAfter.has(id)) plan.removedServers.push(id);
  const vsBefore = new Map(old.map((vs) => [vs.key, vs]));
  const vsAfter = new Map(next.map((vs) => [vs.key, vs]));
  for (const [key, n] of vsAfter) {
    const o = vsBefore.get(key);
    if (!o) plan.addedServices.push(key);
    else if (!isDeepStrictEqual(o, n)) plan.changedServices.push(key);
  }
  for (const key of vsBefore.keys()) if (!vsAfter.has(key)) plan.removedServices.push(key);
  return plan;
}

function changedByName(
  before: ReadonlyArray<readonly [string, { name: string }]>, after: ReadonlyArray<readonly [string, { name: string }]>,
): string[] {
  const key = ([kind, c]: readonly [string, { name: string }]) => `${kind} ${c.name}`;
  const o = new Map(before.map((e) => [key(e), e[1]]));
  const n = new Map(after.map((e) => [key(e), e[1]]));
  const out: string[] = [];
  for (const [k, v] of n) if (!isDeepStrictEqual(o.get(k), v)) out.push(k);
  for (const k of o.keys()) if (!n.has(k)) out.push(k);
  return out;
}

/** What the alert channels are built from. */
function alertView(c: Config) {
  const g = c.global;
  return { routerId: g.routerId, mail: g.mail, webhooks: g.webhooks, notifyFifo: g.notifyFifo };
}

/** The config keyword of a VrrpInstanceConfig field, as the operator wrote it. */
export function instanceKeyword(field: string): string {
  const special: Record<string, string> = {
    vips: 'virtual_ipaddresses', vipsExcluded: 'virtual_ipaddresses_excluded', vrid: 'virtual_router_id',
    initialState: 'state', auth: 'authentication', notify: 'notify scripts', family: 'address family',
  };
  return special[field] ?? field.replace(/(Ms|Cs)$/, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** One line per change, for the log and `tandem reload`. Empty when nothing changed. */
export function describePlan(p: ReloadPlan): string[] {
  const out: string[] = [];
  for (const k of p.vrrp.kept) {
    if (k.changed.length) out.push(`vrrp ${k.next.name} (${instanceIdentity(k.next)}): ${k.old.name !== k.next.name ? `renamed from ${k.old.name}, ` : ''}changed ${k.changed.map(instanceKeyword).join(', ')}; state kept`);
  }
  for (const a of p.vrrp.added) out.push(`vrrp ${a.name} (${instanceIdentity(a)}): added`);
  for (const r of p.vrrp.removed) out.push(`vrrp ${r.name} (${instanceIdentity(r)}): removed (priority 0 advert if master, VIPs removed)`);
  if (p.vrrp.groupsChanged) out.push('vrrp_sync_groups: changed');
  if (p.vrrp.staticsChanged) out.push('static_ipaddress / static_routes / static_rules: changed');
  const lb = p.lb;
  for (const s of lb.addedServices) out.push(`virtual server ${s}: added`);
  for (const s of lb.removedServices) out.push(`virtual server ${s}: removed`);
  for (const w of lb.weightChanges) out.push(`real server ${w.id}: weight ${w.from} -> ${w.to}`);
  const counts: Array<[number, string]> = [
    [lb.addedServers.length, 'real server(s) added'], [lb.removedServers.length, 'real server(s) removed'],
    [lb.restartedCheckers.length, 'real server(s) with changed checks (checker restarted; a check equal to one still running elsewhere joins its verdict)'],
  ];
  for (const [n, what] of counts) if (n) out.push(`${n} ${what}`);
  for (const t of p.trackersChanged) out.push(`tracker ${t}: changed`);
  if (p.alertsChanged) out.push('alert channels (mail, webhooks, notify_fifo): changed');
  if (p.statusApiChanged) out.push('status API listeners: changed');
  return out;
}
