// virtual_routes / virtual_rules and global statics in the VRRP router, on the fake network port
// and a manual clock: installed after the VIPs when MASTER, removed before them when leaving it,
// put back when someone deletes a tracked one (not a no_track one), after a link comes back and
// after lost netlink events; a reload applies the difference; statics stay whatever the state
// and a clean stop removes only what tandem added.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { VrrpRouter, VrrpStartError } from '../../src/vrrp/router.js';
import { planReload } from '../../src/daemon/reloadPlan.js';
import { masterDownIntervalMs } from '../../src/vrrp/timers.js';
import { loadOk } from '../lib/config.js';
import { FakeVrrpNetwork, manualOneShot } from '../lib/fakeVrrpNetwork.js';
import { ManualTimers } from '../lib/manualTimers.js';

const takeover = Math.ceil(masterDownIntervalMs(2, 100, 100));

const instance = (routes: string, rules: string) => `vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 1
    advert_int: 1
    virtual_ipaddresses: [192.0.2.100/24]
    virtual_routes:
${routes}
    virtual_rules:
${rules}`;
const ROUTES = '      - 198.51.100.0/24 via 10.0.0.1 dev eth0 table 100 src 192.0.2.100\n      - blackhole 203.0.113.0/24 no_track\n';
const RULES = '      - from 192.0.2.100 table 100 priority 100\n';

function rig(text: string, before?: (net: FakeVrrpNetwork) => void) {
  const timers = new ManualTimers(0);
  const net = new FakeVrrpNetwork(timers).addLink('eth0', ['10.0.0.5/24']).addLink('eth1', ['10.0.1.5/24']);
  before?.(net);
  const lines: string[] = [];
  // One sequence of every address, route and rule change, to see their order.
  const seq: string[] = [];
  for (const m of ['addAddress', 'deleteAddress', 'addRoute', 'deleteRoute', 'addRule', 'deleteRule'] as const) {
    const orig = (net[m] as (...a: unknown[]) => string).bind(net);
    (net as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
      const out = orig(...a);
      if (out === 'added' || out === 'deleted') seq.push(`${m} ${typeof a[0] === 'string' ? a[1] : JSON.stringify((a[0] as { dst?: string; priority?: number }).dst ?? (a[0] as { priority: number }).priority)}`);
      return out;
    };
  }
  const log = createLogger({ write: (l: string) => { lines.push(l); } });
  const router = new VrrpRouter(loadOk(text), {
    net, timers, advertTimer: () => manualOneShot(timers), log,
    events: { changed: () => undefined, transition: () => undefined, groupTransition: () => undefined },
  });
  const state = () => router.snapshot().instances[0]?.state;
  const routeDsts = () => net.routes.map((r) => `${r.dst}/${r.dstLen}`).sort();
  return { timers, net, router, state, seq, lines, routeDsts };
}

const higherMaster = (r: ReturnType<typeof rig>) =>
  r.net.inject('eth0', '10.0.0.9', { version: 2, vrid: 1, priority: 200, advertIntCs: 100, addresses: ['192.0.2.100'] });

