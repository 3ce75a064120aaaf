// TCP_CHECK: up when a TCP connection to the target completes (keepalived check_tcp.c).
// Also the connection step every stream probe (HTTP, SSL, SMTP) starts with.
import { connect, type Socket } from 'node:net';
import type { CheckCommon } from '../../config/lbModel.js';
import type { ProbeResult } from '../verdict.js';
import { failureOf, runProbeScope, type ProbeOptions, type ProbeScope } from './scope.js';

/** Where a probe connects: connect_ip / connect_port, and bindto / bind_port. */
export type ProbeTarget = Pick<CheckCommon, 'connectIp' | 'connectPort' | 'bindTo' | 'bindPort'>;

export function probeTcp(target: ProbeTarget, opts: ProbeOptions): Promise<ProbeResult> {
  return runProbeScope(opts, (scope) => {
    const socket = openTcp(target, scope);
    socket.once('connect', () => {
      // Release the connection with a RST instead of a FIN (SO_LINGER 0), as HAProxy does for
      // its checks: a FIN would leave one TIME_WAIT socket on this host per probe for 60 s
      // (RFC 9293 §3.6.1), 600,000 of them at 10,000 servers probed every second.
      socket.resetAndDestroy();
      scope.ok();
    });
  });
}

/**
 * Opens a TCP connection for a probe: a socket error fails the probe with its errno reason,
 * and the socket is destroyed when the probe settles, whatever settled it.
 */
export function openTcp(target: ProbeTarget, scope: ProbeScope): Socket {
  const socket = connect({
    host: target.connectIp,
    port: target.connectPort,
    ...(target.bindTo !== undefined ? { localAddress: target.bindTo } : {}),
    ...(target.bindPort !== undefined ? { localPort: target.bindPort } : {}),
  });
  scope.defer(() => { if (!socket.destroyed) socket.destroy(); });
  socket.on('error', (e) => { const f = failureOf(e); scope.fail(f.reason, f.detail); });
  return socket;
}
