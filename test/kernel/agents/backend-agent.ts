// Runs inside the kernel-tier VM (test/kernel/ipvs-backend.test.ts): drives the real ipvsadm
// backend and the reconciler against the VM's IPVS table and prints one JSON line
// (`AGENT-RESULT {...}`) with what it saw; the host-side test asserts on it. The script that
// starts it has already added a foreign service by hand and a dummy interface that routes the
// real servers' documentation subnet (IPVS refuses a real server it has no route to).
import { execFileSync } from 'node:child_process';
import type { VirtualServerConfig, RealServer, ServiceAddress, VirtualService } from '../../../src/config/lbModel.js';
import type { RealServerHealth } from '../../../src/check/health.js';
import { desiredTable } from '../../../src/lb/desired.js';
import { IpvsadmBackend } from '../../../src/lb/ipvs/backend.js';
import { parseIpvsSave } from '../../../src/lb/ipvs/parse.js';
import { renderOps } from '../../../src/lb/ipvs/render.js';
import type { LbTable } from '../../../src/lb/model.js';
import { describeOp } from '../../../src/lb/reconcile.js';
import { Reconciler, type PassReport } from '../../../src/lb/reconciler.js';
import { hundredByHundred, vs } from './virtualServer.js';
import { createSystemTimers } from '../../../src/timers.js';

const saveText = (): string => execFileSync('ipvsadm', ['-S', '-n'], { encoding: 'utf8' });
const ipvsadm = (...args: string[]): void => { execFileSync('ipvsadm', args, { stdio: 'inherit' }); };

