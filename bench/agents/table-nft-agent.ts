// Runs inside a network namespace that bench/tableNft.ts created (nft needs no VM: this kernel has
// nftables): times tandem's nftables backend against `nft -f` of a hand-written ruleset on the
// same 10,000 real servers, then prints one line `TABLE-NFT-RESULT {json}` with the raw samples;
// the parent computes medians and ratios.
//   1. From empty: a reconciler pass (read the empty table, desired, reconcile(), NftBackend.apply)
//      vs `nft -f` of renderRuleset(the same table) written to a file beforehand. K runs each,
//      the order rotating; tandem's tables are deleted before every run.
//   2. One change (one real server's weight) on the full table: NftBackend.apply of the one
//      edit_dest op vs `nft -f` of the minimal hand-written change (the service's weighted
//      selection rebuilt, and nothing else). M changes each, alternating.
// After every run and change the kernel's table is read back (untimed) and compared.
//
//   node table-nft-agent.js '{"runs":5,"changes":20}'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bigConfig, DESTS_PER_SERVICE, SERVICES, timedSpawn, type SpawnResult } from '../lib/bigTable.js';
import type { RealServerHealth } from '../../src/check/health.js';
import { desiredTable } from '../../src/lb/desired.js';
import { destKey } from '../../src/config/lbModel.js';
import { type LbTable, sameDest } from '../../src/lb/model.js';
import { NftBackend } from '../../src/lb/nft/backend.js';
import { renderRuleset } from '../../src/lb/nft/render.js';
import { reconcile, type TableOp } from '../../src/lb/reconcile.js';
import { Reconciler } from '../../src/lb/reconciler.js';
import { minimalWeightChange } from './table-nft-minimal.js';
import { createSystemTimers } from '../../src/timers.js';




async function nft(...args: string[]): Promise<SpawnResult> {
  const r = await timedSpawn('nft', args);
  if (r.code !== 0) throw new Error(`nft ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(0, 2000)}`);
  return r;
}

/** Deletes tandem's tables (this namespace belongs to the bench; nothing else is in it). */
async function emptyTandemTables(): Promise<void> {
  const r = await nft('list', 'tables');
  for (const line of r.stdout.split('\n')) {
    const m = /^table (ip|ip6|inet) (tandem\S*)$/.exec(line.trim());
    if (m) await nft('delete', 'table', m[1]!, m[2]!);
  }
}

