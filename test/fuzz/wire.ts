// The wire fuzz campaign (issue 12 §6, docs/fuzzing.md): hostile VRRP packets of every kind in
// wireKinds.ts, sent at line rate by vrrp-flood.c from a namespace on the same bridge as a
// tandem MASTER (lb1) and its tandem BACKUP (lb2). For each kind, in its own phase:
// - every packet must be counted by the master under the kind's drop reason, or as a kernel
//   receive-buffer drop (SO_RXQ_OVFL), and nothing else: sent == counted, exactly;
// - no packet may be accepted;
// - throughout, every instance of lb1 stays MASTER with no transition, holds its VIP, and lb2
//   stays BACKUP (so the master's adverts kept going out on time under the flood).
// A control phase of valid lowest-priority adverts first proves the frames reach the checks.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../lib/prng.js';
import { Lab, sleep, waitFor, type LabNode } from '../lib/netns.js';
import { REPO_ROOT, Tandem, requireTandemBuilt, type TandemStateFile } from '../lib/tandem.js';
import type { DirectorSpec, VrrpInstanceSpec } from '../lib/director-spec.js';
import { frame, frameFile } from './frames.js';
import { INSTANCES, PASS, WIRE_KINDS, controlPacket, flushPacket, type WireKind, type WireTopology } from './wireKinds.js';

export interface WireFuzzOptions {
  /** Packets in all (split evenly over the kinds). */
  packets: number;
  /** Packets per second the sender keeps to. */
  rate: number;
  seed: number;
  /** Only the kinds whose name contains one of these (all when empty). */
  only?: string[];
  log?: (line: string) => void;
}

export interface KindResult {
  kind: string;
  reason: string | null;
  sent: number;
  /** Counted under the kind's reason (for random bytes: under any reason). */
  counted: number;
  kernelDrops: number;
  /** Counted under another reason, or accepted. */
  wrong: Record<string, number>;
  /** sent - counted - kernelDrops - wrong: never seen by the daemon's counters. */
  missing: number;
  seconds: number;
  pps: number;
}

export interface WireFuzzReport {
  seed: number;
  rate: number;
  kinds: KindResult[];
  control: { sent: number; accepted: number };
  totalSent: number;
  seconds: number;
  /** Every time a state sample was not what it must be (lb1 all MASTER with VIPs, lb2 BACKUP). */
  stateViolations: string[];
  stateSamples: number;
  vipSamples: number;
  /** Log lines with a stack trace or an uncaught error, from either daemon. */
  crashLines: string[];
  ok: boolean;
}

const LB1_4 = '192.0.2.1', LB2_4 = '192.0.2.2', FZ_4 = '192.0.2.66';
const LB1_6 = '2001:db8::1', LB2_6 = '2001:db8::2', FZ_6 = '2001:db8::66';

function director(routerId: string, priority: number, self: { v4: string; v6: string }, peer: { v4: string; v6: string }): DirectorSpec {
  const inst = (k: keyof typeof INSTANCES): VrrpInstanceSpec => {
    const i = INSTANCES[k];
    const v6 = i.vip.includes(':');
    return {
      name: i.name, vrid: i.vrid, version: i.version, priority, advertInt: i.advertInt,
      vips: [`${i.vip}/${v6 ? 64 : 24}`],
      ...(i.version === 2 ? { authPass: PASS } : {}),
      ...(i.unicast ? { unicastSrcIp: v6 ? self.v6 : self.v4, unicastPeers: [v6 ? peer.v6 : peer.v4] } : {}),
    };
  };
  return { routerId, instances: (['A', 'B', 'C', 'D', 'E'] as const).map(inst) };
}

