// A fake VRRP network port (src/vrrp/network.ts) for unit tests of the VRRP router: interfaces
// and their addresses live in maps, sent adverts are decoded and recorded with the (manual)
// time they left, announcements are recorded, and a test injects received adverts (encoded with
// vrrp/packet.ts, so they go through the real receive checks), link and address events, and send
// failures. Pair it with test/lib/manualTimers.ts and manualOneShot() below.
// A received advert can also wait in its socket (enqueue): with its arrival stamp, until the
// "poll" delivers it (deliverQueued) or the router drains the socket (VrrpSocketHandle.drain), as
// a packet waits in the kernel while the event loop is busy.
// The port's advert sender is faked too (FakeAdvertSender, on the manual clock): the router
// then sends a MASTER's periodic adverts through it (SentAdvert.by says who sent each); set
// `openAdvertSender = undefined` before building the router for the driver-only path.
import { RTPROT_KEEPALIVED, routeIs, routeText, ruleIs, ruleText, type RouteInfo, type RouteSpec, type RuleInfo, type RuleSpec } from '../../src/ip/route.js';
import type {
  AddAddressOptions,
  AdvertJobStats, AdvertPacket, AdvertSenderHandle, AdvertSenderReport, Announcer, IfAddress, LinkInfo, NetEvent, ReceiveBuffer, ReceivedVrrpPacket, VrrpNetwork, VrrpSocketHandle, VrrpSocketRequest,
  VmacHandle, VmacRequest,
} from '../../src/vrrp/network.js';
import type { OneShotTimer } from '../../src/vrrp/running.js';
import { decodeAdvert, encodeAdvert, type Advert } from '../../src/vrrp/packet.js';
import { VRRP_GROUP4, VRRP_GROUP6 } from '../../src/ip/address.js';
import type { TimerHandle, Timers } from '../../src/timers.js';

export interface SentAdvert {
  at: number;
  ifname: string;
  src: string;
  dst: string;
  advert: Advert;
  /** Who sent it: the instance driver (JS) or the advert sender's job. */
  by: 'driver' | 'sender';
}

export interface Announcement {
  at: number;
  ifname: string;
  kind: 'garp' | 'na';
  ip: string;
}

export interface AddressOp {
  at: number;
  op: 'add' | 'del';
  ifname: string;
  address: string;
  /** The VIP's options the router passed (label, scope, broadcast, peer, ...). */
  opts?: AddAddressOptions;
}

interface FakeSocket {
  req: VrrpSocketRequest;
  joined: boolean;
  closed: boolean;
  /** Received, not read yet (enqueue). */
  queue: ReceivedVrrpPacket[];
}

/** How a manual one-shot behaves like the daemon's timer on a busy loop. */
export interface ManualOneShotOptions {
  /** Armed at a deadline already past, fire at once, inside arm() (as daemon/preciseTimer.ts). */
  firePastAtOnce?: boolean;
  /** Every other deadline fires this much late (a loop busy at its deadline). */
  lateMs?: (at: number) => number;
}

/** The instance's machine timer on a manual clock (the real one is daemon/preciseTimer.ts). */
export function manualOneShot(timers: Timers, opts: ManualOneShotOptions = {}): OneShotTimer {
  let h: TimerHandle | undefined;
  const cancel = () => { timers.clear(h); h = undefined; };
  return {
    cancel,
    arm(at, fire) {
      cancel();
      if (at === null) return;
      if (opts.firePastAtOnce && at <= timers.now()) { fire(); return; }
      h = timers.setTimeout(() => { h = undefined; fire(); }, at - timers.now() + (opts.lateMs?.(at) ?? 0));
    },
  };
}

