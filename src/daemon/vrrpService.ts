// Composes the VRRP part of the daemon: one raw socket per (interface, family), one driver per
// instance, the receive path (validate -> count -> machine), VIPs, GARP/NA, and link/address
// events. This is the only VRRP code that touches real adapters.
import type { Config, Vip, VrrpInstanceConfig } from '../config/model.js';
import { createLogger, RateLimitedLog, type Logger } from '../log.js';
import { buildGarp, buildUnsolicitedNa } from '../net/announce.js';
import { openAnnouncer, type Announcer } from '../net/announcer.js';
import { addAddress, deleteAddress, linkInfo, listAddresses } from '../net/addresses.js';
import { watchNetlink, type NetEvent } from '../net/netlinkWatch.js';
import { openVrrpSocket, receiveBufferBytes, type ReceivedPacket, type VrrpSocket } from '../net/vrrpSocket.js';
import { VrrpInstanceDriver } from '../vrrp/instance.js';
import { VRRP_GROUP4, VRRP_GROUP6 } from '../ip/address.js';
import type { MachineConfig, TransitionReason, VrrpState } from '../vrrp/machine.js';
import { groupFault, groupHolds, groupState, syncOrders, type GroupState, type MemberView } from '../vrrp/syncGroup.js';
import { AUTH_NONE, AUTH_PASS, encodeAdvert, type Advert } from '../vrrp/packet.js';
import { directedBroadcast, validateAdvert, type InstanceRx } from '../vrrp/validate.js';
import {
  afterReconfigure, cannotEncode, initialSendHealth, recordAdvert, retryDue, type AdvertAttempt, type SendHealth, type SendHealthStep,
} from '../vrrp/sendHealth.js';
import { computePriority, type TrackerState } from '../track/priority.js';
import { instanceKeyword, type VrrpPlan } from './reloadPlan.js';
import { createPreciseTimer, monotonicNow, type OneShotTimer } from './preciseTimer.js';
import { newRxStats, type RxStats } from './stats.js';

interface RunningInstance {
  /** Replaced by a reload that keeps the instance (same identity: reloadPlan.ts). */
  cfg: VrrpInstanceConfig;
  driver: VrrpInstanceDriver;
  timer: OneShotTimer;
  socket: VrrpSocket;
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
  /** Whether its adverts leave (vrrp/sendHealth.ts); a send fault is part of its own fault. */
  sendHealth: SendHealth;
  /** Clears a send fault when its hold is over. */
  sendRetry: ReturnType<typeof setTimeout> | undefined;
}

interface InstanceWire {
  advertBase: Omit<Advert, 'priority'>;
  dsts: string[];
  /** virtual_ipaddresses and virtual_ipaddresses_excluded: what a master holds. */
  allVips: Vip[];
}

export interface VrrpServiceEvents {
  /** Something worth persisting changed; `urgent` for transitions. */
  changed(urgent: boolean): void;
  transition(name: string, from: VrrpState, to: VrrpState, reason: TransitionReason, priority: number): void;
  /** A vrrp_sync_group's own state changed (all members MASTER, all BACKUP, or any FAULT). */
  groupTransition?(name: string, from: GroupState | null, to: GroupState, reason: TransitionReason): void;
}

interface RunningGroup {
  name: string;
  members: RunningInstance[];
  state: GroupState | null;
}

export class VrrpStartError extends Error {}

export class VrrpService {
  readonly stats: RxStats = newRxStats();
  private readonly instances: RunningInstance[] = [];
  /** Instance name -> instance: sync group and tracker lookups run on every machine step. */
  private readonly byName = new Map<string, RunningInstance>();
  /** Receive demux, built once: socket key (`ifname/family`) -> VRID -> instance. */
  private readonly byVrid = new Map<string, Map<number, RunningInstance>>();
  private readonly sockets = new Map<string, VrrpSocket>();
  private readonly announcers = new Map<string, Announcer>();
  private readonly linkUp = new Map<string, boolean>();
  private watcher: { close(): void } | undefined;
  private readonly drops: RateLimitedLog;
  /** Each instance's last transition, for the status API (wall-clock time: operators read it). */
  private readonly lastTransitions = new Map<string, { from: VrrpState; to: VrrpState; reason: TransitionReason; at: string }>();

  /** `trackers`: vrrp_scripts, track_files and track_processes (started by the caller, before
   *  start(), so every instance starts with its trackers' first results). */
  constructor(
    private config: Config, private readonly log: Logger, private readonly events: VrrpServiceEvents,
    private readonly trackers?: { stateFor(instance: string): TrackerState[] },
  ) {
    this.drops = new RateLimitedLog(log.child('rx'), monotonicNow);
  }

