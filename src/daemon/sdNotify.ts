// systemd readiness protocol (sd_notify(3)) for `Type=notify`: READY=1 once the VRRP sockets are
// open and the instances started, STOPPING=1 when a graceful stop begins, STATUS=<one line> for
// `systemctl status`. Outside systemd (NOTIFY_SOCKET unset) every call is a no-op.
//
// Notifications are best effort: a failed send is logged (once per distinct error) and never
// thrown, because nothing about VRRP may wait for or fail on the service manager (DESIGN.md:
// hooks never block VRRP). If READY=1 is lost systemd's TimeoutStartSec fails the start, which
// is the loud outcome we want.
//
// Watchdog (sd_watchdog_enabled(3), systemd.service(5) WatchdogSec=): when the service manager
// sets WATCHDOG_USEC (and WATCHDOG_PID, if set, is this process), watchdog() sends WATCHDOG=1
// every WATCHDOG_USEC / 2 from the daemon's Timers, i.e. from the event loop that runs the VRRP
// machines. A loop stalled for longer than WatchdogSec stops the pings, and systemd kills and
// restarts the daemon (Restart=on-failure), rather than leaving a director whose VRRP no longer
// runs.
import type { Logger } from '../log.js';
import { nativeAddon } from '../net/native.js';
import type { TimerHandle, Timers } from '../timers.js';

export interface SystemdNotifier {
  /** READY=1 (with a STATUS= line when given). */
  ready(status?: string): void;
  /** RELOADING=1 with MONOTONIC_USEC (systemd's reload protocol, sd_notify(3)); READY=1 ends it. */
  reloading(status?: string): void;
  /** STOPPING=1: systemd shows "deactivating" while the priority 0 adverts and hooks run. */
  stopping(status?: string): void;
  /** STATUS=<text>; repeated identical lines are not re-sent. A function is called only under
   *  systemd, so a caller on the transition path builds the line only when someone reads it. */
  status(text: string | (() => string)): void;
  /** Starts WATCHDOG=1 every WATCHDOG_USEC / 2 (one now), when the service manager asked for
   *  it; does nothing otherwise (`intervalMs` null). `stop()` ends it (idempotent). */
  watchdog(): { intervalMs: number | null; stop(): void };
}

export interface NotifierOptions {
  /** The daemon's timers: the watchdog pings run on the loop they run on. */
  timers?: Timers;
  /** WATCHDOG_USEC as watchdogUsecFromEnv() read it; null or absent: no watchdog. */
  watchdogUsec?: number | null;
}

/**
 * sd_watchdog_enabled(3)'s rule: the watchdog timeout in microseconds when WATCHDOG_USEC is a
 * positive integer and WATCHDOG_PID is unset or this process's pid; otherwise null (disabled).
 * (systemd sets WATCHDOG_PID when the notifying process is not the one it started, e.g. after a
 * double fork; a child that inherited the variables is told apart by it.)
 */
export function watchdogUsecFromEnv(env: Readonly<Record<string, string | undefined>>, pid: number): number | null {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || !/^\d+$/.test(usec)) return null;
  const n = Number(usec);
  if (!Number.isSafeInteger(n) || n <= 0) return null;
  const wpid = env.WATCHDOG_PID;
  if (wpid !== undefined && (!/^\d+$/.test(wpid) || Number(wpid) !== pid)) return null;
  return n;
}

/** Sends one datagram; false when not under systemd. Throws when the send fails. */
export type SdSend = (state: string) => boolean;

/** `send`: nativeSdSend in the daemon (daemon/compose.ts), a recorder in tests. */
export function createSystemdNotifier(log: Logger, send: SdSend, opts: NotifierOptions = {}): SystemdNotifier {
  let lastStatus: string | undefined;
  const reported = new Set<string>();
  const notify = (fields: string[]) => {
    try {
      send(fields.join('\n'));
    } catch (e) {
      const msg = (e as Error).message;
      if (!reported.has(msg)) {
        reported.add(msg);
        log.warn(`sd_notify ${fields[0]!.split('=')[0]}: ${msg}`);
      }
    }
  };
  const withStatus = (first: string, status: string | undefined) => {
    if (status !== undefined) lastStatus = status;
    notify(status === undefined ? [first] : [first, `STATUS=${oneLine(status)}`]);
  };
  return {
    ready: (status) => withStatus('READY=1', status),
    stopping: (status) => withStatus('STOPPING=1', status),
    // CLOCK_MONOTONIC in microseconds: process.hrtime is CLOCK_MONOTONIC on Linux.
    reloading: (status) => withStatus(`RELOADING=1\nMONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`, status),
    status(textOrBuild) {
      if (typeof textOrBuild === 'function' && send === nativeSdSend && !process.env.NOTIFY_SOCKET) return;
      const text = typeof textOrBuild === 'function' ? textOrBuild() : textOrBuild;
      if (text === lastStatus) return;
      lastStatus = text;
      notify([`STATUS=${oneLine(text)}`]);
    },
    watchdog() {
      const { timers, watchdogUsec } = opts;
      if (!timers || !watchdogUsec) return { intervalMs: null, stop: () => undefined };
      // sd_watchdog_enabled(3): "send WATCHDOG=1 ... at least every half of the time".
      const intervalMs = watchdogUsec / 2000;
      let handle: TimerHandle | undefined;
      let stopped = false;
      const ping = () => {
        handle = undefined;
        if (stopped) return;
        notify(['WATCHDOG=1']);
        // From now, not from the previous deadline: after a stall the next ping is a full
        // interval later (no burst of catch-up pings, which would tell systemd nothing).
        handle = timers.setTimeout(ping, intervalMs);
      };
      log.info(`watchdog: WATCHDOG=1 every ${intervalMs} ms (WatchdogSec ${watchdogUsec / 1e6} s)`);
      ping();
      return {
        intervalMs,
        stop: () => { stopped = true; timers.clear(handle); handle = undefined; },
      };
    },
  };
}

/** The real sender (passed by daemon/compose.ts). The addon is only loaded under systemd, so a
 *  run without NOTIFY_SOCKET never depends on it here. */
export function nativeSdSend(state: string): boolean {
  if (!process.env.NOTIFY_SOCKET) return false;
  return nativeAddon().sdNotify(state);
}

// A newline would start a new "KEY=value" assignment in the datagram (sd_notify(3)).
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/**
 * The STATUS= line for `systemctl status`: e.g. "2 VRRP instances: 1 MASTER, 1 BACKUP".
 * States are listed in a fixed order so that the line only changes when a count does.
 */
export function vrrpStatusLine(instances: ReadonlyArray<{ state: string }>): string {
  const n = instances.length;
  const head = `${n} VRRP instance${n === 1 ? '' : 's'}`;
  if (n === 0) return head;
  const counts = new Map<string, number>();
  for (const i of instances) counts.set(i.state, (counts.get(i.state) ?? 0) + 1);
  const order = ['MASTER', 'BACKUP', 'FAULT', 'INIT'];
  const keys = [...order.filter((s) => counts.has(s)), ...[...counts.keys()].filter((s) => !order.includes(s)).sort()];
  return `${head}: ${keys.map((s) => `${counts.get(s)} ${s}`).join(', ')}`;
}
