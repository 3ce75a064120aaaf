// VRRP transport adapter: one raw protocol-112 socket per (family, interface), backed by the
// native addon. It only moves bytes; every receive check (RFC 5798 §7.1) happens in vrrp/validate.
// It also says what the kernel dropped before we could read it: the receive buffer is sized for
// the instances on the socket (receiveBufferBytes), and SO_RXQ_OVFL's running count, carried by
// each packet, becomes a per-packet increase (KernelDropCounter).
// Each packet carries its arrival time on the caller's monotonic clock: the kernel's receive
// stamp gives how long it waited (native/vrrp_socket.cc), subtracted from `now()` when JS gets
// it, so a packet read late by a busy loop still says when it came.
import { nativeAddon, type NativeAddon, type NativeVrrpSocket } from './native.js';

export interface ReceivedPacket {
  family: 4 | 6;
  /** The VRRP message only (the IPv4 header is stripped; IPv6 sockets never see theirs). */
  payload: Uint8Array;
  src: string;
  dst: string;
  /** IPv4 TTL or IPv6 hop limit as received: RFC 5798 §7.1 requires 255. */
  ttl: number;
  ifindex: number;
  /** Packets the kernel dropped on this socket (receive buffer full) since the packet before. */
  kernelDropsBefore: number;
  /** When the kernel received it, on the socket's monotonic clock (VrrpSocketOptions.now): no
   *  later than the moment JS got it. */
  arrivedAt: number;
}

/** What the kernel gave a socket's receive buffer. */
export interface ReceiveBuffer {
  /** Bytes asked for (setsockopt). */
  requested: number;
  /** SO_RCVBUF as the kernel reports it afterwards: twice what it accepted (socket(7)); queued
   *  packets count against it with their truesize. */
  granted: number;
  /** SO_RCVBUFFORCE worked (CAP_NET_ADMIN); otherwise net.core.rmem_max caps the request. */
  forced: boolean;
}

export interface VrrpSocket {
  readonly family: 4 | 6;
  readonly ifname: string;
  readonly ifindex: number;
  /** The native descriptor (-1 once closed), for the advert sender (net/advertSender.ts). */
  readonly fd: number;
  /** Sends with TTL / hop limit 255 from `src`, which must be an address of this host. Throws a
   * SystemError (code ENETDOWN, EADDRNOTAVAIL, EBADF when closed, ...). */
  send(payload: Uint8Array, dst: string, src: string): void;
  /** Joins 224.0.0.18 / ff02::12 on the interface; a second call does nothing. */
  joinMulticast(): void;
  /** Leaves the group; does nothing when not joined. */
  leaveMulticast(): void;
  /** Resizes the receive buffer; returns (and keeps in `receiveBuffer`) what the kernel granted. */
  setReceiveBuffer(bytes: number): ReceiveBuffer;
  readonly receiveBuffer: ReceiveBuffer | null;
  /** Packets the kernel dropped on this socket since it was opened, as known from the last packet
   *  read (the kernel reports a drop on the next packet it manages to queue). */
  readonly kernelDrops: number;
  /** Reads every packet queued now (bounded) and delivers each through onPacket before it
   *  returns; returns how many. A closed socket drains nothing. */
  drain(): number;
  /** Idempotent. Later send/join calls throw EBADF. */
  close(): void;
}

export interface VrrpSocketOptions {
  family: 4 | 6;
  ifname: string;
  onPacket(p: ReceivedPacket): void;
  /** Receive-side failures (a failed recvmsg); the socket keeps running unless closed. */
  onError(e: Error): void;
  /** Test hook: send with this TTL / hop limit instead of 255, as a misbehaving peer would. */
  hopLimit?: number;
  /** Receive buffer to ask for at once (else the kernel's default, net.core.rmem_default). */
  receiveBufferBytes?: number;
  /** The monotonic clock arrival times are given on (ms); performance.now(), the daemon's
   *  Timers.now(), when not given. */
  now?: () => number;
}

