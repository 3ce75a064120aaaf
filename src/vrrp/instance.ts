// Drives one pure VRRP machine (machine.ts): feeds it events with the current time, carries out
// its actions through injected ports, and keeps exactly one timer armed at its next deadline.
// No I/O here: the daemon passes ports that send adverts, change addresses and send GARPs.
import type { Logger } from '../log.js';
import { advertCadence, type AdvertCadence } from './advertCadence.js';
import {
  initialMachineState, nextDeadline, step, type Action, type MachineConfig, type MachineEvent, type MachineState,
  type TransitionReason, type VrrpState,
} from './machine.js';

export interface InstancePorts {
  now(): number;
  /** Arm the instance's single timer for `at` (monotonic ms), or disarm it with null. */
  armTimer(at: number | null, fire: () => void): void;
  sendAdvert(priority: number): void;
  addVips(reason: 'become_master' | 'vip_missing'): void;
  removeVips(): void;
  announce(repeat: number): void;
  /** Called after every transition, with the new state. */
  onTransition(t: { from: VrrpState; to: VrrpState; reason: TransitionReason; priority: number }): void;
  /** externalAdverts: the cadence the advert sender must keep (null: send nothing), after every
   *  step and reconfigure; the router installs, re-installs or stops the job when it changes. */
  advertCadence?(c: AdvertCadence | null): void;
  /** After every event the machine handled (sync groups watch their members' masters). */
  onStep?(): void;
  log: Logger;
}

export interface InstanceSnapshot {
  state: VrrpState;
  effectivePriority: number;
  masterIp: string | null;
  masterAdverIntCs: number;
  transitions: number;
}

export class VrrpInstanceDriver {
  private st: MachineState;
  /** The time of the last event given to the machine: machine time never goes back. */
  private lastAt = -Infinity;
  constructor(readonly name: string, private machineConfig: MachineConfig, private readonly ports: InstancePorts) {
    this.st = initialMachineState(machineConfig);
  }

  /** A reload kept this instance (same VRID, family, interface, unicast/multicast): later events
   *  use the new settings and the state carries on. A new base priority reaches the machine
   *  through setEffectivePriority (the daemon recomputes it with the trackers); a new advert_int
   *  is used from the next advert a master sends. */
  reconfigure(cfg: MachineConfig): void {
    this.machineConfig = cfg;
    // A new advert_int or priority reaches the sender's job now, not at the next step.
    this.ports.advertCadence?.(advertCadence(cfg, this.st));
  }

  /**
   * Runs the pure machine once through start, takeover, step-down and stop on a scratch state
   * and throws the result away. V8 compiles functions on first use: measured here, the first
   * BACKUP -> MASTER path took ~3 ms cold and ~0.15 ms warm, and that first run is a failover.
   */
  warmUp(): void {
    const cfg = this.machineConfig;
    let s = step(cfg, initialMachineState(cfg), { type: 'start' }, 0).state;
    s = step(cfg, s, { type: 'timer' }, s.masterDownAt ?? 0).state;
    s = step(cfg, s, { type: 'timer' }, nextDeadline(s) ?? 0).state;
    s = step(cfg, s, { type: 'advert', src: cfg.localIp, priority: 255, advertIntCs: cfg.advertIntCs }, 1).state;
    step(cfg, s, { type: 'stop' }, 2);
  }

  start(): void { this.dispatch({ type: 'start' }); }
  stop(): void { this.dispatch({ type: 'stop' }); }
  /** `arrivedAt`: when the advert arrived (the kernel's receive time, receive.ts); now if not
   *  given. The machine gets it clamped between the last event it handled and now: an advert
   *  read after another event (a tracker's priority change, a sync group order) is handled as if
   *  it came just after that event, so the machine's time stays monotonic; the Master_Down_Timer
   *  it restarts is then later than it would be from the true arrival (a backup waits longer,
   *  never less), by at most the time the advert waited. A stamp in the future counts as now. */
  advert(src: string, priority: number, advertIntCs: number, arrivedAt?: number): void {
    this.dispatch({ type: 'advert', src, priority, advertIntCs }, arrivedAt);
  }
  setFault(faulty: boolean): void {
    if (faulty !== this.st.faulty) this.dispatch({ type: 'fault', faulty });
  }
  setEffectivePriority(p: number): void {
    if (p !== this.st.effectivePriority) this.dispatch({ type: 'priority', effective: p });
  }
  vipsMissing(): void { this.dispatch({ type: 'vips_missing' }); }
  /** Follow a sync group sibling's transition. */
  syncTo(to: 'MASTER' | 'BACKUP'): void { this.dispatch({ type: 'sync', to }); }
  /** The advert sender stopped this MASTER's adverts (its lease ran out while this loop was
   *  stalled): handled as the machine's own Adver_Timer firing late, an advert at once, and the
   *  step's cadence makes the router install the job again. */
  advertLapsed(): void { this.dispatch({ type: 'adver_timer' }); }
  setGroupHold(hold: boolean): void {
    if (hold !== this.st.groupHold) this.dispatch({ type: 'group_hold', hold });
  }

  /** Whether the machine waits on its Master_Down_Timer (BACKUP): the one deadline whose action
   *  an advert already queued on the socket would cancel (router.ts drains only then). */
  get masterDownArmed(): boolean { return this.st.masterDownAt !== null; }

  snapshot(): InstanceSnapshot {
    const s = this.st;
    return {
      state: s.state, effectivePriority: s.effectivePriority, masterIp: s.masterIp,
      masterAdverIntCs: s.masterAdverIntCs, transitions: s.transitions,
    };
  }

  private dispatch(ev: MachineEvent, at?: number): void {
    const now = this.ports.now();
    const t = at === undefined ? now : Math.min(now, Math.max(at, this.lastAt));
    this.lastAt = t;
    const r = step(this.machineConfig, this.st, ev, t);
    this.st = r.state;
    const cadence = advertCadence(this.machineConfig, this.st);
    // Leaving MASTER: the sender stops before the priority 0 advert goes out, so that advert is
    // the last one the backup hears (one more periodic advert after it would restart its
    // Master_Down_Timer instead of Skew_Time).
    if (cadence === null) this.ports.advertCadence?.(null);
    // Wire effects first (VIPs, advert, GARP), then logging and notifications: the first advert
    // and GARP of a new master must not wait for a log line or a state file write.
    for (const a of r.actions) if (a.type !== 'transition') this.perform(a);
    // The periodic adverts start (or change) after this step's immediate advert.
    if (cadence !== null) this.ports.advertCadence?.(cadence);
    for (const a of r.actions) if (a.type === 'transition') this.perform(a);
    this.ports.armTimer(nextDeadline(this.st), () => this.dispatch({ type: 'timer' }));
    this.ports.onStep?.();
  }

  private perform(a: Action): void {
    const p = this.ports;
    // Each effect is isolated: a failing address change must not stop the advert after it.
    try {
      switch (a.type) {
        case 'transition':
          p.log.info(`${a.from} -> ${a.to} (${a.reason}) priority=${this.st.effectivePriority}` +
            (this.st.masterIp && a.to === 'BACKUP' ? ` master=${this.st.masterIp}` : ''));
          p.onTransition({ from: a.from, to: a.to, reason: a.reason, priority: this.st.effectivePriority });
          break;
        case 'send_advert': p.sendAdvert(a.priority); break;
        case 'add_vips': p.addVips(a.reason); break;
        case 'remove_vips': p.removeVips(); break;
        case 'announce': p.announce(a.repeat); break;
      }
    } catch (e) {
      p.log.error(`${a.type} failed: ${(e as Error).message}`);
    }
  }
}
