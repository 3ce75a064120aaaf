// The config of e-mail and webhook alerts (issue 4 §2). keepalived's global_defs keywords
// (notification_email, notification_email_from, smtp_server, smtp_connect_timeout,
// smtp_helo_name, smtp_alert, smtp_alert_vrrp, smtp_alert_checker) plus tandem's `webhooks`.
//
//   global:
//     notification_email: [ops@example.com, oncall@example.com]
//     notification_email_from: lb1@example.com    # default tandem@<hostname>
//     smtp_server: 192.0.2.25                      # keepalived's "smtp_server <host> [<port>]"
//     smtp_connect_timeout: 30                     # seconds (keepalived's default)
//     smtp_helo_name: lb1.example.com              # default: the host name (keepalived's)
//     smtp_alert: true                             # default for instances and virtual servers
//     webhooks:
//       - url: https://hooks.example.com/tandem
//         secret: a-long-random-shared-secret      # X-Tandem-Signature (src/alert/webhook.ts)
//         timeout: 5                               # seconds, connect + response
//         retries: 3
//         queue_size: 256
//         verify_certificate: true                 # https only
//         ca: /etc/tandem/hooks-ca.pem             # https only
//         events: [vrrp, real_server, quorum]      # default all
import { isScalar, isSeq } from './yaml.js';
import type { Node } from 'yaml';
import {
  boolean, type Ctx, describe, field, integer, list, nodeOf, number, object, oneOf, report, type Validator,
  warn,
} from './fields.js';
import { canonicalIp } from '../ip/address.js';

export const WEBHOOK_EVENTS = ['vrrp', 'real_server', 'quorum'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookConfig {
  url: string;
  secret: string | undefined;
  timeoutMs: number;
  retries: number;
  queueSize: number;
  verifyCertificate: boolean;
  /** PEM file of CA certificates to trust (https). */
  caFile: string | undefined;
  events: WebhookEvent[];
}

export interface MailConfig {
  server: { host: string; port: number };
  connectTimeoutMs: number;
  heloName: string;
  from: string;
  to: string[];
  /** smtp_alert of sync groups: keepalived's default for VRRP (smtp_alert_vrrp, smtp_alert, off). */
  groupSmtpAlert: boolean;
}

/** keepalived's defaults (global_data.c, check_parser.c, vrrp_parser.c). */
export const NET_ALERT_DEFAULTS = {
  smtpPort: 25,
  smtpConnectTimeoutS: 30,
  webhookTimeoutS: 5,
  webhookRetries: 3,
  webhookQueueSize: 256,
} as const;

function scalar(at: { node: Node | null | undefined }): unknown {
  return isScalar(at.node) ? at.node.value : undefined;
}

/**
 * An addr-spec (RFC 5322 §3.4.1) as used on the SMTP envelope: dot-atom local part, then a host
 * name or an address literal; or a local mailbox alone (`root`, `keepalived`), which keepalived
 * takes as written (keepalived/core/global_parser.c email_handler() stores each word with
 * alloc_email(), unchecked) and sends as `RCPT TO:<root>`, which a local MTA delivers to that
 * user (Postfix, Exim and sendmail qualify it with their own domain). No display names,
 * comments or quoted local parts: they would need quoting rules on the wire and nobody pages
 * "Ops Team" <x@y>.
 */
const LOCAL_PART = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*";
const DOMAIN = '(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]+\\])';
const EMAIL = new RegExp(`^${LOCAL_PART}(?:@${DOMAIN})?$`);

export const emailAddress: Validator<string> = (at, ctx) => {
  const v = scalar(at);
  if (typeof v !== 'string' || v.length > 254 || !EMAIL.test(v)) {
    report(ctx, at.node, at.path, `expected an e-mail address like ops@example.com or a local mailbox like root, got ${describe(at.node)}`);
    return undefined;
  }
  return v;
};

const HOSTNAME = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$/;

/** EHLO argument: a host name, or an address literal `[192.0.2.1]` (RFC 5321 §4.1.3). */
const heloName: Validator<string> = (at, ctx) => {
  const v = scalar(at);
  if (typeof v === 'string' && (HOSTNAME.test(v) || /^\[(?:IPv6:)?[0-9A-Fa-f:.]+\]$/.test(v))) return v;
  report(ctx, at.node, at.path, `expected a host name (or an address literal like [192.0.2.1]), got ${describe(at.node)}`);
  return undefined;
};

/**
 * keepalived's `smtp_server <IP|host> [<PORT>]`, as one string: `192.0.2.25`,
 * `mail.example.com 587`, `2001:db8::25 25` (an IPv6 address needs no brackets, as in
 * keepalived; `[2001:db8::25]` is accepted too).
 */
const smtpServer: Validator<{ host: string; port: number }> = (at, ctx) => {
  const v = scalar(at);
  const bad = () => {
    report(ctx, at.node, at.path, `expected "<address or host name> [<port>]" (e.g. 192.0.2.25 or "mail.example.com 587"), got ${describe(at.node)}`);
    return undefined;
  };
  if (typeof v !== 'string') return bad();
  const parts = v.trim().split(/\s+/);
  if (parts.length < 1 || parts.length > 2) return bad();
  const hostText = parts[0]!.replace(/^\[(.*)\]$/, '$1');
  const ip = canonicalIp(hostText);
  if (!ip && !HOSTNAME.test(hostText)) return bad();
  let port: number = NET_ALERT_DEFAULTS.smtpPort;
  if (parts.length === 2) {
    if (!/^\d{1,5}$/.test(parts[1]!) || Number(parts[1]) < 1 || Number(parts[1]) > 65535) {
      report(ctx, at.node, at.path, `port must be 1..65535, got ${JSON.stringify(parts[1])}`);
      return undefined;
    }
    port = Number(parts[1]);
  }
  return { host: ip ? ip.address : hostText, port };
};

/** An http:// or https:// URL with a host; no fragment (it is never sent). */
const webhookUrl: Validator<string> = (at, ctx) => {
  const v = scalar(at);
  let url: URL | undefined;
  try { url = typeof v === 'string' ? new URL(v) : undefined; } catch { url = undefined; }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    report(ctx, at.node, at.path, `expected an http:// or https:// URL, got ${describe(at.node)}`);
    return undefined;
  }
  if (url.hash) {
    report(ctx, at.node, at.path, 'a URL fragment (#...) is never sent to the server; remove it');
    return undefined;
  }
  return url.href;
};

