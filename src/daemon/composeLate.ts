// The second half of the composition root (compose.ts is the first): the real adapters of the parts
// `tandem run` builds once VRRP has started and its first adverts are out (run.ts): the alert
// dispatcher and its channels, the LB service with its probes and table backend, the status API,
// the state file writer and the reload worker. run.ts loads this module, and with it every module
// below it, through Daemon.late() after VRRP's start, so none of them delays the first advert
// (issue 15; docs/architecture.md, "Start-up"). cli.ts `tandem plan`: composePlan().
import type { Config, GlobalConfig } from '../config/model.js';
import { loadConfigFileOffThread } from '../config/loadOffThread.js';
import type { Timers } from '../timers.js';
import { AlertDispatcher, type AlertChannelMakers } from '../alert/dispatcher.js';
import { NotifyFifo } from '../alert/fifo.js';
import { mailNotifierFor } from '../alert/mail.js';
import { runScript as runNotifyScript } from '../process/script.js';
import { ScriptNotifier } from '../alert/scriptNotifier.js';
import { WebhookNotifier } from '../alert/webhook.js';
import { StatusServer } from '../api/statusServer.js';
import { startLoopDelayMonitor, type LoopDelayMonitor } from '../api/loopDelay.js';
import { runProbe } from '../check/probes/index.js';
import { createTcpCheckEngine } from '../net/tcpCheckEngine.js';
import { IpvsadmBackend } from '../lb/ipvs/backend.js';
import { NetlinkIpvsBackend } from '../lb/ipvs/netlinkBackend.js';
import { NftBackend } from '../lb/nft/backend.js';
import { selectBackend, type BackendMakers, type SelectedBackend } from '../lb/select.js';
import { LbService } from '../lb/service.js';
import { planTable } from './plan.js';
import { createStateFileWriter, readOwnedServices, writeStateFile } from './stateFile.js';
import { hostHasIpvs, type LateParts } from './compose.js';

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

/** The late parts on the daemon's timers (compose.ts composeDaemon().late()). */
export function composeLate(timers: Timers): LateParts {
  let loopDelay: LoopDelayMonitor | undefined;
  return {
    alerts: (config, log) => new AlertDispatcher(config, { log, timers, channels: realAlertChannels(timers) }),
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
    stateFile: (path, snapshot, log) => createStateFileWriter(path, snapshot, log, { timers, write: writeStateFile }),
    previouslyOwned: (path, warn) => readOwnedServices(path, warn),
    loadConfig: (file) => loadConfigFileOffThread(file),
  };
}
