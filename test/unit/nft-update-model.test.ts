// updateModel() (src/lb/nft/render.ts), the nft backend's incremental model: re-rendering only the
// services a change touched must give exactly modelOf() of the new table, whatever the change
// (services added and removed, weights, real servers, persistence and masquerade switched, fwmark
// and IPv6 services, VIPs whose services share a post stage). Random tables and changes from a
// seeded PRNG; a failure prints its seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type RealServer, type ServiceAddress, serviceKey, type VirtualService } from '../../src/config/lbModel.js';
import { type LbTable, type ServiceEntry, tableOf } from '../../src/lb/model.js';
import { readFileSync } from 'node:fs';
import { diffScript, modelOf, sameModel, serviceTag, updateModel, type NftModel } from '../../src/lb/nft/render.js';
import { readNftTables } from '../../src/lb/nft/parse.js';
import { CaseCount } from '../lib/cases.js';
import { mulberry32 } from '../lib/prng.js';

/** The model as sorted plain data: Map order is not part of what a model means. */
function canonical(m: NftModel): unknown {
  const fam = (f: NftModel[4]) => f && {
    maps: [...f.maps].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, x]) => [n, x.decl, x.elements && [...x.elements].sort()]),
    chains: [...f.chains].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, c]) => [n, c.base, c.rules]),
  };
  return { 4: fam(m[4]), 6: fam(m[6]) };
}

function randomEntry(r: () => number): ServiceEntry {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const family = r() < 0.3 ? 6 : 4;
  const fwmark = r() < 0.15;
  const vip = family === 4 ? `192.0.2.${1 + Math.floor(r() * 3)}` : `2001:db8::${1 + Math.floor(r() * 3)}`;
  const port = pick([80, 443, 8080]);
  const id: ServiceAddress = fwmark ? { kind: 'fwmark', family, fwmark: 1 + Math.floor(r() * 3) }
    : { kind: 'inet', family, protocol: pick(['TCP', 'UDP'] as const), address: vip, port };
  // IPv6 persistence: /128 and the VIP's port only (what nft 1.0.6 can do, docs/nft-backend.md).
  const persistent = r() < 0.3;
  const service: VirtualService = {
    id, scheduler: pick(['rr', 'wrr', 'sh', 'dh']), pe: null, ops: false, schedFlags: [],
    persistence: persistent ? { timeoutS: 300, netmaskPrefix: family === 6 ? 128 : pick([24, 32]) } : null,
    ...(r() < 0.3 ? { masquerade: true } : {}),
  };
  const dests: RealServer[] = [];
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) {
    const address = family === 4 ? `198.51.100.${10 + i}` : `2001:db8:1::${10 + i}`;
    const dport = fwmark ? 0 : family === 6 && persistent ? port : pick([80, 8080]);
    dests.push({ family, address, port: dport, forwarding: 'NAT', weight: Math.floor(r() * 4), tunnel: null });
  }
  return { service, dests: new Map(dests.map((d) => [`${d.address}:${d.port}`, d])) };
}

function randomTable(r: () => number, n: number): LbTable {
  const out = new Map<string, ServiceEntry>();
  for (let i = 0; i < n; i++) {
    const e = randomEntry(r);
    out.set(serviceKey(e.service.id), e);
  }
  return tableOf([...out.values()].map((e) => ({ service: e.service, dests: e.dests.values() })));
}

test('updateModel equals modelOf for random tables and random changes (300 cases)', () => {
  const cases = new CaseCount('updateModel vs modelOf', 300);
  for (let seed = 1; seed <= 300; seed++) {
    const kinds = new Set<string>();
    const r = mulberry32(seed);
    const before = randomTable(r, Math.floor(r() * 8));
    const after = new Map(before);
    const touched = new Set<string>();
    const changes = 1 + Math.floor(r() * 3);
    for (let c = 0; c < changes; c++) {
      const keys = [...after.keys()];
      const roll = r();
      if (roll < 0.3 && keys.length) {
        const k = keys[Math.floor(r() * keys.length)]!;
        after.delete(k);
        touched.add(k);
        kinds.add('a service removed');
      } else if (roll < 0.6 && keys.length) {
        // Same service, other settings or real servers (a new random entry for the same id).
        const k = keys[Math.floor(r() * keys.length)]!;
        let e = randomEntry(r);
        for (let tries = 0; tries < 50 && serviceKey(e.service.id) !== k; tries++) e = randomEntry(r);
        if (serviceKey(e.service.id) !== k) {
          const old = after.get(k)!;
          const dests = new Map([...old.dests].map(([dk, d]) => [dk, { ...d, weight: (d.weight + 1) % 4 }]));
          e = { service: old.service, dests };
        }
        after.set(k, e);
        touched.add(k);
        kinds.add('a service changed');
      } else {
        const e = randomEntry(r);
        const k = serviceKey(e.service.id);
        kinds.add(before.has(k) ? 'a service changed' : 'a service added');
        after.set(k, e);
        touched.add(k);
      }
    }
    const full = modelOf(after);
    const inc = updateModel(modelOf(before), before, after, touched);
    assert.deepEqual(canonical(inc), canonical(full), `seed ${seed}: ${[...touched].join(', ')}`);
    // And the script from the old model is the same whichever way the new one was made.
    const from = modelOf(before);
    assert.equal(sortedLines(diffScript(from, inc)), sortedLines(diffScript(from, full)), `seed ${seed}`);
    cases.checked(...kinds);
  }
  cases.done({ kinds: ['a service removed', 'a service changed', 'a service added'], min: 50 });
});

function sortedLines(s: string): string {
  return s.split('\n').map((l) => l.replace(/\{ (.*) \}/, (_, x: string) => `{ ${x.split(', ').sort().join(', ')} }`)).sort().join('\n');
}

test('untouched services share their objects with the previous model', () => {
  const r = mulberry32(7);
  const before = randomTable(r, 6);
  const key = [...before.keys()][0]!;
  const after = new Map(before);
  const e = before.get(key)!;
  after.set(key, { service: e.service, dests: new Map([...e.dests].map(([k, d]) => [k, { ...d, weight: d.weight + 1 }])) });
  const prev = modelOf(before);
  const next = updateModel(prev, before, after, new Set([key]));
  const f = e.service.id.family;
  const touchedMap = `rs_${serviceTag(e.service.id)}`;
  const others = [...prev[f]!.maps].filter(([n]) => n.startsWith('rs_') && n !== touchedMap);
  assert.ok(others.length > 0, 'the table needs another service of the same family');
  for (const [n, m] of others) assert.equal(next[f]!.maps.get(n), m, `${n} was copied`);
  assert.notEqual(next[f]!.maps.get(touchedMap), prev[f]!.maps.get(touchedMap));
});

test('a table read back from nft (golden capture) is recognised as exactly what tandem renders; drift is not', () => {
  const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/nft/${name}`, import.meta.url), 'utf8');
  const j4 = fixture('sample-ip.json');
  const r = readNftTables(j4, fixture('sample-ip6.json'));
  assert.equal(sameModel(r.model, modelOf(r.recorded)), true);
  // One rule removed by hand from the IPv4 table: the model read back is no longer the rendered one.
  const doc = JSON.parse(j4) as { nftables: Array<Record<string, unknown>> };
  const i = doc.nftables.findIndex((o) => (o.rule as { chain?: string } | undefined)?.chain?.startsWith('svc_'));
  doc.nftables.splice(i, 1);
  const drifted = readNftTables(JSON.stringify(doc), fixture('sample-ip6.json'));
  assert.equal(sameModel(drifted.model, modelOf(drifted.recorded)), false);
});
