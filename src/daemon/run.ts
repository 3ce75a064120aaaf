// `tandem run`: load the config (refuse it whole if invalid), start trackers, VRRP, checkers and
// alert hooks, handle signals. SIGTERM/SIGINT: graceful stop (priority 0 adverts, VIPs removed,
// STOP notifications given a few seconds to run), exit 0. SIGHUP or `tandem reload` (POST /reload
// on the status socket): reload the file, applying only the difference (reload.ts).
// Every real adapter comes from the composition root (compose.ts), passed in by cli.ts; a unit test
// (test/unit/run.test.ts) passes fakes and a manual clock.
import { hostname } from 'node:os';
import { formatConfigError } from '../config/errors.js';
import { loadConfigFile } from '../config/load.js';
import { createLogger, heldStdout, LOG_HOLD_MS, type Logger } from '../log.js';
import { VrrpStartError, type VrrpRouter } from '../vrrp/router.js';
import { hasStatics, staticsOf } from '../vrrp/statics.js';
import { resolveBackendKind } from '../lb/select.js';
import { backendConfigErrors, type BackendIssues } from '../config/lbBackend.js';
import type { LbService } from '../lb/service.js';
import { VERSION } from '../version.js';
import type { AlertEvent, NotifyState } from '../alert/events.js';
import type { AlertDispatcher } from '../alert/dispatcher.js';
import { vrrpStatusLine } from './sdNotify.js';
import type { Daemon, LateParts } from './compose.js';
import type { StateFileWriter } from './stateFile.js';
import { connectionCaps, newListenerStats } from '../api/listenerLimits.js';
import type { DaemonStatus, ReloadOutcome, StatusConfig } from '../api/status.js';
import { reloadConfig } from './reload.js';

/** Where the stop and reload signals come from: the process in production, an emitter in a
 *  unit test. */
export interface SignalSource {
  on(signal: 'SIGTERM' | 'SIGINT' | 'SIGHUP', fn: () => void): unknown;
  off(signal: 'SIGTERM' | 'SIGINT' | 'SIGHUP', fn: () => void): unknown;
}

export interface RunOptions {
  configFile: string;
  stateFile?: string | undefined;
  log?: Logger;
  /** The daemon's parts with their adapters: compose.ts composeDaemon() (cli.ts), fakes in a test. */
  parts: Daemon;
  /** The process (cli.ts), or an emitter in a test. */
  signals: SignalSource;
}

export async function runDaemon(opts: RunOptions): Promise<number> {
  // The daemon's own log (a test passes its own) is held in memory until the first adverts are
  // out (log.ts heldStdout: building process.stdout is 4.4 ms), LOG_HOLD_MS at most, and on any
  // way out of here.
  if (opts.log) return runDaemonWith(opts, opts.log, () => undefined);
  const held = heldStdout();
  const timer = opts.parts.timers.setTimeout(() => held.release(), LOG_HOLD_MS);
  const release = () => { opts.parts.timers.clear(timer); held.release(); };
  try {
    return await runDaemonWith(opts, createLogger({ write: held.write }), release);
  } finally {
    release();
  }
}

