// TCP_CHECK: up when a TCP connection to the target completes (keepalived check_tcp.c).
// Also the connection step of the plain-text stream probes (HTTP_GET, SMTP_CHECK), all through
// the addon's shared prober (src/net/tcpProber.ts) rather than one net.Socket per probe.
import type { CheckCommon } from '../../config/lbModel.js';
import { openProbeConnection, type ProbeConnection } from '../../net/tcpProber.js';
import type { ProbeResult } from '../verdict.js';
import { failureOf, runProbeScope, type ProbeOptions, type ProbeScope } from './scope.js';

/** Where a probe connects: connect_ip / connect_port, and bindto / bind_port. */
export type ProbeTarget = Pick<CheckCommon, 'connectIp' | 'connectPort' | 'bindTo' | 'bindPort'>;

export function probeTcp(target: ProbeTarget, opts: ProbeOptions): Promise<ProbeResult> {
  return runProbeScope(opts, (scope) => {
    // Released with a RST as soon as the handshake completes (SO_LINGER 0), as HAProxy does for
    // its checks: a FIN would leave one TIME_WAIT socket on this host per probe for 60 s
    // (RFC 9293 §3.6.1), 600,000 of them at 10,000 servers probed every second.
    openTcp(target, scope, { resetOnConnect: true, connected: () => scope.ok() });
  });
}

/** A probe's connection as the protocol code sees it (plain TCP here, TLS in http.ts). */
export interface ProbeStream {
  write(data: string | Uint8Array): void;
  close(): void;
}

/** What openTcp returns when it could not even open the connection (the probe has failed). */
const NOT_OPENED: ProbeStream = { write: () => {}, close: () => {} };

export interface TcpStreamHandlers {
  /** TCP_CHECK: reset at once on connect; nothing can be written or read. */
  resetOnConnect?: boolean;
  connected(): void;
  data?(chunk: Buffer): void;
  /** The server closed its side (EOF). */
  end?(): void;
}

/**
 * Opens a TCP connection for a probe: a socket error fails the probe with its errno reason,
 * and the connection is released when the probe settles, whatever settled it.
 */
export function openTcp(target: ProbeTarget, scope: ProbeScope, h: TcpStreamHandlers): ProbeStream {
  const fail = (e: unknown): void => { const f = failureOf(e); scope.fail(f.reason, f.detail); };
  let conn: ProbeConnection;
  try {
    conn = openProbeConnection({
      // The config holds validated addresses: a colon means IPv6 (no regex per probe).
      family: target.connectIp.includes(':') ? 6 : 4,
      address: target.connectIp,
      port: target.connectPort,
      bindAddress: target.bindTo,
      bindPort: target.bindPort,
      resetOnConnect: h.resetOnConnect ?? false,
    }, { connected: h.connected, data: h.data, end: h.end, error: fail });
  } catch (e) {
    fail(e);
    return NOT_OPENED;
  }
  scope.defer(() => conn.close());
  return conn;
}
