// DNS_CHECK (keepalived check_dns.c): one UDP query (type + name, recursion desired); up when a
// reply carries our id and RCODE 0. Replies with another id are not ours and are ignored, so a
// server that only answers with wrong ids runs into the deadline (reported as 'dns_id').
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { DnsType } from '../../config/lbModel.js';
import type { ProbeResult } from '../verdict.js';
import { encodeDnsQuery, judgeDnsReply, rcodeName } from './dnsCodec.js';
import { runProbeScope, type ProbeOptions } from './scope.js';
import type { ProbeTarget } from './tcp.js';
import { openUdp } from './udp.js';

export type DnsProbeParams = ProbeTarget & { queryType: DnsType; queryName: string };

export function probeDns(p: DnsProbeParams, opts: ProbeOptions): Promise<ProbeResult> {
  return runProbeScope(opts, (scope) => {
    const id = randomInt(0x10000);
    let query: Uint8Array;
    try {
      query = encodeDnsQuery({ id, type: p.queryType, name: p.queryName });
    } catch (e) {
      scope.fail('connect_error', `cannot encode the query: ${(e as Error).message}`);
      return;
    }
    let otherIds = 0;
    scope.onDeadline(() => otherIds > 0
      ? { ok: false, reason: 'dns_id', detail: `no reply with id ${id}; ignored ${otherIds} with another id` }
      : { ok: false, reason: 'timeout', detail: 'no reply' });

    const socket = openUdp(p, scope, createSocket(isIPv6(p.connectIp) ? 'udp6' : 'udp4'), () => socket.send(query));
    socket.on('message', (msg: Buffer) => {
      const j = judgeDnsReply(msg, id);
      if (j.kind === 'up') scope.ok();
      else if (j.kind === 'down') scope.fail('dns_rcode', `${p.queryType} ${p.queryName}: ${rcodeName(j.rcode)}`);
      else if (j.why === 'other_id') otherIds++;
    });
  });
}
