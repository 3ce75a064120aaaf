// The VRRP part of the daemon: the VRRP router (vrrp/router.ts) on the real network port
// (net/vrrpNetwork.ts), the system clock and the precise advert timer. Everything VRRP does is in
// src/vrrp/; this file only chooses the real adapters.
import type { Config } from '../config/model.js';
import type { Logger } from '../log.js';
import { createVrrpNetwork } from '../net/vrrpNetwork.js';
import { createSystemTimers } from '../timers.js';
import type { TrackerSource } from '../vrrp/health.js';
import { VrrpRouter, type VrrpRouterEvents } from '../vrrp/router.js';
import { createPreciseTimer, monotonicNow } from './preciseTimer.js';
import { instanceKeyword } from './reloadPlan.js';

export { VrrpStartError } from '../vrrp/router.js';
export type VrrpServiceEvents = VrrpRouterEvents;

export class VrrpService extends VrrpRouter {
  constructor(config: Config, log: Logger, events: VrrpServiceEvents, trackers?: TrackerSource) {
    super(config, {
      net: createVrrpNetwork(), timers: createSystemTimers(), advertTimer: () => createPreciseTimer(monotonicNow),
      log, events, keyword: instanceKeyword, ...(trackers !== undefined ? { trackers } : {}),
    });
  }
}
