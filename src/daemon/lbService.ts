// Composes the load-balancing part of the daemon: health checks (check/scheduler.ts) feed the
// desired table (lb/desired.ts), and the reconciler (lb/reconciler.ts) keeps the kernel's IPVS
// table equal to it through the ipvsadm backend, restoring drift every delay_loop.
import type { VirtualServerConfig } from '../config/lbModel.js';
import type { Logger } from '../log.js';
import { CheckScheduler, type SchedulerEvent } from '../check/scheduler.js';
import { desiredTable, type ServicePlan } from '../lb/desired.js';
import { IpvsadmBackend, type LbBackend } from '../lb/ipvs/backend.js';
import type { LbTable } from '../lb/model.js';
import { describeOp } from '../lb/reconcile.js';
import { Reconciler } from '../lb/reconciler.js';
import { RateLimitedLog } from '../log.js';
import { monotonicNow } from './preciseTimer.js';

export class LbService {
  private readonly scheduler: CheckScheduler;
  private readonly reconciler: Reconciler;
  private quorum = new Map<string, boolean>();
  private lastPlan: ServicePlan[] = [];
  private readonly serviceOf = new Map<string, string>();
  private readonly errors: RateLimitedLog;
  private passes = 0;
  private lastError: string | null = null;

  constructor(
    private readonly vss: readonly VirtualServerConfig[], private readonly log: Logger,
    private readonly changed: (urgent: boolean) => void, backend: LbBackend = new IpvsadmBackend(),
  ) {
    this.errors = new RateLimitedLog(log, monotonicNow, 30_000);
    for (const vs of vss) for (const rs of vs.realServers) this.serviceOf.set(rs.id, vs.key);
    this.scheduler = new CheckScheduler({ servers: vss.flatMap((vs) => vs.realServers), onEvent: (e) => this.onCheckEvent(e) });
    // Drift is looked for as often as the most frequent checker runs (keepalived: delay_loop).
    const delayLoops = vss.flatMap((vs) => vs.realServers.flatMap((rs) => rs.checks.map((c) => c.delayLoopMs)));
    this.reconciler = new Reconciler({
      backend,
      desired: () => this.desired(),
      intervalMs: Math.max(1000, Math.min(60_000, ...delayLoops)),
      onPass: (r) => {
        this.passes++;
        this.lastError = null;
        for (const op of r.ops) this.log.info(`ipvs: ${describeOp(op)} (${r.cause})`);
        for (const ref of r.result?.refused ?? []) this.log.warn(`ipvs: refused ${describeOp(ref.op)}: ${ref.reason}${ref.message ? ` (${ref.message})` : ''}`);
        if (r.ops.length) this.changed(false);
      },
      onError: (e) => {
        this.lastError = ((e.error as Error)?.message ?? String(e.error)).trim().replace(/\s*\n\s*/g, ' | ');
        this.errors.warn('backend', `ipvs backend failed (${e.failures} in a row, retry in ${e.retryInMs} ms): ${this.lastError}`);
        this.changed(false);
      },
    });
  }

  start(): void {
    const n = this.vss.reduce((s, vs) => s + vs.realServers.length, 0);
    this.log.info(`${this.vss.length} virtual server(s), ${n} real server(s); backend ipvsadm`);
    this.reconciler.start();
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    // Like keepalived's default, the IPVS table is left as it is: traffic keeps flowing while a
    // restarted daemon adopts it.
    this.scheduler.stop();
    await this.reconciler.stop();
  }

  /** From the plan of the last reconcile pass (every health change triggers one), so a state file
   *  write does not recompute the whole table (10-30 ms at 10,000 real servers). */
  snapshot() {
    return {
      backend: { passes: this.passes, last_error: this.lastError },
      virtual_servers: this.lastPlan.map((p) => ({
        key: p.key, quorum_up: p.quorumUp, sorry_active: p.sorryActive, weight_sum: p.weightSum,
        real_servers: Object.fromEntries(p.roles),
      })),
    };
  }

  private desired(): LbTable {
    const r = desiredTable(this.vss, this.scheduler.health(), this.quorum);
    this.quorum = r.quorum;
    this.lastPlan = r.services;
    for (const q of r.quorumChanges) {
      const msg = `${q.service}: quorum ${q.up ? 'gained' : 'lost'} (${q.reason}: live weight ${q.weightSum}, threshold ${q.threshold})`;
      if (q.up) this.log.info(msg); else this.log.warn(msg);
    }
    return r.table;
  }

  private onCheckEvent(e: SchedulerEvent): void {
    if (e.type === 'check_changed') return; // the server-level verdict below is what operators act on
    if (e.type === 'server_changed') {
      const why = e.up ? e.reason : `${e.reason}: check ${e.check}${e.probe ? ` ${e.probe}` : ''}${e.detail ? ` (${e.detail})` : ''}`;
      const line = `real server ${e.server} ${e.up ? 'up' : 'down'} (${why})`;
      if (e.up) this.log.info(line); else this.log.warn(line);
    } else {
      this.log.info(`real server ${e.server} weight ${e.from} -> ${e.to} (${e.reason})`);
    }
    const svc = this.serviceOf.get(e.server);
    this.reconciler.trigger(svc ? [svc] : undefined);
    this.changed(true);
  }
}
