// What a MASTER's periodic adverts look like when the native advert sender sends them
// (MachineConfig.externalAdverts): pure, from the machine's config and state. The driver
// (instance.ts) hands the cadence to the router after every step; the router (router.ts) turns
// a change into sender set/stop calls through the port (network.ts AdvertSenderHandle).
//
// The lease (no zombie master): the sender thread keeps sending only while JS, the loop that
// runs the state machines, renews the job's lease (router.ts, every LEASE_RENEW_MS). A loop
// stalled for longer than the lease has stopped deciding: the sender stops that job, and the
// backup takes over after its Master_Down_Interval, as it would if this director had died.
// The lease is N advert intervals, N = max(3, ceil(1000 ms / advert_int)):
// - at least 3 intervals: shorter, and a loop stall that the backup would never notice (it
//   waits 3 x advert_int + skew) would stop our adverts and hand over the role for nothing;
// - at least 1 s: the stalls we measured in a healthy daemon (a reload's plan at 10,000 real
//   servers, GC, a burst of checks) stay well under a second; at advert_int 0.05 a 3-interval
//   lease (150 ms) would turn each of them into a failover, which is what the sender is for.
// Past it, holding the VIPs with adverts nobody decides is worse than a failover.
import type { MachineConfig, MachineState } from './machine.js';

export interface AdvertCadence {
  priority: number;
  intervalCs: number;
}

/** How often the router renews every job's lease: well under the shortest lease (1 s). */
export const LEASE_RENEW_MS = 100;
export const LEASE_MIN_INTERVALS = 3;
export const LEASE_MIN_MS = 1000;

/** The cadence the sender must keep for this machine, or null: it sends nothing. */
export function advertCadence(cfg: MachineConfig, st: MachineState): AdvertCadence | null {
  if (!cfg.externalAdverts || st.state !== 'MASTER') return null;
  return { priority: st.effectivePriority, intervalCs: cfg.advertIntCs };
}

/** The lease of a job at this interval (see the top of this file). */
export function leaseMs(intervalCs: number): number {
  const intervalMs = intervalCs * 10;
  const n = Math.max(LEASE_MIN_INTERVALS, Math.ceil(LEASE_MIN_MS / intervalMs));
  return n * intervalMs;
}
