// `npm run fuzz`: the fuzz campaign of docs/fuzzing.md (issue 12 §6), as root.
//   npm run fuzz -- [--packets N] [--rate PPS] [--configs N] [--seed S] [--only KIND,...]
//                   [--wire-only | --configs-only] [--doors check,import,reload] [--out FILE.json]
// Defaults are the long run: 1,000,000 packets at 20,000 packets/s and 10,000 configs through
// each of check, import and a running daemon's reload. Exit 0 when every check held.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runWireFuzz, type WireFuzzReport } from './wire.js';
import { runConfigFuzz, type ConfigFuzzReport } from './configs.js';

const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '1000000' },
    rate: { type: 'string', default: '20000' },
    configs: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    only: { type: 'string' },
    doors: { type: 'string' },
    'wire-only': { type: 'boolean', default: false },
    'configs-only': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) : (Date.now() & 0x7fffffff);
const log = (l: string) => process.stdout.write(l + '\n');
log(`fuzz seed ${seed} (replay with --seed ${seed})`);
let wire: WireFuzzReport | undefined;
let configs: ConfigFuzzReport | undefined;
if (!values['configs-only']) {
  wire = await runWireFuzz({
    packets: Number(values.packets), rate: Number(values.rate), seed, log,
    only: values.only ? values.only.split(',') : undefined,
  });
  log(`wire: ${wire.totalSent} packets in ${wire.kinds.length} kinds, ${wire.seconds.toFixed(1)} s; ` +
    `${wire.stateSamples} state and ${wire.vipSamples} VIP samples, ${wire.stateViolations.length} violations; ${wire.ok ? 'OK' : 'FAILED'}`);
  for (const v of wire.stateViolations.slice(0, 20)) log(`  violation: ${v}`);
  for (const c of wire.crashLines.slice(0, 20)) log(`  crash: ${c}`);
}
if (!values['wire-only']) {
  configs = await runConfigFuzz({
    count: Number(values.configs), seed, log,
    doors: values.doors ? (values.doors.split(',') as Array<'check' | 'import' | 'reload'>) : undefined,
  });
  log(`configs: ${configs.summary}; ${configs.ok ? 'OK' : 'FAILED'}`);
  for (const f of configs.failures.slice(0, 20)) log(`  failure: ${f}`);
}
if (values.out) writeFileSync(values.out, JSON.stringify({ seed, wire, configs }, null, 2) + '\n');
process.exitCode = (wire?.ok ?? true) && (configs?.ok ?? true) ? 0 : 1;
