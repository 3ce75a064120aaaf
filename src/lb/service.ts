// The load-balancing service: health checks (check/scheduler.ts) feed the
// desired table (lb/desired.ts), and the reconciler (lb/reconciler.ts) keeps the kernel's table
// equal to it through the configured backend (IPVS by generic netlink or ipvsadm, or nftables),
// restoring drift every delay_loop.
//
// A verdict's path to the kernel (docs/architecture.md): CheckScheduler's member (one per real
// server per service, reading its shared checks) emits
// server_changed -> onCheckEvent computes that one service's desired entry once (compute: quorum
// and its hooks, the plan for the status) and triggers the reconciler for it -> the reconciler's
// pass takes the entry computed then (desired(scope)) instead of computing it a second time, diffs
// it against the cached kernel table and applies the ops through the backend.
//
// Every adapter comes in LbServiceDeps, built by daemon/compose.ts; a unit test passes fakes.
import { destKey, groupLabel, type VirtualServerConfig } from '../config/lbModel.js';
import type { AlertEvent } from '../alert/events.js';
import type { Logger } from '../log.js';
import { CHECK_LATENCY_BUCKETS, CheckScheduler, type CheckSchedulerOptions, type SchedulerEvent } from '../check/scheduler.js';
import { desiredTable, type ServicePlan } from './desired.js';
import type { LbBackend } from './backend.js';
import type { LbTable, ServiceEntry } from './model.js';
import { describeOp } from './reconcile.js';
import { Reconciler } from './reconciler.js';
import { RateLimitedLog } from '../log.js';
import type { Timers } from '../timers.js';

/** What a reload changes in the LB part (daemon/reloadPlan.ts planLb() computes it). */
export interface LbPlan {
  /** Real servers whose checker carries on (same id, same checks), by id. */
  keptCheckers: string[];
  /** Same id, different checks: a new checker (and verdict) replaces the old one; each of its
   *  checks equal to one another real server still runs shares that one's verdict (check/merge.ts). */
  restartedCheckers: string[];
  addedServers: string[];
  removedServers: string[];
  /** Real servers whose configured weight differs (kept checkers included). */
  weightChanges: Array<{ id: string; from: number; to: number }>;
  addedServices: string[];
  removedServices: string[];
  /** Services whose own settings (scheduler, persistence, quorum, sorry server ...) or whose real
   *  servers changed: the reconciler's pass covers them. */
  changedServices: string[];
}

/** What the LB service needs from the outside world (daemon/compose.ts builds the real ones). */
export interface LbServiceDeps {
  log: Logger;
  timers: Timers;
  /** The table backend and its name for logs and the API (netlink, ipvsadm, nft). */
  backend: LbBackend;
  backendName: string;
  /** Runs one health probe (check/probes/index.ts runProbe in the daemon). */
  runProbe: CheckSchedulerOptions['runProbe'];
  /** [0, 1): the checkers' warmup jitter (keepalived `warmup`). */
  random: () => number;
  /** Makes the native TCP check engine for tcp_check probes (check/scheduler.ts); absent = all
   *  probes through runProbe. */
  tcpEngine?: CheckSchedulerOptions['tcpEngine'];
  /** The state changed (the state file and the status follow); urgent = write it now. */
  changed(urgent: boolean): void;
  /** Real server up/down and quorum changes, for notify scripts, the FIFO, webhooks, mail. */
  alert(e: AlertEvent): void;
  /** Services a previous run of tandem owned (its state file): removed if no longer configured. */
  initiallyOwned?: readonly string[];
}

/** Drift is looked for as often as the most frequent checker runs (keepalived: delay_loop), at
 *  least every minute and at most every second. */
function driftCheckMs(vss: readonly VirtualServerConfig[]): number {
  let min = 60_000;
  for (const vs of vss) for (const rs of vs.realServers) for (const c of rs.checks) if (c.delayLoopMs < min) min = c.delayLoopMs;
  return Math.max(1000, min);
}

/** Table operations logged one per line in a pass; the rest are summed up in one line. */
const OPS_LOGGED_PER_PASS = 50;

