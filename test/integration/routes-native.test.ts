// Routes and policy rules through the addon (native/rtnetlink_route.cc, net/routes.ts) and their
// events (net/netlinkWatch.ts) against the real kernel, as root: one lab namespace with eth0
// (203.0.113.1/24, 2001:db8:1::1/64) and eth1 (192.0.2.1/24, 2001:db8:2::1/64). The adapters
// run in a child inside it (routes-native-child.ts, JSON lines on stdin/stdout); every result
// is checked against `ip -j route show` / `ip -j rule show`, field by field. The lab (and its
// namespaces) is destroyed in after(), and by test/lib/netns.ts on exit or a signal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NsAgent, type AgentError } from '../lib/nsAgent.js';
import { fileURLToPath } from 'node:url';
import { Lab, requireLabTools, type LabNode } from '../lib/netns.js';
import type { RouteSpec, RuleSpec } from '../../src/net/routes.js';

const CHILD = fileURLToPath(new URL('./routes-native-child.js', import.meta.url));
const GW4 = '203.0.113.254';
const GW4B = '192.0.2.254';
const GW6 = '2001:db8:1::fe';
const GW6B = '2001:db8:2::fe';

// ---- the child ------------------------------------------------------------------------------

type ChildEvent = { event: string; id?: string; e?: NetEventJson; message?: string; code?: string };
type NetEventJson = { kind: string; op?: string; route?: Record<string, unknown>; rule?: Record<string, unknown>; [k: string]: unknown };
type ChildError = AgentError;

class Child extends NsAgent<ChildEvent> {
  constructor(ns: string) { super(ns, [CHILD]); }
}

// ---- helpers --------------------------------------------------------------------------------

let lab: Lab;
let node: LabNode;
let child: Child;

async function ip(...args: string[]): Promise<string> {
  return (await lab.exec(node, ['ip', ...args])).stdout;
}

async function ipJson<T = Array<Record<string, unknown>>>(...args: string[]): Promise<T> {
  return JSON.parse((await ip('-j', ...args)) || '[]') as T;
}

/** `ip -j [-6] route show table T`. */
function shownRoutes(family: 4 | 6, table: number): Promise<Array<Record<string, unknown>>> {
  return ipJson(...(family === 6 ? ['-6'] : []), 'route', 'show', 'table', String(table));
}

/** The entry of `ip -j [-6] rule show` with this priority, or undefined. */
async function shownRule(family: 4 | 6, priority: number): Promise<Record<string, unknown> | undefined> {
  const rules = await ipJson(...(family === 6 ? ['-6'] : []), 'rule', 'show');
  return rules.find((r) => r.priority === priority);
}

function route(over: Partial<RouteSpec>): RouteSpec {
  return { family: 4, dst: '198.51.100.0', dstLen: 24, table: 100, protocol: 18, scope: 0, type: 'unicast', ...over };
}

function rule(over: Partial<RuleSpec>): RuleSpec {
  return { family: 4, priority: 100, action: 'table', table: 100, protocol: 18, ...over };
}

const addRoute = (spec: RouteSpec) => child.call<string>('addRoute', { spec });
const deleteRoute = (spec: RouteSpec) => child.call<string>('deleteRoute', { spec });
const addRule = (spec: RuleSpec) => child.call<string>('addRule', { spec });
const deleteRule = (spec: RuleSpec) => child.call<string>('deleteRule', { spec });

before(async () => {
  requireLabTools();
  lab = await Lab.create({ prefix: 'tR', nodes: [{ name: 'r', ipv4: ['203.0.113.1/24'], ipv6: ['2001:db8:1::1/64'] }] });
  node = lab.node('r');
  await lab.addLocalLink(node, 'eth1');
  await lab.exec(node, ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'eth1']);
  await lab.exec(node, ['ip', '-6', 'addr', 'add', '2001:db8:2::1/64', 'dev', 'eth1', 'nodad']);
  child = new Child(node.ns);
  await child.waitEvent((e) => e.event === 'ready', 10_000, 'child ready');
});

after(async () => {
  await child?.stop();
  await lab?.destroy();
});

// ---- routes ---------------------------------------------------------------------------------

