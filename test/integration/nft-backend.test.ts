// The nft backend against the real nft (1.0.6) in a namespace this test creates: a table applied
// and read back equal; a weight change touching only that service's objects (handles of the
// others unchanged); drift made by hand restored by the reconciler; a foreign table left
// byte-identical; 1,000+ real servers from empty in one transaction.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsRun, removeStaleNamespaces, requireRoot, requireTools, run } from '../lib/netns.js';
import { NftBackend } from '../../src/lb/nft/backend.js';
import { reconcile } from '../../src/lb/reconcile.js';
import { Reconciler } from '../../src/lb/reconciler.js';
import { type LbTable, tableOf } from '../../src/lb/model.js';
import type { RealServer, VirtualService } from '../../src/config/lbModel.js';
import { sampleTable } from '../lib/nftSample.js';
import { createSystemTimers } from '../../src/timers.js';

const PREFIX = 'tnft';
const NS = `${PREFIX}${process.pid}-1`;
let dir = '';
let nftWrapper = '';

const nft = (...args: string[]) => nsRun(NS, ['nft', ...args]);
const listJson = async (family: 'ip' | 'ip6', table = 'tandem') => JSON.parse((await nft('-j', 'list', 'table', family, table)).stdout) as { nftables: Array<Record<string, any>> };

/** `kind name -> handle` of every object and rule (rules keyed by chain and position). */
function handles(doc: { nftables: Array<Record<string, any>> }): Map<string, string> {
  const out = new Map<string, string>();
  const pos = new Map<string, number>();
  for (const o of doc.nftables) {
    const [kind, v] = Object.entries(o)[0]!;
    if (kind === 'rule') {
      const i = pos.get(v.chain) ?? 0;
      pos.set(v.chain, i + 1);
      out.set(`rule ${v.chain}#${i}`, `${v.handle} ${JSON.stringify(v.expr)}`);
    } else if (kind === 'map' || kind === 'chain') out.set(`${kind} ${v.name}`, `${v.handle} ${JSON.stringify({ ...v, handle: 0 })}`);
  }
  return out;
}

function equalTables(backendTable: LbTable, want: LbTable): void {
  assert.deepEqual(reconcile(want, backendTable, new Set(want.keys())), []);
  assert.deepEqual([...backendTable.keys()].sort(), [...want.keys()].sort());
}

