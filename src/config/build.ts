// From validated raw values to the model, and the checks that involve more than one key.
import { isMap, isSeq } from './yaml.js';
import type { Node } from 'yaml';
import { namesInFile, nodeOf, report, reportDuplicateNames, warn, type Corrections, type Ctx } from './fields.js';
import type { Config, VrrpInstanceConfig } from './model.js';
import type { RawConfig, RawInstance } from './schema.js';
import { crossCheckSyncGroups, syncGroupModel } from './syncGroups.js';
import { crossCheckTrackers, instanceTrackRefs, trackersModel } from './trackers.js';
import { crossCheckGroupReferences, crossCheckVirtualServers, toVirtualServerModel } from './virtualServers.js';
import { crossCheckVirtualServerGroups, groupsByName } from './virtualServerGroups.js';
import { crossCheckNetAlerts, netAlertsModel } from './netAlerts.js';
import { notifyGlobalModel, stateNotifyModel } from './notifyScripts.js';
import { crossCheckScriptSecurity } from './scriptSecurity.js';
import { statusApiModel } from './statusApi.js';
import { crossCheckVmacs, vmacModel } from './vmac.js';
import { crossCheckLbBackend, type BackendIssues } from './lbBackend.js';
import { DEFAULT_MTU, VRRP_MAX_ADDR, advertRoom } from './vipLimit.js';
import { checkLabel } from './vipOptions.js';
import { routeKey, specKey } from './routes.js';

export function toModel(raw: RawConfig, file: string, hostname: string): Config {
  const alerts = netAlertsModel(raw.global, hostname);
  const trackers = trackersModel(raw);
  const notify = notifyGlobalModel(raw.global);
  return {
    file,
    global: { routerId: raw.global?.router_id ?? hostname, ipvsBackend: raw.global?.ipvs_backend ?? 'netlink', backend: raw.global?.backend ?? 'auto',
      mail: alerts.mail, webhooks: alerts.webhooks, ...notify, ...statusApiModel(raw.global),
      staticAddresses: raw.global?.static_ipaddress ?? [],
      staticRoutes: raw.global?.static_routes ?? [], staticRules: raw.global?.static_rules ?? [] },
    vrrpInstances: (raw.vrrp_instances ?? []).map((r) => ({ ...instanceModel(r, alerts.smtpAlertDefaults.vrrp), ...instanceTrackRefs(r, trackers) })),
    vrrpSyncGroups: (raw.vrrp_sync_groups ?? []).map((g) => syncGroupModel(g, alerts.smtpAlertDefaults.vrrp)),
    ...trackers,
    virtualServers: toVirtualServerModel(raw.virtual_servers ?? [], alerts.smtpAlertDefaults, notify.scriptUser, groupsByName(raw.virtual_server_groups ?? [])),
  };
}

/** Everything but the track_* lists, which need the trackers (instanceTrackRefs). */
function instanceModel(r: RawInstance, smtpAlertDefault: boolean): Omit<VrrpInstanceConfig, 'trackScripts' | 'trackFiles' | 'trackProcesses'> {
  const family = instanceFamily(r);
  const version = (r.version ?? (family === 6 ? 3 : 2)) as 2 | 3;
  const garpMasterRepeat = r.garp_master_repeat ?? 5;
  return {
    name: r.name,
    interface: r.interface,
    vrid: r.virtual_router_id,
    version,
    family,
    priority: r.priority ?? 100,
    advertIntCs: Math.round((r.advert_int ?? 1) * 100),
    preempt: r.preempt ?? true,
    preemptDelayMs: Math.round((r.preempt_delay ?? 0) * 1000),
    initialState: r.state ?? 'BACKUP',
    unicastSrcIp: r.unicast_src_ip?.address,
    unicastPeers: (r.unicast_peers ?? []).map((p) => p.address),
    auth: r.authentication ? { type: 'PASS', pass: r.authentication.auth_pass } : undefined,
    vips: r.virtual_ipaddresses,
    vipsExcluded: r.virtual_ipaddresses_excluded ?? [],
    virtualRoutes: r.virtual_routes ?? [],
    virtualRules: r.virtual_rules ?? [],
    trackInterfaces: r.track_interfaces ?? [],
    garpMasterRepeat,
    garpMasterDelayMs: Math.round((r.garp_master_delay ?? 5) * 1000),
    garpMasterRefreshMs: Math.round((r.garp_master_refresh ?? 0) * 1000),
    garpMasterRefreshRepeat: r.garp_master_refresh_repeat ?? 1,
    garpLowerPrioRepeat: r.garp_lower_prio_repeat ?? garpMasterRepeat,
    smtpAlert: r.smtp_alert ?? smtpAlertDefault,
    notify: stateNotifyModel(r),
    ...vmacModel(r),
  };
}

