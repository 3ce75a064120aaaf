// Config of e-mail and webhook alerts (src/config/netAlerts.ts): keepalived's defaults, the
// smtp_alert inheritance rules, and located errors for bad addresses, URLs and combinations.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configErrors, loadOk, loadWithWarnings } from '../lib/config.js';
import type { Config } from '../../src/config/model.js';
import { MailNotifier, mailNotifierFor, smtpAlertFilter } from '../../src/alert/mail.js';
import { createLogger } from '../../src/log.js';
import type { AlertEvent } from '../../src/alert/events.js';
import { ManualTimers } from '../lib/manualTimers.js';

const ok = (text: string): Config => loadOk(text, { file: 'lb1.yaml', hostname: 'h1.example.com' });
const errorsOf = (text: string): string[] => configErrors(text, { file: 'lb1.yaml', hostname: 'h1.example.com' });
const warningsOf = (text: string): string[] => loadWithWarnings(text, { file: 'lb1.yaml', hostname: 'h1.example.com' }).warnings;

const instance = `vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddresses: [192.0.2.100/24]
`;
const vs = `virtual_servers:
  - address: 192.0.2.100
    port: 80
    real_servers:
      - { address: 198.51.100.11, port: 80 }
      - { address: 198.51.100.12, port: 80, smtp_alert: false }
`;


