// The receive path: socket -> demux by VRID -> validate (validate.ts) -> count -> the instance's
// machine. Receive counters use the same typed reasons validate.ts returns, plus what the kernel
// dropped before tandem could read it.
//
// Time: an accepted advert reaches the machine with the time the kernel received it, not the
// time JS read it (RFC 5798 §6.4.2: "reset the Master_Down_Timer" on the advert's arrival). And
// before an instance's deadline acts, its socket is drained (drainThen): libuv runs expired
// timers before it polls sockets, so after a stall longer than Master_Down_Interval (GC, a
// reload, thousands of checks) the master-down timer would otherwise fire while the master's
// adverts sit unread in the socket, and the backup would take over from a live master.
import { RateLimitedLog, type Logger } from '../log.js';
import type { ReceiveBuffer, ReceivedVrrpPacket, VrrpSocketHandle } from './network.js';
import { socketKey, type RunningInstance } from './running.js';
import { DROP_REASONS, validateAdvert, type DropReason, type Note } from './validate.js';

export interface SocketRxStats {
  /** Packets the kernel dropped on this socket (receive buffer full), SO_RXQ_OVFL. */
  kernel_drops: number;
  receive_buffer: ReceiveBuffer | null;
}

export interface RxStats {
  accepted: number;
  drops: Record<DropReason, number>;
  notes: Partial<Record<Note, number>>;
  /** All sockets', since start (a closed socket's drops stay counted here). */
  kernel_drops: number;
  /** Packets read by a drain just before an instance's deadline acted (drainThen): each one had
   *  waited in the socket while the loop was busy. */
  read_before_deadline: number;
  /** By socket, `interface/family` (e.g. eth0/6), for the sockets open now. */
  sockets: Record<string, SocketRxStats>;
}

export function newRxStats(): RxStats {
  const drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  return { accepted: 0, drops, notes: {}, kernel_drops: 0, read_before_deadline: 0, sockets: {} };
}

export class VrrpReceiver {
  /** Socket key (`ifname/family`) -> VRID -> instance, rebuilt when the instances change. */
  private readonly byVrid = new Map<string, Map<number, RunningInstance>>();
  private readonly drops: RateLimitedLog;
  /** A drain is running: deadlines that come due meanwhile wait for its end (drainThen). */
  private draining = false;
  private readonly dueAfterDrain: Array<() => void> = [];

  /** `changed`: something the status shows changed (a counter). */
  constructor(readonly stats: RxStats, log: Logger, now: () => number, private readonly changed: () => void) {
    this.drops = new RateLimitedLog(log, now);
  }

  index(instances: readonly RunningInstance[]): void {
    this.byVrid.clear();
    for (const r of instances) {
      const key = socketKey(r.cfg);
      if (!this.byVrid.has(key)) this.byVrid.set(key, new Map());
      this.byVrid.get(key)!.set(r.cfg.vrid, r);
    }
  }

  onPacket(socketKey: string, p: ReceivedVrrpPacket): void {
    if (p.kernelDropsBefore > 0) {
      this.stats.kernel_drops += p.kernelDropsBefore;
      const s = this.stats.sockets[socketKey];
      if (s) s.kernel_drops += p.kernelDropsBefore;
      this.drops.warn(`kernel:${socketKey}`, `the kernel dropped ${p.kernelDropsBefore} VRRP packet(s) on ${socketKey}: receive buffer ` +
        `(${s?.receive_buffer?.granted ?? '?'} bytes) full; ${s?.kernel_drops ?? '?'} on this socket so far`);
    }
    const byVrid = this.byVrid.get(socketKey);
    const verdict = validateAdvert(p, (vrid) => byVrid?.get(vrid)?.rx);
    if (!verdict.ok) {
      this.stats.drops[verdict.reason] = (this.stats.drops[verdict.reason] ?? 0) + 1;
      // Our own multicast is not looped back, but unicast setups can see their own packets.
      if (verdict.reason !== 'own_packet') {
        this.drops.warn(verdict.reason, `dropped VRRP packet from ${p.src} on ${socketKey}: ${verdict.reason} (${verdict.detail})`);
      }
      this.changed();
      return;
    }
    const r = byVrid!.get(verdict.advert.vrid)!;
    this.stats.accepted++;
    for (const n of verdict.notes) {
      this.stats.notes[n] = (this.stats.notes[n] ?? 0) + 1;
      this.drops.warn(`note:${n}`, `${r.cfg.name}: advert from ${p.src}: ${n} (accepted, as keepalived does)`);
    }
    r.driver.advert(p.src, verdict.advert.priority, verdict.advert.advertIntCs, p.arrivedAt);
    this.changed();
  }

  /**
   * An instance's deadline has come (its machine timer fired): first read every packet already
   * queued on its socket through the normal path (onPacket), then `fire` the timer event, so an
   * advert that arrived before the deadline counts before the deadline acts. Only when
   * `drainFirst` (router.ts: the Master_Down_Timer is armed).
   * A deadline that comes due during the drain (an advert stamped long ago moves a deadline into
   * the past, and a timer armed in the past may fire at once) is held until the drain has ended:
   * firing it mid-drain would act on a state that the adverts still queued would change.
   */
  drainThen(socket: VrrpSocketHandle, fire: () => void, drainFirst = true): void {
    if (this.draining) { this.dueAfterDrain.push(fire); return; }
    // `drainFirst` false (no Master_Down_Timer armed: a master's advert deadline): nothing queued
    // could cancel what the deadline does, so it acts at once, with no read before it.
    if (!drainFirst) { fire(); return; }
    this.draining = true;
    try {
      this.stats.read_before_deadline += socket.drain();
    } finally {
      this.draining = false;
    }
    fire();
    // Each deferred fire runs outside any drain (one it starts takes its own deferrals), so
    // nothing is added here while this loop runs: it ends.
    for (let f = this.dueAfterDrain.shift(); f; f = this.dueAfterDrain.shift()) f();
  }
}