async function main(): Promise<void> {
  const out: Record<string, unknown> = {};
  const backend = new IpvsadmBackend({ timeoutMs: 120_000 });

  // 1. A small config applied from empty (only the foreign service is in the kernel).
  const web: ServiceAddress = { kind: 'inet', family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 };
  const config: VirtualServerConfig[] = [
    vs(web, 'wrr', [11, 12, 13].map((n) => ({ address: `198.51.100.${n}`, port: 8080, weight: n - 10, fwd: 'NAT' as const }))),
    vs({ kind: 'inet', family: 4, protocol: 'UDP', address: '192.0.2.100', port: 53 }, 'rr',
      [21, 22].map((n) => ({ address: `198.51.100.${n}`, port: 53, weight: 1, fwd: 'DR' as const }))),
    vs({ kind: 'fwmark', family: 4, fwmark: 7 }, 'sh', [31].map((n) => ({ address: `198.51.100.${n}`, port: 0, weight: 5, fwd: 'DR' as const }))),
  ];
  const health = new Map<string, RealServerHealth>();
  let quorum = new Map<string, boolean>();
  const desired = (): LbTable => {
    const r = desiredTable(config, health, quorum);
    quorum = r.quorum;
    return r.table;
  };
  const passes: PassReport[] = [];
  const errors: string[] = [];
  const rec = new Reconciler({ timers: createSystemTimers(),
    backend, desired, intervalMs: 1000,
    onPass: (p) => passes.push(p), onError: (e) => errors.push(String(e.error)),
  });
  const first = await rec.passNow();
  if ('error' in first) throw first.error;
  out.initialOps = first.ops.map(describeOp);
  out.initialRefused = first.result?.refused ?? [];
  out.afterInitial = saveText();

  // 2. An immediate second pass has nothing to do.
  const idle = await rec.passNow();
  out.idleOps = 'error' in idle ? -1 : idle.ops.length;

  // 3. Drift by hand: a real server deleted, one re-weighted, one added to an owned service.
  ipvsadm('-d', '-t', '192.0.2.100:80', '-r', '198.51.100.11:8080');
  ipvsadm('-e', '-t', '192.0.2.100:80', '-r', '198.51.100.12:8080', '-m', '-w', '9');
  ipvsadm('-a', '-t', '192.0.2.100:80', '-r', '198.51.100.19:8080', '-m', '-w', '1');
  out.drifted = saveText();
  const fix = await rec.passNow();
  if ('error' in fix) throw fix.error;
  out.driftOps = fix.ops.map(describeOp);
  out.afterDrift = saveText();

  // 4. The same through the running loop (interval 1 s): a drift is undone by the next periodic pass.
  rec.start();
  await waitFor(() => passes.length >= 4, 10_000); // the start pass
  const mark = passes.length;
  ipvsadm('-e', '-t', '192.0.2.100:80', '-r', '198.51.100.13:8080', '-m', '-w', '42');
  await waitFor(() => passes.slice(mark).some((p) => p.ops.length > 0), 5000);
  // Which passes ran after the drift, up to the one that undid it: "the next periodic pass" is
  // the claim (how long that takes is bench:table's to measure).
  out.loopPasses = passes.slice(mark).map((p) => ({ cause: p.cause, read: p.read, ops: p.ops.length }));
  out.loopDriftOps = passes.slice(mark).flatMap((p) => p.ops.map(describeOp));

  // 5. A health change: trigger() makes one pass with exactly one op.
  const down = config[0]!.realServers[1]!;
  health.set(down.id, { up: false, weight: down.dest.weight });
  const mark2 = passes.length;
  rec.trigger();
  rec.trigger(); // coalesced
  await waitFor(() => passes.length > mark2, 5000);
  out.healthOps = passes.slice(mark2).flatMap((p) => p.ops.map(describeOp));
  await rec.stop();
  // Up to stop(): the two triggers made one pass (any other pass is a periodic one).
  out.healthCauses = passes.slice(mark2).map((p) => p.cause);
  out.afterHealth = saveText();
  out.errors = errors;

  // 6. Kernel refusals are data: which ops failed, with ipvsadm's message, the rest applied.
  const svc = (address: string, scheduler: string): VirtualService =>
    ({ id: { kind: 'inet', family: 4, protocol: 'TCP', address, port: 80 }, scheduler, persistence: null, pe: null, ops: false, schedFlags: [] });
  const rsv = (n: number): RealServer => ({ family: 4, address: `198.51.100.${n}`, port: 80, forwarding: 'NAT', weight: 1, tunnel: null });
  const bad = svc('192.0.2.200', 'twos'); // not built in Debian 12's 6.1 kernel
  const good = svc('192.0.2.201', 'rr');
  const refusal = await backend.apply([
    { op: 'add_service', service: bad, reason: 'missing' },
    { op: 'add_service', service: good, reason: 'missing' },
    { op: 'add_dest', service: bad.id, dest: rsv(61), reason: 'missing' },
    { op: 'add_dest', service: good.id, dest: rsv(62), reason: 'missing' },
    { op: 'delete_dest', service: good.id, dest: rsv(69), reason: 'not_desired' },
    { op: 'add_dest', service: good.id, dest: { ...rsv(63), weight: -1 }, reason: 'missing' },
  ]);
  out.refusal = {
    sent: refusal.sent, applied: refusal.applied, exit: refusal.exitStatus, stderr: refusal.stderrLines,
    refused: refusal.refused.map((r) => ({ op: describeOp(r.op), reason: r.reason, message: r.reason === 'unrenderable' ? '' : r.message })),
  };
  ipvsadm('-D', '-t', '192.0.2.201:80');

  // 7. Scale: 100 services x 100 real servers from empty (after deleting the small config).
  for (const e of config) ipvsadm('-D', ...(e.service.id.kind === 'fwmark' ? ['-f', '7'] : [e.service.id.protocol === 'TCP' ? '-t' : '-u', `${e.service.id.address}:${e.service.id.port}`]));
  const big = hundredByHundred();
  const bigHealth = new Map<string, RealServerHealth>();
  const bigPasses: PassReport[] = [];
  const bigErrors: string[] = [];
  const bigRec = new Reconciler({ timers: createSystemTimers(),
    backend, intervalMs: 60_000,
    desired: (scope) => desiredTable(scope ? big.filter((v) => scope.has(v.key)) : big, bigHealth, new Map()).table,
    onPass: (p) => bigPasses.push(p), onError: (e) => bigErrors.push(String(e.error)),
  });
  const fromEmpty = await bigRec.passNow();
  if ('error' in fromEmpty) throw fromEmpty.error;
  const batch = renderOps(fromEmpty.ops);
  const full = await backend.readTable();
  let dests = 0;
  for (const e of full.values()) if (e.service.scheduler === 'wlc') dests += e.dests.size;
  // The running loop: its start pass reads the table; then one verdict is one op, from the cache.
  bigRec.start();
  await waitFor(() => bigPasses.length >= 2, 60_000);
  const victim = big[57]!.realServers[42]!;
  bigHealth.set(victim.id, { up: true, weight: 3 });
  bigRec.trigger([big[57]!.key]);
  await waitFor(() => bigPasses.length >= 3, 60_000);
  const change = bigPasses[2]!;
  await bigRec.stop();
  out.scale = {
    ops: fromEmpty.ops.length, refused: fromEmpty.result?.refused.length ?? -1,
    exit: fromEmpty.result?.exitStatus ?? null, dests, services: full.size,
    changeOps: change.ops.map(describeOp), changeRead: change.read, changeCause: change.cause, errors: bigErrors,
  };
  out.victimLine = saveText().split('\n').filter((l) => l.includes(`-t 192.0.2.58:80 -r 198.51.100.43:10057`));
  out.foreignAtEnd = saveText().split('\n').filter((l) => l.includes('203.0.113.50'));

  // 8. The same 10,100 lines through the ipvsadm-restore wrapper (which flushes first) on an
  // empty table: the batch tandem renders is one ipvsadm-restore accepts whole (the time ratio
  // of the two is bench:table's §1).
  ipvsadm('-C');
  execFileSync('ipvsadm-restore', [], { input: batch });
  const restored = parseIpvsSave(saveText()).table;
  out.wrapperDests = [...restored.values()].reduce((n, e) => n + e.dests.size, 0);
  console.log(`AGENT-RESULT ${JSON.stringify(out)}`);
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

main().catch((e: unknown) => {
  console.error(`AGENT-FAILED ${e instanceof Error ? e.stack : String(e)}`);
  process.exitCode = 1;
});
