// The level-triggered loop (DESIGN.md principle 5): compute the desired table, compare it with
// the kernel's, reconcile() the owned part, apply the diff in one batch. Passes run:
// - on trigger() (a health, quorum or config change), coalesced: many calls in one turn, or while
//   a pass runs, make one more pass;
// - every intervalMs (delay_loop), reading the kernel's table back, which undoes any drift made by
//   hand (an entry added, removed or re-weighted) within one interval.
// A triggered pass diffs against the table as it was after the last successful pass (the last
// read plus the ops the kernel accepted) instead of reading it again: with 10,000 real servers a
// read is a process start plus 10,000 lines to parse (~0.1 s on the host, ~2-4 s under QEMU TCG),
// and a verdict should reach the kernel in milliseconds. The cache is dropped whenever it could be
// wrong (a refused op, a backend error), so the next pass reads. A trigger may name the services
// it concerns; a pass made only of such triggers diffs only those services (a full desired table
// and diff of 10,000 servers cost ~10-30 ms here, one service of 100 well under 1 ms). A failing backend is retried
// with exponential backoff (bounded), reported through onError, and never throws out of here.
import { serviceKey } from '../config/lbModel.js';
import type { LbTable, ServiceEntry } from './model.js';
import { applyOps, reconcile, type TableOp } from './reconcile.js';
import type { ApplyResult, LbBackend } from './backend.js';
import type { TimerHandle, Timers } from '../timers.js';

export type PassCause = 'start' | 'trigger' | 'interval' | 'retry' | 'manual';

export interface PassReport {
  cause: PassCause;
  /** true when the kernel's table was read for this pass, false when the cached one was used. */
  read: boolean;
  ops: TableOp[];
  /** null when there was nothing to apply. */
  result: ApplyResult | null;
  readMs: number;
  totalMs: number;
}

export interface ReconcilerError {
  error: unknown;
  /** Failed passes in a row. */
  failures: number;
  retryInMs: number;
}

export interface ReconcilerOptions {
  backend: LbBackend;
  /** The pass and retry timers and the clock of readMs / totalMs (src/timers.ts). */
  timers: Timers;
  /** The desired table now (desiredTable(config, health, quorum).table). With `scope`, only
   *  those services are needed (more may be returned; they are ignored). */
  desired(scope?: ReadonlySet<string>): LbTable;
  /** Service keys tandem owned before this process (e.g. from a state file). Every desired
   *  service is owned as well, and so is every service this reconciler created. */
  initiallyOwned?: Iterable<string>;
  /** The drift check period (delay_loop), ms. */
  intervalMs: number;
  /** First retry delay after a backend failure; doubles up to maxBackoffMs. Defaults 100 / 10,000. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  onPass?(r: PassReport): void;
  onError?(e: ReconcilerError): void;
}

export class Reconciler {
  private readonly owned: Set<string>;
  private timer: TimerHandle | undefined;
  private running = false;
  private passing: Promise<unknown> | null = null;
  /** A pass was asked for (trigger) and has not started yet. */
  private dirty = false;
  /** What the pending pass must cover: every service, or only these (trigger(services)). */
  private pendingAll = false;
  private readonly pendingKeys = new Set<string>();
  private failures = 0;
  /** The drift check period now (a reload may change the delay_loops it comes from). */
  private intervalMs: number;
  /** The kernel's table after the last successful pass; null = read it next time. */
  private known: LbTable | null = null;
  private lastError: unknown;

  constructor(private readonly opts: ReconcilerOptions) {
    this.owned = new Set(opts.initiallyOwned ?? []);
    this.intervalMs = opts.intervalMs;
  }

  /** A new drift check period, from the next pass on. */
  setIntervalMs(ms: number): void {
    this.intervalMs = ms;
  }

  /** Services tandem is responsible for now. */
  ownedServices(): ReadonlySet<string> { return this.owned; }

  /** Begins the loop with a pass at once (which reads the kernel's table). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.dirty = true;
    this.pendingAll = true;
    this.schedule(0);
  }

  /** Stops the loop; resolves when a pass in progress has finished. */
  async stop(): Promise<void> {
    this.running = false;
    this.cancelTimer();
    while (this.passing) await this.passing;
  }

  /** Something changed (health, quorum, config): make a pass soon, coalesced. `services` (service
   *  keys) limits the pass to those services; without it the pass covers all. While the backend
   *  is failing the pass waits for the backoff timer, so a burst of health changes cannot hammer
   *  a broken backend. */
  trigger(services?: Iterable<string>): void {
    if (!this.running) return;
    this.dirty = true;
    if (services === undefined) this.pendingAll = true;
    else for (const k of services) this.pendingKeys.add(k);
    if (this.passing || this.failures > 0) return;
    this.schedule(0);
  }

