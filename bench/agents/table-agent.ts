// Runs inside the kernel-tier VM for bench/table.ts (one boot): times tandem's two IPVS backends
// (IpvsadmBackend: one `ipvsadm -R` per batch; NetlinkIpvsBackend: generic netlink, no process)
// against `ipvsadm-restore` on the same 10,000 real servers, and the time from a verdict to the
// kernel through each backend, then prints one line `TABLE-RESULT {json}` with the raw samples;
// the host computes medians and ratios. The script that starts it has added a dummy interface
// routing the real servers' documentation subnet (IPVS refuses a real server it has no route to).
//
// Env: RUNS (apply runs per side, default 5), FLIPS (verdicts, default 20), SPAWNS (no-op spawns
// timed for comparison, default 20).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { VirtualServerConfig } from '../../src/config/lbModel.js';
import { bigConfig, DESTS_PER_SERVICE, SERVICES, timedSpawn } from '../lib/bigTable.js';
import type { RealServerHealth } from '../../src/check/health.js';
import { desiredTable } from '../../src/lb/desired.js';
import type { LbBackend } from '../../src/lb/backend.js';
import { IpvsadmBackend } from '../../src/lb/ipvs/backend.js';
import { NetlinkIpvsBackend } from '../../src/lb/ipvs/netlinkBackend.js';
import { renderOps } from '../../src/lb/ipvs/render.js';
import { reconcile } from '../../src/lb/reconcile.js';
import { Reconciler, type PassReport } from '../../src/lb/reconciler.js';
import { createSystemTimers } from '../../src/timers.js';
import { procAddr, procTable, waitFor } from '../../test/kernel/agents/procIpvs.js';


function intEnv(name: string, dflt: number): number {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(v) || v < 1 || v > 1000) throw new Error(`${name} must be 1..1000, got ${process.env[name]}`);
  return v;
}



async function ipvsadm(...args: string[]): Promise<void> {
  const r = await timedSpawn('ipvsadm', args);
  if (r.code !== 0) throw new Error(`ipvsadm ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
}

type FlipRow = { flip: number; op: string; verdictToAppliedMs: number; applyMs: number; passMs: number; inKernel: boolean };

async function flipRun(
  backend: LbBackend, label: string, config: VirtualServerConfig[], flips: number, errors: string[],
): Promise<{ startPass: { readMs: number; totalMs: number; ops: number }; flipRuns: FlipRow[] }> {
  const health = new Map<string, RealServerHealth>();
  const passes: PassReport[] = [];
  // Resolved from onPass itself (called synchronously at the end of a pass), so the time taken
  // is not rounded up to a polling interval.
  let passed: (() => void) | null = null;
  const rec = new Reconciler({ timers: createSystemTimers(),
    backend, intervalMs: 600_000,
    desired: (scope) => desiredTable(scope ? config.filter((v) => scope.has(v.key)) : config, health, new Map()).table,
    onPass: (p) => { passes.push(p); passed?.(); },
    onError: (e) => errors.push(`${label} reconciler: ${String(e.error)}`),
  });
  rec.start();
  await waitFor(() => passes.length >= 1, 120_000, `${label} start pass`, 1);
  const startPass = { readMs: passes[0]!.readMs, totalMs: passes[0]!.totalMs, ops: passes[0]!.ops.length };
  const flipRuns: FlipRow[] = [];
  for (let i = 0; i < flips; i++) {
    const vs = config[(Math.floor(i / 2) * 37) % SERVICES]!;
    const rs = vs.realServers[(Math.floor(i / 2) * 53) % DESTS_PER_SERVICE]!;
    const up = i % 2 === 1;
    const mark = passes.length;
    const done = new Promise<void>((resolve) => { passed = resolve; });
    const t0 = performance.now();
    health.set(rs.id, { up, weight: rs.dest.weight });
    rec.trigger([vs.key]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([done, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${label} flip ${i + 1}: no pass within 30 s`)), 30_000); })]);
    const ms = performance.now() - t0;
    clearTimeout(timer);
    passed = null;
    const p = passes[mark]!;
    if (p.cause !== 'trigger') errors.push(`${label} flip ${i + 1}: the pass was a ${p.cause} pass`);
    const present = procTable().has(procAddr(vs.service.id.kind === 'inet' ? vs.service.id.address : '', 80), procAddr(rs.dest.address, rs.dest.port));
    if (p.ops.length !== 1 || p.read) errors.push(`${label} flip ${i + 1}: ${p.ops.length} ops, read ${p.read}`);
    if (present !== up) errors.push(`${label} flip ${i + 1}: /proc/net/ip_vs ${present ? 'has' : 'lacks'} ${rs.dest.address}:${rs.dest.port} after marking it ${up ? 'up' : 'down'}`);
    flipRuns.push({ flip: i + 1, op: p.ops[0]?.op ?? 'none', verdictToAppliedMs: ms, applyMs: p.result?.durationMs ?? NaN, passMs: p.totalMs, inKernel: present === up });
    // Spread the flips out a little so each starts from an idle loop.
    await new Promise((r) => setTimeout(r, 20));
  }
  await rec.stop();
  return { startPass, flipRuns };
}

