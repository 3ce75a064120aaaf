// UDP_CHECK (keepalived check_udp.c): send the payload from a connected UDP socket, then
// - require_reply: up on a reply (starting with the expected bytes, when given), down when
//   nothing comes back before the deadline;
// - otherwise: down only on an ICMP error, up when the deadline passes in silence (UDP has no
//   other way to say "nobody listens" than ICMP port unreachable, RFC 1122 §4.1.3.1).
// A connected socket is what makes the kernel report ICMP errors: Linux hands a queued ICMP
// port unreachable to the next receive as ECONNREFUSED (udp(7)), which Node emits as 'error'.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { ProbeResult } from '../verdict.js';
import { failureOf, runProbeScope, type ProbeOptions, type ProbeScope } from './scope.js';
import type { ProbeTarget } from './tcp.js';

export type UdpProbeParams = ProbeTarget & {
  payloadHex: string;
  requireReply: boolean;
  replyPrefixHex: string | undefined;
};

export function probeUdp(p: UdpProbeParams, opts: ProbeOptions): Promise<ProbeResult> {
  return runProbeScope(opts, (scope) => {
    const payload = Buffer.from(p.payloadHex, 'hex');
    const prefix = p.replyPrefixHex !== undefined ? Buffer.from(p.replyPrefixHex, 'hex') : undefined;
    scope.onDeadline(() => p.requireReply
      ? { ok: false, reason: 'no_reply', detail: 'no reply' }
      : { ok: true });
    const socket = openUdp(p, scope, createSocket(isIPv6(p.connectIp) ? 'udp6' : 'udp4'), () => socket.send(payload));
    socket.on('message', (msg: Buffer) => {
      if (prefix && (msg.length < prefix.length || !msg.subarray(0, prefix.length).equals(prefix))) {
        scope.fail('reply_mismatch', `reply starts ${msg.subarray(0, Math.max(prefix.length, 1)).toString('hex') || '(empty)'}, expected ${p.replyPrefixHex}`);
        return;
      }
      scope.ok();
    });
  });
}

/**
 * Binds (bindto / bind_port) and connects a UDP socket for a probe, then calls `ready`. An ICMP
 * port unreachable (ECONNREFUSED) fails the probe as 'unreachable'; the socket is closed when
 * the probe settles.
 */
export function openUdp(target: ProbeTarget, scope: ProbeScope, socket: UdpSocket, ready: () => void): UdpSocket {
  let open = true;
  scope.defer(() => {
    if (!open) return;
    open = false;
    try { socket.close(); } catch { /* already closed */ }
  });
  socket.on('close', () => { open = false; });
  socket.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'ECONNREFUSED') { scope.fail('unreachable', 'ICMP port unreachable'); return; }
    const f = failureOf(e);
    scope.fail(f.reason, f.detail);
  });
  const connect = (): void => {
    socket.connect(target.connectPort, target.connectIp, () => { if (!scope.settled) ready(); });
  };
  if (target.bindTo !== undefined || target.bindPort !== undefined) {
    socket.bind({
      ...(target.bindTo !== undefined ? { address: target.bindTo } : {}),
      port: target.bindPort ?? 0,
      exclusive: true,
    }, () => { if (!scope.settled) connect(); });
  } else {
    connect();
  }
  return socket;
}
