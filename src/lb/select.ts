// The load-balancing backend a config asks for (`global.backend`, `global.ipvs_backend`):
// ipvs = IPVS through generic netlink or ipvsadm; nft = tandem's nftables tables
// (lb/nft/backend.ts); auto = IPVS when this kernel has it, else nft. The decision is here; the
// real backends and the real kernel probe are built by the composition root (daemon/compose.ts).
import { release } from 'node:os';
import type { GlobalConfig } from '../config/model.js';
import type { LbBackend } from './backend.js';

export type LbBackendName = 'netlink' | 'ipvsadm' | 'nft';

export interface SelectedBackend {
  backend: LbBackend;
  /** For logs and the API: the IPVS mechanism (netlink, ipvsadm) or nft. */
  name: LbBackendName;
  kind: 'ipvs' | 'nft';
}

/** What kernelHasIpvs reads (daemon/compose.ts passes the real file system). */
export interface KernelProbe { exists(p: string): boolean; read(p: string): string | undefined }

/** Whether the kernel has IPVS: loaded (/proc/net/ip_vs), or a module it can load on demand. */
export function kernelHasIpvs(probe: KernelProbe): boolean {
  if (probe.exists('/proc/net/ip_vs') || probe.exists('/sys/module/ip_vs')) return true;
  // Not loaded yet: the generic netlink request (or ipvsadm) autoloads ip_vs when the module exists.
  const dep = probe.read(`/lib/modules/${release()}/modules.dep`);
  if (dep !== undefined && /(^|\/)ip_vs\.ko(\.[a-z]+)?:/m.test(dep)) return true;
  // Built in (CONFIG_IP_VS=y) without /proc mounted the usual way: modules.builtin lists it.
  const builtin = probe.read(`/lib/modules/${release()}/modules.builtin`);
  return builtin !== undefined && /(^|\/)ip_vs\.ko$/m.test(builtin);
}

/** Which backend kind `global.backend` resolves to on this machine. */
export function resolveBackendKind(g: Pick<GlobalConfig, 'backend'>, hasIpvs: () => boolean): 'ipvs' | 'nft' {
  if (g.backend === 'ipvs' || g.backend === 'nft') return g.backend;
  return hasIpvs() ? 'ipvs' : 'nft';
}

/** How each backend is built (daemon/compose.ts: the real ones). */
export interface BackendMakers {
  nft(): LbBackend;
  ipvs(kind: GlobalConfig['ipvsBackend']): LbBackend;
}

export function selectBackend(g: Pick<GlobalConfig, 'backend' | 'ipvsBackend'>, hasIpvs: () => boolean, make: BackendMakers): SelectedBackend {
  const kind = resolveBackendKind(g, hasIpvs);
  if (kind === 'nft') return { backend: make.nft(), name: 'nft', kind };
  return { backend: make.ipvs(g.ipvsBackend), name: g.ipvsBackend, kind };
}
