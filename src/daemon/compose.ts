// The composition root (DESIGN.md: one place builds the real adapters). Everything below takes
// its clock, timers, VRRP network port and advert timer, table backend, probe runner, script runners, alert channels, status server,
// systemd notifier and state file writer as arguments; this module is where the real ones are
// made, so a unit test can build any part with fakes and a manual clock instead.
// run.ts: parse options, composeDaemon(), run, handle signals. cli.ts `tandem plan`: composePlan().
import { existsSync, readFileSync } from 'node:fs';
import type { Config, GlobalConfig } from '../config/model.js';
import type { VirtualServerConfig } from '../config/lbModel.js';
import { loadConfigFileOffThread } from '../config/loadOffThread.js';
import type { LoadResult } from '../config/load.js';
import type { Logger } from '../log.js';
import { createSystemTimers, type Timers } from '../timers.js';
import { AlertDispatcher, type AlertChannelMakers } from '../alert/dispatcher.js';
import { NotifyFifo } from '../alert/fifo.js';
import { mailNotifierFor } from '../alert/mail.js';
import { runScript as runNotifyScript } from '../process/script.js';
import { ScriptNotifier } from '../alert/scriptNotifier.js';
import { WebhookNotifier } from '../alert/webhook.js';
import { StatusServer, type StatusServerOptions } from '../api/statusServer.js';
import { startLoopDelayMonitor, type LoopDelayMonitor } from '../api/loopDelay.js';
import { parseOpenFileLimit } from '../api/listenerLimits.js';
import { runProbe } from '../check/probes/index.js';
import { createTcpCheckEngine } from '../net/tcpCheckEngine.js';
import { IpvsadmBackend } from '../lb/ipvs/backend.js';
import { NetlinkIpvsBackend } from '../lb/ipvs/netlinkBackend.js';
import { NftBackend } from '../lb/nft/backend.js';
import { kernelHasIpvs, selectBackend, type BackendMakers, type KernelProbe, type SelectedBackend } from '../lb/select.js';
import { Trackers } from '../track/trackers.js';
import { runScript as runTrackScript } from '../track/scriptRunner.js';
import { LbService, type LbServiceDeps } from '../lb/service.js';
import { planTable } from './plan.js';
import { createSystemdNotifier, nativeSdSend, watchdogUsecFromEnv, type SystemdNotifier } from './sdNotify.js';
import { createStateFileWriter, writeStateFile, type StateFileWriter } from './stateFile.js';
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

/** The real table backends. Generic netlink is the default IPVS mechanism: it applies 10,000 real
 *  servers from empty in about a third of ipvsadm-restore's time and a verdict reaches the kernel
 *  without a process spawn (docs/benchmarks.md, bench:table). */
const realBackends: BackendMakers = {
  nft: () => new NftBackend(),
  ipvs: (kind) => (kind === 'ipvsadm' ? new IpvsadmBackend() : new NetlinkIpvsBackend()),
};

/** The table backend `global.backend` / `global.ipvs_backend` ask for, on this machine. */
export function lbBackendFor(g: Pick<GlobalConfig, 'backend' | 'ipvsBackend'>, hasIpvs: () => boolean = hostHasIpvs): SelectedBackend {
  return selectBackend(g, hasIpvs, realBackends);
}

/** `tandem plan -f FILE`: the plan against the backend `tandem run` would use, on stdout. */
export function composePlan(config: Config): Promise<number> {
  return planTable(config, lbBackendFor(config.global).backend, (s) => process.stdout.write(s));
}

/** The real alert channels (src/alert/dispatcher.ts fans out to them). */
export function realAlertChannels(timers: Timers): AlertChannelMakers {
  return {
    scripts: (config, log) => new ScriptNotifier(config, log, { run: runNotifyScript, timers }),
    fifo: (path, log) => NotifyFifo.open(path, log, timers),
    webhooks: (config, log) => (config.global.webhooks.length > 0
      ? new WebhookNotifier({ routerId: config.global.routerId, webhooks: config.global.webhooks, log, timers, random: Math.random })
      : undefined),
    mail: (config, log) => mailNotifierFor(config, log, timers),
  };
}