/**
 * The instance's family: its first VIP's; without VIPs keepalived takes the first unicast
 * peer's (vrrp_data.c alloc_vrrp_unicast_peer(): `if (!vrrp->family) vrrp->family =
 * peer->address.ss_family`), else IPv4 (vrrp.c vrrp_complete_instance(): "Default to IPv4. This
 * can only happen if no VIPs are specified"). Excluded VIPs do not set it (they may mix families).
 */
function instanceFamily(r: RawInstance): 4 | 6 {
  return r.virtual_ipaddresses[0]?.family ?? r.unicast_peers?.[0]?.family ?? r.unicast_src_ip?.family ?? 4;
}

/** What the cross checks need to know about this machine, and about the model. */
export interface CrossCheckEnv {
  /** An interface's MTU, or undefined when this machine has no such interface. */
  interfaceMtu(ifname: string): number | undefined;
  /** The model is what parsed of a file with field errors (load.ts partialConfig()): its lists
   *  have holes where items failed, so a name may exist in the file but not in the model. */
  partial?: boolean;
  /** `global` validated (false in a partial model whose global had an invalid key). */
  globalValid?: boolean;
}

/**
 * Checks that span keys or instances; errors and warnings point at the offending key's value.
 * Where keepalived corrects what a file says and carries on (it logs, `keepalived -t` reports
 * it), the check warns and queues the same correction of the model; the corrections are applied
 * at the end, once every check has seen the model as written.
 */
export function crossCheck(config: Config, root: Node, ctx: Ctx, env: CrossCheckEnv): { backendIssues: BackendIssues } {
  const fixes: Corrections = [];
  const partial = env.partial === true;
  crossCheckVirtualServerGroups(root, ctx);
  // Names as written (a group with an error still exists): one error, not two.
  crossCheckGroupReferences(root, namesInFile(root, 'virtual_server_groups'), ctx);
  crossCheckVirtualServers(config.virtualServers, root, ctx, fixes);
  const backendIssues = crossCheckLbBackend(config, root, ctx);
  crossCheckNetAlerts(root, ctx);
  crossCheckSyncGroups(config.vrrpSyncGroups, config.vrrpInstances, root, ctx, fixes, partial);
  crossCheckTrackers(config, root, ctx, fixes, partial);
  // Which user a script runs as comes from global (script_user); with an invalid global it is
  // not known, and checking for the wrong user could refuse a script that is fine.
  if (env.globalValid !== false) crossCheckScriptSecurity(config, root, ctx);
  crossCheckInstances(config, root, ctx, env, fixes);
  crossCheckVmacs(config.vrrpInstances, root, ctx, fixes);
  for (const fix of fixes) fix();
  return { backendIssues };
}

