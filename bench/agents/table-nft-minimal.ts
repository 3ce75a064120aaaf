// The hand-written minimal nft change for one real server's new weight (bench/agents/table-nft-agent.ts):
// what someone who knows the ruleset's layout (src/lb/nft/render.ts) would type, and nothing
// else. In that layout a service's weighted selection is an anonymous map inside its svc_<tag>
// chain's dnat rule, so the smallest change is: the server's element in rs_<tag> (the service's
// record) replaced, and svc_<tag> flushed and refilled with its rules. The rule text is the
// renderer's for the service alone (a person would write the same line).
import { destKey, type RealServer } from '../../src/config/lbModel.js';
import type { LbTable } from '../../src/lb/model.js';
import { modelOf, serviceTag, TABLE_NAME } from '../../src/lb/nft/render.js';

export function minimalWeightChange(table: LbTable, service: string, dest: RealServer): string {
  const entry = table.get(service);
  if (!entry) throw new Error(`no service ${service}`);
  const id = entry.service.id;
  const family = modelOf(new Map([[service, entry]]))[id.family];
  const tag = serviceTag(id);
  const chain = family?.chains.get(`svc_${tag}`);
  if (!chain || !entry.dests.has(destKey(dest))) throw new Error(`no svc_${tag} chain or no ${destKey(dest)} in ${service}`);
  const t = `${id.family === 6 ? 'ip6' : 'ip'} ${TABLE_NAME}`;
  const key = `${dest.address} . ${dest.port}`;
  return [
    `delete element ${t} rs_${tag} { ${key} }`,
    `add element ${t} rs_${tag} { ${key} : ${dest.weight} }`,
    `flush chain ${t} svc_${tag}`,
    ...chain.rules.map((r) => `add rule ${t} svc_${tag} ${r}`),
  ].join('\n') + '\n';
}
