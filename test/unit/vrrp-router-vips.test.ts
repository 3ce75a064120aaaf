// The VRRP router's VIP options on the fake network port and a manual clock: a VIP with `dev`
// is added, announced and watched on that interface; the options reach the port; a no_track VIP's
// deletion changes nothing; an instance without VIPs elects and advertises no address.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { VrrpRouter, VrrpStartError } from '../../src/vrrp/router.js';
import { planReload } from '../../src/daemon/reloadPlan.js';
import { masterDownIntervalMs } from '../../src/vrrp/timers.js';
import { loadOk } from '../lib/config.js';
import { FakeVrrpNetwork, manualOneShot } from '../lib/fakeVrrpNetwork.js';
import { ManualTimers } from '../lib/manualTimers.js';

const quiet = createLogger({ write: () => undefined });

function rig(vips: string, extra = '') {
  const timers = new ManualTimers(0);
  const net = new FakeVrrpNetwork(timers).addLink('eth0', ['10.0.0.5/24']).addLink('eth1', ['10.0.1.5/24']);
  const transitions: string[] = [];
  const config = loadOk(`vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    virtual_router_id: 1\n    advert_int: 1${extra}\n${vips}`);
  const router = new VrrpRouter(config, {
    net, timers, advertTimer: () => manualOneShot(timers), log: quiet,
    events: { changed: () => undefined, transition: (name, _f, to, reason) => transitions.push(`${name}:${to}:${reason}`), groupTransition: () => undefined },
  });
  const state = () => router.snapshot().instances[0]!.state;
  return { timers, net, router, transitions, state };
}
const takeover = masterDownIntervalMs(2, 100, 100);

describe('VRRP router: VIP options', () => {
  it('a VIP with dev goes on that interface with its options, and is announced there; the others on the instance\'s', async () => {
    const r = rig('    virtual_ipaddresses:\n      - 192.0.2.100/24\n      - "198.51.100.10/24 dev eth1 label eth1:vip scope link brd +"\n');
    r.router.start();
    await r.timers.runUntil(Math.ceil(takeover));
    assert.equal(r.state(), 'MASTER');
    assert.ok(r.net.has('eth0', '192.0.2.100'));
    assert.ok(r.net.has('eth1', '198.51.100.10'));
    assert.equal(r.net.has('eth0', '198.51.100.10'), false);
    const op = r.net.addressOps.find((o) => o.address === '198.51.100.10')!;
    assert.equal(op.ifname, 'eth1');
    assert.deepEqual({ ...op.opts }, { label: 'eth1:vip', scope: 253, broadcast: '198.51.100.255', peer: undefined, preferredLft: undefined, flags: undefined, dad: undefined });
    const on = (ifname: string) => r.net.announced.filter((a) => a.ifname === ifname).map((a) => a.ip);
    assert.deepEqual(on('eth0'), Array(5).fill('192.0.2.100'));
    assert.deepEqual(on('eth1'), Array(5).fill('198.51.100.10'));
    // The advert still carries both VIPs and leaves from eth0.
    assert.deepEqual(r.net.sent.map((s) => [s.ifname, s.advert.addresses]), [['eth0', ['192.0.2.100', '198.51.100.10']]]);
    r.router.stop();
    assert.equal(r.net.has('eth1', '198.51.100.10'), false, 'removed from eth1 at stop');
  });

  it('a VIP with dev deleted from its interface is put back there; the same address deleted elsewhere is not a VIP event', async () => {
    const r = rig('    virtual_ipaddresses:\n      - 192.0.2.100/24\n      - 198.51.100.10/24 dev eth1\n');
    r.router.start();
    await r.timers.runUntil(Math.ceil(takeover) + 500);
    r.net.addAddress('eth0', '198.51.100.10', 24); // not where the VIP lives
    const ops = r.net.addressOps.length;
    r.net.deleteExternally('eth0', '198.51.100.10');
    assert.deepEqual(r.net.addressOps.slice(ops).map((o) => `${o.op} ${o.ifname} ${o.address}`), []);
    r.net.deleteExternally('eth1', '198.51.100.10');
    assert.deepEqual(r.net.addressOps.slice(ops).map((o) => `${o.op} ${o.ifname} ${o.address}`), ['add eth1 198.51.100.10']);
    assert.equal(r.state(), 'MASTER');
  });

  it('a no_track VIP deleted under a master stays deleted and the state is kept; it comes back at the next MASTER', async () => {
    const r = rig('    virtual_ipaddresses:\n      - 192.0.2.100/24\n      - 192.0.2.101/24 no_track\n');
    r.router.start();
    await r.timers.runUntil(Math.ceil(takeover) + 500);
    const ops = r.net.addressOps.length;
    r.net.deleteExternally('eth0', '192.0.2.101');
    await r.timers.runUntil(Math.ceil(takeover) + 3000);
    assert.equal(r.net.has('eth0', '192.0.2.101'), false, 'not restored');
    assert.deepEqual(r.net.addressOps.slice(ops), []);
    assert.equal(r.state(), 'MASTER');
    assert.deepEqual(r.transitions, ['VI_1:BACKUP:startup', 'VI_1:MASTER:master_down_timer']);
    // A lost-events re-read (ENOBUFS) does not count it missing either.
    r.router.onWatchError(Object.assign(new Error('ENOBUFS'), { code: 'ENOBUFS' }));
    assert.equal(r.net.has('eth0', '192.0.2.101'), false);
    // A higher master, then silence: back to MASTER adds it again.
    const t = r.timers.now();
    r.net.inject('eth0', '10.0.0.9', { version: 2, vrid: 1, priority: 200, advertIntCs: 100, addresses: ['192.0.2.100', '192.0.2.101'] });
    assert.equal(r.state(), 'BACKUP');
    await r.timers.runUntil(t + Math.ceil(masterDownIntervalMs(2, 100, 100)) + 10);
    assert.equal(r.state(), 'MASTER');
    assert.ok(r.net.has('eth0', '192.0.2.101'), 'restored at the next transition to MASTER');
  });

  it('the directed broadcasts rejected as sources are this link\'s: a VIP on another dev adds none, a brd adds its own', () => {
    const r = rig('    virtual_ipaddresses:\n      - 192.0.2.100/24 brd 192.0.2.63\n      - 198.51.100.10/24 dev eth1\n');
    assert.deepEqual(r.router.vips.broadcastsOf(loadOk(`vrrp_instances:\n  - { name: A, interface: eth0, virtual_router_id: 1, virtual_ipaddresses: ["192.0.2.100/24 brd 192.0.2.63", "198.51.100.10/24 dev eth1"] }\n`).vrrpInstances[0]!).sort(),
      ['10.0.0.255', '192.0.2.255', '192.0.2.63']);
  });
});

