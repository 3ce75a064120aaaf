// SYNs sent in a benchmark's network namespace, counted by an nftables rule on its output hook.
// A TCP check is one SYN (a connect(), or tandem's half-open probe from a raw socket, which the
// kernel's ActiveOpens counter never sees: no socket connects), so this counts every checker's
// probes the same way. Retransmitted SYNs count too (none on loopback while the servers keep up).
import { spawnSync } from 'node:child_process';

const TABLE = 'tandem_bench_syns';

function nft(netns: string, args: string[], input?: string): string {
  const r = spawnSync('ip', ['netns', 'exec', netns, 'nft', ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new Error(`nft ${args.join(' ')} in ${netns}: ${r.stderr.trim()} (apt-get install -y nftables)`);
  return r.stdout;
}

/** Adds the counting rule to `netns` (once; the namespace's deletion removes it). */
export function installSynCounter(netns: string): void {
  nft(netns, ['-f', '-'], `table inet ${TABLE} {\n  chain out {\n    type filter hook output priority 0; policy accept;\n    tcp flags & (syn | ack) == syn counter\n  }\n}\n`);
}

/** SYNs (without ACK) sent in `netns` since installSynCounter. */
export function synsSent(netns: string): number {
  const j = JSON.parse(nft(netns, ['-j', 'list', 'table', 'inet', TABLE])) as { nftables: Array<{ rule?: { expr: Array<{ counter?: { packets: number } }> } }> };
  for (const item of j.nftables) {
    for (const e of item.rule?.expr ?? []) if (e.counter) return e.counter.packets;
  }
  throw new Error(`no counter in table inet ${TABLE} of ${netns}`);
}
