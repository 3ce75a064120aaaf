// How an alert event reads on the wire: the JSON body of a webhook and the subject/body of a
// keepalived-style smtp_alert mail. Pure functions, no I/O.
import type { WebhookEvent } from '../config/netAlerts.js';
import type { ServiceAddress } from '../config/lbModel.js';
import type { AlertEvent } from './events.js';

/** What a webhook can subscribe to (`events:` in the config): vrrp covers instances and groups. */
export type WebhookEventKind = WebhookEvent;

export function eventKind(e: AlertEvent): WebhookEventKind {
  return e.type === 'vrrp_instance' || e.type === 'vrrp_group' ? 'vrrp' : e.type;
}

/** Epoch milliseconds as ISO 8601 UTC (an invalid time prints as the epoch, never throws). */
export function isoTime(t: number): string {
  const d = new Date(t);
  return Number.isFinite(d.getTime()) ? d.toISOString() : new Date(0).toISOString();
}

/**
 * The webhook body. Keys are snake_case like the config; every key is always present (null when
 * it does not apply), so a receiver can use one schema for every event type:
 *   type, instance, group, virtual_server, real_server, state, previous, priority, reason,
 *   router_id, time (ISO 8601, UTC).
 * virtual_server is the service key (`TCP 192.0.2.10:80`, `FWM 1`), real_server the server's
 * address and port (`198.51.100.1:80`, `[2001:db8::1]:80`). Real servers and quorum report state
 * "UP"/"DOWN"; a sync group reports priority 0, as keepalived's generic notify does
 * (REFERENCE.md "Notify conventions").
 */
export interface WebhookBody {
  type: AlertEvent['type'];
  instance: string | null;
  group: string | null;
  virtual_server: string | null;
  real_server: string | null;
  state: string;
  previous: string | null;
  priority: number | null;
  reason: string;
  router_id: string;
  time: string;
}

export function webhookBody(e: AlertEvent, routerId: string): WebhookBody {
  const base = { type: e.type, instance: null, group: null, virtual_server: null, real_server: null, reason: e.reason, router_id: routerId, time: isoTime(e.time) };
  switch (e.type) {
    case 'vrrp_instance':
      return { ...base, instance: e.instance, state: e.state, previous: e.previous ?? null, priority: e.priority };
    case 'vrrp_group':
      return { ...base, group: e.group, state: e.state, previous: e.previous ?? null, priority: 0 };
    case 'real_server':
      return { ...base, virtual_server: e.virtualServer, real_server: hostPort(e.dest), state: upDown(e.up), previous: null, priority: null };
    case 'quorum':
      return { ...base, virtual_server: e.virtualServer, state: upDown(e.up), previous: null, priority: null };
  }
}

const upDown = (up: boolean) => (up ? 'UP' : 'DOWN');

/**
 * keepalived's smtp_alert wording (keepalived/core/smtp.c `smtp_alert()`,
 * keepalived/vrrp/vrrp_notify.c `vrrp_smtp_notifier()` / `vrrp_sync_smtp_notifier()`,
 * keepalived/check/ipwrapper.c `do_vs_notifies()`):
 *   [router_id] VRRP Instance VI_1 - Entering MASTER state
 *       => VRRP Instance is now owning VRRP VIPs <=
 *   [router_id] VRRP Group G - Entering BACKUP state
 *       => All VRRP group instances are now in BACKUP state <=
 *   [router_id] Realserver [198.51.100.1]:tcp:80 of virtual server [192.0.2.10]:tcp:80 - DOWN
 *       => CHECK failed on service <=
 *   [router_id] Virtualserver [192.0.2.10]:tcp:80 - UP
 *       => Gained quorum <=
 * The first body line is keepalived's; tandem adds the reason, previous state, priority and
 * time below it (keepalived's bodies say nothing about why).
 */
export function mailText(e: AlertEvent, routerId: string): { subject: string; body: string } {
  const extra: string[] = [];
  let subject: string;
  let first: string;
  switch (e.type) {
    case 'vrrp_instance': {
      const s = vrrpStateText(e.state);
      subject = `[${routerId}] VRRP Instance ${e.instance} - ${s.subject}`;
      first = s.instanceBody;
      if (e.previous) extra.push(`Previous state: ${e.previous}`);
      extra.push(`Priority: ${e.priority}`);
      break;
    }
    case 'vrrp_group': {
      const s = vrrpStateText(e.state);
      subject = `[${routerId}] VRRP Group ${e.group} - ${s.subject}`;
      first = s.groupBody;
      if (e.previous) extra.push(`Previous state: ${e.previous}`);
      break;
    }
    case 'real_server':
      subject = `[${routerId}] Realserver ${keepalivedRs(e.dest, e.service)} of virtual server ${keepalivedVs(e.service)} - ${upDown(e.up)}`;
      first = `=> CHECK ${e.up ? 'succeed' : 'failed'} on service <=`;
      break;
    case 'quorum':
      subject = `[${routerId}] Virtualserver ${keepalivedVs(e.service)} - ${upDown(e.up)}`;
      first = `=> ${e.up ? 'Gained quorum' : 'Lost quorum'} <=`;
      break;
  }
  const body = [first, '', `Reason: ${e.reason}`, ...extra, `Time: ${isoTime(e.time)}`, `Router: ${routerId}`].join('\n');
  return { subject, body };
}

function vrrpStateText(state: string): { subject: string; instanceBody: string; groupBody: string } {
  switch (state) {
    case 'MASTER':
      return { subject: 'Entering MASTER state', instanceBody: '=> VRRP Instance is now owning VRRP VIPs <=', groupBody: '=> All VRRP group instances are now in MASTER state <=' };
    case 'BACKUP':
      return { subject: 'Entering BACKUP state', instanceBody: '=> VRRP Instance is no longer owning VRRP VIPs <=', groupBody: '=> All VRRP group instances are now in BACKUP state <=' };
    case 'FAULT':
      return { subject: 'Entering FAULT state', instanceBody: '=> VRRP Instance is no longer owning VRRP VIPs <=', groupBody: '=> All VRRP group instances are now in FAULT state <=' };
    case 'STOP':
      return { subject: 'Stopping', instanceBody: '=> VRRP Instance stopping <=', groupBody: '=> All VRRP group instances are now stopping <=' };
    default:
      return { subject: `Entering ${state} state`, instanceBody: `=> VRRP Instance is now in ${state} state <=`, groupBody: `=> All VRRP group instances are now in ${state} state <=` };
  }
}

/**
 * keepalived's FMT_VS (lib/utils.c inet_sockaddrtotrio_r()): `[192.0.2.10]:tcp:80` (brackets
 * for IPv4 too, protocol in lower case), `FWM 1` for a fwmark service.
 */
export function keepalivedVs(s: ServiceAddress): string {
  return s.kind === 'fwmark' ? `FWM ${s.fwmark}` : `[${s.address}]:${s.protocol.toLowerCase()}:${s.port}`;
}

/** keepalived's FMT_RS: `[198.51.100.1]:tcp:80`, with the virtual server's protocol ("none"
 *  for a fwmark service, whose protocol keepalived sets to 0). */
export function keepalivedRs(dest: { address: string; port: number }, s: ServiceAddress): string {
  return `[${dest.address}]:${s.kind === 'inet' ? s.protocol.toLowerCase() : 'none'}:${dest.port}`;
}

function hostPort(d: { address: string; port: number }): string {
  return d.address.includes(':') ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`;
}