export class FakeVrrpNetwork implements VrrpNetwork {
  readonly links = new Map<string, LinkInfo>();
  readonly addresses = new Map<string, IfAddress[]>();
  readonly sent: SentAdvert[] = [];
  readonly announced: Announcement[] = [];
  readonly addressOps: AddressOp[] = [];
  readonly sockets: FakeSocket[] = [];
  /** Adverts sent and advert sender calls, in the order they happened: `advert driver 0`,
   *  `advert sender 100`, `set 1`, `stop 1`. */
  readonly order: string[] = [];
  /** When set, every advert send throws an Error with this message (as ENETDOWN would). */
  failSends: string | null = null;
  /** false: drain() reads nothing (a socket without it; the queue waits for deliverQueued). */
  drainReads = true;
  /** drain() calls, with how many packets each read. */
  readonly drains: Array<{ at: number; ifname: string; read: number }> = [];
  private readonly watchers: Array<{ onEvent(e: NetEvent): void; onError(e: Error): void; closed: boolean }> = [];

  constructor(private readonly timers: Timers) {}

  /** An interface with its own (non-VIP) addresses. */
  addLink(ifname: string, addresses: string[], up = true): this {
    this.links.set(ifname, { ifname, ifindex: this.links.size + 2, mac: '02:00:00:00:00:01', up });
    this.addresses.set(ifname, addresses.map((a) => {
      const [address, len] = a.split('/') as [string, string | undefined];
      const family = address.includes(':') ? 6 : 4;
      return { family, address, prefixLen: Number(len ?? (family === 4 ? 24 : 64)) };
    }));
    return this;
  }

  has(ifname: string, address: string): boolean {
    return (this.addresses.get(ifname) ?? []).some((a) => a.address === address);
  }

  /** Adverts sent on `ifname` since `since` (manual ms). */
  advertsOn(ifname: string, since = -Infinity): SentAdvert[] {
    return this.sent.filter((s) => s.ifname === ifname && s.at >= since);
  }

  /** A received advert, encoded as a peer would send it (TTL 255 unless given), read at once. */
  inject(ifname: string, src: string, advert: Omit<Advert, 'type' | 'authType' | 'authPass'> & Partial<Advert>, ttl = 255): void {
    const { s, p } = this.packet(ifname, src, advert, ttl, this.timers.now());
    s.req.onPacket(p);
  }

  /** A received advert that waits in its socket, stamped `arrivedAt` (manual ms, default now),
   *  until deliverQueued() or the router's drain() reads it. */
  enqueue(ifname: string, src: string, advert: Omit<Advert, 'type' | 'authType' | 'authPass'> & Partial<Advert>, arrivedAt = this.timers.now()): void {
    const { s, p } = this.packet(ifname, src, advert, 255, arrivedAt);
    s.queue.push(p);
  }

  /** The poll callback: reads every queued packet on `ifname`'s sockets; returns how many. */
  deliverQueued(ifname: string): number {
    let n = 0;
    for (const s of this.sockets) if (s.req.ifname === ifname) n += this.readQueue(s);
    return n;
  }

  queued(ifname: string): number {
    return this.sockets.filter((s) => s.req.ifname === ifname && !s.closed).reduce((a, s) => a + s.queue.length, 0);
  }

  private readQueue(s: FakeSocket): number {
    let n = 0;
    // Bounded: onPacket may enqueue nothing on its own; each turn takes one packet off.
    for (let p = s.queue.shift(); p && !s.closed; p = s.queue.shift()) { s.req.onPacket(p); n++; }
    return n;
  }

  private packet(ifname: string, src: string, advert: Omit<Advert, 'type' | 'authType' | 'authPass'> & Partial<Advert>, ttl: number, arrivedAt: number) {
    const s = this.sockets.find((x) => !x.closed && x.req.ifname === ifname && x.req.family === (src.includes(':') ? 6 : 4));
    if (!s) throw new Error(`no open VRRP socket on ${ifname}`);
    const family = s.req.family;
    const dst = family === 4 ? VRRP_GROUP4 : VRRP_GROUP6;
    const payload = encodeAdvert({ type: 1, authType: 0, authPass: '', ...advert }, { family, src, dst });
    const p: ReceivedVrrpPacket = { family, payload, src, dst, ttl, ifindex: this.links.get(ifname)?.ifindex ?? 0, kernelDropsBefore: 0, arrivedAt };
    return { s, p };
  }

  /** The link goes up or down (an RTM_NEWLINK the watch reports). */
  setLink(ifname: string, up: boolean): void {
    const l = this.links.get(ifname)!;
    this.links.set(ifname, { ...l, up });
    this.emit({ kind: 'link', ifname, ifindex: l.ifindex, up });
  }

