// What the router decides about an instance's VMAC (use_vmac, src/config/vmac.ts): it is made
// (or adopted) through the port when the instance is built, its VIPs and GARP / NA go on it, and
// it is released (deleted when tandem made it) when the instance stops. Its VRRP socket, send and
// receive, is on the VMAC unless vmac_xmit_base (running.ts socketInterface(), keepalived vrrp.c
// vrrp_create_sockpool()), so its adverts leave with the virtual MAC as their source.
import type { VrrpInstanceConfig } from '../config/model.js';
import type { VmacHandle, VmacRequest, VrrpNetwork } from './network.js';
import { VrrpStartError } from './running.js';

export interface VmacHold { handle: VmacHandle; req: VmacRequest }

export class VmacOps {
  constructor(private readonly net: VrrpNetwork) {}

  /** Makes or adopts the instance's VMAC; undefined without use_vmac. Throws VrrpStartError. */
  acquire(cfg: VrrpInstanceConfig): VmacHold | undefined {
    if (!cfg.vmac) return undefined;
    if (!this.net.acquireVmac) throw new VrrpStartError(`${cfg.name}: use_vmac is not supported by this network adapter`);
    // keepalived (vrrp_vmac.c netlink_link_add_vmac()): an IPv6 VMAC gets the base interface's
    // link-local, so adverts never leave from a VIP.
    const linkLocal = cfg.family === 6
      ? this.net.listAddresses(cfg.interface).find((a) => a.family === 6 && /^fe[89ab]/i.test(a.address))?.address
      : undefined;
    const req: VmacRequest = { name: cfg.vmac.name, parent: cfg.interface, family: cfg.family, vrid: cfg.vrid, ...(linkLocal ? { linkLocal } : {}) };
    try {
      return { handle: this.net.acquireVmac(req), req };
    } catch (e) {
      throw new VrrpStartError(`${cfg.name}: ${(e as Error).message}`);
    }
  }

  release(hold: VmacHold | undefined): void {
    if (hold) this.net.releaseVmac?.(hold.handle, hold.req);
  }
}

/** A reload cannot change use_vmac on a kept instance (its VIPs would move between links while
 *  it runs): refused with this message, or null when use_vmac is unchanged. */
export function vmacReloadRefusal(old: VrrpInstanceConfig, next: VrrpInstanceConfig): string | null {
  const a = old.vmac ? `${old.vmac.name}${old.vmac.xmitBase ? ' (vmac_xmit_base)' : ''}` : 'none';
  const b = next.vmac ? `${next.vmac.name}${next.vmac.xmitBase ? ' (vmac_xmit_base)' : ''}` : 'none';
  return a === b ? null
    : `${next.name}: use_vmac changed (${a} -> ${b}); a reload does not move a running instance's VIPs between interfaces: restart tandem, or rename the instance so that the reload removes and adds it`;
}
