// vrrp_sync_groups: instances that change state together (keepalived's vrrp_sync_group). The
// shape, the model, and the checks that need the instances. keepalived 2.2.7 (vrrp_sync.c
// vrrp_sync_set_group(), observed with keepalived -t and a running keepalived) logs and carries
// on where a group names an instance that does not exist, names one already in a group, or
// ends up with one member or none; tandem does the same, with a located warning for each:
// - "Virtual router %s specified in sync group %s doesn't exist - ignoring": the member is dropped;
// - "Virtual router %s cannot exist in more than one sync group; ignoring %s": the later
//   membership is dropped (also a name listed twice in one group);
// - "Sync group %s has only 1 virtual router(s) - this probably isn't what you want": the group
//   is KEPT and runs (its notify scripts follow that one instance);
// - "Sync group %s, no matching virtual router found in group declaration - removing": the group
//   is dropped, so its scripts never run.
import { isSeq } from './yaml.js';
import type { Node } from 'yaml';
import type { StateNotifyScripts } from './notifyScripts.js';
import { boolean, field, list, namesInFile, nodeOf, object, reportDuplicateNames, string, warn, type Corrections, type Ctx } from './fields.js';
import type { VrrpInstanceConfig } from './model.js';
import { stateNotifyFields, stateNotifyModel } from './notifyScripts.js';

const name = string({ pattern: /^[A-Za-z0-9_.-]+$/, what: 'a name of letters, digits, _ . -' });

export const syncGroupShape = object({
  name: field(name, { required: true }),
  group: field(list(name, { min: 1 }), { required: true }),
  // notify_master / _backup / _fault / _stop and notify (GROUP <name> <state> 0), as for instances.
  ...stateNotifyFields,
  smtp_alert: field(boolean),
});

export type RawSyncGroup = NonNullable<ReturnType<typeof syncGroupShape>>;

export interface SyncGroupConfig {
  name: string;
  /** Member instance names, in the config's order. */
  members: string[];
  notify: StateNotifyScripts;
  /** keepalived smtp_alert on the group (default: global smtp_alert_vrrp / smtp_alert). */
  smtpAlert: boolean;
}

export function syncGroupModel(r: RawSyncGroup, smtpAlertDefault: boolean): SyncGroupConfig {
  return { name: r.name, members: r.group, notify: stateNotifyModel(r), smtpAlert: r.smtp_alert ?? smtpAlertDefault };
}

/**
 * Duplicate group names are errors (which group's scripts would run?); what keepalived ignores
 * with a log line is a warning, and the model is corrected as keepalived corrects it (top of
 * this file). `partial`: the model is what parsed of a file with errors, so an instance that
 * failed validation is missing from `instances` but exists (its name is read from the file).
 */
export function crossCheckSyncGroups(
  groups: SyncGroupConfig[], instances: readonly VrrpInstanceConfig[], root: Node, ctx: Ctx, fixes: Corrections = [], partial = false,
): void {
  const seq = nodeOf(root, 'vrrp_sync_groups');
  const items = isSeq(seq) ? (seq.items as Node[]) : [];
  const known = new Set<string>();
  instances.forEach((i) => known.add(i.name));
  const inFile = partial ? namesInFile(root, 'vrrp_instances') : known;
  const memberOf = new Map<string, string>();
  reportDuplicateNames(root, 'vrrp_sync_groups', ctx, (n) => `duplicate sync group name ${n}`);
  const emptied: SyncGroupConfig[] = [];
  groups.forEach((g, i) => {
    const node = items[i];
    const p = `vrrp_sync_groups[${i}]`;
    const groupNode = nodeOf(node, 'group') ?? node;
    const memberNode = (j: number): Node | undefined => (isSeq(groupNode) ? (groupNode.items[j] as Node) : groupNode);
    const kept: string[] = [];
    g.members.forEach((m, j) => {
      const at = `${p}.group[${j}]`;
      if (!known.has(m)) {
        if (!inFile.has(m)) warn(ctx, memberNode(j), at, `no vrrp_instances entry is named ${m}: ignored, as keepalived ignores it`);
      } else if (kept.includes(m)) {
        warn(ctx, memberNode(j), at, `${m} is listed twice: the second is ignored, as keepalived ignores it`);
      } else if (memberOf.has(m)) {
        warn(ctx, memberNode(j), at, `${m} is already in sync group ${memberOf.get(m)} (an instance is in one group only): ` +
          `ignored here, as keepalived ignores a second membership`);
      } else {
        kept.push(m);
        memberOf.set(m, g.name);
      }
    });
    if (partial) return;
    if (kept.length === 1) {
      warn(ctx, groupNode, `${p}.group`, `has one instance (${kept[0]}): keepalived keeps such a group and so does tandem; ` +
        `its scripts follow ${kept[0]} alone (a group is for instances that must move together)`);
    } else if (kept.length === 0) {
      warn(ctx, groupNode, `${p}.group`, 'has no instance that exists: the group is dropped, as keepalived drops it (its scripts never run)');
      emptied.push(g);
    }
    if (kept.length !== g.members.length) fixes.push(() => { g.members = kept; });
  });
  if (emptied.length) fixes.push(() => { for (const g of emptied) groups.splice(groups.indexOf(g), 1); });
}
