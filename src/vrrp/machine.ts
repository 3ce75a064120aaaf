// The VRRP state machine of one virtual router, pure: (config, state, event, now) -> (state,
// actions). No sockets, no timers, no clock: the driver (instance.ts) feeds events, carries out
// actions and fires the `timer` event at nextDeadline(state). Rules cite RFC 5798 §6.4 (and
// RFC 3768 §6.4 for v2, whose rules are the same) and keepalived where it differs.
import { compareIp } from '../ip/address.js';
import { masterDownIntervalMs, skewTimeMs } from './timers.js';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

export type TransitionReason =
  | 'startup' // INIT -> BACKUP (§6.4.1)
  | 'address_owner' // INIT -> MASTER, priority 255 (§6.4.1)
  | 'master_down_timer' // BACKUP -> MASTER (§6.4.2)
  | 'higher_priority_advert' // MASTER -> BACKUP (§6.4.3)
  | 'equal_priority_higher_ip' // MASTER -> BACKUP, tie-break on primary address (§6.4.3)
  | 'fault' // any -> FAULT (tracked interface down)
  | 'fault_cleared' // FAULT -> BACKUP
  | 'sync_group' // forced by another member of a vrrp_sync_group (keepalived vrrp_sync.c)
  | 'shutdown'; // any -> INIT (§6.4.2/§6.4.3 Shutdown event)

export type AnnounceReason = 'become_master' | 'garp_master_delay' | 'garp_master_refresh' | 'lower_priority_advert';

export type Action =
  | { type: 'transition'; from: VrrpState; to: VrrpState; reason: TransitionReason }
  | { type: 'add_vips'; reason: 'become_master' | 'vip_missing' }
  | { type: 'remove_vips' }
  | { type: 'send_advert'; priority: number; reason: 'become_master' | 'adver_timer' | 'priority_zero_received' | 'lower_priority_advert' | 'shutdown' | 'fault' }
  | { type: 'announce'; repeat: number; reason: AnnounceReason };

export type MachineEvent =
  | { type: 'start' }
  | { type: 'timer' }
  | { type: 'advert'; src: string; priority: number; advertIntCs: number }
  | { type: 'priority'; effective: number }
  | { type: 'fault'; faulty: boolean }
  | { type: 'stop' }
  | { type: 'vips_missing' }
  /** Another member of this instance's sync group changed state: follow it (BACKUP <-> MASTER). */
  | { type: 'sync'; to: 'MASTER' | 'BACKUP' }
  /** Sync group: another member is a backup that hears a live master, so this one must not
   *  become master on its own Master_Down_Timer (keepalived: "only sync to master if everyone
   *  wants to", vrrp_sync_can_goto_master). */
  | { type: 'group_hold'; hold: boolean }
  /** externalAdverts: the Adver_Timer as the advert sender saw it fire without this machine
   *  (its lease ran out while the driver was stalled, advertCadence.ts): as MASTER, send an
   *  advert now, as the machine's own late Adver_Timer would. */
  | { type: 'adver_timer' };

export interface MachineConfig {
  version: 2 | 3;
  priority: number; // configured (base) priority
  advertIntCs: number;
  preempt: boolean;
  preemptDelayMs: number;
  initialState: 'BACKUP' | 'MASTER';
  /** Our primary address on the interface (or unicast_src_ip): the tie-break key. */
  localIp: string;
  garpMasterRepeat: number;
  garpMasterDelayMs: number;
  garpMasterRefreshMs: number;
  garpMasterRefreshRepeat: number;
  garpLowerPrioRepeat: number;
  /** The periodic adverts of a MASTER are sent outside the driver (the native advert sender,
   *  vrrp/advertCadence.ts): the machine arms no Adver_Timer (adverAt stays null) but still
   *  decides when it is MASTER, with what priority, and still emits every immediate advert
   *  (becoming master, priority 0 received, lower priority heard, priority 0 on stop/fault). */
  externalAdverts?: boolean;
}

