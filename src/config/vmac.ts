// use_vmac and vmac_xmit_base on a VRRP instance (keepalived vrrp_parser.c vrrp_vmac_handler(),
// vrrp_vmac_xmit_base_handler(); keepalived.conf(5) "use_vmac [<VMAC_INTERFACE>]"): the instance's
// VIPs live on a macvlan with the RFC 5798 §7.3 virtual MAC (src/net/vmac.ts), named `vrrp.<VRID>`
// unless given. The shape, the model, and the checks across instances.
import { isMap, isScalar, isSeq } from './yaml.js';
import type { Node } from 'yaml';
import { boolean, field, nodeOf, report, string, warn, type Corrections, type Ctx, type Validator } from './fields.js';
import type { VrrpInstanceConfig } from './model.js';

export interface VmacConfig {
  /** The macvlan's name (IFNAMSIZ - 1 = 15 characters at most). */
  name: string;
  /** vmac_xmit_base: adverts leave from the base interface instead of the VMAC. */
  xmitBase: boolean;
}

const vmacName = string({ pattern: /^[A-Za-z0-9_.:@-]{1,15}$/, what: 'an interface name (1..15 characters: IFNAMSIZ - 1)' });

/** `true` (the default name), `false` (no VMAC), or the VMAC's name. */
const useVmac: Validator<string | boolean> = (at, ctx) =>
  isScalar(at.node) && typeof at.node.value === 'boolean' ? boolean(at, ctx) : vmacName(at, ctx);

export const vmacFields = {
  use_vmac: field(useVmac),
  vmac_xmit_base: field(boolean),
};

/** keepalived vrrp_parser.c vrrp_vmac_handler(): without a name, "vrrp.%d" of the VRID. */
export function vmacModel(r: { use_vmac?: string | boolean; vmac_xmit_base?: boolean; virtual_router_id: number }): { vmac?: VmacConfig } {
  if (r.use_vmac === undefined || r.use_vmac === false) return {};
  return { vmac: { name: r.use_vmac === true ? `vrrp.${r.virtual_router_id}` : r.use_vmac, xmitBase: r.vmac_xmit_base ?? false } };
}

/**
 * A VMAC name used by two instances, or equal to an instance's interface, is an error (each
 * instance creates and removes its own). vmac_xmit_base without use_vmac does nothing: a warning
 * (keepalived ignores it too).
 */
export function crossCheckVmacs(instances: readonly VrrpInstanceConfig[], root: Node, ctx: Ctx, fixes: Corrections = []): void {
  const seq = nodeOf(root, 'vrrp_instances');
  const items = isSeq(seq) ? (seq.items as Node[]) : [];
  const owners = new Map<string, number>();
  const interfaces = new Set(instances.map((i) => i.interface));
  instances.forEach((inst, i) => {
    const node = items[i];
    const at = (key: string) => (isMap(node) ? nodeOf(node, key) : undefined) ?? node;
    if (!inst.vmac) {
      if (isMap(node) && nodeOf(node, 'vmac_xmit_base') !== undefined && (node.get('vmac_xmit_base') as unknown) === true) {
        warn(ctx, at('vmac_xmit_base'), `vrrp_instances[${i}].vmac_xmit_base`, 'has no effect without use_vmac (keepalived ignores it too)');
      }
      return;
    }
    const path = `vrrp_instances[${i}].use_vmac`;
    const prev = owners.get(inst.vmac.name);
    if (prev !== undefined) {
      report(ctx, at('use_vmac'), path, `VMAC ${inst.vmac.name} is also vrrp_instances[${prev}]'s: each instance needs its own ` +
        `(the default name is vrrp.<VRID>; name one, e.g. use_vmac: vrrp${inst.family === 6 ? '6' : ''}.${inst.vrid})`);
    } else owners.set(inst.vmac.name, i);
    if (interfaces.has(inst.vmac.name)) {
      report(ctx, at('use_vmac'), path, `VMAC ${inst.vmac.name} is the name of an instance's interface`);
    }
    // keepalived vrrp.c vrrp_complete_instance(): "unicast with use_vmac requires vmac_xmit_base
    // - setting" (unicast adverts go to the peers' addresses, which the base interface routes).
    if (inst.unicastPeers.length > 0 && !inst.vmac.xmitBase) {
      warn(ctx, at('use_vmac'), path, 'unicast with use_vmac needs vmac_xmit_base: set, as keepalived sets it (adverts leave from and are read on the base interface)');
      const vmac = inst.vmac;
      fixes.push(() => { inst.vmac = { ...vmac, xmitBase: true }; });
    }
  });
}