describe('nft backend (real nft in a namespace)', () => {
  before(async () => {
    requireRoot();
    requireTools('ip', 'nft');
    removeStaleNamespaces(PREFIX);
    await run(['ip', 'netns', 'add', NS]);
    dir = mkdtempSync(join(tmpdir(), 'tandem-nft-'));
    // The backend spawns `nft` from an argv; this wrapper runs it inside the test's namespace.
    nftWrapper = join(dir, 'nft');
    writeFileSync(nftWrapper, `#!/bin/sh\nexec ip netns exec ${NS} nft "$@"\n`);
    chmodSync(nftWrapper, 0o755);
  });

  after(async () => {
    await run(['ip', 'netns', 'del', NS], { allowFail: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('applies a table from empty in one transaction and reads it back equal', async () => {
    const b = new NftBackend({ nft: nftWrapper });
    const want = sampleTable();
    const empty = await b.readTable();
    assert.equal(empty.size, 0);
    const ops = reconcile(want, empty, new Set(want.keys()));
    const r = await b.apply(ops);
    assert.deepEqual(r.refused, []);
    assert.equal(r.exitStatus, 0);
    equalTables(await new NftBackend({ nft: nftWrapper }).readTable(), want);
  });

  it('a weight change rewrites only that service\'s objects', async () => {
    const b = new NftBackend({ nft: nftWrapper });
    const want = sampleTable();
    equalTables(await b.readTable(), want);
    const before4 = handles(await listJson('ip'));
    const before6 = handles(await listJson('ip6'));
    const key = 'TCP 192.0.2.10:80';
    const e = want.get(key)!;
    const dests = new Map(e.dests);
    dests.set('198.51.100.2:8080', { ...dests.get('198.51.100.2:8080')!, weight: 4 });
    const changed = new Map(want).set(key, { service: e.service, dests });
    const r = await b.apply(reconcile(changed, await b.readTable(), new Set(want.keys())));
    assert.deepEqual(r.refused, []);
    equalTables(await b.readTable(), changed);
    const after4 = handles(await listJson('ip'));
    const differs = [...new Set([...before4.keys(), ...after4.keys()])].filter((k) => before4.get(k) !== after4.get(k)).sort();
    assert.deepEqual(differs, ['map rs_tcp_192_0_2_10_80', 'rule svc_tcp_192_0_2_10_80#0', 'rule svc_tcp_192_0_2_10_80#1', 'rule svc_tcp_192_0_2_10_80#2']);
    assert.deepEqual(handles(await listJson('ip6')), before6);
    // Put the sample back for the next tests.
    await b.apply(reconcile(want, await b.readTable(), new Set(want.keys())));
    equalTables(await b.readTable(), want);
  });

  it('drift made by hand (a rule, an element, a chain flushed) is restored by the reconciler', async () => {
    const want = sampleTable();
    const backend = new NftBackend({ nft: nftWrapper });
    const rec = new Reconciler({ timers: createSystemTimers(), backend, desired: () => want, intervalMs: 60_000 });
    const doc = await listJson('ip');
    const rule = doc.nftables.find((o) => o.rule?.chain === 'svc_tcp_192_0_2_10_443')!.rule;
    await nft('delete', 'rule', 'ip', 'tandem', 'svc_tcp_192_0_2_10_443', 'handle', String(rule.handle));
    await nft('delete', 'element', 'ip', 'tandem', 'rs_udp_192_0_2_11_53', '{ 198.51.100.2 . 53 }');
    await nft('flush', 'chain', 'ip6', 'tandem', 'prerouting');
    const drifted = await new NftBackend({ nft: nftWrapper }).readTable();
    assert.notDeepEqual(reconcile(want, drifted, new Set(want.keys())), []);
    const report = await rec.passNow();
    assert.ok(!('error' in report), String((report as { error?: unknown }).error));
    assert.deepEqual(report.result?.refused, []);
    assert.ok(report.ops.length >= 3, `ops: ${report.ops.length}`);
    equalTables(await new NftBackend({ nft: nftWrapper }).readTable(), want);
    // The repaired rules are the rendered ones again.
    const again = await listJson('ip6');
    assert.equal(again.nftables.filter((o) => o.rule?.chain === 'prerouting').length, 2);
  });

  it('a foreign table with the same hooks stays byte-identical through passes and a service removal', async () => {
    const foreign = `table ip other {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 203.0.113.5 tcp dport 8080 dnat to 203.0.113.6:80
		counter
	}
}
`;
    await nsRun(NS, ['nft', '-f', '-'], { input: foreign });
    const listOther = async () => (await nft('list', 'table', 'ip', 'other')).stdout;
    const listOtherJson = async () => (await nft('-j', 'list', 'table', 'ip', 'other')).stdout;
    const text0 = await listOther();
    const json0 = await listOtherJson();
    const want = sampleTable();
    const backend = new NftBackend({ nft: nftWrapper });
    const rec = new Reconciler({ timers: createSystemTimers(), backend, desired: () => want, intervalMs: 60_000 });
    await rec.passNow();
    await rec.passNow();
    assert.equal(await listOther(), text0);
    assert.equal(await listOtherJson(), json0);
    const fewer = new Map(want);
    fewer.delete('TCP 192.0.2.10:80');
    fewer.delete('TCP [2001:db8::10]:80');
    const r = await backend.apply(reconcile(fewer, await backend.readTable(), new Set(want.keys())));
    assert.deepEqual(r.refused, []);
    equalTables(await backend.readTable(), fewer);
    assert.equal(await listOther(), text0);
    assert.equal(await listOtherJson(), json0);
    // Removing every service removes tandem's tables and still nothing else.
    await backend.apply(reconcile(new Map(), await backend.readTable(), new Set(want.keys())));
    assert.equal((await backend.readTable()).size, 0);
    const tables = (await nft('list', 'tables')).stdout;
    assert.equal(tables.trim(), 'table ip other');
    assert.equal(await listOther(), text0);
    await nft('delete', 'table', 'ip', 'other');
  });

  it('a restarted daemon removes a service the config dropped while it was down (tandem owns its tables)', async () => {
    const want = sampleTable();
    const first = new Reconciler({ timers: createSystemTimers(), backend: new NftBackend({ nft: nftWrapper }), desired: () => want, intervalMs: 60_000 });
    await first.passNow();
    equalTables(await new NftBackend({ nft: nftWrapper }).readTable(), want);
    // A new process (a new reconciler that never desired it) whose config lacks one service.
    const fewer = new Map(want);
    fewer.delete('TCP 192.0.2.10:443');
    const second = new Reconciler({ timers: createSystemTimers(), backend: new NftBackend({ nft: nftWrapper }), desired: () => fewer, intervalMs: 60_000 });
    const report = await second.passNow();
    assert.ok(!('error' in report), String((report as { error?: unknown }).error));
    assert.deepEqual(report.ops.map((o) => o.op), ['delete_service']);
    equalTables(await new NftBackend({ nft: nftWrapper }).readTable(), fewer);
    // Leave the namespace as the previous test did: no tandem tables.
    const last = new NftBackend({ nft: nftWrapper });
    await last.apply(reconcile(new Map(), await last.readTable(), new Set(want.keys())));
  });

  it('1,200 real servers apply from empty in one nft transaction and read back equal', async () => {
    const svc = (port: number, scheduler: string): VirtualService => ({
      id: { kind: 'inet', family: 4, protocol: 'TCP', address: '192.0.2.20', port }, scheduler, persistence: null, pe: null, ops: false, schedFlags: [],
    });
    const servers = (port: number): RealServer[] => Array.from({ length: 600 }, (_, i) => ({
      family: 4, address: `198.51.100.${(i % 250) + 1}`, port: 10_000 + Math.floor(i / 250) * 1000 + port, forwarding: 'NAT', weight: (i % 5) + 1, tunnel: null,
    }));
    const want = tableOf([{ service: svc(80, 'wrr'), dests: servers(80) }, { service: svc(443, 'sh'), dests: servers(443) }]);
    // Count nft runs: a wrapper around the wrapper that logs each call.
    const log = join(dir, 'calls.log');
    const counting = join(dir, 'nft-counting');
    writeFileSync(counting, `#!/bin/sh\necho "$*" >> ${log}\nexec ${nftWrapper} "$@"\n`);
    chmodSync(counting, 0o755);
    const backend = new NftBackend({ nft: counting });
    const ops = reconcile(want, await backend.readTable(), new Set(want.keys()));
    // The read above is remembered: apply() itself runs nft once.
    writeFileSync(log, '');
    assert.equal(ops.length, 1202);
    const t0 = performance.now();
    const r = await backend.apply(ops);
    const ms = performance.now() - t0;
    assert.deepEqual(r.refused, []);
    assert.equal(r.sent, 1202);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['-f -']);
    // One transaction: one nft -f run whose script creates the table and all 1,200 elements.
    assert.equal(backend.lastScript.match(/^add table ip tandem$/gm)?.length, 1);
    // Each server once in its service's record (addr . port : weight) and once in its scheduling map.
    assert.equal(backend.lastScript.match(/198\.51\.100\.\d+ \. \d+ : \d/g)?.length, 1200);
    assert.equal(backend.lastScript.match(/\d : 198\.51\.100\.\d+ \. \d+/g)?.length, 1200);
    equalTables(await new NftBackend({ nft: nftWrapper }).readTable(), want);
    assert.ok(ms < 30_000, `took ${ms} ms`);
    await backend.apply(reconcile(new Map(), await backend.readTable(), new Set(want.keys())));
  });
});
