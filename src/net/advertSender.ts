// The advert sender adapter: a thin object over the addon's AdvertSender (native/advert_sender.cc),
// a thread that sends each MASTER's periodic adverts at their deadlines whatever the event loop
// is doing. It decides nothing: vrrp/router.ts installs, renews and stops the jobs.
import { nativeAddon, type NativeAddon, type NativeAdvertReport, type NativeAdvertJobStats } from './native.js';

export interface AdvertPacket {
  payload: Uint8Array;
  dst: string;
  src: string;
}

export type AdvertReport = NativeAdvertReport;
export type AdvertJobStats = NativeAdvertJobStats;

/** The socket the adverts leave on: its descriptor is dup()ed by the thread at set(). */
export interface AdvertSocket {
  readonly family: 4 | 6;
  readonly ifindex: number;
  readonly fd: number;
}

export interface AdvertSender {
  /** Installs (or replaces) job `id`: `packets` sent every `intervalMs` from `firstDelayMs` on
   *  ('keep': the running job's next deadline, when it has the same interval), for `leaseMs`
   *  unless renewed. Throws EBADF when the socket is closed. */
  set(id: number, socket: AdvertSocket, packets: AdvertPacket[], intervalMs: number, firstDelayMs: number | 'keep', leaseMs: number): void;
  /** false when the job is not running (stopped, or its lease ran out). */
  renew(id: number, leaseMs: number): boolean;
  stop(id: number): void;
  stats(id: number): AdvertJobStats | undefined;
  close(): void;
}

export function openAdvertSender(onReport: (reports: AdvertReport[]) => void, addon: Pick<NativeAddon, 'AdvertSender'> = nativeAddon()): AdvertSender {
  const s = new addon.AdvertSender(onReport);
  let closed = false;
  return {
    set(id, socket, packets, intervalMs, firstDelayMs, leaseMs) {
      const fd = socket.fd;
      if (fd < 0) throw Object.assign(new Error('advert sender: socket is closed'), { code: 'EBADF' });
      s.set(id, fd, socket.family, socket.ifindex, packets, intervalMs * 1000, firstDelayMs === 'keep' ? -1 : firstDelayMs * 1000, leaseMs * 1000);
    },
    renew: (id, leaseMs) => !closed && s.renew(id, leaseMs * 1000),
    stop: (id) => { if (!closed) s.stop(id); },
    stats: (id) => s.stats(id),
    close() {
      closed = true;
      s.close();
    },
  };
}