/** Differences between two tables, in words (empty = the same). */
function compareTables(want: LbTable, got: LbTable): string[] {
  const out: string[] = [];
  if (want.size !== got.size) out.push(`${got.size} services, want ${want.size}`);
  for (const [k, w] of want) {
    const g = got.get(k);
    if (!g) { out.push(`service ${k} missing`); continue; }
    if (g.dests.size !== w.dests.size) out.push(`${k}: ${g.dests.size} real servers, want ${w.dests.size}`);
    for (const [dk, d] of w.dests) {
      const gd = g.dests.get(dk);
      if (!gd || !sameDest(d, gd)) out.push(`${k} -> ${dk}: ${gd ? `weight ${gd.weight} ${gd.forwarding}` : 'missing'}, want weight ${d.weight} ${d.forwarding}`);
    }
    if (out.length > 10) break;
  }
  return out;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as { runs?: number; changes?: number };
  const runs = args.runs ?? 5;
  const changes = args.changes ?? 20;
  const config = bigConfig('wrr', (j) => 1 + (j % 3));
  const backend = new NftBackend({ timeoutMs: 300_000 });
  const errors: string[] = [];
  const health = new Map<string, RealServerHealth>();
  const desired = (): LbTable => desiredTable(config, health, new Map()).table;
  const full = desired();
  const fromEmpty = reconcile(full, new Map(), new Set());
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-nft-'));
  try {
    // The hand-written baseline: the same table as one nft script, written before any timing.
    const rulesetFile = join(dir, 'ruleset.nft');
    const script = renderRuleset(full);
    writeFileSync(rulesetFile, script);

    // 1. From empty, K times each, rotating which side goes first.
    const applyRuns: Array<{ run: number; first: string; tandemApplyMs: number; tandemPassMs: number; tandemReadMs: number; nftFileMs: number }> = [];
    const order = ['tandem', 'nft-f'] as const;
    for (let i = 0; i < runs; i++) {
      const sides = [0, 1].map((k) => order[(i + k) % 2]!);
      const row = { run: i + 1, first: sides[0]!, tandemApplyMs: NaN, tandemPassMs: NaN, tandemReadMs: NaN, nftFileMs: NaN };
      for (const side of sides) {
        await emptyTandemTables();
        if (side === 'tandem') {
          const rec = new Reconciler({ timers: createSystemTimers(), backend, intervalMs: 600_000, desired });
          const p = await rec.passNow();
          if ('error' in p) throw p.error;
          if (p.ops.length !== fromEmpty.length || !p.result || p.result.refused.length > 0) {
            errors.push(`run ${i + 1} tandem: ${p.ops.length} ops, ${p.result?.refused.length} refused ${JSON.stringify(p.result?.refused.slice(0, 3))}`);
          }
          row.tandemApplyMs = p.result?.durationMs ?? NaN;
          row.tandemPassMs = p.totalMs;
          row.tandemReadMs = p.readMs;
        } else {
          const r = await timedSpawn('nft', ['-f', rulesetFile]);
          if (r.code !== 0) errors.push(`run ${i + 1} nft -f exited ${r.code}: ${r.stderr.slice(0, 500)}`);
          row.nftFileMs = r.ms;
        }
        const diff = compareTables(full, await backend.readTable());
        if (diff.length > 0) errors.push(`run ${i + 1} ${side}: the table read back differs: ${diff.join('; ')}`);
      }
      applyRuns.push(row);
      console.error(`run ${i + 1}/${runs}: tandem apply ${row.tandemApplyMs.toFixed(0)} ms (pass ${row.tandemPassMs.toFixed(0)} ms), nft -f ${row.nftFileMs.toFixed(0)} ms`);
    }

    // 2. One weight change on the full table (the last run left it in place). Each change flips
    // one real server's weight between its configured value and 10; tandem diffs against the
    // table read back (untimed) and applies the one edit_dest op; the baseline is the minimal
    // hand-written nft change for the same thing. The order alternates per pair.
    await emptyTandemTables();
    {
      await backend.readTable(); // the backend diffs against what it last read: now empty
      const r = await backend.apply(fromEmpty);
      if (r.refused.length > 0) errors.push(`change setup: ${r.refused.length} refused`);
    }
    const changeRuns: Array<{ change: number; side: string; service: string; dest: string; weight: number; ms: number; diffApplyMs: number; inKernel: boolean }> = [];
    for (let i = 0; i < changes * 2; i++) {
      const pair = Math.floor(i / 2);
      const side = (i + pair) % 2 === 0 ? 'tandem' : 'nft-f';
      const vs = config[(pair * 37) % SERVICES]!;
      const rs = vs.realServers[(pair * 53 + (i % 2) * 7) % DESTS_PER_SERVICE]!;
      const current = health.get(rs.id)?.weight ?? rs.dest.weight;
      const weight = current === rs.dest.weight ? 10 : rs.dest.weight;
      health.set(rs.id, { up: true, weight });
      const want = desired();
      const actual = await backend.readTable();
      let ms = NaN;
      let diffApplyMs = NaN;
      if (side === 'tandem') {
        const t0 = performance.now();
        const ops: TableOp[] = reconcile(new Map([[vs.key, want.get(vs.key)!]]), new Map([[vs.key, actual.get(vs.key)!]]), new Set([vs.key]));
        const r = await backend.apply(ops);
        diffApplyMs = performance.now() - t0;
        ms = r.durationMs;
        if (ops.length !== 1 || ops[0]!.op !== 'edit_dest' || r.refused.length > 0) {
          errors.push(`change ${i + 1} tandem: ${ops.map((o) => o.op).join(',')}, ${r.refused.length} refused`);
        }
      } else {
        const file = join(dir, `change-${i}.nft`);
        writeFileSync(file, minimalWeightChange(want, vs.key, want.get(vs.key)!.dests.get(destKey(rs.dest))!));
        const r = await timedSpawn('nft', ['-f', file]);
        ms = r.ms;
        if (r.code !== 0) errors.push(`change ${i + 1} nft -f exited ${r.code}: ${r.stderr.slice(0, 500)}`);
      }
      const diff = compareTables(want, await backend.readTable());
      if (diff.length > 0) errors.push(`change ${i + 1} ${side}: the table read back differs: ${diff.join('; ')}`);
      changeRuns.push({ change: i + 1, side, service: vs.key, dest: destKey(rs.dest), weight, ms, diffApplyMs, inKernel: diff.length === 0 });
    }

    const t0 = performance.now();
    const readBack = await backend.readTable();
    const readMs = performance.now() - t0;
    if (compareTables(desired(), readBack).length > 0) errors.push('final read differs');
    await emptyTandemTables();
    const kernel = (await timedSpawn('uname', ['-r'])).stdout.trim();
    const version = (await nft('--version')).stdout.trim();
    console.log(`TABLE-NFT-RESULT ${JSON.stringify({
      kernel, nft: version, cpus: cpus().length, ops: fromEmpty.length, scriptBytes: script.length,
      scriptLines: script.split('\n').length, applyRuns, changeRuns, readMs, errors,
    })}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`TABLE-NFT-AGENT-FAILED ${e instanceof Error ? e.stack : String(e)}`);
  process.exitCode = 1;
});
