// The daemon's status document: what `GET /status` returns and the --state-file holds (the same
// snapshot, composed in src/daemon/run.ts from VrrpService, LbService, Trackers and
// AlertDispatcher). Declared here for the readers (metrics, `tandem status`); run.ts's snapshot
// is checked against it by the compiler. Fields a reader does not need stay `unknown`.

export interface StatusInstance {
  name: string;
  vrid: number;
  family: 4 | 6;
  interface: string;
  version: 2 | 3;
  state: 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';
  priority: number;
  effective_priority: number;
  master_ip: string | null;
  transitions: number;
  src_ip: string;
  last_transition: { from: string; to: string; reason: string; at: string } | null;
  /** Whether its adverts leave (src/vrrp/sendHealth.ts). */
  advert_send?: StatusAdvertSend;
  /** The native advert sender's job of this instance (src/vrrp/advertCadence.ts): its periodic
   *  adverts as a MASTER; null when it never had one. */
  advert_sender?: StatusAdvertSender | null;
}

export interface StatusAdvertSender {
  /** Whether the job is sending now (MASTER, lease alive). */
  active: boolean;
  /** Adverts the sender thread put on the wire, since start. */
  sent: number;
  /** Destinations whose send failed. */
  send_errors: number;
  /** The errno name of the last failure. */
  last_error: string | null;
  /** Deadlines the thread missed by more than one interval. */
  late: number;
  /** Times the lease ran out (the event loop stalled for a whole lease) and the job stopped. */
  lease_expiries: number;
  /** The sender thread's scheduling: 'SCHED_FIFO 1' (asked for), 'nice -10' when real-time
   *  priority is refused (no CAP_SYS_NICE, no real-time budget), or 'normal'. */
  thread_priority: string;
  /** The worst lateness of one of the job's sends against its deadline, in µs, since start; and
   *  how many were more than 1 ms late (what the thread itself added to the interval on the
   *  wire, before the kernel's path). */
  max_late_us: number;
  late_over_1ms: number;
}

export interface StatusAdvertSend {
  /** Advert sends that did not happen, one per destination, since start. */
  failures: number;
  /** Adverts in a row that left on none of their destinations. */
  consecutive_failed: number;
  last_error: string | null;
  /** Set while the instance is held in FAULT because its adverts cannot be sent. */
  fault: { reason: 'advert_send_failed' | 'advert_encode_failed'; detail: string; since: string; retry_at: string | null } | null;
}

export interface StatusVirtualServer {
  key: string;
  /** The virtual_server_groups name, for a service of a group. */
  group?: string;
  quorum_up: boolean;
  sorry_active: boolean;
  weight_sum: number;
  /** Dest key -> role (src/lb/desired.ts DestRole: up, inhibited, down, replaced_by_sorry, ...). */
  real_servers: Record<string, string>;
  /** Dest key -> weight now. */
  weights: Record<string, number>;
  /** Dest key -> each check's last probe (null until it has run once). */
  last_checks?: Record<string, Array<StatusLastCheck | null>>;
}

export interface StatusLastCheck {
  kind: string;
  ok: boolean;
  reason: string | null;
  detail: string | null;
  latency_ms: number;
  at: string;
}

/** Probe durations of one check kind: `counts[i]` probes took at most `le[i]` seconds and more
 *  than `le[i-1]`; the last count is over the last bound (+Inf). */
export interface StatusLatencyHistogram {
  le: number[];
  counts: number[];
  sum: number;
  count: number;
}

export interface StatusTrackers {
  scripts: Array<{ name: string; status: string; runs: number; last: { verdict: string; detail: string } | null; trackedBy: string[] }>;
  files: Array<{ name: string; path: string; value: number | null; trackedBy: string[] }>;
  processes: Array<{ name: string; process: string; count: number; up: boolean | null; trackedBy: string[] }>;
}

export interface StatusAlerts {
  scripts: { run: number; failed: number; timed_out: number; dropped: number; keys: number; pending: number; running: number };
  notify_fifo: { path: string; written: number; dropped: number; backlog: number } | null;
  webhooks: Array<{ webhook: string; queued: number; delivered: number; failed: number; retried: number; dropped: number; pending: number }>;
  mail: unknown;
  events?: unknown;
}

