// Prometheus text exposition format 0.0.4, rendered by hand from the daemon's status snapshot
// (pure: no clock, no I/O; the caller passes the process metrics). Format:
// https://prometheus.io/docs/instrumenting/exposition_formats/ (HELP and TYPE before the samples
// of a family; label values escape \ " and newline; HELP text escapes \ and newline).
//
// Probe durations come from the check scheduler's per-kind histogram (src/check/scheduler.ts
// CHECK_LATENCY_BUCKETS), carried in the snapshot as non-cumulative counts.
import type { DaemonStatus, StatusListenerStats } from './status.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface ProcessMetrics {
  cpuSeconds: number;
  residentBytes: number;
  startTimeSeconds: number;
  /** null when /proc/self/fd cannot be read. */
  openFds: number | null;
}

const VRRP_STATES = ['INIT', 'BACKUP', 'MASTER', 'FAULT'] as const;

export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Go's strconv formatting, which Prometheus parses: integers plain, NaN/Inf spelled out. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

type Labels = Record<string, string>;

class Exposition {
  private readonly lines: string[] = [];
  family(name: string, type: 'gauge' | 'counter', help: string, samples: Array<[Labels, number]>): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
      this.lines.push(`${name}${l ? `{${l}}` : ''} ${formatValue(value)}`);
    }
  }
  /** A histogram from per-bucket (non-cumulative) counts: `_bucket{le}` is cumulative, as the
   *  exposition format wants, with the +Inf bucket equal to `_count`. */
  histogram(name: string, help: string, series: Array<[Labels, { le: number[]; counts: number[]; sum: number; count: number }]>): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} histogram`);
    for (const [labels, h] of series) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
      let cum = 0;
      h.le.forEach((le, i) => {
        cum += h.counts[i] ?? 0;
        this.lines.push(`${name}_bucket{${[...l, `le="${formatValue(le)}"`].join(',')}} ${cum}`);
      });
      this.lines.push(`${name}_bucket{${[...l, 'le="+Inf"'].join(',')}} ${h.count}`);
      const tail = l.length ? `{${l.join(',')}}` : '';
      this.lines.push(`${name}_sum${tail} ${formatValue(h.sum)}`, `${name}_count${tail} ${h.count}`);
    }
  }
  /** A summary: quantile samples, then `_sum` and `_count`. */
  summary(name: string, help: string, quantiles: Array<[number, number]>, sum: number, count: number): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} summary`);
    for (const [q, v] of quantiles) this.lines.push(`${name}{quantile="${formatValue(q)}"} ${formatValue(v)}`);
    this.lines.push(`${name}_sum ${formatValue(sum)}`, `${name}_count ${count}`);
  }
  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

