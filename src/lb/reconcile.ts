// Level-triggered reconcile (DESIGN.md principle 5), pure: compare the desired table with the
// table read back from the kernel and return the smallest ordered list of operations that makes
// the owned part equal to the desired one. Never a flush:
// - a service tandem does not own is never touched, nor are its real servers;
// - an owned service that exists already is adopted (kept, edited in place if its settings
//   differ), never deleted and re-added;
// - an entry that is already right gets no operation at all;
// - inside an owned service every real server is tandem's: one added by hand is removed, one
//   removed by hand is put back, one re-weighted by hand is edited back (drift).
// keepalived's reload does the same diff (check/ipwrapper.c clear_diff_services/clear_diff_rs).
import { destKey, type RealServer, type ServiceAddress, serviceKey, type VirtualService } from '../config/lbModel.js';
import { type LbTable, sameDest, sameService, type ServiceEntry } from './model.js';

export type OpReason =
  | 'missing' // desired but not in the kernel (new, came up, or deleted by hand)
  | 'differs' // in the kernel with other settings (config change, weight change, edited by hand)
  | 'not_desired'; // owned and in the kernel but not desired (went down, left the config, added by hand)

export type TableOp =
  | { op: 'add_service'; service: VirtualService; reason: 'missing' }
  | { op: 'edit_service'; service: VirtualService; was: VirtualService; reason: 'differs' }
  | { op: 'delete_service'; service: VirtualService; reason: 'not_desired' }
  | { op: 'add_dest'; service: ServiceAddress; dest: RealServer; reason: 'missing' }
  | { op: 'edit_dest'; service: ServiceAddress; dest: RealServer; was: RealServer; reason: 'differs' }
  | { op: 'delete_dest'; service: ServiceAddress; dest: RealServer; reason: 'not_desired' };

/**
 * The operations that turn `actual` into `desired` on the owned part.
 * `owned`: keys of services tandem is responsible for (its config now, plus services it created
 * under an earlier config and has not deleted yet). Every desired service counts as owned.
 * Order: deleted services first; then, service by service (sorted by key): the service's add or
 * edit, then its real servers added, edited, deleted, in that order, so a service never passes
 * through an empty moment while its servers are swapped (the sorry server comes in before the
 * real servers leave).
 */
export function reconcile(desired: LbTable, actual: LbTable, owned: ReadonlySet<string>): TableOp[] {
  const ops: TableOp[] = [];
  const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

  for (const key of [...actual.keys()].sort(byKey)) {
    if (desired.has(key) || !owned.has(key)) continue;
    ops.push({ op: 'delete_service', service: actual.get(key)!.service, reason: 'not_desired' });
  }
  for (const key of [...desired.keys()].sort(byKey)) {
    const want = desired.get(key)!;
    const have = actual.get(key);
    if (!have) ops.push({ op: 'add_service', service: want.service, reason: 'missing' });
    else if (!sameService(want.service, have.service)) {
      ops.push({ op: 'edit_service', service: want.service, was: have.service, reason: 'differs' });
    }
    const id = want.service.id;
    const haveDests = have?.dests ?? new Map<string, RealServer>();
    const wantKeys = [...want.dests.keys()].sort(byKey);
    for (const k of wantKeys) {
      if (!haveDests.has(k)) ops.push({ op: 'add_dest', service: id, dest: want.dests.get(k)!, reason: 'missing' });
    }
    for (const k of wantKeys) {
      const h = haveDests.get(k);
      const w = want.dests.get(k)!;
      if (h && !sameDest(w, h)) ops.push({ op: 'edit_dest', service: id, dest: w, was: h, reason: 'differs' });
    }
    for (const k of [...haveDests.keys()].sort(byKey)) {
      if (!want.dests.has(k)) ops.push({ op: 'delete_dest', service: id, dest: haveDests.get(k)!, reason: 'not_desired' });
    }
  }
  return ops;
}

export class TableOpError extends Error {
  constructor(readonly op: TableOp, message: string) {
    super(`${describeOp(op)}: ${message}`);
    this.name = 'TableOpError';
  }
}

/**
 * What the kernel holds after `ops`, applied in order, with the kernel's own refusals ("Service
 * already exists", "No such destination" ...) as TableOpError. For plans, dry runs and tests;
 * `table` is not changed.
 */
export function applyOps(table: LbTable, ops: readonly TableOp[]): LbTable {
  const out = copyTable(table);
  for (const op of ops) applyOpTo(out, op);
  return out;
}

/** A copy of `table` whose maps applyOpTo() may change (the entries' values are shared). */
export function copyTable(table: LbTable): Map<string, ServiceEntry> {
  const out = new Map<string, ServiceEntry>();
  for (const [k, e] of table) out.set(k, { service: e.service, dests: new Map(e.dests) });
  return out;
}

/** Applies one op to a table from copyTable(), in place; throws TableOpError (changing nothing)
 *  when the op does not fit the table. One copy for a batch, not one per op: a backend that
 *  checks ops one by one (nft/backend.ts) would otherwise copy 10,000 entries 10,000 times. */
export function applyOpTo(out: Map<string, ServiceEntry>, op: TableOp): void {
  const key = serviceKey(opServiceId(op));
  const entry = out.get(key);
  switch (op.op) {
    case 'add_service':
      if (entry) throw new TableOpError(op, 'service already exists');
      out.set(key, { service: op.service, dests: new Map() });
      break;
    case 'edit_service':
      if (!entry) throw new TableOpError(op, 'no such service');
      out.set(key, { service: op.service, dests: entry.dests });
      break;
    case 'delete_service':
      if (!entry) throw new TableOpError(op, 'no such service');
      out.delete(key);
      break;
    default: {
      if (!entry) throw new TableOpError(op, 'service not defined');
      const dests = entry.dests as Map<string, RealServer>;
      const dk = destKey(op.dest);
      if (op.op === 'add_dest') {
        if (dests.has(dk)) throw new TableOpError(op, 'destination already exists');
        dests.set(dk, op.dest);
      } else if (op.op === 'edit_dest') {
        if (!dests.has(dk)) throw new TableOpError(op, 'no such destination');
        dests.set(dk, op.dest);
      } else {
        if (!dests.has(dk)) throw new TableOpError(op, 'no such destination');
        dests.delete(dk);
      }
    }
  }
}

/** The service an operation is about. */
export function opServiceId(op: TableOp): ServiceAddress {
  return op.op === 'add_service' || op.op === 'edit_service' || op.op === 'delete_service' ? op.service.id : op.service;
}

/** One line for logs and `tandem plan`: `add_dest TCP 192.0.2.10:80 -> 198.51.100.1:80 NAT w1 (missing)`. */
export function describeOp(op: TableOp): string {
  switch (op.op) {
    case 'add_service': case 'edit_service': case 'delete_service':
      return `${op.op} ${serviceKey(op.service.id)}${op.op === 'delete_service' ? '' : ` ${op.service.scheduler}`} (${op.reason})`;
    default:
      return `${op.op} ${serviceKey(op.service)} -> ${destKey(op.dest)}${op.op === 'delete_dest' ? '' : ` ${op.dest.forwarding} w${op.dest.weight}`} (${op.reason})`;
  }
}
