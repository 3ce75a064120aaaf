// The config's shape: keys are keepalived's keywords in snake_case. Defaults are keepalived's
// (REFERENCE.md) unless noted.
import { isScalar } from './yaml.js';
import {
  boolean, field, integer, ipAddress, list, number, object, oneOf, string, type Validator,
} from './fields.js';
import { syncGroupShape } from './syncGroups.js';
import { trackFileShape, trackProcessShape, trackRefsField, vrrpScriptShape } from './trackers.js';
import { virtualServersField } from './virtualServers.js';
import { virtualServerGroupShape } from './virtualServerGroups.js';
import { netAlertGlobalFields } from './netAlerts.js';
import { notifyGlobalFields, stateNotifyFields } from './notifyScripts.js';
import { statusApiGlobalFields } from './statusApi.js';
import { routeEntry, ruleEntry } from './routes.js';
import { staticAddressEntry, vipEntry } from './vipOptions.js';
import { vmacFields } from './vmac.js';

const ifname = string({ pattern: /^[A-Za-z0-9_.:@-]{1,15}$/, what: 'an interface name (1..15 characters)' });
const instanceName = string({ pattern: /^[A-Za-z0-9_.-]+$/, what: 'a name of letters, digits, _ . -' });

const trackInterfaceObject = object({
  interface: field(ifname, { required: true }),
  weight: field(integer(-254, 254), { default: 0 }),
});
/** `eth1` is shorthand for `{ interface: eth1, weight: 0 }`. */
const trackInterface: Validator<{ interface: string; weight: number }> = (at, ctx) =>
  isScalar(at.node) && typeof at.node.value === 'string'
    ? (() => { const v = ifname(at, ctx); return v === undefined ? undefined : { interface: v, weight: 0 }; })()
    : (trackInterfaceObject(at, ctx) as { interface: string; weight: number } | undefined);

export const authenticationShape = object({
  // RFC 3768 dropped AH; keepalived's AH is not interoperable with anything else, so only PASS.
  auth_type: field(oneOf(['PASS'] as const), { required: true }),
  auth_pass: field(string({ maxLen: 8, what: 'a password' }), { required: true }),
});

export const vrrpInstanceShape = object({
  name: field(instanceName, { required: true }),
  interface: field(ifname, { required: true }),
  virtual_router_id: field(integer(1, 255), { required: true }),
  version: field(integer(2, 3)),
  priority: field(integer(1, 255), { default: 100 }),
  advert_int: field(number(0.01, 255, ' seconds'), { default: 1 }),
  preempt: field(boolean, { default: true }),
  preempt_delay: field(number(0, 1000, ' seconds'), { default: 0 }),
  state: field(oneOf(['MASTER', 'BACKUP'] as const), { default: 'BACKUP' as const }),
  unicast_src_ip: field(ipAddress),
  unicast_peers: field(list(ipAddress), { default: [] }),
  authentication: field(authenticationShape),
  // Each entry keepalived's text or a mapping (src/config/vipOptions.ts). Optional: an instance
  // without VIPs elects a master for its notify scripts (build.ts says when keepalived allows it).
  virtual_ipaddresses: field(list(vipEntry), { default: [] }),
  virtual_ipaddresses_excluded: field(list(vipEntry), { default: [] }),
  // keepalived's virtual_routes / virtual_rules: installed while MASTER (src/config/routes.ts).
  virtual_routes: field(list(routeEntry), { default: [] }),
  virtual_rules: field(list(ruleEntry), { default: [] }),
  track_interfaces: field(list(trackInterface), { default: [] }),
  track_scripts: trackRefsField,
  track_files: trackRefsField,
  track_processes: trackRefsField,
  garp_master_repeat: field(integer(1, 255), { default: 5 }),
  garp_master_delay: field(number(0, 3600, ' seconds'), { default: 5 }),
  garp_master_refresh: field(number(0, 86400, ' seconds'), { default: 0 }),
  garp_master_refresh_repeat: field(integer(1, 255), { default: 1 }),
  garp_lower_prio_repeat: field(integer(0, 255)),
  // keepalived: mail this instance's transitions (default: global smtp_alert_vrrp / smtp_alert, else off).
  smtp_alert: field(boolean),
  // notify_master, notify_backup, notify_fault, notify_stop, notify: src/config/notifyScripts.ts.
  ...stateNotifyFields,
  // use_vmac, vmac_xmit_base: src/config/vmac.ts.
  ...vmacFields,
});

export const globalShape = object({
  router_id: field(string({ pattern: /^[A-Za-z0-9_.:-]+$/, what: 'a router id' })),
  // Not a keepalived keyword (keepalived always speaks netlink): how tandem talks to IPVS.
  // netlink is the default: docs/benchmarks.md (bench:table) has the numbers behind the choice.
  ipvs_backend: field(oneOf(['netlink', 'ipvsadm'] as const), { default: 'netlink' as const }),
  // Not a keepalived keyword: which load-balancing backend (src/lb/select.ts). auto = IPVS when
  // the kernel has it, else nftables (docs/nft-backend.md).
  backend: field(oneOf(['ipvs', 'nft', 'auto'] as const), { default: 'auto' as const }),
  // E-mail (keepalived's smtp_alert keywords) and webhooks: src/config/netAlerts.ts.
  ...netAlertGlobalFields,
  // notify_fifo, script_user, enable_script_security, notify_script_timeout: src/config/notifyScripts.ts.
  ...notifyGlobalFields,
  // status_socket, metrics_listen (issue 5 §2): src/config/statusApi.ts.
  ...statusApiGlobalFields,
  // keepalived's static_ipaddress / static_routes / static_rules: present while tandem runs,
  // whatever the VRRP state (src/config/routes.ts; an address needs its dev).
  static_ipaddress: field(list(staticAddressEntry), { default: [] }),
  static_routes: field(list(routeEntry), { default: [] }),
  static_rules: field(list(ruleEntry), { default: [] }),
});

export const configShape = object({
  global: field(globalShape),
  vrrp_instances: field(list(vrrpInstanceShape), { default: [] }),
  vrrp_sync_groups: field(list(syncGroupShape), { default: [] }),
  vrrp_scripts: field(list(vrrpScriptShape), { default: [] }),
  vrrp_track_files: field(list(trackFileShape), { default: [] }),
  vrrp_track_processes: field(list(trackProcessShape), { default: [] }),
  // keepalived virtual_server_group (src/config/virtualServerGroups.ts).
  virtual_server_groups: field(list(virtualServerGroupShape), { default: [] }),
  virtual_servers: virtualServersField,
});

export type RawConfig = NonNullable<ReturnType<typeof configShape>>;
export type RawInstance = NonNullable<ReturnType<typeof vrrpInstanceShape>>;
