// Typed loader for the tandem_net addon (src/native/, built by node-gyp into build/Release/).
// Loaded lazily, on first use, so that importing an adapter's types never needs the binary.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { RouteInfo, RouteSpec, RuleInfo, RuleSpec } from '../ip/route.js';

/** Errors thrown or reported by the addon carry the errno name, like Node's own system errors. */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export function isSystemError(e: unknown, code?: string): e is SystemError {
  return e instanceof Error && typeof (e as Partial<SystemError>).code === 'string' &&
    (code === undefined || (e as SystemError).code === code);
}

export interface NativeVrrpSocket {
  readonly ifindex: number;
  /** The socket's descriptor (-1 once closed); the advert sender dup()s it. */
  readonly fd: number;
  send(payload: Uint8Array, dst: string, src: string): void;
  join(): void;
  leave(): void;
  setHopLimit(hops: number): void;
  /** SO_RCVBUFFORCE, or SO_RCVBUF (capped by net.core.rmem_max) without CAP_NET_ADMIN; `granted`
   *  is the kernel's SO_RCVBUF afterwards (twice what was asked, socket(7)). */
  setReceiveBuffer(bytes: number): { granted: number; forced: boolean };
  /** Reads and delivers (through onPacket, synchronously) what is queued now, bounded; returns
   *  how many packets it read. */
  drain(): number;
  close(): void;
}

export interface NativePacketSocket {
  readonly ifindex: number;
  /** A complete Ethernet frame; destination MAC and EtherType are taken from its header. */
  send(frame: Uint8Array): void;
  close(): void;
}

export interface NativeAddr {
  family: 4 | 6;
  address: string;
  prefixLen: number;
  label: string;
  /** IFA_F_* flags (linux/if_addr.h), e.g. 0x40 tentative, 0x80 permanent. */
  flags: number;
  ifindex: number;
  ifname: string;
}

export interface NativeLink {
  ifname: string;
  ifindex: number;
  /** IFF_* flags (linux/if.h): IFF_UP 0x1, IFF_RUNNING 0x40, IFF_LOWER_UP 0x10000. */
  flags: number;
  mac: string;
  /** IF_OPER_* (RFC 2863): 2 down, 6 up, 0 unknown. */
  operstate: number;
}

export interface NativeLinkKind {
  ifindex: number;
  kind: string;
  /** IFLA_LINK (0 when absent): a macvlan's parent, a veth's peer. */
  parentIfindex: number;
  mac: string;
  macvlanMode: string;
}

/** What NetlinkWatch reports (src/native/rtnetlink.cc); 'route' and 'rule' only when asked for
 *  in its options, and 'route' only for rtm_protocol RTPROT_KEEPALIVED. The route and rule are
 *  nested (RouteInfo has a `type` of its own). */
export type NativeNetEvent =
  | (NativeLink & { type: 'link'; op: 'new' | 'del' })
  | (NativeAddr & { type: 'addr'; op: 'add' | 'del' })
  | { type: 'route'; op: 'add' | 'del'; route: RouteInfo }
  | { type: 'rule'; op: 'add' | 'del'; rule: RuleInfo };

export interface NativeNetlinkWatchOptions {
  /** Also join RTMGRP_IPV4_ROUTE and RTMGRP_IPV6_ROUTE. */
  routes?: boolean | undefined;
  /** Also join RTNLGRP_IPV4_RULE and RTNLGRP_IPV6_RULE. */
  rules?: boolean | undefined;
}

export interface NativeNetlinkWatch {
  close(): void;
}

