// `tandem run` (src/daemon/run.ts) with fake parts, no root: the real VRRP router on the fake
// network port and a manual clock, recording fakes for alerts, trackers, the state file, systemd
// and the status server, and an emitter for the signals. What is checked is the daemon's own
// wiring: the start order (VRRP only after the trackers' first results; READY=1 last), what a
// SIGTERM does and in which order (VRRP's priority 0 advert first, STOP for every instance and
// group, everything closed, exit 0), SIGHUP reloads through the injected loader (a refusal keeps
// the running config), a VRRP start failure exits 1 after stopping what started, and a config
// error exits 2 before any part is built.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { loadConfigText, type LoadResult } from '../../src/config/load.js';
import type { AlertEvent } from '../../src/alert/events.js';
import type { AlertDispatcher } from '../../src/alert/dispatcher.js';
import type { Trackers } from '../../src/track/trackers.js';
import type { StatusServer, StatusServerOptions } from '../../src/api/statusServer.js';
import type { DaemonStatus } from '../../src/api/status.js';
import type { Daemon } from '../../src/daemon/compose.js';
import { runDaemon } from '../../src/daemon/run.js';
import { VrrpRouter } from '../../src/vrrp/router.js';
import { masterDownIntervalMs } from '../../src/vrrp/timers.js';
import { FakeVrrpNetwork, manualOneShot } from '../lib/fakeVrrpNetwork.js';
import { ManualTimers } from '../lib/manualTimers.js';

const quiet = createLogger({ write: () => undefined });

const config = (priority: number, ifname = 'eth0', extra = '') => `global:
  router_id: lb1
vrrp_sync_groups:
  - { name: G, group: [VI_1, VI_2] }
vrrp_instances:
  - { name: VI_1, interface: ${ifname}, virtual_router_id: 1, priority: ${priority}, advert_int: 1, virtual_ipaddresses: [192.0.2.100/24]${extra} }
  - { name: VI_2, interface: ${ifname}, virtual_router_id: 2, priority: ${priority}, advert_int: 1, virtual_ipaddresses: [192.0.2.101/24]${extra} }
`;

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-run-'));
  dirs.push(dir);
  const file = join(dir, 'tandem.yaml');
  writeFileSync(file, text);
  return file;
}

/** Lets the promise callbacks and immediates of the current step run. */
const settle = async (turns = 5) => { for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r)); };

function rig(opts: { reload?: () => LoadResult; duringLate?: (signals: EventEmitter) => void } = {}) {
  const timers = new ManualTimers(0);
  const net = new FakeVrrpNetwork(timers).addLink('eth0', ['10.0.0.5/24']);
  const calls: string[] = [];
  /** The systemd watchdog's start and stop, with the call each came after. */
  const watchdog: string[] = [];
  const alerts: AlertEvent[] = [];
  let status: Omit<StatusServerOptions, 'now'> | undefined;
  const built: string[] = [];
  /** Every alert the dispatcher was handed, in order, marked if it came before its start(). */
  const handled: string[] = [];
  let alertsStarted = false;
  const describe = (e: AlertEvent) => (e.type === 'vrrp_instance' ? `${e.instance} ${e.previous}->${e.state}` : e.type === 'vrrp_group' ? `group ${e.group} ${e.previous}->${e.state}` : e.type);
  const signals = new EventEmitter();
  const parts: Daemon = {
    timers,
    hasIpvs: () => false,
    vrrp: (config, log, events, trackers) => {
      built.push('vrrp');
      return new VrrpRouter(config, { net, timers, advertTimer: () => manualOneShot(timers), log, events, trackers });
    },
    trackers: () => {
      built.push('trackers');
      return {
        start: () => { calls.push('trackers.start'); },
        ready: async () => { calls.push('trackers.ready'); },
        stop: () => { calls.push('trackers.stop'); },
        reconfigure: () => { calls.push('trackers.reconfigure'); },
        stateFor: () => [],
        snapshot: () => [],
      } as unknown as Trackers;
    },
    systemd: () => ({
      ready: () => { calls.push('systemd.ready'); },
      reloading: () => { calls.push('systemd.reloading'); },
      stopping: () => { calls.push('systemd.stopping'); },
      status: () => undefined,
      watchdog: () => { watchdog.push(`start after ${calls.at(-1)}`); return { intervalMs: 1000, stop: () => { watchdog.push(`stop after ${calls.at(-1)}`); } }; },
    }),
    openFileLimit: () => 1024,
    late: async () => {
      // What the start had sent when the late parts were asked for (the first adverts go first).
      calls.push(`late (${net.sent.length} advert(s) sent)`);
      opts.duringLate?.(signals);
      return {
        alerts: () => {
          built.push('alerts');
          return {
            start: () => { calls.push('alerts.start'); alertsStarted = true; },
            handle: (e: AlertEvent) => { alerts.push(e); handled.push(`${alertsStarted ? '' : 'BEFORE START '}${describe(e)}`); },
            reconfigure: () => { calls.push('alerts.reconfigure'); },
            stop: async (grace?: number) => { calls.push(`alerts.stop ${grace ?? 'default'}`); },
            snapshot: () => ({ events: alerts.length }),
          } as unknown as AlertDispatcher;
        },
        lb: () => { throw new Error('no virtual servers here: the LB service must not be built'); },
        statusServer: (o: Omit<StatusServerOptions, 'now'>) => {
          built.push('statusServer');
          status = o;
          return {
            start: async () => { calls.push('status.start'); },
            stop: async () => { calls.push('status.stop'); },
          } as unknown as StatusServer;
        },
        stateFile: () => ({
          changed: () => undefined,
          flush: async () => { calls.push('state.flush'); },
          close: () => { calls.push('state.close'); },
        }),
        previouslyOwned: () => [],
        loadConfig: async () => {
          calls.push('load');
          if (!opts.reload) throw new Error('no reload expected');
          return opts.reload();
        },
      };
    },
  };
  const snapshot = (): DaemonStatus => (status?.snapshot() as DaemonStatus);
  const states = () => snapshot().instances.map((i) => `${i.name}:${i.state}`);
  const until = (t: number) => timers.runUntil(t);
  return { timers, net, calls, watchdog, alerts, handled, built, parts, signals, snapshot, states, until };
}