/** At least 16 characters: the HMAC key is the only thing that authenticates the sender. */
const secret: Validator<string> = (at, ctx) => {
  const v = scalar(at);
  if (typeof v !== 'string' || v.length < 16 || /[\r\n]/.test(v)) {
    report(ctx, at.node, at.path, `expected a secret of at least 16 characters on one line, got ${typeof v === 'string' ? `${v.length} characters` : describe(at.node)}`);
    return undefined;
  }
  return v;
};

const absolutePath: Validator<string> = (at, ctx) => {
  const v = scalar(at);
  if (typeof v !== 'string' || !v.startsWith('/')) {
    report(ctx, at.node, at.path, `expected an absolute file path, got ${describe(at.node)}`);
    return undefined;
  }
  return v;
};

const webhookObject = object({
  url: field(webhookUrl, { required: true }),
  secret: field(secret),
  timeout: field(number(0.001, 300, ' seconds')),
  retries: field(integer(0, 100)),
  queue_size: field(integer(1, 1_000_000)),
  verify_certificate: field(boolean),
  ca: field(absolutePath),
  events: field(list(oneOf(WEBHOOK_EVENTS), { min: 1 })),
});

/** One webhook; TLS keys only make sense for https. */
const webhook: Validator<NonNullable<ReturnType<typeof webhookObject>>> = (at, ctx) => {
  const w = webhookObject(at, ctx);
  if (!w) return undefined;
  let ok = true;
  if (!w.url.startsWith('https:')) {
    for (const key of ['verify_certificate', 'ca'] as const) {
      if (w[key] !== undefined) {
        report(ctx, nodeOf(at.node, key), `${at.path}.${key}`, 'only for https:// URLs');
        ok = false;
      }
    }
  }
  if (w.ca !== undefined && w.verify_certificate === false) {
    report(ctx, nodeOf(at.node, 'ca'), `${at.path}.ca`, 'has no effect with verify_certificate: false');
    ok = false;
  }
  return ok ? w : undefined;
};

/** The keys to spread into the `global` shape. */
export const netAlertGlobalFields = {
  notification_email: field(list(emailAddress)),
  notification_email_from: field(emailAddress),
  smtp_server: field(smtpServer),
  smtp_connect_timeout: field(number(0.001, 3600, ' seconds')),
  smtp_helo_name: field(heloName),
  smtp_alert: field(boolean),
  smtp_alert_vrrp: field(boolean),
  smtp_alert_checker: field(boolean),
  webhooks: field(list(webhook), { default: [] }),
};

type RawGlobalAlerts = Partial<{
  notification_email: string[];
  notification_email_from: string;
  smtp_server: { host: string; port: number };
  smtp_connect_timeout: number;
  smtp_helo_name: string;
  smtp_alert: boolean;
  smtp_alert_vrrp: boolean;
  smtp_alert_checker: boolean;
  webhooks: Array<NonNullable<ReturnType<typeof webhook>>>;
}>;

/** Where smtp_alert is not given on an object (keepalived's rules, see smtpAlertDefaults). */
export interface SmtpAlertDefaults { vrrp: boolean; virtualServer: boolean; realServer: boolean }

export interface NetAlertsModel {
  mail: MailConfig | undefined;
  webhooks: WebhookConfig[];
  smtpAlertDefaults: SmtpAlertDefaults;
}

