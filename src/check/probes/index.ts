// One entry point for the checker driver: run the one-shot probe a check's kind names. Every
// probe settles exactly once within its deadline, releases what it opened, and never throws.
import type { CheckConfig } from '../../config/lbModel.js';
import type { ProbeResult } from '../verdict.js';
import { probeDns } from './dns.js';
import { probeHttp } from './http.js';
import { probeMisc } from './misc.js';
import { probePing } from './ping.js';
import { errorText, type ProbeOptions } from './scope.js';
import { probeSmtp } from './smtp.js';
import { probeTcp } from './tcp.js';
import { probeUdp } from './udp.js';

export type { ProbeOptions } from './scope.js';

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

