// Runs PING_CHECK probes inside a network namespace (`ip netns exec NS node this.js JSON`):
// argv[2] is {"targets": [...], "timeoutMs": n}; prints one JSON line with the socket kind the
// Pinger got ('dgram' or 'raw'), each result with its duration, and the sockets left open.
import { Pinger, type IcmpSocketFactory } from '../../src/check/probes/ping.js';
import { testIcmpSocketFactory } from '../unit/probes-servers.js';

const { targets, timeoutMs } = JSON.parse(process.argv[2] ?? '{}') as { targets: string[]; timeoutMs: number };
let kind = '';
const base = testIcmpSocketFactory();
const factory: IcmpSocketFactory = (family, onMessage, onError) => {
  const s = base(family, onMessage, onError);
  kind = s.kind;
  return s;
};
const pinger = new Pinger(factory);
const results = await Promise.all(targets.map(async (ip) => {
  const t0 = performance.now();
  const r = await pinger.probe({ connectIp: ip }, { timeoutMs });
  return { ip, ...r, ms: Math.round(performance.now() - t0) };
}));
process.stdout.write(`${JSON.stringify({ kind, results, openSockets: pinger.openSockets })}\n`);
