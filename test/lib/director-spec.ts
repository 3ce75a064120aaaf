// One description of a director's VRRP instances, rendered either as a keepalived.conf
// (keepalived.ts) or as a tandem YAML config (tandem.ts), so that interop tests and the
// benchmark configure both implementations identically.

export interface VrrpInstanceSpec {
  name: string;
  /** Default eth0 (the lab node's bridge interface). */
  interface?: string;
  vrid: number;
  version: 2 | 3;
  /** 1..255. */
  priority: number;
  /** Seconds (v3 allows centisecond steps). */
  advertInt: number;
  /** Default true; false = nopreempt. */
  preempt?: boolean;
  preemptDelay?: number;
  /** keepalived only: initial state (meaningful only for the priority-255 address owner). */
  state?: 'MASTER' | 'BACKUP';
  unicastSrcIp?: string;
  /** Empty or absent = multicast. */
  unicastPeers?: string[];
  /** v2 PASS authentication. */
  authPass?: string;
  /** With prefix length, e.g. 192.0.2.100/24 or 2001:db8::100/64. */
  vips: string[];
  vipsExcluded?: string[];
  /** weight 0 (default) = FAULT when the link is down. */
  trackInterfaces?: Array<{ interface: string; weight?: number }>;
  garpMasterRepeat?: number;
  garpMasterDelay?: number;
  garpMasterRefresh?: number;
  /** use_vmac (the default name vrrp.<VRID>): the VIPs on a macvlan with the virtual MAC. */
  useVmac?: boolean;
  /** virtual_routes / virtual_rules, each entry keepalived's text (tandem reads the same). */
  virtualRoutes?: string[];
  virtualRules?: string[];
  /** tandem only: more keys for this instance (track_scripts, notify, ...), as written in YAML. */
  tandemExtra?: Record<string, unknown>;
}

export interface DirectorSpec {
  routerId: string;
  instances: VrrpInstanceSpec[];
  /** vrrp_sync_groups (tandem only so far). */
  syncGroups?: Array<{ name: string; members: string[]; tandemExtra?: Record<string, unknown> }>;
  /** static_ipaddress / static_routes / static_rules (keepalived's top-level blocks; tandem's
   *  global keys), each entry keepalived's text. */
  staticAddresses?: string[];
  staticRoutes?: string[];
  staticRules?: string[];
  /** tandem only: more top-level keys (vrrp_scripts, ...); `global` is merged with router_id. */
  tandemTop?: Record<string, unknown>;
}
