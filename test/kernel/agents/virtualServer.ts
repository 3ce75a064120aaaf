// A virtual server config built in code for the kernel-tier agents: IPv4, no checks (the agents
// drive health themselves), keepalived's quorum defaults.
import type { RealServerConfig, VirtualServerConfig } from '../../../src/config/lbModel.js';
import { realServerId } from '../../../src/config/lbModel.js';
import { destKey, type Forwarding, type ServiceAddress, serviceKey } from '../../../src/config/lbModel.js';

export function vs(id: ServiceAddress, scheduler: string, dests: Array<{ address: string; port: number; weight: number; fwd: Forwarding }>): VirtualServerConfig {
  const key = serviceKey(id);
  const realServers: RealServerConfig[] = dests.map((d) => {
    const dest = { family: 4 as const, address: d.address, port: d.port, forwarding: d.fwd, weight: d.weight, tunnel: null };
    return { id: realServerId(key, destKey(dest)), dest, inhibitOnFailure: false, checks: [] };
  });
  return {
    key, family: 4, service: { id, scheduler, persistence: null, pe: null, ops: false, schedFlags: [] },
    quorum: 1, hysteresis: 0, sorryServer: null, realServers,
  };
}

/** The agents' scale table: 100 TCP services 192.0.2.1..100:80 (wlc), each with 100 NAT real
 *  servers 198.51.100.1..100 on port 10000 + the service's index, weight 1. */
export function hundredByHundred(): VirtualServerConfig[] {
  const big: VirtualServerConfig[] = [];
  for (let s = 0; s < 100; s++) {
    const id: ServiceAddress = { kind: 'inet', family: 4, protocol: 'TCP', address: `192.0.2.${s + 1}`, port: 80 };
    big.push(vs(id, 'wlc', Array.from({ length: 100 }, (_, j) => ({ address: `198.51.100.${j + 1}`, port: 10000 + s, weight: 1, fwd: 'NAT' as const }))));
  }
  return big;
}
