// The nftables backend (docs/nft-backend.md), for kernels without IPVS: tandem's tables
// `ip tandem` and `ip6 tandem` and nothing else in the ruleset. readTable() runs
// `nft -j list table <family> tandem` and parses it (parse.ts); apply() works out the table after
// the ops, renders both (render.ts) and sends only the objects that differ in ONE `nft -f -`
// transaction on stdin: nft applies all of it or none. nft is spawned from an argv (no shell),
// with a timeout and an output bound, like IpvsadmBackend.
//
// The backend remembers what it last read (plus what it applied since), because the reconciler's
// triggered passes do not read and a diff needs the objects' current shape. When it has nothing
// (first use, or after a failure) apply() reads first.
import { runTool, ToolError, type ToolResult } from '../runTool.js';
import { destKey, serviceKey } from '../../config/lbModel.js';
import type { LbTable, ServiceEntry } from '../model.js';
import { applyOpTo, copyTable, opServiceId, TableOpError, type TableOp } from '../reconcile.js';
import type { ApplyResult, LbBackend, RefusedOp } from '../backend.js';
import { diffScript, modelOf, NftRenderError, sameModel, serviceTag, TABLE_NAME, unrenderableDest, unrenderableService, updateModel, type NftModel } from './render.js';
import { readNftTables } from './parse.js';

export type NftBackendErrorCode = 'spawn_failed' | 'timeout' | 'exit_status' | 'output_too_large' | 'bad_output';

export class NftBackendError extends ToolError<NftBackendErrorCode> {
  override name = 'NftBackendError';
}

export interface NftBackendOptions {
  /** Path or name of nft; default `nft` from PATH. */
  nft?: string;
  /** Per nft run; default 30 s. */
  timeoutMs?: number;
  /** Reserved: the backend acts in the namespace it runs in (tests use `ip netns exec`). */
  netns?: never;
}

const MAX_OUTPUT_BYTES = 256 << 20;

interface Known {
  /** The services as recorded in the kernel (no drift marks). */
  recorded: LbTable;
  model: NftModel;
  /** model is exactly modelOf(recorded) (no drift anywhere): a change may then re-render only
   *  the services it touches (updateModel). */
  rendered: boolean;
}

export class NftBackend implements LbBackend {
  private readonly bin: string;
  private readonly timeoutMs: number;
  private known: Known | null = null;
  /** `table ip tandem` and `table ip6 tandem` hold only what tandem put there. */
  readonly ownsWholeTable = true;
  /** The last script apply() sent (for `tandem plan` and tests). */
  lastScript = '';

  constructor(opts: NftBackendOptions = {}) {
    this.bin = opts.nft ?? 'nft';
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  async readTable(): Promise<LbTable> {
    const [j4, j6] = await Promise.all([this.list('ip'), this.list('ip6')]);
    let r;
    try {
      r = readNftTables(j4, j6);
    } catch (e) {
      throw new NftBackendError('bad_output', `cannot parse nft -j output: ${(e as Error).message}`);
    }
    let rendered = false;
    try { rendered = sameModel(r.model, modelOf(r.recorded)); } catch (e) { if (!(e instanceof NftRenderError)) throw e; }
    this.known = { recorded: r.recorded, model: r.model, rendered };
    return r.table;
  }

  /** The script apply(ops) would send now, without sending it (`tandem plan`). */
  async planScript(ops: readonly TableOp[]): Promise<{ script: string; refused: RefusedOp[] }> {
    if (!this.known) await this.readTable();
    const p = this.prepare(ops, this.known!);
    return { script: p.script, refused: p.refused };
  }

  async apply(ops: readonly TableOp[]): Promise<ApplyResult> {
    const t0 = performance.now();
    if (!this.known) await this.readTable();
    const { script, refused, sent, after } = this.prepare(ops, this.known!);
    this.lastScript = script;
    if (sent.length === 0 || script === '') {
      // Nothing to send (all refused, or the kernel already holds the result).
      if (sent.length) this.known = after;
      return { sent: sent.length, applied: sent.length, refused, exitStatus: null, stderrLines: [], durationMs: performance.now() - t0 };
    }
    let r: ToolResult;
    try {
      r = await this.run(['-f', '-'], script);
    } catch (e) {
      this.known = null;
      throw e;
    }
    const stderrLines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/^warning: stmt ops .* no json callback/.test(l));
    if (r.code !== 0) {
      // One transaction: nothing of it took effect.
      this.known = null;
      const message = stderrLines.find((l) => /Error:/.test(l)) ?? stderrLines[0] ?? `nft exited ${r.code}`;
      for (const op of sent) refused.push({ op, reason: 'kernel_refused', message });
      return { sent: sent.length, applied: 0, refused, exitStatus: r.code, stderrLines, durationMs: performance.now() - t0 };
    }
    this.known = after;
    return { sent: sent.length, applied: sent.length, refused, exitStatus: r.code, stderrLines, durationMs: performance.now() - t0 };
  }

