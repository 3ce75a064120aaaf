// The addresses an instance works with: the VIPs a master adds, a backup removes and announces
// (GARP / unsolicited NA), the source address its adverts leave from, and the directed
// broadcasts its receive checks reject.
import type { Config, Vip, VrrpInstanceConfig } from '../config/model.js';
import type { RateLimitedLog } from '../log.js';
import type { AddAddressOptions, Announcer, VrrpNetwork } from './network.js';
import { VrrpStartError, type RunningInstance } from './running.js';
import { directedBroadcast } from './validate.js';

const vipText = (v: Vip) => `${v.address}/${v.prefixLen}${v.dev ? ` dev ${v.dev}` : ''}`;

/** Where an instance's VIPs without `dev` live: its VMAC (use_vmac, vrrp/vmac.ts; keepalived
 *  puts them there, vrrp.c), else its interface. */
export function instanceVipInterface(cfg: VrrpInstanceConfig): string {
  return cfg.vmac?.name ?? cfg.interface;
}

/** The interface a VIP lives on: its `dev` (keepalived's `dev` option), else the instance's
 *  (instanceVipInterface). */
export function vipInterface(cfg: VrrpInstanceConfig, v: Vip): string {
  return v.dev ?? instanceVipInterface(cfg);
}

/** The interfaces an instance's VIPs live on (its own first). */
export function vipInterfaces(cfg: VrrpInstanceConfig): string[] {
  return [...new Set([instanceVipInterface(cfg), ...[...cfg.vips, ...cfg.vipsExcluded].map((v) => vipInterface(cfg, v))])];
}

/** What identifies a VIP as added: a reload that changes any of it re-adds it. */
export function vipKey(cfg: VrrpInstanceConfig, v: Vip): string {
  return JSON.stringify([v.address, v.prefixLen, vipInterface(cfg, v), v.label, v.scope, v.broadcast, v.peer, v.preferredLft, v.flags, v.dad]);
}

/** A VIP entry's options as the port's addAddress takes them (static addresses too: statics.ts). */
export function vipAddOptions(v: Vip): AddAddressOptions {
  return { label: v.label, scope: v.scope, broadcast: v.broadcast, peer: v.peer, preferredLft: v.preferredLft, flags: v.flags, dad: v.dad };
}

export class VipOps {
  /** `announcerFor`: the kept-open announcer of an interface (sockets.ts SocketPool): a VIP
   *  with `dev` is announced out of that interface, as keepalived sends its GARP / NA. */
  constructor(private readonly net: VrrpNetwork, private readonly announcerFor: (ifname: string) => Announcer) {}

  /** Adds `vips` to the instance's interface; returns the ones that were not there. One VIP that
   *  cannot be added (EPERM, a bad prefix) must not keep the others away. */
  add(r: RunningInstance, vips: readonly Vip[], fail: RateLimitedLog): string[] {
    const added: string[] = [];
    for (const v of vips) {
      try {
        if (this.net.addAddress(vipInterface(r.cfg, v), v.address, v.prefixLen, vipAddOptions(v)) === 'added') added.push(vipText(v));
      } catch (e) {
        fail.warn(`add:${v.address}`, `adding ${vipText(v)} to ${vipInterface(r.cfg, v)} failed: ${(e as Error).message}`);
      }
    }
    return added;
  }

  remove(r: RunningInstance, vips: readonly Vip[], fail: RateLimitedLog): string[] {
    return vips.filter((v) => {
      try {
        return this.net.deleteAddress(vipInterface(r.cfg, v), v.address, v.prefixLen, v.peer) === 'deleted';
      } catch (e) {
        fail.warn(`del:${v.address}`, `removing ${vipText(v)} from ${vipInterface(r.cfg, v)} failed: ${(e as Error).message}`);
        return false;
      }
    }).map(vipText);
  }

  announce(r: RunningInstance, vips: readonly Vip[], repeat: number, fail: RateLimitedLog): void {
    for (let i = 0; i < repeat; i++) {
      for (const v of vips) {
        try {
          const a = v.dev === undefined || v.dev === r.cfg.interface ? r.announcer : this.announcerFor(v.dev);
          if (v.family === 4) a.garp(v.address); else a.unsolicitedNa(v.address);
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

  /** The directed broadcasts of the receiving interface's IPv4 subnets and of the VIPs that live
   *  on it (a 'bad_source'): a VIP on another interface (`dev`) says nothing of this link's
   *  subnets; a VIP's own `brd` is a broadcast too; a peer VIP (point-to-point) has no subnet. */
  broadcastsOf(cfg: VrrpInstanceConfig): string[] {
    if (cfg.family !== 4) return [];
    const here = [...cfg.vips, ...cfg.vipsExcluded].filter((v) => v.family === 4 && (v.dev ?? cfg.interface) === cfg.interface); // a VMAC is on this link
    const prefixes = [...this.net.listAddresses(cfg.interface).filter((a) => a.family === 4), ...here.filter((v) => v.peer === undefined)];
    const own = here.flatMap((v) => v.broadcast && v.broadcast !== v.address ? [v.broadcast] : []);
    return [...new Set([...prefixes.flatMap((a) => directedBroadcast(a.address, a.prefixLen) ?? []), ...own])];
  }

  /** Whether a tracked VIP the instance holds as master is not on its interface now (a
   *  `no_track` VIP's absence changes nothing: keepalived.conf(5), no_track). */
  missing(r: RunningInstance): boolean {
    const present = new Map<string, Set<string>>();
    const on = (ifname: string) => {
      let s = present.get(ifname);
      if (!s) { s = new Set(this.net.listAddresses(ifname).map((a) => a.address)); present.set(ifname, s); }
      return s;
    };
    return r.wire.allVips.some((v) => !v.noTrack && !on(vipInterface(r.cfg, v)).has(v.address));
  }
}
