// The reconcile loop (src/lb/reconciler.ts) against an in-memory backend that behaves like the
// kernel (reconcile.ts applyOps, with its refusals) and can be made to fail: adoption and foreign
// services at start, coalesced triggers diffed against the cached table, drift undone by the
// periodic pass, bounded exponential backoff on backend failure, and no throw ever. The clock is
// manual (test/lib/manualTimers.ts): intervals and backoffs are exact, and nothing sleeps.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Reconciler, type PassReport, type ReconcilerError } from '../../src/lb/reconciler.js';
import type { ApplyResult, LbBackend, RefusedOp } from '../../src/lb/backend.js';
import { destKey, type RealServer, type VirtualService } from '../../src/config/lbModel.js';
import { type LbTable, type ServiceEntry, tableOf } from '../../src/lb/model.js';
import { applyOps, TableOpError, type TableOp } from '../../src/lb/reconcile.js';
import { ManualTimers } from '../lib/manualTimers.js';

const svc = (address: string): VirtualService =>
  ({ id: { kind: 'inet', family: 4, protocol: 'TCP', address, port: 80 }, scheduler: 'rr', persistence: null, pe: null, ops: false, schedFlags: [] });
const rs = (n: number, weight = 1): RealServer => ({ family: 4, address: `198.51.100.${n}`, port: 80, forwarding: 'NAT', weight, tunnel: null });
const OWN = svc('192.0.2.10');
const FOREIGN = svc('203.0.113.50');

class MemoryBackend implements LbBackend {
  table: LbTable = new Map();
  reads = 0;
  batches: TableOp[][] = [];
  failNext = 0;
  async readTable(): Promise<LbTable> {
    await Promise.resolve();
    if (this.failNext > 0) { this.failNext--; throw new Error('ipvsadm: Protocol not available'); }
    this.reads++;
    return this.table;
  }
  async apply(ops: readonly TableOp[]): Promise<ApplyResult> {
    this.batches.push([...ops]);
    const refused: RefusedOp[] = [];
    for (const op of ops) {
      try { this.table = applyOps(this.table, [op]); } catch (e) {
        if (!(e instanceof TableOpError)) throw e;
        refused.push({ op, reason: 'kernel_refused', message: e.message });
      }
    }
    return { sent: ops.length, applied: ops.length - refused.length, refused, exitStatus: refused.length ? 255 : 0, stderrLines: [], durationMs: 0 };
  }
  /** A hand edit, as `ipvsadm -e/-a/-d` would make. */
  edit(f: (dests: Map<string, RealServer>) => void, key = 'TCP 192.0.2.10:80'): void {
    const next = new Map(this.table);
    const e = next.get(key)!;
    const dests = new Map(e.dests);
    f(dests);
    next.set(key, { service: e.service, dests } satisfies ServiceEntry);
    this.table = next;
  }
}

/** Lets the passes in progress finish (the backend's promises): the manual clock does not move. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
/** Runs the manual clock timer by timer (each pass, retry, interval in turn) until `cond`. */
async function waitFor(timers: ManualTimers, cond: () => boolean, what: string): Promise<void> {
  await settle();
  for (let i = 0; i < 100 && !cond(); i++) {
    timers.step();
    await settle();
  }
  if (!cond()) throw new Error(`${what}: did not happen (clock at ${timers.now()} ms)`);
}

function setup(o: { intervalMs?: number; initialBackoffMs?: number; maxBackoffMs?: number } = {}) {
  const backend = new MemoryBackend();
  backend.table = tableOf([{ service: FOREIGN, dests: [rs(99)] }, { service: OWN, dests: [rs(1), rs(7)] }]);
  let want = tableOf([{ service: OWN, dests: [rs(1), rs(2, 3)] }]);
  const passes: PassReport[] = [];
  /** The manual clock's time at each pass. */
  const passAt: number[] = [];
  const errors: ReconcilerError[] = [];
  const timers = new ManualTimers();
  const rec = new Reconciler({
    backend, timers, desired: () => want, intervalMs: o.intervalMs ?? 10_000,
    initialBackoffMs: o.initialBackoffMs ?? 10, maxBackoffMs: o.maxBackoffMs ?? 40,
    onPass: (p) => { passes.push(p); passAt.push(timers.now()); }, onError: (e) => errors.push(e),
  });
  return { backend, rec, passes, passAt, errors, timers, setWant: (t: LbTable) => { want = t; } };
}

