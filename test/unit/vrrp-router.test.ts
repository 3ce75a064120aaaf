// The VRRP router (src/vrrp/router.ts) on the fake network port and a manual clock: what leaves
// the box (adverts, VIPs, GARPs) and when, for takeover, handover, VIP re-add, split brain,
// sync groups, tracker weights, reloads that keep state, and adverts that do not leave.
// No root, no sleeping: every time below is on the manual clock.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { planReload } from '../../src/daemon/reloadPlan.js';
import type { TrackerState } from '../../src/track/priority.js';
import { VrrpRouter } from '../../src/vrrp/router.js';
import { masterDownIntervalMs, skewTimeMs } from '../../src/vrrp/timers.js';
import { FAILED_ADVERTS_TO_FAULT, SEND_FAULT_HOLD_MS } from '../../src/vrrp/sendHealth.js';
import { loadOk } from '../lib/config.js';
import { FakeVrrpNetwork, manualOneShot } from '../lib/fakeVrrpNetwork.js';
import { ManualTimers } from '../lib/manualTimers.js';

const quiet = createLogger({ write: () => undefined });

const instance = (name: string, ifname: string, vrid: number, priority: number, vips: string[], extra = '') =>
  `  - { name: ${name}, interface: ${ifname}, virtual_router_id: ${vrid}, priority: ${priority}, advert_int: 1, ` +
  `virtual_ipaddresses: [${vips.join(', ')}]${extra} }\n`;
const one = (priority = 100, vips = ['192.0.2.100/24'], extra = '') => `vrrp_instances:\n${instance('VI_1', 'eth0', 1, priority, vips, extra)}`;

/** v2, advert_int 1 s: Master_Down_Interval for priority p. */
const down = (p: number) => masterDownIntervalMs(2, p, 100);

function rig(text: string, trackers?: Record<string, TrackerState[]>) {
  const timers = new ManualTimers(0);
  const net = new FakeVrrpNetwork(timers).addLink('eth0', ['10.0.0.5/24']).addLink('eth1', ['10.0.1.5/24']);
  const transitions: string[] = [];
  const groups: string[] = [];
  const router = new VrrpRouter(loadOk(text), {
    net, timers, advertTimer: () => manualOneShot(timers), log: quiet,
    events: {
      changed: () => undefined,
      transition: (name, _from, to, reason) => transitions.push(`${name}:${to}:${reason}@${timers.now()}`),
      groupTransition: (name, _from, to) => groups.push(`${name}:${to}`),
    },
    ...(trackers ? { trackers: { stateFor: (n: string) => trackers[n] ?? [] } } : {}),
  });
  const state = (name = 'VI_1') => router.snapshot().instances.find((i) => i.name === name)!.state;
  /** Runs the clock to `t` (absolute ms) in 10 ms steps, letting the microtasks the router queues
   *  (sync group orders, send faults) run between steps. */
  const until = (t: number) => timers.runUntil(t);
  /** A peer's adverts on eth0 every second from `from` to `to` (absolute ms). */
  const peer = async (src: string, priority: number, from: number, to: number, vrid = 1, ifname = 'eth0') => {
    for (let t = from; t <= to; t += 1000) {
      await until(t);
      net.inject(ifname, src, { version: 2, vrid, priority, advertIntCs: 100, addresses: ['192.0.2.100'] });
    }
  };
  return { timers, net, router, transitions, groups, state, until, peer };
}

