// What the table benchmarks' agents share (bench/agents/table-agent.ts for IPVS in the VM,
// table-nft-agent.ts for nftables on the host): the 10,000-real-server config and a timed spawn.
import { spawn } from 'node:child_process';
import type { RealServerConfig, VirtualServerConfig } from '../../src/config/lbModel.js';
import { realServerId } from '../../src/config/lbModel.js';
import { destKey, type ServiceAddress, serviceKey } from '../../src/config/lbModel.js';

export const SERVICES = 100;
export const DESTS_PER_SERVICE = 100;

/** 100 TCP services 192.0.2.1-100:80 with `scheduler`, each with NAT real servers
 *  198.51.100.1-100:(10000+s), the j-th weighted `weightOf(j)`. */
export function bigConfig(scheduler: string, weightOf: (j: number) => number): VirtualServerConfig[] {
  const out: VirtualServerConfig[] = [];
  for (let s = 0; s < SERVICES; s++) {
    const id: ServiceAddress = { kind: 'inet', family: 4, protocol: 'TCP', address: `192.0.2.${s + 1}`, port: 80 };
    const key = serviceKey(id);
    const realServers: RealServerConfig[] = [];
    for (let j = 0; j < DESTS_PER_SERVICE; j++) {
      const dest = { family: 4 as const, address: `198.51.100.${j + 1}`, port: 10000 + s, forwarding: 'NAT' as const, weight: weightOf(j), tunnel: null };
      realServers.push({ id: realServerId(key, destKey(dest)), dest, inhibitOnFailure: false, checks: [] });
    }
    out.push({
      key, family: 4, service: { id, scheduler, persistence: null, pe: null, ops: false, schedFlags: [] },
      quorum: 1, hysteresis: 0, sorryServer: null, realServers,
    });
  }
  return out;
}

export interface SpawnResult { ms: number; code: number | null; stdout: string; stderr: string }

/** Spawns like a backend does (async, piped stdio, input on stdin) and times it until 'close'. */
export function timedSpawn(cmd: string, args: string[], input = ''): Promise<SpawnResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {});
    child.once('error', reject);
    child.once('close', (code) => resolve({
      ms: performance.now() - t0, code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'),
    }));
    child.stdin.end(input);
  });
}