describe('alert config: mail', () => {
  it('keepalived defaults: port 25, 30 s, HELO and From from the host name; nothing without mail keys', () => {
    const none = ok(instance);
    assert.equal(none.global.mail, undefined);
    assert.deepEqual(none.global.webhooks, []);
    assert.equal(none.vrrpInstances[0]!.smtpAlert, false);

    const c = ok(`global:
  router_id: lb1
  notification_email: [ops@example.com, "on-call+lb@mail.example.org"]
  smtp_server: 192.0.2.25
${instance}${vs}`);
    assert.deepEqual(c.global.mail, {
      server: { host: '192.0.2.25', port: 25 },
      connectTimeoutMs: 30_000,
      heloName: 'h1.example.com',
      from: 'tandem@h1.example.com',
      to: ['ops@example.com', 'on-call+lb@mail.example.org'],
      groupSmtpAlert: false,
    });
    // keepalived: instances and virtual servers default off, real servers default on.
    assert.equal(c.vrrpInstances[0]!.smtpAlert, false);
    assert.equal(c.virtualServers[0]!.smtpAlert, false);
    assert.deepEqual(c.virtualServers[0]!.realServers.map((r) => r.smtpAlert), [true, false]);
  });

  it('smtp_server is keepalived\'s "<host> [<port>]"; IPv6 needs no brackets and is canonicalised', () => {
    const server = (s: string) => ok(`global:
  notification_email: [ops@example.com]
  smtp_server: "${s}"
`).global.mail!.server;
    assert.deepEqual(server('mail.example.com 587'), { host: 'mail.example.com', port: 587 });
    assert.deepEqual(server('2001:DB8:0::25 2525'), { host: '2001:db8::25', port: 2525 });
    assert.deepEqual(server('[2001:db8::25]'), { host: '2001:db8::25', port: 25 });
    const c = ok(`global:
  notification_email: [ops@example.com]
  notification_email_from: lb1@example.com
  smtp_server: localhost
  smtp_connect_timeout: 2.5
  smtp_helo_name: lb1.example.com
`);
    assert.deepEqual(
      { ...c.global.mail!, to: undefined },
      { server: { host: 'localhost', port: 25 }, connectTimeoutMs: 2500, heloName: 'lb1.example.com', from: 'lb1@example.com', to: undefined, groupSmtpAlert: false });
  });

  it('smtp_alert: global smtp_alert, then smtp_alert_vrrp / smtp_alert_checker, then the object itself', () => {
    const base = `  notification_email: [ops@example.com]\n  smtp_server: 192.0.2.25\n`;
    const on = ok(`global:\n${base}  smtp_alert: true\n${instance}${vs}`);
    assert.equal(on.vrrpInstances[0]!.smtpAlert, true);
    assert.equal(on.virtualServers[0]!.smtpAlert, true);
    assert.equal(on.global.mail!.groupSmtpAlert, true);
    const split = ok(`global:\n${base}  smtp_alert: true\n  smtp_alert_vrrp: false\n  smtp_alert_checker: false\n${instance}${vs}`);
    assert.equal(split.vrrpInstances[0]!.smtpAlert, false);
    assert.equal(split.virtualServers[0]!.smtpAlert, false);
    assert.deepEqual(split.virtualServers[0]!.realServers.map((r) => r.smtpAlert), [false, false]);
    const own = ok(`global:\n${base}${instance.replace('virtual_router_id: 51', 'virtual_router_id: 51\n    smtp_alert: true')}`);
    assert.equal(own.vrrpInstances[0]!.smtpAlert, true);
  });

  it('smtpAlertFilter picks the events keepalived would mail', () => {
    const c = ok(`global:
  notification_email: [ops@example.com]
  smtp_server: 192.0.2.25
${instance.replace('virtual_router_id: 51', 'virtual_router_id: 51\n    smtp_alert: true')}${vs.replace('    port: 80\n    real_servers', '    port: 80\n    smtp_alert: true\n    real_servers')}`);
    const wants = smtpAlertFilter(c);
    const time = 0;
    const service = c.virtualServers[0]!.service.id;
    const rs = (n: number): AlertEvent => ({
      type: 'real_server', virtualServer: 'TCP 192.0.2.100:80', realServer: `TCP 192.0.2.100:80 -> 198.51.100.${n}:80`,
      service, dest: { address: `198.51.100.${n}`, port: 80 }, up: false, reason: 'x', time,
    });
    assert.equal(wants({ type: 'vrrp_instance', instance: 'VI_1', state: 'MASTER', previous: 'BACKUP', priority: 100, reason: 'master_down_timer', time }), true);
    assert.equal(wants({ type: 'vrrp_instance', instance: 'VI_2', state: 'MASTER', previous: 'BACKUP', priority: 100, reason: 'master_down_timer', time }), false);
    assert.equal(wants({ type: 'vrrp_group', group: 'G', state: 'MASTER', previous: 'BACKUP', reason: 'sync_group', time }), false);
    assert.equal(wants({ type: 'quorum', virtualServer: 'TCP 192.0.2.100:80', service, up: false, reason: 'x', time }), true);
    assert.equal(wants(rs(11)), true);
    assert.equal(wants(rs(12)), false, 'smtp_alert: false on that real server');
    assert.equal(wants(rs(13)), false, 'a server the config does not know');
    // Wiring: a notifier only when mail is configured.
    const log = createLogger({ write: () => {} });
    assert.ok(mailNotifierFor(c, log, new ManualTimers()) instanceof MailNotifier);
    assert.equal(mailNotifierFor(ok(instance), log, new ManualTimers()), undefined);
  });

  it('bad addresses, servers and names are located', () => {
    const errs = errorsOf(`global:
  notification_email: [ops@example.com, not@an@email, "a b@example.com", "root@"]
  notification_email_from: "Ops <ops@example.com>"
  smtp_server: "mail.example.com 70000"
  smtp_connect_timeout: 0
  smtp_helo_name: "bad_name!"
`);
    assert.deepEqual(errs, [
      'lb1.yaml:2:41 global.notification_email[1]: expected an e-mail address like ops@example.com or a local mailbox like root, got "not@an@email"',
      'lb1.yaml:2:55 global.notification_email[2]: expected an e-mail address like ops@example.com or a local mailbox like root, got "a b@example.com"',
      'lb1.yaml:2:74 global.notification_email[3]: expected an e-mail address like ops@example.com or a local mailbox like root, got "root@"',
      'lb1.yaml:3:28 global.notification_email_from: expected an e-mail address like ops@example.com or a local mailbox like root, got "Ops <ops@example.com>"',
      'lb1.yaml:4:16 global.smtp_server: port must be 1..65535, got "70000"',
      'lb1.yaml:5:25 global.smtp_connect_timeout: expected a number 0.001..3600 seconds, got 0',
      'lb1.yaml:6:19 global.smtp_helo_name: expected a host name (or an address literal like [192.0.2.1]), got "bad_name!"',
    ]);
    assert.match(errorsOf('global:\n  notification_email: [ops@example.com]\n  smtp_server: "a b c"\n')[0]!,
      /^lb1\.yaml:3:16 global\.smtp_server: expected "<address or host name> \[<port>\]"/);
  });

  it('a local mailbox (root, keepalived) is an address, as keepalived and SMTP take it: RCPT TO:<root>', () => {
    // keepalived accepts any word here (global_parser.c) and a local MTA delivers `RCPT TO:<root>`.
    const c = ok(`global:
  notification_email: [root, keepalived, ops@example.com, first.last]
  notification_email_from: keepalived
  smtp_server: 192.0.2.25
${instance}`);
    assert.deepEqual(c.global.mail?.to, ['root', 'keepalived', 'ops@example.com', 'first.last']);
    assert.equal(c.global.mail?.from, 'keepalived');
  });

  it('mail keys that cannot send anything, and smtp_alert without mail, are warnings: keepalived runs them and sends nothing', () => {
    const only = loadWithWarnings('global:\n  notification_email: [ops@example.com]\n', { file: 'lb1.yaml' });
    assert.deepEqual(only.warnings,
      ['lb1.yaml:2:23 warning: global.notification_email: no mail is sent without global.smtp_server (keepalived sends none either)']);
    assert.equal(only.config.global.mail, undefined, 'no mail is configured');
    assert.deepEqual(warningsOf('global:\n  smtp_server: 192.0.2.25\n'),
      ['lb1.yaml:2:16 warning: global.smtp_server: no mail is sent without global.notification_email (keepalived sends none either)']);
    const alertOnly = loadWithWarnings(`global:\n  smtp_alert: true\n${instance.replace('virtual_router_id: 51', 'virtual_router_id: 51\n    smtp_alert: true')}`, { file: 'lb1.yaml' });
    assert.deepEqual(alertOnly.warnings, [
      'lb1.yaml:2:15 warning: global.smtp_alert: no mail is sent without global.smtp_server and global.notification_email (keepalived sends none either)',
      'lb1.yaml:7:17 warning: vrrp_instances[0].smtp_alert: no mail is sent without global.smtp_server and global.notification_email (keepalived sends none either)',
    ]);
    assert.equal(alertOnly.config.vrrpInstances[0]!.smtpAlert, true, 'smtp_alert is kept as written: it takes effect once mail is configured');
    assert.equal(alertOnly.config.global.mail, undefined);
    assert.deepEqual(warningsOf(vs.replace('smtp_alert: false', 'smtp_alert: true')), [
      'lb1.yaml:6:57 warning: virtual_servers[0].real_servers[1].smtp_alert: no mail is sent without global.smtp_server and global.notification_email (keepalived sends none either)',
    ]);
  });
});