test('a via route in table 100 with metric 10: added, shown by ip as sent, exists, deleted, absent', async () => {
  const spec = route({ via: GW4, dev: 'eth0', metric: 10 });
  assert.equal(await addRoute(spec), 'added');
  assert.deepEqual(await shownRoutes(4, 100), [
    { dst: '198.51.100.0/24', gateway: GW4, dev: 'eth0', protocol: 'keepalived', metric: 10, flags: [] },
  ]);
  assert.deepEqual(await child.call('listRoutes', { family: 4, table: 100 }), [
    { family: 4, dst: '198.51.100.0', dstLen: 24, table: 100, protocol: 18, scope: 0, type: 'unicast', tos: 0, metric: 10, via: GW4, dev: 'eth0' },
  ]);
  assert.equal(await addRoute(spec), 'exists');
  assert.equal((await shownRoutes(4, 100)).length, 1, 'the second add made no second route');
  assert.equal(await deleteRoute(spec), 'deleted');
  assert.deepEqual(await shownRoutes(4, 100), []);
  assert.equal(await deleteRoute(spec), 'absent');
  assert.equal(await child.call('routeText', { spec }), '198.51.100.0/24 via 203.0.113.254 dev eth0 table 100 metric 10');
});

test('deleting our route leaves a route to the same dst with another metric (IPv4 with and without a metric, IPv6)', async () => {
  // Someone else's route: same dst, gateway, device and even protocol, metric 20.
  await ip('route', 'add', '198.51.100.0/24', 'via', GW4, 'dev', 'eth0', 'table', '100', 'metric', '20', 'proto', 'keepalived');
  const theirs = [{ dst: '198.51.100.0/24', gateway: GW4, dev: 'eth0', protocol: 'keepalived', metric: 20, flags: [] }];
  const ours = route({ via: GW4, dev: 'eth0', metric: 10 });
  assert.equal(await addRoute(ours), 'added');
  assert.equal(await deleteRoute(ours), 'deleted');
  assert.deepEqual(await shownRoutes(4, 100), theirs);
  assert.equal(await deleteRoute(ours), 'absent');
  assert.deepEqual(await shownRoutes(4, 100), theirs);
  // Without a metric (0): the kernel's delete would take the lowest-metric match, theirs.
  const unmetricked = route({ via: GW4, dev: 'eth0' });
  assert.equal(await deleteRoute(unmetricked), 'absent');
  assert.deepEqual(await shownRoutes(4, 100), theirs);
  assert.equal(await addRoute(unmetricked), 'added');
  assert.equal((await shownRoutes(4, 100)).length, 2);
  assert.equal(await deleteRoute(unmetricked), 'deleted');
  assert.deepEqual(await shownRoutes(4, 100), theirs);
  await ip('route', 'del', '198.51.100.0/24', 'table', '100', 'metric', '20');

  // IPv6: ours without a metric is 1024; theirs 2048.
  await ip('-6', 'route', 'add', '2001:db8:100::/48', 'via', GW6, 'dev', 'eth0', 'table', '100', 'metric', '2048', 'proto', 'keepalived');
  const ours6 = route({ family: 6, dst: '2001:db8:100::', dstLen: 48, via: GW6, dev: 'eth0' });
  assert.equal(await addRoute(ours6), 'added');
  assert.deepEqual((await shownRoutes(6, 100)).map((r) => r.metric), [1024, 2048]);
  assert.equal(await deleteRoute(ours6), 'deleted');
  assert.deepEqual((await shownRoutes(6, 100)).map((r) => [r.dst, r.metric]), [['2001:db8:100::/48', 2048]]);
  assert.equal(await deleteRoute(ours6), 'absent');
  assert.deepEqual((await shownRoutes(6, 100)).map((r) => [r.dst, r.metric]), [['2001:db8:100::/48', 2048]]);
  await ip('-6', 'route', 'del', '2001:db8:100::/48', 'table', '100', 'metric', '2048');
});