/** What LbService's caller decides; the adapters are added here. */
export type LbWiring = Omit<LbServiceDeps, 'timers' | 'backend' | 'backendName' | 'runProbe' | 'random' | 'tcpEngine'>;

/** The daemon's parts, built with the real adapters. */
export interface Daemon {
  timers: Timers;
  /** global.backend auto, resolved once against this kernel. */
  hasIpvs: () => boolean;
  /** The VRRP router (src/vrrp/router.ts) on the real network port and the precise advert timer. */
  vrrp(config: Config, log: Logger, events: VrrpRouterEvents, trackers: TrackerSource): VrrpRouter;
  alerts(config: Config, log: Logger): AlertDispatcher;
  trackers(config: Config, log: Logger, onChange: (instance: string) => void): Trackers;
  /** An LB service on the backend `global` asks for. */
  lb(vss: readonly VirtualServerConfig[], global: Config['global'], wiring: LbWiring): LbService;
  statusServer(opts: Omit<StatusServerOptions, 'now'>): StatusServer;
  systemd(log: Logger): SystemdNotifier;
  stateFile(path: string | undefined, snapshot: () => unknown, log: Logger): StateFileWriter;
  /** Reads and validates a config file for a reload (in a worker thread). */
  loadConfig(file: string): Promise<LoadResult>;
  /** The soft open file limit of this process, or null if /proc/self/limits cannot be read. */
  openFileLimit(): number | null;
}

export function composeDaemon(): Daemon {
  const timers = createSystemTimers();
  let loopDelay: LoopDelayMonitor | undefined;
  return {
    timers,
    hasIpvs: hostHasIpvs,
    vrrp: (config, log, events, trackers) => new VrrpRouter(config, {
      net: createVrrpNetwork(() => timers.now()), timers, advertTimer: () => createPreciseTimer(monotonicNow),
      log, events, trackers, keyword: instanceKeyword,
    }),
    alerts: (config, log) => new AlertDispatcher(config, { log, timers, channels: realAlertChannels(timers) }),
    trackers: (config, log, onChange) => new Trackers(config, log, onChange, { runScript: runTrackScript, timers }),
    lb: (vss, global, wiring) => {
      const sel = lbBackendFor(global);
      // TCP_CHECK and plain HTTP_GET on the native check engine's thread, with quiet mode while
      // steady (check/scheduler.ts; every probe goes through runProbe if it cannot be made).
      return new LbService(vss, { ...wiring, timers, backend: sel.backend, backendName: sel.name, runProbe, random: Math.random, tcpEngine: createTcpCheckEngine });
    },
    statusServer: (opts) => {
      // One monitor for the process, started with the first status API: a listener restarted
      // by a reload keeps its figures.
      const monitor = loopDelay ??= startLoopDelayMonitor(() => timers.now());
      return new StatusServer({ ...opts, now: () => timers.now(), loopDelay: monitor.read });
    },
    systemd: (log) => {
      const watchdogUsec = watchdogUsecFromEnv(process.env, process.pid);
      // sd_watchdog_enabled(3) with unset_environment: scripts (children) must not inherit them.
      delete process.env.WATCHDOG_USEC;
      delete process.env.WATCHDOG_PID;
      return createSystemdNotifier(log, nativeSdSend, { timers, watchdogUsec });
    },
    stateFile: (path, snapshot, log) => createStateFileWriter(path, snapshot, log, { timers, write: writeStateFile }),
    loadConfig: (file) => loadConfigFileOffThread(file),
    openFileLimit: () => {
      try {
        return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
      } catch {
        return null;
      }
    },
  };
}