export interface MachineState {
  state: VrrpState;
  /** Priority after tracker weights; 255 (owner) never changes. */
  effectivePriority: number;
  /** v3 backups learn the master's interval (RFC 5798 §6.4.2); v2 intervals must match. */
  masterAdverIntCs: number;
  masterIp: string | null;
  faulty: boolean;
  adverAt: number | null; // Adver_Timer (MASTER)
  masterDownAt: number | null; // Master_Down_Timer (BACKUP)
  preemptAt: number | null; // preempt_delay: no preemption before this time
  garpDelayAt: number | null; // second GARP burst after garp_master_delay
  garpRefreshAt: number | null; // periodic GARP refresh
  /** Sync group hold (see the group_hold event). */
  groupHold: boolean;
  transitions: number;
}

export function initialMachineState(cfg: MachineConfig): MachineState {
  return {
    state: 'INIT',
    effectivePriority: cfg.priority,
    masterAdverIntCs: cfg.advertIntCs,
    masterIp: null,
    faulty: false,
    adverAt: null,
    masterDownAt: null,
    preemptAt: null,
    garpDelayAt: null,
    garpRefreshAt: null,
    groupHold: false,
    transitions: 0,
  };
}

/** The earliest armed timer, or null when none is armed. */
export function nextDeadline(st: MachineState): number | null {
  let min: number | null = null;
  for (const t of [st.adverAt, st.masterDownAt, st.garpDelayAt, st.garpRefreshAt]) {
    if (t !== null && (min === null || t < min)) min = t;
  }
  return min;
}

export function masterDownMs(cfg: MachineConfig, st: MachineState): number {
  return masterDownIntervalMs(cfg.version, st.effectivePriority, st.masterAdverIntCs);
}

export interface StepResult {
  state: MachineState;
  actions: Action[];
}