test('blackhole, unreachable, prohibit and throw routes', async () => {
  const specs = [
    route({ type: 'blackhole', dst: '198.51.100.0', dstLen: 26, table: 101 }),
    route({ type: 'unreachable', dst: '198.51.100.64', dstLen: 26, table: 101 }),
    route({ type: 'prohibit', dst: '198.51.100.128', dstLen: 26, table: 101 }),
    route({ type: 'throw', dst: '198.51.100.192', dstLen: 26, table: 101 }),
  ];
  for (const s of specs) assert.equal(await addRoute(s), 'added', s.type);
  assert.deepEqual(await shownRoutes(4, 101), specs.map((s) => ({ type: s.type, dst: `${s.dst}/26`, protocol: 'keepalived', flags: [] })));
  const listed = await child.call<Array<Record<string, unknown>>>('listRoutes', { family: 4, table: 101 });
  assert.deepEqual(listed, specs.map((s) => ({ family: 4, dst: s.dst, dstLen: 26, table: 101, protocol: 18, scope: 0, type: s.type, tos: 0 })));
  // A delete names the type: deleting a blackhole does not remove the unreachable route.
  assert.equal(await deleteRoute({ ...specs[1]!, type: 'blackhole' }), 'absent');
  for (const s of specs) assert.equal(await deleteRoute(s), 'deleted', s.type);
  assert.deepEqual(await shownRoutes(4, 101), []);
  assert.equal(await child.call('routeText', { spec: specs[0] }), 'blackhole 198.51.100.0/26 table 101');
});

test('an IPv6 route with a source prefix (from) and a metric', async () => {
  const spec = route({ family: 6, dst: '2001:db8:100::', dstLen: 48, from: '2001:db8:200::', fromLen: 64, via: GW6, dev: 'eth0', table: 102, metric: 5 });
  assert.equal(await addRoute(spec), 'added');
  assert.deepEqual(await shownRoutes(6, 102), [
    { dst: '2001:db8:100::/48', from: '2001:db8:200::/64', gateway: GW6, dev: 'eth0', protocol: 'keepalived', metric: 5, flags: [], pref: 'medium' },
  ]);
  assert.deepEqual(await child.call('listRoutes', { family: 6, table: 102 }), [
    { family: 6, dst: '2001:db8:100::', dstLen: 48, table: 102, protocol: 18, scope: 0, type: 'unicast', tos: 0, metric: 5, via: GW6, dev: 'eth0' },
  ]);
  assert.equal(await addRoute(spec), 'exists');
  assert.equal(await deleteRoute(spec), 'deleted');
  assert.deepEqual(await shownRoutes(6, 102), []);
  assert.equal(await deleteRoute(spec), 'absent');
});

test('multipath: two nexthops with weights, IPv4 and IPv6', async () => {
  const spec = route({ table: 103, nexthops: [{ via: GW4, dev: 'eth0', weight: 1 }, { via: GW4B, dev: 'eth1', weight: 3 }] });
  assert.equal(await addRoute(spec), 'added');
  assert.deepEqual(await shownRoutes(4, 103), [{
    dst: '198.51.100.0/24', protocol: 'keepalived', flags: [],
    nexthops: [{ gateway: GW4, dev: 'eth0', weight: 1, flags: [] }, { gateway: GW4B, dev: 'eth1', weight: 3, flags: [] }],
  }]);
  assert.equal(await child.call('routeText', { spec }),
    '198.51.100.0/24 table 103 nexthop via 203.0.113.254 dev eth0 weight 1 nexthop via 192.0.2.254 dev eth1 weight 3');
  assert.equal(await deleteRoute(spec), 'deleted');
  assert.deepEqual(await shownRoutes(4, 103), []);
  assert.equal(await deleteRoute(spec), 'absent');

  const spec6 = route({ family: 6, dst: '2001:db8:300::', dstLen: 48, table: 103, nexthops: [{ via: GW6, dev: 'eth0', weight: 1 }, { via: GW6B, dev: 'eth1', weight: 2 }] });
  assert.equal(await addRoute(spec6), 'added');
  assert.deepEqual(await shownRoutes(6, 103), [{
    dst: '2001:db8:300::/48', protocol: 'keepalived', metric: 1024, flags: [], pref: 'medium',
    nexthops: [{ gateway: GW6, dev: 'eth0', weight: 1, flags: [] }, { gateway: GW6B, dev: 'eth1', weight: 2, flags: [] }],
  }]);
  assert.equal(await deleteRoute(spec6), 'deleted');
  assert.deepEqual(await shownRoutes(6, 103), []);
});

