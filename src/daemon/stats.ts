// Receive counters, by the same typed reasons validate.ts returns, and what the kernel dropped
// before tandem could read it.
import { DROP_REASONS, type DropReason, type Note } from '../vrrp/validate.js';
import type { ReceiveBuffer } from '../net/vrrpSocket.js';

export interface SocketRxStats {
  /** Packets the kernel dropped on this socket (receive buffer full), SO_RXQ_OVFL. */
  kernel_drops: number;
  receive_buffer: ReceiveBuffer | null;
}

export interface RxStats {
  accepted: number;
  drops: Record<DropReason, number>;
  notes: Partial<Record<Note, number>>;
  /** All sockets', since start (a closed socket's drops stay counted here). */
  kernel_drops: number;
  /** By socket, `interface/family` (e.g. eth0/6), for the sockets open now. */
  sockets: Record<string, SocketRxStats>;
}

export function newRxStats(): RxStats {
  const drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  return { accepted: 0, drops, notes: {}, kernel_drops: 0, sockets: {} };
}