describe('VRRP router: a VIP\'s dev must exist', () => {
  it('at start and at a reload that keeps the instance; a reload to a VIP on another existing dev moves it', async () => {
    assert.throws(() => rig('    virtual_ipaddresses: ["192.0.2.100/24 dev eth9"]\n').router.start(), (e) => e instanceof VrrpStartError && /interface eth9 does not exist/.test(e.message));
    const r = rig('    virtual_ipaddresses: [192.0.2.100/24]\n');
    r.router.start();
    await r.timers.runUntil(Math.ceil(takeover) + 100);
    const text = (dev: string) => `vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    virtual_router_id: 1\n    advert_int: 1\n    virtual_ipaddresses: ["192.0.2.100/24 dev ${dev}"]\n`;
    const bad = loadOk(text('eth9'));
    assert.throws(() => r.router.checkReconfigure(bad, planReload(r.router.config, bad).vrrp), /interface eth9 does not exist/);
    const next = loadOk(text('eth1'));
    r.router.reconfigure(next, planReload(r.router.config, next).vrrp);
    assert.equal(r.net.has('eth0', '192.0.2.100'), false, 'removed from eth0');
    assert.ok(r.net.has('eth1', '192.0.2.100'), 'added on eth1');
    assert.equal(r.state(), 'MASTER');
  });
});

describe('VRRP router: an instance without VIPs', () => {
  it('elects: becomes MASTER after Master_Down_Interval, sends adverts with no address, adds and announces nothing', async () => {
    const r = rig('');
    r.router.start();
    await r.timers.runUntil(Math.ceil(takeover) + 2000);
    assert.equal(r.state(), 'MASTER');
    assert.deepEqual(r.transitions, ['VI_1:BACKUP:startup', 'VI_1:MASTER:master_down_timer']);
    assert.ok(r.net.sent.length >= 3);
    assert.ok(r.net.sent.every((s) => s.advert.addresses.length === 0));
    assert.deepEqual(r.net.addressOps, []);
    assert.deepEqual(r.net.announced, []);
  });

  it('a 0-address advert from a higher peer keeps it BACKUP (accepted, not dropped)', async () => {
    const r = rig('');
    r.router.start();
    for (let t = 0; t <= 10_000; t += 1000) {
      await r.timers.runUntil(t);
      r.net.inject('eth0', '10.0.0.9', { version: 2, vrid: 1, priority: 200, advertIntCs: 100, addresses: [] });
    }
    assert.equal(r.state(), 'BACKUP');
    assert.equal(r.router.stats.accepted, 11);
  });
});