test('RTA_METRICS: mtu, advmss, hoplimit, initcwnd, initrwnd; replace changes them in place', async () => {
  const spec = route({ via: GW4, dev: 'eth0', table: 104, metric: 7, mtu: 1400, advmss: 1360, hoplimit: 32, initcwnd: 10, initrwnd: 20 });
  assert.equal(await addRoute(spec), 'added');
  assert.deepEqual(await shownRoutes(4, 104), [{
    dst: '198.51.100.0/24', gateway: GW4, dev: 'eth0', protocol: 'keepalived', metric: 7, flags: [],
    metrics: [{ mtu: 1400, advmss: 1360, hoplimit: 32, initcwnd: 10, initrwnd: 20 }],
  }]);
  await child.call('replaceRoute', { spec: { ...spec, mtu: 1300, advmss: undefined, hoplimit: undefined, initcwnd: undefined, initrwnd: undefined } });
  assert.deepEqual(await shownRoutes(4, 104), [{
    dst: '198.51.100.0/24', gateway: GW4, dev: 'eth0', protocol: 'keepalived', metric: 7, flags: [], metrics: [{ mtu: 1300 }],
  }]);
  assert.equal(await deleteRoute(spec), 'deleted', 'the delete does not compare RTA_METRICS');
  assert.deepEqual(await shownRoutes(4, 104), []);
});

test('an unknown dev is ENODEV naming it; a bad spec is a TypeError naming the field; a kernel refusal keeps its errno', async () => {
  await assert.rejects(addRoute(route({ via: GW4, dev: 'eth9' })), (e: ChildError) => {
    assert.equal(e.code, 'ENODEV');
    assert.match(e.message, /'eth9'/);
    return true;
  });
  await assert.rejects(addRoute(route({ nexthops: [{ via: GW4, dev: 'eth0' }, { via: GW4B, dev: 'nope0' }] })), (e: ChildError) => {
    assert.equal(e.code, 'ENODEV');
    assert.match(e.message, /'nope0'/);
    return true;
  });
  await assert.rejects(addRoute(route({ metric: -1 })), (e: ChildError) => {
    assert.equal(e.name, 'TypeError');
    assert.match(e.message, /spec\.metric must be an integer/);
    return true;
  });
  await assert.rejects(addRoute(route({ via: GW6 })), (e: ChildError) => {
    assert.equal(e.name, 'TypeError');
    assert.match(e.message, /spec\.via '2001:db8:1::fe' is not an IPv4 address/);
    return true;
  });
  await assert.rejects(addRoute(route({ type: 'local' as RouteSpec['type'] })), /spec\.type must be/);
  // A gateway not on any connected network: the kernel says so (extended ack).
  await assert.rejects(addRoute(route({ via: '198.51.100.1', table: 105 })), (e: ChildError) => {
    assert.equal(e.code, 'ENETUNREACH');
    assert.match(e.message, /add route 198\.51\.100\.0\/24 table 105/);
    return true;
  });
  assert.deepEqual(await child.call('listRoutes', { family: 4, table: 105 }), [], 'a table nothing was put in lists empty');
});

// ---- rules ----------------------------------------------------------------------------------

test('rule from 192.0.2.10 lookup 100 priority 100 protocol 18: added, shown by ip, exists, deleted, absent', async () => {
  const spec = rule({ from: '192.0.2.10' });
  assert.equal(await addRule(spec), 'added');
  assert.deepEqual(await shownRule(4, 100), { priority: 100, src: '192.0.2.10', table: '100', protocol: 'keepalived' });
  const listed = await child.call<Array<Record<string, unknown>>>('listRules', { family: 4 });
  assert.deepEqual(listed.find((r) => r.priority === 100),
    { family: 4, priority: 100, action: 'table', table: 100, from: '192.0.2.10', fromLen: 32, toLen: 0, protocol: 18 });
  assert.equal(await addRule(spec), 'exists');
  assert.equal(await deleteRule(spec), 'deleted');
  assert.equal(await shownRule(4, 100), undefined);
  assert.equal(await deleteRule(spec), 'absent');
  assert.equal(await child.call('ruleText', { spec }), 'from 192.0.2.10 lookup 100 priority 100');
});

