// The VRRP network port: everything the VRRP router (router.ts) needs from the network, as one
// interface. src/net/vrrpNetwork.ts implements it over the native addon (raw sockets, AF_PACKET,
// rtnetlink); test/lib/fakeVrrpNetwork.ts fakes it for unit tests. Types only: the router and
// the modules around it see nothing else of the network, so they run without root.
// The value types (packets, addresses, events) are net/'s own, imported as types; net/ imports
// nothing from vrrp/, so the real adapter (net/vrrpNetwork.ts) fits the port structurally.

import type { AddAddressOptions, IfAddress, LinkInfo } from '../net/addresses.js';
import type { NetEvent } from '../net/netlinkWatch.js';
import type { ReceivedPacket as ReceivedVrrpPacket, ReceiveBuffer } from '../net/vrrpSocket.js';
import type { VmacHandle, VmacRequest } from '../net/vmac.js';
import type { RouteInfo, RouteSpec, RuleInfo, RuleSpec } from '../ip/route.js';

export type { AddAddressOptions, IfAddress, LinkInfo, NetEvent, ReceivedVrrpPacket, ReceiveBuffer, VmacHandle, VmacRequest };

/** One raw protocol-112 socket on (interface, family). */
export interface VrrpSocketHandle {
  readonly family: 4 | 6;
  readonly ifindex: number;
  /** The descriptor, for the advert sender (which takes its own copy); -1 once closed. */
  readonly fd: number;
  /** Sends with TTL / hop limit 255 from `src`. Throws an Error with the errno's message. */
  send(payload: Uint8Array, dst: string, src: string): void;
  /** Joins 224.0.0.18 / ff02::12 on the interface; a second call does nothing. */
  joinMulticast(): void;
  /** Resizes the receive buffer; returns (and keeps in `receiveBuffer`) what the kernel granted. */
  setReceiveBuffer(bytes: number): ReceiveBuffer;
  readonly receiveBuffer: ReceiveBuffer | null;
  /** Reads every packet queued on the socket now (bounded), delivering each through the
   *  request's onPacket before it returns; returns how many. Nothing once closed. */
  drain(): number;
  /** Idempotent. */
  close(): void;
}

export interface VrrpSocketRequest {
  family: 4 | 6;
  ifname: string;
  /** `p.arrivedAt`: when the kernel received it, on the router's clock (Timers.now()). */
  onPacket(p: ReceivedVrrpPacket): void;
  /** Receive-side failures; the socket keeps running. */
  onError(e: Error): void;
}

/** Gratuitous ARP / unsolicited NA on one interface (RFC 5798 §6.4.1 (o), §6.4.2). */
export interface Announcer {
  garp(ip: string): void;
  unsolicitedNa(ip: string): void;
  close(): void;
}

/** What one socket serves, for sizing its receive buffer. */
export interface SocketLoad {
  family: 4 | 6;
  version: 2 | 3;
  /** VIPs in the advert. */
  addresses: number;
}

/** One advert of a job: encoded for its destination. */
export interface AdvertPacket {
  payload: Uint8Array;
  dst: string;
  src: string;
}

/** What the advert sender reports, batched, when the loop runs (net/advertSender.ts). */
export type AdvertSenderReport =
  /** An advert that left on none or only some of its destinations (`failed`), or, with `failed`
   *  empty, the first that left on all of them again after one that did not; `okBefore`: adverts
   *  of this job that left on all of them since the previous report. */
  | { id: number; kind: 'send'; okBefore: number; destinations: number; failed: Array<{ dst: string; error: Error }> }
  /** The job's lease ran out (nobody renewed it): it sends nothing more until set() again. */
  | { id: number; kind: 'lease_expired' };

export interface AdvertJobStats {
  active: boolean;
  /** Adverts the sender put on the wire (on at least one destination). */
  sent: number;
  /** Destinations whose send failed. */
  sendErrors: number;
  /** The errno name of the last failure. */
  lastError: string | null;
  /** Deadlines missed by more than one interval. */
  late: number;
  leaseExpiries: number;
  /** What the sender thread runs at: 'SCHED_FIFO 1', 'nice -10' or 'normal' (advert_sender.cc). */
  threadPriority: string;
  /** The worst lateness of a send against its deadline (µs), and the sends more than 1 ms late:
   *  the sender's own part of an interval on the wire. */
  maxLateUs: number;
  lateOver1ms: number;
}

