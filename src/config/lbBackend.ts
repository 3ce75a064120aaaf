// What each load-balancing backend can express, checked against the virtual servers with every
// error located at file:line:col (DESIGN.md principle 6). With `global.backend: nft` (or `ipvs`)
// the errors are config errors at load. With `auto` the backend is known only at start (it
// depends on the kernel), so the errors for both are computed at load and returned in the load
// result (LoadResult.backendIssues, plain data, so it also crosses the reload worker's
// structured clone), and backendConfigErrors(loaded, resolved) hands the daemon the ones for the
// backend it got: it refuses to start, or a reload, with the same located messages.
import { isScalar, isSeq } from './yaml.js';
import type { Node } from 'yaml';
import type { ConfigIssue } from './errors.js';
import { nodeOf, report, type Ctx } from './fields.js';
import type { Config } from './model.js';
import { NFT_SCHEDULERS, type RealServer } from './lbModel.js';
import { byConfigEntry } from './virtualServers.js';

export type ResolvedBackend = 'ipvs' | 'nft';

/** What each backend cannot express in the config, located. Both lists are empty unless
 *  global.backend is `auto`: with an explicit backend its errors were load errors already. */
export type BackendIssues = Readonly<Record<ResolvedBackend, readonly ConfigIssue[]>>;

/** Called from crossCheck(): reports the chosen backend's limits, or returns both for `auto`. */
export function crossCheckLbBackend(config: Config, root: Node, ctx: Ctx): BackendIssues {
  const per = {} as Record<ResolvedBackend, ConfigIssue[]>;
  for (const b of ['ipvs', 'nft'] as const) {
    const sub: Ctx = { file: ctx.file, lineCounter: ctx.lineCounter, issues: [] };
    checkBackend(config, root, sub, b);
    per[b] = sub.issues;
  }
  if (config.global.backend === 'auto') return per;
  for (const e of per[config.global.backend]) ctx.issues.push(e); // not push(...): 10^5 arguments overflow the stack
  return { ipvs: [], nft: [] };
}

/** The config errors a loaded config has with the backend it resolved to (empty when it fits). */
export function backendConfigErrors(loaded: { backendIssues: BackendIssues }, resolved: ResolvedBackend): ConfigIssue[] {
  return [...loaded.backendIssues[resolved]];
}

function checkBackend(config: Config, root: Node | null, ctx: Ctx, backend: ResolvedBackend): void {
  const listNode = nodeOf(root, 'virtual_servers');
  const vsNodes = isSeq(listNode) ? (listNode.items as Node[]) : [];
  byConfigEntry(config.virtualServers).forEach(({ vs, index: i, first }) => {
    // A group's services share one entry in the file: its messages once.
    if (!first) return;
    const vsNode = vsNodes[i];
    const p = `virtual_servers[${i}]`;
    const at = (node: Node | undefined, key: string): Node | undefined => nodeOf(node, key) ?? node;
    const s = vs.service;
    if (backend === 'ipvs') {
      if (s.masquerade) {
        report(ctx, at(vsNode, 'nft_masquerade'), `${p}.nft_masquerade`,
          'only the nft backend can masquerade (global.backend: nft); IPVS NAT needs the real servers to route replies through the director');
      }
      return;
    }
    const nft = 'the nft backend';
    if (!(NFT_SCHEDULERS as readonly string[]).includes(s.scheduler)) {
      report(ctx, at(vsNode, 'lb_algo'), `${p}.lb_algo`,
        `${nft} cannot express ${s.scheduler} (it can: ${NFT_SCHEDULERS.join(', ')})`);
    }
    if (s.pe !== null) report(ctx, at(vsNode, 'persistence_engine'), `${p}.persistence_engine`, `${nft} has no persistence engine (${s.pe})`);
    // ops on TCP or SCTP is turned off with a warning (virtualServers.ts, as keepalived does).
    if (s.ops && s.id.kind === 'inet' && s.id.protocol === 'UDP') {
      report(ctx, at(vsNode, 'ops'), `${p}.ops`, `${nft} cannot do one-packet scheduling: conntrack NAT schedules per flow`);
    }
    if (s.persistence && vs.family === 6 && s.persistence.netmaskPrefix !== 128) {
      report(ctx, at(vsNode, 'persistence_granularity'), `${p}.persistence_granularity`,
        `${nft} cannot mask IPv6 persistence keys (nft 1.0.6 aborts on it): use 128 or leave it out`);
    }
    const rsNodes = (() => { const n = nodeOf(vsNode, 'real_servers'); return isSeq(n) ? (n.items as Node[]) : []; })();
    // DR/TUN given on the virtual server is reported there once; a real server's own lb_kind there.
    const vsKind = nodeOf(vsNode, 'lb_kind');
    const vsKindValue = isScalar(vsKind) ? String(vsKind.value) : 'NAT';
    if (vsKindValue !== 'NAT') {
      report(ctx, vsKind, `${p}.lb_kind`, `${nft} forwards by NAT (DNAT) only, not ${vsKindValue} (use lb_kind NAT, or global.backend: ipvs)`);
    }
    const checkDest = (d: RealServer, node: Node | undefined, path: string) => {
      const own = nodeOf(node, 'lb_kind');
      if (d.forwarding !== 'NAT' && own) {
        report(ctx, own, `${path}.lb_kind`, `${nft} forwards by NAT (DNAT) only, not ${d.forwarding} (use lb_kind NAT, or global.backend: ipvs)`);
      } else if (d.forwarding !== 'NAT' && vsKindValue === 'NAT') {
        report(ctx, node, `${path}.lb_kind`, `${nft} forwards by NAT (DNAT) only, not ${d.forwarding}`);
      }
      if (s.id.kind === 'fwmark' && d.port !== 0) {
        report(ctx, at(node, 'port'), `${path}.port`, `${nft} keeps the packet's port for a fwmark virtual server: leave port out`);
      }
      if (s.id.kind === 'inet' && vs.family === 6 && s.persistence && d.port !== s.id.port) {
        report(ctx, at(node, 'port'), `${path}.port`,
          `${nft} keeps only the address for IPv6 persistence (nft 1.0.6): the port must be ${s.id.port} like the virtual server`);
      }
    };
    vs.realServers.forEach((rs, j) => checkDest(rs.dest, rsNodes[j], `${p}.real_servers[${j}]`));
    if (vs.sorryServer) checkDest(vs.sorryServer.dest, nodeOf(vsNode, 'sorry_server'), `${p}.sorry_server`);
  });
}
