// The IPVS backend through ipvsadm: read the kernel's table with `ipvsadm -S -n` (what the
// `ipvsadm-save -n` wrapper runs) and apply a batch of operations through one `ipvsadm -R`
// (restore without flush: the `ipvsadm-restore` wrapper runs `ipvsadm -C` first and would wipe
// foreign services; test/fixtures/ipvs/README.md). Processes are spawned from an argv, no shell.
//
// What ipvsadm tells us (measured, test/fixtures/ipvs/errors.out): a line the kernel refuses is
// reported on stderr with the kernel's message only (no line number) and the batch goes on, exit
// status 255. So when the exit status is not 0 the table is read back and every operation whose
// effect is missing is reported as refused, with the stderr lines paired in order (ipvsadm
// processes the lines in order and prints one message per refusal). Kernel refusals are data in
// ApplyResult; only "could not run ipvsadm at all" rejects, with an IpvsBackendError.
import type { ApplyResult, LbBackend, RefusedOp } from '../backend.js';
import { runTool, ToolError, type ToolResult } from '../runTool.js';
import { destKey, serviceKey } from '../../config/lbModel.js';
import { type LbTable, sameDest, sameService } from '../model.js';
import { opServiceId, type TableOp } from '../reconcile.js';
import { parseIpvsSave, type ParseProblem } from './parse.js';
import { renderOp } from './render.js';

export type IpvsBackendErrorCode =
  | 'spawn_failed' // ipvsadm missing or not executable
  | 'timeout' // ipvsadm did not finish within timeoutMs (killed)
  | 'exit_status' // ipvsadm -S failed (e.g. "Protocol not available": no IPVS in the kernel)
  | 'output_too_large'
  | 'netlink_failed'; // NetlinkIpvsBackend: no IPVS family, or the socket exchange itself failed

export class IpvsBackendError extends ToolError<IpvsBackendErrorCode> {
  override name = 'IpvsBackendError';
}

export interface IpvsBackendOptions {
  /** Path or name of ipvsadm; default `ipvsadm` from PATH. */
  ipvsadm?: string;
  /** Per ipvsadm run; default 30 s (10,000 entries take ~1 s under QEMU TCG). */
  timeoutMs?: number;
  /** Lines of `ipvsadm -S -n` tandem could not parse (foreign entries it does not know). */
  onParseProblems?: (problems: ParseProblem[]) => void;
}

const MAX_OUTPUT_BYTES = 256 << 20;

export class IpvsadmBackend implements LbBackend {
  private readonly bin: string;
  private readonly timeoutMs: number;

  constructor(private readonly opts: IpvsBackendOptions = {}) {
    this.bin = opts.ipvsadm ?? 'ipvsadm';
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  async readTable(): Promise<LbTable> {
    const r = await this.run(['-S', '-n'], undefined);
    if (r.code !== 0) {
      throw new IpvsBackendError('exit_status', `${this.bin} -S -n exited ${r.code}: ${r.stderr.trim()}`, r.stderr);
    }
    const parsed = parseIpvsSave(r.stdout);
    if (parsed.problems.length > 0) this.opts.onParseProblems?.(parsed.problems);
    return parsed.table;
  }

  async apply(ops: readonly TableOp[]): Promise<ApplyResult> {
    const t0 = performance.now();
    const refused: RefusedOp[] = [];
    const sent: TableOp[] = [];
    let batch = '';
    for (const op of ops) {
      let line: string;
      try {
        line = renderOp(op);
      } catch (e) {
        refused.push({ op, reason: 'unrenderable', message: (e as Error).message });
        continue;
      }
      sent.push(op);
      batch += `${line}\n`;
    }
    if (sent.length === 0) {
      return { sent: 0, applied: 0, refused, exitStatus: null, stderrLines: [], durationMs: performance.now() - t0 };
    }
    const r = await this.run(['-R'], batch);
    const stderrLines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    if (r.code !== 0) {
      const after = await this.readTable();
      for (const x of attributeRefusals(sent, after, stderrLines, r.code)) refused.push(x);
    }
    const refusedSent = refused.filter((x) => x.reason !== 'unrenderable').length;
    return { sent: sent.length, applied: sent.length - refusedSent, refused, exitStatus: r.code, stderrLines, durationMs: performance.now() - t0 };
  }

  private run(args: string[], input: string | undefined): Promise<ToolResult> {
    return runTool(this.bin, args, input, {
      timeoutMs: this.timeoutMs, maxOutputBytes: MAX_OUTPUT_BYTES,
      fail: (code, message, stderr) => new IpvsBackendError(code, message, stderr),
    });
  }
}

/**
 * Which sent ops the kernel refused, from the table read back after the batch and ipvsadm's
 * stderr (one message per refused line, in line order, without line numbers). An op whose effect
 * is missing was refused and takes the next message. A delete whose target is absent afterwards
 * may still have been refused ("No such destination": it was never there); it takes the next
 * message when that message is one a delete gets and there are more messages left than later
 * ops whose effect is missing. Exact unless a batch deletes entries that were already gone and
 * also has later ops refused with the same message, which reconcile() never produces.
 */
export function attributeRefusals(
  sent: readonly TableOp[], after: LbTable, stderrLines: readonly string[], exitStatus: number | null,
): RefusedOp[] {
  const missing = sent.map((op) => !holds(op, after));
  let missingLeft = missing.filter(Boolean).length;
  const messages = [...stderrLines];
  const out: RefusedOp[] = [];
  // 255: the kernel refused lines and the batch went on; anything else (2: a line ipvsadm could
  // not parse) stopped the batch, so an op with no message was simply never run.
  const kernel = exitStatus === 255;
  sent.forEach((op, i) => {
    if (missing[i]) {
      missingLeft--;
      const message = messages.shift();
      out.push(message !== undefined && kernel ? { op, reason: 'kernel_refused', message } : { op, reason: 'not_applied', ...(message !== undefined ? { message } : {}) });
      return;
    }
    const isDelete = op.op === 'delete_dest' || op.op === 'delete_service';
    if (isDelete && messages.length > missingLeft && DELETE_MESSAGES.test(messages[0]!)) {
      out.push({ op, reason: 'kernel_refused', message: messages.shift()! });
    }
  });
  return out;
}

/** What ipvsadm prints when a delete finds nothing to delete (ipvsadm.c / libipvs errno texts). */
const DELETE_MESSAGES = /^(No such destination|No such service|Service not defined)$/;

/** Whether `op`'s effect is present in `table`. */
export function holds(op: TableOp, table: LbTable): boolean {
  const entry = table.get(serviceKey(opServiceId(op)));
  switch (op.op) {
    case 'add_service': case 'edit_service': return entry !== undefined && sameService(entry.service, op.service);
    case 'delete_service': return entry === undefined;
    case 'add_dest': case 'edit_dest': {
      const d = entry?.dests.get(destKey(op.dest));
      return d !== undefined && sameDest(d, op.dest);
    }
    case 'delete_dest': return entry === undefined || !entry.dests.has(destKey(op.dest));
  }
}