/** Builds vrrp-flood from test/fuzz/vrrp-flood.c into `dir` (cc must exist: scripts/install.sh). */
export function buildFlooder(dir: string): string {
  const out = join(dir, 'vrrp-flood');
  execFileSync('cc', ['-O2', '-Wall', '-o', out, join(REPO_ROOT, 'test', 'fuzz', 'vrrp-flood.c')], { stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

/** Packets the kernel dropped on tandem's VRRP sockets because their receive buffer was full. */
export function kernelDrops(s: TandemStateFile): number {
  const rx = s.rx as unknown as { kernel_drops?: number };
  return rx.kernel_drops ?? 0;
}

function counters(s: TandemStateFile): Record<string, number> {
  return { accepted: s.rx.accepted, ...s.rx.drops };
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(after), ...Object.keys(before)])) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

export async function runWireFuzz(opts: WireFuzzOptions): Promise<WireFuzzReport> {
  requireTandemBuilt();
  const log = opts.log ?? (() => undefined);
  const kinds = WIRE_KINDS.filter((k) => !opts.only?.length || opts.only.some((o) => k.name.includes(o)));
  if (kinds.length === 0) throw new Error(`no wire fuzz kind matches ${opts.only?.join(', ')}`);
  const perKind = Math.max(1, Math.ceil(opts.packets / kinds.length));
  const work = mkdtempSync(join(tmpdir(), 'tandem-fuzz-'));
  const lab = await Lab.create({
    prefix: 'tZ',
    nodes: [
      { name: 'lb1', ipv4: [`${LB1_4}/24`], ipv6: [`${LB1_6}/64`] },
      { name: 'lb2', ipv4: [`${LB2_4}/24`], ipv6: [`${LB2_6}/64`] },
      { name: 'fz', ipv4: [`${FZ_4}/24`], ipv6: [`${FZ_6}/64`] },
    ],
  });
  const report: WireFuzzReport = {
    seed: opts.seed, rate: opts.rate, kinds: [], control: { sent: 0, accepted: 0 }, totalSent: 0, seconds: 0,
    stateViolations: [], stateSamples: 0, vipSamples: 0, crashLines: [], ok: false,
  };
  const started = Date.now();
  try {
    const flood = buildFlooder(work);
    const lb1 = lab.node('lb1'), lb2 = lab.node('lb2'), fz = lab.node('fz');
    const master = await Tandem.start(lab, lb1, director('lb1', 150, { v4: LB1_4, v6: LB1_6 }, { v4: LB2_4, v6: LB2_6 }));
    const backup = await Tandem.start(lab, lb2, director('lb2', 100, { v4: LB2_4, v6: LB2_6 }, { v4: LB1_4, v6: LB1_6 }));
    for (const i of Object.values(INSTANCES)) {
      await master.waitForState(i.name, 'MASTER', 15_000);
      await backup.waitForState(i.name, 'BACKUP', 15_000);
    }
    const topo: WireTopology = { masterIp4: LB1_4, masterIp6: LB1_6, attackerIp4: FZ_4, attackerIp6: FZ_6, attackerLinkLocal: fz.linkLocal };
    const rng = mulberry32(opts.seed);
    const toFrames = (packets: ReturnType<typeof controlPacket>[]) =>
      packets.map((p) => frame({ srcMac: fz.mac, dstMac: lb1.mac, ...p }));
    /** Sends the frames from fz at opts.rate; returns how many went out and the sender's own time. */
    const send = async (name: string, frames: Uint8Array[], monitor: boolean): Promise<{ sent: number; seconds: number }> => {
      const file = join(work, `${name}.frames`);
      writeFileSync(file, frameFile(frames));
      const proc = lab.spawn(fz, [flood, fz.ifname, file, String(opts.rate)]);
      const watch = monitor ? watchState(lab, master, backup, lb1, report) : undefined;
      await proc.exited;
      await watch?.stop();
      rmSync(file, { force: true });
      const m = /^sent (\d+) failed (\d+) elapsed_us (\d+)/.exec(proc.lines.find((l) => l.startsWith('sent ')) ?? '');
      if (!m || proc.exitCode !== 0) throw new Error(`vrrp-flood failed (exit ${proc.exitCode}): ${proc.lines.join(' | ')}`);
      return { sent: Number(m[1]), seconds: Number(m[3]) / 1e6 };
    };

    // Control: valid adverts at the lowest priority are accepted, and the master stays master.
    {
      const before = master.readState()!;
      const n = 20;
      await send('control', toFrames(Array.from({ length: n }, () => controlPacket(rng, topo))), true);
      const after = await settle(master, before, n);
      report.control = { sent: n, accepted: after.rx.accepted - before.rx.accepted };
      log(`control: ${n} valid lowest-priority adverts sent, ${report.control.accepted} accepted`);
    }

    for (const kind of kinds) {
      const packets = Array.from({ length: perKind }, () => kind.make(rng, topo));
      const frames = toFrames(packets);
      const before = master.readState()!;
      const { sent, seconds } = await send(kind.name, frames, true);
      await settle(master, before, sent);
      // The kernel reports a receive-buffer drop (SO_RXQ_OVFL) with the next packet it queues on
      // that socket: one more packet, of a known kind, carries the phase's last drops.
      const flush = flushPacket(kind.family, topo);
      await send(`${kind.name}-flush`, toFrames([flush]), false);
      const after = await settle(master, before, sent + 1);
      report.kinds.push(judge(kind, sent, before, after, seconds, FLUSH_REASON));
      report.totalSent += sent;
      const r = report.kinds[report.kinds.length - 1]!;
      log(`${kind.name.padEnd(28)} sent ${String(sent).padStart(8)}  counted ${String(r.counted).padStart(8)}  kernel ${String(r.kernelDrops).padStart(6)}  ` +
        `wrong ${JSON.stringify(r.wrong)}  missing ${r.missing}  ${Math.round(r.pps)} pps`);
    }
    report.crashLines = [...master.proc.lines, ...backup.proc.lines].filter((l) => /^\s+at .+:\d+:\d+\)?$|Uncaught|RangeError|TypeError|FATAL/.test(l));
    if (!master.running) report.stateViolations.push('lb1 tandem exited');
    if (!backup.running) report.stateViolations.push('lb2 tandem exited');
  } finally {
    await lab.destroy();
    rmSync(work, { recursive: true, force: true });
  }
  report.seconds = (Date.now() - started) / 1000;
  report.ok = report.kinds.length === kinds.length && report.kinds.every((k) => k.counted + k.kernelDrops === k.sent && sum(k.wrong) === 0 && k.missing === 0) &&
    report.control.accepted === report.control.sent && report.stateViolations.length === 0 && report.crashLines.length === 0 &&
    report.stateSamples > 0 && report.vipSamples > 0;
  return report;
}

