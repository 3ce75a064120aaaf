// The desired load-balancing table = f(config, health, previous quorum states), pure.
// keepalived's rules (check/ipwrapper.c: update_quorum_state, perform_svr_state,
// perform_quorum_state, init_service_rs):
// - a real server that is up is in the table with its effective weight (misc_dynamic may have
//   changed it); one that is down is removed, or kept with weight 0 if inhibit_on_failure;
// - quorum: the sum of the weights of live real servers. It is gained when the sum reaches
//   quorum + hysteresis and lost when it drops below quorum - hysteresis (or to 0); at start it
//   is up when the sum reaches quorum + hysteresis;
// - while quorum is lost and there is a sorry server, the sorry server replaces every real
//   server (inhibit_on_failure ones stay with weight 0); without one, the live servers stay.
import { destKey, type RealServer, type RealServerConfig, type VirtualServerConfig } from '../config/lbModel.js';
import type { HealthMap, RealServerHealth } from '../check/health.js';
import type { LbTable, ServiceEntry } from './model.js';

/** Keyed by VirtualServerConfig.key: whether quorum was up at the last computation. */
export type QuorumMap = ReadonlyMap<string, boolean>;

export type DestRole =
  | 'up' // live, with its weight
  | 'inhibited' // down, kept with weight 0 (inhibit_on_failure)
  | 'down' // down, not in the table
  | 'replaced_by_sorry' // live, but quorum is lost and the sorry server serves instead
  | 'sorry_active' // the sorry server, serving
  | 'sorry_standby'; // the sorry server, not needed (in the table with weight 0 if inhibit)

export interface ServicePlan {
  key: string;
  weightSum: number;
  quorumUp: boolean;
  sorryActive: boolean;
  /** Why each configured server is (or is not) in the table, by dest key. */
  roles: ReadonlyMap<string, DestRole>;
}

export interface QuorumChange {
  service: string;
  up: boolean;
  reason: 'gained' | 'lost' | 'starting_down';
  weightSum: number;
  threshold: number;
}

export interface DesiredResult {
  table: LbTable;
  /** Feed back as `previous` next time (hysteresis needs it). */
  quorum: Map<string, boolean>;
  services: ServicePlan[];
  quorumChanges: QuorumChange[];
}

export function initialHealth(rs: RealServerConfig): RealServerHealth {
  return { up: rs.checks.every((c) => !c.alpha), weight: rs.dest.weight };
}

export function desiredTable(
  virtualServers: readonly VirtualServerConfig[], health: HealthMap, previous: QuorumMap,
): DesiredResult {
  const table = new Map<string, ServiceEntry>();
  const quorum = new Map<string, boolean>();
  const services: ServicePlan[] = [];
  const quorumChanges: QuorumChange[] = [];

  for (const vs of virtualServers) {
    const healths = vs.realServers.map((rs) => health.get(rs.id) ?? initialHealth(rs));
    const weightSum = healths.reduce((sum, h) => sum + (h.up ? h.weight : 0), 0);
    const prev = previous.get(vs.key);
    let up: boolean;
    if (prev === undefined) {
      // keepalived set_quorum_states() at start.
      up = weightSum >= vs.quorum + vs.hysteresis;
      if (!up) quorumChanges.push({ service: vs.key, up, reason: 'starting_down', weightSum, threshold: vs.quorum + vs.hysteresis });
    } else {
      const threshold = vs.quorum + (prev ? -1 : 1) * vs.hysteresis;
      if (!prev && weightSum >= threshold) up = true;
      else if (prev && (weightSum === 0 || weightSum < threshold)) up = false;
      else up = prev;
      if (up !== prev) quorumChanges.push({ service: vs.key, up, reason: up ? 'gained' : 'lost', weightSum, threshold });
    }
    quorum.set(vs.key, up);
    const sorryActive = !up && vs.sorryServer !== null;

    const dests = new Map<string, RealServer>();
    const roles = new Map<string, DestRole>();
    vs.realServers.forEach((rs, i) => {
      const h = healths[i]!;
      const k = destKey(rs.dest);
      if (h.up && !sorryActive) {
        dests.set(k, { ...rs.dest, weight: h.weight });
        roles.set(k, 'up');
        return;
      }
      roles.set(k, h.up ? 'replaced_by_sorry' : rs.inhibitOnFailure ? 'inhibited' : 'down');
      if (rs.inhibitOnFailure) dests.set(k, { ...rs.dest, weight: 0 });
    });
    if (vs.sorryServer) {
      const k = destKey(vs.sorryServer.dest);
      roles.set(k, sorryActive ? 'sorry_active' : 'sorry_standby');
      if (sorryActive) dests.set(k, vs.sorryServer.dest);
      else if (vs.sorryServer.inhibit) dests.set(k, { ...vs.sorryServer.dest, weight: 0 });
    }
    table.set(vs.key, { service: vs.service, dests });
    services.push({ key: vs.key, weightSum, quorumUp: up, sorryActive, roles });
  }
  return { table, quorum, services, quorumChanges };
}
