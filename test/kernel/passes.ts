// What the kernel-tier agents report about a running Reconciler's passes, and the claim the
// tests make about them, shared by ipvs-backend.test.ts and ipvs-netlink.test.ts.
import assert from 'node:assert/strict';

/** One pass as an agent saw it (PassReport's cause, read and number of ops). */
export interface PassSeen { cause: string; read: boolean; ops: number }

/** The loop's claim "a drift is undone within one interval", without a clock under emulation:
 *  the passes after the drift are periodic ones that read the kernel, and the one with ops is the
 *  first or, when a pass was already in flight as the drift was made, the second. */
export function assertUndoneByNextPeriodicPass(seen: readonly PassSeen[]): void {
  const fixAt = seen.findIndex((p) => p.ops > 0);
  assert.ok(fixAt === 0 || fixAt === 1, `passes after the drift: ${JSON.stringify(seen)}`);
  assert.equal(seen.length, fixAt + 1, `the agent stops at the fixing pass: ${JSON.stringify(seen)}`);
  for (const p of seen) assert.deepEqual([p.cause, p.read], ['interval', true], JSON.stringify(seen));
}
