// The nft backend's pure parts: the rendering (golden script), the read-back of `nft -j` output
// captured from the real nft 1.0.6 (test/fixtures/nft/README.md), drift detection, and the diff
// that touches only the objects that changed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type LbTable, tableOf } from '../../src/lb/model.js';
import type { RealServer, ServiceAddress, VirtualService } from '../../src/config/lbModel.js';
import { sampleTable } from '../lib/nftSample.js';
import { reconcile, describeOp } from '../../src/lb/reconcile.js';
import { diffScript, modelOf, renderRuleset, serviceTag, unrenderableService, NftRenderError } from '../../src/lb/nft/render.js';
import { readNftTables, ruleText } from '../../src/lb/nft/parse.js';

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/nft/${name}`, import.meta.url), 'utf8');

const svc = (id: ServiceAddress, scheduler: string, extra: Partial<VirtualService> = {}): VirtualService =>
  ({ id, scheduler, persistence: null, pe: null, ops: false, schedFlags: [], ...extra });
const rs = (address: string, port: number, weight: number, family: 4 | 6 = 4): RealServer =>
  ({ family, address, port, forwarding: 'NAT', weight, tunnel: null });

function withWeight(t: LbTable, key: string, dest: string, weight: number): LbTable {
  const out = new Map(t);
  const e = t.get(key)!;
  const dests = new Map(e.dests);
  dests.set(dest, { ...dests.get(dest)!, weight });
  out.set(key, { service: e.service, dests });
  return out;
}

/** The fixture JSON with one change made by hand (as `nft delete rule ...` would). */
function edited(json: string, f: (items: Array<Record<string, any>>) => Array<Record<string, any>>): string {
  const doc = JSON.parse(json) as { nftables: Array<Record<string, any>> };
  return JSON.stringify({ nftables: f(doc.nftables) });
}

describe('nft render', () => {
  it('renders the sample table exactly as the golden script nft accepted', () => {
    assert.equal(renderRuleset(sampleTable()), fixture('sample.nft'));
  });

  it('renders an empty table as nothing (no tandem tables at all)', () => {
    assert.equal(renderRuleset(new Map()), '');
  });

  it('maps the schedulers: rr ignores weights, wrr/sh/dh use weighted ranges, weight 0 gets no range', () => {
    const script = fixture('sample.nft');
    assert.match(script, /svc_tcp_192_0_2_10_443 meta l4proto tcp dnat ip to numgen inc mod 2 map \{ 0 : 198\.51\.100\.1 \. 443, 1 : 198\.51\.100\.2 \. 443 \}/);
    assert.match(script, /numgen inc mod 3 map \{ 0-1 : 198\.51\.100\.1 \. 80, 2 : 198\.51\.100\.2 \. 8080 \}/);
    assert.match(script, /jhash ip saddr mod 4 seed 0x0 map \{ 0 : 198\.51\.100\.1 \. 53, 1-3 : 198\.51\.100\.2 \. 53 \}/);
    assert.match(script, /svc_fwm_7 dnat ip to jhash ip daddr mod 2/);
    // The weight-0 server is recorded but never scheduled.
    assert.match(script, /198\.51\.100\.3 \. 80 : 0/);
    assert.doesNotMatch(script, /: 198\.51\.100\.3/);
  });

  it('refuses what nft cannot express, naming the backend', () => {
    const id: ServiceAddress = { kind: 'inet', family: 4, protocol: 'TCP', address: '192.0.2.1', port: 80 };
    assert.equal(unrenderableService(svc(id, 'lc')), 'the nft backend cannot express scheduler lc (it can: rr, wrr, sh, dh)');
    assert.match(unrenderableService(svc(id, 'rr', { ops: true }))!, /one-packet/);
    const dr = tableOf([{ service: svc(id, 'rr'), dests: [{ ...rs('198.51.100.1', 80, 1), forwarding: 'DR' }] }]);
    assert.throws(() => modelOf(dr), (e: unknown) => e instanceof NftRenderError && /NAT \(DNAT\) only, not DR/.test(e.message));
    const v6 = tableOf([{ service: svc({ ...id, family: 6, address: '2001:db8::1' }, 'rr', { persistence: { timeoutS: 10, netmaskPrefix: 64 } }), dests: [] }]);
    assert.throws(() => modelOf(v6), /persistence_granularity must be 128/);
  });
});

describe('nft read-back (golden nft -j output)', () => {
  const j4 = fixture('sample-ip.json');
  const j6 = fixture('sample-ip6.json');

  it('recovers the exact LbTable, with no drift and no op to make', () => {
    const r = readNftTables(j4, j6);
    assert.deepEqual(r.problems, []);
    assert.deepEqual([...r.drift], []);
    const want = sampleTable();
    assert.deepEqual(reconcile(want, r.table, new Set(want.keys())), []);
    assert.deepEqual([...r.table.keys()].sort(), [...want.keys()].sort());
    for (const [k, e] of want) {
      assert.deepEqual(r.table.get(k)!.service, e.service, k);
      assert.deepEqual(new Map([...r.table.get(k)!.dests].sort()), new Map([...e.dests].sort()), k);
    }
  });

  it('prints rules from JSON as render.ts writes them', () => {
    const doc = JSON.parse(j4) as { nftables: Array<Record<string, any>> };
    const rules = doc.nftables.filter((o) => o.rule).map((o) => `${o.rule.chain} ${ruleText(o.rule.expr, 4)}`);
    assert.ok(rules.includes('svc_tcp_192_0_2_10_80 meta l4proto tcp dnat ip to ip saddr & 255.255.255.0 map @persist_tcp_192_0_2_10_80'));
    assert.ok(rules.includes('postrouting ct status dnat ct original ip daddr . meta l4proto vmap @post_dispatch'));
    assert.ok(rules.includes('svc_fwm_7 reject'));
  });

  it('a missing table reads as empty', () => {
    const r = readNftTables('', '');
    assert.equal(r.table.size, 0);
  });

  it('a rule deleted by hand is drift: the service reads back differing, so reconcile edits it', () => {
    const gone = edited(j4, (items) => items.filter((o) => !(o.rule?.chain === 'svc_tcp_192_0_2_10_443' && o.rule.expr.some((x: any) => x.dnat))));
    const r = readNftTables(gone, j6);
    assert.deepEqual([...r.drift.keys()], ['TCP 192.0.2.10:443']);
    const want = sampleTable();
    const ops = reconcile(want, r.table, new Set(want.keys()));
    assert.deepEqual(ops.map(describeOp), ['edit_service TCP 192.0.2.10:443 rr (differs)']);
    // ... and the repair re-adds exactly that chain's rules.
    const script = diffScript(r.model, modelOf(want));
    assert.equal(script, 'flush chain ip tandem svc_tcp_192_0_2_10_443\n' +
      'add rule ip tandem svc_tcp_192_0_2_10_443 meta l4proto tcp dnat ip to numgen inc mod 2 map { 0 : 198.51.100.1 . 443, 1 : 198.51.100.2 . 443 }\n' +
      'add rule ip tandem svc_tcp_192_0_2_10_443 reject\n');
  });

  it('a real server element deleted by hand reads back as a missing real server', () => {
    const gone = edited(j4, (items) => items.map((o) => o.map?.name === 'rs_tcp_192_0_2_10_443'
      ? { map: { ...o.map, elem: o.map.elem.filter((e: any) => e[0].concat[0] !== '198.51.100.2') } } : o));
    const r = readNftTables(gone, j6);
    const want = sampleTable();
    const ops = reconcile(want, r.table, new Set(want.keys())).map(describeOp);
    assert.ok(ops.includes('add_dest TCP 192.0.2.10:443 -> 198.51.100.2:443 NAT w1 (missing)'), ops.join('\n'));
  });

  it('a damaged skeleton (jump removed from prerouting) marks every service of that family', () => {
    const gone = edited(j6, (items) => items.filter((o) => o.rule?.chain !== 'prerouting'));
    const r = readNftTables(j4, gone);
    assert.deepEqual([...r.drift.keys()].sort(), ['SCTP [2001:db8::10]:9000', 'TCP [2001:db8::10]:80']);
    assert.match(r.table.get('TCP [2001:db8::10]:80')!.service.scheduler, /^wrr \(nft drift: chain prerouting/);
  });
});

describe('nft diff: only what changed', () => {
  it('a weight change rewrites only that service (its record element and its scheduling chain)', () => {
    const t = sampleTable();
    const after = withWeight(t, 'TCP 192.0.2.10:80', '198.51.100.2:8080', 4);
    const script = diffScript(modelOf(t), modelOf(after));
    const tag = serviceTag(t.get('TCP 192.0.2.10:80')!.service.id);
    const lines = script.trim().split('\n');
    for (const l of lines) assert.match(l, new RegExp(`(rs|svc)_${tag}\\b`), l);
    assert.deepEqual(lines, [
      `delete element ip tandem rs_${tag} { 198.51.100.2 . 8080 }`,
      `flush chain ip tandem svc_${tag}`,
      `add rule ip tandem svc_${tag} meta l4proto tcp dnat ip to ip saddr & 255.255.255.0 map @persist_${tag}`,
      `add rule ip tandem svc_${tag} meta l4proto tcp dnat ip to numgen inc mod 6 map { 0-1 : 198.51.100.1 . 80, 2-5 : 198.51.100.2 . 8080 }`,
      `add rule ip tandem svc_${tag} reject`,
      `add element ip tandem rs_${tag} { 198.51.100.2 . 8080 : 4 }`,
    ]);
  });

  it('an rr weight change (other than to or from 0) changes only the record', () => {
    const t = sampleTable();
    const script = diffScript(modelOf(t), modelOf(withWeight(t, 'TCP 192.0.2.10:443', '198.51.100.1:443', 9)));
    assert.equal(script, 'delete element ip tandem rs_tcp_192_0_2_10_443 { 198.51.100.1 . 443 }\n' +
      'add element ip tandem rs_tcp_192_0_2_10_443 { 198.51.100.1 . 443 : 9 }\n');
  });

  it('removing a service removes its objects and its dispatch element, nothing else', () => {
    const t = sampleTable();
    const after = new Map(t);
    after.delete('TCP 192.0.2.10:80');
    const script = diffScript(modelOf(t), modelOf(after));
    for (const l of script.trim().split('\n')) assert.match(l, /tcp_192_0_2_10(_80)?\b|dispatch \{ 192\.0\.2\.10 \. tcp(\. 80)?/, l);
    assert.match(script, /delete element ip tandem dispatch \{ 192\.0\.2\.10 \. tcp \. 80 \}/);
    assert.match(script, /delete chain ip tandem svc_tcp_192_0_2_10_80/);
    assert.match(script, /delete map ip tandem persist_tcp_192_0_2_10_80/);
  });

  it('the last service of a family removes that family\'s table', () => {
    const t = sampleTable();
    const after = new Map([...t].filter(([, e]) => e.service.id.family === 4));
    assert.equal(diffScript(modelOf(t), modelOf(after)), 'delete table ip6 tandem\n');
  });
});
