// What the health checks conclude about each real server, as the desired table reads it
// (lb/desired.ts) and the check scheduler (check/scheduler.ts) publishes it. Types only: the
// producer is check/, so the contract lives here and lb/ imports it.
export interface RealServerHealth {
  up: boolean;
  /** Effective weight (the configured one unless misc_dynamic changed it). */
  weight: number;
}

/** Keyed by RealServerConfig.id. A server with no entry yet has its initial verdict: up unless
 *  one of its checks has alpha, with its configured weight. */
/** Real server id -> its health (a Map, or a view that looks it up on demand). */
export interface HealthMap { get(id: string): RealServerHealth | undefined }