export class LbService {
  private readonly scheduler: CheckScheduler;
  private readonly reconciler: Reconciler;
  private readonly quorum = new Map<string, boolean>();
  /** Each virtual_server_group's first service. keepalived has one virtual_server_t for a group
   *  block (check/check_data.c alloc_vs() with vsgname): one checker per real server and one
   *  quorum, so one notify_up / notify_down / quorum_up / quorum_down per change. tandem's group
   *  services share their checks' verdicts (check/merge.ts) and change together: their real
   *  server and quorum alerts (and log lines) come from the first service only, named for the
   *  group. */
  private readonly groupLead = new Map<string, string>();
  /** Each service's plan from the last pass that covered it (a triggered pass covers only the
   *  services whose health changed). */
  private readonly lastPlan = new Map<string, ServicePlan>();
  /** Each service's desired entry from its last computation. Every health change and every
   *  reload recomputes the services it concerns at once (quorum hooks must not wait for the
   *  backend), so a triggered pass takes these rather than computing them again. */
  private readonly entries = new Map<string, ServiceEntry>();
  /** Service entries computed since start (the one-computation-per-verdict claim's evidence). */
  private computed = 0;
  private readonly vsByKey = new Map<string, VirtualServerConfig>();
  private readonly serviceOf = new Map<string, string>();
  private readonly errors: RateLimitedLog;
  private passes = 0;
  /** The log prefix of table changes: `ipvs` or `nft`. */
  private readonly table: string;
  private lastError: string | null = null;

  private readonly log: Logger;
  private readonly timers: Timers;
  private readonly backend: LbBackend;
  private readonly backendName: string;
  private readonly changed: (urgent: boolean) => void;
  private readonly alert: (e: AlertEvent) => void;

  constructor(private vss: readonly VirtualServerConfig[], deps: LbServiceDeps) {
    const { log, timers, backend, backendName } = deps;
    this.log = log;
    this.timers = timers;
    this.backend = backend;
    this.backendName = backendName;
    this.changed = deps.changed;
    this.alert = deps.alert;
    this.errors = new RateLimitedLog(log, () => timers.now(), 30_000);
    this.table = backendName === 'nft' ? 'nft' : 'ipvs';
    this.index(vss);
    this.scheduler = new CheckScheduler({
      servers: vss.flatMap((vs) => vs.realServers), onEvent: (e) => this.onCheckEvent(e), timers, runProbe: deps.runProbe, random: deps.random,
      ...(deps.tcpEngine ? { tcpEngine: deps.tcpEngine } : {}),
    });
    this.reconciler = new Reconciler({
      backend,
      timers,
      desired: (scope) => this.desired(scope),
      initiallyOwned: deps.initiallyOwned ?? [],
      intervalMs: driftCheckMs(vss),
      onPass: (r) => {
        this.passes++;
        this.lastError = null;
        // One line per op, up to a bound: a start with 10,000 real servers would otherwise write
        // 10,000 lines (and spend the main thread's time on it); the rest are counted by kind.
        for (const op of r.ops.slice(0, OPS_LOGGED_PER_PASS)) this.log.info(`${this.table}: ${describeOp(op)} (${r.cause})`);
        if (r.ops.length > OPS_LOGGED_PER_PASS) {
          const kinds = new Map<string, number>();
          for (const op of r.ops.slice(OPS_LOGGED_PER_PASS)) kinds.set(op.op, (kinds.get(op.op) ?? 0) + 1);
          this.log.info(`${this.table}: ... and ${r.ops.length - OPS_LOGGED_PER_PASS} more (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}) (${r.cause})`);
        }
        for (const ref of r.result?.refused ?? []) this.log.warn(`${this.table}: refused ${describeOp(ref.op)}: ${ref.reason}${ref.message ? ` (${ref.message})` : ''}`);
        if (r.ops.length) this.changed(false);
      },
      onError: (e) => {
        this.lastError = ((e.error as Error)?.message ?? String(e.error)).trim().replace(/\s*\n\s*/g, ' | ');
        this.errors.warn('backend', `${this.table} backend failed (${e.failures} in a row, retry in ${e.retryInMs} ms): ${this.lastError}`);
        this.changed(false);
      },
    });
  }

  private index(vss: readonly VirtualServerConfig[]): void {
    this.vss = vss;
    this.vsByKey.clear();
    this.serviceOf.clear();
    this.groupLead.clear();
    for (const vs of vss) {
      this.vsByKey.set(vs.key, vs);
      if (vs.group !== undefined && !this.groupLead.has(vs.group)) this.groupLead.set(vs.group, vs.key);
      for (const rs of vs.realServers) this.serviceOf.set(rs.id, vs.key);
    }
  }

