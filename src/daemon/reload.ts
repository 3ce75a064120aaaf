// Reload (issue 5 §1), on SIGHUP or `tandem reload`: read and validate the file again (in a worker
// thread: loadOffThread.ts says why); if anything is wrong, change nothing (the running config stays, every error is logged and returned); else
// apply the difference (reloadPlan.ts) service by service. All checks that can refuse a reload run
// before the first change, so a reload is applied whole or not at all.
import { formatConfigError, type ConfigIssue } from '../config/errors.js';
import type { BackendIssues } from '../config/lbBackend.js';
import type { LoadResult } from '../config/load.js';
import { locateKey } from '../config/locate.js';
import { isSecretKey, maskUrlCredentials } from '../config/secrets.js';
import type { Config } from '../config/model.js';
import type { ReloadOutcome } from '../api/status.js';
import type { Logger } from '../log.js';
import type { Timers } from '../timers.js';
import type { AlertDispatcher } from '../alert/dispatcher.js';
import type { Trackers } from '../track/trackers.js';
import type { LbService } from '../lb/service.js';
import { describePlan, planReload, restartOnlyChanges, type ReloadPlan } from './reloadPlan.js';
import { VrrpStartError, type VrrpRouter } from '../vrrp/router.js';

export interface ReloadTargets {
  /** The config running now. */
  current(): Config;
  /** Makes `next` the running config (the daemon's snapshot and shutdown read it). */
  commit(next: Config, plan: ReloadPlan): void;
  vrrp: Pick<VrrpRouter, 'checkReconfigure' | 'reconfigure'>;
  trackers: Pick<Trackers, 'reconfigure'>;
  alerts: Pick<AlertDispatcher, 'reconfigure'>;
  /** The running LB service, or undefined when the config had no virtual servers so far. */
  lb(): Pick<LbService, 'reconfigure'> | undefined;
  /** Creates and starts the LB service (the first virtual servers arrive with a reload). */
  startLb(next: Config): void;
  /** The daemon began to stop while the file was being read: do nothing. */
  stopping(): boolean;
  /** What the running LB backend cannot express in `next` (located; `issues` from its load
   *  result, config/lbBackend.ts). */
  backendErrors(next: Config, issues: BackendIssues): ConfigIssue[];
  /** Reads and validates the file: config/loadOffThread.ts in the daemon (daemon/compose.ts). */
  load(file: string): Promise<LoadResult>;
  /** The clock of the durations logged and returned. */
  timers: Pick<Timers, 'now'>;
  log: Logger;
}

export async function reloadConfig(file: string, t: ReloadTargets): Promise<ReloadOutcome> {
  const now = () => t.timers.now();
  const t0 = now();
  const log = t.log;
  // What a refusal says reaches the log, `tandem reload`, the state file and /status.json: config
  // errors come masked from the loader (src/config/secrets.ts); anything else (an exception's
  // message) has URL credentials masked here.
  let warnings: string[] = [];
  const refuse = (texts: string[]): ReloadOutcome => {
    const errors = texts.map(maskUrlCredentials);
    for (const e of errors) log.error(e);
    for (const w of warnings) log.warn(w);
    log.error(`reload refused: ${errors.length} error(s)${warnings.length ? `, ${warnings.length} warning(s)` : ''}; still running the previous config`);
    return { ok: false, file, errors, warnings };
  };
  let loaded: LoadResult;
  try {
    loaded = await t.load(file);
  } catch (e) {
    return refuse([`${file}: cannot load: ${(e as Error).message}`]);
  }
  if (t.stopping()) return { ok: false, file, errors: ['tandem is stopping; not reloading'], warnings: [] };
  const loadMs = now() - t0;
  warnings = loaded.warnings.map(formatConfigError);
  if (!loaded.ok) return refuse(loaded.errors.map(formatConfigError));
  const old = t.current();
  const next = loaded.config;
  const restart = restartOnlyChanges(old, next);
  if (restart.length) {
    return refuse(restart.map((r): string => formatConfigError(locatedOr(file, ['global', r.key], {
      severity: 'error', file, path: `global.${r.key}`,
      message: `${isSecretKey(r.key) ? 'changed' : `changed from ${String(r.from)} to ${String(r.to)}`}: this needs a restart (systemctl restart tandem); nothing was reloaded`,
    }))));
  }
  const unfit = t.backendErrors(next, loaded.backendIssues);
  if (unfit.length) return refuse(unfit.map(formatConfigError));
  const plan = planReload(old, next);
  try {
    t.vrrp.checkReconfigure(next, plan.vrrp);
  } catch (e) {
    if (e instanceof VrrpStartError) return refuse([`${file}: ${e.message}`]);
    throw e;
  }
  const changes = describePlan(plan);
  log.info(`reloading ${file}: ${changes.length ? `${changes.length} change(s)` : 'no changes'}${warnings.length ? `, ${warnings.length} warning(s)` : ''}`);
  for (const w of warnings) log.warn(w);
  for (const c of changes) log.info(`  ${c}`);
  // Trackers first, so the instances' new priorities are computed with the new trackers; alert
  // channels before VRRP, so a removed instance's STOP goes through the new scripts' config.
  t.trackers.reconfigure(next);
  t.alerts.reconfigure(next);
  t.commit(next, plan);
  t.vrrp.reconfigure(next, plan.vrrp);
  const lb = t.lb();
  if (lb) lb.reconfigure(next.virtualServers, plan.lb);
  else if (next.virtualServers.length) t.startLb(next);
  const durationMs = Math.round((now() - t0) * 10) / 10;
  log.info(`reloaded ${file} in ${durationMs} ms (read and validated in a worker: ${Math.round(loadMs)} ms; ` +
    `planned and applied on the main thread: ${Math.round(now() - t0 - loadMs)} ms)`);
  return { ok: true, file, changes, durationMs, warnings };
}

function locatedOr(file: string, path: string[], fallback: ConfigIssue): ConfigIssue {
  const at = locateKey(file, path);
  return at ? { ...fallback, file: at.file, line: at.line, col: at.col } : fallback;
}