describe('VRRP router: takeover', () => {
  it('a backup that hears nothing for Master_Down_Interval becomes master: VIPs, an advert and GARPs, in that moment', async () => {
    const r = rig(one());
    r.router.start();
    assert.equal(r.state(), 'BACKUP');
    const at = down(100); // 3609.375 ms
    await r.until(Math.floor(at));
    assert.equal(r.state(), 'BACKUP', 'not before Master_Down_Interval');
    assert.equal(r.net.has('eth0', '192.0.2.100'), false);
    assert.equal(r.net.sent.length, 0);
    await r.until(Math.ceil(at));
    assert.equal(r.state(), 'MASTER');
    assert.deepEqual(r.transitions, ['VI_1:BACKUP:startup@0', `VI_1:MASTER:master_down_timer@${at}`]);
    assert.ok(r.net.has('eth0', '192.0.2.100'));
    assert.deepEqual(r.net.sent.map((s) => [s.at, s.src, s.dst, s.advert.vrid, s.advert.priority, s.advert.addresses]),
      [[at, '10.0.0.5', '224.0.0.18', 1, 100, ['192.0.2.100']]]);
    // garp_master_repeat 5 (the default), at the takeover itself.
    assert.deepEqual(r.net.announced.map((a) => `${a.kind} ${a.ip}@${a.at}`), Array(5).fill(`garp 192.0.2.100@${at}`));
    // Then one advert per advert_int.
    await r.until(at + 3000);
    assert.deepEqual(r.net.sent.map((s) => s.at), [at, at + 1000, at + 2000, at + 3000]);
  });

  it('a backup that hears a higher master stays backup, with no VIP and no advert', async () => {
    const r = rig(one());
    r.router.start();
    await r.peer('10.0.0.9', 200, 0, 20_000);
    assert.equal(r.state(), 'BACKUP');
    assert.equal(r.router.snapshot().instances[0]!.master_ip, '10.0.0.9');
    assert.equal(r.net.sent.length, 0);
    assert.equal(r.net.has('eth0', '192.0.2.100'), false);
    assert.equal(r.router.stats.accepted, 21);
  });
});

describe('VRRP router: graceful handover', () => {
  it("the master's priority 0 advert makes the backup take over after Skew_Time, not Master_Down_Interval", async () => {
    const r = rig(one());
    r.router.start();
    await r.peer('10.0.0.9', 200, 0, 5000);
    await r.until(5500);
    r.net.inject('eth0', '10.0.0.9', { version: 2, vrid: 1, priority: 0, advertIntCs: 100, addresses: ['192.0.2.100'] });
    const at = 5500 + skewTimeMs(2, 100, 100); // 5500 + 609.375
    await r.until(Math.floor(at));
    assert.equal(r.state(), 'BACKUP');
    await r.until(Math.ceil(at));
    assert.equal(r.state(), 'MASTER');
    assert.equal(r.transitions.at(-1), `VI_1:MASTER:master_down_timer@${at}`);
    assert.ok(r.net.has('eth0', '192.0.2.100'));
  });

  it('a master answers a priority 0 advert at once; stopping sends its own priority 0 and removes the VIPs', async () => {
    const r = rig(one());
    r.router.start();
    await r.until(4000);
    assert.equal(r.state(), 'MASTER');
    const before = r.net.sent.length;
    await r.until(4200);
    r.net.inject('eth0', '10.0.0.9', { version: 2, vrid: 1, priority: 0, advertIntCs: 100, addresses: ['192.0.2.100'] });
    assert.deepEqual(r.net.sent.slice(before).map((s) => [s.at, s.advert.priority]), [[4200, 100]]);
    r.router.stop();
    assert.deepEqual(r.net.sent.at(-1)!.advert.priority, 0);
    assert.equal(r.net.has('eth0', '192.0.2.100'), false);
    assert.equal(r.state(), 'INIT');
  });
});

describe('VRRP router: VIP re-add', () => {
  it('a VIP deleted under a master (an address event) is added back; under a backup it is left alone', async () => {
    const r = rig(one(100, ['192.0.2.100/24', '192.0.2.101/24']));
    r.router.start();
    r.net.addAddress('eth0', '192.0.2.101', 24); // a backup's stale VIP is not re-added on delete
    r.net.deleteExternally('eth0', '192.0.2.101');
    assert.equal(r.net.has('eth0', '192.0.2.101'), false);
    await r.until(4000);
    assert.equal(r.state(), 'MASTER');
    const ops = r.net.addressOps.length;
    await r.until(4500);
    r.net.deleteExternally('eth0', '192.0.2.101');
    assert.ok(r.net.has('eth0', '192.0.2.101'), 'put back at once');
    assert.deepEqual(r.net.addressOps.slice(ops).map((o) => `${o.op} ${o.address}@${o.at}`), ['add 192.0.2.101@4500']);
    assert.equal(r.state(), 'MASTER');
  });
});

