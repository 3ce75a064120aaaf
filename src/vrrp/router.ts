// The VRRP router: the set of running instances on this host, behind the network port
// (network.ts). One driver per instance (instance.ts), one socket per (interface, family)
// (sockets.ts), the receive path (receive.ts), VIPs (vips.ts), adverts and their send health
// (sendPath.ts), health (health.ts), sync groups (syncGroupRuntime.ts), reloads (reconfigure.ts).
// It builds no adapter: the daemon passes the real port, tests a fake one and a manual clock.
import type { Config, VrrpInstanceConfig } from '../config/model.js';
import { createLogger, RateLimitedLog, type Logger } from '../log.js';
import type { TimerHandle, Timers } from '../timers.js';
import { leaseMs, LEASE_RENEW_MS, type AdvertCadence } from './advertCadence.js';
import { InstanceHealth, type TrackerSource } from './health.js';
import { VrrpInstanceDriver } from './instance.js';
import type { TransitionReason, VrrpState } from './machine.js';
import type { AdvertSenderHandle, AdvertSenderReport, NetEvent, VrrpNetwork } from './network.js';
import { newRxStats, VrrpReceiver, type RxStats } from './receive.js';
import { checkReconfigure, reconfigure, type VrrpReload } from './reconfigure.js';
import { machineConfigFor, rxFor, VrrpStartError, wireFor, type OneShotTimer, type RunningInstance } from './running.js';
import { SendPath } from './sendPath.js';
import { initialSendHealth } from './sendHealth.js';
import { SocketPool } from './sockets.js';
import { SyncGroupRuntime, type SyncGroupEvents } from './syncGroupRuntime.js';
import { NO_ROUTES, RouteOps, routeInterfaces, routeSetOf, trackedRouteInterfaces, type RouteSet } from './routes.js';
import { StaticNet, staticsOf } from './statics.js';
import { VipOps, instanceVipInterface, vipInterface } from './vips.js';
import { VmacOps } from './vmac.js';

export { VrrpStartError } from './running.js';

export interface VrrpRouterEvents extends SyncGroupEvents {
  /** Something worth persisting changed; `urgent` for transitions. */
  changed(urgent: boolean): void;
  transition(name: string, from: VrrpState, to: VrrpState, reason: TransitionReason, priority: number): void;
}

export interface VrrpRouterDeps {
  net: VrrpNetwork;
  timers: Timers;
  /** Each instance's machine timer. Its own member, not `timers`: VRRP failover is judged against
   *  Master_Down_Interval to the millisecond, and a plain setTimeout is late by up to 0.1% plus
   *  libuv's rounding (daemon/preciseTimer.ts says why and how it is made precise). */
  advertTimer(): OneShotTimer;
  log: Logger;
  events: VrrpRouterEvents;
  /** vrrp_scripts, track_files and track_processes (started by the caller before start(), so
   *  every instance starts with its trackers' first results). */
  trackers?: TrackerSource;
  /** The config keyword of a VrrpInstanceConfig field, for the reload log line. */
  keyword?: (field: string) => string;
}

export class VrrpRouter {
  readonly stats: RxStats = newRxStats();
  /** @internal The fields below are the router's state, shared with reconfigure.ts. */
  instances: RunningInstance[] = [];
  /** Instance name -> instance: sync group and tracker lookups run on every machine step. */
  readonly byName = new Map<string, RunningInstance>();
  readonly sockets: SocketPool;
  readonly receiver: VrrpReceiver;
  readonly vips: VipOps;
  readonly vmacs: VmacOps;
  readonly routes: RouteOps;
  readonly statics: StaticNet;
  readonly sendPath: SendPath;
  readonly health: InstanceHealth;
  readonly groups: SyncGroupRuntime;
  watcher: { close(): void } | undefined;
  /** Whether MASTER adverts go through the port's advert sender (advertCadence.ts): the machines
   *  then arm no Adver_Timer. */
  readonly externalAdverts: boolean;
  /** @internal The sender, opened with the first job; the jobs by id. */
  sender: AdvertSenderHandle | undefined;
  private readonly jobs = new Map<number, RunningInstance>();
  private nextJobId = 1;
  private renewTicker: TimerHandle | undefined;
  /** Jobs the sender stopped because their lease ran out (the loop stalled), since start. */
  leaseExpiries = 0;
  /** Each instance's last transition, for the status API (wall-clock time: operators read it). */
  readonly lastTransitions = new Map<string, { from: VrrpState; to: VrrpState; reason: TransitionReason; at: string }>();

