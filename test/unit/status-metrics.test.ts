// The status API's pure parts (issue 5 §2): the Prometheus text renderer (golden output, label
// escaping), the `tandem status` table, and the status_socket / metrics_listen config keys.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escapeLabelValue, renderMetrics } from '../../src/api/metrics.js';
import { formatAgo, renderStatusTable } from '../../src/api/statusCli.js';
import type { DaemonStatus } from '../../src/api/status.js';
import { loadConfigText } from '../../src/config/load.js';
import { formatConfigError } from '../../src/config/errors.js';

const NOW = Date.parse('2026-01-02T03:04:05.000Z');

function fixture(): DaemonStatus {
  return {
    pid: 4242, version: '0.1.0', router_id: 'lb1', hostname: 'lb1.example', started_at: '2026-01-02T02:00:00.000Z',
    instances: [{
      name: 'VI_1', vrid: 51, family: 4, interface: 'eth0', version: 3, state: 'MASTER', priority: 100,
      effective_priority: 90, master_ip: '192.0.2.1', transitions: 2, src_ip: '192.0.2.1',
      last_transition: { from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', at: '2026-01-02T03:03:53.000Z' },
    }],
    rx: { accepted: 17, drops: { bad_ttl: 3, own_packet: 0 } },
    lb: {
      backend: { kind: 'netlink', passes: 4, last_error: null },
      virtual_servers: [{
        key: 'TCP 192.0.2.100:80', quorum_up: true, sorry_active: false, weight_sum: 3,
        real_servers: { '198.51.100.11:80': 'up', '198.51.100.12:80': 'down' },
        weights: { '198.51.100.11:80': 3, '198.51.100.12:80': 1 },
        last_checks: {
          '198.51.100.11:80': [{ kind: 'tcp_check', ok: true, reason: null, detail: null, latency_ms: 0.42, at: '2026-11-27T10:00:00.000Z' }],
          '198.51.100.12:80': [{ kind: 'tcp_check', ok: false, reason: 'refused', detail: 'connect ECONNREFUSED', latency_ms: 0.31, at: '2026-11-27T10:00:00.000Z' }],
        },
      }],
      // Probes of 0.42 ms and 0.31 ms (both <= 1 ms) and one of 30 ms (<= 50 ms).
      check_latency: {
        tcp_check: { le: [0.001, 0.005, 0.01, 0.025, 0.05], counts: [2, 0, 0, 0, 1, 0], sum: 0.03073, count: 3 },
      },
    },
    trackers: {
      scripts: [{ name: 'chk_nginx', status: 'ok', runs: 9, last: { verdict: 'ok', detail: 'exit 0' }, trackedBy: ['VI_1'] }],
      files: [], processes: [],
    },
    alerts: {
      scripts: { run: 5, failed: 1, timed_out: 0, dropped: 2, keys: 1, pending: 1, running: 0 },
      notify_fifo: null,
      webhooks: [{ webhook: 'webhooks[0] <https://hooks.example.com:443>', queued: 3, delivered: 2, failed: 1, retried: 4, dropped: 0, pending: 0 }],
      mail: null,
    },
  };
}

const PROC = { cpuSeconds: 1.25, residentBytes: 52428800, startTimeSeconds: 1767319200, openFds: 21 };

const GOLDEN = `# HELP tandem_vrrp_state VRRP instance state: 1 for the current state, 0 for the others.
# TYPE tandem_vrrp_state gauge
tandem_vrrp_state{instance="VI_1",state="INIT"} 0
tandem_vrrp_state{instance="VI_1",state="BACKUP"} 0
tandem_vrrp_state{instance="VI_1",state="MASTER"} 1
tandem_vrrp_state{instance="VI_1",state="FAULT"} 0
# HELP tandem_vrrp_priority Configured VRRP priority.
# TYPE tandem_vrrp_priority gauge
tandem_vrrp_priority{instance="VI_1"} 100
# HELP tandem_vrrp_effective_priority VRRP priority in force after tracker weights.
# TYPE tandem_vrrp_effective_priority gauge
tandem_vrrp_effective_priority{instance="VI_1"} 90
# HELP tandem_vrrp_transitions_total VRRP state transitions since start.
# TYPE tandem_vrrp_transitions_total counter
tandem_vrrp_transitions_total{instance="VI_1"} 2
# HELP tandem_vrrp_adverts_accepted_total VRRP adverts that passed validation (all instances).
# TYPE tandem_vrrp_adverts_accepted_total counter
tandem_vrrp_adverts_accepted_total 17
# HELP tandem_vrrp_adverts_dropped_total VRRP packets dropped, by reason (RFC 5798 section 7.1 checks).
# TYPE tandem_vrrp_adverts_dropped_total counter
tandem_vrrp_adverts_dropped_total{reason="bad_ttl"} 3
tandem_vrrp_adverts_dropped_total{reason="own_packet"} 0
# HELP tandem_virtual_server_quorum_up Whether the virtual server has quorum (1) or not (0).
# TYPE tandem_virtual_server_quorum_up gauge
tandem_virtual_server_quorum_up{virtual_server="TCP 192.0.2.100:80"} 1
# HELP tandem_virtual_server_weight_sum Sum of the weights of the live real servers.
# TYPE tandem_virtual_server_weight_sum gauge
tandem_virtual_server_weight_sum{virtual_server="TCP 192.0.2.100:80"} 3
# HELP tandem_real_server_up Whether the real server (or an active sorry server) is in service (1) or not (0).
# TYPE tandem_real_server_up gauge
tandem_real_server_up{virtual_server="TCP 192.0.2.100:80",real_server="198.51.100.11:80"} 1
tandem_real_server_up{virtual_server="TCP 192.0.2.100:80",real_server="198.51.100.12:80"} 0
# HELP tandem_real_server_weight The real server's current weight (whether in service or not).
# TYPE tandem_real_server_weight gauge
tandem_real_server_weight{virtual_server="TCP 192.0.2.100:80",real_server="198.51.100.11:80"} 3
tandem_real_server_weight{virtual_server="TCP 192.0.2.100:80",real_server="198.51.100.12:80"} 1
# HELP tandem_check_duration_seconds Duration of health check probes (connect to verdict), by check kind.
# TYPE tandem_check_duration_seconds histogram
tandem_check_duration_seconds_bucket{kind="tcp_check",le="0.001"} 2
tandem_check_duration_seconds_bucket{kind="tcp_check",le="0.005"} 2
tandem_check_duration_seconds_bucket{kind="tcp_check",le="0.01"} 2
tandem_check_duration_seconds_bucket{kind="tcp_check",le="0.025"} 2
tandem_check_duration_seconds_bucket{kind="tcp_check",le="0.05"} 3
tandem_check_duration_seconds_bucket{kind="tcp_check",le="+Inf"} 3
tandem_check_duration_seconds_sum{kind="tcp_check"} 0.03073
tandem_check_duration_seconds_count{kind="tcp_check"} 3
# HELP tandem_alert_scripts_total Notify scripts by result: started, failed (of those started), timed_out, dropped (never run).
# TYPE tandem_alert_scripts_total counter
tandem_alert_scripts_total{result="started"} 5
tandem_alert_scripts_total{result="failed"} 1
tandem_alert_scripts_total{result="timed_out"} 0
tandem_alert_scripts_total{result="dropped"} 2
# HELP tandem_alert_scripts_queued Notify script events waiting to run.
# TYPE tandem_alert_scripts_queued gauge
tandem_alert_scripts_queued 1
# HELP tandem_alert_scripts_running Notify scripts running now.
# TYPE tandem_alert_scripts_running gauge
tandem_alert_scripts_running 0
# HELP tandem_webhook_deliveries_total Webhook deliveries by result.
# TYPE tandem_webhook_deliveries_total counter
tandem_webhook_deliveries_total{webhook="webhooks[0] <https://hooks.example.com:443>",result="delivered"} 2
tandem_webhook_deliveries_total{webhook="webhooks[0] <https://hooks.example.com:443>",result="failed"} 1
tandem_webhook_deliveries_total{webhook="webhooks[0] <https://hooks.example.com:443>",result="retried"} 4
tandem_webhook_deliveries_total{webhook="webhooks[0] <https://hooks.example.com:443>",result="dropped"} 0
# HELP tandem_webhook_queue_pending Webhook events waiting to be sent.
# TYPE tandem_webhook_queue_pending gauge
tandem_webhook_queue_pending{webhook="webhooks[0] <https://hooks.example.com:443>"} 0
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 1.25
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 52428800
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1767319200
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 21
`;

describe('metrics renderer', () => {
  it('renders the golden exposition text', () => {
    assert.equal(renderMetrics(fixture(), PROC), GOLDEN);
  });

  it('escapes backslash, double quote and newline in label values', () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    const s = fixture();
    s.instances[0]!.name = 'odd"name\\x\ny';
    const text = renderMetrics(s, PROC);
    assert.ok(text.includes('tandem_vrrp_state{instance="odd\\"name\\\\x\\ny",state="MASTER"} 1'), text);
    // No raw newline inside a sample: every line is a comment or `name{...} value`.
    for (const line of text.trimEnd().split('\n')) assert.match(line, /^(# (HELP|TYPE) \w+ .*|\w+(\{.*\})? [-+0-9.eEInfNa]+)$/, line);
  });

  it('leaves out what the daemon does not have: no lb, no open fds', () => {
    const s = fixture();
    s.lb = null;
    const text = renderMetrics(s, { ...PROC, openFds: null });
    assert.doesNotMatch(text, /^tandem_real_server_up\{/m);
    assert.match(text, /^# TYPE tandem_real_server_up gauge$/m);
    assert.doesNotMatch(text, /process_open_fds/);
  });
});

describe('tandem status table', () => {
  it('shows instances with state, priorities, master, last change ago and reason', () => {
    const text = renderStatusTable(fixture(), NOW);
    const lines = text.split('\n');
    assert.equal(lines[0], 'tandem 0.1.0 on lb1.example (router_id lb1, pid 4242, up 1h04m)');
    const header = lines.find((l) => l.includes('NAME') && l.includes('STATE'))!;
    const row = lines.find((l) => l.trimStart().startsWith('VI_1'))!;
    assert.ok(header && row, text);
    assert.match(row, /^ {2}VI_1 +MASTER +100\/90 +51 +eth0 +192\.0\.2\.1 +12s ago, BACKUP -> MASTER \(master_down_timer\)$/);
    // Columns line up under the header.
    assert.equal(row.indexOf('MASTER'), header.indexOf('STATE'));
    assert.match(text, /adverts accepted 17, dropped bad_ttl 3\n/);
  });

  it('shows virtual and real servers, trackers and the alert queue', () => {
    const text = renderStatusTable(fixture(), NOW);
    assert.match(text, /TCP 192\.0\.2\.100:80 {2}quorum up, live weight 3/);
    assert.match(text, /198\.51\.100\.11:80 +up +3 +tcp_check ok 0\.4 ms\n/);
    assert.match(text, /198\.51\.100\.12:80 +down +1 +tcp_check refused \(connect ECONNREFUSED\) 0\.3 ms\n/);
    assert.match(text, /script +chk_nginx +ok +VI_1 +ok: exit 0/);
    assert.match(text, /notify scripts: 5 run, 1 failed, 0 timed out, 2 dropped; queue 1 pending, 0 running/);
    assert.match(text, /webhooks\[0\] <https:\/\/hooks\.example\.com:443>: 2 delivered, 1 failed, 4 retried/);
  });

  it('shows the running config\'s warnings, each located, under the config line', () => {
    const s = fixture();
    s.config = {
      file: '/etc/tandem/tandem.yaml', loaded_at: '2026-01-02T03:00:00.000Z', reloads: { ok: 1, refused: 0 },
      warnings: [
        '/etc/tandem/tandem.yaml:8:24 warning: vrrp_sync_groups[0].group: has one instance (VI_1): keepalived keeps such a group and so does tandem; ...',
        '/etc/tandem/tandem.yaml:2:23 warning: global.notification_email: no mail is sent without global.smtp_server (keepalived sends none either)',
      ],
      last_reload: { at: '2026-01-02T03:00:00.000Z', ok: true, changes: [], errors: [], warnings: [] },
    };
    const lines = renderStatusTable(s, NOW).split('\n');
    const at = lines.findIndex((l) => l.startsWith('config /etc/tandem/tandem.yaml, loaded 4m05s ago; last reload 4m05s ago applied 0 change(s)'));
    assert.ok(at >= 0, lines.join('\n'));
    assert.deepEqual(lines.slice(at + 1, at + 4), [
      '  2 config warning(s):',
      '    /etc/tandem/tandem.yaml:8:24 warning: vrrp_sync_groups[0].group: has one instance (VI_1): keepalived keeps such a group and so does tandem; ...',
      '    /etc/tandem/tandem.yaml:2:23 warning: global.notification_email: no mail is sent without global.smtp_server (keepalived sends none either)',
    ]);
  });

  it('an instance that has not changed state yet shows -', () => {
    const s = fixture();
    s.instances[0]!.last_transition = null;
    s.instances[0]!.master_ip = null;
    assert.match(renderStatusTable(s, NOW), /VI_1 +MASTER +100\/90 +51 +eth0 +- +-\n/);
  });

  it('formats durations', () => {
    assert.equal(formatAgo(5_400), '5s');
    assert.equal(formatAgo(192_000), '3m12s');
    assert.equal(formatAgo(7_500_000), '2h05m');
    assert.equal(formatAgo(356_400_000), '4d03h');
    assert.equal(formatAgo(-10), '0s');
  });
});

describe('status_socket and metrics_listen config', () => {
  const base = 'global:\n  router_id: lb1\n';
  const load = (extra: string) => loadConfigText(base + extra, 'lb1.yaml', { hostname: 'h' });
  it('defaults: socket under /run/tandem, metrics off', () => {
    const r = load('');
    assert.ok(r.ok);
    assert.equal(r.config.global.statusSocket, '/run/tandem/tandem.sock');
    assert.equal(r.config.global.metricsListen, undefined);
  });
  it('accepts a path and IPv4/IPv6 listen addresses', () => {
    const r = load('  status_socket: /tmp/t.sock\n  metrics_listen: 127.0.0.1:9650\n');
    assert.ok(r.ok);
    assert.equal(r.config.global.statusSocket, '/tmp/t.sock');
    assert.deepEqual(r.config.global.metricsListen, { host: '127.0.0.1', port: 9650, family: 4 });
    const r6 = load('  metrics_listen: "[::1]:9650"\n');
    assert.ok(r6.ok);
    assert.deepEqual(r6.config.global.metricsListen, { host: '::1', port: 9650, family: 6 });
  });
  for (const bad of ['localhost:9650', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', '::1:9650', '9650']) {
    it(`a bad metrics_listen (${bad}) is located`, () => {
      const r = load(`  metrics_listen: "${bad}"\n`);
      assert.ok(!r.ok);
      assert.equal(r.errors.length, 1);
      assert.match(formatConfigError(r.errors[0]!), /^lb1\.yaml:3:19 global\.metrics_listen: expected ADDRESS:PORT/);
    });
  }
  it('a relative status_socket is located', () => {
    const r = load('  status_socket: tandem.sock\n');
    assert.ok(!r.ok);
    assert.match(formatConfigError(r.errors[0]!), /^lb1\.yaml:3:18 global\.status_socket: expected an absolute path/);
  });
});