  /**
   * A reload (daemon/reloadPlan.ts planLb): checkers of real servers whose checks are unchanged
   * keep their verdicts; the reconciler's next pass covers only the services that changed or went
   * away, against the table it already knows, so an unchanged entry is not touched and one changed
   * weight is one kernel operation. A removed service is deleted from the kernel (tandem owns it).
   */
  reconfigure(vss: readonly VirtualServerConfig[], plan: LbPlan): void {
    this.index(vss);
    const checkers = this.scheduler.reconfigure(vss.flatMap((vs) => vs.realServers));
    this.reconciler.setIntervalMs(driftCheckMs(vss));
    for (const k of [...this.quorum.keys()]) if (!this.vsByKey.has(k)) this.quorum.delete(k);
    for (const k of [...this.lastPlan.keys()]) if (!this.vsByKey.has(k)) this.lastPlan.delete(k);
    for (const k of [...this.entries.keys()]) if (!this.vsByKey.has(k)) this.entries.delete(k);
    this.log.info(`reload: ${vss.length} virtual server(s); checkers kept ${checkers.kept.length}, started ${checkers.started.length}, stopped ${checkers.stopped.length} (distinct checks kept ${checkers.checks.kept}, started ${checkers.checks.started}, stopped ${checkers.checks.stopped})`);
    const scope = [...plan.addedServices, ...plan.removedServices, ...plan.changedServices];
    if (scope.length) {
      // Quorum (and its hooks) first, as for a verdict; then one pass over those services.
      const live = scope.filter((k) => this.vsByKey.has(k));
      if (live.length) this.compute(live.flatMap((k) => this.vsByKey.get(k) ?? []));
      this.reconciler.trigger(scope);
    }
    this.changed(true);
  }

  start(): void {
    const n = this.vss.reduce((s, vs) => s + vs.realServers.length, 0);
    this.log.info(`${this.vss.length} virtual server(s), ${n} real server(s); ${this.backendName === 'nft' ? 'nftables backend (table ip/ip6 tandem)' : `ipvs backend ${this.backendName}`}`);
    this.reconciler.start();
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    // Like keepalived's default, the IPVS table is left as it is: traffic keeps flowing while a
    // restarted daemon adopts it.
    this.scheduler.close();
    await this.reconciler.stop();
    this.backend.close?.();
  }

  /** From the plan of the last reconcile pass (every health change triggers one), so a state file
   *  write does not recompute the whole table (10-30 ms at 10,000 real servers). */
  snapshot() {
    const health = this.scheduler.health();
    return {
      backend: { kind: this.backendName, passes: this.passes, last_error: this.lastError },
      // What tandem created or configures in the kernel's table: a restart reads it back from the
      // state file, so a service dropped from the config while tandem was down is still removed.
      owned: [...this.reconciler.ownedServices()].sort(),
      virtual_servers: this.vss.flatMap((vs) => this.lastPlan.get(vs.key) ?? []).map((p) => ({
        key: p.key,
        ...(this.vsByKey.get(p.key)?.group !== undefined ? { group: this.vsByKey.get(p.key)!.group! } : {}),
        quorum_up: p.quorumUp, sorry_active: p.sorryActive, weight_sum: p.weightSum,
        real_servers: Object.fromEntries(p.roles),
        // Each real server's weight now (a checker may change it: MISC_CHECK's misc_dynamic).
        weights: Object.fromEntries((this.vsByKey.get(p.key)?.realServers ?? []).map((rs) => [destKey(rs.dest), health.get(rs.id)?.weight ?? rs.dest.weight])),
        // Each real server's checks' last probes: what failed, how, how long it took, when.
        last_checks: Object.fromEntries((this.vsByKey.get(p.key)?.realServers ?? []).map((rs) => [destKey(rs.dest),
          this.scheduler.lastChecks(rs.id).map((c) => (c === null ? null : {
            kind: c.kind, ok: c.ok, reason: c.reason, detail: c.detail,
            latency_ms: Math.round(c.latencyMs * 1000) / 1000, at: new Date(c.at).toISOString(),
          }))])),
      })),
      check_latency: Object.fromEntries([...this.scheduler.latencyHistograms()].map(([kind, h]) =>
        [kind, { le: [...CHECK_LATENCY_BUCKETS], counts: [...h.counts], sum: h.sum, count: h.count }])),
      check_merge: ((m) => ({
        distinct_checks: m.sharedChecks, real_servers: m.members, named_checks: m.memberChecks, probes: m.probes, quiet: m.quiet,
        ...(m.engine ? { engine: m.engine } : {}),
      }))(this.scheduler.mergeStats()),
    };
  }

  /** Service entries computed so far (each verdict computes its service's once). */
  get servicesComputed(): number { return this.computed; }

