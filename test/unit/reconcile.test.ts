// Reconcile: table tests for adoption, drift and ownership, and a property test over random
// desired/actual tables (seeded, reproducible): the ops are valid for the kernel, make the owned
// part equal to the desired table, leave foreign services alone, and are minimal.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyOps, describeOp, opServiceId, reconcile, TableOpError, type TableOp } from '../../src/lb/reconcile.js';
import {
  destKey, type RealServer, type ServiceAddress, serviceKey, type VirtualService,
} from '../../src/config/lbModel.js';
import { type LbTable, sameDest, sameService, tableOf } from '../../src/lb/model.js';
import { CaseCount } from '../lib/cases.js';
import { mulberry32 as rng } from '../lib/prng.js';

const tcp = (address: string, port: number): ServiceAddress => ({ kind: 'inet', family: 4, protocol: 'TCP', address, port });
const svc = (id: ServiceAddress, o: Partial<VirtualService> = {}): VirtualService =>
  ({ id, scheduler: 'wrr', persistence: null, pe: null, ops: false, schedFlags: [], ...o });
const dest = (address: string, port: number, o: Partial<RealServer> = {}): RealServer =>
  ({ family: address.includes(':') ? 6 : 4, address, port, forwarding: 'NAT', weight: 1, tunnel: null, ...o });

const WEB = tcp('192.0.2.10', 80);
const API = tcp('192.0.2.11', 443);
const FOREIGN = tcp('192.0.2.99', 22);
const rs1 = dest('198.51.100.1', 80), rs2 = dest('198.51.100.2', 80), rs3 = dest('198.51.100.3', 80);
const lines = (ops: TableOp[]) => ops.map(describeOp);

