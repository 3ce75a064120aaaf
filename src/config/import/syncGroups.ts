// vrrp_sync_group -> `vrrp_sync_groups[]`: the member list and the group's notify scripts.
import { changed, type Ctx } from './notes.js';
import type { Stmt } from './parse.js';
import { STATE_NOTIFY } from './instance.js';
import type { RepeatRules } from './repeats.js';
import { namedBlock } from './trackers.js';
import { blockItems, bool, notifyScript, set } from './values.js';
import { Flow, unwrap, type Obj } from './yamlWriter.js';

const SYNC_GROUP_REPEATS: RepeatRules = {
  first: {
    group: 'vrrp_parser.c vrrp_group_handler(): "Group list already specified for sync group %s"',
    ...Object.fromEntries(STATE_NOTIFY.map((k) => [k, `vrrp_parser.c vrrp_g${k}_handler(): "${k} script already specified - ignoring"`])),
  },
  known: (k) => k === 'group' || k === 'smtp_alert' || STATE_NOTIFY.includes(k),
};

/**
 * `instances`: the converted vrrp_instances. `memberOf`: the group each instance joined in an
 * earlier group (groups are resolved in file order, as keepalived does). A group whose members
 * all go is dropped with a note.
 */
export function convertSyncGroup(ctx: Ctx, s: Stmt, instances: ReadonlySet<string>, memberOf: Map<string, string>): Obj | undefined {
  const o = namedBlock(ctx, s, null, SYNC_GROUP_REPEATS, (c, k, o) => {
    if (STATE_NOTIFY.includes(k)) { set(o, k, c, notifyScript(ctx, c)); return true; }
    switch (k) {
      case 'group':
        set(o, k, c, new Flow(members(ctx, s.words[1] ?? '', blockItems(ctx, c), instances, memberOf)));
        return true;
      case 'smtp_alert':
        set(o, k, c, bool(ctx, c));
        return true;
      default:
        return false;
    }
  });
  if (!o) return undefined;
  const group = unwrap(o.group);
  if (!(group instanceof Flow) || group.items.length === 0) {
    // What keepalived 2.2.7 -t says when it removes the group (measured): with no member
    // listed, and with members that are all left out by vrrp_sync_set_group().
    const named = (s.block ?? []).some((c) => c.words[0] === 'group' && (c.block ?? []).some((m) => m.words.length));
    const says = named
      ? `Sync group ${String(o.name)}, no matching virtual router found in group declaration - removing`
      : `Sync group ${String(o.name)} has no virtual router(s). removing`;
    const why = named ? `none of the members of ${String(o.name)} is an instance keepalived keeps in it` : `${String(o.name)} lists no member`;
    changed(ctx, s, `${why}, so keepalived removes the group ("${says}"), and so does the conversion`);
    return undefined;
  }
  return o;
}

/**
 * The members keepalived keeps (vrrp_sync.c vrrp_sync_set_group()): one naming no instance is
 * "Virtual router %s specified in sync group %s doesn't exist - ignoring", one already in a sync
 * group (an earlier one, or earlier in this list) "cannot exist in more than one sync group".
 */
function members(ctx: Ctx, group: string, lines: Stmt[], instances: ReadonlySet<string>, memberOf: Map<string, string>): string[] {
  const out: string[] = [];
  for (const line of lines) {
    for (const m of line.words) {
      if (!instances.has(m)) {
        changed(ctx, line, `${m}: no vrrp_instance is named so: keepalived leaves it out of the group (vrrp_sync.c vrrp_sync_set_group: "Virtual router ${m} specified in sync group ${group} doesn't exist - ignoring"), and so does the conversion`, 'group');
        continue;
      }
      const other = memberOf.get(m);
      if (other !== undefined) {
        changed(ctx, line, `${m} is in sync group ${other} already: keepalived leaves it out of this one (vrrp_sync.c vrrp_sync_set_group: "Virtual router ${m} cannot exist in more than one sync group; ignoring ${group}"), and so does the conversion`, 'group');
        continue;
      }
      memberOf.set(m, group);
      out.push(m);
    }
  }
  return out;
}
