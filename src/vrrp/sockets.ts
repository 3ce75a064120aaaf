// The router's socket and announcer pools: one raw VRRP socket per (interface, family), shared by
// the instances on it, with its receive buffer sized for them; one announcer per interface.
import type { Logger } from '../log.js';
import type { RxStats } from './receive.js';
import { socketInterface, socketKey, type RunningInstance } from './running.js';
import type { Announcer, ReceivedVrrpPacket, VrrpNetwork, VrrpSocketHandle } from './network.js';
import type { VrrpInstanceConfig } from '../config/model.js';
import { vipInterfaces } from './vips.js';

export class SocketPool {
  private readonly sockets = new Map<string, VrrpSocketHandle>();
  private readonly announcers = new Map<string, Announcer>();

  constructor(
    private readonly net: VrrpNetwork, private readonly log: Logger, private readonly stats: RxStats,
    private readonly onPacket: (socketKey: string, p: ReceivedVrrpPacket) => void,
  ) {}

  socketFor(cfg: VrrpInstanceConfig): VrrpSocketHandle {
    const key = socketKey(cfg);
    let s = this.sockets.get(key);
    if (!s) {
      s = this.net.openSocket({
        family: cfg.family, ifname: socketInterface(cfg),
        onPacket: (p) => this.onPacket(key, p),
        onError: (e) => this.log.error(`socket ${key}: ${e.message}`),
      });
      this.sockets.set(key, s);
      this.stats.sockets[key] = { kernel_drops: 0, receive_buffer: null };
    }
    return s;
  }

  announcerFor(ifname: string): Announcer {
    let a = this.announcers.get(ifname);
    if (!a) { a = this.net.openAnnouncer(ifname); this.announcers.set(ifname, a); }
    return a;
  }

  /** Each socket's receive buffer, sized for the instances on it (net/vrrpSocket.ts). */
  sizeReceiveBuffers(instances: readonly RunningInstance[]): void {
    for (const [key, s] of this.sockets) {
      const on = instances.filter((r) => r.socket === s).map((r) => ({ family: r.cfg.family, version: r.cfg.version, addresses: r.cfg.vips.length }));
      const bytes = this.net.receiveBufferBytes(on);
      if (s.receiveBuffer?.requested === bytes) continue;
      const b = s.setReceiveBuffer(bytes);
      this.stats.sockets[key]!.receive_buffer = b;
      const text = `socket ${key}: receive buffer ${b.granted} bytes for ${on.length} instance(s) (asked ${bytes}${b.forced ? ', SO_RCVBUFFORCE' : ', SO_RCVBUF'})`;
      // The kernel doubles what it accepts; less than twice the request means rmem_max capped it.
      if (b.granted < 2 * bytes) this.log.warn(`${text}: capped by net.core.rmem_max (no CAP_NET_ADMIN for SO_RCVBUFFORCE)`);
      else this.log.info(text);
    }
  }

  /** After a reload: closes the sockets and announcers no instance uses any more. */
  closeUnused(instances: readonly RunningInstance[]): void {
    const used = new Set(instances.map((r) => socketKey(r.cfg)));
    for (const [key, s] of this.sockets) if (!used.has(key)) { s.close(); this.sockets.delete(key); delete this.stats.sockets[key]; }
    const ifaces = new Set(instances.flatMap((r) => vipInterfaces(r.cfg)));
    for (const [name, a] of this.announcers) if (!ifaces.has(name)) { a.close(); this.announcers.delete(name); }
  }

  closeAll(): void {
    for (const s of this.sockets.values()) s.close();
    for (const a of this.announcers.values()) a.close();
    this.sockets.clear();
    this.announcers.clear();
  }
}
