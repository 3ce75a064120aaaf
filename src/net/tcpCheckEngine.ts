// TCP_CHECK probes run by the addon's TcpCheckEngine (src/native/tcp_check_engine.cc): its own
// thread schedules, connects and judges every probe, and only reported outcomes reach JS, in
// batches. This module is the typed face of that class; the check scheduler (src/check/)
// decides when to probe and what a result means.
//
// One probe equals probes/tcp.ts's TCP_CHECK on the wire: SYN, then success on the SYN-ACK,
// answered with a RST. The engine sends it half-open from a raw socket (native/syn_prober.h:
// no socket, connect() or close() per probe, half the CPU) when it may (CAP_NET_RAW, no
// bind_port), else by a non-blocking connect (bindto / bind_port) closed with SO_LINGER 0. Failures use check/verdict.ts's
// ProbeFailReason words. A spec with `http` is probes/http.ts's HTTP_GET of one url without a
// digest instead (check/probes/httpEngineSpec.ts): request, status line judged, then the RST;
// http_status outcomes carry the code in `status`.
//
// A target's cycle: probeIn() starts one probe whose result is always reported (it replaces a
// pending or in-flight one, whose result is then never reported); setQuiet() starts quiet mode,
// in which successes are counted but not reported and the first failure is reported and ends
// the mode. Every report ends the cycle; an outcome of a cycle the caller has since replaced
// (probeIn / setQuiet / remove) is dropped, never delivered late.
//
// Process lifetime: while some target has a pending cycle the engine keeps the event loop
// alive (as an open connection would); an idle engine does not. close() ends the thread.
import { getSystemErrorName } from 'node:util';
import { nativeAddon, type NativeTcpCheckEngine, type NativeTcpCheckEngineCtor } from './native.js';

function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

export interface TcpCheckSpec {
  family: 4 | 6;
  address: string;
  port: number;
  /** bindto / bind_port, as probes/tcp.ts does. */
  bindAddress?: string | undefined;
  bindPort?: number | undefined;
  /** connect_timeout: bounds the whole probe (connect, and in HTTP mode the exchange too). */
  timeoutMs: number;
  /** HTTP mode (HTTP_GET without digest, one url: check/probes/httpEngineSpec.ts decides):
   *  after connecting, send `request`, read to the end of the response header, and judge its
   *  status code against `statusCodes` (inclusive ranges). */
  http?: TcpCheckHttp | undefined;
}

export interface TcpCheckHttp {
  /** The request bytes (latin1), as probes/http.ts httpRequest() builds them. */
  request: string;
  statusCodes: ReadonlyArray<readonly [number, number]>;
}

/** check/verdict.ts ProbeFailReason words. */
export type TcpCheckFail = 'timeout' | 'refused' | 'unreachable' | 'connect_error';
/** The words only HTTP mode reports (reset: ECONNRESET / EPIPE after connecting). */
export type TcpCheckHttpFail = 'reset' | 'bad_response' | 'http_status';

export interface TcpCheckOutcome {
  id: number;
  ok: boolean;
  reason?: TcpCheckFail | TcpCheckHttpFail;
  errno?: number;
  /** http_status: the status code the server answered. */
  status?: number;
  latencyUs: number;
}

export interface TcpCheckLast {
  ok: boolean;
  reason?: TcpCheckFail | TcpCheckHttpFail;
  /** http_status: the status code the server answered. */
  status?: number;
  latencyUs: number;
  atWallMs: number;
}

export interface TcpCheckStats {
  /** Probes started. */
  probes: number;
  /** Outcomes delivered to onResults. */
  reported: number;
  /** Quiet-mode successes, counted and not reported. */
  suppressed: number;
  inFlight: number;
  targets: number;
  /** Probes that started more than 6 ms after they were due (an overloaded engine thread; the
   *  4 ms wake-up window makes every start up to 4 ms late). */
  lateStarts: number;
  /** socket() failures for want of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM),
   *  each reported as connect_error with its errno. */
  fdErrors: number;
  /** In-flight probes cut short by probeIn / setQuiet / remove (RST, nothing reported). */
  aborted: number;
  /** Outcomes dropped because their cycle had been replaced before they reached JS. */
  stale: number;
  /** Probes sent half-open (a raw SYN) and SYNs sent again within a probe's timeout. */
  synProbes: number;
  synRetransmits: number;
  /** Answers on the raw sockets that matched no probe in flight (late, or not ours). */
  synUnmatched: number;
  /** Half-open probing per family: 'off' (option), 'unused' (no probe needed it yet), 'on', or
   *  the errno name that keeps the raw socket shut (EPERM: no CAP_NET_RAW; probes connect()). */
  syn4: SynState;
  syn6: SynState;
}

export type SynState = 'off' | 'unused' | 'on' | string;

export interface TcpCheckEngineOptions {
  /** false: every TCP probe connect()s (tests of that path, benches); default true. */
  syn?: boolean;
}