/** The config in force and the last reload (issue 5 §1): "is the file I edited what runs?" */
export interface StatusConfig {
  file: string;
  /** When the running config was loaded (start or the last successful reload). */
  loaded_at: string;
  /** The running config's warnings (`file:line:col warning: ...`): it runs, as keepalived would. */
  warnings: string[];
  reloads: { ok: number; refused: number };
  /** `warnings`: the reloaded file's, whether it was applied or refused. */
  last_reload: { at: string; ok: boolean; changes: string[]; errors: string[]; warnings: string[] } | null;
}

/** One status API listener's connections (issue 12 §3; caps and timeouts: listenerLimits.ts). */
export interface StatusListenerStats {
  /** The cap, from the open file limit. */
  max_connections: number;
  /** Open now. */
  open: number;
  accepted: number;
  /** Closed at once: the cap was reached and every connection was busy with a request. */
  refused: number;
  /** Closed to make room for a new connection: the one idle the longest. */
  evicted: number;
  /** Closed by a timeout. request: its headers or body did not arrive in time; idle: nothing
   *  moved (an idle keep-alive, or a client not reading its response). */
  timed_out: { request: number; idle: number };
}

export interface StatusApiListeners {
  /** The soft open file limit the caps were sized from (null: unknown, 1024 assumed). */
  open_file_limit: number | null;
  unix: StatusListenerStats;
  /** null when global.metrics_listen is off. */
  tcp: StatusListenerStats | null;
}

export interface DaemonStatus {
  pid: number;
  version: string;
  router_id: string;
  hostname: string;
  started_at: string;
  config?: StatusConfig;
  instances: StatusInstance[];
  sync_groups?: unknown;
  rx: {
    accepted: number; drops: Record<string, number>; notes?: Record<string, number | undefined>;
    /** Packets the kernel dropped on the VRRP sockets (receive buffer full), all sockets, since start. */
    kernel_drops?: number;
    /** By socket (`interface/family`): its kernel drops and receive buffer (requested, granted). */
    sockets?: Record<string, { kernel_drops: number; receive_buffer: { requested: number; granted: number; forced: boolean } | null }>;
  };
  lb: {
    backend: { kind: string; passes: number; last_error: string | null };
    /** Service keys tandem owns in the kernel's table (created or configured by it). */
    owned?: string[];
    virtual_servers: StatusVirtualServer[];
    check_latency?: Record<string, StatusLatencyHistogram>;
    /** Checker merge (src/check/merge.ts): distinct checks probed vs the real servers (of all
     *  services) and the checks they name; probes started since start. */
    check_merge?: {
      distinct_checks: number; real_servers: number; named_checks: number; probes: number;
      /** tcp_checks left to the native engine's quiet mode (steady up), and its counters. */
      quiet?: number;
      /** syn_probes: probes sent half-open (native/syn_prober.h); syn4 / syn6: 'on', 'unused',
       *  'off', or the errno that keeps the family's raw socket shut (its probes connect()). */
      engine?: { probes: number; reported: number; suppressed: number; syn_probes: number; syn4: string; syn6: string };
    };
  } | null;
  trackers: StatusTrackers;
  alerts: StatusAlerts;
  api?: StatusApiListeners;
  /** The daemon's event loop (api/loopDelay.ts): how late it runs its timers. */
  event_loop?: { delay: LoopDelayStatus };
}

/** The event loop's lateness (api/loopDelay.ts): quantiles and max over the last window, count
 *  and sum since start. */
export interface LoopDelayStatus {
  /** The span the quantiles and max cover, seconds. */
  window_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Samples and their summed delay since start (the summary's _count and _sum). */
  count: number;
  sum_s: number;
}

/** What a reload did (src/daemon/reload.ts), as `POST /reload` answers it and `tandem reload`,
 *  the log and the status show it. Declared here so api/ needs nothing from daemon/. `warnings`
 *  are the new file's (config/errors.ts): an applied reload runs with them, a refused one lists them
 *  beside its errors, so that the next edit can fix both. */
export type ReloadOutcome =
  | { ok: true; file: string; changes: string[]; durationMs: number; warnings: string[] }
  | { ok: false; file: string; errors: string[]; warnings: string[] };