  constructor(public config: Config, readonly deps: VrrpRouterDeps) {
    const { net, timers, log, events } = deps;
    this.receiver = new VrrpReceiver(this.stats, log.child('rx'), () => timers.now(), () => events.changed(false));
    this.sockets = new SocketPool(net, log, this.stats, (key, p) => this.receiver.onPacket(key, p));
    this.vips = new VipOps(net, (ifname) => this.sockets.announcerFor(ifname));
    this.vmacs = new VmacOps(net);
    this.routes = new RouteOps(net);
    this.statics = new StaticNet(net, log.child('static'), new RateLimitedLog(log.child('static'), () => timers.now()));
    this.groups = new SyncGroupRuntime(log, events);
    this.health = new InstanceHealth(log, (r, f) => this.groups.applyFault(r, f), (u) => events.changed(u), deps.trackers);
    this.sendPath = new SendPath(timers, (r) => { if (this.byName.get(r.cfg.name) === r) this.health.refresh(r); });
    this.externalAdverts = typeof net.openAdvertSender === 'function';
  }

  /** Opens sockets and starts every instance. Throws VrrpStartError for problems an operator must fix. */
  start(): void {
    const insts = this.config.vrrpInstances;
    this.requireInterfaces(insts);
    this.watchLinks(insts);
    this.watcher = this.deps.net.watch((e) => this.onNetEvent(e), (e) => this.onWatchError(e));
    // Before the instances, as keepalived's start_vrrp(): a virtual route may need a static one.
    this.statics.start(staticsOf(this.config.global));
    for (const cfg of insts) this.instances.push(this.buildInstance(cfg));
    this.index();
    this.groups.build(this.config, this.instances, this.byName, new Map());
    this.sockets.sizeReceiveBuffers(this.instances);
    // Every member's own fault first, so a sync group's combined fault is right at start.
    for (const r of this.instances) this.health.refresh(r);
    for (const r of this.instances) r.driver.start();
  }

  /** Throws VrrpStartError when `next` cannot run here; changes nothing (reconfigure.ts). */
  checkReconfigure(next: Config, plan: VrrpReload): void { checkReconfigure(this, next, plan); }

  /** A reload: kept instances keep their state, removed ones stop, added ones start (reconfigure.ts). */
  reconfigure(next: Config, plan: VrrpReload): void { reconfigure(this, next, plan); }

  /** Graceful stop: masters send priority 0 and remove their VIPs (RFC 5798 §6.4.3 Shutdown). */
  stop(): void {
    for (const r of this.instances) this.stopInstance(r);
    this.statics.stop();
    this.watcher?.close();
    this.deps.timers.clear(this.renewTicker);
    this.renewTicker = undefined;
    this.sender?.close();
    this.sender = undefined;
    this.sockets.closeAll();
  }

