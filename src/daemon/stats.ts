// Receive counters, by the same typed reasons validate.ts returns.
import { DROP_REASONS, type DropReason, type Note } from '../vrrp/validate.js';

export interface RxStats {
  accepted: number;
  drops: Record<DropReason, number>;
  notes: Partial<Record<Note, number>>;
}

export function newRxStats(): RxStats {
  const drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  return { accepted: 0, drops, notes: {} };
}
