// `tandem realserver -f FILE [--check | --remove]`: load the real server's config, then plan
// (realserver/plan.ts) and carry out (realserver/host.ts) until nothing is left to do; --check
// only reports; --remove undoes what the record says tandem did. Exit codes: 0 ready / removed
// (--check: ready), 1 not ready (--check) or a step failed or cannot be done, 2 bad config or usage.
import { parseArgs } from 'node:util';
import { formatConfigError } from '../config/errors.js';
import { loadRealServerFile, type RealServerConfig } from '../config/realServerConfig.js';
import {
  MAX_ROUNDS, describeStep, describeUndo, planRemove, planSetup, recordSteps, recordUndos, sideEffectUndos, sysctlNeeds, vipDevice,
  type HostState, type Plan, type Step, type Undo,
} from './plan.js';
import { applyStep, deleteRecord, listAddressTexts, readHostState, readRecord, writeRecord, type RealServerRecord } from './host.js';

export interface Output { out: (line: string) => void; err: (line: string) => void }

const USAGE = 'usage: tandem realserver -f FILE [--check | --remove]';

const stdio: Output = {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
};

export function runRealServerCli(argv: string[], io: Output = stdio): number {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: {
      config: { type: 'string', short: 'f' }, check: { type: 'boolean' }, remove: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    } }));
  } catch (e) {
    io.err(`tandem realserver: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) { io.out(USAGE); return 0; }
  if (!values.config) { io.err(`tandem realserver: -f FILE is required\n${USAGE}`); return 2; }
  if (values.check && values.remove) { io.err(`tandem realserver: --check and --remove exclude each other\n${USAGE}`); return 2; }
  const loaded = loadRealServerFile(values.config);
  if (!loaded.ok) {
    for (const e of loaded.errors) io.err(formatConfigError(e));
    io.err(`${values.config}: ${loaded.errors.length} error${loaded.errors.length === 1 ? '' : 's'}: nothing changed`);
    return 2;
  }
  try {
    if (values.check) return check(loaded.config, io);
    if (values.remove) return remove(loaded.config, io);
    return setup(loaded.config, io);
  } catch (e) {
    io.err(`tandem realserver: ${(e as Error).message}`);
    return 1;
  }
}

function stateFor(config: RealServerConfig): HostState {
  return readHostState([config.interface, vipDevice(config)], sysctlNeeds(config).map((n) => n.key));
}

function printBlockers(plan: Plan, io: Output): void {
  for (const b of plan.blockers) io.err(`cannot: ${b.what}: ${b.why}`);
}

function setup(config: RealServerConfig, io: Output): number {
  const previous = readRecord(config.recordFile);
  let undos: Undo[] = previous?.undos ?? [];
  const taken: Step[] = [];
  const save = () => writeRecord(config.recordFile, { version: 1, config: config.file, mode: config.mode, undos } satisfies RealServerRecord);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const plan = planSetup(config, stateFor(config));
    if (plan.blockers.length) {
      printBlockers(plan, io);
      io.err(`${config.file}: not ready${taken.length ? ` (${taken.length} change${taken.length === 1 ? '' : 's'} made; --remove undoes them)` : ': nothing changed'}`);
      return 1;
    }
    if (plan.steps.length === 0) {
      if (taken.length === 0) io.out(`${config.file}: ready (${config.mode}): nothing to change`);
      else io.out(`${config.file}: ready (${config.mode}): ${taken.length} change${taken.length === 1 ? '' : 's'}; tandem realserver --remove undoes them (record ${config.recordFile})`);
      return 0;
    }
    for (const step of plan.steps) {
      const before = step.kind === 'link_up' ? listAddressTexts(step.ifname) : [];
      try {
        applyStep(step);
      } catch (e) {
        io.err(`failed: ${describeStep(step)}: ${(e as Error).message}`);
        if (taken.length) io.err(`${config.file}: not ready (${taken.length} change${taken.length === 1 ? '' : 's'} made; --remove undoes them)`);
        return 1;
      }
      taken.push(step);
      undos = recordSteps(undos, [step]);
      if (step.kind === 'link_up') undos = recordUndos(undos, sideEffectUndos(step, before, listAddressTexts(step.ifname)));
      // After each step, so that a failure or a crash later still leaves what --remove needs.
      save();
      io.out(describeStep(step));
    }
  }
  io.err(`${config.file}: the host did not settle after ${MAX_ROUNDS} rounds (someone else changing it?)`);
  return 1;
}

function check(config: RealServerConfig, io: Output): number {
  const plan = planSetup(config, stateFor(config));
  printBlockers(plan, io);
  for (const s of plan.steps) io.out(`missing: ${describeStep(s)}`);
  if (config.tunnel && plan.steps.some((s) => s.kind === 'create_tunnel')) io.out(`missing: the VIPs and sysctls of ${config.tunnel.name}, once it exists`);
  const n = plan.steps.length + plan.blockers.length;
  if (n === 0) { io.out(`${config.file}: ready (${config.mode})`); return 0; }
  io.out(`${config.file}: not ready (${config.mode}): ${n} thing${n === 1 ? '' : 's'} missing`);
  return 1;
}

function remove(config: RealServerConfig, io: Output): number {
  const record = readRecord(config.recordFile);
  if (!record) { io.out(`${config.file}: nothing to remove (no record at ${config.recordFile})`); return 0; }
  const links = new Set<string>();
  const keys = new Set<string>();
  for (const u of record.undos) {
    if (u.kind === 'delete_tunnel') links.add(u.name);
    else if (u.kind === 'link_down' || u.kind === 'delete_address') links.add(u.ifname);
    else keys.add(u.key);
  }
  const plan = planRemove(record.undos, readHostState([...links], [...keys]));
  for (const step of plan.steps) {
    try {
      applyStep(step);
    } catch (e) {
      // The record stays: a second --remove skips what is already undone (planRemove reads the host).
      io.err(`failed: ${describeStep(step)}: ${(e as Error).message}`);
      return 1;
    }
    io.out(describeStep(step));
  }
  for (const l of plan.left) io.out(`left: ${describeUndo(l.undo)}: ${l.why}`);
  deleteRecord(config.recordFile);
  io.out(`${config.file}: removed (${plan.steps.length} change${plan.steps.length === 1 ? '' : 's'} undone)`);
  return 0;
}
