// vrrp_sync_group at run time: carries out the pure rules of syncGroup.ts on the running members
// (siblings follow a transition, holds, the combined fault, the group's own state).
import type { Config } from '../config/model.js';
import type { Logger } from '../log.js';
import type { TransitionReason, VrrpState } from './machine.js';
import type { RunningGroup, RunningInstance } from './running.js';
import { groupFault, groupHolds, groupState, syncOrders, type GroupState, type MemberView } from './syncGroup.js';

export interface SyncGroupEvents {
  /** A vrrp_sync_group's own state changed (all members MASTER, all BACKUP, or any FAULT). */
  groupTransition?(name: string, from: GroupState | null, to: GroupState, reason: TransitionReason): void;
  changed(urgent: boolean): void;
}

const view = (r: RunningInstance): MemberView => {
  const s = r.driver.snapshot();
  return { name: r.cfg.name, state: s.state, masterIp: s.masterIp };
};

export class SyncGroupRuntime {
  constructor(private readonly log: Logger, private readonly events: SyncGroupEvents) {}

  /** (Re)builds the sync groups from the config; a group that existed before under the same name
   *  with the same members keeps its state (`previous`). */
  build(config: Config, instances: readonly RunningInstance[], byName: ReadonlyMap<string, RunningInstance>,
    previous: ReadonlyMap<string, RunningGroup>): void {
    for (const r of instances) r.group = null;
    for (const g of config.vrrpSyncGroups) {
      const members = g.members.map((m) => byName.get(m)!);
      const old = previous.get(g.name);
      const same = old !== undefined && old.members.length === members.length && old.members.every((m, i) => m === members[i]);
      const group: RunningGroup = { name: g.name, members, state: same ? old.state : null };
      for (const r of members) r.group = group;
      if (!same) this.log.info(`sync group ${g.name}: ${g.members.join(', ')}`);
    }
  }

  /** A member changed state: siblings follow it (after this transition's own wire effects, which
   *  the driver has already sent), and the group's own state may change. */
  memberTransition(r: RunningInstance, to: VrrpState, reason: TransitionReason): void {
    const g = r.group;
    if (!g) return;
    const name = r.cfg.name;
    const orders = syncOrders(g.members.map(view), name, to, reason);
    queueMicrotask(() => {
      for (const o of orders) {
        const m = g.members.find((x) => x.cfg.name === o.member)!;
        m.log.info(`sync group ${g.name}: following ${name} to ${o.to}`);
        m.driver.syncTo(o.to);
      }
      this.refreshState(g, reason);
    });
  }

  /** After any step of a member: re-decide which members may not become master on their own. */
  memberStep(r: RunningInstance): void {
    const g = r.group;
    if (!g) return;
    const holds = groupHolds(g.members.map(view));
    for (const m of g.members) m.driver.setGroupHold(holds.get(m.cfg.name) ?? false);
  }

  private refreshState(g: RunningGroup, reason: TransitionReason): void {
    const next = groupState(g.members.map((m) => m.driver.snapshot().state), g.state);
    if (next === null || next === g.state) return;
    const from = g.state;
    g.state = next;
    this.log.info(`sync group ${g.name}: ${from ?? 'INIT'} -> ${next}`);
    this.events.groupTransition?.(g.name, from, next, reason);
    this.events.changed(true);
  }

  /** Feeds the instance its fault: its own, or, in a sync group, any member's (keepalived
   *  vrrp_sync_fault: one faulty member takes the whole group to FAULT). */
  applyFault(r: RunningInstance, ownFault: boolean): void {
    r.ownFault = ownFault;
    if (!r.group) {
      r.driver.setFault(ownFault);
      return;
    }
    const fault = groupFault(r.group.members.map((m) => m.ownFault));
    for (const m of r.group.members) m.driver.setFault(fault);
  }

  snapshot(instances: readonly RunningInstance[]) {
    const groups = new Set(instances.flatMap((r) => (r.group ? [r.group] : [])));
    return [...groups].map((g) => ({ name: g.name, state: g.state, members: g.members.map((m) => m.cfg.name) }));
  }
}