  /** A tracker (script, file, process) of `name` changed: recompute its priority and fault. */
  trackerChanged(name: string): void {
    const r = this.byName.get(name);
    if (r) this.health.trackerChanged(r);
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
          advert_send: this.sendPath.status(r.sendHealth),
          advert_sender: this.senderStatus(r),
        };
      }),
      sync_groups: this.snapshotGroups(),
      rx: this.stats,
    };
  }

  snapshotGroups() { return this.groups.snapshot(this.instances); }

  /** @internal */
  requireInterfaces(insts: readonly VrrpInstanceConfig[]): void {
    // The instance's interface, its VIPs' `dev`s and its routes' (keepalived refuses a route whose
    // interface does not exist); a VMAC is made at build (vmac.ts).
    const needed = insts.flatMap((i) => [i.interface, ...[...i.vips, ...i.vipsExcluded].flatMap((v) => (v.dev ? [v.dev] : [])), ...routeInterfaces(i)]);
    const missing = [...new Set(needed)].filter((n) => !this.deps.net.linkInfo(n));
    if (missing.length) throw new VrrpStartError(`interface ${missing.join(', ')} does not exist`);
  }

  /** @internal Follows the up state of every interface the instances run on or track (their
   *  tracked routes' too). */
  watchLinks(insts: readonly VrrpInstanceConfig[]): void {
    for (const name of new Set(insts.flatMap((i) => [i.interface, ...i.trackInterfaces.map((t) => t.interface), ...trackedRouteInterfaces(i)]))) {
      this.health.watchLink(name, this.deps.net.linkInfo(name)?.up ?? false);
    }
  }

  /** @internal Rebuilds the name and receive indexes from `instances`. */
  index(): void {
    this.byName.clear();
    for (const r of this.instances) this.byName.set(r.cfg.name, r);
    this.receiver.index(this.instances);
  }

  /** @internal */
  stopInstance(r: RunningInstance): void {
    r.driver.stop();
    r.timer.cancel();
    this.sendPath.cancel(r);
    this.syncAdvertJob(r, null);
    this.jobs.delete(r.jobId);
    this.vmacs.release(r.vmac);  // after the driver removed the VIPs from it
    r.vmac = undefined;
  }

  /** The sender's counters of this instance's job (null when it never had one). */
  private senderStatus(r: RunningInstance) {
    const s = this.sender?.stats(r.jobId);
    return s ? { active: s.active, sent: s.sent, send_errors: s.sendErrors, last_error: s.lastError, late: s.late, lease_expiries: s.leaseExpiries, thread_priority: s.threadPriority,
      max_late_us: Math.round(s.maxLateUs), late_over_1ms: s.lateOver1ms } : null;
  }

  /** The driver's cadence -> the sender's job: installed when MASTER, re-installed when what the
   *  adverts carry changes (priority, interval, VIPs, source, destinations: a reload replaces
   *  r.wire and r.srcIp), stopped otherwise. */
  private syncAdvertJob(r: RunningInstance, c: AdvertCadence | null): void {
    if (c === null) {
      if (r.advertJob) this.sender?.stop(r.jobId);
      r.advertJob = null;
      return;
    }
    const key = JSON.stringify([c.priority, c.intervalCs, r.srcIp, r.wire.dsts, r.wire.advertBase]);
    if (r.advertJob?.key === key) return;
    try {
      const packets = this.sendPath.packets(r, c.priority);
      this.sender ??= this.deps.net.openAdvertSender!((reports) => this.onSenderReports(reports));
      const intervalMs = c.intervalCs * 10;
      // A new payload at the same interval keeps the running job's next deadline: no advert is
      // delayed by a priority change. A new job's first periodic advert is one interval after
      // the immediate one the machine just sent.
      this.sender.set(r.jobId, r.socket, packets, intervalMs, r.advertJob ? 'keep' : intervalMs, leaseMs(c.intervalCs));
      r.advertJob = { key, leaseMs: leaseMs(c.intervalCs) };
      this.jobs.set(r.jobId, r);
      this.armRenew();
    } catch (e) {
      r.advertJob = null;
      r.log.error(`advert sender: cannot install the job: ${(e as Error).message}`);
      // Counted like an advert that did not leave: a master that cannot advertise goes to FAULT.
      this.sendPath.recordSent(r, { destinations: r.wire.dsts.length, failed: r.wire.dsts.map((dst) => ({ dst, error: (e as Error).message })) });
    }
  }

  /** Renews every job's lease every LEASE_RENEW_MS from this loop: if this loop stalls for a whole
   *  lease, the sender stops speaking for it (advertCadence.ts). */
  private armRenew(): void {
    if (this.renewTicker !== undefined) return;
    this.renewTicker = this.deps.timers.setTimeout(() => {
      this.renewTicker = undefined;
      let any = false;
      for (const r of [...this.jobs.values()]) {
        if (!r.advertJob || !this.sender) continue;
        if (this.sender.renew(r.jobId, r.advertJob.leaseMs)) any = true;
        else this.leaseLapsed(r);
      }
      if (any || [...this.jobs.values()].some((r) => r.advertJob)) this.armRenew();
    }, LEASE_RENEW_MS);
  }

  /** The sender stopped r's job (lease expired): the loop was stalled, and r's machine learns it
   *  now, as its own Adver_Timer firing late: an advert at once, and the job installed again. */
  private leaseLapsed(r: RunningInstance): void {
    if (!r.advertJob || this.sender?.stats(r.jobId)?.active !== false) return;
    r.advertJob = null;
    this.leaseExpiries++;
    r.log.warn('advert sender: the lease ran out (this loop was stalled for a whole lease); adverts stopped meanwhile, sending now');
    r.driver.advertLapsed();
  }

  private onSenderReports(reports: AdvertSenderReport[]): void {
    for (const rep of reports) {
      const r = this.jobs.get(rep.id);
      if (!r || this.byName.get(r.cfg.name) !== r) continue;
      if (rep.kind === 'lease_expired') { this.leaseLapsed(r); continue; }
      // The thread reports every failed advert and the first good one after them, which is all
      // the send-fault rule counts (runs of failures); the good ones between (okBefore) add nothing.
      this.sendPath.recordSent(r, { destinations: rep.destinations, failed: rep.failed.map((f) => ({ dst: f.dst, error: f.error.message })) });
    }
  }

  /** @internal */
  buildInstance(cfg: VrrpInstanceConfig): RunningInstance {
    const { timers, log: rootLog } = this.deps;
    const log = rootLog.child(`vrrp[${cfg.name}]`);
    const srcIp = this.vips.sourceAddress(this.config, cfg);
    const vmac = this.vmacs.acquire(cfg);
    const timer = this.deps.advertTimer();
    // Send and address failures repeat with every advert or takeover: log each kind rate-limited.
    const sendFail = new RateLimitedLog(log, () => timers.now());
    // The ports read the instance's fields at call time (`r.cfg`, `r.wire`), not values captured
    // here: a reload that keeps the instance replaces them (reconfigure.ts).
    const r = { cfg, timer, srcIp, log, sendFail, ownFault: false, group: null, wire: wireFor(cfg),
      rx: rxFor(cfg, srcIp, this.vips.broadcastsOf(cfg)), socket: this.sockets.socketFor(cfg), announcer: this.sockets.announcerFor(vmac?.handle.name ?? cfg.interface), vmac,
      sendHealth: initialSendHealth(), sendRetry: undefined, jobId: this.nextJobId++, advertJob: null } as Omit<RunningInstance, 'driver'> as RunningInstance;
    const driver = new VrrpInstanceDriver(cfg.name, machineConfigFor(cfg, srcIp, this.externalAdverts), {
      now: () => timers.now(),
      // Before the Master_Down_Timer acts, read what waits in the socket (receive.ts drainThen).
      // Only then: a master's advert deadline is not held up by reading (up to 1,024) packets.
      armTimer: (at, fire) => timer.arm(at, () => this.receiver.drainThen(r.socket, fire, r.driver.masterDownArmed)),
      sendAdvert: (priority) => this.sendPath.send(r, priority),
      advertCadence: (c) => this.syncAdvertJob(r, c),
      addVips: (reason) => {
        const added = this.vips.add(r, r.wire.allVips, sendFail);
        // Then the routes and rules (vrrp/routes.ts has keepalived's order).
        added.push(...this.routes.install(routeSetOf(r.cfg), sendFail));
        // Logged after the current dispatch (microtask): writing a line to a pipe measured
        // 0.3-1.8 ms here, and the advert and GARPs that follow must not wait for it.
        if (reason === 'vip_missing' && added.length) {
          queueMicrotask(() => r.log.warn(`VIP ${added.join(', ')} was deleted from ${instanceVipInterface(r.cfg)} by someone else while MASTER; re-added`));
        } else if (added.length) queueMicrotask(() => r.log.info(`added ${added.join(', ')} on ${instanceVipInterface(r.cfg)}`));
      },
      removeVips: () => {
        const removed = [...this.routes.remove(routeSetOf(r.cfg), sendFail), ...this.vips.remove(r, r.wire.allVips, sendFail)];
        if (removed.length) queueMicrotask(() => r.log.info(`removed ${removed.join(', ')} from ${instanceVipInterface(r.cfg)}`));
      },
      announce: (repeat) => this.vips.announce(r, r.wire.allVips, repeat, sendFail),
      onTransition: (t) => {
        this.lastTransitions.set(r.cfg.name, { from: t.from, to: t.to, reason: t.reason, at: new Date(timers.wallNow()).toISOString() });
        this.deps.events.transition(r.cfg.name, t.from, t.to, t.reason, t.priority);
        this.deps.events.changed(true);
        this.groups.memberTransition(r, t.to, t.reason);
      },
      onStep: () => this.groups.memberStep(r),
      // A getter: a reload that renames the instance gives it a new logger.
      get log() { return r.log; },
    });
    r.driver = driver;
    // Run the takeover path's JS once now (machine, advert encoding, frame building, log
    // formatting) so that a failover is not its first run: V8 compiles lazily, and cold this path
    // cost ~3 ms against ~0.15 ms warm (see VrrpInstanceDriver.warmUp).
    driver.warmUp();
    this.sendPath.checkEncodable(r);
    this.deps.net.warmUpAnnouncements(r.wire.allVips);
    createLogger({ write: () => undefined }).child(cfg.name).info(`BACKUP -> MASTER (warm-up) priority=${cfg.priority}`);
    if (cfg.unicastPeers.length === 0) r.socket.joinMulticast();
    log.info(`VRRPv${cfg.version} IPv${cfg.family} vrid ${cfg.vrid} on ${cfg.interface} from ${srcIp} to ${r.wire.dsts.join(', ')}, ` +
      `priority ${cfg.priority}, advert_int ${cfg.advertIntCs / 100}s, ${cfg.preempt ? 'preempt' : 'nopreempt'}`);
    return r;
  }

  /** @internal */
  onNetEvent(e: NetEvent): void {
    // A subnet added or removed (not a VIP): the directed broadcasts 'bad_source' knows change.
    if (e.kind === 'addr' && e.family === 4 && !this.config.vrrpInstances.some((i) => [...i.vips, ...i.vipsExcluded].some((v) => v.address === e.address))) {
      for (const r of this.instances) if (r.cfg.interface === e.ifname && r.cfg.family === 4) r.rx = { ...r.rx, broadcasts: this.vips.broadcastsOf(r.cfg) };
    }
    this.statics.onNetEvent(e);
    if (e.kind === 'route' || e.kind === 'rule') {
      if (e.op === 'del') this.routeDeleted(e);
      return;
    }
    if (e.kind === 'link') {
      // The kernel drops the routes through a link that goes down (IPv4 ones without an event):
      // a master puts its own back when the link comes up.
      if (e.up) {
        this.reinstallRoutes((r) => (this.routes.usesInterface(routeSetOf(r.cfg), e.ifname) ? routeSetOf(r.cfg) : NO_ROUTES),
          (r, added) => r.log.info(`${added.join(', ')} re-added: ${e.ifname} came up`));
      }
      if (!this.health.linkChanged(e.ifname, e.up)) return;
      for (const r of this.instances) {
        if (r.cfg.interface === e.ifname || r.cfg.trackInterfaces.some((t) => t.interface === e.ifname) || trackedRouteInterfaces(r.cfg).includes(e.ifname)) this.health.refresh(r);
      }
      return;
    }
    if (e.op !== 'del') return;
    for (const r of this.instances) {
      // A tracked VIP deleted from the interface it lives on (its `dev`, else the instance's): put
      // back. A no_track one stays deleted until the next transition to MASTER (keepalived.conf(5)).
      const isVip = [...r.cfg.vips, ...r.cfg.vipsExcluded].some((v) => v.address === e.address && !v.noTrack && vipInterface(r.cfg, v) === e.ifname);
      if (isVip && r.driver.snapshot().state === 'MASTER') r.driver.vipsMissing();
    }
  }

  /** @internal ENOBUFS means the kernel dropped events: re-read links and VIPs instead of trusting our view. */
  onWatchError(e: Error): void {
    this.deps.log.warn(`netlink watch: ${e.message}; re-reading links and addresses`);
    if ((e as Error & { code?: string }).code !== 'ENOBUFS') return;
    for (const name of this.health.links()) {
      const info = this.deps.net.linkInfo(name);
      this.onNetEvent({ kind: 'link', ifname: name, ifindex: info?.ifindex ?? 0, up: info?.up ?? false });
    }
    for (const r of this.instances) {
      if (r.driver.snapshot().state === 'MASTER' && this.vips.missing(r)) r.driver.vipsMissing();
    }
    this.statics.reRead();
    this.reinstallRoutes((r) => this.routes.missing(routeSetOf(r.cfg)), (r, added) => r.log.info(`${added.join(', ')} re-added: missing after lost netlink events`));
  }

  /** A route or rule of ours deleted: a master whose tracked one it was puts it back (where
   *  tandem differs from keepalived: routes.ts). */
  private routeDeleted(e: Extract<NetEvent, { kind: 'route' | 'rule' }>): void {
    this.reinstallRoutes((r) => this.routes.deleted(routeSetOf(r.cfg), e), (r, added) => {
      queueMicrotask(() => r.log.warn(`${added.join(', ')} was deleted by someone else while MASTER; re-added`));
    });
  }

  /** Adds, for each master, the routes and rules `pick` names (what is there stays), and says so. */
  private reinstallRoutes(pick: (r: RunningInstance) => RouteSet, report: (r: RunningInstance, added: string[]) => void): void {
    for (const r of this.instances) {
      if (r.driver.snapshot().state !== 'MASTER') continue;
      const set = pick(r);
      if (set.routes.length + set.rules.length === 0) continue;
      const added = this.routes.install(set, r.sendFail);
      if (added.length) report(r, added);
    }
  }

}