describe('tandem run with fake parts', () => {
  it('starts in order, takes over on the manual clock, and a SIGTERM stops VRRP first, sends STOP for every instance and group, closes everything, exits 0', async () => {
    const r = rig();
    const done = runDaemon({ configFile: configFile(config(100)), log: quiet, parts: r.parts, signals: r.signals });
    await settle();
    // VRRP starts only after the trackers' first results; the late parts (alerts, state file,
    // status API) after VRRP; READY=1 comes last.
    assert.deepEqual(r.calls, ['trackers.start', 'trackers.ready', 'late (0 advert(s) sent)', 'alerts.start', 'state.flush', 'status.start', 'systemd.ready']);
    assert.deepEqual(r.states(), ['VI_1:BACKUP', 'VI_2:BACKUP']);
    assert.equal(r.signals.listenerCount('SIGTERM'), 1);

    await r.until(Math.ceil(masterDownIntervalMs(2, 100, 100)) + 10);
    assert.deepEqual(r.states(), ['VI_1:MASTER', 'VI_2:MASTER']);
    const masters = r.alerts.filter((e) => e.type === 'vrrp_instance' && e.state === 'MASTER').map((e) => e.type === 'vrrp_instance' && e.instance);
    assert.deepEqual(masters.sort(), ['VI_1', 'VI_2'], 'the notify events of the takeover reached the dispatcher');
    assert.ok(r.net.has('eth0', '192.0.2.100') && r.net.has('eth0', '192.0.2.101'));

    r.calls.length = 0;
    const sentBefore = r.net.sent.length;
    r.signals.emit('SIGTERM');
    assert.deepEqual(r.net.sent.slice(sentBefore).map((s) => `${s.advert.vrid}:${s.advert.priority}`).sort(), ['1:0', '2:0'],
      'the priority 0 adverts left in the signal handler itself, before anything else was awaited');
    assert.equal(r.net.has('eth0', '192.0.2.100'), false, 'VIPs removed at once');
    assert.equal(await done, 0);
    const stops = r.alerts.filter((e) => (e.type === 'vrrp_instance' || e.type === 'vrrp_group') && e.state === 'STOP')
      .map((e) => (e.type === 'vrrp_instance' ? `instance ${e.instance}` : e.type === 'vrrp_group' ? `group ${e.group}` : ''));
    assert.deepEqual(stops, ['instance VI_1', 'instance VI_2', 'group G'], 'keepalived notify_shutdown(): every instance, then every group');
    assert.deepEqual(r.calls, ['systemd.stopping', 'trackers.stop', 'status.stop', 'alerts.stop default', 'state.flush', 'state.close']);
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) assert.equal(r.signals.listenerCount(s), 0, `${s} handler removed`);
  });

  it('a MASTER sends its first adverts before the late parts are built; the transitions raised meanwhile reach the dispatcher once each, in order, after its start', async () => {
    const r = rig();
    const done = runDaemon({ configFile: configFile(config(255, 'eth0', ', state: MASTER')), log: quiet, parts: r.parts, signals: r.signals });
    await settle();
    assert.deepEqual(r.states(), ['VI_1:MASTER', 'VI_2:MASTER'], 'priority 255: the address owner is MASTER at once');
    assert.deepEqual(r.calls, ['trackers.start', 'trackers.ready', 'late (2 advert(s) sent)', 'alerts.start', 'state.flush', 'status.start', 'systemd.ready']);
    assert.deepEqual(r.built, ['trackers', 'vrrp', 'alerts', 'statusServer'], 'nothing late is built before VRRP has started');
    assert.deepEqual(r.handled, ['VI_1 INIT->MASTER', 'VI_2 INIT->MASTER', 'group G null->MASTER']);
    r.signals.emit('SIGTERM');
    assert.equal(await done, 0);
  });

  it('a SIGTERM while the late parts are being built is held, then stops gracefully once they are up (priority 0 adverts, exit 0)', async () => {
    const r = rig({ duringLate: (signals) => { signals.emit('SIGTERM'); } });
    const done = runDaemon({ configFile: configFile(config(255, 'eth0', ', state: MASTER')), log: quiet, parts: r.parts, signals: r.signals });
    await settle(20);
    assert.equal(r.calls.at(-1), 'state.close', `the held SIGTERM stopped the daemon: ${r.calls.join(', ')}`);
    assert.equal(await done, 0);
    assert.deepEqual(r.net.sent.map((s) => `${s.advert.vrid}:${s.advert.priority}`).sort(), ['1:0', '1:255', '2:0', '2:255']);
    assert.equal(r.net.has('eth0', '192.0.2.100'), false, 'VIPs removed');
    assert.deepEqual(r.calls.slice(0, 4), ['trackers.start', 'trackers.ready', 'late (2 advert(s) sent)', 'alerts.start']);
    assert.ok(r.calls.includes('systemd.stopping') && r.calls.at(-1) === 'state.close', r.calls.join(', '));
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) assert.equal(r.signals.listenerCount(s), 0, `${s} handler removed`);
  });

  it('the systemd watchdog starts right after READY=1 and stops when the stop has finished', async () => {
    const r = rig();
    const done = runDaemon({ configFile: configFile(config(100)), log: quiet, parts: r.parts, signals: r.signals });
    await settle();
    assert.deepEqual(r.watchdog, ['start after systemd.ready']);
    r.signals.emit('SIGTERM');
    assert.equal(await done, 0);
    assert.deepEqual(r.watchdog, ['start after systemd.ready', 'stop after state.close']);
  });

  it('SIGHUP reloads through the injected loader: a refusal keeps the running config and is counted; an accepted one applies and is counted', async () => {
    let next: LoadResult = { ok: false, errors: [{ file: 'tandem.yaml', line: 3, col: 5, message: 'priority: must be 1-254', path: 'x' } as never], warnings: [] };
    const r = rig({ reload: () => next });
    const done = runDaemon({ configFile: configFile(config(100)), log: quiet, parts: r.parts, signals: r.signals });
    await settle();
    r.calls.length = 0;

    r.signals.emit('SIGHUP');
    await settle(10);
    assert.deepEqual(r.calls.slice(0, 2), ['systemd.reloading', 'load']);
    let cfg = r.snapshot().config!;
    assert.deepEqual(cfg.reloads, { ok: 0, refused: 1 });
    assert.equal(cfg.last_reload?.ok, false);
    assert.match(cfg.last_reload?.errors.join('\n') ?? '', /must be 1-254/);
    assert.ok(!r.calls.includes('alerts.reconfigure'), 'a refused reload touches no part');

    const loaded = loadConfigText(config(150), 'tandem.yaml', { hostname: 'h' });
    assert.ok(loaded.ok);
    next = loaded;
    r.signals.emit('SIGHUP');
    await settle(10);
    cfg = r.snapshot().config!;
    assert.deepEqual(cfg.reloads, { ok: 1, refused: 1 });
    assert.equal(cfg.last_reload?.ok, true);
    assert.ok(r.calls.includes('alerts.reconfigure') && r.calls.includes('trackers.reconfigure'), r.calls.join(', '));
    assert.deepEqual(r.snapshot().instances.map((i) => i.priority), [150, 150], 'the new priority runs');

    r.signals.emit('SIGTERM');
    assert.equal(await done, 0);
  });

  it('a VRRP start failure (an interface this host lacks) exits 1 after stopping what had started', async () => {
    const r = rig();
    const code = await runDaemon({ configFile: configFile(config(100, 'eth9')), log: quiet, parts: r.parts, signals: r.signals });
    assert.equal(code, 1);
    assert.deepEqual(r.calls, ['trackers.start', 'trackers.ready', 'trackers.stop', 'late (0 advert(s) sent)', 'alerts.start', 'alerts.stop 0']);
    assert.equal(r.net.sent.length, 0);
    assert.equal(r.signals.listenerCount('SIGTERM'), 0, 'no signal handler left behind');
  });

  it('a config error exits 2 before any part is built', async () => {
    const r = rig();
    const code = await runDaemon({ configFile: configFile(config(300)), log: quiet, parts: r.parts, signals: r.signals });
    assert.equal(code, 2);
    assert.deepEqual(r.built, []);
    assert.deepEqual(r.calls, []);
  });
});
