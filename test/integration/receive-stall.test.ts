// Issue 15 §1, the receive side, on real sockets: a backup whose JS thread is blocked for longer
// than Master_Down_Interval while a live master keeps sending does not take over (its
// master-down timer fires first after the block, libuv runs timers before it polls, and the
// drain reads the waiting adverts, stamped with their kernel arrival time, before the deadline
// acts); and when the master really dies the backup takes over Master_Down_Interval after the
// master's last advert arrived.
// The backup is the VRRP router in a child process (receive-stall-child.ts) in one namespace;
// the master is a python3 raw-socket sender at advert_int 0.05 in another, on one bridge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Lab, requireTools, sleep, waitFor, type NsProcess } from '../lib/netns.js';
import { encodeVrrp } from '../lib/raw-sender.js';
import { REPO_ROOT } from '../lib/tandem.js';
import { masterDownIntervalMs } from '../../src/vrrp/timers.js';

const CHILD = `${REPO_ROOT}dist/test/integration/receive-stall-child.js`;
const ADVERT_CS = 5;
const BACKUP_PRIORITY = 100;
/** v3 at 0.05 s, priority 100: 150 + 30.47 ms. */
const MDI = masterDownIntervalMs(3, BACKUP_PRIORITY, ADVERT_CS);
const BLOCK_MS = 300;
const BLOCKS = 6;

// Sends the same advert every `period` s on absolute deadlines until killed (or `lifetime` s).
const SENDER_PY = `
import binascii, socket, sys, time
payload, src, period, lifetime = binascii.unhexlify(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
s.bind((src, 0))
print("sending", flush=True)
t = time.monotonic()
end = t + lifetime
while t < end:
    s.sendto(payload, ("224.0.0.18", 0))
    t += period
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)
`;

interface ChildLine {
  started?: boolean;
  transition?: { name: string; from: string; to: string; reason: string };
  at?: number;
  lastArrival?: number | null;
  blocked?: number;
  stats?: { accepted: number; read_before_deadline: number };
  states?: string[];
}

function childLines(p: NsProcess): ChildLine[] {
  return p.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as ChildLine);
}

test(`a backup blocked ${BLOCK_MS} ms (> Master_Down_Interval ${MDI.toFixed(1)} ms) ${BLOCKS} times stays BACKUP; a dead master is replaced at Master_Down_Interval`, { timeout: 120_000 }, async () => {
  requireTools('python3');
  const lab = await Lab.create({ prefix: 'tR', nodes: [{ name: 'm', ipv4: ['192.0.2.1/24'] }, { name: 'b', ipv4: ['192.0.2.2/24'] }] });
  try {
    const cfg = lab.path('backup.yaml');
    writeFileSync(cfg, 'vrrp_instances:\n  - { name: VI_1, interface: eth0, virtual_router_id: 51, version: 3, priority: 100, ' +
      'advert_int: 0.05, virtual_ipaddresses: [192.0.2.100/24] }\n');
    const payload = encodeVrrp({ version: 3, vrid: 51, priority: 200, advertInt: ADVERT_CS, addrs: ['192.0.2.100'] },
      { src: '192.0.2.1', dst: '224.0.0.18' });
    const master = lab.spawn(lab.node('m'), ['python3', '-u', '-c', SENDER_PY, Buffer.from(payload).toString('hex'), '192.0.2.1', '0.05', '90'],
      { logPath: lab.path('master.log') });
    await master.waitForLine(/^sending$/, 10_000);
    const backup = lab.spawn(lab.node('b'), [process.execPath, CHILD, cfg, String(BLOCK_MS)], { logPath: lab.path('backup.log'), cwd: REPO_ROOT });
    const ctx = () => `\n--- backup ---\n${backup.tail(40)}\n--- master ---\n${master.tail(5)}`;
    const lines = () => childLines(backup);
    const transitions = () => lines().filter((l) => l.transition).map((l) => `${l.transition!.to}:${l.transition!.reason}`);
    await waitFor(() => lines().some((l) => l.started), { timeoutMs: 20_000, what: 'the backup to start' }).catch((e: Error) => { throw new Error(e.message + ctx()); });
    // It hears the master: BACKUP, and stays there.
    await sleep(1000);
    assert.deepEqual(transitions(), ['BACKUP:startup'], ctx());

    for (let i = 1; i <= BLOCKS; i++) {
      backup.signal('SIGUSR1');
      await waitFor(() => lines().filter((l) => l.blocked !== undefined).length >= i, { timeoutMs: 10_000, what: `block ${i}` })
        .catch((e: Error) => { throw new Error(e.message + ctx()); });
      await sleep(400);
    }
    const blocks = lines().filter((l) => l.blocked !== undefined).map((l) => l.blocked!);
    assert.ok(blocks.every((b) => b >= BLOCK_MS - 1), `the thread was blocked ${blocks.join(', ')} ms`);
    assert.deepEqual(transitions(), ['BACKUP:startup'], `took over from a live master after a block${ctx()}`);
    backup.signal('SIGUSR2');
    const stats = await waitFor(() => lines().find((l) => l.stats), { timeoutMs: 10_000, what: 'stats' });
    assert.deepEqual(stats.states, ['BACKUP']);
    // The deadline after each block read the adverts that had waited: ~BLOCK_MS / 50 ms each.
    assert.ok(stats.stats!.read_before_deadline >= BLOCKS * 3, `read before a deadline: ${stats.stats!.read_before_deadline}${ctx()}`);

    // The master dies: the backup takes over Master_Down_Interval after its last advert arrived.
    master.signal('SIGKILL');
    const master_ = await waitFor(() => lines().find((l) => l.transition?.to === 'MASTER'), { timeoutMs: 10_000, what: 'the takeover' })
      .catch((e: Error) => { throw new Error(e.message + ctx()); });
    assert.equal(master_.transition!.reason, 'master_down_timer');
    const after = master_.at! - master_.lastArrival!;
    assert.ok(after >= MDI - 0.5 && after <= MDI + 25, `took over ${after.toFixed(2)} ms after the last advert arrived (Master_Down_Interval ${MDI.toFixed(2)})${ctx()}`);
    backup.signal('SIGTERM');
    assert.ok(await backup.waitExit(10_000), `the backup did not stop${ctx()}`);
  } finally {
    await lab.destroy();
  }
});