describe('VRRP router: split brain heals (RFC 5798 §6.4.3)', () => {
  const master = async () => {
    const r = rig(one());
    r.router.start();
    await r.until(4000);
    assert.equal(r.state(), 'MASTER');
    return r;
  };
  it('a master that hears an equal priority master with a higher address yields and removes its VIPs', async () => {
    const r = await master();
    r.net.inject('eth0', '10.0.0.9', { version: 2, vrid: 1, priority: 100, advertIntCs: 100, addresses: ['192.0.2.100'] });
    assert.equal(r.state(), 'BACKUP');
    assert.match(r.transitions.at(-1)!, /^VI_1:BACKUP:equal_priority_higher_ip@/);
    assert.equal(r.net.has('eth0', '192.0.2.100'), false);
  });
  it('a master that hears a higher priority yields; one that hears a lower one or a lower address stays and answers at once', async () => {
    const r = await master();
    for (const [src, priority] of [['10.0.0.2', 100], ['10.0.0.9', 50]] as const) {
      const sent = r.net.sent.length;
      const garps = r.net.announced.length;
      r.net.inject('eth0', src, { version: 2, vrid: 1, priority, advertIntCs: 100, addresses: ['192.0.2.100'] });
      assert.equal(r.state(), 'MASTER', `${src} priority ${priority}`);
      assert.deepEqual(r.net.sent.slice(sent).map((s) => [s.at, s.advert.priority]), [[4000, 100]], 'answered at once');
      assert.equal(r.net.announced.length - garps, 5, 'VIPs re-announced (garp_lower_prio_repeat)');
    }
    r.net.inject('eth0', '10.0.0.2', { version: 2, vrid: 1, priority: 101, advertIntCs: 100, addresses: ['192.0.2.100'] });
    assert.equal(r.state(), 'BACKUP');
    assert.match(r.transitions.at(-1)!, /^VI_1:BACKUP:higher_priority_advert@/);
  });
});

describe('VRRP router: sync groups', () => {
  const text = `vrrp_instances:\n${instance('VI_1', 'eth0', 1, 100, ['192.0.2.100/24'])}${instance('VI_2', 'eth1', 2, 50, ['198.51.100.100/24'])}` +
    'vrrp_sync_groups:\n  - { name: G, group: [VI_1, VI_2] }\n';

  it('one member taking over takes the other along before its own timer; one stepping down takes it back', async () => {
    const r = rig(text);
    r.router.start();
    assert.ok(down(100) < down(50));
    await r.until(down(100) + 10);
    assert.equal(r.state('VI_1'), 'MASTER');
    assert.equal(r.state('VI_2'), 'MASTER', 'followed VI_1, before its own Master_Down_Interval');
    assert.ok(r.transitions.some((t) => t.startsWith('VI_2:MASTER:sync_group@')), r.transitions.join(' '));
    assert.ok(r.net.has('eth1', '198.51.100.100'));
    assert.deepEqual(r.groups, ['G:BACKUP', 'G:MASTER']);
    await r.until(5000);
    r.net.inject('eth0', '10.0.0.9', { version: 2, vrid: 1, priority: 200, advertIntCs: 100, addresses: ['192.0.2.100'] });
    await r.until(5010);
    assert.equal(r.state('VI_1'), 'BACKUP');
    assert.equal(r.state('VI_2'), 'BACKUP');
    assert.ok(r.transitions.some((t) => t.startsWith('VI_2:BACKUP:sync_group@')), r.transitions.join(' '));
    assert.equal(r.net.has('eth1', '198.51.100.100'), false);
    assert.equal(r.groups.at(-1), 'G:BACKUP');
  });

  it('one member in FAULT (its interface down) takes the group to FAULT, and back to BACKUP when it comes up', async () => {
    const r = rig(text);
    r.router.start();
    await r.until(4000);
    assert.equal(`${r.state('VI_1')}/${r.state('VI_2')}`, 'MASTER/MASTER');
    r.net.setLink('eth1', false);
    await r.until(4010);
    assert.equal(`${r.state('VI_1')}/${r.state('VI_2')}`, 'FAULT/FAULT');
    assert.equal(r.groups.at(-1), 'G:FAULT');
    assert.equal(r.net.has('eth0', '192.0.2.100'), false, 'the healthy member gave its VIPs up too');
    assert.equal(r.net.sent.filter((s) => s.ifname === 'eth0').at(-1)!.advert.priority, 0, 'with a priority 0 advert');
    r.net.setLink('eth1', true);
    await r.until(4020);
    assert.equal(`${r.state('VI_1')}/${r.state('VI_2')}`, 'BACKUP/BACKUP');
  });
});