  /** Opens sockets and starts every instance. Throws VrrpStartError for problems an operator must fix. */
  start(): void {
    const insts = this.config.vrrpInstances;
    const missing = [...new Set(insts.map((i) => i.interface))].filter((n) => !linkInfo(n));
    if (missing.length) throw new VrrpStartError(`interface ${missing.join(', ')} does not exist`);
    for (const name of new Set(insts.flatMap((i) => [i.interface, ...i.trackInterfaces.map((t) => t.interface)]))) {
      this.linkUp.set(name, linkInfo(name)?.up ?? false);
    }
    this.watcher = watchNetlink((e) => this.onNetEvent(e), (e) => this.onWatchError(e));
    for (const cfg of insts) this.register(this.buildInstance(cfg));
    this.buildGroups(new Map());
    this.sizeReceiveBuffers();
    // Every member's own fault first, so a sync group's combined fault is right at start.
    for (const r of this.instances) this.refreshHealth(r);
    for (const r of this.instances) r.driver.start();
  }

  private register(r: RunningInstance): void {
    this.instances.push(r);
    this.byName.set(r.cfg.name, r);
    const key = `${r.cfg.interface}/${r.cfg.family}`;
    if (!this.byVrid.has(key)) this.byVrid.set(key, new Map());
    this.byVrid.get(key)!.set(r.cfg.vrid, r);
  }

  /** (Re)builds the sync groups from the config; a group that existed before under the same name
   *  with the same members keeps its state (`previous`). */
  private buildGroups(previous: ReadonlyMap<string, RunningGroup>): void {
    for (const r of this.instances) r.group = null;
    for (const g of this.config.vrrpSyncGroups) {
      const members = g.members.map((m) => this.byName.get(m)!);
      const old = previous.get(g.name);
      const same = old !== undefined && old.members.length === members.length && old.members.every((m, i) => m === members[i]);
      const group: RunningGroup = { name: g.name, members, state: same ? old.state : null };
      for (const r of members) r.group = group;
      if (!same) this.log.info(`sync group ${g.name}: ${g.members.join(', ')}`);
    }
  }

  /** Throws VrrpStartError when `next` cannot run here (a missing interface, no address to send
   *  from); changes nothing. */
  checkReconfigure(next: Config, plan: VrrpPlan): void {
    const missing = [...new Set(plan.added.map((i) => i.interface))].filter((n) => !linkInfo(n));
    if (missing.length) throw new VrrpStartError(`interface ${missing.join(', ')} does not exist`);
    const prev = this.config;
    this.config = next; // primaryAddress() leaves out every VIP of the new config
    try {
      for (const cfg of [...plan.added, ...plan.kept.map((k) => k.next)]) this.sourceAddress(cfg);
    } finally {
      this.config = prev;
    }
  }

  /**
   * A reload (daemon/reloadPlan.ts): instances with the same identity keep their machine and state
   * and take the new settings; removed ones stop as at shutdown; added ones start. Throws
   * VrrpStartError before changing anything when an added instance cannot run here (its
   * interface is missing, it has no address to send from), so a reload is all or nothing.
   */
  reconfigure(next: Config, plan: VrrpPlan): void {
    this.checkReconfigure(next, plan);
    this.config = next;
    if (next.vrrpInstances.length) this.watcher ??= watchNetlink((e) => this.onNetEvent(e), (e) => this.onWatchError(e));
    for (const name of new Set(next.vrrpInstances.flatMap((i) => [i.interface, ...i.trackInterfaces.map((t) => t.interface)]))) {
      if (!this.linkUp.has(name)) this.linkUp.set(name, linkInfo(name)?.up ?? false);
    }
    const byOldName = new Map(this.instances.map((r) => [r.cfg.name, r]));
    const previousGroups = new Map(this.instances.flatMap((r) => (r.group ? [[r.group.name, r.group] as const] : [])));
    // Removed routers first: their priority 0 advert and VIP removal happen before an added
    // router on the same interface could claim an address they held.
    for (const o of plan.removed) {
      const r = byOldName.get(o.name)!;
      r.log.info('removed by reload: stopping (priority 0 advert if master, VIPs removed)');
      r.driver.stop();
      r.timer.cancel();
      clearTimeout(r.sendRetry);
    }
    const kept = plan.kept.map((k) => {
      const r = byOldName.get(k.old.name)!;
      if (k.changed.length) this.reconfigureInstance(r, k.next, k.changed);
      return r;
    });
    const added = plan.added.map((cfg) => this.buildInstance(cfg));
    this.instances.length = 0;
    this.byName.clear();
    this.byVrid.clear();
    for (const r of [...kept, ...added]) this.register(r);
    for (const o of plan.removed) if (!this.byName.has(o.name)) this.lastTransitions.delete(o.name);
    for (const k of plan.kept) {
      if (k.old.name === k.next.name) continue;
      const t = this.lastTransitions.get(k.old.name);
      this.lastTransitions.delete(k.old.name);
      if (t) this.lastTransitions.set(k.next.name, t);
    }
    this.buildGroups(previousGroups);
    this.closeUnusedSockets();
    this.sizeReceiveBuffers();
    // Priorities (a new base priority, new tracker weights) and faults, then the new routers.
    for (const r of this.instances) this.refreshHealth(r);
    for (const r of added) r.driver.start();
  }