  /** The reconciler's desired table. A full pass (no scope: start, the delay_loop drift check, a
   *  retry) computes every service again. A triggered pass names the services whose health or
   *  config changed; those were computed when the change came in (onCheckEvent, reconfigure), so
   *  their entries are taken as they are; only a service never computed yet is computed here. A
   *  verdict's pass thus covers its own service (100 real servers), not all 10,000, once. */
  private desired(scope?: ReadonlySet<string>): LbTable {
    if (!scope) return this.compute(this.vss);
    const missing = [...scope].filter((k) => !this.entries.has(k)).flatMap((k) => this.vsByKey.get(k) ?? []);
    if (missing.length) this.compute(missing);
    const out = new Map<string, ServiceEntry>();
    for (const k of scope) {
      const e = this.entries.get(k);
      if (e && this.vsByKey.has(k)) out.set(k, e);
    }
    return out;
  }

  /** Computes `vss`' desired entries from the health now (lb/desired.ts), keeps them, and acts on
   *  quorum changes (log, quorum_up / quorum_down hooks). */
  private compute(vss: readonly VirtualServerConfig[]): LbTable {
    const r = desiredTable(vss, this.scheduler.health(), this.quorum);
    this.computed += vss.length;
    for (const [k, up] of r.quorum) this.quorum.set(k, up);
    for (const [k, e] of r.table) this.entries.set(k, e);
    for (const p of r.services) this.lastPlan.set(p.key, p);
    for (const q of r.quorumChanges) {
      const vs = this.vsByKey.get(q.service);
      if (vs && !this.speaksFor(vs)) continue;
      const msg = `${vs ? this.alertName(vs) : q.service}: quorum ${q.up ? 'gained' : 'lost'} (${q.reason}: live weight ${q.weightSum}, threshold ${q.threshold})`;
      if (q.up) this.log.info(msg); else this.log.warn(msg);
      // keepalived runs quorum_up / quorum_down on changes, not for a service that starts without
      // quorum (set_quorum_states() at start is silent).
      if (vs && q.reason !== 'starting_down') {
        this.alert({ type: 'quorum', virtualServer: this.alertName(vs), service: vs.service.id, up: q.up, reason: q.reason, time: this.timers.wallNow() });
      }
    }
    return r.table;
  }

  /** Whether this service's alerts are raised (every service but a group's second and later). */
  private speaksFor(vs: VirtualServerConfig): boolean {
    return vs.group === undefined || this.groupLead.get(vs.group) === vs.key;
  }

  /** What alerts and logs call the service: its key, or for a group keepalived's `[NAME]`. */
  private alertName(vs: VirtualServerConfig): string {
    return vs.group === undefined ? vs.key : groupLabel(vs.group);
  }

  private onCheckEvent(e: SchedulerEvent): void {
    if (e.type === 'check_changed') return; // the server-level verdict below is what operators act on
    if (e.type === 'server_changed') {
      const vs = this.vsByKey.get(this.serviceOf.get(e.server) ?? '');
      const rs = vs?.realServers.find((x) => x.id === e.server);
      if (!vs || this.speaksFor(vs)) {
        const why = e.up ? e.reason : `${e.reason}: check ${e.check}${e.probe ? ` ${e.probe}` : ''}${e.detail ? ` (${e.detail})` : ''}`;
        const line = `real server ${vs?.group !== undefined && rs ? `${this.alertName(vs)} -> ${destKey(rs.dest)}` : e.server} ${e.up ? 'up' : 'down'} (${why})`;
        if (e.up) this.log.info(line); else this.log.warn(line);
      }
      if (vs && rs && this.speaksFor(vs)) {
        this.alert({
          type: 'real_server', virtualServer: this.alertName(vs), realServer: rs.id, service: vs.service.id,
          dest: { address: rs.dest.address, port: rs.dest.port }, up: e.up, reason: e.up ? e.reason : (e.probe ?? e.reason), time: this.timers.wallNow(),
        });
      }
    } else {
      this.log.info(`real server ${e.server} weight ${e.from} -> ${e.to} (${e.reason})`);
    }
    const svc = this.serviceOf.get(e.server);
    // Quorum is decided here, not only in the reconciler's pass: its hooks (quorum_up/down) must
    // not wait for a backend that is failing and backing off. The pass takes the entry computed
    // here (desired()): one computation per verdict.
    const vs = svc === undefined ? undefined : this.vsByKey.get(svc);
    if (vs) this.compute([vs]);
    this.reconciler.trigger(svc ? [svc] : undefined);
    this.changed(true);
  }
}
