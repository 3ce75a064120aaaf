// The load-balancing table as tandem sees it, independent of the backend (IPVS via ipvsadm or
// netlink, nftables): virtual services and the real servers ("destinations" in IPVS) behind
// them. Pure: no node: imports. Both the desired table (lb/desired.ts) and the table read back
// from the kernel (lb/ipvs/parse.ts) use these types, so lb/reconcile.ts can compare them field
// by field. The vocabulary of a service and a real server (VirtualService, RealServer,
// serviceKey, destKey ...) is the config's (config/lbModel.ts): lb/ reads the config, never the
// other way round.
import { type RealServer, type Tunnel, type VirtualService, destKey, serviceKey } from '../config/lbModel.js';

export interface ServiceEntry {
  service: VirtualService;
  /** Keyed by destKey(). */
  dests: ReadonlyMap<string, RealServer>;
}

/** Keyed by serviceKey(). */
export type LbTable = ReadonlyMap<string, ServiceEntry>;

export function sameService(a: VirtualService, b: VirtualService): boolean {
  return a.scheduler === b.scheduler &&
    (a.persistence === null ? b.persistence === null
      : b.persistence !== null && a.persistence.timeoutS === b.persistence.timeoutS &&
        a.persistence.netmaskPrefix === b.persistence.netmaskPrefix) &&
    a.pe === b.pe && a.ops === b.ops && (a.masquerade ?? false) === (b.masquerade ?? false) &&
    a.schedFlags.length === b.schedFlags.length && a.schedFlags.every((f, i) => f === b.schedFlags[i]);
}

export function sameDest(a: RealServer, b: RealServer): boolean {
  return a.forwarding === b.forwarding && a.weight === b.weight && sameTunnel(a.tunnel, b.tunnel);
}

function sameTunnel(a: Tunnel | null, b: Tunnel | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.type !== b.type) return false;
  if (a.type === 'gue' && b.type === 'gue') return a.port === b.port && a.csum === b.csum;
  if (a.type === 'gre' && b.type === 'gre') return a.csum === b.csum;
  return true;
}

/** Builds an LbTable from services and their real servers (later duplicates win). */
export function tableOf(entries: Iterable<{ service: VirtualService; dests: Iterable<RealServer> }>): LbTable {
  const out = new Map<string, ServiceEntry>();
  for (const e of entries) {
    const dests = new Map<string, RealServer>();
    for (const d of e.dests) dests.set(destKey(d), d);
    out.set(serviceKey(e.service.id), { service: e.service, dests });
  }
  return out;
}