  /** Same router, new settings: the send path, the receive checks, the machine's config; a
   *  master's VIPs are changed in place (the added ones announced, the others left alone). */
  private reconfigureInstance(r: RunningInstance, cfg: VrrpInstanceConfig, changed: readonly string[]): void {
    const oldVips = r.wire.allVips;
    if (r.cfg.name !== cfg.name) r.log = this.log.child(`vrrp[${cfg.name}]`);
    r.cfg = cfg;
    r.srcIp = this.sourceAddress(cfg);
    r.wire = VrrpService.wireFor(cfg);
    r.rx = VrrpService.rxFor(cfg, r.srcIp, this.broadcastsOf(cfg));
    r.driver.reconfigure(VrrpService.machineConfigFor(cfg, r.srcIp));
    r.log.info(`reloaded: ${changed.map(instanceKeyword).join(', ')} changed; state ${r.driver.snapshot().state} kept`);
    // The new settings may fix a send fault (or cause one): start over; reconfigure() applies it.
    const encodeError = this.encodeProblem(r);
    const restart = afterReconfigure(r.sendHealth);
    this.applySendHealth(r, encodeError === null ? restart : cannotEncode(restart.health, encodeError, monotonicNow()));
    if (r.driver.snapshot().state !== 'MASTER' || r.sendHealth.fault) return;
    const key = (v: Vip) => `${v.address}/${v.prefixLen}`;
    const now = new Set(r.wire.allVips.map(key));
    const before = new Set(oldVips.map(key));
    const gone = oldVips.filter((v) => !now.has(key(v)));
    const fresh = r.wire.allVips.filter((v) => !before.has(key(v)));
    const removed = this.removeVips(r, gone, r.sendFail);
    const added = this.addVips(r, fresh, r.sendFail);
    // New addresses are announced like a takeover's (garp_master_repeat); the others are not
    // re-announced, so the neighbours' caches see nothing happen.
    this.announce(r, fresh, cfg.garpMasterRepeat, r.sendFail);
    if (removed.length) r.log.info(`removed ${removed.join(', ')} from ${cfg.interface} (reload)`);
    if (added.length) r.log.info(`added ${added.join(', ')} on ${cfg.interface} (reload)`);
  }

  private closeUnusedSockets(): void {
    const used = new Set(this.instances.map((r) => `${r.cfg.interface}/${r.cfg.family}`));
    for (const [key, s] of this.sockets) if (!used.has(key)) { s.close(); this.sockets.delete(key); delete this.stats.sockets[key]; }
    const ifaces = new Set(this.instances.map((r) => r.cfg.interface));
    for (const [name, a] of this.announcers) if (!ifaces.has(name)) { a.close(); this.announcers.delete(name); }
  }

  /** Graceful stop: masters send priority 0 and remove their VIPs (RFC 5798 §6.4.3 Shutdown). */
  stop(): void {
    for (const r of this.instances) {
      r.driver.stop();
      r.timer.cancel();
      clearTimeout(r.sendRetry);
    }
    this.watcher?.close();
    for (const s of this.sockets.values()) s.close();
    for (const a of this.announcers.values()) a.close();
    this.sockets.clear();
    this.announcers.clear();
  }

