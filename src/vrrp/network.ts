// The VRRP network port: everything the VRRP router (router.ts) needs from the network, as one
// interface. src/net/vrrpNetwork.ts implements it over the native addon (raw sockets, AF_PACKET,
// rtnetlink); test/lib/fakeVrrpNetwork.ts fakes it for unit tests. Types only: the router and
// the modules around it see nothing else of the network, so they run without root.
// The types are declared here, not imported from net/, because net/ already imports vrrp/
// (announce.ts uses vrrp/checksum and vrrp/ip): the port belongs to its user, the adapter fits it.

/** One VRRP message as a raw socket delivered it (net/vrrpSocket.ts ReceivedPacket). */
export interface ReceivedVrrpPacket {
  family: 4 | 6;
  /** The VRRP message only (no IP header). */
  payload: Uint8Array;
  src: string;
  dst: string;
  /** IPv4 TTL or IPv6 hop limit as received: RFC 5798 §7.1 requires 255. */
  ttl: number;
  ifindex: number;
  /** Packets the kernel dropped on this socket (receive buffer full) since the packet before. */
  kernelDropsBefore: number;
}

/** What the kernel gave a socket's receive buffer. */
export interface ReceiveBuffer {
  /** Bytes asked for (setsockopt). */
  requested: number;
  /** SO_RCVBUF as the kernel reports it afterwards: twice what it accepted (socket(7)). */
  granted: number;
  /** SO_RCVBUFFORCE worked (CAP_NET_ADMIN); otherwise net.core.rmem_max caps the request. */
  forced: boolean;
}

/** One raw protocol-112 socket on (interface, family). */
export interface VrrpSocketHandle {
  /** Sends with TTL / hop limit 255 from `src`. Throws an Error with the errno's message. */
  send(payload: Uint8Array, dst: string, src: string): void;
  /** Joins 224.0.0.18 / ff02::12 on the interface; a second call does nothing. */
  joinMulticast(): void;
  /** Resizes the receive buffer; returns (and keeps in `receiveBuffer`) what the kernel granted. */
  setReceiveBuffer(bytes: number): ReceiveBuffer;
  readonly receiveBuffer: ReceiveBuffer | null;
  /** Idempotent. */
  close(): void;
}

export interface VrrpSocketRequest {
  family: 4 | 6;
  ifname: string;
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

export interface IfAddress {
  family: 4 | 6;
  address: string;
  prefixLen: number;
}

export interface LinkInfo {
  ifname: string;
  ifindex: number;
  mac: string;
  /** Administratively and operationally up (IFF_UP && IFF_RUNNING). */
  up: boolean;
}

export type NetEvent =
  | { kind: 'link'; ifname: string; ifindex: number; up: boolean }
  | { kind: 'addr'; op: 'add' | 'del'; ifname: string; ifindex: number; family: 4 | 6; address: string; prefixLen: number };

/** What one socket serves, for sizing its receive buffer. */
export interface SocketLoad {
  family: 4 | 6;
  version: 2 | 3;
  /** VIPs in the advert. */
  addresses: number;
}

export interface VrrpNetwork {
  /** Throws when the socket cannot be opened (no CAP_NET_RAW, no interface). */
  openSocket(req: VrrpSocketRequest): VrrpSocketHandle;
  /** The receive buffer to ask for on a socket serving these instances (net/vrrpSocket.ts). */
  receiveBufferBytes(load: readonly SocketLoad[]): number;
  /** One announcer per interface, kept open (opening one per takeover is too slow). */
  openAnnouncer(ifname: string): Announcer;
  /** 'exists' when the address is already there; other failures throw. */
  addAddress(ifname: string, address: string, prefixLen: number): 'added' | 'exists';
  /** 'absent' when it is not there; other failures throw. */
  deleteAddress(ifname: string, address: string, prefixLen: number): 'deleted' | 'absent';
  /** In the kernel's order (the first IPv4 address is keepalived's source address). */
  listAddresses(ifname: string): IfAddress[];
  /** undefined when there is no such interface. */
  linkInfo(ifname: string): LinkInfo | undefined;
  /** Builds (and throws away) one announcement frame per address, so that the first takeover's
   *  GARP / NA is not the builders' first run (V8 compiles lazily). Sends nothing. */
  warmUpAnnouncements(addresses: ReadonlyArray<{ family: 4 | 6; address: string }>): void;
  /** Link up/down changes and address adds/deletes. onError with code ENOBUFS means events were
   *  lost: re-read what you depend on. */
  watch(onEvent: (e: NetEvent) => void, onError: (e: Error) => void): { close(): void };
}
