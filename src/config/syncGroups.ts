// vrrp_sync_groups: instances that change state together (keepalived's vrrp_sync_group). The
// shape, the model, and the checks that need the instances: every member exists, no instance is
// in two groups (keepalived ignores the second membership with a log line; here it is an error,
// so the file says what runs), and a group has at least two members (keepalived drops a group of
// one: "Sync group %s has only %d virtual router(s) - removing").
import { isSeq, type Node } from 'yaml';
import type { StateNotifyScripts } from '../alert/events.js';
import { boolean, field, list, nodeOf, object, report, string, type Ctx } from './fields.js';
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

export function crossCheckSyncGroups(groups: readonly SyncGroupConfig[], instances: readonly VrrpInstanceConfig[], root: Node, ctx: Ctx): void {
  const seq = nodeOf(root, 'vrrp_sync_groups');
  const items = isSeq(seq) ? (seq.items as Node[]) : [];
  const known = new Set(instances.map((i) => i.name));
  const memberOf = new Map<string, string>();
  const names = new Set<string>();
  groups.forEach((g, i) => {
    const node = items[i];
    const p = `vrrp_sync_groups[${i}]`;
    const groupNode = nodeOf(node, 'group') ?? node;
    const memberNode = (j: number): Node | undefined => (isSeq(groupNode) ? (groupNode.items[j] as Node) : groupNode);
    if (names.has(g.name)) report(ctx, nodeOf(node, 'name') ?? node, `${p}.name`, `duplicate sync group name ${g.name}`);
    names.add(g.name);
    if (g.members.length < 2) {
      report(ctx, groupNode, `${p}.group`, 'a sync group needs at least two instances (keepalived drops a group of one)');
    }
    const seen = new Set<string>();
    g.members.forEach((m, j) => {
      const at = `${p}.group[${j}]`;
      if (!known.has(m)) {
        report(ctx, memberNode(j), at, `no vrrp_instances entry is named ${m}`);
      } else if (seen.has(m)) {
        report(ctx, memberNode(j), at, `${m} is listed twice`);
      } else if (memberOf.has(m)) {
        report(ctx, memberNode(j), at, `${m} is already in sync group ${memberOf.get(m)} (an instance can be in one group only)`);
      }
      seen.add(m);
      if (!memberOf.has(m)) memberOf.set(m, g.name);
    });
  });
}
