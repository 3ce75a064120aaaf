import type { Family } from '../ip/address.js';
import type { SyncGroupConfig } from './syncGroups.js';
import type { TrackFileConfig, TrackProcessConfig, TrackRef, VrrpScriptConfig } from './trackers.js';
import type { VirtualServerConfig } from './lbModel.js';
import type { MailConfig, WebhookConfig } from './netAlerts.js';
import type { NotifyGlobalConfig, StateNotifyScripts } from './notifyScripts.js';
import type { StatusApiGlobalConfig } from './statusApi.js';
import type { ConfigRoute, ConfigRule } from './routes.js';
import type { VmacConfig } from './vmac.js';

export type { ConfigRoute, ConfigRule };

// The typed, frozen configuration that the rest of tandem consumes. Units are explicit in names
// (Cs = centiseconds, Ms = milliseconds) because VRRP mixes seconds (v2) and centiseconds (v3).
//
// The config model is one module tree under config/, and nothing outside config/ declares a
// config type: this file is its root (Config, global, VRRP instances); each section's types
// sit beside the code that validates that section and are imported here: lbModel.ts (virtual
// servers, checks, and the virtual service / real server vocabulary that lb/ and alert/ read),
// syncGroups.ts, trackers.ts, notifyScripts.ts, netAlerts.ts, statusApi.ts. config/ imports no
// other tandem folder but ip/ and process/ (test/unit/architecture.test.ts keeps it so).

export interface Vip {
  address: string; // canonical text
  prefixLen: number;
  family: Family;
  // keepalived's options of the entry (src/config/vipOptions.ts); absent: not given.
  /** The interface the address goes on, announced on and watched on (else the instance's). */
  dev?: string;
  /** IPv4 address label (IFA_LABEL). */
  label?: string;
  /** rtnetlink scope number (RT_SCOPE_*); absent: global. */
  scope?: number;
  /** IPv4 broadcast (IFA_BROADCAST), `brd +`/`-` resolved. */
  broadcast?: string;
  /** Point-to-point peer (IFA_ADDRESS; the VIP is IFA_LOCAL). */
  peer?: string;
  /** Deleting it does not change the instance's state; restored at the next MASTER. */
  noTrack?: boolean;
  /** IPv6 preferred lifetime in seconds (0xffffffff: forever); absent: forever. */
  preferredLft?: number;
  /** IFA_F_* flags asked for. */
  flags?: VipFlag[];
  /** keepalived's -nodad: IPv6 duplicate address detection stays on. */
  dad?: boolean;
}

export type VipFlag = 'home' | 'noprefixroute' | 'autojoin' | 'mngtmpaddr';

export interface TrackInterface {
  interface: string;
  /** 0: link down puts the instance in FAULT; otherwise added to the priority while the link is down. */
  weight: number;
}

export interface VrrpAuth {
  type: 'PASS';
  pass: string; // at most 8 bytes (RFC 2338 simple text password)
}

export interface VrrpInstanceConfig {
  name: string;
  interface: string;
  vrid: number;
  version: 2 | 3;
  family: Family;
  /** Configured base priority, 1..255 (255 = address owner). */
  priority: number;
  /** Advertisement interval in centiseconds (v2: whole seconds * 100). */
  advertIntCs: number;
  preempt: boolean;
  preemptDelayMs: number;
  /** keepalived's `state`: only an address owner (255) with MASTER starts as master. */
  initialState: 'BACKUP' | 'MASTER';
  unicastSrcIp: string | undefined;
  unicastPeers: string[];
  auth: VrrpAuth | undefined;
  vips: Vip[];
  vipsExcluded: Vip[];
  /** virtual_routes / virtual_rules: added after the VIPs when MASTER, removed before them. */
  virtualRoutes: ConfigRoute[];
  virtualRules: ConfigRule[];
  trackInterfaces: TrackInterface[];
  /** track_scripts / track_files / track_processes, with the weight in force here (src/config/trackers.ts). */
  trackScripts: TrackRef[];
  trackFiles: TrackRef[];
  trackProcesses: TrackRef[];
  garpMasterRepeat: number;
  garpMasterDelayMs: number;
  garpMasterRefreshMs: number;
  garpMasterRefreshRepeat: number;
  garpLowerPrioRepeat: number;
  /** keepalived smtp_alert, resolved: mail this instance's transitions (when mail is configured). */
  smtpAlert: boolean;
  /** notify_master / notify_backup / notify_fault / notify_stop / notify (src/config/notifyScripts.ts). */
  notify: StateNotifyScripts;
  /** use_vmac / vmac_xmit_base (src/config/vmac.ts); absent: the VIPs go on `interface`. */
  vmac?: VmacConfig;
}

/** notify_fifo, script_user, enable_script_security, notify_script_timeout: NotifyGlobalConfig. */
export interface GlobalConfig extends NotifyGlobalConfig, StatusApiGlobalConfig {
  routerId: string;
  /** How the IPVS table is read and changed: generic netlink (default) or ipvsadm processes. */
  ipvsBackend: 'netlink' | 'ipvsadm';
  /** Load-balancing backend: IPVS, nftables, or IPVS when the kernel has it (src/lb/select.ts). */
  backend: 'ipvs' | 'nft' | 'auto';
  /** smtp_alert mail (src/alert/mail.ts); undefined unless smtp_server and notification_email are set. */
  mail: MailConfig | undefined;
  /** Webhooks (src/alert/webhook.ts). */
  webhooks: WebhookConfig[];
  /** static_ipaddress / static_routes / static_rules: kept while tandem runs (vrrp/statics.ts). */
  staticAddresses: StaticAddress[];
  staticRoutes: ConfigRoute[];
  staticRules: ConfigRule[];
}

/** A static_ipaddress entry: a VIP's options, on its own `dev`. */
export interface StaticAddress extends Vip {
  dev: string;
}

export interface Config {
  file: string;
  global: GlobalConfig;
  vrrpInstances: VrrpInstanceConfig[];
  /** vrrp_sync_groups (src/config/syncGroups.ts). */
  vrrpSyncGroups: SyncGroupConfig[];
  /** vrrp_scripts, vrrp_track_files, vrrp_track_processes (src/config/trackers.ts). */
  vrrpScripts: VrrpScriptConfig[];
  trackFiles: TrackFileConfig[];
  trackProcesses: TrackProcessConfig[];
  /** IPVS virtual services with their real servers and checks (src/config/virtualServers.ts). */
  virtualServers: VirtualServerConfig[];
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}