export function renderMetrics(s: DaemonStatus, proc: ProcessMetrics): string {
  const e = new Exposition();
  const inst = s.instances;
  e.family('tandem_vrrp_state', 'gauge', 'VRRP instance state: 1 for the current state, 0 for the others.',
    inst.flatMap((i) => VRRP_STATES.map((st): [Labels, number] => [{ instance: i.name, state: st }, i.state === st ? 1 : 0])));
  e.family('tandem_vrrp_priority', 'gauge', 'Configured VRRP priority.',
    inst.map((i) => [{ instance: i.name }, i.priority]));
  e.family('tandem_vrrp_effective_priority', 'gauge', 'VRRP priority in force after tracker weights.',
    inst.map((i) => [{ instance: i.name }, i.effective_priority]));
  e.family('tandem_vrrp_transitions_total', 'counter', 'VRRP state transitions since start.',
    inst.map((i) => [{ instance: i.name }, i.transitions]));
  if (inst.some((i) => i.advert_send)) {
    const sent = inst.flatMap((i) => (i.advert_send ? [[i.name, i.advert_send] as const] : []));
    e.family('tandem_vrrp_advert_send_failures_total', 'counter', 'VRRP advert sends that failed (send(2) error or an advert that cannot be encoded), one per destination.',
      sent.map(([name, a]) => [{ instance: name }, a.failures]));
    e.family('tandem_vrrp_advert_send_fault', 'gauge', '1 while the instance is held in FAULT because its adverts cannot be sent.',
      sent.map(([name, a]) => [{ instance: name }, a.fault ? 1 : 0]));
  }
  e.family('tandem_vrrp_adverts_accepted_total', 'counter', 'VRRP adverts that passed validation (all instances).',
    [[{}, s.rx.accepted]]);
  e.family('tandem_vrrp_adverts_dropped_total', 'counter', 'VRRP packets dropped, by reason (RFC 5798 section 7.1 checks).',
    Object.entries(s.rx.drops).map(([reason, n]) => [{ reason }, n]));
  if (s.rx.sockets) {
    const sockets = Object.entries(s.rx.sockets);
    e.family('tandem_vrrp_socket_kernel_drops_total', 'counter', 'VRRP packets the kernel dropped on the socket before tandem read them (SO_RXQ_OVFL: a full receive buffer).',
      sockets.map(([socket, x]) => [{ socket }, x.kernel_drops]));
    e.family('tandem_vrrp_socket_receive_buffer_bytes', 'gauge', 'The VRRP socket\'s receive buffer as the kernel granted it (SO_RCVBUF).',
      sockets.flatMap(([socket, x]): Array<[Labels, number]> => (x.receive_buffer ? [[{ socket }, x.receive_buffer.granted]] : [])));
  }

  const vss = s.lb?.virtual_servers ?? [];
  e.family('tandem_virtual_server_quorum_up', 'gauge', 'Whether the virtual server has quorum (1) or not (0).',
    vss.map((v) => [{ virtual_server: v.key, ...(v.group !== undefined ? { group: v.group } : {}) }, v.quorum_up ? 1 : 0]));
  e.family('tandem_virtual_server_weight_sum', 'gauge', 'Sum of the weights of the live real servers.',
    vss.map((v) => [{ virtual_server: v.key }, v.weight_sum]));
  const rs = vss.flatMap((v) => Object.entries(v.real_servers).map(([real, role]) => ({ vs: v.key, real, role, weight: v.weights?.[real] })));
  e.family('tandem_real_server_up', 'gauge', 'Whether the real server (or an active sorry server) is in service (1) or not (0).',
    rs.map((r) => [{ virtual_server: r.vs, real_server: r.real }, r.role === 'up' || r.role === 'sorry_active' ? 1 : 0]));
  e.family('tandem_real_server_weight', 'gauge', 'The real server\'s current weight (whether in service or not).',
    rs.filter((r) => r.weight !== undefined).map((r) => [{ virtual_server: r.vs, real_server: r.real }, r.weight!]));
  e.histogram('tandem_check_duration_seconds', 'Duration of health check probes (connect to verdict), by check kind.',
    Object.entries(s.lb?.check_latency ?? {}).map(([kind, h]) => [{ kind }, h]));

  const sc = s.alerts.scripts;
  e.family('tandem_alert_scripts_total', 'counter', 'Notify scripts by result: started, failed (of those started), timed_out, dropped (never run).',
    [[{ result: 'started' }, sc.run], [{ result: 'failed' }, sc.failed], [{ result: 'timed_out' }, sc.timed_out], [{ result: 'dropped' }, sc.dropped]]);
  e.family('tandem_alert_scripts_queued', 'gauge', 'Notify script events waiting to run.', [[{}, sc.pending]]);
  e.family('tandem_alert_scripts_running', 'gauge', 'Notify scripts running now.', [[{}, sc.running]]);
  const wh = s.alerts.webhooks;
  e.family('tandem_webhook_deliveries_total', 'counter', 'Webhook deliveries by result.',
    wh.flatMap((w) => (['delivered', 'failed', 'retried', 'dropped'] as const).map((r): [Labels, number] => [{ webhook: w.webhook, result: r }, w[r]])));
  e.family('tandem_webhook_queue_pending', 'gauge', 'Webhook events waiting to be sent.',
    wh.map((w) => [{ webhook: w.webhook }, w.pending]));

  if (s.config) {
    const c = s.config;
    e.family('tandem_config_reloads_total', 'counter', 'Config reloads (SIGHUP, tandem reload) by result: applied or refused.',
      [[{ result: 'applied' }, c.reloads.ok], [{ result: 'refused' }, c.reloads.refused]]);
    e.family('tandem_config_last_reload_successful', 'gauge', '1 when the last reload was applied (or none was asked for), 0 when it was refused.',
      [[{}, c.last_reload === null || c.last_reload.ok ? 1 : 0]]);
    e.family('tandem_config_loaded_timestamp_seconds', 'gauge', 'When the running config was loaded, seconds since the epoch.',
      [[{}, Date.parse(c.loaded_at) / 1000]]);
  }

  if (s.api) {
    const listeners: Array<[string, StatusListenerStats]> = [['unix', s.api.unix]];
    if (s.api.tcp) listeners.push(['tcp', s.api.tcp]);
    const per = (f: (l: StatusListenerStats) => number): Array<[Labels, number]> => listeners.map(([listener, l]) => [{ listener }, f(l)]);
    e.family('tandem_api_connections_max', 'gauge', 'Connections a status API listener holds at most (sized from the open file limit).', per((l) => l.max_connections));
    e.family('tandem_api_connections_open', 'gauge', 'Connections open now on a status API listener.', per((l) => l.open));
    e.family('tandem_api_connections_accepted_total', 'counter', 'Connections accepted by a status API listener.', per((l) => l.accepted));
    e.family('tandem_api_connections_refused_total', 'counter', 'Connections closed at once: the listener was at its cap with every connection busy.', per((l) => l.refused));
    e.family('tandem_api_connections_evicted_total', 'counter', 'Idle connections closed to make room for a new one at the cap.', per((l) => l.evicted));
    e.family('tandem_api_connections_timed_out_total', 'counter', 'Connections closed by a timeout: request (headers or body too slow) or idle (nothing moved).',
      listeners.flatMap(([listener, l]): Array<[Labels, number]> => [[{ listener, phase: 'request' }, l.timed_out.request], [{ listener, phase: 'idle' }, l.timed_out.idle]]));
  }

  const loop = s.event_loop?.delay;
  if (loop) {
    e.summary('tandem_event_loop_delay_seconds', `How late the daemon's event loop ran its timers (quantiles over the last ${loop.window_s} s; sum and count since start).`,
      [[0.5, loop.p50_ms / 1000], [0.99, loop.p99_ms / 1000]], loop.sum_s, loop.count);
    e.family('tandem_event_loop_delay_max_seconds', 'gauge', 'The longest event loop delay in the same window as tandem_event_loop_delay_seconds.',
      [[{}, loop.max_ms / 1000]]);
  }

  e.family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', [[{}, proc.cpuSeconds]]);
  e.family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', [[{}, proc.residentBytes]]);
  e.family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', [[{}, proc.startTimeSeconds]]);
  if (proc.openFds !== null) e.family('process_open_fds', 'gauge', 'Number of open file descriptors.', [[{}, proc.openFds]]);
  if (s.api?.open_file_limit) e.family('process_max_fds', 'gauge', 'Maximum number of open file descriptors.', [[{}, s.api.open_file_limit]]);
  return e.text();
}