  snapshot() {
    return {
      instances: this.instances.map((r) => {
        const s = r.driver.snapshot();
        return {
          name: r.cfg.name, vrid: r.cfg.vrid, family: r.cfg.family, interface: r.cfg.interface, version: r.cfg.version,
          state: s.state, priority: r.cfg.priority, effective_priority: s.effectivePriority,
          master_ip: s.masterIp, master_adver_int: s.masterAdverIntCs / 100, transitions: s.transitions,
          src_ip: r.srcIp, last_transition: this.lastTransitions.get(r.cfg.name) ?? null,
          advert_send: VrrpService.sendStatus(r.sendHealth),
        };
      }),
      sync_groups: this.snapshotGroups(),
      rx: this.stats,
    };
  }

  private buildInstance(cfg: VrrpInstanceConfig): RunningInstance {
    const log = this.log.child(`vrrp[${cfg.name}]`);
    const srcIp = this.sourceAddress(cfg);
    const timer = createPreciseTimer(monotonicNow);
    // Send and address failures repeat with every advert or takeover: log each kind rate-limited.
    const sendFail = new RateLimitedLog(log, monotonicNow);
    // The ports read the instance's fields at call time (`r.cfg`, `r.wire`), not values captured
    // here: a reload that keeps the instance replaces them (reconfigureInstance).
    const r = { cfg, timer, srcIp, log, sendFail, ownFault: false, group: null, wire: VrrpService.wireFor(cfg),
      rx: VrrpService.rxFor(cfg, srcIp, this.broadcastsOf(cfg)), socket: this.socketFor(cfg), announcer: this.announcerFor(cfg.interface),
      sendHealth: initialSendHealth(), sendRetry: undefined } as Omit<RunningInstance, 'driver'> as RunningInstance;
    const driver = new VrrpInstanceDriver(cfg.name, VrrpService.machineConfigFor(cfg, srcIp), {
      now: monotonicNow,
      armTimer: (at, fire) => timer.arm(at, fire),
      sendAdvert: (priority) => {
        const { advertBase, dsts } = r.wire;
        const attempt: { destinations: number; failed: Array<{ dst: string; error: string }>; encodeError?: string } = { destinations: dsts.length, failed: [] };
        for (const dst of dsts) {
          let payload: Uint8Array;
          try {
            payload = encodeAdvert({ ...advertBase, priority }, { family: r.cfg.family, src: r.srcIp, dst });
          } catch (e) {
            attempt.encodeError = (e as Error).message;
            break;
          }
          try {
            r.socket.send(payload, dst, r.srcIp);
          } catch (e) {
            attempt.failed.push({ dst, error: (e as Error).message });
            sendFail.warn(`send:${dst}`, `advert to ${dst} failed: ${(e as Error).message}`);
          }
        }
        this.recordAdvert(r, attempt);
      },
      addVips: (reason) => {
        const added = this.addVips(r, r.wire.allVips, sendFail);
        // Logged after the current dispatch (microtask): writing a line to a pipe measured
        // 0.3-1.8 ms here, and the advert and GARPs that follow must not wait for it.
        if (reason === 'vip_missing' && added.length) {
          queueMicrotask(() => r.log.warn(`VIP ${added.join(', ')} was deleted from ${r.cfg.interface} by someone else while MASTER; re-added`));
        } else if (added.length) queueMicrotask(() => r.log.info(`added ${added.join(', ')} on ${r.cfg.interface}`));
      },
      removeVips: () => {
        const removed = this.removeVips(r, r.wire.allVips, sendFail);
        if (removed.length) queueMicrotask(() => r.log.info(`removed ${removed.join(', ')} from ${r.cfg.interface}`));
      },
      announce: (repeat) => this.announce(r, r.wire.allVips, repeat, sendFail),
      onTransition: (t) => {
        this.lastTransitions.set(r.cfg.name, { from: t.from, to: t.to, reason: t.reason, at: new Date().toISOString() });
        this.events.transition(r.cfg.name, t.from, t.to, t.reason, t.priority);
        this.events.changed(true);
        this.onMemberTransition(r.cfg.name, t.to, t.reason);
      },
      onStep: () => this.onMemberStep(r.cfg.name),
      // A getter: a reload that renames the instance gives it a new logger.
      get log() { return r.log; },
    });
    r.driver = driver;
    // Run the takeover path's JS once now (machine, advert encoding, frame building, log
    // formatting) so that a failover is not its first run: V8 compiles lazily, and cold this path
    // cost ~3 ms against ~0.15 ms warm (see VrrpInstanceDriver.warmUp).
    driver.warmUp();
    const encodeError = this.encodeProblem(r);
    if (encodeError !== null) this.applySendHealth(r, cannotEncode(r.sendHealth, encodeError, monotonicNow()));
    for (const v of r.wire.allVips) (v.family === 4 ? buildGarp : buildUnsolicitedNa)(new Uint8Array(6), v.address);
    createLogger({ write: () => undefined }).child(cfg.name).info(`BACKUP -> MASTER (warm-up) priority=${cfg.priority}`);
    if (cfg.unicastPeers.length === 0) r.socket.joinMulticast();
    log.info(`VRRPv${cfg.version} IPv${cfg.family} vrid ${cfg.vrid} on ${cfg.interface} from ${srcIp} to ${r.wire.dsts.join(', ')}, ` +
      `priority ${cfg.priority}, advert_int ${cfg.advertIntCs / 100}s, ${cfg.preempt ? 'preempt' : 'nopreempt'}`);
    return r;
  }

