// The table backend contract: what the reconciler (lb/reconciler.ts) needs from a kernel table,
// implemented by ipvsadm (lb/ipvs/backend.ts), IPVS generic netlink (lb/ipvs/netlinkBackend.ts)
// and nftables (lb/nft/backend.ts). Kernel refusals are data in ApplyResult; only "could not
// reach the table at all" rejects (IpvsBackendError, NftBackendError). Types only.
import type { LbTable } from './model.js';
import type { TableOp } from './reconcile.js';

export interface LbBackend {
  /** Every service the backend reads back is tandem's (nft: tandem's own tables), so a service
   *  no longer configured is removed even by a daemon that never created it (one restarted after
   *  the config dropped it). IPVS's table is shared with other tools: there, only what this
   *  process created or desired is tandem's. */
  readonly ownsWholeTable?: boolean;
  readTable(): Promise<LbTable>;
  apply(ops: readonly TableOp[]): Promise<ApplyResult>;
  /** Releases what the backend holds open (the netlink socket); a later call reopens it. */
  close?(): void;
}

export type RefusalReason =
  | 'kernel_refused' // ipvsadm ran the line and the kernel said no (message from stderr)
  | 'unrenderable' // render.ts refused the op (ipvsadm could not parse it): never sent
  | 'not_applied'; // the batch stopped before it (an unparseable line) or no message matched

export interface RefusedOp {
  op: TableOp;
  reason: RefusalReason;
  /** ipvsadm's message, e.g. "No such destination", when one could be paired with the op. */
  message?: string;
}

export interface ApplyResult {
  /** Ops sent to the kernel (all of `ops` minus the unrenderable ones). */
  sent: number;
  /** Ops that took effect. */
  applied: number;
  refused: RefusedOp[];
  /** ipvsadm -R's exit status: 0 all applied, 255 some refused, 2 a line could not be parsed. */
  exitStatus: number | null;
  /** Every line ipvsadm printed on stderr. */
  stderrLines: string[];
  durationMs: number;
}
