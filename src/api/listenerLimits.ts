// Limits of the status API listeners (issue 12 §3): how long a connection may take to send its
// request or stay idle, and how many connections each listener holds, sized from the process's
// open file limit so that no listener can take the descriptors VRRP sockets, health checks,
// scripts, the state file and a reload (a worker thread that opens the config file) need.
// Pure: run.ts reads the limit (/proc/self/limits) and passes it in. README "Status and metrics"
// documents these numbers; test/unit/listener-limits.test.ts holds the two together.
//
// keepalived has no HTTP listener to compare with; it sizes RLIMIT_NOFILE from what its config
// needs (keepalived lib/process.c set_max_file_limit()). Node raises the soft limit to the hard
// one itself at start (node.cc PlatformInit), so the soft limit read after start is the hard one
// systemd sets (LimitNOFILE= in systemd/tandem.service).
import type { StatusListenerStats } from './status.js';

export interface ListenerTimeouts {
  /** The request's headers must have arrived this long after the connection (or, on a
   *  keep-alive connection, after the request began). */
  headersTimeoutMs: number;
  /** The whole request, body included. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed this long after its last response (Node 20
   *  closes the socket 1 s later still: its fixed keep-alive buffer). */
  keepAliveTimeoutMs: number;
  /** No byte moving either way this long (a client that stops reading its response). */
  idleTimeoutMs: number;
  /** How often expired headers/request timeouts are looked for: a silent connection lives at
   *  most headersTimeoutMs + this. */
  checkIntervalMs: number;
}

export const LISTENER_TIMEOUTS: Readonly<ListenerTimeouts> = Object.freeze({
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 10_000,
  checkIntervalMs: 1_000,
});

export interface ConnectionCaps {
  /** The unix status socket (root only: `tandem status`, `tandem reload`). */
  unix: number;
  /** The TCP listener (global.metrics_listen: Prometheus, the status page). */
  tcp: number;
}

/** The limit assumed when /proc/self/limits cannot be read (the usual soft default). */
export const ASSUMED_OPEN_FILE_LIMIT = 1024;

/**
 * Caps from the open file limit: the TCP listener gets 1/16 of it (4..128), the unix socket its
 * own 1/64 (2..16), so a flood on one never takes the other's room, and both together never take
 * more than 1/16 + 1/64 (under 8 %) of the limit: 64 and 16 at 1024, 128 and 16 at 65536, 4 and
 * 2 at 64. One Prometheus scrapes over one connection and a browser on the status page uses a
 * few; `tandem status` uses one per call.
 */
export function connectionCaps(openFileLimit: number | null): ConnectionCaps {
  const limit = openFileLimit ?? ASSUMED_OPEN_FILE_LIMIT;
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.floor(v)));
  return { unix: clamp(limit / 64, 2, 16), tcp: clamp(limit / 16, 4, 128) };
}

/** Zeroed counters of a listener with this cap. */
export function newListenerStats(maxConnections: number): StatusListenerStats {
  return { max_connections: maxConnections, open: 0, accepted: 0, refused: 0, evicted: 0, timed_out: { request: 0, idle: 0 } };
}

/** The soft "Max open files" limit from the text of /proc/<pid>/limits; null if absent or
 *  unlimited (then nothing needs sizing against it). */
export function parseOpenFileLimit(limitsText: string): number | null {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText);
  if (!m || m[1] === 'unlimited') return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}