describe('VRRP router: virtual_routes and virtual_rules follow MASTER', () => {
  it('BACKUP holds none; MASTER adds the VIPs, then the routes, then the rules; leaving MASTER removes rules, routes, then VIPs', async () => {
    const r = rig(instance(ROUTES, RULES));
    r.router.start();
    await r.timers.runUntil(takeover - 10);
    assert.equal(r.state(), 'BACKUP');
    assert.equal(r.net.routes.length, 0);
    await r.timers.runUntil(takeover + 10);
    assert.equal(r.state(), 'MASTER');
    assert.deepEqual(r.seq, ['addAddress 192.0.2.100', 'addRoute "198.51.100.0"', 'addRoute "203.0.113.0"', 'addRule 100']);
    assert.deepEqual(r.net.routes.map((x) => [x.table, x.protocol, x.via, x.src, x.type]), [[100, 18, '10.0.0.1', '192.0.2.100', 'unicast'], [254, 3, undefined, undefined, 'blackhole']]);
    assert.deepEqual(r.net.rules.map((x) => [x.priority, x.from, x.table, x.protocol]), [[100, '192.0.2.100', 100, 18]]);
    r.seq.length = 0;
    higherMaster(r);
    assert.equal(r.state(), 'BACKUP');
    assert.deepEqual(r.seq, ['deleteRule 100', 'deleteRoute "198.51.100.0"', 'deleteRoute "203.0.113.0"', 'deleteAddress 192.0.2.100']);
    assert.deepEqual(r.net.routes, []);
    assert.deepEqual(r.net.rules, []);
  });

  it('a tracked route or rule deleted by someone else under a master is put back at once; a no_track one stays deleted until the next MASTER', async () => {
    const r = rig(instance(ROUTES, RULES));
    r.router.start();
    await r.timers.runUntil(takeover + 10);
    const [tracked, noTrack] = r.router.config.vrrpInstances[0]!.virtualRoutes.map((x) => x.spec);
    r.seq.length = 0;
    r.net.deleteRouteExternally(tracked!);
    assert.deepEqual(r.seq, ['addRoute "198.51.100.0"']);
    r.net.deleteRuleExternally(r.net.rules[0]!);
    assert.deepEqual(r.seq, ['addRoute "198.51.100.0"', 'addRule 100']);
    await Promise.resolve(); // the warning is logged after the dispatch (a microtask)
    assert.ok(r.lines.some((l) => l.includes('route 198.51.100.0/24 via 10.0.0.1 dev eth0 src 192.0.2.100 table 100 was deleted by someone else while MASTER; re-added')), r.lines.join('\n'));
    r.net.deleteRouteExternally(noTrack!);
    await r.timers.runUntil(takeover + 3000);
    assert.deepEqual(r.routeDsts(), ['198.51.100.0/24'], 'the no_track route is not put back');
    assert.equal(r.state(), 'MASTER', 'no state change');
    // Back to MASTER after a higher master went quiet: it is there again.
    higherMaster(r);
    const t = r.timers.now();
    await r.timers.runUntil(t + takeover + 10);
    assert.equal(r.state(), 'MASTER');
    assert.deepEqual(r.routeDsts(), ['198.51.100.0/24', '203.0.113.0/24']);
  });

  it('a BACKUP does not put back a route deleted under it (it holds none)', async () => {
    const r = rig(instance(ROUTES, RULES));
    r.router.start();
    await r.timers.runUntil(takeover + 10);
    const spec = r.net.routes[0]!;
    higherMaster(r);
    r.net.addRoute(spec); // the operator adds it by hand on the backup, then deletes it
    r.seq.length = 0;
    r.net.deleteRouteExternally(spec);
    assert.deepEqual(r.seq, []);
  });

  it('one route that cannot be added does not keep the others away, and the master stays MASTER', async () => {
    const r = rig(instance(ROUTES, RULES), (net) => net.refuseRoutes.add('198.51.100.0/24 via 10.0.0.1 dev eth0 src 192.0.2.100 table 100'));
    r.router.start();
    await r.timers.runUntil(takeover + 10);
    assert.equal(r.state(), 'MASTER');
    assert.deepEqual(r.routeDsts(), ['203.0.113.0/24']);
    assert.equal(r.net.rules.length, 1);
    assert.ok(r.lines.some((l) => l.includes('adding route 198.51.100.0/24 via 10.0.0.1 dev eth0 src 192.0.2.100 table 100 failed: Network is unreachable')), r.lines.join('\n'));
  });

  it('a no_track route through a link that went down (the kernel drops it, IPv4 without an event) comes back when the link does', async () => {
    // no_track: its interface is not tracked, so the master stays MASTER meanwhile.
    const r = rig(instance(`${ROUTES}      - 198.51.100.192/27 via 10.0.1.1 dev eth1 no_track\n`, RULES));
    r.router.start();
    await r.timers.runUntil(takeover + 10);
    r.net.flushRoutesVia('eth1');
    r.net.setLink('eth1', false);
    assert.equal(r.state(), 'MASTER');
    assert.deepEqual(r.routeDsts(), ['198.51.100.0/24', '203.0.113.0/24']);
    r.net.setLink('eth1', true);
    assert.deepEqual(r.routeDsts(), ['198.51.100.0/24', '198.51.100.192/27', '203.0.113.0/24']);
    assert.equal(r.state(), 'MASTER');
  });

  it('a tracked route\'s interface is tracked as keepalived does: down is FAULT (routes and VIPs go), up is MASTER again with them', async () => {
    const r = rig(instance(`${ROUTES}      - 198.51.100.192/27 via 10.0.1.1 dev eth1\n`, RULES));
    r.router.start();
    await r.timers.runUntil(takeover + 10);
    assert.equal(r.state(), 'MASTER');
    r.net.flushRoutesVia('eth1');
    r.net.setLink('eth1', false);
    assert.equal(r.state(), 'FAULT');
    assert.deepEqual(r.net.routes.length + r.net.rules.length, 0);
    assert.equal(r.net.has('eth0', '192.0.2.100'), false);
    r.net.setLink('eth1', true);
    const t = r.timers.now();
    await r.timers.runUntil(t + takeover + 10);
    assert.equal(r.state(), 'MASTER');
    assert.deepEqual(r.routeDsts(), ['198.51.100.0/24', '198.51.100.192/27', '203.0.113.0/24']);
  });

  it('a route through an interface that does not exist refuses the start, as keepalived refuses the route', () => {
    const r = rig(instance(`${ROUTES}      - 198.51.100.192/27 via 10.0.9.1 dev eth9\n`, RULES));
    assert.throws(() => r.router.start(), (e) => e instanceof VrrpStartError && /interface eth9 does not exist/.test(e.message));
  });

  it('after lost netlink events (ENOBUFS) the tracked routes and rules are read back and the missing ones put back', async () => {
    const r = rig(instance(ROUTES, RULES));
    r.router.start();
    await r.timers.runUntil(takeover + 10);
    // Gone without an event (lost).
    r.net.routes.splice(0, 1);
    r.net.rules.splice(0, 1);
    r.router.onWatchError(Object.assign(new Error('ENOBUFS'), { code: 'ENOBUFS' }));
    assert.deepEqual(r.routeDsts(), ['198.51.100.0/24', '203.0.113.0/24']);
    assert.equal(r.net.rules.length, 1);
  });

  it('a reload of a master applies the difference: a removed route goes, a new one comes, an unchanged one is untouched', async () => {
    const r = rig(instance(ROUTES, RULES));
    r.router.start();
    await r.timers.runUntil(takeover + 10);
    r.seq.length = 0;
    const next = loadOk(instance('      - 198.51.100.0/24 via 10.0.0.1 dev eth0 table 100 src 192.0.2.100\n      - 198.51.100.32/27 via 10.0.0.2 dev eth0\n', '      - from 192.0.2.100 table 100 priority 101\n'));
    r.router.reconfigure(next, planReload(r.router.config, next).vrrp);
    assert.deepEqual(r.seq, ['deleteRule 100', 'deleteRoute "203.0.113.0"', 'addRoute "198.51.100.32"', 'addRule 101']);
    assert.deepEqual(r.routeDsts(), ['198.51.100.0/24', '198.51.100.32/27']);
    assert.equal(r.state(), 'MASTER');
  });

  it('a graceful stop removes them', async () => {
    const r = rig(instance(ROUTES, RULES));
    r.router.start();
    await r.timers.runUntil(takeover + 10);
    r.router.stop();
    assert.deepEqual(r.net.routes, []);
    assert.deepEqual(r.net.rules, []);
  });
});

