// The table behind test/fixtures/nft/sample.nft (test/fixtures/nft/README.md), shared by the
// nft unit and integration tests.
import { type LbTable, tableOf } from '../../src/lb/model.js';
import type { RealServer, ServiceAddress, VirtualService } from '../../src/config/lbModel.js';

const svc = (id: ServiceAddress, scheduler: string, extra: Partial<VirtualService> = {}): VirtualService =>
  ({ id, scheduler, persistence: null, pe: null, ops: false, schedFlags: [], ...extra });
const rs = (address: string, port: number, weight: number, family: 4 | 6 = 4): RealServer =>
  ({ family, address, port, forwarding: 'NAT', weight, tunnel: null });

/** The table behind test/fixtures/nft/sample.nft. */
export function sampleTable(): LbTable {
  return tableOf([
    { service: svc({ kind: 'inet', family: 4, protocol: 'TCP', address: '192.0.2.10', port: 80 }, 'wrr', { persistence: { timeoutS: 300, netmaskPrefix: 24 }, masquerade: true }),
      dests: [rs('198.51.100.1', 80, 2), rs('198.51.100.2', 8080, 1), rs('198.51.100.3', 80, 0)] },
    { service: svc({ kind: 'inet', family: 4, protocol: 'TCP', address: '192.0.2.10', port: 443 }, 'rr'),
      dests: [rs('198.51.100.1', 443, 5), rs('198.51.100.2', 443, 1)] },
    { service: svc({ kind: 'inet', family: 4, protocol: 'UDP', address: '192.0.2.11', port: 53 }, 'sh', { persistence: { timeoutS: 60, netmaskPrefix: 32 } }),
      dests: [rs('198.51.100.1', 53, 1), rs('198.51.100.2', 53, 3)] },
    { service: svc({ kind: 'fwmark', family: 4, fwmark: 7 }, 'dh', { masquerade: true }), dests: [rs('198.51.100.4', 0, 1), rs('198.51.100.5', 0, 1)] },
    { service: svc({ kind: 'inet', family: 6, protocol: 'TCP', address: '2001:db8::10', port: 80 }, 'wrr', { persistence: { timeoutS: 120, netmaskPrefix: 128 } }),
      dests: [rs('2001:db8::11', 80, 1, 6), rs('2001:db8::12', 80, 2, 6)] },
    { service: svc({ kind: 'inet', family: 6, protocol: 'SCTP', address: '2001:db8::10', port: 9000 }, 'rr'), dests: [] },
  ]);
}