function crossCheckInstances(config: Config, root: Node, ctx: Ctx, env: CrossCheckEnv, fixes: Corrections): void {
  const instances = config.vrrpInstances;
  const instNodes = nodeOf(root, 'vrrp_instances');
  const items = isSeq(instNodes) ? (instNodes.items as Node[]) : [];
  reportDuplicateNames(root, 'vrrp_instances', ctx, (_, first) => `duplicate instance name (also vrrp_instances[${first}])`);
  const vrids = new Map<string, number>();
  const vipOwner = new Map<string, number>();
  instances.forEach((inst, i) => {
    const node = items[i];
    const p = `vrrp_instances[${i}]`;
    const at = (key: string): Node | undefined => nodeOf(node, key) ?? node;
    const err = (key: string, msg: string, n?: Node) => report(ctx, n ?? at(key), `${p}.${key}`, msg);
    const warning = (key: string, msg: string, n?: Node) => warn(ctx, n ?? at(key), `${p}.${key}`, msg);

    // RFC 5798 §1: IPv6 exists only in VRRPv3. keepalived (vrrp_data.c alloc_vrrp_vip(): "address
    // family must match VRRP instance [...] - ignoring") drops a VIP of the other family.
    const otherFamily = inst.vips.filter((v) => v.family !== inst.family);
    inst.vips.forEach((v, j) => {
      if (v.family !== inst.family) {
        warning('virtual_ipaddresses', `${v.address} is IPv${v.family} but the instance is IPv${inst.family} (its first VIP): ignored, ` +
          'as keepalived ignores it (an advert carries one family; put it in virtual_ipaddresses_excluded, or in an IPv' +
          `${v.family} instance)`, itemNode(at('virtual_ipaddresses'), j));
      }
    });
    if (otherFamily.length) fixes.push(() => { inst.vips = inst.vips.filter((v) => v.family === inst.family); });
    checkVipsFitAdvert({ ...inst, vips: inst.vips.filter((v) => v.family === inst.family) }, env, (msg) => err('virtual_ipaddresses', msg));
    const explicitVersion = isMap(node) && nodeOf(node, 'version') !== undefined;
    // keepalived 2.2.7 vrrp.c vrrp_complete_instance(): `if (LIST_ISEMPTY(vrrp->vip) &&
    // (vrrp->version == VRRP_VERSION_3 || vrrp->family == AF_INET6 || vrrp->strict_mode))`
    // "No VIP specified; at least one is required"; RFC 5798 §5.2.5: the address count's
    // "minimum value is 1". A VRRPv2 IPv4 instance may have none (RFC 3768 §5.3.5 sets no minimum).
    if (inst.vips.length === 0 && (inst.family === 6 || inst.version === 3)) {
      err(nodeOf(node, 'virtual_ipaddresses') !== undefined ? 'virtual_ipaddresses' : 'name',
        `an IPv${inst.family} VRRPv${inst.version} instance needs at least one VIP (RFC 5798 §5.2.5: the advert's address count is at least 1; ` +
        'keepalived: "No VIP specified; at least one is required"); only a VRRPv2 IPv4 instance may have none');
    }
    inst.vips.forEach((v, j) => checkLabel(v, inst.interface, itemNode(at('virtual_ipaddresses'), j), `${p}.virtual_ipaddresses[${j}]`, ctx));
    inst.vipsExcluded.forEach((v, j) => checkLabel(v, inst.interface, itemNode(at('virtual_ipaddresses_excluded'), j), `${p}.virtual_ipaddresses_excluded[${j}]`, ctx));
    if (inst.family === 6 && inst.version === 2 && explicitVersion) {
      err('version', 'IPv6 VIPs need VRRP version 3 (RFC 5798); VRRPv2 is IPv4 only');
    }
    // RFC 3768 §5.3.7: the v2 interval is whole seconds; RFC 5798 §5.2.7: v3 is 12 bits of
    // centiseconds. keepalived (vrrp.c vrrp_complete_instance(), "Check that the advertisement
    // interval is valid": "VRRPv2 advertisement interval %fs must be an integer - rounding", to
    // (interval + 0.5 s) whole seconds and at least 1; "VRRPv3 advertisement interval %.2fs is out
    // of range. Must be less than 40.96s. Setting to 40.95s") corrects both; seen on the wire,
    // 2.2.7 advertises 1.5 s as 2 s, 1.4 s as 1 s and 0.5 s or 0.4 s as 1 s.
    const advertSec = inst.advertIntCs / 100;
    if (inst.version === 2 && inst.advertIntCs % 100 !== 0) {
      const rounded = Math.max(1, Math.round(advertSec));
      warning('advert_int', `VRRPv2 advertises whole seconds: ${advertSec} s is rounded to ${rounded} s, as keepalived rounds it ` +
        '(use version: 3 for fractions of a second)');
      fixes.push(() => { inst.advertIntCs = rounded * 100; });
    }
    const written = rawAdvertInt(node);
    if (inst.version === 3 && written !== undefined && Math.abs(written * 100 - Math.round(written * 100)) > 1e-6) {
      // The model holds centiseconds, rounded half up as keepalived rounds ("VRRPv3 advertisement
      // interval %fs must be in units of 10ms - rounding").
      warning('advert_int', `VRRPv3 advertises hundredths of a second: ${written} s is rounded to ${advertSec} s, as keepalived rounds it`);
    }
    if (inst.version === 3 && inst.advertIntCs > 4095) {
      warning('advert_int', `VRRPv3 advert_int is at most 40.95 s: ${advertSec} s is taken as 40.95 s, as keepalived does`);
      fixes.push(() => { inst.advertIntCs = 4095; });
    }
    if (inst.auth && inst.version === 3) {
      // keepalived vrrp.c vrrp_complete_instance(): "VRRP version 3 does not support authentication. Ignoring."
      warning('authentication', 'VRRPv3 has no authentication (RFC 5798 §9 removed it): ignored, as keepalived ignores it');
      fixes.push(() => { inst.auth = undefined; });
    }
    if (inst.unicastSrcIp && ipFamily(inst.unicastSrcIp) !== inst.family) {
      err('unicast_src_ip', `must be IPv${inst.family} like the VIPs, got ${inst.unicastSrcIp}`);
    }
    inst.unicastPeers.forEach((peer, j) => {
      if (ipFamily(peer) !== inst.family) {
        err('unicast_peers', `must be IPv${inst.family} like the VIPs, got ${peer}`, itemNode(at('unicast_peers'), j));
      }
    });
    if (inst.priority === 255 && inst.trackInterfaces.some((t) => t.weight !== 0)) {
      // keepalived (vrrp.c vrrp_complete_instance(): "ignoring %s tracked interface due to address
      // owner") drops them; the address owner's priority never changes here either, so a
      // weighted tracker has no effect, which is what keepalived runs.
      warning('track_interfaces', 'priority 255 (address owner) never changes: the weighted interfaces have no effect ' +
        '(keepalived ignores them); weight 0 puts the instance in FAULT when the link goes down');
    }
    const key = `${inst.interface}/${inst.family}/${inst.vrid}`;
    const prevVrid = vrids.get(key);
    if (prevVrid !== undefined) {
      err('virtual_router_id', `VRID ${inst.vrid} is already used on ${inst.interface} for IPv${inst.family} by vrrp_instances[${prevVrid}]`);
    } else vrids.set(key, i);
    // Without the VIPs of the other family, dropped above.
    [...inst.vips.filter((v) => v.family === inst.family), ...inst.vipsExcluded].forEach((v) => {
      const prev = vipOwner.get(v.address);
      if (prev !== undefined && prev !== i) {
        // keepalived accepts this; tandem cannot run it: each instance adds and removes the
        // address on its own transitions, and puts it back when another removes it.
        err('virtual_ipaddresses', `VIP ${v.address} is also in vrrp_instances[${prev}]: two instances would add and remove ` +
          'the same address on each other\'s transitions (keepalived accepts it; tandem refuses it)');
      } else vipOwner.set(v.address, i);
    });
  });
  crossCheckRoutes(config, root, ctx, vipOwner);
}