/** Turns SO_RXQ_OVFL's running count (a uint32 that wraps) into increases. */
export class KernelDropCounter {
  private last = 0;
  total = 0;
  /** `running`: the count the kernel put on the packet just read; returns the new drops. */
  update(running: number): number {
    const inc = ((running >>> 0) - this.last) >>> 0;
    this.last = running >>> 0;
    this.total += inc;
    return inc;
  }
}

/** Adverts per instance the buffer holds while the event loop is busy: a peer sends one per
 *  advert_int (>= 10 ms), and the longest stall we know (a reload's plan at 10,000 real servers)
 *  is ~70 ms, so 32 leaves room for several peers and the lower-priority / priority 0 answers. */
export const RECEIVE_BURST_ADVERTS = 32;
/** What the kernel charges a queued small packet against the buffer (its skb truesize): 832 bytes
 *  for an advert over veth here; drivers that give each frame a page charge up to ~4 KiB. */
export const PACKET_CHARGE_BYTES = 4096;
/** The fixed size every socket had before it was sized, kept as the least. */
export const RECEIVE_BUFFER_FLOOR_BYTES = 256 * 1024;
export const RECEIVE_BUFFER_CAP_BYTES = 64 * 1024 * 1024;

/** The receive buffer to ask for on a socket that serves these instances: a burst of their
 *  largest adverts each (IP header included), with a floor and a cap. */
export function receiveBufferBytes(instances: ReadonlyArray<{ family: 4 | 6; version: 2 | 3; addresses: number }>): number {
  let bytes = 0;
  for (const i of instances) {
    const advert = (i.family === 4 ? 20 : 40) + 8 + i.addresses * (i.family === 4 ? 4 : 16) + (i.family === 4 && i.version === 2 ? 8 : 0);
    bytes += RECEIVE_BURST_ADVERTS * (PACKET_CHARGE_BYTES + advert);
  }
  return Math.min(RECEIVE_BUFFER_CAP_BYTES, Math.max(RECEIVE_BUFFER_FLOOR_BYTES, bytes));
}

/** `addon`: the native addon (a fake in unit tests). */
export function openVrrpSocket(opts: VrrpSocketOptions, addon: Pick<NativeAddon, 'VrrpSocket'> = nativeAddon()): VrrpSocket {
  const { family, ifname } = opts;
  const drops = new KernelDropCounter();
  const now = opts.now ?? (() => performance.now());
  const sock: NativeVrrpSocket = new addon.VrrpSocket(
    family,
    ifname,
    // now() is read a few microseconds after the addon read the realtime clock, so the arrival
    // errs that much late: the safe side (a backup waits that much longer, never less).
    (payload, src, dst, ttl, ifindex, kernelDrops, ageMs) =>
      opts.onPacket({ family, payload, src, dst, ttl, ifindex, kernelDropsBefore: drops.update(kernelDrops), arrivedAt: now() - ageMs }),
    (e) => opts.onError(e),
  );
  let receiveBuffer: ReceiveBuffer | null = null;
  const setReceiveBuffer = (bytes: number): ReceiveBuffer => {
    const r = sock.setReceiveBuffer(bytes);
    receiveBuffer = { requested: bytes, granted: r.granted, forced: r.forced };
    return receiveBuffer;
  };
  if (opts.hopLimit !== undefined || opts.receiveBufferBytes !== undefined) {
    try {
      if (opts.hopLimit !== undefined) sock.setHopLimit(opts.hopLimit);
      if (opts.receiveBufferBytes !== undefined) setReceiveBuffer(opts.receiveBufferBytes);
    } catch (e) {
      sock.close();
      throw e;
    }
  }
  let joined = false;
  let closed = false;
  return {
    family,
    ifname,
    get ifindex() { return sock.ifindex; },
    get fd() { return closed ? -1 : sock.fd; },
    send: (payload, dst, src) => sock.send(payload, dst, src),
    joinMulticast() {
      if (joined && !closed) return;
      sock.join();
      joined = true;
    },
    leaveMulticast() {
      if (!joined || closed) return;
      sock.leave();
      joined = false;
    },
    setReceiveBuffer,
    get receiveBuffer() { return receiveBuffer; },
    get kernelDrops() { return drops.total; },
    drain: () => (closed ? 0 : sock.drain()),
    close() {
      closed = true;
      sock.close();
    },
  };
}