describe('VRRP router: tracker weights', () => {
  it('a tracker going down lowers the priority in the adverts; the master then yields to a peer that preempts it', async () => {
    const trackers: Record<string, TrackerState[]> = { VI_1: [{ kind: 'script', name: 'chk', weight: -30, up: true }] };
    const r = rig(one(), trackers);
    r.router.start();
    await r.until(4000);
    assert.equal(r.state(), 'MASTER');
    // A peer at 80 is lower: we stay master.
    r.net.inject('eth0', '10.0.0.9', { version: 2, vrid: 1, priority: 80, advertIntCs: 100, addresses: ['192.0.2.100'] });
    assert.equal(r.state(), 'MASTER');
    trackers.VI_1 = [{ kind: 'script', name: 'chk', weight: -30, up: false }];
    r.router.trackerChanged('VI_1');
    assert.equal(r.router.snapshot().instances[0]!.effective_priority, 70);
    await r.until(7000);
    // Adverts at takeover + 2 s and + 3 s (the takeover was at Master_Down_Interval).
    assert.deepEqual(r.net.advertsOn('eth0', 5000).map((s) => s.advert.priority), [70, 70]);
    r.net.inject('eth0', '10.0.0.9', { version: 2, vrid: 1, priority: 80, advertIntCs: 100, addresses: ['192.0.2.100'] });
    assert.equal(r.state(), 'BACKUP');
    assert.match(r.transitions.at(-1)!, /^VI_1:BACKUP:higher_priority_advert@/);
  });
});

describe('VRRP router: reload keeps state', () => {
  it('a kept master stays master; its VIPs change by the difference only, and only the new ones are announced', async () => {
    const oldText = one(100, ['192.0.2.100/24', '192.0.2.101/24']);
    const r = rig(oldText);
    r.router.start();
    await r.until(4000);
    assert.equal(r.state(), 'MASTER');
    const transitions = r.transitions.length;
    const ops = r.net.addressOps.length;
    const garps = r.net.announced.length;
    const next = loadOk(one(120, ['192.0.2.101/24', '192.0.2.102/24']));
    const plan = planReload(r.router.config, next);
    r.router.checkReconfigure(next, plan.vrrp);
    r.router.reconfigure(next, plan.vrrp);
    assert.equal(r.state(), 'MASTER');
    assert.equal(r.transitions.length, transitions, 'no transition');
    assert.deepEqual(r.net.addressOps.slice(ops).map((o) => `${o.op} ${o.address}`), ['del 192.0.2.100', 'add 192.0.2.102']);
    assert.deepEqual(new Set(r.net.announced.slice(garps).map((a) => a.ip)), new Set(['192.0.2.102']));
    await r.until(5000);
    const last = r.net.sent.at(-1)!.advert;
    assert.deepEqual([last.priority, last.addresses], [120, ['192.0.2.101', '192.0.2.102']]);
  });
});

describe('VRRP router: adverts that do not leave', () => {
  it(`${FAILED_ADVERTS_TO_FAULT} failed adverts in a row: FAULT, VIPs removed; after the hold, BACKUP and master again`, async () => {
    const r = rig(one());
    r.router.start();
    await r.until(4000);
    assert.equal(r.state(), 'MASTER');
    r.net.failSends = 'ENETDOWN: network is down';
    // The adverts after the takeover leave at down(100) + 1 s, + 2 s, ...: the Nth fails at + N s.
    const nth = down(100) + 1000 * FAILED_ADVERTS_TO_FAULT;
    await r.until(nth - 10);
    assert.equal(r.state(), 'MASTER', 'fewer failures are no fault');
    await r.until(nth + 10);
    assert.equal(r.state(), 'FAULT');
    assert.equal(r.net.has('eth0', '192.0.2.100'), false);
    const send = r.router.snapshot().instances[0]!.advert_send;
    assert.equal(send.fault?.reason, 'advert_send_failed');
    // The priority 0 advert of MASTER -> FAULT does not leave either.
    assert.equal(send.consecutive_failed, FAILED_ADVERTS_TO_FAULT + 1);
    r.net.failSends = null;
    const faultAt = r.timers.now();
    await r.until(faultAt + SEND_FAULT_HOLD_MS + 20);
    assert.equal(r.state(), 'BACKUP');
    assert.equal(r.router.snapshot().instances[0]!.advert_send.fault, null);
    await r.until(r.timers.now() + down(100) + 10);
    assert.equal(r.state(), 'MASTER');
    assert.ok(r.net.has('eth0', '192.0.2.100'));
  });
});