/** src/native/tcp_check_engine.cc; typed for src/net/tcpCheckEngine.ts, which documents it. */
export interface NativeTcpCheckEngine {
  /** HTTP mode: `request` (latin1 bytes) and `statusRanges` [lo, hi]* (tcp_check_engine.cc). */
  add(id: number, family: 4 | 6, address: string, port: number, bindAddress: string, bindPort: number, timeoutMs: number,
    request?: Uint8Array, statusRanges?: Int32Array): void;
  probeIn(id: number, delayMs: number): void;
  /** intervalMs <= 0: quiet mode off; firstInMs < 0: one interval. */
  setQuiet(id: number, intervalMs: number, firstInMs: number): void;
  remove(id: number): void;
  /** [ok 0|1, code, latencyUs, atWallMs, status (http_status; else 0)] */
  last(id: number): Float64Array | undefined;
  /** [probes, reported, suppressed, inFlight, targets, lateStarts, fdErrors, aborted, stale,
   *   synProbes, synRetransmits, synUnmatched, syn4, syn6] */
  stats(): Float64Array;
  recordStarts(on: boolean): void;
  takeStarts(): { times: Float64Array; ids: Uint32Array };
  close(): void;
}

/** onResults gets [id, code, errno, latencyUs] per outcome; code 0 ok, 1 timeout, 2 refused,
 *  3 unreachable, 4 connect_error; HTTP mode: 5 reset, 6 bad_response, 7 http_status (errno
 *  slot = the status code). */
export type NativeTcpCheckEngineCtor = new (onResults: (batch: Int32Array) => void, options?: { syn?: boolean }) => NativeTcpCheckEngine;

/** What the advert sender thread reports to JS (batched, native/advert_sender.cc). */
export type NativeAdvertReport =
  | { id: number; kind: 'send'; okBefore: number; destinations: number; failed: Array<{ dst: string; error: SystemError }> }
  | { id: number; kind: 'lease_expired' };

export interface NativeAdvertJobStats {
  active: boolean;
  /** Adverts that left on at least one destination. */
  sent: number;
  /** Destinations whose sendmsg failed. */
  sendErrors: number;
  lastErrno: number;
  lastError: string | null;
  /** Deadlines the thread missed by more than one interval. */
  late: number;
  leaseExpiries: number;
  droppedReports: number;
  /** What the sender thread runs at: 'SCHED_FIFO 1', 'nice -10' or 'normal'. */
  threadPriority: string;
  /** The job's next deadline, CLOCK_MONOTONIC ns: on the thread's 1 ms grid (advert_sender.cc). */
  nextDueNs: number;
  /** The thread's wake-ups since it started, all jobs together. */
  wakeups: number;
  /** The worst lateness of a send against its deadline (µs), and the sends more than 1 ms late. */
  maxLateUs: number;
  lateOver1ms: number;
}

export interface NativeAdvertSender {
  /** `firstDelayUs` < 0: keep the running job's next deadline (same interval), else one interval. */
  set(id: number, fd: number, family: 4 | 6, ifindex: number, packets: Array<{ payload: Uint8Array; dst: string; src: string }>,
    intervalUs: number, firstDelayUs: number, leaseUs: number): void;
  /** false when the job is not active (stopped, or its lease ran out). */
  renew(id: number, leaseUs: number): boolean;
  stop(id: number): void;
  stats(id: number): NativeAdvertJobStats | undefined;
  close(): void;
}

export interface NativePreciseTimer {
  /** Fires onFire once, delayMs (fractional) from now; re-arming replaces. */
  arm(delayMs: number): void;
  cancel(): void;
  close(): void;
}