const destsOf = (t: LbTable, key = 'TCP 192.0.2.10:80') => [...(t.get(key)?.dests.values() ?? [])].map((d) => `${destKey(d)}@${d.weight}`).sort();

describe('reconciler', () => {
  test('start adopts the owned service, fixes it, and leaves a foreign one alone', async () => {
    const { backend, rec, passes, timers } = setup();
    rec.start();
    try {
      await waitFor(timers, () => passes.length >= 1, 'start pass');
      assert.equal(passes[0]!.cause, 'start');
      assert.equal(passes[0]!.read, true);
      assert.deepEqual(passes[0]!.ops.map((o) => o.op), ['add_dest', 'delete_dest']);
      assert.deepEqual(destsOf(backend.table), ['198.51.100.1:80@1', '198.51.100.2:80@3']);
      assert.deepEqual(destsOf(backend.table, 'TCP 203.0.113.50:80'), ['198.51.100.99:80@1']);
    } finally { await rec.stop(); }
  });

  test('triggers coalesce into one pass that diffs against the cached table (no read)', async () => {
    const { backend, rec, passes, timers, setWant } = setup();
    rec.start();
    try {
      await waitFor(timers, () => passes.length >= 1, 'start pass');
      const reads = backend.reads;
      setWant(tableOf([{ service: OWN, dests: [rs(1), rs(2, 3), rs(3)] }]));
      for (let i = 0; i < 5; i++) rec.trigger();
      await waitFor(timers, () => passes.length >= 2, 'triggered pass');
      timers.flush();
      await settle();
      assert.equal(passes.length, 2, 'five triggers in one turn make one pass');
      assert.equal(passes[1]!.cause, 'trigger');
      assert.equal(passes[1]!.read, false);
      assert.equal(backend.reads, reads);
      assert.deepEqual(passes[1]!.ops.map((o) => o.op), ['add_dest']);
      assert.deepEqual(destsOf(backend.table), ['198.51.100.1:80@1', '198.51.100.2:80@3', '198.51.100.3:80@1']);
    } finally { await rec.stop(); }
  });

  test('a trigger naming services diffs only those services; a plain trigger covers all', async () => {
    const backend = new MemoryBackend();
    const B = svc('192.0.2.11');
    let want = tableOf([{ service: OWN, dests: [rs(1)] }, { service: B, dests: [rs(1)] }]);
    const scopes: Array<string[] | undefined> = [];
    const passes: PassReport[] = [];
    const timers = new ManualTimers();
    const rec = new Reconciler({
      backend, timers, intervalMs: 10_000, onPass: (p) => passes.push(p),
      desired: (scope) => { scopes.push(scope && [...scope]); return want; },
    });
    rec.start();
    try {
      await waitFor(timers, () => passes.length >= 1, 'start pass');
      want = tableOf([{ service: OWN, dests: [rs(1), rs(2)] }, { service: B, dests: [rs(1), rs(3)] }]);
      rec.trigger(['TCP 192.0.2.10:80']);
      rec.trigger(['TCP 192.0.2.10:80']);
      await waitFor(timers, () => passes.length >= 2, 'scoped pass');
      assert.deepEqual(scopes[1], ['TCP 192.0.2.10:80']);
      assert.deepEqual(passes[1]!.ops.map((o) => `${o.op} ${'dest' in o ? destKey(o.dest) : ''}`), ['add_dest 198.51.100.2:80']);
      assert.deepEqual(destsOf(backend.table, 'TCP 192.0.2.11:80'), ['198.51.100.1:80@1'], 'B was not in scope');
      rec.trigger(['TCP 192.0.2.11:80']);
      rec.trigger();
      await waitFor(timers, () => passes.length >= 3, 'full pass');
      assert.equal(scopes[2], undefined, 'a plain trigger in the same turn widens the pass to all');
      assert.equal(passes[2]!.read, false);
      assert.deepEqual(passes[2]!.ops.map((o) => `${o.op} ${'dest' in o ? destKey(o.dest) : ''}`), ['add_dest 198.51.100.3:80']);
      // The cache after scoped passes still matches the kernel: a full read finds nothing to do.
      const r = await rec.passNow();
      assert.ok(!('error' in r));
      assert.deepEqual(r.ops, []);
    } finally { await rec.stop(); }
  });

  test('the periodic pass reads the kernel and undoes hand drift within one interval', async () => {
    const { backend, rec, passes, passAt, timers } = setup({ intervalMs: 100 });
    rec.start();
    try {
      await waitFor(timers, () => passes.length >= 1, 'start pass');
      backend.edit((d) => { d.delete('198.51.100.1:80'); d.set('198.51.100.2:80', rs(2, 9)); d.set('198.51.100.8:80', rs(8)); });
      const t0 = timers.now();
      const mark = passes.length;
      await waitFor(timers, () => passes.slice(mark).some((p) => p.ops.length > 0), 'drift undone');
      const i = passes.findIndex((p, n) => n >= mark && p.ops.length > 0);
      assert.ok(passAt[i]! - t0 <= 100, `undone after ${passAt[i]! - t0} ms`);
      const fix = passes[i]!;
      assert.equal(fix.cause, 'interval');
      assert.equal(fix.read, true);
      assert.deepEqual(fix.ops.map((o) => o.op), ['add_dest', 'edit_dest', 'delete_dest']);
      assert.deepEqual(destsOf(backend.table), ['198.51.100.1:80@1', '198.51.100.2:80@3']);
    } finally { await rec.stop(); }
  });

  test('a failing backend is retried with bounded exponential backoff, reported, never thrown', async () => {
    const { backend, rec, passes, passAt, errors, timers } = setup({ initialBackoffMs: 10, maxBackoffMs: 40 });
    backend.failNext = 5;
    rec.start();
    try {
      await waitFor(timers, () => passes.length >= 1, 'recovery');
      assert.deepEqual(errors.map((e) => e.retryInMs), [10, 20, 40, 40, 40]);
      assert.deepEqual(errors.map((e) => e.failures), [1, 2, 3, 4, 5]);
      assert.match(String(errors[0]!.error), /Protocol not available/);
      assert.equal(passes[0]!.cause, 'retry');
      assert.equal(passAt[0], 10 + 20 + 40 + 40 + 40, 'the retries waited exactly their backoffs');
      assert.deepEqual(destsOf(backend.table), ['198.51.100.1:80@1', '198.51.100.2:80@3']);
      // Triggers during a failure wait for the backoff timer (no hammering).
      backend.failNext = 1;
      rec.trigger(); // uses the cache: no read, so no failure yet
      await waitFor(timers, () => passes.length >= 2, 'cached pass');
      const r = await rec.passNow();
      assert.ok('error' in r, 'passNow reports the failure as data');
    } finally { await rec.stop(); }
  });

  test('a refused op is reported, and the next pass reads the table again', async () => {
    const { backend, rec, passes, timers, setWant } = setup();
    rec.start();
    try {
      await waitFor(timers, () => passes.length >= 1, 'start pass');
      // Someone deletes the owned service between passes; the cached table does not know, so the
      // triggered pass's add_dest is refused ("service not defined").
      backend.table = tableOf([{ service: FOREIGN, dests: [rs(99)] }]);
      setWant(tableOf([{ service: OWN, dests: [rs(1), rs(2, 3), rs(4)] }]));
      rec.trigger();
      await waitFor(timers, () => passes.length >= 2, 'refused pass');
      assert.equal(passes[1]!.result!.refused.length, 1);
      const r = await rec.passNow();
      assert.ok(!('error' in r));
      assert.equal(r.read, true);
      assert.deepEqual(destsOf(backend.table), ['198.51.100.1:80@1', '198.51.100.2:80@3', '198.51.100.4:80@1']);
    } finally { await rec.stop(); }
  });

  test('a service that leaves the config is deleted once, then no longer owned', async () => {
    const { backend, rec, setWant } = setup();
    const first = await rec.passNow();
    assert.ok(!('error' in first));
    setWant(new Map());
    const r = await rec.passNow();
    assert.ok(!('error' in r));
    assert.deepEqual(r.ops.map((o) => o.op), ['delete_service']);
    assert.equal(backend.table.has('TCP 192.0.2.10:80'), false);
    assert.equal(backend.table.has('TCP 203.0.113.50:80'), true);
    assert.equal(rec.ownedServices().has('TCP 192.0.2.10:80'), false);
    // Re-created by hand later: not tandem's any more, left alone.
    backend.table = applyOps(backend.table, [{ op: 'add_service', service: OWN, reason: 'missing' }]);
    const r2 = await rec.passNow();
    assert.ok(!('error' in r2));
    assert.deepEqual(r2.ops, []);
  });
});