/** Waits until the master's counters account for `sent` more packets (then a little longer, so
 *  a late count would show as an excess), or 10 s. */
async function settle(master: Tandem, before: TandemStateFile, sent: number): Promise<TandemStateFile> {
  const seen = (s: TandemStateFile) => sum(delta(counters(s), counters(before))) + kernelDrops(s) - kernelDrops(before);
  await waitFor(() => { const s = master.readState(); return s && seen(s) >= sent ? s : null; }, { timeoutMs: 10_000, intervalMs: 50, what: `${sent} packets counted` })
    .catch(() => undefined);
  await sleep(300);
  return master.readState()!;
}

/** The reason the flush packet is counted under (and taken out of the phase's counts). */
const FLUSH_REASON = 'unknown_vrid';

function judge(kind: WireKind, sent: number, before: TandemStateFile, after: TandemStateFile, seconds: number, flushReason: string): KindResult {
  const d = delta(counters(after), counters(before));
  d[flushReason] = (d[flushReason] ?? 0) - 1;
  if (d[flushReason] === 0) delete d[flushReason];
  const kernel = kernelDrops(after) - kernelDrops(before);
  let counted = 0;
  const wrong: Record<string, number> = {};
  for (const [k, n] of Object.entries(d)) {
    if (k !== 'accepted' && (kind.reason === null || k === kind.reason)) counted += n;
    else wrong[k] = n;
  }
  return {
    kind: kind.name, reason: kind.reason, sent, counted, kernelDrops: kernel, wrong,
    missing: sent - counted - kernel - sum(wrong), seconds, pps: sent / Math.max(seconds, 1e-3),
  };
}

/** Samples both daemons' states every 100 ms and lb1's VIPs every 500 ms while a phase runs. */
function watchState(lab: Lab, master: Tandem, backup: Tandem, lb1: LabNode, report: WireFuzzReport): { stop(): Promise<void> } {
  let running = true;
  const transitions = new Map<string, number>();
  const states = (async () => {
    for (let i = 0; running && i < 100_000; i++) {
      const m = master.readState(), b = backup.readState();
      if (m && b) {
        report.stateSamples++;
        for (const inst of m.instances) {
          if (inst.state !== 'MASTER') report.stateViolations.push(`lb1 ${inst.name} ${inst.state}`);
          const t = transitions.get(`m${inst.name}`);
          if (t !== undefined && t !== inst.transitions) report.stateViolations.push(`lb1 ${inst.name} made a transition`);
          transitions.set(`m${inst.name}`, inst.transitions);
        }
        for (const inst of b.instances) if (inst.state !== 'BACKUP') report.stateViolations.push(`lb2 ${inst.name} ${inst.state}`);
      }
      await sleep(100);
    }
  })();
  const vips = (async () => {
    for (let i = 0; running && i < 20_000; i++) {
      const present = new Set((await lab.addresses(lb1)).map((a) => a.local));
      report.vipSamples++;
      for (const inst of Object.values(INSTANCES)) if (!present.has(inst.vip)) report.stateViolations.push(`lb1 lacks VIP ${inst.vip}`);
      await sleep(500);
    }
  })();
  return { async stop() { running = false; await Promise.all([states, vips]); } };
}