describe('reconcile: adoption, drift and ownership', () => {
  const desired = tableOf([{ service: svc(WEB), dests: [rs1, rs2] }]);
  const owned = new Set([serviceKey(WEB)]);

  it('an empty kernel gets the service first, then its real servers', () => {
    assert.deepEqual(lines(reconcile(desired, new Map(), owned)), [
      'add_service TCP 192.0.2.10:80 wrr (missing)',
      'add_dest TCP 192.0.2.10:80 -> 198.51.100.1:80 NAT w1 (missing)',
      'add_dest TCP 192.0.2.10:80 -> 198.51.100.2:80 NAT w1 (missing)',
    ]);
  });
  it('at start, a table that already matches is adopted: no op at all', () => {
    const actual = tableOf([{ service: svc(WEB), dests: [rs2, rs1] }, { service: svc(FOREIGN), dests: [rs3] }]);
    assert.deepEqual(reconcile(desired, actual, owned), []);
  });
  it('a matching service with other settings is edited in place, never deleted and re-added', () => {
    const actual = tableOf([{ service: svc(WEB, { scheduler: 'rr', persistence: { timeoutS: 300, netmaskPrefix: 32 } }), dests: [rs1, rs2] }]);
    assert.deepEqual(lines(reconcile(desired, actual, owned)), ['edit_service TCP 192.0.2.10:80 wrr (differs)']);
  });
  it('drift: a server added by hand is removed, one deleted by hand comes back, a re-weight is undone', () => {
    const actual = tableOf([{ service: svc(WEB), dests: [{ ...rs1, weight: 7 }, rs3] }]);
    assert.deepEqual(lines(reconcile(desired, actual, owned)), [
      'add_dest TCP 192.0.2.10:80 -> 198.51.100.2:80 NAT w1 (missing)',
      'edit_dest TCP 192.0.2.10:80 -> 198.51.100.1:80 NAT w1 (differs)',
      'delete_dest TCP 192.0.2.10:80 -> 198.51.100.3:80 (not_desired)',
    ]);
  });
  it('a changed forwarding method or tunnel is an edit', () => {
    const actual = tableOf([{ service: svc(WEB), dests: [{ ...rs1, forwarding: 'DR' }, { ...rs2, forwarding: 'TUN', tunnel: { type: 'gre', csum: 'nocsum' } }] }]);
    const want = tableOf([{ service: svc(WEB), dests: [rs1, { ...rs2, forwarding: 'TUN', tunnel: { type: 'ipip' } }] }]);
    assert.deepEqual(reconcile(want, actual, owned).map((o) => o.op), ['edit_dest', 'edit_dest']);
  });
  it('foreign services are never touched, even when they look like ours', () => {
    const actual = tableOf([{ service: svc(FOREIGN, { scheduler: 'rr' }), dests: [rs1, rs2, rs3] }]);
    const ops = reconcile(desired, actual, owned);
    assert.ok(ops.every((o) => !JSON.stringify(o).includes('192.0.2.99')), lines(ops).join('\n'));
  });
  it('an owned service that left the config is deleted (one op: its servers go with it)', () => {
    const actual = tableOf([{ service: svc(WEB), dests: [rs1, rs2] }, { service: svc(API), dests: [rs1, rs2, rs3] }]);
    assert.deepEqual(lines(reconcile(desired, actual, new Set([serviceKey(WEB), serviceKey(API)]))), [
      'delete_service TCP 192.0.2.11:443 (not_desired)',
    ]);
  });
  it('a desired service counts as owned even if the caller forgot it', () => {
    assert.equal(reconcile(desired, new Map(), new Set()).length, 3);
  });
  it('sorry-server swap: the sorry server is added before the real servers leave', () => {
    const sorry = dest('198.51.100.9', 80);
    const actual = tableOf([{ service: svc(WEB), dests: [rs1, rs2] }]);
    const want = tableOf([{ service: svc(WEB), dests: [sorry] }]);
    assert.deepEqual(reconcile(want, actual, owned).map((o) => o.op), ['add_dest', 'delete_dest', 'delete_dest']);
  });
  it('applyOps refuses what the kernel would refuse', () => {
    assert.throws(() => applyOps(new Map(), [{ op: 'add_dest', service: WEB, dest: rs1, reason: 'missing' }]), TableOpError);
    const t = tableOf([{ service: svc(WEB), dests: [rs1] }]);
    assert.throws(() => applyOps(t, [{ op: 'add_service', service: svc(WEB), reason: 'missing' }]), /service already exists/);
    assert.throws(() => applyOps(t, [{ op: 'delete_dest', service: WEB, dest: rs2, reason: 'not_desired' }]), /no such destination/);
    assert.equal(t.get(serviceKey(WEB))!.dests.size, 1, 'the input table is not changed');
  });
});


const SERVICE_POOL: ServiceAddress[] = [
  tcp('192.0.2.10', 80), tcp('192.0.2.10', 443), tcp('192.0.2.11', 80),
  { kind: 'inet', family: 6, protocol: 'UDP', address: '2001:db8::10', port: 53 },
  { kind: 'fwmark', family: 4, fwmark: 1 }, { kind: 'fwmark', family: 6, fwmark: 1 },
  { kind: 'inet', family: 4, protocol: 'SCTP', address: '192.0.2.12', port: 3868 },
];

function randomTable(r: () => number, keys: ServiceAddress[]): LbTable {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  return tableOf(keys.map((id) => {
    const v6 = id.family === 6;
    const dests: RealServer[] = [];
    for (let i = 1; i <= 5; i++) {
      if (r() < 0.5) continue;
      const address = v6 ? `2001:db8:1::${i}` : `198.51.100.${i}`;
      const forwarding = pick(['NAT', 'DR', 'TUN'] as const);
      dests.push({
        family: id.family, address, port: id.kind === 'fwmark' ? 0 : forwarding === 'NAT' ? pick([80, 8080]) : id.port,
        forwarding, weight: pick([0, 1, 2, 100]),
        tunnel: forwarding === 'TUN' ? pick([{ type: 'ipip' }, { type: 'gre', csum: 'nocsum' }] as const) : null,
      });
    }
    return {
      service: svc(id, {
        scheduler: pick(['rr', 'wrr', 'wlc']),
        persistence: r() < 0.3 ? { timeoutS: pick([60, 300]), netmaskPrefix: v6 ? 128 : pick([24, 32]) } : null,
      }),
      dests,
    };
  }));
}