/** Sends MASTER adverts at their deadlines whatever the event loop does (advertCadence.ts). */
export interface AdvertSenderHandle {
  /** Installs or replaces job `id` (packets every `intervalMs`, the first after `firstDelayMs`,
   *  or 'keep' the running job's next deadline), alive for `leaseMs` unless renewed. */
  set(id: number, socket: VrrpSocketHandle, packets: AdvertPacket[], intervalMs: number, firstDelayMs: number | 'keep', leaseMs: number): void;
  /** false when the job is not running (stopped, or its lease ran out). */
  renew(id: number, leaseMs: number): boolean;
  stop(id: number): void;
  stats(id: number): AdvertJobStats | undefined;
  close(): void;
}

export interface VrrpNetwork {
  /** The advert sender, opened once by the router; absent: the driver sends every advert. */
  openAdvertSender?(onReport: (reports: AdvertSenderReport[]) => void): AdvertSenderHandle;
  /** Throws when the socket cannot be opened (no CAP_NET_RAW, no interface). */
  openSocket(req: VrrpSocketRequest): VrrpSocketHandle;
  /** The receive buffer to ask for on a socket serving these instances (net/vrrpSocket.ts). */
  receiveBufferBytes(load: readonly SocketLoad[]): number;
  /** One announcer per interface, kept open (opening one per takeover is too slow). */
  openAnnouncer(ifname: string): Announcer;
  /** 'exists' when the address is already there; other failures throw. `opts`: the VIP's
   *  options (label, scope, broadcast, peer, preferred_lft, flags: net/addresses.ts). */
  addAddress(ifname: string, address: string, prefixLen: number, opts?: AddAddressOptions): 'added' | 'exists';
  /** 'absent' when it is not there; other failures throw. `peer`: the address's peer, if any. */
  deleteAddress(ifname: string, address: string, prefixLen: number, peer?: string): 'deleted' | 'absent';
  /** In the kernel's order (the first IPv4 address is keepalived's source address). */
  listAddresses(ifname: string): IfAddress[];
  /** undefined when there is no such interface. */
  linkInfo(ifname: string): LinkInfo | undefined;
  /** virtual_routes / static_routes (net/routes.ts): 'exists' when the kernel has it already;
   *  other failures throw (ENODEV, ENETUNREACH for a gateway not on a link, ...). */
  addRoute(spec: RouteSpec): 'added' | 'exists';
  deleteRoute(spec: RouteSpec): 'deleted' | 'absent';
  listRoutes(family: 4 | 6): RouteInfo[];
  /** virtual_rules / static_rules. */
  addRule(spec: RuleSpec): 'added' | 'exists';
  deleteRule(spec: RuleSpec): 'deleted' | 'absent';
  listRules(family: 4 | 6): RuleInfo[];
  /** Builds (and throws away) one announcement frame per address, so that the first takeover's
   *  GARP / NA is not the builders' first run (V8 compiles lazily). Sends nothing. */
  warmUpAnnouncements(addresses: ReadonlyArray<{ family: 4 | 6; address: string }>): void;
  /** Link up/down changes, address adds/deletes, and adds/deletes of routes with protocol
   *  keepalived (RTPROT_KEEPALIVED: ours) and of rules. onError with code ENOBUFS means events
   *  were lost: re-read what you depend on. */
  watch(onEvent: (e: NetEvent) => void, onError: (e: Error) => void): { close(): void };
  /** use_vmac (net/vmac.ts): creates, or adopts a matching, VMAC macvlan, up; throws when the name
   *  is taken by anything else. Absent: the adapter has no VMACs. */
  acquireVmac?(req: VmacRequest): VmacHandle;
  /** Deletes it when it was created by acquireVmac; puts back the base's sysctls after its last. */
  releaseVmac?(h: VmacHandle, req: VmacRequest): void;
}
