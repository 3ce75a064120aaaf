// The composition root (DESIGN.md: one place builds the real adapters). Everything below takes
// its clock, timers, VRRP network port and advert timer, table backend, probe runner, script runners, alert channels, status server,
// systemd notifier and state file writer as arguments; this module and composeLate.ts are where the
// real ones are made, so a unit test can build any part with fakes and a manual clock instead.
// Split in two for start-up time (issue 15): this module builds what the first advert needs (the
// VRRP router, its network and timer, the trackers VRRP waits for, systemd); composeLate.ts the
// rest (alerts, the LB service with its checkers and backends, the status API, the state file,
// the reload worker), whose modules run.ts imports only once VRRP has started
// (docs/architecture.md, "Start-up").
// run.ts: parse options, composeDaemon(), run, handle signals. cli.ts `tandem plan`: composeLate.ts composePlan().
import { existsSync, readFileSync } from 'node:fs';
import type { Config } from '../config/model.js';
import type { VirtualServerConfig } from '../config/lbModel.js';
import type { LoadResult } from '../config/load.js';
import type { Logger } from '../log.js';
import { createSystemTimers, type Timers } from '../timers.js';
import type { AlertDispatcher } from '../alert/dispatcher.js';
import type { StatusServer, StatusServerOptions } from '../api/statusServer.js';
import { parseOpenFileLimit } from '../api/listenerLimits.js';
import { kernelHasIpvs, type KernelProbe } from '../lb/select.js';
import { Trackers } from '../track/trackers.js';
import type { ScriptRunner } from '../track/scriptRunner.js';
import type { LbService, LbServiceDeps } from '../lb/service.js';
import { createSystemdNotifier, nativeSdSend, watchdogUsecFromEnv, type SystemdNotifier } from './sdNotify.js';
import type { StateFileWriter } from './stateFile.js';
import { createVrrpNetwork } from '../net/vrrpNetwork.js';
import { VrrpRouter, type VrrpRouterEvents } from '../vrrp/router.js';
import type { TrackerSource } from '../vrrp/health.js';
import { createPreciseTimer, monotonicNow } from './preciseTimer.js';
import { instanceKeyword } from './reloadPlan.js';

/** The real file system, as kernelHasIpvs reads it. */
const systemKernelProbe: KernelProbe = {
  exists: (p) => existsSync(p),
  read: (p) => { try { return readFileSync(p, 'utf8'); } catch { return undefined; } },
};

/** Whether this machine's kernel has IPVS (global.backend auto decides by it). */
export function hostHasIpvs(): boolean {
  return kernelHasIpvs(systemKernelProbe);
}

/** The tracking-script runner, loaded with the first vrrp_script run: it brings node:child_process
 *  (and node:net under it), 5-15 ms of every start, with or without scripts (issue 15). */
const runTrackScript: ScriptRunner = async (argv, opts) => (await import('../track/scriptRunner.js')).runScript(argv, opts);

/** What LbService's caller decides; the adapters are added here. */
export type LbWiring = Omit<LbServiceDeps, 'timers' | 'backend' | 'backendName' | 'runProbe' | 'random' | 'tcpEngine'>;

/** The daemon's parts, built with the real adapters: first what VRRP needs, then (late()) the rest. */
export interface Daemon {
  timers: Timers;
  /** global.backend auto, resolved once against this kernel. */
  hasIpvs: () => boolean;
  /** The VRRP router (src/vrrp/router.ts) on the real network port and the precise advert timer. */
  vrrp(config: Config, log: Logger, events: VrrpRouterEvents, trackers: TrackerSource): VrrpRouter;
  trackers(config: Config, log: Logger, onChange: (instance: string) => void): Trackers;
  systemd(log: Logger): SystemdNotifier;
  /** The soft open file limit of this process, or null if /proc/self/limits cannot be read. */
  openFileLimit(): number | null;
  /** The parts built once VRRP has started; their modules are loaded by this call (composeLate.ts). */
  late(): Promise<LateParts>;
}

/** The parts run.ts builds after the first advert (composeLate.ts composeLate()). */
export interface LateParts {
  alerts(config: Config, log: Logger): AlertDispatcher;
  /** An LB service on the backend `global` asks for. */
  lb(vss: readonly VirtualServerConfig[], global: Config['global'], wiring: LbWiring): LbService;
  statusServer(opts: Omit<StatusServerOptions, 'now'>): StatusServer;
  stateFile(path: string | undefined, snapshot: () => unknown, log: Logger): StateFileWriter;
  /** The virtual services the previous run's state file at `path` says it owned (stateFile.ts). */
  previouslyOwned(path: string | undefined, warn: (msg: string) => void): string[];
  /** Reads and validates a config file for a reload (in a worker thread). */
  loadConfig(file: string): Promise<LoadResult>;
}

export function composeDaemon(): Daemon {
  const timers = createSystemTimers();
  return {
    timers,
    hasIpvs: hostHasIpvs,
    vrrp: (config, log, events, trackers) => new VrrpRouter(config, {
      net: createVrrpNetwork(() => timers.now()), timers, advertTimer: () => createPreciseTimer(monotonicNow),
      log, events, trackers, keyword: instanceKeyword,
    }),
    trackers: (config, log, onChange) => new Trackers(config, log, onChange, { runScript: runTrackScript, timers }),
    systemd: (log) => {
      const watchdogUsec = watchdogUsecFromEnv(process.env, process.pid);
      // sd_watchdog_enabled(3) with unset_environment: scripts (children) must not inherit them.
      delete process.env.WATCHDOG_USEC;
      delete process.env.WATCHDOG_PID;
      return createSystemdNotifier(log, nativeSdSend, { timers, watchdogUsec });
    },
    openFileLimit: () => {
      try {
        return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
      } catch {
        return null;
      }
    },
    late: async () => (await import('./composeLate.js')).composeLate(timers),
  };
}
