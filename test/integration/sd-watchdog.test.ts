// The systemd watchdog against a real `tandem run` in a network namespace, with a python3
// NOTIFY_SOCKET standing in for systemd (test/lib/sdNotifyListener.ts) and WATCHDOG_USEC set as
// systemd sets it for WatchdogSec=: WATCHDOG=1 comes after READY=1 every WATCHDOG_USEC / 2; it
// stops while the process is stopped (SIGSTOP: its loop cannot run, which is what systemd must
// notice) and comes back on SIGCONT; SIGTERM still stops the daemon cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Lab, requireTools, sleep } from '../lib/netns.js';
import { NotifyListener } from '../lib/sdNotifyListener.js';
import { REPO_ROOT, TANDEM_BIN, renderTandemConfig, requireTandemBuilt } from '../lib/tandem.js';

const WATCHDOG_USEC = 400_000;
const INTERVAL_MS = WATCHDOG_USEC / 2000;

test(`WATCHDOG=1 every ${INTERVAL_MS} ms (WATCHDOG_USEC=${WATCHDOG_USEC}) after READY=1, none while SIGSTOPped, again after SIGCONT`, { timeout: 120_000 }, async () => {
  requireTools('python3');
  requireTandemBuilt();
  const lab = await Lab.create({ prefix: 'tW', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }] });
  let listener: NotifyListener | undefined;
  try {
    const node = lab.node('lb1');
    const statePath = lab.path('state.json');
    const configPath = lab.path('tandem.yaml');
    writeFileSync(configPath, renderTandemConfig({
      routerId: 'lb1',
      instances: [{ name: 'VI_1', vrid: 51, version: 3, priority: 100, advertInt: 1, vips: ['192.0.2.100/24'] }],
      tandemTop: { global: { status_socket: lab.path('tandem.sock') } },
    }));
    listener = await NotifyListener.start(lab.path('notify.sock'));
    const l = listener;
    const proc = lab.spawn(node, [process.execPath, TANDEM_BIN, 'run', '-f', configPath, '--state-file', statePath], {
      logPath: lab.path('tandem.log'), cwd: REPO_ROOT,
      env: { ...process.env, NOTIFY_SOCKET: l.socketPath, WATCHDOG_USEC: String(WATCHDOG_USEC) },
    });
    const ctx = () => `\n--- notify ---\n${l.messages.map((m) => `${m.at.toFixed(1)} ${m.raw}`).join('\n')}\n--- log ---\n${proc.tail()}`;
    const pings = () => l.messages.filter((m) => m.fields.WATCHDOG === '1');
    const ready = await l.waitFor((m) => m.fields.READY === '1', 20_000, 'READY=1').catch((e: Error) => { throw new Error(e.message + ctx()); });
    assert.ok(l.messages.slice(0, ready).every((m) => !('WATCHDOG' in m.fields)), `WATCHDOG=1 before READY=1${ctx()}`);
    assert.match(proc.tail(), new RegExp(`watchdog: WATCHDOG=1 every ${INTERVAL_MS} ms`), ctx());

    // The cadence: about every INTERVAL_MS, and never a gap near WATCHDOG_USEC.
    await sleep(2500);
    const running = pings().map((m) => m.at);
    assert.ok(running.length >= 10, `${running.length} pings in 2.5 s${ctx()}`);
    const gaps = running.slice(1).map((t, i) => t - running[i]!).sort((a, b) => a - b);
    const median = gaps[Math.floor(gaps.length / 2)]!;
    assert.ok(median >= INTERVAL_MS - 5 && median <= INTERVAL_MS + 30, `median gap ${median.toFixed(1)} ms${ctx()}`);
    assert.ok(gaps.at(-1)! < WATCHDOG_USEC / 1000, `a gap of ${gaps.at(-1)!.toFixed(1)} ms would have tripped systemd${ctx()}`);

    // Stopped, the loop cannot run: no ping for well over WATCHDOG_USEC.
    proc.signal('SIGSTOP');
    await sleep(100); // a datagram already sent may still be on its way to the listener
    const stoppedAt = pings().length;
    await sleep(1500);
    assert.equal(pings().length, stoppedAt, `WATCHDOG=1 while the process was stopped${ctx()}`);
    proc.signal('SIGCONT');
    await l.waitFor((m) => m.fields.WATCHDOG === '1', 5000, 'WATCHDOG=1 after SIGCONT', l.messages.length)
      .catch((e: Error) => { throw new Error(e.message + ctx()); });
    assert.ok(proc.running, ctx());

    proc.signal('SIGTERM');
    assert.ok(await proc.waitExit(15_000), `tandem did not exit after SIGTERM${ctx()}`);
    assert.equal(proc.exitCode, 0, ctx());
  } finally {
    listener?.close();
    await lab.destroy();
  }
});
