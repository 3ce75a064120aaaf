// The addresses an instance works with: the VIPs a master adds, a backup removes and announces
// (GARP / unsolicited NA), the source address its adverts leave from, and the directed
// broadcasts its receive checks reject.
import type { Config, Vip, VrrpInstanceConfig } from '../config/model.js';
import type { RateLimitedLog } from '../log.js';
import type { VrrpNetwork } from './network.js';
import { VrrpStartError, type RunningInstance } from './running.js';
import { directedBroadcast } from './validate.js';
import { vipInterface } from './vmac.js';

const vipText = (v: Vip) => `${v.address}/${v.prefixLen}`;

export class VipOps {
  constructor(private readonly net: VrrpNetwork) {}

  /** Adds `vips` to the instance's interface; returns the ones that were not there. One VIP that
   *  cannot be added (EPERM, a bad prefix) must not keep the others away. */
  add(r: RunningInstance, vips: readonly Vip[], fail: RateLimitedLog): string[] {
    const added: string[] = [];
    for (const v of vips) {
      try {
        if (this.net.addAddress(vipInterface(r), v.address, v.prefixLen) === 'added') added.push(vipText(v));
      } catch (e) {
        fail.warn(`add:${v.address}`, `adding ${vipText(v)} to ${vipInterface(r)} failed: ${(e as Error).message}`);
      }
    }
    return added;
  }

  remove(r: RunningInstance, vips: readonly Vip[], fail: RateLimitedLog): string[] {
    return vips.filter((v) => {
      try {
        return this.net.deleteAddress(vipInterface(r), v.address, v.prefixLen) === 'deleted';
      } catch (e) {
        fail.warn(`del:${v.address}`, `removing ${vipText(v)} from ${vipInterface(r)} failed: ${(e as Error).message}`);
        return false;
      }
    }).map(vipText);
  }

  announce(r: RunningInstance, vips: readonly Vip[], repeat: number, fail: RateLimitedLog): void {
    for (let i = 0; i < repeat; i++) {
      for (const v of vips) {
        try {
          if (v.family === 4) r.announcer.garp(v.address); else r.announcer.unsolicitedNa(v.address);
        } catch (e) {
          fail.warn(`announce:${v.address}`, `announcing ${v.address} failed: ${(e as Error).message}`);
        }
      }
    }
  }

  /** unicast_src_ip, else keepalived's choice (primaryAddress). Throws VrrpStartError when there
   *  is none. `config`: its VIPs are never a source. */
  sourceAddress(config: Config, cfg: VrrpInstanceConfig): string {
    const srcIp = cfg.unicastSrcIp ?? this.primaryAddress(config, cfg);
    if (!srcIp) {
      throw new VrrpStartError(`${cfg.name}: ${cfg.interface} has no ${cfg.family === 4 ? 'IPv4' : 'IPv6 link-local'} address to send from (set unicast_src_ip or add one)`);
    }
    return srcIp;
  }

  /** keepalived's choice: the interface's first IPv4 address that is not a VIP; for IPv6 the link-local. */
  private primaryAddress(config: Config, cfg: VrrpInstanceConfig): string | undefined {
    const vips = new Set(config.vrrpInstances.flatMap((i) => [...i.vips, ...i.vipsExcluded].map((v) => v.address)));
    const addrs = this.net.listAddresses(cfg.interface).filter((a) => a.family === cfg.family && !vips.has(a.address));
    return cfg.family === 4
      ? addrs[0]?.address
      : addrs.find((a) => /^fe[89ab]/i.test(a.address))?.address;
  }

  /** The directed broadcasts of the interface's IPv4 subnets and the VIPs' (a 'bad_source'). */
  broadcastsOf(cfg: VrrpInstanceConfig): string[] {
    if (cfg.family !== 4) return [];
    const prefixes = [...this.net.listAddresses(cfg.interface).filter((a) => a.family === 4), ...cfg.vips, ...cfg.vipsExcluded];
    return [...new Set(prefixes.flatMap((a) => directedBroadcast(a.address, a.prefixLen) ?? []))];
  }

  /** Whether a VIP the instance holds as master is not on its interface now. */
  missing(r: RunningInstance): boolean {
    const present = new Set(this.net.listAddresses(vipInterface(r)).map((a) => a.address));
    return r.wire.allVips.some((v) => !present.has(v.address));
  }
}