async function runDaemonWith(opts: RunOptions, log: Logger, releaseLog: () => void): Promise<number> {
  const loaded = loadConfigFile(opts.configFile);
  // Warnings (config/errors.ts): the config runs as keepalived would run it; each is logged once
  // here and kept in the status (config.warnings).
  for (const w of loaded.warnings) log.warn(formatConfigError(w));
  if (!loaded.ok) {
    for (const e of loaded.errors) log.error(formatConfigError(e));
    log.error(`refusing to start: ${loaded.errors.length} config error(s)`);
    return 2;
  }
  let config = loaded.config;
  // global.backend auto: the kernel decides, once; what that backend cannot express is fatal here
  // and refuses a reload (src/config/lbBackend.ts).
  const { parts, signals } = opts;
  const timers = parts.timers;
  const backendKind = resolveBackendKind(config.global, parts.hasIpvs);
  const unfit = (c: typeof config, backendIssues: BackendIssues) =>
    (c.virtualServers.length ? backendConfigErrors({ backendIssues }, backendKind) : []);
  const unfitAtStart = unfit(config, loaded.backendIssues);
  if (unfitAtStart.length) {
    for (const e of unfitAtStart) log.error(formatConfigError(e));
    log.error(`refusing to start: ${unfitAtStart.length} config error(s) for the ${backendKind} backend (global.backend: ${config.global.backend})`);
    return 2;
  }
  const startedAt = new Date(timers.wallNow()).toISOString();
  const configStatus: StatusConfig = {
    file: opts.configFile, loaded_at: startedAt, warnings: loaded.warnings.map(formatConfigError), reloads: { ok: 0, refused: 0 }, last_reload: null,
  };
  // Start order (issue 15 §3): what the first advert needs is built and started first (systemd,
  // the trackers VRRP waits for, the VRRP router); the late parts (alerts, the state file, the LB
  // service with its checkers, the status API) and their modules come after (parts.late(),
  // composeLate.ts). keepalived too starts its VRRP child without waiting for the checker child
  // (keepalived/core/main.c start_keepalived(): start_vrrp_child() and start_check_child() are
  // separate processes).
  let service: VrrpRouter | undefined;
  let lb: LbService | undefined;
  let alerts: AlertDispatcher | undefined;
  let state: StateFileWriter | undefined;
  // Alerts raised before the dispatcher exists (the transitions of VRRP's start) wait here and are
  // handed to it in the order they were raised, once, when it is built.
  const earlyAlerts: AlertEvent[] = [];
  const alert = (e: AlertEvent) => { if (alerts) alerts.handle(e); else earlyAlerts.push(e); };
  const systemd = parts.systemd(log.child('systemd'));
  const trackers = parts.trackers(config, log, (name) => service?.trackerChanged(name));
  service = parts.vrrp(config, log, {
    changed: (urgent) => { state?.changed(urgent); if (urgent) systemd.status(() => vrrpStatusLine(service!.snapshot().instances)); },
    transition: (name, from, to, reason, priority) => {
      // keepalived's notify states; a stop (-> INIT) is notify_stop / STOP.
      const s: NotifyState | null = to === 'INIT' ? (reason === 'shutdown' ? 'STOP' : null) : to;
      if (s) alert({ type: 'vrrp_instance', instance: name, state: s, previous: from, priority, reason, time: timers.wallNow() });
    },
    groupTransition: (name, from, to, reason) => {
      alert({ type: 'vrrp_group', group: name, state: to, previous: from, reason, time: timers.wallNow() });
    },
  }, trackers);
  log.info(`tandem ${VERSION} starting: router_id ${config.global.routerId}, ${config.vrrpInstances.length} VRRP instance(s), ` +
    `${config.virtualServers.length} virtual server(s) from ${opts.configFile}`);
  trackers.start();
  // keepalived holds an instance whose script has not reported yet; starting after the first
  // results avoids a FAULT at startup that only means "not run yet" (bounded wait).
  await trackers.ready(10_000);
  /** The alert dispatcher, started, with the alerts raised so far handed to it in order. */
  const startAlerts = (late: LateParts) => {
    const a = late.alerts(config, log.child('alert'));
    a.start();
    alerts = a;
    for (const e of earlyAlerts.splice(0)) a.handle(e);
    return a;
  };
  try {
    if (config.vrrpInstances.length || hasStatics(staticsOf(config.global))) service.start();
  } catch (e) {
    if (e instanceof VrrpStartError) {
      log.error(`cannot start: ${e.message}`);
      service.stop();
      trackers.stop();
      // The notifications of what did start and stop are given to the dispatcher as before, which
      // stops at once (no grace).
      await startAlerts(await parts.late()).stop(0);
      return 1;
    }
    throw e;
  }
  releaseLog();

  // The first adverts and gratuitous ARPs are out (a MASTER sends them in start()); now the rest.
  // From here on a SIGTERM/SIGINT must end in the graceful stop (priority 0 adverts, VIPs removed),
  // not in Node's default exit: one that comes while the late parts are built is held, and acted
  // on as soon as they are up.
  let heldStop: 'SIGTERM' | 'SIGINT' | undefined;
  const holdTerm = () => { heldStop ??= 'SIGTERM'; };
  const holdInt = () => { heldStop ??= 'SIGINT'; };
  signals.on('SIGTERM', holdTerm);
  signals.on('SIGINT', holdInt);
  const late = await parts.late();
  const started = startAlerts(late);
  // The status API's connection caps come out of the open file limit (listenerLimits.ts), so that
  // no flood of connections can take the descriptors VRRP, checks, scripts, the state file and a
  // reload need. Read once: Node has raised the soft limit to the hard one by now.
  const openFileLimit = parts.openFileLimit();
  const caps = connectionCaps(openFileLimit);
  const apiStats = { unix: newListenerStats(caps.unix), tcp: newListenerStats(caps.tcp) };
  log.info(`open file limit ${openFileLimit ?? 'unknown (1024 assumed)'}: status socket up to ${caps.unix} connection(s), ` +
    `metrics listener up to ${caps.tcp}`);
  // One snapshot for the state file and the status API (src/api/status.ts declares its shape).
  const snapshot = (): DaemonStatus => ({
    pid: process.pid, version: VERSION, router_id: config.global.routerId, hostname: hostname(),
    started_at: startedAt, config: configStatus, ...(service?.snapshot() ?? { instances: [], rx: { accepted: 0, drops: {} } }),
    lb: lb?.snapshot() ?? null,
    trackers: trackers.snapshot(),
    alerts: started.snapshot(),
    api: { open_file_limit: openFileLimit, unix: apiStats.unix, tcp: config.global.metricsListen ? apiStats.tcp : null },
  });
  const stateFile = late.stateFile(opts.stateFile, snapshot, log);
  state = stateFile;
  // Reloads run one at a time (a SIGHUP during a `tandem reload` waits for it).
  let reloads: Promise<unknown> = Promise.resolve();
  let stopping = false;
  const reload = (via: string): Promise<ReloadOutcome> => {
    const r = reloads.then(async (): Promise<ReloadOutcome> => {
      if (stopping) return { ok: false, file: opts.configFile, errors: ['tandem is stopping; not reloading'], warnings: [] };
      log.info(`${via}: reloading ${opts.configFile}`);
      systemd.reloading(`reloading ${opts.configFile}`);
      let listenersChanged = false;
      try {
        const o = await reloadConfig(opts.configFile, {
          current: () => config,
          commit: (next, plan) => { config = next; listenersChanged = plan.statusApiChanged; },
          vrrp: service!, trackers, alerts: started, lb: () => lb, startLb, backendErrors: unfit, stopping: () => stopping,
          load: late.loadConfig, timers, log: log.child('reload'),
        });
        const at = new Date(timers.wallNow()).toISOString();
        configStatus.last_reload = { at, ok: o.ok, changes: o.ok ? o.changes : [], errors: o.ok ? [] : o.errors, warnings: o.warnings };
        if (o.ok) { configStatus.reloads.ok++; configStatus.loaded_at = at; configStatus.warnings = o.warnings; } else configStatus.reloads.refused++;
        return o;
      } finally {
        systemd.ready(vrrpStatusLine(service!.snapshot().instances));
        // Written before the answer: when `tandem reload` returns, the state file shows its outcome.
        await stateFile.flush();
        if (listenersChanged) {
          // After the answer to `tandem reload` has left through the old socket.
          timers.setTimeout(() => void restartStatusApi(), 100);
        }
      }
    });
    reloads = r.catch(() => undefined);
    return r;
  };
  const newStatusApi = () => late.statusServer({
    socketPath: config.global.statusSocket, metricsListen: config.global.metricsListen, snapshot, log: log.child('api'),
    reload: () => reload('tandem reload'),
    maxConnections: caps, stats: apiStats,
  });
  let statusApi = newStatusApi();
  const restartStatusApi = async () => {
    if (stopping) return;
    await statusApi.stop();
    statusApi = newStatusApi();
    await statusApi.start();
  };

  // The table entries the previous run owned (its state file), before this run overwrites it.
  const previouslyOwned = late.previouslyOwned(opts.stateFile, (m) => log.warn(m));
  if (previouslyOwned.length) log.info(`${previouslyOwned.length} virtual service(s) owned by the previous run (${opts.stateFile}): removed if no longer configured`);
  const newLb = (c: typeof config) => late.lb(c.virtualServers, c.global, {
    log: log.child('lb'), changed: (urgent) => stateFile.changed(urgent), alert: (e) => started.handle(e), initiallyOwned: previouslyOwned,
  });
  // The first virtual servers may come with a reload: created then.
  const startLb = (c: typeof config) => { lb = newLb(c); lb.start(); };
  // With no virtual servers but services left from the previous run, the LB service still runs:
  // its first pass removes them.
  if (config.virtualServers.length || previouslyOwned.length) startLb(config);
  await stateFile.flush();
  // After VRRP has started, and never fatal: a socket that cannot be bound is logged (statusServer.ts).
  await statusApi.start();
  // Type=notify: sockets open, instances started, every late part up, state file written.
  systemd.ready(vrrpStatusLine(service.snapshot().instances));
  // WATCHDOG=1 from this loop, the one the VRRP machines run on (sdNotify.ts), until the stop ends.
  const watchdog = systemd.watchdog();

  return await new Promise<number>((resolve) => {
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      systemd.stopping('stopping: priority 0 adverts, removing VIPs');
      log.info(`${sig}: stopping (priority 0 adverts, removing VIPs)`);
      // VRRP first: the priority 0 advert must not wait for in-flight health checks.
      service!.stop();
      // keepalived notify_shutdown(): every instance (above, through its transition), then every
      // sync group, gets STOP.
      for (const g of config.vrrpSyncGroups) {
        started.handle({ type: 'vrrp_group', group: g.name, state: 'STOP', previous: null, reason: 'shutdown', time: timers.wallNow() });
      }
      trackers.stop();
      void Promise.all([
        statusApi.stop().catch((e: Error) => log.error(`status API stop: ${e.message}`)),
        (lb?.stop() ?? Promise.resolve()).catch((e: Error) => log.error(`lb stop: ${e.message}`)),
        started.stop().catch((e: Error) => log.error(`alert stop: ${e.message}`)),
      ]).then(() => stateFile.flush()).finally(() => {
        stateFile.close();
        watchdog.stop();
        signals.off('SIGTERM', onTerm);
        signals.off('SIGINT', onInt);
        signals.off('SIGHUP', onHup);
        log.info('stopped');
        resolve(0);
      });
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    signals.on('SIGTERM', onTerm);
    signals.on('SIGINT', onInt);
    // `systemctl reload` (ExecReload) sends SIGHUP. The outcome is logged by reload.ts.
    const onHup = () => { void reload('SIGHUP'); };
    signals.on('SIGHUP', onHup);
    signals.off('SIGTERM', holdTerm);
    signals.off('SIGINT', holdInt);
    if (heldStop) stop(heldStop);
  });
}