/**
 * keepalived (vrrp_parser.c / check_parser.c): an instance's smtp_alert defaults to
 * smtp_alert_vrrp, else smtp_alert, else off; a virtual server's to smtp_alert_checker, else
 * smtp_alert, else off; a real server's likewise but else ON ("inconsistent with the defaults
 * for other smtp_alerts in order to maintain backwards compatibility", check_parser.c).
 * Mail goes out only when notification_email and smtp_server are set, whatever smtp_alert says.
 */
export function netAlertsModel(g: RawGlobalAlerts | undefined, hostname: string): NetAlertsModel {
  const r = g ?? {};
  const smtpAlertDefaults: SmtpAlertDefaults = {
    vrrp: r.smtp_alert_vrrp ?? r.smtp_alert ?? false,
    virtualServer: r.smtp_alert_checker ?? r.smtp_alert ?? false,
    realServer: r.smtp_alert_checker ?? r.smtp_alert ?? true,
  };
  const to = r.notification_email ?? [];
  const mail: MailConfig | undefined = r.smtp_server && to.length > 0 ? {
    server: r.smtp_server,
    connectTimeoutMs: Math.round((r.smtp_connect_timeout ?? NET_ALERT_DEFAULTS.smtpConnectTimeoutS) * 1000),
    // keepalived (global_data.c init_global_data): both default to the local host name.
    heloName: r.smtp_helo_name ?? hostname,
    from: r.notification_email_from ?? `tandem@${hostname}`,
    to,
    groupSmtpAlert: smtpAlertDefaults.vrrp,
  } : undefined;
  const webhooks = (r.webhooks ?? []).map((w): WebhookConfig => ({
    url: w.url,
    secret: w.secret,
    timeoutMs: Math.round((w.timeout ?? NET_ALERT_DEFAULTS.webhookTimeoutS) * 1000),
    retries: w.retries ?? NET_ALERT_DEFAULTS.webhookRetries,
    queueSize: w.queue_size ?? NET_ALERT_DEFAULTS.webhookQueueSize,
    verifyCertificate: w.verify_certificate ?? true,
    caFile: w.ca,
    events: w.events ? [...new Set(w.events)] : [...WEBHOOK_EVENTS],
  }));
  return { mail, webhooks, smtpAlertDefaults };
}

/**
 * Checks across keys: mail settings that cannot send anything, and smtp_alert turned on where
 * no mail can go. keepalived accepts both and silently sends nothing (keepalived/core/smtp.c
 * smtp_alert(): "Only send mail if email specified", it returns unless there are a
 * notification_email and an smtp_server; keepalived -t says nothing): warnings here, so that the
 * operator learns at load, not at the first failover, that no mail will come.
 */
export function crossCheckNetAlerts(root: Node, ctx: Ctx): void {
  const global = nodeOf(root, 'global');
  const has = (key: string) => {
    const n = nodeOf(global, key);
    return n !== undefined && !(isScalar(n) && n.value === null) && !(isSeq(n) && n.items.length === 0);
  };
  const emails = has('notification_email');
  const server = has('smtp_server');
  if (emails && !server) {
    warn(ctx, nodeOf(global, 'notification_email'), 'global.notification_email', 'no mail is sent without global.smtp_server (keepalived sends none either)');
  }
  if (server && !emails) {
    warn(ctx, nodeOf(global, 'smtp_server'), 'global.smtp_server', 'no mail is sent without global.notification_email (keepalived sends none either)');
  }
  // With one of the two, the warning above says it all.
  if (emails || server) return;
  const why = 'no mail is sent without global.smtp_server and global.notification_email (keepalived sends none either)';
  const onButNowhere = (node: Node | undefined, path: string) => {
    const n = nodeOf(node, 'smtp_alert');
    if (isScalar(n) && n.value === true) warn(ctx, n, `${path}.smtp_alert`, why);
  };
  for (const key of ['smtp_alert', 'smtp_alert_vrrp', 'smtp_alert_checker']) {
    const n = nodeOf(global, key);
    if (isScalar(n) && n.value === true) warn(ctx, n, `global.${key}`, why);
  }
  const items = (key: string) => { const l = nodeOf(root, key); return isSeq(l) ? (l.items as Node[]) : []; };
  items('vrrp_instances').forEach((n, i) => onButNowhere(n, `vrrp_instances[${i}]`));
  items('vrrp_sync_groups').forEach((n, i) => onButNowhere(n, `vrrp_sync_groups[${i}]`));
  items('virtual_servers').forEach((vs, i) => {
    onButNowhere(vs, `virtual_servers[${i}]`);
    const rs = nodeOf(vs, 'real_servers');
    (isSeq(rs) ? (rs.items as Node[]) : []).forEach((n, j) => onButNowhere(n, `virtual_servers[${i}].real_servers[${j}]`));
  });
}
