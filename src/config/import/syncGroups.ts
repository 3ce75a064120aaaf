// vrrp_sync_group -> `vrrp_sync_groups[]`: the member list and the group's notify scripts.
import { type Ctx } from './notes.js';
import type { Stmt } from './parse.js';
import { STATE_NOTIFY } from './instance.js';
import type { RepeatRules } from './repeats.js';
import { namedBlock } from './trackers.js';
import { blockItems, bool, notifyScript, set } from './values.js';
import { Flow, type Obj } from './yamlWriter.js';

const SYNC_GROUP_REPEATS: RepeatRules = {
  first: {
    group: 'vrrp_parser.c vrrp_group_handler(): "Group list already specified for sync group %s"',
    ...Object.fromEntries(STATE_NOTIFY.map((k) => [k, `vrrp_parser.c vrrp_g${k}_handler(): "${k} script already specified - ignoring"`])),
  },
  known: (k) => k === 'group' || k === 'smtp_alert' || STATE_NOTIFY.includes(k),
};

export function convertSyncGroup(ctx: Ctx, s: Stmt): Obj | undefined {
  return namedBlock(ctx, s, null, SYNC_GROUP_REPEATS, (c, k, o) => {
    if (STATE_NOTIFY.includes(k)) { set(o, k, c, notifyScript(ctx, c)); return true; }
    switch (k) {
      case 'group':
        set(o, k, c, new Flow(blockItems(ctx, c).flatMap((m) => m.words)));
        return true;
      case 'smtp_alert':
        set(o, k, c, bool(ctx, c));
        return true;
      default:
        return false;
    }
  });
}