export function step(cfg: MachineConfig, st0: MachineState, ev: MachineEvent, now: number): StepResult {
  const st: MachineState = { ...st0 };
  const actions: Action[] = [];
  const go = (to: VrrpState, reason: TransitionReason) => {
    if (st.state === to) return;
    actions.push({ type: 'transition', from: st.state, to, reason });
    st.state = to;
    st.transitions++;
  };
  const clearTimers = () => {
    st.adverAt = st.masterDownAt = st.garpDelayAt = st.garpRefreshAt = null;
  };
  const becomeMaster = (reason: TransitionReason) => {
    // §6.4.1/§6.4.2: send an ADVERTISEMENT, broadcast gratuitous ARP / unsolicited NA for each
    // VIP, arm Adver_Timer. keepalived adds the VIPs first so the GARPs announce live addresses.
    clearTimers();
    go('MASTER', reason);
    st.masterIp = cfg.localIp;
    st.masterAdverIntCs = cfg.advertIntCs;
    actions.push({ type: 'add_vips', reason: 'become_master' });
    actions.push({ type: 'send_advert', priority: st.effectivePriority, reason: 'become_master' });
    actions.push({ type: 'announce', repeat: cfg.garpMasterRepeat, reason: 'become_master' });
    st.adverAt = cfg.externalAdverts ? null : now + cfg.advertIntCs * 10;
    if (cfg.garpMasterDelayMs > 0) st.garpDelayAt = now + cfg.garpMasterDelayMs;
    if (cfg.garpMasterRefreshMs > 0) st.garpRefreshAt = now + cfg.garpMasterRefreshMs;
  };
  const becomeBackup = (reason: TransitionReason, masterIp: string | null, masterAdverIntCs: number) => {
    const wasMaster = st.state === 'MASTER';
    clearTimers();
    go('BACKUP', reason);
    if (wasMaster) actions.push({ type: 'remove_vips' });
    st.masterIp = masterIp;
    st.masterAdverIntCs = masterAdverIntCs;
    st.masterDownAt = now + masterDownMs(cfg, st);
  };
  const leaveToFault = () => {
    if (st.state === 'MASTER') {
      // keepalived: MASTER -> FAULT sends priority 0 so the backup takes over after Skew_Time.
      actions.push({ type: 'send_advert', priority: 0, reason: 'fault' });
      actions.push({ type: 'remove_vips' });
    }
    clearTimers();
    st.masterIp = null;
    go('FAULT', 'fault');
  };

  switch (ev.type) {
    case 'start': {
      if (st.state !== 'INIT') break;
      if (cfg.preemptDelayMs > 0) st.preemptAt = now + cfg.preemptDelayMs;
      // A crashed run (kill -9) leaves its VIPs on the interface; a director that does not start
      // as master removes them, so the VIP ends up on exactly one director.
      if (!(cfg.priority === 255 && cfg.initialState === 'MASTER')) actions.push({ type: 'remove_vips' });
      if (st.faulty) leaveToFault();
      // §6.4.1: the address owner (255) starts as master; keepalived also wants `state MASTER`.
      else if (cfg.priority === 255 && cfg.initialState === 'MASTER') becomeMaster('address_owner');
      else becomeBackup('startup', null, cfg.advertIntCs);
      break;
    }
    case 'timer': {
      if (st.state === 'BACKUP' && st.masterDownAt !== null && st.masterDownAt <= now) {
        if (st.groupHold) {
          // The master we heard is gone, but a sync group sibling still hears one: stay BACKUP
          // and look again after another Master_Down_Interval.
          st.masterIp = null;
          st.masterDownAt = now + masterDownMs(cfg, st);
          break;
        }
        becomeMaster('master_down_timer'); // §6.4.2 Master_Down_Timer fires
        break;
      }
      if (st.state !== 'MASTER') break;
      if (st.adverAt !== null && st.adverAt <= now) {
        // §6.4.3 Adver_Timer fires: send an ADVERTISEMENT, reset the timer.
        actions.push({ type: 'send_advert', priority: st.effectivePriority, reason: 'adver_timer' });
        st.adverAt = now + cfg.advertIntCs * 10;
      }
      if (st.garpDelayAt !== null && st.garpDelayAt <= now) {
        actions.push({ type: 'announce', repeat: cfg.garpMasterRepeat, reason: 'garp_master_delay' });
        st.garpDelayAt = null;
      }
      if (st.garpRefreshAt !== null && st.garpRefreshAt <= now) {
        actions.push({ type: 'announce', repeat: cfg.garpMasterRefreshRepeat, reason: 'garp_master_refresh' });
        st.garpRefreshAt = now + cfg.garpMasterRefreshMs;
      }
      break;
    }
    case 'advert': {
      if (st.state === 'BACKUP') onBackupAdvert(cfg, st, ev, now);
      else if (st.state === 'MASTER') {
        if (ev.priority === 0) {
          // §6.4.3: a priority 0 advert from another router: send an advert at once.
          actions.push({ type: 'send_advert', priority: st.effectivePriority, reason: 'priority_zero_received' });
          if (!cfg.externalAdverts) st.adverAt = now + cfg.advertIntCs * 10;
        } else if (ev.priority > st.effectivePriority) {
          becomeBackup('higher_priority_advert', ev.src, learnedInterval(cfg, ev));
        } else if (ev.priority === st.effectivePriority && compareIp(ev.src, cfg.localIp) > 0) {
          becomeBackup('equal_priority_higher_ip', ev.src, learnedInterval(cfg, ev));
        } else {
          // §6.4.3 says discard. keepalived (RFC 9568 behaviour) answers at once and re-announces
          // the VIPs, so a peer that also thinks it is master (split brain) steps down quickly and
          // switches and clients learn our MAC again.
          actions.push({ type: 'send_advert', priority: st.effectivePriority, reason: 'lower_priority_advert' });
          if (cfg.garpLowerPrioRepeat > 0) {
            actions.push({ type: 'announce', repeat: cfg.garpLowerPrioRepeat, reason: 'lower_priority_advert' });
          }
        }
      }
      break; // INIT and FAULT ignore adverts
    }
    case 'priority': {
      // The address owner's priority never changes (RFC 5798 §6.1 / keepalived).
      if (cfg.priority === 255) break;
      st.effectivePriority = Math.min(254, Math.max(1, ev.effective));
      break;
    }
    case 'fault': {
      st.faulty = ev.faulty;
      if (ev.faulty && st.state !== 'FAULT' && st.state !== 'INIT') leaveToFault();
      else if (!ev.faulty && st.state === 'FAULT') becomeBackup('fault_cleared', null, cfg.advertIntCs);
      break;
    }
    case 'stop': {
      if (st.state === 'MASTER') {
        // §6.4.3 Shutdown: send an ADVERTISEMENT with Priority 0, then leave (VIPs removed).
        actions.push({ type: 'send_advert', priority: 0, reason: 'shutdown' });
        actions.push({ type: 'remove_vips' });
      }
      clearTimers();
      st.preemptAt = null;
      go('INIT', 'shutdown');
      break;
    }
    case 'sync': {
      if (ev.to === 'MASTER' && st.state === 'BACKUP') becomeMaster('sync_group');
      else if (ev.to === 'BACKUP' && st.state === 'MASTER') becomeBackup('sync_group', null, cfg.advertIntCs);
      break;
    }
    case 'group_hold': {
      st.groupHold = ev.hold;
      break;
    }
    case 'adver_timer': {
      if (st.state !== 'MASTER') break;
      actions.push({ type: 'send_advert', priority: st.effectivePriority, reason: 'adver_timer' });
      if (!cfg.externalAdverts) st.adverAt = now + cfg.advertIntCs * 10;
      break;
    }
    case 'vips_missing': {
      // Someone deleted a VIP while we are master: put it back (keepalived only logs this).
      if (st.state === 'MASTER') actions.push({ type: 'add_vips', reason: 'vip_missing' });
      break;
    }
  }
  return { state: st, actions };
}

