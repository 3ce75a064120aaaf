// The IPVS backend over generic netlink: the kernel's "IPVS" family (ip_vs.h) spoken directly
// through one NETLINK_GENERIC socket, with no ipvsadm process per change. Same contract as
// IpvsadmBackend (backend.ts): apply() sends the ops in order, one acked request each, in one
// batch, and the batch goes on past a refusal; readTable() dumps the services, then the real
// servers of each.
//
// What netlink gives that ipvsadm does not: one ack per request carrying the kernel's errno, so
// `refused` is exact (no reading back, no pairing of stderr lines with ops), and its message is
// the text ipvsadm prints for that errno and command (netlinkCodec.ipvsErrorMessage). Only
// failing to talk to IPVS at all (no IPVS family in the kernel, a socket error, lost acks)
// rejects, with IpvsBackendError code 'netlink_failed'; the socket is then reopened on the next
// call, so a stale reply can never be paired with a new request.
//
// The socket calls are synchronous (the kernel runs each request inside sendmsg; see
// src/native/genetlink.cc). A large batch is cut into slices with a turn of the event loop
// between them, so 10,000 ops cannot hold up VRRP adverts for the whole batch.
import { GenlSocket } from '../../net/genetlink.js';
import { type LbTable, tableOf } from '../model.js';
import type { RealServer, VirtualService } from '../../config/lbModel.js';
import type { TableOp } from '../reconcile.js';
import type { ApplyResult, LbBackend, RefusedOp } from '../backend.js';
import { IpvsBackendError } from './backend.js';
import {
  IPVS_GENL_NAME, decodeDests, decodeServices, encodeGetDests, encodeGetServices, encodeOps, ipvsErrorMessage,
  type DecodeProblem,
} from './netlinkCodec.js';

/** The socket operations the backend uses (GenlSocket; a stand-in in unit tests). */
export interface GenlTransport {
  familyId(name: string): number;
  reserveSeq(count: number): number;
  transact(buf: Uint8Array, count: number): Int32Array;
  dump(buf: Uint8Array): Uint8Array[];
  close(): void;
}

export interface NetlinkRefusedOp extends RefusedOp {
  /** The kernel's errno for a 'kernel_refused' op (e.g. 2 ENOENT "No such destination"). */
  errno?: number;
}

export interface NetlinkApplyResult extends ApplyResult {
  refused: NetlinkRefusedOp[];
}

export interface NetlinkIpvsBackendOptions {
  /** Ops sent per synchronous socket call before the event loop gets a turn; default 1000. */
  opsPerSlice?: number;
  /** Services read per turn of the event loop in readTable(); default 50. */
  servicesPerSlice?: number;
  /** Entries of the kernel's table tandem cannot represent (left out of readTable()'s result). */
  onDecodeProblems?: (problems: DecodeProblem[]) => void;
  /** Opens the socket; default a GenlSocket (the native addon). */
  openSocket?: () => GenlTransport;
}

interface Connection { sock: GenlTransport; family: number }

export class NetlinkIpvsBackend implements LbBackend {
  private conn: Connection | null = null;
  private readonly opsPerSlice: number;
  private readonly servicesPerSlice: number;

  /** Does no I/O: the socket is opened on first use. */
  constructor(private readonly opts: NetlinkIpvsBackendOptions = {}) {
    this.opsPerSlice = Math.max(1, opts.opsPerSlice ?? 1000);
    this.servicesPerSlice = Math.max(1, opts.servicesPerSlice ?? 50);
  }

  async readTable(): Promise<LbTable> {
    const problems: DecodeProblem[] = [];
    const entries: Array<{ service: VirtualService; dests: RealServer[] }> = [];
    const services = this.exchange('dump services', ({ sock, family }) => {
      const r = decodeServices(sock.dump(encodeGetServices(family, sock.reserveSeq(1))), family);
      problems.push(...r.problems);
      return r.services;
    });
    for (let i = 0; i < services.length; i++) {
      if (i > 0 && i % this.servicesPerSlice === 0) await nextTurn();
      const service = services[i]!;
      const dests = this.exchange('dump real servers', ({ sock, family }) => {
        const r = decodeDests(sock.dump(encodeGetDests(family, sock.reserveSeq(1), service.id)), family, service.id);
        problems.push(...r.problems);
        return r.dests;
      });
      entries.push({ service, dests });
    }
    if (problems.length > 0) this.opts.onDecodeProblems?.(problems);
    return tableOf(entries);
  }

  async apply(ops: readonly TableOp[]): Promise<NetlinkApplyResult> {
    const t0 = performance.now();
    const refused: NetlinkRefusedOp[] = [];
    let sent = 0;
    let kernelRefused = 0;
    for (let from = 0; from < ops.length; from += this.opsPerSlice) {
      if (from > 0) await nextTurn();
      const slice = ops.slice(from, from + this.opsPerSlice);
      const outcome = this.exchange('apply', ({ sock, family }) => {
        const batch = encodeOps(slice, family, sock.reserveSeq(slice.length));
        const errors = batch.sent.length > 0 ? sock.transact(batch.buf, batch.sent.length) : new Int32Array(0);
        return { batch, errors };
      });
      const { batch, errors } = outcome;
      // Report in op order: unencodable and refused ops interleaved as they came.
      const byIndex = new Map<number, NetlinkRefusedOp>();
      for (const u of batch.unencodable) byIndex.set(u.index, { op: slice[u.index]!, reason: 'unrenderable', message: u.message });
      batch.sent.forEach((index, k) => {
        const errno = errors[k]!;
        if (errno === 0) return;
        const op = slice[index]!;
        byIndex.set(index, { op, reason: 'kernel_refused', message: ipvsErrorMessage(op.op, errno), errno });
        kernelRefused++;
      });
      for (const i of [...byIndex.keys()].sort((a, b) => a - b)) refused.push(byIndex.get(i)!);
      sent += batch.sent.length;
    }
    return { sent, applied: sent - kernelRefused, refused, exitStatus: null, stderrLines: [], durationMs: performance.now() - t0 };
  }

  /** Closes the socket (a later call opens a new one). */
  close(): void {
    this.conn?.sock.close();
    this.conn = null;
  }

  /** Runs `f` on the open connection; any failure closes it and becomes an IpvsBackendError. */
  private exchange<T>(what: string, f: (c: Connection) => T): T {
    const c = this.connect();
    try {
      return f(c);
    } catch (e) {
      this.close();
      if (e instanceof IpvsBackendError) throw e;
      throw new IpvsBackendError('netlink_failed', `IPVS netlink ${what}: ${(e as Error).message}`);
    }
  }

  private connect(): Connection {
    if (this.conn) return this.conn;
    let sock: GenlTransport;
    try {
      sock = this.opts.openSocket?.() ?? new GenlSocket();
    } catch (e) {
      throw new IpvsBackendError('netlink_failed', `cannot open a generic netlink socket: ${(e as Error).message}`);
    }
    try {
      const family = sock.familyId(IPVS_GENL_NAME);
      this.conn = { sock, family };
      return this.conn;
    } catch (e) {
      sock.close();
      const code = (e as { code?: unknown }).code;
      const hint = code === 'ENOENT' ? ' (no IPVS in this kernel: is the ip_vs module loaded?)' : '';
      throw new IpvsBackendError('netlink_failed', `cannot find the ${IPVS_GENL_NAME} generic netlink family${hint}: ${(e as Error).message}`);
    }
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
