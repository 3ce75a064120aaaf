// One entry point for the checker driver: run the one-shot probe a check's kind names. Every
// probe settles exactly once within its deadline, releases what it opened, and never throws.
import type { CheckConfig } from '../../config/lbModel.js';
import { maskUrlCredentials } from '../../config/secrets.js';
import type { TcpCheckSpec } from '../../net/tcpCheckEngine.js';
import type { ProbeResult } from '../verdict.js';
import { probeDns } from './dns.js';
import { probeWithEngine, type ProbeEngine } from './engineProbe.js';
import { nativeCheckSpec } from './httpEngineSpec.js';
import { probeHttp } from './http.js';
import { probeMisc } from './misc.js';
import { probePing } from './ping.js';
import { errorText, type ProbeOptions } from './scope.js';
import { probeSmtp } from './smtp.js';
import { probeTcp } from './tcp.js';
import { probeUdp } from './udp.js';

export type { ProbeOptions } from './scope.js';
export { ProbeEngine } from './engineProbe.js';

export interface RunProbeOptions {
  /** Defaults to the check's own timeoutMs (connect_timeout, or misc_timeout). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export function runProbe(check: CheckConfig, opts: RunProbeOptions = {}): Promise<ProbeResult> {
  const o: ProbeOptions = { timeoutMs: opts.timeoutMs ?? check.timeoutMs, signal: opts.signal };
  let running: Promise<ProbeResult>;
  try {
    switch (check.kind) {
      case 'tcp_check': running = probeTcp(check, o); break;
      case 'http_get': case 'ssl_get': running = probeHttp(check, o); break;
      case 'dns_check': running = probeDns(check, o); break;
      case 'smtp_check': running = probeSmtp(check, o); break;
      case 'misc_check': running = probeMisc(check, o); break;
      case 'ping_check': running = probePing(check, o); break;
      case 'udp_check': running = probeUdp(check, o); break;
    }
  } catch (e) {
    // Unreachable by design (each probe contains its own errors); kept so a bug cannot reject.
    return Promise.resolve({ ok: false, reason: 'no_result', detail: errorText(e) });
  }
  return running.catch((e: unknown): ProbeResult => ({ ok: false, reason: 'no_result', detail: errorText(e) }));
}

export type RunProbe = (check: CheckConfig, opts?: RunProbeOptions) => Promise<ProbeResult>;

/** What the engine runs for a check (null: the JS probe), computed once per check object (the
 *  config is frozen, so the request bytes cannot change under us). */
interface EngineCheck { spec: TcpCheckSpec; label: string | undefined }
const ENGINE_CHECKS = new WeakMap<CheckConfig, EngineCheck | null>();

function engineCheckOf(check: CheckConfig): EngineCheck | null {
  let e = ENGINE_CHECKS.get(check);
  if (e === undefined) {
    const spec = nativeCheckSpec(check);
    // http.ts's failure detail starts with the url's path, its secrets masked (config/secrets.ts).
    const label = spec?.http !== undefined && check.kind === 'http_get' ? maskUrlCredentials(check.urls[0]!.path) : undefined;
    e = spec === null ? null : { spec, label };
    ENGINE_CHECKS.set(check, e);
  }
  return e;
}

/**
 * runProbe, with the checks the native engine can judge (probes/httpEngineSpec.ts: TCP_CHECK,
 * HTTP_GET with one url and no digest) run on `engine` instead of in JS. No engine: runProbe.
 */
export function createRunProbe(engine?: ProbeEngine): RunProbe {
  if (engine === undefined) return runProbe;
  return (check, opts = {}) => {
    const e = engineCheckOf(check);
    if (e === null) return runProbe(check, opts);
    return probeWithEngine(engine, e.spec, {
      timeoutMs: opts.timeoutMs ?? check.timeoutMs, signal: opts.signal, label: e.label, key: check,
    });
  };
}
