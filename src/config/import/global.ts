// global_defs -> `global:`. Mail, script and FIFO settings convert to the same keys; keepalived's
// instance defaults (vrrp_version, vrrp_garp_*) are collected in Defaults and written into every
// instance by instance.ts, because tandem has no global form of them.
import { NO_EQUIVALENT, note, type Ctx } from './notes.js';
import type { Stmt } from './parse.js';
import { resolveRepeats, type RepeatRules } from './repeats.js';
import { appendList, blockItems, bool, num, set, str } from './values.js';
import type { Obj } from './yamlWriter.js';

const GLOBAL_GARP: Record<string, string> = {
  vrrp_garp_master_delay: 'garp_master_delay',
  vrrp_garp_master_repeat: 'garp_master_repeat',
  vrrp_garp_master_refresh: 'garp_master_refresh',
  vrrp_garp_master_refresh_repeat: 'garp_master_refresh_repeat',
  vrrp_garp_lower_prio_repeat: 'garp_lower_prio_repeat',
};

/** global_defs values that keepalived applies to every instance. */
export interface Defaults {
  version?: number;
  garp: Obj;
  /** The `vrrp_strict` line: every instance without its own strict_mode runs in strict mode. */
  strict?: Stmt;
}

const GLOBAL_KEYS = new Set([
  'router_id', 'notification_email', 'notification_email_from', 'smtp_helo_name', 'smtp_server',
  'smtp_connect_timeout', 'smtp_alert', 'smtp_alert_vrrp', 'smtp_alert_checker', 'enable_script_security',
  'script_user', 'notify_fifo', 'vrrp_version', 'vrrp_strict', ...Object.keys(GLOBAL_GARP),
]);

const GLOBAL_REPEATS: RepeatRules = {
  first: { notify_fifo: 'global_parser.c notify_fifo(): "notify_fifo already specified - ignoring"' },
  accumulate: ['notification_email'],
  known: (k) => GLOBAL_KEYS.has(k),
};

/** Every global_defs block of the file, as one: keepalived's handlers do not care which block a keyword is in. */
export function convertGlobal(ctx: Ctx, blocks: readonly Stmt[], g: Obj, d: Defaults): void {
  const items = resolveRepeats(ctx, blocks.flatMap((s) => blockItems(ctx, s)), GLOBAL_REPEATS);
  for (const c of items) {
    const k = c.words[0]!;
    switch (k) {
      case 'router_id': {
        const v = str(ctx, c);
        if (v !== undefined && !/^[A-Za-z0-9_.:-]+$/.test(v)) note(ctx, c, `router id ${JSON.stringify(v)} has characters tandem does not allow`);
        else set(g, k, c, v);
        break;
      }
      case 'notification_email': {
        // A second block adds its addresses (global_parser.c email_handler: alloc_value_block).
        appendList(g, k, c, blockItems(ctx, c).flatMap((e) => e.words));
        break;
      }
      case 'notification_email_from': case 'smtp_helo_name':
        set(g, k, c, str(ctx, c));
        break;
      case 'smtp_server':
        if (c.words.length < 2 || c.words.length > 3) note(ctx, c, 'expected <address or host> [<port>]');
        else set(g, k, c, c.words.slice(1).join(' '));
        break;
      case 'smtp_connect_timeout':
        set(g, k, c, num(ctx, c, { min: 0.001, max: 3600 }));
        break;
      case 'smtp_alert': case 'smtp_alert_vrrp': case 'smtp_alert_checker': case 'enable_script_security':
        set(g, k, c, bool(ctx, c));
        break;
      case 'script_user':
        if (c.words.length < 2 || c.words.length > 3) note(ctx, c, 'expected <user> [<group>]');
        else set(g, k, c, c.words.slice(1).join(' '));
        break;
      case 'notify_fifo':
        if (c.words.length > 2) note(ctx, c, `FIFO owner/group not converted: ${c.words.slice(2).join(' ')}`);
        if (c.words[1]?.startsWith('/')) set(g, k, c, c.words[1]);
        else note(ctx, c, 'expected an absolute path');
        break;
      case 'vrrp_strict':
        // global_parser.c vrrp_strict_handler(): strict mode for every instance (vrrp.c
        // vrrp_complete_instance() applies it; completion.ts).
        d.strict = c;
        break;
      case 'vrrp_skip_check_adv_addr':
        // global_parser.c vrrp_skip_check_adv_addr_handler(): accept adverts whose address list
        // differs from the instance's. tandem always does (src/vrrp/validate.ts notes the
        // mismatch and accepts), so the keyword converts to tandem's default: nothing to write.
        break;
      case 'vrrp_version': {
        const v = num(ctx, c, { int: true, min: 2, max: 3 });
        if (v !== undefined) d.version = v;
        break;
      }
      default:
        if (GLOBAL_GARP[k]) {
          const v = num(ctx, c, { min: 0, max: 86400 });
          if (v !== undefined) d.garp[GLOBAL_GARP[k]!] = v;
        } else note(ctx, c, NO_EQUIVALENT);
    }
  }
}