const STATICS = `global:
  static_ipaddress: [203.0.113.5/24 dev eth1]
  static_routes: [198.51.100.0/24 via 10.0.1.1 dev eth1]
  static_rules: [from 203.0.113.5 table 7 priority 7]
`;

describe('VRRP router: global statics', () => {
  it('present at start without any instance, whatever the VRRP state; put back when deleted; a stop removes what tandem added only', () => {
    const r = rig(STATICS, (net) => net.addRule({ family: 4, from: '203.0.113.5', fromLen: 32, table: 7, action: 'table', priority: 7, protocol: 18 }));
    r.router.start();
    assert.ok(r.net.has('eth1', '203.0.113.5'));
    assert.deepEqual(r.routeDsts(), ['198.51.100.0/24']);
    assert.equal(r.net.rules.length, 1, 'the rule was there already');
    r.net.deleteExternally('eth1', '203.0.113.5');
    assert.ok(r.net.has('eth1', '203.0.113.5'), 'address put back');
    r.net.deleteRouteExternally(r.net.routes[0]!);
    assert.deepEqual(r.routeDsts(), ['198.51.100.0/24'], 'route put back');
    r.router.stop();
    assert.equal(r.net.has('eth1', '203.0.113.5'), false);
    assert.deepEqual(r.net.routes, []);
    assert.equal(r.net.rules.length, 1, 'the operator\'s rule stays');
  });

  it('a reload removes the statics that left the config and adds the new ones', () => {
    const r = rig(STATICS);
    r.router.start();
    const next = loadOk('global:\n  static_routes: [198.51.100.32/27 via 10.0.1.1 dev eth1]\n');
    r.router.reconfigure(next, planReload(r.router.config, next).vrrp);
    assert.equal(r.net.has('eth1', '203.0.113.5'), false);
    assert.deepEqual(r.routeDsts(), ['198.51.100.32/27']);
    assert.deepEqual(r.net.rules, []);
  });
});