  private sourceAddress(cfg: VrrpInstanceConfig): string {
    const srcIp = cfg.unicastSrcIp ?? this.primaryAddress(cfg);
    if (!srcIp) {
      throw new VrrpStartError(`${cfg.name}: ${cfg.interface} has no ${cfg.family === 4 ? 'IPv4' : 'IPv6 link-local'} address to send from (set unicast_src_ip or add one)`);
    }
    return srcIp;
  }

  private static machineConfigFor(cfg: VrrpInstanceConfig, srcIp: string): MachineConfig {
    return {
      version: cfg.version, priority: cfg.priority, advertIntCs: cfg.advertIntCs, preempt: cfg.preempt,
      preemptDelayMs: cfg.preemptDelayMs, initialState: cfg.initialState, localIp: srcIp,
      garpMasterRepeat: cfg.garpMasterRepeat, garpMasterDelayMs: cfg.garpMasterDelayMs,
      garpMasterRefreshMs: cfg.garpMasterRefreshMs, garpMasterRefreshRepeat: cfg.garpMasterRefreshRepeat,
      garpLowerPrioRepeat: cfg.garpLowerPrioRepeat,
    };
  }

  private static wireFor(cfg: VrrpInstanceConfig): InstanceWire {
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

  private static rxFor(cfg: VrrpInstanceConfig, srcIp: string, broadcasts: string[]): InstanceRx {
    return {
      version: cfg.version, authType: cfg.auth ? AUTH_PASS : AUTH_NONE, authPass: cfg.auth?.pass ?? '',
      advertIntCs: cfg.advertIntCs, addresses: cfg.vips.map((v) => v.address),
      unicastPeers: cfg.unicastPeers, ownAddresses: [srcIp], broadcasts,
    };
  }

  /** The directed broadcasts of the interface's IPv4 subnets and the VIPs' (a 'bad_source'). */
  private broadcastsOf(cfg: VrrpInstanceConfig): string[] {
    if (cfg.family !== 4) return [];
    const prefixes = [...listAddresses(cfg.interface).filter((a) => a.family === 4), ...cfg.vips, ...cfg.vipsExcluded];
    return [...new Set(prefixes.flatMap((a) => directedBroadcast(a.address, a.prefixLen) ?? []))];
  }

  /** Encodes one advert without sending it (which also warms that path up); the error when this
   *  config cannot put an advert on the wire: a fault from the start (vrrp/sendHealth.ts). */
  private encodeProblem(r: RunningInstance): string | null {
    try {
      encodeAdvert({ ...r.wire.advertBase, priority: r.cfg.priority }, { family: r.cfg.family, src: r.srcIp, dst: r.wire.dsts[0]! });
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  }

  private recordAdvert(r: RunningInstance, attempt: AdvertAttempt): void {
    this.applySendHealth(r, recordAdvert(r.sendHealth, attempt, monotonicNow()));
  }

  /** Keeps the new send health; a fault that starts or ends is logged and reaches the machine
   *  after the current dispatch (an advert is sent from inside one), like any other fault. */
  private applySendHealth(r: RunningInstance, step: SendHealthStep): void {
    r.sendHealth = step.health;
    if (step.change === null) return;
    clearTimeout(r.sendRetry);
    r.sendRetry = undefined;
    const f = step.health.fault;
    if (f) {
      r.log.error(`${f.detail}: ${f.reason}, going to FAULT (VIPs removed, the role left to the backup); ` +
        (f.retryAt === null ? 'permanent for this config: fix it and reload' : `trying again in ${((f.retryAt - monotonicNow()) / 1000).toFixed(0)} s`));
      if (f.retryAt !== null) this.armSendRetry(r, f.retryAt);
    } else {
      r.log.info('send fault cleared: leaving FAULT for BACKUP (MASTER again only when no higher master is heard)');
    }
    queueMicrotask(() => { if (this.byName.get(r.cfg.name) === r) this.refreshHealth(r); });
  }

  /** Clears the send fault at `at`. Node's timers run on a millisecond loop clock and may fire
   *  a fraction of a millisecond before performance.now() reaches `at`: then wait the rest. */
  private armSendRetry(r: RunningInstance, at: number): void {
    r.sendRetry = setTimeout(() => {
      const step = retryDue(r.sendHealth, monotonicNow());
      if (step.change === null && r.sendHealth.fault?.retryAt === at) this.armSendRetry(r, at);
      else this.applySendHealth(r, step);
    }, Math.max(1, Math.ceil(at - monotonicNow())));
  }

  /** The status API's view of the send health (wall-clock times: operators read them). */
  private static sendStatus(h: SendHealth) {
    const wall = (mono: number) => new Date(Date.now() + (mono - monotonicNow())).toISOString();
    return {
      failures: h.failures, consecutive_failed: h.consecutive, last_error: h.lastError,
      fault: h.fault && { reason: h.fault.reason, detail: h.fault.detail, since: wall(h.fault.since), retry_at: h.fault.retryAt === null ? null : wall(h.fault.retryAt) },
    };
  }

  /** Adds `vips` to the instance's interface; returns the ones that were not there. One VIP that
   *  cannot be added (EPERM, a bad prefix) must not keep the others away. */
  private addVips(r: RunningInstance, vips: readonly Vip[], fail: RateLimitedLog): string[] {
    const added: string[] = [];
    for (const v of vips) {
      try {
        if (addAddress(r.cfg.interface, v.address, v.prefixLen) === 'added') added.push(`${v.address}/${v.prefixLen}`);
      } catch (e) {
        fail.warn(`add:${v.address}`, `adding ${v.address}/${v.prefixLen} to ${r.cfg.interface} failed: ${(e as Error).message}`);
      }
    }
    return added;
  }

  private removeVips(r: RunningInstance, vips: readonly Vip[], fail: RateLimitedLog): string[] {
    return vips.filter((v) => {
      try {
        return deleteAddress(r.cfg.interface, v.address, v.prefixLen) === 'deleted';
      } catch (e) {
        fail.warn(`del:${v.address}`, `removing ${v.address}/${v.prefixLen} from ${r.cfg.interface} failed: ${(e as Error).message}`);
        return false;
      }
    }).map((v) => `${v.address}/${v.prefixLen}`);
  }

  private announce(r: RunningInstance, vips: readonly Vip[], repeat: number, fail: RateLimitedLog): void {
    for (let i = 0; i < repeat; i++) {
      for (const v of vips) {
        try {
          if (v.family === 4) r.announcer.garp(v.address); else r.announcer.unsolicitedNa(v.address);
        } catch (e) {
          fail.warn(`announce:${v.address}`, `announcing ${v.address} failed: ${(e as Error).message}`);
        }
      }
    }
  }

  /** keepalived's choice: the interface's first IPv4 address that is not a VIP; for IPv6 the link-local. */
  private primaryAddress(cfg: VrrpInstanceConfig): string | undefined {
    const vips = new Set(this.config.vrrpInstances.flatMap((i) => [...i.vips, ...i.vipsExcluded].map((v) => v.address)));
    const addrs = listAddresses(cfg.interface).filter((a) => a.family === cfg.family && !vips.has(a.address));
    return cfg.family === 4
      ? addrs[0]?.address
      : addrs.find((a) => /^fe[89ab]/i.test(a.address))?.address;
  }

  private socketFor(cfg: VrrpInstanceConfig): VrrpSocket {
    const key = `${cfg.interface}/${cfg.family}`;
    let s = this.sockets.get(key);
    if (!s) {
      s = openVrrpSocket({
        family: cfg.family, ifname: cfg.interface,
        onPacket: (p) => this.onPacket(key, p),
        onError: (e) => this.log.error(`socket ${key}: ${e.message}`),
      });
      this.sockets.set(key, s);
      this.stats.sockets[key] = { kernel_drops: 0, receive_buffer: null };
    }
    return s;
  }

  /** Each socket's receive buffer, sized for the instances on it (net/vrrpSocket.ts). */
  private sizeReceiveBuffers(): void {
    for (const [key, s] of this.sockets) {
      const on = this.instances.filter((r) => r.socket === s).map((r) => ({ family: r.cfg.family, version: r.cfg.version, addresses: r.cfg.vips.length }));
      const bytes = receiveBufferBytes(on);
      if (s.receiveBuffer?.requested === bytes) continue;
      const b = s.setReceiveBuffer(bytes);
      this.stats.sockets[key]!.receive_buffer = b;
      const text = `socket ${key}: receive buffer ${b.granted} bytes for ${on.length} instance(s) (asked ${bytes}${b.forced ? ', SO_RCVBUFFORCE' : ', SO_RCVBUF'})`;
      // The kernel doubles what it accepts; less than twice the request means rmem_max capped it.
      if (b.granted < 2 * bytes) this.log.warn(`${text}: capped by net.core.rmem_max (no CAP_NET_ADMIN for SO_RCVBUFFORCE)`);
      else this.log.info(text);
    }
  }

  private announcerFor(ifname: string): Announcer {
    let a = this.announcers.get(ifname);
    if (!a) { a = openAnnouncer(ifname); this.announcers.set(ifname, a); }
    return a;
  }

  private onPacket(socketKey: string, p: ReceivedPacket): void {
    if (p.kernelDropsBefore > 0) {
      this.stats.kernel_drops += p.kernelDropsBefore;
      const s = this.stats.sockets[socketKey];
      if (s) s.kernel_drops += p.kernelDropsBefore;
      this.drops.warn(`kernel:${socketKey}`, `the kernel dropped ${p.kernelDropsBefore} VRRP packet(s) on ${socketKey}: receive buffer ` +
        `(${s?.receive_buffer?.granted ?? '?'} bytes) full; ${s?.kernel_drops ?? '?'} on this socket so far`);
    }
    const byVrid = this.byVrid.get(socketKey);
    const verdict = validateAdvert(p, (vrid) => byVrid?.get(vrid)?.rx);
    if (!verdict.ok) {
      this.stats.drops[verdict.reason] = (this.stats.drops[verdict.reason] ?? 0) + 1;
      // Our own multicast is not looped back, but unicast setups can see their own packets.
      if (verdict.reason !== 'own_packet') {
        this.drops.warn(verdict.reason, `dropped VRRP packet from ${p.src} on ${socketKey}: ${verdict.reason} (${verdict.detail})`);
      }
      this.events.changed(false);
      return;
    }
    const r = byVrid!.get(verdict.advert.vrid)!;
    this.stats.accepted++;
    for (const n of verdict.notes) {
      this.stats.notes[n] = (this.stats.notes[n] ?? 0) + 1;
      this.drops.warn(`note:${n}`, `${r.cfg.name}: advert from ${p.src}: ${n} (accepted, as keepalived does)`);
    }
    r.driver.advert(p.src, verdict.advert.priority, verdict.advert.advertIntCs);
    this.events.changed(false);
  }

  private onNetEvent(e: NetEvent): void {
    // A subnet added or removed (not a VIP): the directed broadcasts 'bad_source' knows change.
    if (e.kind === 'addr' && e.family === 4 && !this.config.vrrpInstances.some((i) => [...i.vips, ...i.vipsExcluded].some((v) => v.address === e.address))) {
      for (const r of this.instances) if (r.cfg.interface === e.ifname && r.cfg.family === 4) r.rx = { ...r.rx, broadcasts: this.broadcastsOf(r.cfg) };
    }
    if (e.kind === 'link') {
      if (!this.linkUp.has(e.ifname) || this.linkUp.get(e.ifname) === e.up) return;
      this.linkUp.set(e.ifname, e.up);
      this.log.info(`link ${e.ifname} is ${e.up ? 'up' : 'down'}`);
      for (const r of this.instances) {
        if (r.cfg.interface === e.ifname || r.cfg.trackInterfaces.some((t) => t.interface === e.ifname)) this.refreshHealth(r);
      }
      return;
    }
    if (e.op !== 'del') return;
    for (const r of this.instances) {
      if (r.cfg.interface !== e.ifname) continue;
      const isVip = [...r.cfg.vips, ...r.cfg.vipsExcluded].some((v) => v.address === e.address);
      if (isVip && r.driver.snapshot().state === 'MASTER') r.driver.vipsMissing();
    }
  }

  /** ENOBUFS means the kernel dropped events: re-read links and VIPs instead of trusting our view. */
  private onWatchError(e: Error): void {
    this.log.warn(`netlink watch: ${e.message}; re-reading links and addresses`);
    if ((e as NodeJS.ErrnoException).code !== 'ENOBUFS') return;
    for (const name of this.linkUp.keys()) {
      const info = linkInfo(name);
      this.onNetEvent({ kind: 'link', ifname: name, ifindex: info?.ifindex ?? 0, up: info?.up ?? false });
    }
    for (const r of this.instances) {
      if (r.driver.snapshot().state !== 'MASTER') continue;
      const present = new Set(listAddresses(r.cfg.interface).map((a) => a.address));
      if ([...r.cfg.vips, ...r.cfg.vipsExcluded].some((v) => !present.has(v.address))) r.driver.vipsMissing();
    }
  }

  /** A tracker (script, file, process) of `name` changed: recompute its priority and fault. */
  trackerChanged(name: string): void {
    const r = this.byName.get(name);
    if (!r) return;
    const before = r.driver.snapshot().effectivePriority;
    this.refreshHealth(r);
    const after = r.driver.snapshot().effectivePriority;
    if (after !== before) r.log.info(`tracker change: effective priority ${before} -> ${after}`);
  }

  private groupOfInstance(name: string): RunningGroup | null {
    return this.byName.get(name)?.group ?? null;
  }

  private static view(r: RunningInstance): MemberView {
    const s = r.driver.snapshot();
    return { name: r.cfg.name, state: s.state, masterIp: s.masterIp };
  }

  /** A member changed state: siblings follow it (after this transition's own wire effects, which
   *  the driver has already sent), and the group's own state may change. */
  private onMemberTransition(name: string, to: VrrpState, reason: TransitionReason): void {
    const g = this.groupOfInstance(name);
    if (!g) return;
    const orders = syncOrders(g.members.map(VrrpService.view), name, to, reason);
    queueMicrotask(() => {
      for (const o of orders) {
        const m = g.members.find((x) => x.cfg.name === o.member)!;
        m.log.info(`sync group ${g.name}: following ${name} to ${o.to}`);
        m.driver.syncTo(o.to);
      }
      this.refreshGroupState(g, reason);
    });
  }

  /** After any step of a member: re-decide which members may not become master on their own. */
  private onMemberStep(name: string): void {
    const g = this.groupOfInstance(name);
    if (!g) return;
    const holds = groupHolds(g.members.map(VrrpService.view));
    for (const m of g.members) m.driver.setGroupHold(holds.get(m.cfg.name) ?? false);
  }

  private refreshGroupState(g: RunningGroup, reason: TransitionReason): void {
    const next = groupState(g.members.map((m) => m.driver.snapshot().state), g.state);
    if (next === null || next === g.state) return;
    const from = g.state;
    g.state = next;
    this.log.info(`sync group ${g.name}: ${from ?? 'INIT'} -> ${next}`);
    this.events.groupTransition?.(g.name, from, next, reason);
    this.events.changed(true);
  }

  /** Feeds the instance its fault: its own, or, in a sync group, any member's (keepalived
   *  vrrp_sync_fault: one faulty member takes the whole group to FAULT). */
  private applyFault(r: RunningInstance, ownFault: boolean): void {
    r.ownFault = ownFault;
    if (!r.group) {
      r.driver.setFault(ownFault);
      return;
    }
    const fault = groupFault(r.group.members.map((m) => m.ownFault));
    for (const m of r.group.members) m.driver.setFault(fault);
  }

  snapshotGroups() {
    const groups = new Set(this.instances.flatMap((r) => (r.group ? [r.group] : [])));
    return [...groups].map((g) => ({ name: g.name, state: g.state, members: g.members.map((m) => m.cfg.name) }));
  }

  /** Own interface down, a weight-0 tracked interface down, or adverts that do not leave
   *  (vrrp/sendHealth.ts): FAULT. Other weights move the priority (track/priority.ts). */
  private refreshHealth(r: RunningInstance): void {
    const up = (n: string) => this.linkUp.get(n) ?? false;
    // keepalived tracks the instance's own interface with weight 0 (unless dont_track_primary).
    const trackers: TrackerState[] = [
      { kind: 'interface', name: r.cfg.interface, weight: 0, up: up(r.cfg.interface) },
      ...r.cfg.trackInterfaces.map((t): TrackerState => ({ kind: 'interface', name: t.interface, weight: t.weight, up: up(t.interface) })),
      ...(this.trackers?.stateFor(r.cfg.name) ?? []),
    ];
    const health = computePriority(r.cfg.priority, trackers);
    r.driver.setEffectivePriority(health.effective);
    this.applyFault(r, health.fault || r.sendHealth.fault !== null);
    this.events.changed(true);
  }
}