/**
 * A route, a rule and a static address belong to one owner: two instances (or an instance and
 * global's static_*) holding the same one would delete it on each other's transitions. keepalived
 * accepts it; tandem refuses it, as it refuses a VIP in two instances.
 */
function crossCheckRoutes(config: Config, root: Node, ctx: Ctx, vipOwner: ReadonlyMap<string, number>): void {
  const g = nodeOf(root, 'global');
  const items = (parent: Node | undefined, key: string): Node[] => { const n = nodeOf(parent, key); return isSeq(n) ? (n.items as Node[]) : []; };
  const owners = new Map<string, string>();
  const claim = (key: string, owner: string, node: Node | undefined, path: string, what: string) => {
    const prev = owners.get(key);
    if (prev !== undefined && prev !== owner) {
      report(ctx, node, path, `${what} is also in ${prev}: each would delete it when the other installs or removes its own (keepalived accepts it; tandem refuses it)`);
    } else owners.set(key, owner);
  };
  const instNodes = items(root, 'vrrp_instances');
  config.global.staticRoutes.forEach((r, j) => claim(`route ${routeKey(r.spec)}`, 'global.static_routes', items(g, 'static_routes')[j], `global.static_routes[${j}]`, `route ${r.spec.dst}/${r.spec.dstLen} (table ${r.spec.table})`));
  config.global.staticRules.forEach((r, j) => claim(`rule ${specKey(r.spec)}`, 'global.static_rules', items(g, 'static_rules')[j], `global.static_rules[${j}]`, `rule ${r.spec.priority}`));
  config.vrrpInstances.forEach((inst, i) => {
    const p = `vrrp_instances[${i}]`;
    inst.virtualRoutes.forEach((r, j) => claim(`route ${routeKey(r.spec)}`, p, items(instNodes[i], 'virtual_routes')[j], `${p}.virtual_routes[${j}]`, `route ${r.spec.dst}/${r.spec.dstLen} (table ${r.spec.table})`));
    inst.virtualRules.forEach((r, j) => claim(`rule ${specKey(r.spec)}`, p, items(instNodes[i], 'virtual_rules')[j], `${p}.virtual_rules[${j}]`, `rule ${r.spec.priority}`));
  });
  config.global.staticAddresses.forEach((a, j) => {
    const inst = vipOwner.get(a.address);
    if (inst !== undefined) report(ctx, items(g, 'static_ipaddress')[j], `global.static_ipaddress[${j}]`, `${a.address} is a VIP of vrrp_instances[${inst}]: a static address stays while tandem runs, a VIP leaves with MASTER; give it one role`);
  });
}

