// VRRP transport adapter: one raw protocol-112 socket per (family, interface), backed by the
// native addon. It only moves bytes; every receive check (RFC 5798 §7.1) happens in vrrp/validate.
import { nativeAddon, type NativeVrrpSocket } from './native.js';

export interface ReceivedPacket {
  family: 4 | 6;
  /** The VRRP message only (the IPv4 header is stripped; IPv6 sockets never see theirs). */
  payload: Uint8Array;
  src: string;
  dst: string;
  /** IPv4 TTL or IPv6 hop limit as received: RFC 5798 §7.1 requires 255. */
  ttl: number;
  ifindex: number;
}

export interface VrrpSocket {
  readonly family: 4 | 6;
  readonly ifname: string;
  /** Sends with TTL / hop limit 255 from `src`, which must be an address of this host. Throws a
   * SystemError (code ENETDOWN, EADDRNOTAVAIL, EBADF when closed, ...). */
  send(payload: Uint8Array, dst: string, src: string): void;
  /** Joins 224.0.0.18 / ff02::12 on the interface; a second call does nothing. */
  joinMulticast(): void;
  /** Leaves the group; does nothing when not joined. */
  leaveMulticast(): void;
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
}

export function openVrrpSocket(opts: VrrpSocketOptions): VrrpSocket {
  const { family, ifname } = opts;
  const addon = nativeAddon();
  const sock: NativeVrrpSocket = new addon.VrrpSocket(
    family,
    ifname,
    (payload, src, dst, ttl, ifindex) => opts.onPacket({ family, payload, src, dst, ttl, ifindex }),
    (e) => opts.onError(e),
  );
  if (opts.hopLimit !== undefined) {
    try {
      sock.setHopLimit(opts.hopLimit);
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
    close() {
      closed = true;
      sock.close();
    },
  };
}
