// Child of receive-stall.test.ts, run inside a lab namespace: one VRRP router (src/vrrp/router.ts)
// on the real network port, the real timers and the daemon's precise machine timer, as
// daemon/compose.ts builds them. SIGUSR1 blocks this JS thread (Atomics.wait) for argv[3] ms, as a
// GC pause, a reload or a checker storm would; SIGUSR2 prints the receive counters; SIGTERM
// stops the router and exits. Every transition and answer is one
// JSON line on stdout, on the monotonic clock (performance.now()), with the arrival time of the
// last advert the router received.
import { readFileSync } from 'node:fs';
import { loadConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { createSystemTimers } from '../../src/timers.js';
import { createVrrpNetwork } from '../../src/net/vrrpNetwork.js';
import type { VrrpSocketOptions } from '../../src/net/vrrpSocket.js';
import { createPreciseTimer, monotonicNow } from '../../src/daemon/preciseTimer.js';
import { VrrpRouter } from '../../src/vrrp/router.js';

const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const loaded = loadConfigText(readFileSync(process.argv[2]!, 'utf8'), 'stall.yaml', {});
if (!loaded.ok) { out({ error: 'config', errors: loaded.errors.length }); process.exitCode = 2; throw new Error('bad config'); }
const timers = createSystemTimers();
const real = createVrrpNetwork(() => timers.now());
let lastArrival: number | null = null;
const net = {
  ...real,
  openSocket: (req: VrrpSocketOptions) => real.openSocket({ ...req, onPacket: (p) => { lastArrival = p.arrivedAt; req.onPacket(p); } }),
};
const router = new VrrpRouter(loaded.config, {
  net, timers, advertTimer: () => createPreciseTimer(monotonicNow), log: createLogger({ write: (l) => process.stderr.write(l) }),
  events: {
    changed: () => undefined,
    transition: (name, from, to, reason) => out({ transition: { name, from, to, reason }, at: timers.now(), lastArrival }),
    groupTransition: () => undefined,
  },
});
router.start();
out({ started: true });
const wait = new Int32Array(new SharedArrayBuffer(4));
const blockMs = Number(process.argv[3]);
process.on('SIGUSR1', () => {
  const from = timers.now();
  Atomics.wait(wait, 0, 0, blockMs);
  out({ blocked: timers.now() - from, at: from });
});
process.on('SIGUSR2', () => out({ stats: router.stats, states: router.snapshot().instances.map((i) => i.state) }));
process.on('SIGTERM', () => {
  router.stop();
  out({ stopped: true });
  process.exit(0);
});
