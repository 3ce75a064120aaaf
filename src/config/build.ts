// From validated raw values to the model, and the checks that involve more than one key.
import { isMap, isSeq, type Node } from 'yaml';
import { nodeOf, report, type Ctx } from './fields.js';
import type { Config, VrrpInstanceConfig } from './model.js';
import type { RawConfig, RawInstance } from './schema.js';
import { crossCheckSyncGroups, syncGroupModel } from './syncGroups.js';
import { crossCheckTrackers, instanceTrackRefs, trackersModel } from './trackers.js';
import { crossCheckVirtualServers, toVirtualServerModel } from './virtualServers.js';
import { crossCheckNetAlerts, netAlertsModel } from './netAlerts.js';
import { notifyGlobalModel, stateNotifyModel } from './notifyScripts.js';
import { crossCheckScriptSecurity } from './scriptSecurity.js';
import { statusApiModel } from './statusApi.js';
import { crossCheckLbBackend } from './lbBackend.js';
import { DEFAULT_MTU, VRRP_MAX_ADDR, advertRoom } from './vipLimit.js';

export function toModel(raw: RawConfig, file: string, hostname: string): Config {
  const alerts = netAlertsModel(raw.global, hostname);
  const trackers = trackersModel(raw);
  const notify = notifyGlobalModel(raw.global);
  return {
    file,
    global: { routerId: raw.global?.router_id ?? hostname, ipvsBackend: raw.global?.ipvs_backend ?? 'netlink', backend: raw.global?.backend ?? 'auto',
      mail: alerts.mail, webhooks: alerts.webhooks, ...notify, ...statusApiModel(raw.global) },
    vrrpInstances: (raw.vrrp_instances ?? []).map((r) => ({ ...instanceModel(r, alerts.smtpAlertDefaults.vrrp), ...instanceTrackRefs(r, trackers) })),
    vrrpSyncGroups: (raw.vrrp_sync_groups ?? []).map((g) => syncGroupModel(g, alerts.smtpAlertDefaults.vrrp)),
    ...trackers,
    virtualServers: toVirtualServerModel(raw.virtual_servers ?? [], alerts.smtpAlertDefaults, notify.scriptUser),
  };
}

/** Everything but the track_* lists, which need the trackers (instanceTrackRefs). */
function instanceModel(r: RawInstance, smtpAlertDefault: boolean): Omit<VrrpInstanceConfig, 'trackScripts' | 'trackFiles' | 'trackProcesses'> {
  const family = r.virtual_ipaddresses[0]?.family ?? 4;
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
    trackInterfaces: r.track_interfaces ?? [],
    garpMasterRepeat,
    garpMasterDelayMs: Math.round((r.garp_master_delay ?? 5) * 1000),
    garpMasterRefreshMs: Math.round((r.garp_master_refresh ?? 0) * 1000),
    garpMasterRefreshRepeat: r.garp_master_refresh_repeat ?? 1,
    garpLowerPrioRepeat: r.garp_lower_prio_repeat ?? garpMasterRepeat,
    smtpAlert: r.smtp_alert ?? smtpAlertDefault,
    notify: stateNotifyModel(r),
  };
}

/** What the cross checks need to know about this machine. */
export interface CrossCheckEnv {
  /** An interface's MTU, or undefined when this machine has no such interface. */
  interfaceMtu(ifname: string): number | undefined;
}

/** Checks that span keys or instances; errors point at the offending key's value. */
export function crossCheck(config: Config, root: Node, ctx: Ctx, env: CrossCheckEnv): void {
  crossCheckVirtualServers(config.virtualServers, root, ctx);
  crossCheckLbBackend(config, root, ctx);
  crossCheckNetAlerts(root, ctx);
  crossCheckSyncGroups(config.vrrpSyncGroups, config.vrrpInstances, root, ctx);
  crossCheckTrackers(config, root, ctx);
  crossCheckScriptSecurity(config, root, ctx);
  const instNodes = nodeOf(root, 'vrrp_instances');
  const items = isSeq(instNodes) ? (instNodes.items as Node[]) : [];
  const names = new Map<string, number>();
  const vrids = new Map<string, number>();
  const vipOwner = new Map<string, number>();
  config.vrrpInstances.forEach((inst, i) => {
    const node = items[i];
    const p = `vrrp_instances[${i}]`;
    const at = (key: string): Node | undefined => nodeOf(node, key) ?? node;
    const err = (key: string, msg: string, n?: Node) => report(ctx, n ?? at(key), `${p}.${key}`, msg);

    // RFC 5798 §1: IPv6 exists only in VRRPv3.
    inst.vips.forEach((v, j) => {
      if (v.family !== inst.family) {
        err('virtual_ipaddresses', `all VIPs of an instance must be one family (first is IPv${inst.family}), got ${v.address}`,
          itemNode(at('virtual_ipaddresses'), j));
      }
    });
    checkVipsFitAdvert(inst, env, (msg) => err('virtual_ipaddresses', msg));
    const explicitVersion = isMap(node) && nodeOf(node, 'version') !== undefined;
    if (inst.family === 6 && inst.version === 2 && explicitVersion) {
      err('version', 'IPv6 VIPs need VRRP version 3 (RFC 5798); VRRPv2 is IPv4 only');
    }
    // RFC 3768 §5.3.7: v2 interval is whole seconds. RFC 5798 §5.2.7: v3 is 12 bits of centiseconds.
    const advertSec = inst.advertIntCs / 100;
    if (inst.version === 2 && (inst.advertIntCs % 100 !== 0 || advertSec < 1)) {
      err('advert_int', `VRRPv2 advert_int is whole seconds 1..255, got ${advertSec}`);
    }
    if (inst.version === 3 && inst.advertIntCs > 4095) {
      err('advert_int', `VRRPv3 advert_int is 0.01..40.95 seconds, got ${advertSec}`);
    }
    if (inst.auth && inst.version === 3) {
      err('authentication', 'authentication exists only in VRRPv2 (RFC 5798 §9 removed it)');
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
      err('track_interfaces', 'priority 255 (address owner) never changes; tracker weights would be ignored');
    }
    const prevName = names.get(inst.name);
    if (prevName !== undefined) err('name', `duplicate instance name (also vrrp_instances[${prevName}])`);
    else names.set(inst.name, i);
    const key = `${inst.interface}/${inst.family}/${inst.vrid}`;
    const prevVrid = vrids.get(key);
    if (prevVrid !== undefined) {
      err('virtual_router_id', `VRID ${inst.vrid} is already used on ${inst.interface} for IPv${inst.family} by vrrp_instances[${prevVrid}]`);
    } else vrids.set(key, i);
    [...inst.vips, ...inst.vipsExcluded].forEach((v) => {
      const prev = vipOwner.get(v.address);
      if (prev !== undefined && prev !== i) {
        err('virtual_ipaddresses', `VIP ${v.address} is also in vrrp_instances[${prev}]`);
      } else vipOwner.set(v.address, i);
    });
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

function itemNode(list: Node | undefined, j: number): Node | undefined {
  return isSeq(list) ? (list.items[j] as Node | undefined) ?? list : list;
}

function ipFamily(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}