  /** Which ops can go, the table after them, and the script from the kernel's objects to it. */
  private prepare(ops: readonly TableOp[], known: Known): { script: string; refused: RefusedOp[]; sent: TableOp[]; after: Known } {
    const refused: RefusedOp[] = [];
    const sent: TableOp[] = [];
    const table = copyTable(known.recorded);
    const flushPersist = new Set<string>();
    for (const op of ops) {
      const why = unrenderable(op, table);
      if (why) {
        refused.push({ op, reason: 'unrenderable', message: why });
        continue;
      }
      try {
        applyOpTo(table, op);
      } catch (e) {
        if (!(e instanceof TableOpError)) throw e;
        refused.push({ op, reason: 'not_applied', message: e.message });
        continue;
      }
      sent.push(op);
      // A real server that leaves a persistent service must not keep its clients: IPVS drops
      // the templates of a deleted destination; nft cannot delete map elements by value, so the
      // service's persistence map is emptied (its clients choose again).
      const entry = table.get(serviceKey(opServiceId(op)));
      if (entry?.service.persistence && (op.op === 'delete_dest' || (op.op === 'edit_dest' && op.dest.port !== op.was.port))) {
        flushPersist.add(`persist_${serviceTag(entry.service.id)}`);
      }
    }
    let model: NftModel;
    try {
      const touched = new Set(sent.map((op) => serviceKey(opServiceId(op))));
      model = known.rendered ? updateModel(known.model, known.recorded, table, touched) : modelOf(table);
    } catch (e) {
      if (!(e instanceof NftRenderError)) throw e;
      // A recorded service this version cannot render (edited by hand): refuse everything rather
      // than send a half-understood transaction.
      for (const op of sent) refused.push({ op, reason: 'unrenderable', message: e.message });
      return { script: '', refused, sent: [], after: known };
    }
    const script = diffScript(known.model, model, { flushPersist });
    return { script, refused, sent, after: { recorded: table, model, rendered: true } };
  }

  /** `nft -j list table <family> tandem`; '' when there is no such table. */
  private async list(family: 'ip' | 'ip6'): Promise<string> {
    const r = await this.run(['-j', 'list', 'table', family, TABLE_NAME], undefined);
    if (r.code === 0) return r.stdout;
    if (/No such file or directory/.test(r.stderr)) return '';
    throw new NftBackendError('exit_status', `${this.bin} -j list table ${family} ${TABLE_NAME} exited ${r.code}: ${r.stderr.trim()}`, r.stderr);
  }

  private run(args: string[], input: string | undefined): Promise<ToolResult> {
    return runTool(this.bin, args, input, {
      timeoutMs: this.timeoutMs, maxOutputBytes: MAX_OUTPUT_BYTES,
      fail: (code, message, stderr) => new NftBackendError(code, message, stderr),
    });
  }
}

/** Why an op cannot be expressed in nft, given the table before it; null when it can. */
function unrenderable(op: TableOp, table: LbTable): string | null {
  if (op.op === 'add_service' || op.op === 'edit_service') {
    const why = unrenderableService(op.service);
    if (why) return why;
    const entry: ServiceEntry | undefined = table.get(serviceKey(op.service.id));
    for (const d of entry?.dests.values() ?? []) {
      const w = unrenderableDest(op.service, d);
      if (w) return `${destKey(d)}: ${w}`;
    }
    return null;
  }
  if (op.op === 'add_dest' || op.op === 'edit_dest') {
    const entry = table.get(serviceKey(op.service));
    return entry ? unrenderableDest(entry.service, op.dest) : null;
  }
  return null;
}
