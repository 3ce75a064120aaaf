// Alert events: what changed, in one typed shape that every alert channel reads (scripts, the
// notify FIFO, webhooks, mail), and the two keepalived conventions that depend only on the event:
// which notify scripts run with which argv (scriptsFor) and the FIFO line (fifoLine). Pure.
//
// keepalived's order for a VRRP instance or sync group (keepalived/vrrp/vrrp_notify.c
// send_instance_notifies() / send_group_notifies()): first the state's own script
// (notify_master / notify_backup / notify_fault / notify_stop, configured argv only), then the
// generic `notify` with 4 more arguments `INSTANCE|GROUP <name> <state> <priority>` (effective
// priority; a group reports 0), then the FIFO line. keepalived forks both scripts at once and does
// not wait, so the second can overtake the first; tandem runs them one after the other, in this
// order (src/alert/scriptNotifier.ts). On shutdown every instance, then every group, gets STOP
// (keepalived notify_shutdown()). Real servers (keepalived/check/ipwrapper.c do_rs_notifies()):
// notify_up / notify_down, configured argv only, then the FIFO line; virtual servers
// (do_vs_notifies()): quorum_up / quorum_down, then the FIFO line.
import type { TransitionReason, VrrpState } from '../vrrp/machine.js';
import type { ServiceAddress } from '../config/lbModel.js';
import type { StateNotifyScripts } from '../config/notifyScripts.js';
import type { Argv } from '../process/argv.js';

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

/** Wall-clock time of the event, epoch milliseconds. */
export type EventTimeMs = number;

export type AlertEvent =
  | {
    type: 'vrrp_instance';
    instance: string;
    state: NotifyState;
    previous: VrrpState | null;
    /** Effective priority (after tracker weights), as keepalived's notify reports it. */
    priority: number;
    reason: TransitionReason;
    time: EventTimeMs;
  }
  | {
    type: 'vrrp_group';
    group: string;
    state: NotifyState;
    previous: VrrpState | null;
    reason: TransitionReason;
    time: EventTimeMs;
  }
  | {
    type: 'real_server';
    /** The virtual server's key (serviceKey(): `TCP 192.0.2.10:80`, `FWM 1`). */
    virtualServer: string;
    /** The real server's id (realServerId(): `TCP 192.0.2.10:80 -> 198.51.100.1:80`). */
    realServer: string;
    /** The virtual service and the real server's address, for keepalived's FIFO line. */
    service: ServiceAddress;
    dest: { address: string; port: number };
    up: boolean;
    /** Why: a checker reason (src/check/verdict.ts), or `shutdown`. */
    reason: string;
    time: EventTimeMs;
  }
  | {
    type: 'quorum';
    virtualServer: string;
    service: ServiceAddress;
    up: boolean;
    reason: string;
    time: EventTimeMs;
  };

/** The part of the config that scriptsFor reads (tandem's Config has it; groups are optional
 *  so the function works before sync groups carry notify scripts). */
export interface ScriptsConfigView {
  vrrpInstances: ReadonlyArray<{ name: string; notify: StateNotifyScripts }>;
  vrrpSyncGroups?: ReadonlyArray<{ name: string; notify?: StateNotifyScripts | undefined }>;
  virtualServers: ReadonlyArray<{
    key: string;
    quorumUp?: Argv | undefined;
    quorumDown?: Argv | undefined;
    realServers: ReadonlyArray<{ id: string; notifyUp?: Argv | undefined; notifyDown?: Argv | undefined }>;
  }>;
}

/** keepalived's keyword for the script, for logs and metrics. */
export type ScriptHook =
  | 'notify_master' | 'notify_backup' | 'notify_fault' | 'notify_stop' | 'notify'
  | 'notify_up' | 'notify_down' | 'quorum_up' | 'quorum_down';

export interface ScriptRun {
  hook: ScriptHook;
  argv: Argv;
}

/** Scripts of one key run one at a time in event order: one key per instance, group, real
 *  server and virtual server (quorum). */
export function eventKey(e: AlertEvent): string {
  switch (e.type) {
    case 'vrrp_instance': return `instance ${e.instance}`;
    case 'vrrp_group': return `group ${e.group}`;
    case 'real_server': return `real_server ${e.realServer}`;
    case 'quorum': return `virtual_server ${e.virtualServer}`;
  }
}

/** The event in a few words, for log lines. */
export function describeEvent(e: AlertEvent): string {
  switch (e.type) {
    case 'vrrp_instance':
      return `instance ${e.instance} ${e.previous ?? 'none'} -> ${e.state} (priority ${e.priority}, ${e.reason})`;
    case 'vrrp_group':
      return `group ${e.group} ${e.previous ?? 'none'} -> ${e.state} (${e.reason})`;
    case 'real_server':
      return `real server ${e.realServer} ${e.up ? 'UP' : 'DOWN'} (${e.reason})`;
    case 'quorum':
      return `virtual server ${e.virtualServer} quorum ${e.up ? 'UP' : 'DOWN'} (${e.reason})`;
  }
}