export interface TcpCheckEngine {
  /** id: the caller's small integer (0..4,194,303); add twice = replace the spec (from the next probe). */
  add(id: number, spec: TcpCheckSpec): void;
  /** One probe after delayMs (0 = now); its result is always reported. Replaces a pending one
   *  (and ends quiet mode). */
  probeIn(id: number, delayMs: number): void;
  /** Quiet mode (steady state): after each SUCCESSFUL probe the engine itself probes again
   *  intervalMs later (phase kept: start times stay on the first probe's grid) and does not
   *  report the success; the first failure IS reported and ends quiet mode. null ends quiet
   *  mode (cancelling a pending or in-flight quiet probe). The first quiet probe runs `firstInMs`
   *  from now (default: intervalMs). */
  setQuiet(id: number, intervalMs: number | null, firstInMs?: number): void;
  /** Aborts an in-flight probe (RST), forgets id. Unknown ids, and any id after close(), are ignored. */
  remove(id: number): void;
  /** Last probe of any outcome, reported or not. */
  last(id: number): TcpCheckLast | undefined;
  stats(): TcpCheckStats;
  /** Stops the thread and closes every socket (RST). add / probeIn / setQuiet throw afterwards. */
  close(): void;
}

/** Test and benchmark hook: start times as the engine thread saw them. */
export interface TcpCheckEngineDebug extends TcpCheckEngine {
  /** Starts (true) or stops and clears (false) recording each probe's start time. */
  recordStarts(on: boolean): void;
  /** The start times (CLOCK_MONOTONIC ms) and target ids recorded since the last take. */
  takeStarts(): { times: Float64Array; ids: Uint32Array };
}

const REASONS: readonly (TcpCheckFail | TcpCheckHttpFail | undefined)[] = [
  undefined, 'timeout', 'refused', 'unreachable', 'connect_error', 'reset', 'bad_response', 'http_status',
];
/** The native code of http_status: its batch entry carries the status where others carry errno. */
const HTTP_STATUS_CODE = 7;

class NativeBackedEngine implements TcpCheckEngineDebug {
  private readonly native: NativeTcpCheckEngine;
  private closed = false;

  constructor(onResults: (batch: readonly TcpCheckOutcome[]) => void, options: TcpCheckEngineOptions) {
    const ctor = (nativeAddon() as unknown as { TcpCheckEngine?: NativeTcpCheckEngineCtor }).TcpCheckEngine;
    if (ctor === undefined) throw new Error('native addon has no TcpCheckEngine: rebuild it with `npm ci`');
    this.native = new ctor((flat) => {
      const batch: TcpCheckOutcome[] = new Array<TcpCheckOutcome>(flat.length / 4);
      for (let i = 0, j = 0; i < flat.length; i += 4, j++) {
        const code = flat[i + 1]!;
        batch[j] = code === 0
          ? { id: flat[i]!, ok: true, latencyUs: flat[i + 3]! }
          : code === HTTP_STATUS_CODE
            ? { id: flat[i]!, ok: false, reason: 'http_status', status: flat[i + 2]!, latencyUs: flat[i + 3]! }
            : { id: flat[i]!, ok: false, reason: REASONS[code] ?? 'connect_error', errno: flat[i + 2]!, latencyUs: flat[i + 3]! };
      }
      onResults(batch);
    }, { syn: options.syn ?? true });
  }

  add(id: number, spec: TcpCheckSpec): void {
    const h = spec.http;
    if (h === undefined) {
      this.native.add(id, spec.family, spec.address, spec.port, spec.bindAddress ?? '', spec.bindPort ?? 0, spec.timeoutMs);
      return;
    }
    this.native.add(id, spec.family, spec.address, spec.port, spec.bindAddress ?? '', spec.bindPort ?? 0, spec.timeoutMs,
      Buffer.from(h.request, 'latin1'), Int32Array.from(h.statusCodes.flat()));
  }

  probeIn(id: number, delayMs: number): void { this.native.probeIn(id, delayMs); }

  setQuiet(id: number, intervalMs: number | null, firstInMs?: number): void {
    this.native.setQuiet(id, intervalMs ?? 0, firstInMs ?? -1);
  }

  remove(id: number): void { this.native.remove(id); }

  last(id: number): TcpCheckLast | undefined {
    const l = this.native.last(id);
    if (l === undefined) return undefined;
    if (l[0] === 1) return { ok: true, latencyUs: l[2]!, atWallMs: l[3]! };
    return l[1] === HTTP_STATUS_CODE
      ? { ok: false, reason: 'http_status', status: l[4]!, latencyUs: l[2]!, atWallMs: l[3]! }
      : { ok: false, reason: REASONS[l[1]!] ?? 'connect_error', latencyUs: l[2]!, atWallMs: l[3]! };
  }

  stats(): TcpCheckStats {
    const s = this.native.stats();
    return {
      probes: s[0]!, reported: s[1]!, suppressed: s[2]!, inFlight: s[3]!, targets: s[4]!,
      lateStarts: s[5]!, fdErrors: s[6]!, aborted: s[7]!, stale: s[8]!,
      synProbes: s[9]!, synRetransmits: s[10]!, synUnmatched: s[11]!, syn4: synState(s[12]!), syn6: synState(s[13]!),
    };
  }

  recordStarts(on: boolean): void { this.native.recordStarts(on); }
  takeStarts(): { times: Float64Array; ids: Uint32Array } { return this.native.takeStarts(); }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
  }
}

/** The native raw-socket state: -2 off, -1 unused, 0 on, > 0 an errno. */
function synState(v: number): SynState {
  if (v === -2) return 'off';
  if (v === -1) return 'unused';
  if (v === 0) return 'on';
  return errnoName(v);
}

/** A new engine (one thread). Throws when the addon lacks it or the thread's fds cannot be made. */
export function createTcpCheckEngine(onResults: (batch: readonly TcpCheckOutcome[]) => void, options: TcpCheckEngineOptions = {}): TcpCheckEngineDebug {
  return new NativeBackedEngine(onResults, options);
}