describe('alert config: webhooks', () => {
  it('defaults: 5 s, 3 retries, queue 256, certificate verified, every event kind', () => {
    const c = ok(`global:
  webhooks:
    - url: https://hooks.example.com/tandem?team=lb
    - url: http://127.0.0.1:8080/hook
      secret: "0123456789abcdef-secret"
      timeout: 0.5
      retries: 0
      queue_size: 10
      events: [quorum, vrrp, quorum]
`);
    assert.deepEqual(c.global.webhooks, [
      { url: 'https://hooks.example.com/tandem?team=lb', secret: undefined, timeoutMs: 5000, retries: 3, queueSize: 256, verifyCertificate: true, caFile: undefined, events: ['vrrp', 'real_server', 'quorum'] },
      { url: 'http://127.0.0.1:8080/hook', secret: '0123456789abcdef-secret', timeoutMs: 500, retries: 0, queueSize: 10, verifyCertificate: true, caFile: undefined, events: ['quorum', 'vrrp'] },
    ]);
    assert.ok(Object.isFrozen(c.global.webhooks[0]));
  });

  it('bad URLs, short secrets, TLS keys on http and unknown events are located', () => {
    const errs = errorsOf(`global:
  webhooks:
    - url: ftp://files.example.com/x
    - url: "not a url"
    - url: https://hooks.example.com/x#frag
    - url: http://hooks.example.com/x
      secret: short
      verify_certificate: false
      ca: /etc/tandem/ca.pem
    - url: https://hooks.example.com/y
      ca: relative/ca.pem
      events: [vrrp, real_servers]
      timeout: 0
    - url: https://hooks.example.com/z
      verify_certificate: false
      ca: /etc/tandem/ca.pem
    - secret: "0123456789abcdef"
`);
    assert.deepEqual(errs, [
      'lb1.yaml:3:12 global.webhooks[0].url: expected an http:// or https:// URL, got "ftp://files.example.com/x"',
      'lb1.yaml:4:12 global.webhooks[1].url: expected an http:// or https:// URL, got "not a url"',
      'lb1.yaml:5:12 global.webhooks[2].url: a URL fragment (#...) is never sent to the server; remove it',
      'lb1.yaml:7:15 global.webhooks[3].secret: expected a secret of at least 16 characters on one line, got 5 characters',
      'lb1.yaml:11:11 global.webhooks[4].ca: expected an absolute file path, got "relative/ca.pem"',
      'lb1.yaml:12:22 global.webhooks[4].events[1]: expected one of vrrp, real_server, quorum, got "real_servers" (did you mean real_server?)',
      'lb1.yaml:13:16 global.webhooks[4].timeout: expected a number 0.001..300 seconds, got 0',
      'lb1.yaml:16:11 global.webhooks[5].ca: has no effect with verify_certificate: false',
      'lb1.yaml:17:7 global.webhooks[6].url: required key is missing',
    ]);
    // TLS keys on an http URL (reported once the rest of that webhook is valid).
    assert.deepEqual(errorsOf(`global:
  webhooks:
    - url: http://hooks.example.com/x
      verify_certificate: false
`), ['lb1.yaml:4:27 global.webhooks[0].verify_certificate: only for https:// URLs']);
  });
});