const STATE_HOOK: Record<NotifyState, { hook: ScriptHook; key: keyof StateNotifyScripts }> = {
  MASTER: { hook: 'notify_master', key: 'master' },
  BACKUP: { hook: 'notify_backup', key: 'backup' },
  FAULT: { hook: 'notify_fault', key: 'fault' },
  STOP: { hook: 'notify_stop', key: 'stop' },
};

/** Lookups by name/key, built once per config object (scriptsFor is called per event). */
interface Index {
  instances: Map<string, StateNotifyScripts>;
  groups: Map<string, StateNotifyScripts | undefined>;
  virtualServers: Map<string, { quorumUp?: Argv | undefined; quorumDown?: Argv | undefined }>;
  realServers: Map<string, { notifyUp?: Argv | undefined; notifyDown?: Argv | undefined }>;
}
const indexes = new WeakMap<ScriptsConfigView, Index>();

function indexOf(config: ScriptsConfigView): Index {
  let ix = indexes.get(config);
  if (!ix) {
    ix = {
      instances: new Map(config.vrrpInstances.map((i) => [i.name, i.notify])),
      groups: new Map((config.vrrpSyncGroups ?? []).map((g) => [g.name, g.notify])),
      virtualServers: new Map(config.virtualServers.map((v) => [v.key, v])),
      realServers: new Map(config.virtualServers.flatMap((v) => v.realServers.map((r) => [r.id, r] as const))),
    };
    indexes.set(config, ix);
  }
  return ix;
}

/**
 * The scripts an event runs, in the order they run, with their full argv. An event for a name the
 * config does not know (e.g. removed by a reload) runs nothing.
 */
export function scriptsFor(event: AlertEvent, config: ScriptsConfigView): ScriptRun[] {
  const ix = indexOf(config);
  const runs: ScriptRun[] = [];
  const add = (hook: ScriptHook, argv: Argv | undefined, extra: readonly string[] = []) => {
    if (argv && argv.length > 0) runs.push({ hook, argv: [...argv, ...extra] });
  };
  switch (event.type) {
    case 'vrrp_instance':
    case 'vrrp_group': {
      const group = event.type === 'vrrp_group';
      const name = group ? event.group : event.instance;
      const scripts = group ? ix.groups.get(name) : ix.instances.get(name);
      if (!scripts) break;
      const own = STATE_HOOK[event.state];
      add(own.hook, scripts[own.key]);
      const priority = group ? 0 : event.priority;
      add('notify', scripts.notify, [group ? 'GROUP' : 'INSTANCE', name, event.state, String(priority)]);
      break;
    }
    case 'real_server': {
      const rs = ix.realServers.get(event.realServer);
      if (rs) add(event.up ? 'notify_up' : 'notify_down', event.up ? rs.notifyUp : rs.notifyDown);
      break;
    }
    case 'quorum': {
      const vs = ix.virtualServers.get(event.virtualServer);
      if (vs) add(event.up ? 'quorum_up' : 'quorum_down', event.up ? vs.quorumUp : vs.quorumDown);
      break;
    }
  }
  return runs;
}

/**
 * keepalived's notify_fifo line, without the trailing newline:
 *   INSTANCE "VI_1" MASTER 100        (vrrp_notify.c notify_fifo(): `%s "%s" %s %d`)
 *   GROUP "G" BACKUP 0
 *   VS [192.0.2.10]:tcp:80 UP         (ipwrapper.c notify_fifo_vs(): `VS %s %s`, FMT_VS)
 *   VS FWM 1 DOWN
 *   RS [198.51.100.1]:tcp:80 [192.0.2.10]:tcp:80 DOWN   (notify_fifo_rs(): `RS %s %s %s`)
 *   RS [2001:db8::11]:none:0 FWM 7 UP
 * FMT_VS is `[addr]:proto:port` (lib/utils.c inet_sockaddrtotrio_r(): brackets for IPv4 too,
 * protocol in lower case) or `FWM <mark>`; FMT_RS uses the virtual server's protocol, which
 * keepalived sets to 0 ("none") for a fwmark service.
 */
export function fifoLine(e: AlertEvent): string {
  switch (e.type) {
    case 'vrrp_instance': return `INSTANCE "${e.instance}" ${e.state} ${e.priority}`;
    case 'vrrp_group': return `GROUP "${e.group}" ${e.state} 0`;
    case 'quorum': return `VS ${fifoService(e.service)} ${e.up ? 'UP' : 'DOWN'}`;
    case 'real_server': {
      const proto = e.service.kind === 'inet' ? e.service.protocol.toLowerCase() : 'none';
      return `RS [${e.dest.address}]:${proto}:${e.dest.port} ${fifoService(e.service)} ${e.up ? 'UP' : 'DOWN'}`;
    }
  }
}

function fifoService(s: ServiceAddress): string {
  return s.kind === 'fwmark' ? `FWM ${s.fwmark}` : `[${s.address}]:${s.protocol.toLowerCase()}:${s.port}`;
}