  /** One pass now, reading the kernel's table (tests, a reload). Never throws: a backend failure
   *  comes back as { error }. */
  async passNow(): Promise<PassReport | { error: unknown }> {
    while (this.passing) await this.passing;
    const p = this.pass('manual', true, null);
    this.passing = p;
    const r = await p;
    this.passing = null;
    return r ?? { error: this.lastError };
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.cancelTimer();
    const run = () => {
      this.timer = undefined;
      void this.loop();
    };
    // A pass asked for now runs on the next turn of the loop: setTimeout(0) would wait >= 1 ms,
    // a fifth of the 5 ms budget from a verdict to the kernel.
    const t = this.opts.timers;
    this.timer = ms === 0 ? t.setImmediate(run) : t.setTimeout(run, ms);
  }

  private cancelTimer(): void {
    this.opts.timers.clear(this.timer);
    this.timer = undefined;
  }

  private async loop(): Promise<void> {
    if (!this.running) return;
    if (this.passing) {
      // A passNow() is running: go on after it rather than run two passes at once.
      void this.passing.then(() => this.loop());
      return;
    }
    const cause: PassCause = this.failures > 0 ? 'retry' : this.known === null && this.dirty ? 'start' : this.dirty ? 'trigger' : 'interval';
    // Only a triggered pass may use the cached table; the periodic one reads, to find drift.
    const read = cause !== 'trigger';
    const scope = cause === 'trigger' && !this.pendingAll ? new Set(this.pendingKeys) : null;
    this.dirty = false;
    this.pendingAll = false;
    this.pendingKeys.clear();
    const p = this.pass(cause, read, scope);
    this.passing = p;
    const report = await p;
    this.passing = null;
    if (!this.running) return;
    if (report) {
      this.failures = 0;
      this.schedule(this.dirty ? 0 : this.intervalMs);
      return;
    }
    this.failures++;
    const base = this.opts.initialBackoffMs ?? 100;
    const max = this.opts.maxBackoffMs ?? 10_000;
    const retryInMs = Math.min(base * 2 ** Math.min(this.failures - 1, 30), max);
    this.dirty = true;
    this.pendingAll = true;
    const err: ReconcilerError = { error: this.lastError, failures: this.failures, retryInMs };
    this.report(() => this.opts.onError?.(err));
    this.schedule(retryInMs);
  }

  /** Returns null when the backend (or the desired() callback) failed; the error is in lastError. */
  private async pass(cause: PassCause, mustRead: boolean, scope: ReadonlySet<string> | null): Promise<PassReport | null> {
    const t0 = this.opts.timers.now();
    try {
      // A scoped pass needs the cache (it does not read); without one it covers everything.
      if (mustRead || this.known === null) scope = null;
      const desired = pick(this.opts.desired(scope ?? undefined), scope);
      for (const k of desired.keys()) this.owned.add(k);
      const read = mustRead || this.known === null;
      const whole = read ? await this.opts.backend.readTable() : this.known!;
      const actual = pick(whole, scope);
      if (this.opts.backend.ownsWholeTable) for (const k of actual.keys()) this.owned.add(k);
      const readMs = this.opts.timers.now() - t0;
      this.known = null;
      const ops = reconcile(desired, actual, this.owned);
      const result = ops.length > 0 ? await this.opts.backend.apply(ops) : null;
      const refused = new Set(result?.refused.map((r) => r.op) ?? []);
      // A deleted service is no longer tandem's (unless it is desired again later).
      for (const op of ops) if (op.op === 'delete_service' && !refused.has(op)) this.owned.delete(serviceKey(op.service.id));
      // Refused ops leave the kernel in a state we did not predict: read it next time. They are
      // tried again at the next interval, not at once, so an entry the kernel always refuses (a
      // scheduler it lacks) cannot make a busy loop.
      if (refused.size === 0) {
        try { this.known = merge(whole, applyOps(actual, ops), scope); } catch { this.known = null; }
      }
      const report: PassReport = { cause, read, ops, result, readMs, totalMs: this.opts.timers.now() - t0 };
      this.report(() => this.opts.onPass?.(report));
      return report;
    } catch (e) {
      this.known = null;
      this.lastError = e;
      return null;
    }
  }

  private report(f: () => void): void {
    try { f(); } catch { /* a listener's fault must not stop the loop */ }
  }
}

/** The entries of `table` whose keys are in `scope` (all of it when scope is null). */
function pick(table: LbTable, scope: ReadonlySet<string> | null): LbTable {
  if (scope === null) return table;
  const out = new Map<string, ServiceEntry>();
  for (const k of scope) {
    const e = table.get(k);
    if (e) out.set(k, e);
  }
  return out;
}

/** `whole` with the services in `scope` replaced by `part`'s (`part` itself when scope is null).
 *  A scoped pass's `whole` is the reconciler's own cache (nothing else holds it), so it is updated
 *  in place: a verdict's pass costs O(its service), not a copy of all 10,000 cached services. */
function merge(whole: LbTable, part: LbTable, scope: ReadonlySet<string> | null): LbTable {
  if (scope === null) return part;
  const out = whole as Map<string, ServiceEntry>;
  for (const k of scope) {
    const e = part.get(k);
    if (e) out.set(k, e); else out.delete(k);
  }
  return out;
}
