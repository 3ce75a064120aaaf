// A generic netlink socket (the addon's GenlSocket, src/native/genetlink.cc): family lookup,
// batches of acked requests, dumps. The bytes of the requests and replies are the caller's
// business (e.g. src/lb/ipvs/netlinkCodec.ts); this wrapper only hands out sequence numbers and
// gives the calls types.
import { nativeAddon, type SystemError } from './native.js';

export type { SystemError };

interface NativeGenlSocket {
  familyId(name: string): number;
  transact(buf: Uint8Array, count: number): Int32Array;
  dump(buf: Uint8Array): Buffer[];
  close(): void;
}

type GenlSocketCtor = new () => NativeGenlSocket;

/** Sequence numbers of this side stay below 2^31: the addon numbers its own lookups above. */
const SEQ_LIMIT = 0x7fffffff;

export class GenlSocket {
  private readonly sock: NativeGenlSocket;
  private seq = 0;

  /** Opens and binds a NETLINK_GENERIC socket. Throws a SystemError when that fails. */
  constructor() {
    const Ctor = (nativeAddon() as unknown as { GenlSocket?: GenlSocketCtor }).GenlSocket;
    if (Ctor === undefined) throw new Error('the native addon has no GenlSocket: rebuild it (npx node-gyp rebuild --nodedir=/usr)');
    this.sock = new Ctor();
  }

  /** The kernel's id for a family (`IPVS`, `nlctrl` ...). Throws a SystemError with code ENOENT
   *  when the family is not registered (for IPVS: the ip_vs module is not loaded). */
  familyId(name: string): number {
    return this.sock.familyId(name);
  }

  /** `count` consecutive sequence numbers for the requests of one batch; returns the first. The
   *  numbers wrap before 2^31, so a batch never straddles the wrap. */
  reserveSeq(count: number): number {
    if (this.seq + count >= SEQ_LIMIT) this.seq = 0;
    const first = this.seq + 1;
    this.seq += count;
    return first;
  }

  /**
   * Sends `count` requests (concatenated in `buf`, each with NLM_F_ACK and its own sequence
   * number) and returns, per request in buffer order, 0 when the kernel acked it or the positive
   * errno it answered. Throws a SystemError only when the exchange itself failed (then the
   * outcome of some requests is unknown).
   */
  transact(buf: Uint8Array, count: number): Int32Array {
    return this.sock.transact(buf, count);
  }

  /** Sends one NLM_F_DUMP request; returns the reply datagrams (NLMSG_DONE included). Throws a
   *  SystemError when the kernel answers the dump with an error. */
  dump(buf: Uint8Array): Buffer[] {
    return this.sock.dump(buf);
  }

  close(): void {
    this.sock.close();
  }
}
