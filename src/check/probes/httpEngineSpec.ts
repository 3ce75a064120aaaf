// Which checks the native check engine (src/native/tcp_check_engine.cc) can run by itself, and
// the spec it runs them from. Everything else stays on the JS probes.
//
// HTTP_GET goes native when the engine's judgement is the whole of probes/http.ts's:
// - kind http_get: ssl_get needs TLS, which the engine does not speak;
// - exactly one url: keepalived (check_http.c http_connect_thread / fetch_next_url) checks each
//   url in turn and the probe fails on the first bad one; the JS probe runs them all under one
//   deadline. One url is one connection, which is what the engine does;
// - no `digest`: the engine reads up to the end of the header, never the body;
// - the request is probes/http.ts httpRequest()'s, byte for byte (virtualhost, Host with the
//   port, HTTP/1.0 / 1.0C / 1.1), and the accepted codes are the url's statusCodes (the config
//   loader already puts keepalived's default, 200-299, there when none is given).
// TCP_CHECK is always eligible.
import type { CheckConfig } from '../../config/lbModel.js';
import { maskUrlCredentials } from '../../config/secrets.js';
import type { TcpCheckOutcome, TcpCheckSpec } from '../../net/tcpCheckEngine.js';
import { errnoName } from '../../net/tcpProber.js';
import type { ProbeResult } from '../verdict.js';
import { httpRequest } from './http.js';

/** The engine spec of a check whose probe the engine can run, or null (use the JS probe).
 *  `timeoutMs` is the check's connect_timeout; the caller may override it per probe. */
export function nativeCheckSpec(check: CheckConfig): TcpCheckSpec | null {
  if (check.kind === 'tcp_check') return tcpSpec(check);
  if (check.kind === 'http_get') return nativeHttpSpec(check);
  return null;
}

/** HTTP_GET's engine spec (see the file comment for the rule), or null. */
export function nativeHttpSpec(check: CheckConfig): TcpCheckSpec | null {
  if (check.kind !== 'http_get') return null;
  if (check.urls.length !== 1) return null;
  const url = check.urls[0]!;
  if (url.digest !== undefined) return null;
  // An empty accepted set (no code passes) is possible only in a hand-built model; the JS probe
  // reports it the same way, but nothing is gained natively: keep such oddities in JS.
  if (url.statusCodes.length === 0) return null;
  return { ...tcpSpec(check), http: { request: httpRequest(check, url), statusCodes: url.statusCodes } };
}

function tcpSpec(check: CheckConfig): TcpCheckSpec {
  return {
    // The config holds validated addresses: a colon means IPv6 (as probes/tcp.ts openTcp).
    family: check.connectIp.includes(':') ? 6 : 4,
    address: check.connectIp,
    port: check.connectPort,
    bindAddress: check.bindTo,
    bindPort: check.bindPort,
    timeoutMs: check.timeoutMs,
  };
}

const OK: ProbeResult = Object.freeze({ ok: true });

/** An engine outcome of `check` as the JS probe reports the same failure (net/tcpProber.ts
 *  errnoError(), probes/scope.ts's deadline, probes/http.ts's `<path>: status N`), so that logs
 *  and the status read the same whichever ran the probe. `timeoutMs`: the probe's deadline. */
export function engineOutcomeResult(check: CheckConfig, o: TcpCheckOutcome, timeoutMs: number): ProbeResult {
  if (o.ok) return OK;
  const reason = o.reason ?? 'connect_error';
  // probes/http.ts prefixes what it judged of the answer with the url's path, secrets masked.
  const path = check.kind === 'http_get' && check.urls[0] ? maskUrlCredentials(check.urls[0].path) : '';
  switch (reason) {
    case 'timeout': return { ok: false, reason, detail: `no verdict within ${Math.max(1, Math.floor(timeoutMs))} ms` };
    case 'http_status': return { ok: false, reason, detail: `${path}: status ${o.status ?? 0}` };
    case 'bad_response':
      return { ok: false, reason, detail: `${path}: not an HTTP response (no status line, no end of header within 64 KiB, or closed before it)` };
    default: {
      const code = o.errno !== undefined ? errnoName(o.errno) : reason;
      const where = check.connectIp.includes(':') ? `[${check.connectIp}]:${check.connectPort}` : `${check.connectIp}:${check.connectPort}`;
      return { ok: false, reason, detail: `${reason === 'reset' ? 'read' : 'connect'} ${code} ${where}` };
    }
  }
}
