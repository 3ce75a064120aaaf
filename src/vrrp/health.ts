// An instance's health: its effective priority and whether it is in FAULT, from its own
// interface, its tracked interfaces, its trackers (scripts, files, processes) and whether its
// adverts leave (sendHealth.ts). The rule is track/priority.ts; the fault goes through the sync
// group runtime, which may widen it to the whole group.
import type { Logger } from '../log.js';
import { computePriority, type TrackerState } from '../track/priority.js';
import { trackedRouteInterfaces } from './routes.js';
import type { RunningInstance } from './running.js';

export interface TrackerSource {
  stateFor(instance: string): TrackerState[];
}

export class InstanceHealth {
  /** Up state of every interface an instance runs on or tracks. */
  private readonly linkUp = new Map<string, boolean>();

  constructor(
    private readonly log: Logger,
    private readonly applyFault: (r: RunningInstance, ownFault: boolean) => void,
    private readonly changed: (urgent: boolean) => void,
    private readonly trackers?: TrackerSource,
  ) {}

  /** Starts following `ifname` (if not already) from its current state. */
  watchLink(ifname: string, up: boolean): void {
    if (!this.linkUp.has(ifname)) this.linkUp.set(ifname, up);
  }

  links(): string[] { return [...this.linkUp.keys()]; }

  /** A link event: whether it changed the up state of an interface we follow. */
  linkChanged(ifname: string, up: boolean): boolean {
    if (!this.linkUp.has(ifname) || this.linkUp.get(ifname) === up) return false;
    this.linkUp.set(ifname, up);
    this.log.info(`link ${ifname} is ${up ? 'up' : 'down'}`);
    return true;
  }

  /** Own interface down, a weight-0 tracked interface (or a tracked route's) down, or adverts that do not leave
   *  (sendHealth.ts): FAULT. Other weights move the priority (track/priority.ts). */
  refresh(r: RunningInstance): void {
    const up = (n: string) => this.linkUp.get(n) ?? false;
    // keepalived tracks the instance's own interface with weight 0 (unless dont_track_primary).
    const trackers: TrackerState[] = [
      { kind: 'interface', name: r.cfg.interface, weight: 0, up: up(r.cfg.interface) },
      ...r.cfg.trackInterfaces.map((t): TrackerState => ({ kind: 'interface', name: t.interface, weight: t.weight, up: up(t.interface) })),
      // A tracked route's interface, as keepalived tracks it (routes.ts trackedRouteInterfaces()).
      ...trackedRouteInterfaces(r.cfg).map((name): TrackerState => ({ kind: 'interface', name, weight: 0, up: up(name) })),
      ...(this.trackers?.stateFor(r.cfg.name) ?? []),
    ];
    const health = computePriority(r.cfg.priority, trackers);
    r.driver.setEffectivePriority(health.effective);
    this.applyFault(r, health.fault || r.sendHealth.fault !== null);
    this.changed(true);
  }

  /** A tracker (script, file, process) of the instance changed: recompute its priority and fault. */
  trackerChanged(r: RunningInstance): void {
    const before = r.driver.snapshot().effectivePriority;
    this.refresh(r);
    const after = r.driver.snapshot().effectivePriority;
    if (after !== before) r.log.info(`tracker change: effective priority ${before} -> ${after}`);
  }
}
