// VRRP virtual MAC interfaces (RFC 5798 §7.3) as keepalived makes them (keepalived/vrrp/vrrp_vmac.c
// netlink_link_add_vmac(), netlink_link_del_vmac(); vrrp_if_config.c set_interface_parameters(),
// reset_interface_parameters()): a macvlan in private mode on the instance's interface whose MAC
// is 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6), with the IPv4 sysctls keepalived
// writes, an IPv6 link-local of the base interface and no autoconfigured one, brought up.
// The link calls go through the native addon (src/native/rtnetlink_link.cc); the sysctls through
// /proc/sys (SysctlFiles, replaceable in tests).
import { readFileSync, writeFileSync } from 'node:fs';
import { isSystemError, nativeAddon } from './native.js';

/** RFC 5798 §7.3: the virtual router MAC address of (family, VRID). */
export function virtualMac(family: 4 | 6, vrid: number): string {
  return `00:00:5e:00:0${family === 4 ? 1 : 2}:${vrid.toString(16).padStart(2, '0')}`;
}

export interface SysctlFiles {
  /** undefined when the file does not exist (no such interface, no IPv4). */
  read(path: string): string | undefined;
  write(path: string, value: string): void;
}

export const procSysctl: SysctlFiles = {
  read(path) {
    try { return readFileSync(`/proc/sys/${path}`, 'utf8').trim(); } catch (e) { if (isSystemError(e, 'ENOENT')) return undefined; throw e; }
  },
  write(path, value) { writeFileSync(`/proc/sys/${path}`, value); },
};

export interface VmacRequest {
  name: string;
  parent: string;
  family: 4 | 6;
  vrid: number;
  /** IPv6: the link-local the VMAC gets (keepalived: the base interface's), when there is one. */
  linkLocal?: string;
}

export interface VmacHandle {
  readonly name: string;
  readonly mac: string;
  /** Whether this process created it (then release() deletes it). */
  readonly created: boolean;
}

export class VmacError extends Error {}

const ipv4Conf = (ifname: string, key: string) => `net/ipv4/conf/${ifname}/${key}`;

/**
 * Creates or adopts VMACs and puts back the base interfaces' sysctls when the last VMAC on one
 * goes (keepalived counts them in reset_arp_config the same way).
 */
export class VmacManager {
  /** base interface -> VMACs on it and the arp_ignore / arp_filter found before the first. */
  private readonly bases = new Map<string, { users: number; arpIgnore: string | undefined; arpFilter: string | undefined }>();

  constructor(private readonly sysctl: SysctlFiles = procSysctl) {}

  /** Throws VmacError when `name` exists and is not this VMAC (another kind, parent or MAC). */
  acquire(req: VmacRequest): VmacHandle {
    const addon = nativeAddon();
    const mac = virtualMac(req.family, req.vrid);
    const parent = addon.linkKind(req.parent);
    if (!parent) throw new VmacError(`use_vmac ${req.name}: interface ${req.parent} does not exist`);
    const existing = addon.linkKind(req.name);
    let created = false;
    if (existing) {
      // keepalived deletes a conflicting VMAC and makes its own; tandem refuses to touch an
      // interface it did not make for this instance.
      if (existing.kind !== 'macvlan' || existing.parentIfindex !== parent.ifindex || existing.mac !== mac) {
        throw new VmacError(`use_vmac ${req.name}: an interface ${req.name} exists but is not a macvlan on ${req.parent} with MAC ${mac} ` +
          `(it is ${existing.kind || 'a device'} with MAC ${existing.mac || 'none'}); remove it or choose another name`);
      }
    } else {
      addon.linkAddMacvlan(req.name, req.parent, mac, 'private');
      created = true;
    }
    if (req.family === 4) {
      // vrrp_if_config.c set_interface_parameters(): on the VMAC arp_ignore 1, accept_local 1,
      // rp_filter 0, promote_secondaries 1; on the base arp_ignore 1 and arp_filter 1, the old
      // values kept for reset_interface_parameters(). keepalived writes them only for a VMAC it
      // created; an adopted one is counted too, so the base's values come back at the end.
      if (created) {
        for (const [k, v] of [['arp_ignore', '1'], ['accept_local', '1'], ['rp_filter', '0'], ['promote_secondaries', '1']] as const) {
          this.sysctl.write(ipv4Conf(req.name, k), v);
        }
        // vrrp_vmac.c netlink_link_add_vmac(): "We don't want IPv6 running on the interface unless
        // we have some IPv6 eVIPs" (link_set_ipv6(ifp, false)): no link-local from the virtual MAC.
        this.sysctl.write(`net/ipv6/conf/${req.name}/disable_ipv6`, '1');
      }
      this.holdBase(req.parent);
    } else {
      // RFC 5798 §7.4 / vrrp_vmac.c: no link-local made from the virtual MAC (addr_gen_mode
      // none), the base interface's link-local instead, so adverts leave from a non-VIP address.
      addon.linkSetAddrGenModeNone(req.name);
      if (req.linkLocal) {
        try { addon.addrAdd(req.name, 6, req.linkLocal, 64); } catch (e) { if (!isSystemError(e, 'EEXIST')) throw e; }
      }
    }
    addon.linkSetUp(req.name);
    return { name: req.name, mac, created };
  }

  /** Deletes the VMAC when this process created it; puts the base's sysctls back after its last. */
  release(h: VmacHandle, req: VmacRequest): void {
    if (req.family === 4) this.dropBase(req.parent);
    if (!h.created) return;
    try { nativeAddon().linkDel(h.name); } catch (e) { if (!isSystemError(e, 'ENODEV')) throw e; }
  }

  private holdBase(base: string): void {
    const b = this.bases.get(base);
    if (b) { b.users++; return; }
    const arpIgnore = this.sysctl.read(ipv4Conf(base, 'arp_ignore'));
    const arpFilter = this.sysctl.read(ipv4Conf(base, 'arp_filter'));
    if (arpIgnore !== '1') this.sysctl.write(ipv4Conf(base, 'arp_ignore'), '1');
    if (arpFilter !== '1') this.sysctl.write(ipv4Conf(base, 'arp_filter'), '1');
    this.bases.set(base, { users: 1, arpIgnore, arpFilter });
  }

  private dropBase(base: string): void {
    const b = this.bases.get(base);
    if (!b || --b.users > 0) return;
    this.bases.delete(base);
    // vrrp_if_config.c reset_interface_parameters(): the values found before the first VMAC.
    if (b.arpIgnore !== undefined && b.arpIgnore !== '1') this.sysctl.write(ipv4Conf(base, 'arp_ignore'), b.arpIgnore);
    if (b.arpFilter !== undefined && b.arpFilter !== '1') this.sysctl.write(ipv4Conf(base, 'arp_filter'), b.arpFilter);
  }
}
