// vrrp_sync_group, pure: which members must follow a member's transition, which members may not
// become master on their own, and the group's own state (for group notifications). The rules are
// keepalived's (keepalived/vrrp/vrrp_sync.c):
// - a member that goes to FAULT takes the whole group to FAULT (vrrp_sync_fault); the group
//   leaves FAULT only when no member is faulty (vrrp_sync_leave_fault). The caller applies this
//   by feeding every member the group's combined fault (groupFault below);
// - a member that becomes MASTER takes the others to MASTER (vrrp_sync_master);
// - a member that leaves MASTER for BACKUP takes the others to BACKUP (vrrp_sync_backup);
// - a member may become master on its own Master_Down_Timer only if no other member is a backup
//   that still hears a live master ("only sync to master if everyone wants to, i.e. prefer
//   backup state to avoid thrashing", vrrp_sync_goto_master).
import type { TransitionReason, VrrpState } from './machine.js';

export interface MemberView {
  name: string;
  state: VrrpState;
  /** The master this member hears (BACKUP), its own address (MASTER), or null. */
  masterIp: string | null;
}

export type SyncOrder = { member: string; to: 'MASTER' | 'BACKUP' };

/** The orders that follow `member`'s transition. Forced transitions (reason sync_group) and
 *  fault handling (done through groupFault) order nothing, so a transition never cascades. */
export function syncOrders(
  members: readonly MemberView[], member: string, to: VrrpState, reason: TransitionReason,
): SyncOrder[] {
  if (reason === 'sync_group' || reason === 'shutdown') return [];
  if (to !== 'MASTER' && to !== 'BACKUP') return [];
  // Entering BACKUP from start-up or from FAULT is not a step down: nobody follows it.
  if (to === 'BACKUP' && reason !== 'higher_priority_advert' && reason !== 'equal_priority_higher_ip') return [];
  const from: VrrpState = to === 'MASTER' ? 'BACKUP' : 'MASTER';
  return members.filter((m) => m.name !== member && m.state === from).map((m) => ({ member: m.name, to }));
}

/** Per member: hold it in BACKUP because another member is a backup hearing a live master. */
export function groupHolds(members: readonly MemberView[]): Map<string, boolean> {
  const hearing = members.filter((m) => m.state === 'BACKUP' && m.masterIp !== null).map((m) => m.name);
  return new Map(members.map((m) => [m.name, hearing.some((h) => h !== m.name)]));
}

/** The fault every member is fed: its group is faulty when any member's own inputs are. */
export function groupFault(ownFaults: readonly boolean[]): boolean {
  return ownFaults.some((f) => f);
}

export type GroupState = 'MASTER' | 'BACKUP' | 'FAULT';

/** The group's state: FAULT when any member is, MASTER or BACKUP when all members agree, and
 *  otherwise (mid-transition, or INIT) the previous one. */
export function groupState(states: readonly VrrpState[], previous: GroupState | null): GroupState | null {
  if (states.some((s) => s === 'FAULT')) return 'FAULT';
  if (states.length > 0 && states.every((s) => s === 'MASTER')) return 'MASTER';
  if (states.length > 0 && states.every((s) => s === 'BACKUP')) return 'BACKUP';
  return previous;
}
