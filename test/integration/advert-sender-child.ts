// Child of advert-sender.test.ts, run inside a lab namespace: a real VRRP socket on eth0 and the
// native advert sender (net/advertSender.ts). It runs a fixed script and prints one JSON line
// per step, with CLOCK_REALTIME stamps in ns (comparable with the observer's capture stamps):
// 1. job vrid 51 every INTERVAL ms, lease renewed every 100 ms; after 500 ms the JS thread is
//    blocked by a busy loop for BLOCK ms; 500 ms later the job is stopped.
// 2. job vrid 52 every INTERVAL ms with a LEASE ms lease that nobody renews; the thread is
//    blocked by a busy loop for LEASE_BLOCK ms (> LEASE): the sender must stop by itself and
//    report lease_expired once JS runs again.
// 3. jobs vrid 60..69 every INTERVAL ms, installed 0.1 ms apart (phases as free as a VRRP start
//    makes them): for 400 ms, then their deadlines and the thread's wake-ups.
import { openVrrpSocket } from '../../src/net/vrrpSocket.js';
import { openAdvertSender, type AdvertReport } from '../../src/net/advertSender.js';
import { encodeAdvert } from '../../src/vrrp/packet.js';

const [INTERVAL, BLOCK, LEASE, LEASE_BLOCK] = process.argv.slice(2).map(Number) as [number, number, number, number];
const SRC = '192.0.2.1';
const GROUP = '224.0.0.18';
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const rt = () => String(BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)));
const busy = (ms: number) => { const end = performance.now() + ms; let n = 0; while (performance.now() < end) n++; return n; };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const reports: AdvertReport[] = [];

const sock = openVrrpSocket({ family: 4, ifname: 'eth0', onPacket: () => undefined, onError: (e) => out({ error: e.message }) });
const sender = openAdvertSender((rs) => { for (const r of rs) { reports.push(r); out({ report: { ...r, at: rt() } }); } });
const packet = (vrid: number) => ({
  payload: encodeAdvert({ version: 3, type: 1, vrid, priority: 100, advertIntCs: Math.round(INTERVAL / 10), addresses: ['192.0.2.100'], authType: 0, authPass: '' },
    { family: 4, src: SRC, dst: GROUP }),
  dst: GROUP, src: SRC,
});

sender.set(1, sock, [packet(51)], INTERVAL, 0, 5000);
const renew = setInterval(() => sender.renew(1, 5000), 100);
out({ started: rt() });
await sleep(500);
const blockStart = rt();
busy(BLOCK);
out({ blockStart, blockEnd: rt() });
await sleep(500);
sender.stop(1);
clearInterval(renew);
out({ stopped: rt(), stats: sender.stats(1) });

await sleep(100);
const leaseStart = rt();
sender.set(2, sock, [packet(52)], INTERVAL, 0, LEASE);
busy(LEASE_BLOCK);
out({ leaseStart, leaseBlockEnd: rt() });
await sleep(300);
out({ leaseStats: sender.stats(2), leaseReports: reports.filter((r) => r.id === 2).map((r) => r.kind), renewAfter: sender.renew(2, LEASE) });

const GRID = [60, 61, 62, 63, 64, 65, 66, 67, 68, 69];
const wakeups0 = sender.stats(1)!.wakeups;
const sent0 = GRID.map((v) => sender.stats(v)?.sent ?? 0);
GRID.forEach((vrid) => {
  const until = performance.now() + 0.1;
  while (performance.now() < until);
  sender.set(vrid, sock, [packet(vrid)], INTERVAL, INTERVAL, 5000);
});
await sleep(400);
const gridStats = GRID.map((v) => sender.stats(v)!);
for (const v of GRID) sender.stop(v);
out({ grid: {
  nextDueNs: gridStats.map((s) => String(s.nextDueNs)),
  sent: gridStats.reduce((a, s, i) => a + s.sent - sent0[i]!, 0),
  wakeups: gridStats[gridStats.length - 1]!.wakeups - wakeups0,
} });
sender.close();
sock.close();
out({ done: true });