test('rules: fwmark/mask, iif, not, goto, blackhole, IPv6, ipproto/sport/dport/uidrange; each deleted', async () => {
  const cases: Array<{ spec: RuleSpec; shown: Record<string, unknown>; text: string }> = [
    { spec: rule({ priority: 101, fwmark: 0x10, fwmask: 0xff }),
      shown: { priority: 101, src: 'all', fwmark: '0x10', fwmask: '0xff', table: '100', protocol: 'keepalived' },
      text: 'from all fwmark 0x10/0xff lookup 100 priority 101' },
    { spec: rule({ priority: 102, iif: 'eth1', oif: 'eth0' }),
      shown: { priority: 102, src: 'all', iif: 'eth1', oif: 'eth0', table: '100', protocol: 'keepalived' },
      text: 'from all iif eth1 oif eth0 lookup 100 priority 102' },
    { spec: rule({ priority: 103, from: '192.0.2.0', fromLen: 24, invert: true }),
      shown: { priority: 103, not: null, src: '192.0.2.0', srclen: 24, table: '100', protocol: 'keepalived' },
      text: 'not from 192.0.2.0/24 lookup 100 priority 103' },
    { spec: rule({ priority: 104, fwmark: 1, action: 'goto', table: undefined, gotoPriority: 200 }),
      shown: { priority: 104, src: 'all', fwmark: '0x1', goto: 200, unresolved: null, protocol: 'keepalived' },
      text: 'from all fwmark 0x1 goto 200 priority 104' },
    { spec: rule({ priority: 105, from: '192.0.2.99', action: 'blackhole', table: undefined }),
      shown: { priority: 105, src: '192.0.2.99', action: 'blackhole', protocol: 'keepalived' },
      text: 'from 192.0.2.99 blackhole priority 105' },
    { spec: rule({ priority: 107, ipProto: 6, sport: [1000, 2000], dport: [80, 80], uidRange: [1000, 1999], table: 300 }),
      shown: { priority: 107, src: 'all', uid_start: 1000, uid_end: 1999, ipproto: 'tcp', sport_start: 1000, sport_end: 2000, dport: 80, table: '300', protocol: 'keepalived' },
      text: 'from all ipproto 6 sport 1000-2000 dport 80-80 uidrange 1000-1999 lookup 300 priority 107' },
  ];
  for (const c of cases) {
    assert.equal(await addRule(c.spec), 'added', c.text);
    assert.deepEqual(await shownRule(4, c.spec.priority), c.shown, c.text);
    assert.equal(await child.call('ruleText', { spec: c.spec }), c.text);
  }
  const listed = await child.call<Array<Record<string, unknown>>>('listRules', { family: 4 });
  assert.deepEqual(listed.find((r) => r.priority === 101),
    { family: 4, priority: 101, action: 'table', table: 100, fromLen: 0, toLen: 0, fwmark: 0x10, protocol: 18 });
  assert.deepEqual(listed.find((r) => r.priority === 102),
    { family: 4, priority: 102, action: 'table', table: 100, fromLen: 0, toLen: 0, iif: 'eth1', oif: 'eth0', protocol: 18 });
  assert.deepEqual(listed.find((r) => r.priority === 104),
    { family: 4, priority: 104, action: 'goto', fromLen: 0, toLen: 0, fwmark: 1, protocol: 18 });
  assert.deepEqual(listed.find((r) => r.priority === 107),
    { family: 4, priority: 107, action: 'table', table: 300, fromLen: 0, toLen: 0, protocol: 18 });
  // A delete names every field: the fwmark rule without its mask is another rule.
  assert.equal(await deleteRule({ ...cases[0]!.spec, fwmask: 0xf }), 'absent');
  for (const c of cases) {
    assert.equal(await deleteRule(c.spec), 'deleted', c.text);
    assert.equal(await shownRule(4, c.spec.priority), undefined, c.text);
  }

  const v6 = rule({ family: 6, from: '2001:db8:2::', fromLen: 64, priority: 106 });
  assert.equal(await addRule(v6), 'added');
  assert.deepEqual(await shownRule(6, 106), { priority: 106, src: '2001:db8:2::', srclen: 64, table: '100', protocol: 'keepalived' });
  const listed6 = await child.call<Array<Record<string, unknown>>>('listRules', { family: 6 });
  assert.deepEqual(listed6.find((r) => r.priority === 106),
    { family: 6, priority: 106, action: 'table', table: 100, from: '2001:db8:2::', fromLen: 64, toLen: 0, protocol: 18 });
  assert.equal(await shownRule(4, 106), undefined, 'the IPv6 rule is not an IPv4 one');
  assert.equal(await deleteRule(v6), 'deleted');
  assert.equal(await shownRule(6, 106), undefined);
  assert.equal(await deleteRule(v6), 'absent');
});

