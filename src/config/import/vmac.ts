// use_vmac [<NAME>] and vmac_xmit_base in a vrrp_instance (keepalived vrrp_parser.c
// vrrp_vmac_handler(), vrrp_vmac_xmit_base_handler(); keepalived.conf(5)) -> use_vmac: true | NAME,
// vmac_xmit_base: true (src/config/vmac.ts).
import { note, type Ctx } from './notes.js';
import type { Stmt } from './parse.js';
import { set } from './values.js';
import type { Obj } from './yamlWriter.js';

export const VMAC_KEYS = ['use_vmac', 'vmac_xmit_base'];

/** true when `k` was one of VMAC_KEYS (converted or noted). */
export function convertVmacKeyword(ctx: Ctx, c: Stmt, k: string, o: Obj): boolean {
  if (k === 'use_vmac') {
    const name = c.words[1];
    // keepalived takes a name shorter than IFNAMSIZ; without one, vrrp.<VRID> (as tandem's default).
    if (name !== undefined && (name.length > 15 || !/^[A-Za-z0-9_.:@-]+$/.test(name))) {
      note(ctx, c, `VMAC interface name ${JSON.stringify(name)} is longer than 15 characters or invalid`);
      return true;
    }
    set(o, 'use_vmac', c, name ?? true);
    return true;
  }
  if (k === 'vmac_xmit_base') { set(o, 'vmac_xmit_base', c, true); return true; }
  return false;
}
