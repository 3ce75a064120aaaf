// `tandem run`: load the config (refuse it whole if invalid), start VRRP, handle signals.
// SIGTERM/SIGINT: graceful stop (priority 0 adverts, VIPs removed), exit 0.
import { hostname } from 'node:os';
import { formatConfigError } from '../config/errors.js';
import { loadConfigFile } from '../config/load.js';
import { createLogger, type Logger } from '../log.js';
import { createStateFileWriter } from './stateFile.js';
import { VrrpService, VrrpStartError } from './vrrpService.js';
import { ipvsBackendFor } from '../lb/ipvs/select.js';
import { LbService } from './lbService.js';
import { VERSION } from '../version.js';

export interface RunOptions {
  configFile: string;
  stateFile?: string | undefined;
  log?: Logger;
}

export async function runDaemon(opts: RunOptions): Promise<number> {
  const log = opts.log ?? createLogger();
  const loaded = loadConfigFile(opts.configFile);
  if (!loaded.ok) {
    for (const e of loaded.errors) log.error(formatConfigError(e));
    log.error(`refusing to start: ${loaded.errors.length} config error(s)`);
    return 2;
  }
  const config = loaded.config;
  const startedAt = new Date().toISOString();
  let service: VrrpService | undefined;
  let lb: LbService | undefined;
  const state = createStateFileWriter(opts.stateFile, () => ({
    pid: process.pid, version: VERSION, router_id: config.global.routerId, hostname: hostname(),
    started_at: startedAt, ...(service?.snapshot() ?? { instances: [], rx: {} }),
    lb: lb?.snapshot() ?? null,
  }), (e) => log.warn(`state file: ${e.message}`));

  service = new VrrpService(config, log, {
    changed: (urgent) => state.changed(urgent),
    transition: () => undefined,
  });
  if (config.virtualServers.length) {
    lb = new LbService(config.virtualServers, log.child('lb'), (urgent) => state.changed(urgent),
      ipvsBackendFor(config.global.ipvsBackend), config.global.ipvsBackend);
  }
  log.info(`tandem ${VERSION} starting: router_id ${config.global.routerId}, ${config.vrrpInstances.length} VRRP instance(s), ` +
    `${config.virtualServers.length} virtual server(s) from ${opts.configFile}`);
  try {
    if (config.vrrpInstances.length) service.start();
  } catch (e) {
    if (e instanceof VrrpStartError) {
      log.error(`cannot start: ${e.message}`);
      service.stop();
      return 1;
    }
    throw e;
  }
  lb?.start();
  state.flush();

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      log.info(`${sig}: stopping (priority 0 adverts, removing VIPs)`);
      // VRRP first: the priority 0 advert must not wait for in-flight health checks.
      service!.stop();
      void (lb?.stop() ?? Promise.resolve()).catch((e: Error) => log.error(`lb stop: ${e.message}`)).finally(() => {
        state.flush();
        state.close();
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        log.info('stopped');
        resolve(0);
      });
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
}