/**
 * Every VIP must fit in the advert (vipLimit.ts has keepalived's rule): a master whose adverts
 * cannot be built stops advertising while it keeps the VIPs, and its backup takes over too.
 */
function checkVipsFitAdvert(inst: VrrpInstanceConfig, env: CrossCheckEnv, err: (msg: string) => void): void {
  const known = env.interfaceMtu(inst.interface);
  const room = advertRoom(inst.family, inst.version, known ?? DEFAULT_MTU);
  if (inst.vips.length <= room.max) return;
  const why = room.bound === 'count'
    ? `an advert carries at most ${VRRP_MAX_ADDR} (its address count is one byte: RFC 3768 §5.3.5, RFC 5798 §5.2.5)`
    : `a VRRPv${inst.version} IPv${inst.family} advert on ${inst.interface} (MTU ${room.mtu}` +
      `${known === undefined ? `, keepalived's default: ${inst.interface} is not on this machine` : ''}) has room for ${room.max}` +
      ` (as keepalived counts: (${room.mtu} - ${room.headerBytes} header bytes) / ${room.addressBytes} bytes per address)`;
  err(`${inst.vips.length} addresses, but ${why}; keep at most ${room.max} here and move the others to ` +
    'virtual_ipaddresses_excluded (added and removed with these, but not advertised)');
}

/** The advert_int written on an instance's node, in seconds (undefined when absent or not a number). */
function rawAdvertInt(node: Node | undefined): number | undefined {
  const n = nodeOf(node, 'advert_int') as { value?: unknown } | undefined;
  return typeof n?.value === 'number' ? n.value : undefined;
}

function itemNode(list: Node | undefined, j: number): Node | undefined {
  return isSeq(list) ? (list.items[j] as Node | undefined) ?? list : list;
}

function ipFamily(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}
