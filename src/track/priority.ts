// One rule for every tracker (interfaces, scripts, files, processes): the effective priority of a
// VRRP instance and whether a tracker holds it in FAULT. Pure: no I/O, no clock.
//
// keepalived's rules (keepalived/vrrp/vrrp_track.c initialise_*_tracking_priorities(),
// process_script_update_priority(), process_update_track_process_status(), vrrp_set_effective_priority();
// keepalived/core/track_file.c update_track_file_status(); keepalived.conf(5) "track_interface",
// "track_script", "Track files", "VRRP track processes"):
//  - up/down trackers (interface, script, process) with weight 0: FAULT while down. `reverse`
//    (weight_multiplier -1) inverts that: FAULT while up.
//  - weight W > 0 is added while up, W < 0 is added while down; `reverse` negates the amount
//    (W > 0 reverse: priority - W while up; W < 0 reverse: priority + |W| while down).
//  - a track file with weight 0: a non-zero value is FAULT (reverse: a zero value is FAULT).
//    With weight W: status = value * W (* -1 with reverse), clamped to -254..253; a status of
//    -254 (value * W <= -254) is FAULT, otherwise the status is added to the priority.
//  - the sum is clamped to 1..254; a configured priority of 255 (address owner) never changes,
//    though a weight-0 tracker still puts it in FAULT.
//  - a script that has not reported yet (keepalived SCRIPT_INIT_STATE_INIT) adds nothing; with
//    weight 0 it holds the instance out of service (keepalived keeps it in INIT; here: FAULT).

export type TrackerKind = 'interface' | 'script' | 'file' | 'process';

interface TrackerBase {
  /** The tracker's name (interface name, vrrp_script, track_file or vrrp_track_process name). */
  name: string;
  /** The weight in force for this instance: the instance's override, else the tracker's own. */
  weight: number;
  /** keepalived `reverse`: apply the weight (or the FAULT condition) the other way round. */
  reverse?: boolean;
}

/** An up/down tracker; `up: null` is a script that has not reported yet. */
export interface UpDownTrackerState extends TrackerBase {
  kind: 'interface' | 'script' | 'process';
  up: boolean | null;
}

/** A track file: the integer it holds (0 when missing). */
export interface FileTrackerState extends TrackerBase {
  kind: 'file';
  value: number;
}

export type TrackerState = UpDownTrackerState | FileTrackerState;

export interface PriorityResult {
  /** Priority to advertise: 1..254, or 255 for an address owner. */
  effective: number;
  /** A tracker holds the instance in FAULT. */
  fault: boolean;
  /** Which trackers do, as `kind:name` (e.g. `script:chk_haproxy`), in input order. */
  faultBy: string[];
}

export const OWNER_PRIORITY = 255;
/** keepalived's bounds for a track file's weighted status; the low end means FAULT. */
const FILE_STATUS_FAULT = -254;
const FILE_STATUS_MAX = 253;

/** What one tracker contributes: a priority delta, or FAULT. */
export function trackerEffect(t: TrackerState): { fault: boolean; delta: number } {
  const sign = t.reverse ? -1 : 1;
  if (t.kind === 'file') {
    if (t.weight === 0) return { fault: (t.value !== 0) !== Boolean(t.reverse), delta: 0 };
    const status = Math.min(FILE_STATUS_MAX, Math.max(FILE_STATUS_FAULT, t.value * t.weight * sign));
    return status === FILE_STATUS_FAULT ? { fault: true, delta: 0 } : { fault: false, delta: status };
  }
  if (t.weight === 0) return { fault: t.up === null || t.up === Boolean(t.reverse), delta: 0 };
  if (t.up === null) return { fault: false, delta: 0 };
  const applies = t.up ? t.weight > 0 : t.weight < 0;
  return { fault: false, delta: applies ? t.weight * sign : 0 };
}

export function computePriority(base: number, trackers: readonly TrackerState[]): PriorityResult {
  let total = base;
  const faultBy: string[] = [];
  for (const t of trackers) {
    const e = trackerEffect(t);
    if (e.fault) faultBy.push(`${t.kind}:${t.name}`);
    total += e.delta;
  }
  const effective = base === OWNER_PRIORITY ? OWNER_PRIORITY : Math.min(OWNER_PRIORITY - 1, Math.max(1, total));
  return { effective, fault: faultBy.length > 0, faultBy };
}
