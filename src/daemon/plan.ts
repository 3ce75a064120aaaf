// `tandem plan -f FILE`: read the kernel's IPVS table, compute the desired one from FILE, and
// print the batch that applying FILE would send, without sending it. Real servers are taken at
// their initial verdict (up, unless a check has `alpha`): a dry run has no health history.
// Exit 0 planned, 1 the table cannot be read, 2 a change the backend refuses (the CLI exits 2
// before this for a config that is refused).
import type { Config } from '../config/model.js';
import { desiredTable } from '../lb/desired.js';
import type { LbBackend } from '../lb/backend.js';
import { NftBackend } from '../lb/nft/backend.js';
import { renderOp } from '../lb/ipvs/render.js';
import { describeOp, reconcile } from '../lb/reconcile.js';

/** `backend`: the one `tandem run` would use (daemon/compose.ts composePlan builds it); `out`:
 *  where the plan is printed (stdout there). */
export async function planTable(config: Config, backend: LbBackend, out: (s: string) => void): Promise<number> {
  try {
    return await plan(config, backend, out);
  } finally {
    backend.close?.();
  }
}

async function plan(config: Config, backend: LbBackend, out: (s: string) => void): Promise<number> {
  let actual;
  try {
    actual = await backend.readTable();
  } catch (e) {
    process.stderr.write(`tandem plan: cannot read the IPVS table: ${(e as Error).message.trim()}\n`);
    return 1;
  }
  const desired = desiredTable(config.virtualServers, new Map(), new Map()).table;
  // Only the services the config names are ours: anything else in the kernel is left alone.
  const ops = reconcile(desired, actual, new Set(desired.keys()));
  if (ops.length === 0) {
    out(`# no changes: the IPVS table already matches ${config.file} (${desired.size} virtual service(s))\n`);
    return 0;
  }
  if (backend instanceof NftBackend) {
    // One nft transaction over tandem's tables (docs/nft-backend.md).
    const { script, refused } = await backend.planScript(ops);
    out(`# ${ops.length} change(s) to apply ${config.file}:\n${ops.map((op) => `#   ${describeOp(op)}\n`).join('')}`);
    for (const r of refused) out(`# refused: ${describeOp(r.op)}: ${r.message ?? r.reason}\n`);
    out(`# as one nft -f transaction:\n${script}`);
    // A change the backend refuses would not be made: applying FILE would not give the table it says.
    if (refused.length) {
      process.stderr.write(`tandem plan: ${refused.length} change(s) refused by the nft backend (listed above)\n`);
      return 2;
    }
    return 0;
  }
  out(`# ${ops.length} change(s) to apply ${config.file}; as an ipvsadm -R batch:\n`);
  for (const op of ops) out(`${renderOp(op)}    # ${describeOp(op)}\n`);
  return 0;
}