function learnedInterval(cfg: MachineConfig, ev: { advertIntCs: number }): number {
  // RFC 5798 §6.4.2/§6.4.3: v3 sets Master_Adver_Interval from the advert; v2 intervals are equal.
  return cfg.version === 3 && ev.advertIntCs > 0 ? ev.advertIntCs : cfg.advertIntCs;
}

function onBackupAdvert(
  cfg: MachineConfig, st: MachineState, ev: Extract<MachineEvent, { type: 'advert' }>, now: number,
): void {
  if (ev.priority === 0) {
    // §6.4.2: priority 0 = the master is leaving; take over after Skew_Time only.
    st.masterDownAt = now + skewTimeMs(cfg.version, st.effectivePriority, st.masterAdverIntCs);
    return;
  }
  const lower = ev.priority < st.effectivePriority;
  if (!lower) st.preemptAt = null; // a new lower master later starts a new preempt_delay
  // keepalived: preempt_delay holds preemption for that long after startup or after first
  // seeing a lower-priority master; meanwhile the lower master is accepted like a higher one.
  let holdPreempt = false;
  if (lower && cfg.preempt && cfg.preemptDelayMs > 0) {
    if (st.preemptAt === null) st.preemptAt = now + cfg.preemptDelayMs;
    holdPreempt = st.preemptAt > now;
  }
  if (!cfg.preempt || !lower || holdPreempt) {
    // §6.4.2: accept the master: learn its interval (v3), reset Master_Down_Timer.
    st.masterAdverIntCs = learnedInterval(cfg, ev);
    st.masterIp = ev.src;
    st.masterDownAt = now + masterDownMs(cfg, st);
  }
  // else: preempt and a lower priority: discard; our Master_Down_Timer will make us master.
}