export interface NativeAddon {
  VrrpSocket: new (
    family: 4 | 6,
    ifname: string,
    /** `kernelDrops`: the socket's running count of packets the kernel dropped for want of
     *  receive buffer (SO_RXQ_OVFL, a uint32 that wraps), as of this packet's queueing.
     *  `ageMs`: how long the packet waited in the socket (the kernel's SO_TIMESTAMPNS receive
     *  stamp against CLOCK_REALTIME now, never negative; src/native/vrrp_socket.cc). */
    onPacket: (payload: Uint8Array, src: string, dst: string, ttl: number, ifindex: number, kernelDrops: number, ageMs: number) => void,
    onError: (e: SystemError) => void,
  ) => NativeVrrpSocket;
  PacketSocket: new (ifname: string) => NativePacketSocket;
  AdvertSender: new (onReport: (reports: NativeAdvertReport[]) => void) => NativeAdvertSender;
  PreciseTimer: new (onFire: () => void) => NativePreciseTimer;
  /** Throws EEXIST when the address is already there. `flags`: IFA_F_* (IFA_FLAGS). */
  addrAdd(ifname: string, family: 4 | 6, address: string, prefixLen: number, opts?: {
    label?: string | undefined; scope?: number | undefined; broadcast?: string | undefined; peer?: string | undefined;
    preferredLft?: number | undefined; flags?: number | undefined;
  }): void;
  /** Throws EADDRNOTAVAIL when the address (with this prefix length, and peer) is not there. */
  addrDel(ifname: string, family: 4 | 6, address: string, prefixLen: number, peer?: string): void;
  addrList(ifname: string): NativeAddr[];
  linkGet(ifname: string): NativeLink | undefined;
  /** src/native/rtnetlink_link.cc (VMACs, net/vmac.ts). Throws EEXIST when the name is taken. */
  linkAddMacvlan(name: string, parentIfname: string, mac: string, mode: 'private' | 'bridge'): void;
  linkSetUp(name: string): void;
  linkSetAddrGenModeNone(name: string): void;
  linkDel(name: string): void;
  /** undefined when there is no such interface; kind '' for links without IFLA_LINKINFO. */
  linkKind(name: string): NativeLinkKind | undefined;
  NetlinkWatch: new (onEvent: (e: NativeNetEvent) => void, onError: (e: SystemError) => void,
    options?: NativeNetlinkWatchOptions) => NativeNetlinkWatch;
  /** src/native/rtnetlink_route.cc (net/routes.ts). RTM_NEWROUTE with NLM_F_CREATE and
   *  NLM_F_EXCL ('exists' on EEXIST), or NLM_F_REPLACE when `replace` (then always 'added'). A spec
   *  of the wrong shape throws a TypeError, an unknown dev ENODEV, a kernel refusal its errno. */
  routeAdd(spec: RouteSpec, replace: boolean): 'added' | 'exists';
  /** RTM_DELROUTE with the spec's key; 'absent' on ESRCH / ENOENT. */
  routeDel(spec: RouteSpec): 'deleted' | 'absent';
  /** An RTM_GETROUTE dump of one family (and table), cloned entries left out. */
  routeList(family: 4 | 6, table?: number): RouteInfo[];
  /** RTM_NEWRULE with NLM_F_CREATE and NLM_F_EXCL; 'exists' on EEXIST. */
  ruleAdd(spec: RuleSpec): 'added' | 'exists';
  /** RTM_DELRULE with every field of the spec; 'absent' on ENOENT. */
  ruleDel(spec: RuleSpec): 'deleted' | 'absent';
  ruleList(family: 4 | 6): RuleInfo[];
  /** sd_notify(3) to $NOTIFY_SOCKET: false when unset, true when sent; throws errno errors. */
  sdNotify(state: string): boolean;
}

const ADDON_FILE = join('build', 'Release', 'tandem_net.node');
let loaded: NativeAddon | undefined;

/** The addon, loaded on first call. Throws a readable error when it was not built. */
export function nativeAddon(): NativeAddon {
  if (loaded !== undefined) return loaded;
  const path = findAddon();
  loaded = createRequire(import.meta.url)(path) as NativeAddon;
  return loaded;
}

// Compiled code runs from dist/src/net/, sources from src/net/: look upwards for the repo root.
function findAddon(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const candidate = join(dir, ADDON_FILE);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`native addon ${ADDON_FILE} not found: build it with \`npm ci\` ` +
    '(or `npx node-gyp rebuild --nodedir=/usr`)');
}