function subset<T>(r: () => number, xs: readonly T[], p: number): T[] {
  return xs.filter(() => r() < p);
}

describe('reconcile property: random desired and actual tables (1000 seeded cases)', () => {
  it('applying the ops gives the desired owned part, keeps foreign services, and is minimal', () => {
    // Every seed is checked; the tally says how many had something to check: ops to apply, a
    // foreign service to keep, an owned service to delete, an entry to edit.
    const cases = new CaseCount('reconcile property', 1000);
    for (let seed = 1; seed <= 1000; seed++) {
      const r = rng(seed);
      const desired = randomTable(r, subset(r, SERVICE_POOL, 0.5));
      const actual = randomTable(r, subset(r, SERVICE_POOL, 0.6));
      const owned = new Set([...desired.keys(), ...subset(r, SERVICE_POOL.map(serviceKey), 0.4)]);
      const ops = reconcile(desired, actual, owned);
      const ctx = `seed ${seed}:\n${ops.map(describeOp).join('\n')}`;

      // Valid: the kernel would accept every op in this order.
      const after = applyOps(actual, ops);
      // The owned part equals the desired table; owned but undesired services are gone.
      for (const key of new Set([...owned, ...after.keys()])) {
        const want = desired.get(key);
        const got = after.get(key);
        if (!owned.has(key)) continue;
        assert.equal(got !== undefined, want !== undefined, `${ctx}\n${key} presence`);
        if (!want || !got) continue;
        assert.ok(sameService(want.service, got.service), `${ctx}\n${key} settings`);
        assert.deepEqual([...got.dests.keys()].sort(), [...want.dests.keys()].sort(), `${ctx}\n${key} servers`);
        for (const [k, d] of want.dests) assert.ok(sameDest(d, got.dests.get(k)!), `${ctx}\n${key} ${k}`);
      }
      // Foreign services: untouched, and no op even mentions them.
      for (const [key, e] of actual) {
        if (owned.has(key)) continue;
        assert.deepEqual(after.get(key), e, `${ctx}\n${key} foreign changed`);
        assert.ok(ops.every((o) => serviceKey(opServiceId(o)) !== key), `${ctx}\n${key} foreign op`);
      }
      // Minimal: exactly one op per differing entry, none for an unchanged one.
      let expected = 0;
      for (const key of actual.keys()) if (owned.has(key) && !desired.has(key)) expected++; // delete_service
      for (const [key, want] of desired) {
        const have = actual.get(key);
        if (!have) { expected += 1 + want.dests.size; continue; }
        if (!sameService(want.service, have.service)) expected++;
        for (const [k, d] of want.dests) { const h = have.dests.get(k); if (!h || !sameDest(d, h)) expected++; }
        for (const k of have.dests.keys()) if (!want.dests.has(k)) expected++;
      }
      assert.equal(ops.length, expected, ctx);
      for (const o of ops) {
        if (o.op === 'edit_dest') assert.ok(!sameDest(o.dest, o.was), `${ctx}\nno-op edit ${destKey(o.dest)}`);
        if (o.op === 'edit_service') assert.ok(!sameService(o.service, o.was), `${ctx}\nno-op service edit`);
      }
      // Level-triggered and idempotent: once applied, there is nothing left to do.
      assert.deepEqual(reconcile(desired, after, owned), [], `${ctx}\nsecond pass`);
      cases.checked(...[
        ops.length > 0 ? 'with ops' : '',
        [...actual.keys()].some((k) => !owned.has(k)) ? 'with a foreign service' : '',
        ops.some((o) => o.op === 'delete_service') ? 'deleting an owned service' : '',
        ops.some((o) => o.op === 'edit_dest' || o.op === 'edit_service') ? 'with an edit' : '',
      ].filter((k) => k !== ''));
    }
    cases.done({ kinds: ['with ops', 'with a foreign service', 'deleting an owned service', 'with an edit'], min: 100 });
  });
});
