// The status API and metrics config (issue 5 §2):
//
//   global:
//     status_socket: /run/tandem/tandem.sock   # default; unix socket, mode 0600 (tandem status)
//     metrics_listen: 127.0.0.1:9650           # off by default; Prometheus GET /metrics over TCP
//
// Neither is a keepalived keyword: keepalived has no status API or metrics endpoint.
import { isScalar } from './yaml.js';
import type { Node } from 'yaml';
import { canonicalIp } from '../ip/address.js';
import { describe, field, report, string, type Validator } from './fields.js';

export const DEFAULT_STATUS_SOCKET = '/run/tandem/tandem.sock';

export interface ListenAddress {
  host: string;
  port: number;
  family: 4 | 6;
}

export interface StatusApiGlobalConfig {
  /** Unix socket of the status API (`tandem status`). */
  statusSocket: string;
  /** TCP address of the Prometheus /metrics listener; undefined = off. */
  metricsListen: ListenAddress | undefined;
}

/** `ADDRESS:PORT` with a literal IP (IPv6 in brackets: `[::1]:9650`); port 1..65535. No host
 *  names: a listener bound through a resolver could end up on an address nobody meant. */
export function parseListenAddress(s: string): ListenAddress | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]]+):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const ip = canonicalIp(m[1]!);
  const port = Number(m[2]);
  if (!ip || port < 1 || port > 65535) return undefined;
  if (ip.family === 6 && !s.startsWith('[')) return undefined;
  return { host: ip.address, port, family: ip.family };
}

export const listenAddress: Validator<ListenAddress> = (at, ctx) => {
  const v = isScalar(at.node) ? at.node.value : undefined;
  const parsed = typeof v === 'string' ? parseListenAddress(v) : undefined;
  if (!parsed) {
    report(ctx, at.node as Node | null | undefined, at.path,
      `expected ADDRESS:PORT with an IP address and a port 1..65535 (e.g. 127.0.0.1:9650 or [::1]:9650), got ${describe(at.node as Node | null | undefined)}`);
    return undefined;
  }
  return parsed;
};

export const statusApiGlobalFields = {
  // sun_path holds 108 bytes with the terminating NUL (unix(7)).
  status_socket: field(string({ pattern: /^\/.{0,106}$/, what: 'an absolute path of at most 107 characters' })),
  metrics_listen: field(listenAddress),
};

export function statusApiModel(raw: { status_socket?: string | undefined; metrics_listen?: ListenAddress | undefined } | undefined): StatusApiGlobalConfig {
  return { statusSocket: raw?.status_socket ?? DEFAULT_STATUS_SOCKET, metricsListen: raw?.metrics_listen };
}