async function main(): Promise<void> {
  const runs = intEnv('RUNS', 5);
  const flips = intEnv('FLIPS', 20);
  const spawns = intEnv('SPAWNS', 20);
  const config = bigConfig('wlc', () => 1);
  const backend = new IpvsadmBackend({ timeoutMs: 300_000 });
  const netlink = new NetlinkIpvsBackend();
  const expectDests = SERVICES * DESTS_PER_SERVICE;
  const errors: string[] = [];

  // The same lines for ipvsadm-restore as tandem sends: the diff of the desired table against an
  // empty one, rendered by tandem's renderer (100 `-A` + 10,000 `-a` lines).
  const fromEmpty = reconcile(desiredTable(config, new Map(), new Map()).table, new Map(), new Set());
  const batch = renderOps(fromEmpty);

  // 1. From empty, K times each, rotating which side goes first (so no side always runs on a
  // freshly flushed kernel after the same other side's flush).
  const applyRuns: Array<{
    run: number; first: string; tandemApplyMs: number; tandemPassMs: number; tandemReadMs: number; restoreMs: number;
    netlinkApplyMs: number; netlinkPassMs: number; netlinkReadMs: number;
  }> = [];
  const order = ['tandem', 'netlink', 'restore'] as const;
  for (let i = 0; i < runs; i++) {
    const sides = [0, 1, 2].map((k) => order[(i + k) % 3]!);
    const row = {
      run: i + 1, first: sides[0]!, tandemApplyMs: NaN, tandemPassMs: NaN, tandemReadMs: NaN, restoreMs: NaN,
      netlinkApplyMs: NaN, netlinkPassMs: NaN, netlinkReadMs: NaN,
    };
    for (const side of sides) {
      await ipvsadm('-C');
      if (side === 'tandem' || side === 'netlink') {
        // A whole reconciler pass from an empty kernel: read the (empty) table, compute the
        // desired table, diff, and one batch (render + `ipvsadm -R`, or netlink requests).
        const b: LbBackend = side === 'tandem' ? backend : netlink;
        const rec = new Reconciler({ timers: createSystemTimers(), backend: b, intervalMs: 60_000, desired: () => desiredTable(config, new Map(), new Map()).table });
        const p = await rec.passNow();
        if ('error' in p) throw p.error;
        const exitOk = side === 'netlink' || p.result?.exitStatus === 0;
        if (p.ops.length !== fromEmpty.length || !p.result || p.result.refused.length > 0 || !exitOk) {
          errors.push(`run ${i + 1} ${side}: ${p.ops.length} ops, exit ${p.result?.exitStatus}, ${p.result?.refused.length} refused`);
        }
        if (side === 'tandem') {
          row.tandemApplyMs = p.result?.durationMs ?? NaN;
          row.tandemPassMs = p.totalMs;
          row.tandemReadMs = p.readMs;
        } else {
          row.netlinkApplyMs = p.result?.durationMs ?? NaN;
          row.netlinkPassMs = p.totalMs;
          row.netlinkReadMs = p.readMs;
        }
      } else {
        const r = await timedSpawn('ipvsadm-restore', [], batch);
        if (r.code !== 0) errors.push(`run ${i + 1} ipvsadm-restore exited ${r.code}: ${r.stderr.slice(0, 500)}`);
        row.restoreMs = r.ms;
      }
      const t = procTable();
      if (t.services !== SERVICES || t.dests !== expectDests) errors.push(`run ${i + 1} ${side}: kernel has ${t.services} services, ${t.dests} real servers`);
    }
    applyRuns.push(row);
    console.error(`run ${i + 1}/${runs}: tandem ipvsadm apply ${row.tandemApplyMs.toFixed(0)} ms (pass ${row.tandemPassMs.toFixed(0)} ms), ` +
      `netlink apply ${row.netlinkApplyMs.toFixed(0)} ms (pass ${row.netlinkPassMs.toFixed(0)} ms), ipvsadm-restore ${row.restoreMs.toFixed(0)} ms`);
  }

  // 2. Verdict -> kernel, through each backend in turn. The table holds the 10,000 entries (the
  // last run applied them). A running reconciler (its start pass reads the table); then each flip
  // marks one real server down (delete_dest) or back up (add_dest) and triggers a pass scoped to
  // its service; timed from the trigger to the pass having applied (ipvsadm -R has exited, or
  // the kernel has acked the netlink request, so the kernel has it). Flips come in pairs, so
  // each backend leaves the table as it found it.
  const ipvsadmFlips = await flipRun(backend, 'ipvsadm', config, flips, errors);
  const netlinkFlips = await flipRun(netlink, 'netlink', config, flips, errors);
  netlink.close();

  // 3. What a process spawn costs in this VM: a no-op ipvsadm (prints its version, no table
  // access) and /bin/true, spawned the same way.
  const spawnIpvsadmMs: number[] = [];
  const spawnTrueMs: number[] = [];
  for (let i = 0; i < spawns; i++) {
    spawnIpvsadmMs.push((await timedSpawn('ipvsadm', ['-v'])).ms);
    spawnTrueMs.push((await timedSpawn('/bin/true', [])).ms);
  }

  const version = execFileSync('ipvsadm', ['-v'], { encoding: 'utf8' }).trim();
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  await ipvsadm('-C');
  console.log(`TABLE-RESULT ${JSON.stringify({
    kernel, ipvsadm: version, cpus: cpus().length,
    ops: fromEmpty.length, batchBytes: batch.length, applyRuns,
    startPass: ipvsadmFlips.startPass, flipRuns: ipvsadmFlips.flipRuns,
    netlinkStartPass: netlinkFlips.startPass, netlinkFlipRuns: netlinkFlips.flipRuns,
    spawnIpvsadmMs, spawnTrueMs, errors,
  })}`);
}

main().catch((e: unknown) => {
  console.error(`TABLE-AGENT-FAILED ${e instanceof Error ? e.stack : String(e)}`);
  process.exitCode = 1;
});