  /** Someone else deletes an address (`ip addr del`): gone, and the watch reports it. */
  deleteExternally(ifname: string, address: string): void {
    const list = this.addresses.get(ifname) ?? [];
    const a = list.find((x) => x.address === address);
    if (!a) throw new Error(`${address} is not on ${ifname}`);
    this.addresses.set(ifname, list.filter((x) => x !== a));
    this.emit({ kind: 'addr', op: 'del', ifname, ifindex: this.links.get(ifname)?.ifindex ?? 0, family: a.family, address, prefixLen: a.prefixLen });
  }

  /** Routes and rules in the fake kernel, and every add / delete of one (`add route TEXT`). */
  readonly routes: RouteSpec[] = [];
  readonly rules: RuleSpec[] = [];
  readonly routeOps: string[] = [];
  /** A route whose text is here cannot be added (as ENETUNREACH for a gateway off-link). */
  readonly refuseRoutes = new Set<string>();

  /** Someone else deletes a route (`ip route del`): gone, and the watch reports it (protocol 18). */
  deleteRouteExternally(spec: RouteSpec): void {
    const i = this.routes.findIndex((r) => routeIs(spec, infoOf(r)));
    if (i < 0) throw new Error(`no route ${routeText(spec)}`);
    const [r] = this.routes.splice(i, 1);
    if (r!.protocol === RTPROT_KEEPALIVED) this.emit({ kind: 'route', op: 'del', route: infoOf(r!) });
  }

  deleteRuleExternally(spec: RuleSpec): void {
    const i = this.rules.findIndex((r) => ruleIs(spec, ruleInfoOf(r)));
    if (i < 0) throw new Error(`no rule ${ruleText(spec)}`);
    const [r] = this.rules.splice(i, 1);
    this.emit({ kind: 'rule', op: 'del', rule: ruleInfoOf(r!) });
  }

  /** What the kernel does to routes through a link that goes down (IPv4: without an event). */
  flushRoutesVia(ifname: string): void {
    for (let i = this.routes.length - 1; i >= 0; i--) if (this.routes[i]!.dev === ifname) this.routes.splice(i, 1);
  }

  private emit(e: NetEvent): void {
    for (const w of this.watchers) if (!w.closed) w.onEvent(e);
  }

  // --- VrrpNetwork ---

  addRoute(spec: RouteSpec): 'added' | 'exists' {
    const text = routeText(spec);
    if (this.refuseRoutes.has(text)) throw Object.assign(new Error('Network is unreachable'), { code: 'ENETUNREACH' });
    if (spec.dev !== undefined && !this.links.has(spec.dev)) throw Object.assign(new Error(`no such device ${spec.dev}`), { code: 'ENODEV' });
    if (this.routes.some((r) => routeIs(spec, infoOf(r)))) return 'exists';
    this.routes.push(spec);
    this.routeOps.push(`add route ${text}`);
    return 'added';
  }

  deleteRoute(spec: RouteSpec): 'deleted' | 'absent' {
    const i = this.routes.findIndex((r) => routeIs(spec, infoOf(r)));
    if (i < 0) return 'absent';
    this.routes.splice(i, 1);
    this.routeOps.push(`del route ${routeText(spec)}`);
    return 'deleted';
  }

  listRoutes(family: 4 | 6): RouteInfo[] {
    return this.routes.filter((r) => r.family === family).map(infoOf);
  }

  addRule(spec: RuleSpec): 'added' | 'exists' {
    if (this.rules.some((r) => ruleIs(spec, ruleInfoOf(r)))) return 'exists';
    this.rules.push(spec);
    this.routeOps.push(`add rule ${ruleText(spec)}`);
    return 'added';
  }

  deleteRule(spec: RuleSpec): 'deleted' | 'absent' {
    const i = this.rules.findIndex((r) => ruleIs(spec, ruleInfoOf(r)));
    if (i < 0) return 'absent';
    this.rules.splice(i, 1);
    this.routeOps.push(`del rule ${ruleText(spec)}`);
    return 'deleted';
  }