// ---- events ---------------------------------------------------------------------------------

test('events: `ip route del` of our proto-18 route and `ip rule del` of our rule are reported; a proto static route is not', async () => {
  await child.call('watch', { id: 'w', routes: true, rules: true });
  await child.call('watch', { id: 'plain' });
  try {
    const isRoute = (id: string, op: string, metric: number) => (e: ChildEvent) =>
      e.event === 'net' && e.id === id && e.e?.kind === 'route' && e.e.op === op && e.e.route?.metric === metric;
    assert.equal(await addRoute(route({ via: GW4, dev: 'eth0', table: 106, metric: 30 })), 'added');
    await child.waitEvent(isRoute('w', 'add', 30), 5000, 'the add of our route');
    await ip('route', 'del', '198.51.100.0/24', 'table', '106', 'metric', '30');
    const del = await child.waitEvent(isRoute('w', 'del', 30), 5000, 'the del of our route');
    assert.deepEqual(del.e, {
      kind: 'route', op: 'del',
      route: { family: 4, dst: '198.51.100.0', dstLen: 24, table: 106, protocol: 18, scope: 0, type: 'unicast', tos: 0, metric: 30, via: GW4, dev: 'eth0' },
    });

    assert.equal(await addRule(rule({ from: '192.0.2.20', priority: 110, table: 106 })), 'added');
    await ip('rule', 'del', 'priority', '110');
    const ruleDel = await child.waitEvent((e) => e.event === 'net' && e.id === 'w' && e.e?.kind === 'rule' && e.e.op === 'del', 5000, 'the del of our rule');
    assert.deepEqual(ruleDel.e, {
      kind: 'rule', op: 'del',
      rule: { family: 4, priority: 110, action: 'table', table: 106, from: '192.0.2.20', fromLen: 32, toLen: 0, protocol: 18 },
    });

    // A static route, added and deleted; then a proto-18 sentinel: its events come after any the
    // static route could have caused, so by then a report of the static route would be here.
    await ip('route', 'add', '198.51.100.0/24', 'via', GW4, 'dev', 'eth0', 'table', '106', 'metric', '40', 'proto', 'static');
    await ip('route', 'del', '198.51.100.0/24', 'table', '106', 'metric', '40');
    await ip('route', 'add', '198.51.100.0/24', 'via', GW4, 'dev', 'eth0', 'table', '106', 'metric', '50', 'proto', 'keepalived');
    await ip('route', 'del', '198.51.100.0/24', 'table', '106', 'metric', '50');
    await child.waitEvent(isRoute('w', 'del', 50), 5000, 'the del of the sentinel');
    const reported = child.events.filter((e) => e.e?.kind === 'route').map((e) => e.e);
    assert.deepEqual(reported.filter((e) => e?.route?.metric === 40), [], 'the proto static route was reported');
    assert.deepEqual(child.events.filter((e) => e.event === 'error'), []);
    assert.deepEqual(child.events.filter((e) => e.id === 'plain' && (e.e?.kind === 'route' || e.e?.kind === 'rule')), [],
      'a watch without { routes, rules } reports neither');
  } finally {
    await child.call('unwatch', { id: 'w' });
    await child.call('unwatch', { id: 'plain' });
  }
});
