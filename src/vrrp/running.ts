// A running VRRP instance as the router keeps it (router.ts), and what its send and receive paths
// are derived from its config. Shared by the router's modules; pure derivations, no I/O.
import type { Vip, VrrpInstanceConfig } from '../config/model.js';
import type { VmacHold } from './vmac.js';
import type { RateLimitedLog, Logger } from '../log.js';
import type { TimerHandle } from '../timers.js';
import type { VrrpInstanceDriver } from './instance.js';
import { VRRP_GROUP4, VRRP_GROUP6 } from '../ip/address.js';
import type { MachineConfig } from './machine.js';
import type { Announcer, VrrpSocketHandle } from './network.js';
import { AUTH_NONE, AUTH_PASS, type Advert } from './packet.js';
import type { SendHealth } from './sendHealth.js';
import type { GroupState } from './syncGroup.js';
import type { InstanceRx } from './validate.js';

/** A one-shot timer at a monotonic deadline: the instance's single machine timer. */
export interface OneShotTimer {
  arm(at: number | null, fire: () => void): void;
  cancel(): void;
}

export interface RunningInstance {
  /** Replaced by a reload that keeps the instance (same identity: daemon/reloadPlan.ts). */
  cfg: VrrpInstanceConfig;
  driver: VrrpInstanceDriver;
  timer: OneShotTimer;
  socket: VrrpSocketHandle;
  announcer: Announcer;
  srcIp: string;
  rx: InstanceRx;
  /** What the send path needs, derived from cfg and srcIp (rebuilt with them). */
  wire: InstanceWire;
  log: Logger;
  /** Send, address and announce failures, rate-limited per kind. */
  sendFail: RateLimitedLog;
  /** Whether the instance's own inputs (its interface, tracked interfaces) say FAULT; its sync
   *  group, if any, may add the other members' faults. */
  ownFault: boolean;
  group: RunningGroup | null;
  /** Whether its adverts leave (sendHealth.ts); a send fault is part of its own fault. */
  sendHealth: SendHealth;
  /** Clears a send fault when its hold is over. */
  sendRetry: TimerHandle | undefined;
  /** The advert sender's job id of this instance (stable for its life). */
  jobId: number;
  /** The job installed on the sender (what it was built from), or null: none runs. */
  advertJob: { key: string; leaseMs: number } | null;
  /** use_vmac: the VMAC its VIPs are on (vrrp/vmac.ts). */
  vmac?: VmacHold;
}

export interface InstanceWire {
  advertBase: Omit<Advert, 'priority'>;
  dsts: string[];
  /** virtual_ipaddresses and virtual_ipaddresses_excluded: what a master holds. */
  allVips: Vip[];
}

export interface RunningGroup {
  name: string;
  members: RunningInstance[];
  state: GroupState | null;
}

/** The interface an instance's VRRP socket (send and receive) is on: its VMAC unless
 *  vmac_xmit_base, else its interface. keepalived vrrp.c vrrp_create_sockpool() and
 *  setup_interface(): `ifp = VMAC_XMITBASE ? configured_ifp : vrrp->ifp` (the VMAC) for both the
 *  read and the send socket, so without vmac_xmit_base the adverts leave with the virtual MAC as
 *  Ethernet source and are read (multicast joined) on the VMAC. */
export function socketInterface(cfg: VrrpInstanceConfig): string {
  return cfg.vmac && !cfg.vmac.xmitBase ? cfg.vmac.name : cfg.interface;
}

/** The receive demux's key: one socket per (interface, family). */
export function socketKey(cfg: VrrpInstanceConfig): string {
  return `${socketInterface(cfg)}/${cfg.family}`;
}

/** `externalAdverts`: the router has an advert sender (advertCadence.ts). */
export function machineConfigFor(cfg: VrrpInstanceConfig, srcIp: string, externalAdverts = false): MachineConfig {
  return {
    externalAdverts,
    version: cfg.version, priority: cfg.priority, advertIntCs: cfg.advertIntCs, preempt: cfg.preempt,
    preemptDelayMs: cfg.preemptDelayMs, initialState: cfg.initialState, localIp: srcIp,
    garpMasterRepeat: cfg.garpMasterRepeat, garpMasterDelayMs: cfg.garpMasterDelayMs,
    garpMasterRefreshMs: cfg.garpMasterRefreshMs, garpMasterRefreshRepeat: cfg.garpMasterRefreshRepeat,
    garpLowerPrioRepeat: cfg.garpLowerPrioRepeat,
  };
}

export function wireFor(cfg: VrrpInstanceConfig): InstanceWire {
  return {
    advertBase: {
      version: cfg.version, type: 1, vrid: cfg.vrid, advertIntCs: cfg.advertIntCs,
      addresses: cfg.vips.map((v) => v.address),
      authType: cfg.auth ? AUTH_PASS : AUTH_NONE, authPass: cfg.auth?.pass ?? '',
    },
    dsts: cfg.unicastPeers.length ? cfg.unicastPeers : [cfg.family === 4 ? VRRP_GROUP4 : VRRP_GROUP6],
    allVips: [...cfg.vips, ...cfg.vipsExcluded],
  };
}

export function rxFor(cfg: VrrpInstanceConfig, srcIp: string, broadcasts: string[]): InstanceRx {
  return {
    version: cfg.version, authType: cfg.auth ? AUTH_PASS : AUTH_NONE, authPass: cfg.auth?.pass ?? '',
    advertIntCs: cfg.advertIntCs, addresses: cfg.vips.map((v) => v.address),
    unicastPeers: cfg.unicastPeers, ownAddresses: [srcIp], broadcasts,
  };
}

/** A problem an operator must fix before the instances can run here (a missing interface, no
 *  address to send from): start fails (tandem exits 1), a reload is refused whole. */
export class VrrpStartError extends Error {}