  listRules(family: 4 | 6): RuleInfo[] {
    return this.rules.filter((r) => r.family === family).map(ruleInfoOf);
  }

  openSocket(req: VrrpSocketRequest): VrrpSocketHandle {
    const s: FakeSocket = { req, joined: false, closed: false, queue: [] };
    this.sockets.push(s);
    let receiveBuffer: ReceiveBuffer | null = null;
    const fd = 100 + this.sockets.indexOf(s);
    return {
      family: req.family,
      ifindex: this.links.get(req.ifname)?.ifindex ?? 0,
      get fd() { return s.closed ? -1 : fd; },
      send: (payload, dst, src) => this.sendOn(s, payload, dst, src, 'driver'),
      joinMulticast: () => { s.joined = true; },
      setReceiveBuffer: (bytes) => (receiveBuffer = { requested: bytes, granted: 2 * bytes, forced: true }),
      get receiveBuffer() { return receiveBuffer; },
      drain: () => {
        const read = s.closed || !this.drainReads ? 0 : this.readQueue(s);
        this.drains.push({ at: this.timers.now(), ifname: req.ifname, read });
        return read;
      },
      close: () => { s.closed = true; },
    };
  }

  private sendOn(s: FakeSocket, payload: Uint8Array, dst: string, src: string, by: 'driver' | 'sender'): void {
    if (s.closed) throw new Error('EBADF: socket closed');
    if (this.failSends !== null) throw new Error(this.failSends);
    const d = decodeAdvert(payload, s.req.family);
    if (!d.ok) throw new Error(`the router sent an advert that does not decode: ${d.reason} ${d.detail}`);
    this.sent.push({ at: this.timers.now(), ifname: s.req.ifname, src, dst, advert: d.advert, by });
    this.order.push(`advert ${by} ${d.advert.priority}`);
  }

  /** The fake advert sender (vrrp/network.ts AdvertSenderHandle): jobs run on the manual clock
   *  as the native thread runs on CLOCK_MONOTONIC; undefined: the router sends every advert
   *  itself (set it before building the router). */
  openAdvertSender?: (onReport: (reports: AdvertSenderReport[]) => void) => AdvertSenderHandle = (onReport) => {
    if (this.sender) throw new Error('the router opened a second advert sender');
    this.sender = new FakeAdvertSender(this.timers, (fd) => this.sockets.find((x, i) => 100 + i === fd && !x.closed), (s, p) => {
      try { this.sendOn(s, p.payload, p.dst, p.src, 'sender'); return null; } catch (e) { return e as Error; }
    }, onReport, this.order);
    return this.sender;
  };

  /** The sender the router opened (openAdvertSender), if any. */
  sender: FakeAdvertSender | undefined;

  receiveBufferBytes(load: ReadonlyArray<{ addresses: number }>): number {
    return 256 * 1024 + load.length;
  }

  openAnnouncer(ifname: string): Announcer {
    if (!this.links.has(ifname)) throw new Error(`openAnnouncer: no interface ${ifname}`);
    const record = (kind: 'garp' | 'na') => (ip: string) => { this.announced.push({ at: this.timers.now(), ifname, kind, ip }); };
    return { garp: record('garp'), unsolicitedNa: record('na'), close: () => undefined };
  }

  addAddress(ifname: string, address: string, prefixLen: number, opts?: AddAddressOptions): 'added' | 'exists' {
    if (this.has(ifname, address)) return 'exists';
    const list = this.addresses.get(ifname);
    if (!list) throw new Error(`ENODEV: no interface ${ifname}`);
    list.push({ family: address.includes(':') ? 6 : 4, address, prefixLen });
    this.addressOps.push({ at: this.timers.now(), op: 'add', ifname, address, ...(opts ? { opts } : {}) });
    return 'added';
  }

  deleteAddress(ifname: string, address: string, prefixLen: number): 'deleted' | 'absent' {
    const list = this.addresses.get(ifname) ?? [];
    const i = list.findIndex((a) => a.address === address && a.prefixLen === prefixLen);
    if (i < 0) return 'absent';
    list.splice(i, 1);
    this.addressOps.push({ at: this.timers.now(), op: 'del', ifname, address });
    return 'deleted';
  }

