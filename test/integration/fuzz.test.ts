// The short run of the fuzz campaign (issue 12 §6; the long run is `npm run fuzz`, its figures
// in docs/fuzzing.md): every kind of hostile VRRP packet at 20,000 packets/s against a tandem
// MASTER with a tandem BACKUP beside it, and mutated configs through check, import and a running
// daemon's reload. The seed is printed, so a failure can be replayed with
// `npm run fuzz -- --seed S`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireLabTools } from '../lib/netns.js';
import { runWireFuzz } from '../fuzz/wire.js';
import { runConfigFuzz } from '../fuzz/configs.js';
import { WIRE_KINDS } from '../fuzz/wireKinds.js';

const seed = Number(process.env.TANDEM_FUZZ_SEED ?? (Date.now() & 0x7fffffff));

test(`fuzz, wire: ${WIRE_KINDS.length} kinds of hostile packet at 20,000/s, each counted by its reason; the master holds (seed ${seed})`, { timeout: 240_000 }, async () => {
  requireLabTools('cc');
  const lines: string[] = [];
  const r = await runWireFuzz({ packets: WIRE_KINDS.length * 2000, rate: 20_000, seed, log: (l) => lines.push(l) });
  const detail = `seed ${seed}\n${lines.join('\n')}\nviolations: ${r.stateViolations.slice(0, 10).join('; ')}\ncrash lines: ${r.crashLines.slice(0, 5).join('; ')}`;
  assert.equal(r.control.accepted, r.control.sent, `the control's valid adverts must be accepted (the sender works)\n${detail}`);
  assert.equal(r.kinds.length, WIRE_KINDS.length, detail);
  for (const k of r.kinds) {
    assert.equal(k.counted + k.kernelDrops, k.sent, `${k.kind}: every packet counted as ${k.reason ?? 'a drop'} (or a kernel drop)\n${detail}`);
    assert.deepEqual(k.wrong, {}, `${k.kind}: nothing accepted or counted under another reason\n${detail}`);
  }
  assert.ok(r.stateSamples >= 10 && r.vipSamples >= 5, `the master's state was sampled throughout (${r.stateSamples} states, ${r.vipSamples} VIP lists)`);
  assert.deepEqual(r.stateViolations, [], detail);
  assert.deepEqual(r.crashLines, [], detail);
  assert.ok(r.ok, detail);
});

test(`fuzz, configs: mutated configs through check, import and a running daemon's reload answer 0 or 2 (import: 3 with notes), located, never a crash (seed ${seed})`, { timeout: 240_000 }, async () => {
  requireLabTools();
  const lines: string[] = [];
  const r = await runConfigFuzz({ count: 400, seed, log: (l) => lines.push(l), reloads: 40 });
  const detail = `seed ${seed}\n${lines.join('\n')}\n${r.failures.slice(0, 10).join('\n')}`;
  assert.equal(r.doors.length, 3, detail);
  for (const d of r.doors) {
    const codes = Object.keys(d.exitCodes);
    // tandem import exits 3 for a conversion with notes (src/config/import/cli.ts).
    assert.ok(codes.every((c) => c === '0' || c === '2' || (d.door === 'import' && c === '3')), `${d.door}: exit codes ${JSON.stringify(d.exitCodes)}\n${detail}`);
    // Both answers occur: the mutations reach valid and invalid configs alike.
    assert.ok(d.exitCodes['2']! > 0, `${d.door}: some mutant must be refused\n${detail}`);
  }
  assert.ok(r.doors.find((d) => d.door === 'check')!.realProcesses > 0, 'a sample ran as real bin/tandem processes');
  assert.deepEqual(r.failures, [], detail);
  assert.ok(r.ok, detail);
});