  listAddresses(ifname: string): IfAddress[] {
    const list = this.addresses.get(ifname);
    if (!list) throw new Error(`ENODEV: no interface ${ifname}`);
    return [...list];
  }

  linkInfo(ifname: string): LinkInfo | undefined {
    return this.links.get(ifname);
  }

  warmUpAnnouncements(): void {}

  /** use_vmac: VMACs made (name -> parent), and every acquire / release in order. */
  readonly vmacs = new Map<string, { parent: string; mac: string; created: boolean }>();
  readonly vmacOps: Array<{ op: 'acquire' | 'release'; name: string }> = [];

  acquireVmac(req: VmacRequest): VmacHandle {
    const mac = `00:00:5e:00:0${req.family === 4 ? 1 : 2}:${req.vrid.toString(16).padStart(2, '0')}`;
    const existing = this.vmacs.get(req.name);
    if (this.links.has(req.name) && (!existing || existing.parent !== req.parent || existing.mac !== mac)) {
      throw new Error(`use_vmac ${req.name}: an interface ${req.name} exists but is not a macvlan on ${req.parent} with MAC ${mac}`);
    }
    this.vmacOps.push({ op: 'acquire', name: req.name });
    if (existing) return { name: req.name, mac, created: false };
    this.vmacs.set(req.name, { parent: req.parent, mac, created: true });
    this.addLink(req.name, [], true);
    return { name: req.name, mac, created: true };
  }

  releaseVmac(h: VmacHandle): void {
    this.vmacOps.push({ op: 'release', name: h.name });
    if (!h.created) return;
    this.vmacs.delete(h.name);
    this.links.delete(h.name);
    this.addresses.delete(h.name);
  }

  watch(onEvent: (e: NetEvent) => void, onError: (e: Error) => void): { close(): void } {
    const w = { onEvent, onError, closed: false };
    this.watchers.push(w);
    return { close: () => { w.closed = true; } };
  }
}

interface FakeJob {
  socket: FakeSocket;
  packets: AdvertPacket[];
  intervalMs: number;
  nextAt: number;
  leaseUntil: number;
  active: boolean;
  timer: TimerHandle | undefined;
  stats: AdvertJobStats;
  okBefore: number;
  lastFailed: boolean;
}

/** The native advert sender (native/advert_sender.cc) on the manual clock: each job sends at
 *  absolute deadlines (next += interval), stops when its lease runs out, and its reports reach the
 *  router in a batch on the next loop turn (an immediate), as the thread's ThreadSafeFunction
 *  call does. `renewals = false` drops every renew(): a test's way of saying the loop that runs
 *  the machines is stalled while the thread goes on. */
export class FakeAdvertSender implements AdvertSenderHandle {
  readonly jobs = new Map<number, FakeJob>();
  readonly calls: string[] = [];
  renewals = true;
  closed = false;
  private pending: AdvertSenderReport[] = [];
  private flush: TimerHandle | undefined;

  constructor(
    private readonly timers: Timers,
    private readonly socketOf: (fd: number) => FakeSocket | undefined,
    private readonly sendOne: (s: FakeSocket, p: AdvertPacket) => Error | null,
    private readonly onReport: (reports: AdvertSenderReport[]) => void,
    private readonly order: string[] = [],
  ) {}

  set(id: number, socket: VrrpSocketHandle, packets: AdvertPacket[], intervalMs: number, firstDelayMs: number | 'keep', leaseMs: number): void {
    if (this.closed) throw new Error('EBADF: sender closed');
    const s = this.socketOf(socket.fd);
    if (!s) throw new Error('EBADF: socket is closed');
    const now = this.timers.now();
    const old = this.jobs.get(id);
    const keep = firstDelayMs === 'keep' && old?.active && old.intervalMs === intervalMs;
    if (old) this.timers.clear(old.timer);
    const job: FakeJob = {
      socket: s, packets, intervalMs,
      nextAt: keep ? old!.nextAt : now + (firstDelayMs === 'keep' ? intervalMs : firstDelayMs),
      leaseUntil: now + leaseMs, active: true, timer: undefined, okBefore: 0, lastFailed: false,
      stats: old?.stats ?? { active: true, sent: 0, sendErrors: 0, lastError: null, late: 0, leaseExpiries: 0, threadPriority: 'normal', maxLateUs: 0, lateOver1ms: 0 },
    };
    job.stats.active = true;
    this.jobs.set(id, job);
    this.calls.push(`set ${id} ${packets.length} ${intervalMs} ${firstDelayMs} ${leaseMs}`);
    this.order.push(`set ${id}`);
    this.arm(id, job);
  }

  renew(id: number, leaseMs: number): boolean {
    const job = this.jobs.get(id);
    if (!job?.active) return false;
    if (this.renewals) job.leaseUntil = this.timers.now() + leaseMs;
    return true;
  }

  stop(id: number): void {
    const job = this.jobs.get(id);
    this.calls.push(`stop ${id}`);
    this.order.push(`stop ${id}`);
    if (!job) return;
    this.timers.clear(job.timer);
    job.active = job.stats.active = false;
    this.pending = this.pending.filter((r) => r.id !== id);
  }

  stats(id: number): AdvertJobStats | undefined {
    const s = this.jobs.get(id)?.stats;
    return s && { ...s };
  }

  close(): void {
    this.closed = true;
    for (const id of this.jobs.keys()) this.stop(id);
  }

  /** Active job ids. */
  get active(): number[] { return [...this.jobs].filter(([, j]) => j.active).map(([id]) => id); }

  private arm(id: number, job: FakeJob): void {
    const at = Math.min(job.nextAt, job.leaseUntil);
    job.timer = this.timers.setTimeout(() => this.due(id, job), at - this.timers.now());
  }

  private due(id: number, job: FakeJob): void {
    if (!job.active) return;
    const now = this.timers.now();
    if (job.leaseUntil <= now) {
      job.active = job.stats.active = false;
      job.stats.leaseExpiries++;
      this.report({ id, kind: 'lease_expired' });
      return;
    }
    if (job.nextAt <= now) {
      const failed: Array<{ dst: string; error: Error }> = [];
      for (const p of job.packets) {
        const e = this.sendOne(job.socket, p);
        if (e) { failed.push({ dst: p.dst, error: e }); job.stats.sendErrors++; job.stats.lastError = e.message; }
      }
      if (failed.length < job.packets.length) job.stats.sent++;
      // As the thread: failures, and the first full success after one, are reported.
      if (failed.length === 0 && !job.lastFailed) job.okBefore++;
      else { this.report({ id, kind: 'send', okBefore: job.okBefore, destinations: job.packets.length, failed }); job.okBefore = 0; }
      job.lastFailed = failed.length > 0;
      job.nextAt += job.intervalMs;
      if (job.nextAt <= now) { job.stats.late++; job.nextAt = now + job.intervalMs; }
    }
    this.arm(id, job);
  }

  private report(r: AdvertSenderReport): void {
    this.pending.push(r);
    this.flush ??= this.timers.setImmediate(() => {
      this.flush = undefined;
      const batch = this.pending;
      this.pending = [];
      if (batch.length && !this.closed) this.onReport(batch);
    });
  }
}

/** What a route dump would say of a route the fake kernel holds. */
function infoOf(r: RouteSpec): RouteInfo {
  return {
    family: r.family, dst: r.dst, dstLen: r.dstLen, table: r.table, protocol: r.protocol, scope: r.scope, type: r.type, tos: r.tos ?? 0,
    metric: r.metric ?? (r.family === 6 ? 1024 : undefined), ...(r.via !== undefined && { via: r.via }), ...(r.dev !== undefined && { dev: r.dev }),
  };
}

function ruleInfoOf(r: RuleSpec): RuleInfo {
  return {
    family: r.family, priority: r.priority, action: r.action, table: r.action === 'table' ? (r.table ?? 254) : undefined,
    from: r.from, fromLen: r.fromLen ?? 0, to: r.to, toLen: r.toLen ?? 0, fwmark: r.fwmark, iif: r.iif, oif: r.oif, protocol: r.protocol,
  };
}
