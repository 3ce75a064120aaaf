// virtual_routes / virtual_rules and the global statics on the real kernel, in namespaces:
// - keepalived and tandem, given the same keepalived text, put the same routes and rules in the
//   kernel when MASTER (`ip -j route` / `ip -j rule`, compared entry by entry) and take them all
//   away at a graceful stop: the migration means the same;
// - in a tandem pair they move with the VIP; a tracked route or rule deleted under the master
//   comes back, a no_track one does not, and nobody changes state;
// - static addresses, routes and rules are there with no instance at all, come back when
//   deleted, and a stop removes only what tandem added.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, type LabNode } from '../lib/netns.js';
import { Pair, V2_IPV4 } from '../lib/pair.js';
import { Tandem } from '../lib/tandem.js';
import { Keepalived } from '../lib/keepalived.js';
import type { Lab } from '../lib/netns.js';

const TIMEOUT = { timeout: 180_000 };

const ROUTES = [
  '198.51.100.0/24 via 192.0.2.50 dev eth0 table 100 metric 10 src 192.0.2.100',
  '198.51.100.32/27 via 192.0.2.50 dev eth0',
  '198.51.100.64/27 nexthop via 192.0.2.50 dev eth0 weight 2 nexthop via 192.0.2.2 dev eth0',
  '2001:db8:1::/48 via 2001:db8::50 dev eth0 table 100',
  // A blackhole route takes no dev (the kernel: "Gateway, device and multipath can not be
  // specified for this route type"), so it is never tracked (keepalived's rule).
  'blackhole 203.0.113.0/24 table 100',
];
const RULES = [
  'from 192.0.2.100 table 100 priority 100',
  'to 198.51.100.0/24 fwmark 0x10/0xff table 100 priority 101',
  'from 203.0.113.77 prohibit priority 103',
  'from 2001:db8::100 table 100 priority 100',
  'from 198.51.100.9 table 100',
];

/** Every route (both families, every table) and rule of the node, one JSON text each. */
async function kernelState(lab: Lab, node: LabNode): Promise<string[]> {
  const out: string[] = [];
  for (const argv of [['-4', 'route', 'show', 'table', 'all'], ['-6', 'route', 'show', 'table', 'all'], ['-4', 'rule', 'show'], ['-6', 'rule', 'show']]) {
    const r = await lab.exec(node, ['ip', '-j', '-d', ...argv]);
    for (const e of JSON.parse(r.stdout || '[]') as Array<Record<string, unknown>>) {
      // Kernel-made IPv6 entries (link-local, multicast) and cache flags differ by timing, not by
      // what either daemon installed.
      delete e.expires; delete e.flags;
      out.push(`${argv[0]} ${argv[1]} ${JSON.stringify(e)}`);
    }
  }
  return out.sort();
}

/** What is there now and was not in `before`. */
const added = (before: string[], now: string[]) => now.filter((x) => !before.includes(x));

test('keepalived and tandem install the same routes and rules from the same text, and remove them all at a stop', TIMEOUT, async () => {
  const pair = await Pair.create(V2_IPV4, 'tQ');
  try {
    const spec = pair.spec(pair.lb1, 150, { virtualRoutes: ROUTES, virtualRules: RULES });
    const before = await kernelState(pair.lab, pair.lb1);
    const installed: Record<string, string[]> = {};
    for (const impl of ['keepalived', 'tandem'] as const) {
      const d = impl === 'keepalived' ? await Keepalived.start(pair.lab, pair.lb1, spec) : await Tandem.start(pair.lab, pair.lb1, spec);
      await d.waitForState('VI_1', 'MASTER', pair.takeoverMs(150));
      installed[impl] = await waitFor(async () => {
        const a = added(before, await kernelState(pair.lab, pair.lb1));
        // Every configured route and rule: the 5 routes (the multipath one is one entry) and 5 rules.
        return a.filter((x) => / route /.test(x) && /"dst":"(198\.51\.100\.(0\/24|32\/27|64\/27)|2001:db8:1::\/48|203\.0\.113\.0\/24)"/.test(x)).length === 5 &&
          a.filter((x) => / rule /.test(x)).length === 5 ? a : null;
      }, { timeoutMs: 5000, what: `${impl}'s routes and rules` }).catch((e) => {
        throw new Error(`${(e as Error).message}\n--- ${impl} ---\n${d.tail(30)}`);
      });
      assert.equal(await d.stop(), 0);
      assert.deepEqual(added(before, await kernelState(pair.lab, pair.lb1)), [], `${impl} removed everything it added at its stop`);
    }
    assert.deepEqual(installed.tandem, installed.keepalived, 'the same kernel entries, field by field');
    // And they are what the text says (a spot check of the fields that matter most).
    const t = installed.tandem!.join('\n');
    assert.match(t, /"dst":"198\.51\.100\.0\/24","gateway":"192\.0\.2\.50","dev":"eth0","table":"100","protocol":"keepalived","scope":"global","prefsrc":"192\.0\.2\.100","metric":10/);
    assert.match(t, /"src":"192\.0\.2\.100","table":"100","protocol":"keepalived"|"priority":100,"src":"192\.0\.2\.100"/);
    assert.match(t, /"priority":16384,"src":"198\.51\.100\.9"/, 'the rule without a preference got keepalived\'s 16384');
  } finally {
    await pair.destroy();
  }
});

test('a tandem pair: the routes move with the VIP; a tracked one deleted under the master comes back, a no_track one does not', TIMEOUT, async () => {
  const pair = await Pair.create(V2_IPV4, 'tU');
  try {
    const extra = { virtualRoutes: ['198.51.100.32/27 via 192.0.2.50 dev eth0', '198.51.100.160/27 via 192.0.2.50 dev eth0 no_track'], virtualRules: ['from 192.0.2.100 table 100 priority 100'] };
    const d2 = await pair.startTandem(pair.lb2, 100, extra);
    const d1 = await pair.startTandem(pair.lb1, 150, extra);
    await d1.waitForState('VI_1', 'MASTER', pair.takeoverMs(150));
    await d2.waitForState('VI_1', 'BACKUP', pair.takeoverMs(100));
    const routes = async (n: LabNode) => (await pair.lab.exec(n, ['ip', 'route', 'show', 'table', 'main'])).stdout;
    const rules = async (n: LabNode) => (await pair.lab.exec(n, ['ip', 'rule', 'show'])).stdout;
    await waitFor(async () => /198\.51\.100\.32\/27 via 192\.0\.2\.50 dev eth0 proto keepalived/.test(await routes(pair.lb1)), { timeoutMs: 5000, what: 'the route on lb1' });
    assert.match(await rules(pair.lb1), /^100:\s+from 192\.0\.2\.100 lookup 100 proto keepalived/m);
    assert.doesNotMatch(await routes(pair.lb2), /198\.51\.100\.(32|160)\/27/, 'the backup holds none');
    assert.doesNotMatch(await rules(pair.lb2), /^100:/m);

    await pair.lab.exec(pair.lb1, ['ip', 'route', 'del', '198.51.100.32/27']);
    await pair.lab.exec(pair.lb1, ['ip', 'rule', 'del', 'priority', '100']);
    await pair.lab.exec(pair.lb1, ['ip', 'route', 'del', '198.51.100.160/27']);
    await waitFor(async () => /198\.51\.100\.32\/27 via/.test(await routes(pair.lb1)) && /^100:/m.test(await rules(pair.lb1)), { timeoutMs: 3000, what: 'the tracked route and rule back on lb1' })
      .catch((e) => { throw new Error(`${(e as Error).message}\n${d1.tail(20)}`); });
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(await routes(pair.lb1), /198\.51\.100\.160\/27/, 'the no_track route stays deleted');
    assert.equal(d1.state(), 'MASTER');
    assert.equal(d2.state(), 'BACKUP');
    assert.match(d1.tail(40), /route 198\.51\.100\.32\/27 via 192\.0\.2\.50 dev eth0 was deleted by someone else while MASTER; re-added/);

    // lb1 stops: its routes and rule go, lb2 takes over with them (the no_track one too: it is
    // installed at every transition to MASTER).
    assert.equal(await d1.stop(), 0);
    assert.doesNotMatch(await routes(pair.lb1), /198\.51\.100\.(32|160)\/27/);
    assert.doesNotMatch(await rules(pair.lb1), /^100:/m);
    await d2.waitForState('VI_1', 'MASTER', pair.takeoverMs(100));
    await waitFor(async () => /198\.51\.100\.32\/27 via/.test(await routes(pair.lb2)) && /198\.51\.100\.160\/27 via/.test(await routes(pair.lb2)) && /^100:/m.test(await rules(pair.lb2)),
      { timeoutMs: 3000, what: 'the routes and rule on lb2' });
  } finally {
    await pair.destroy();
  }
});

test('statics with no instance: there at start, put back when deleted; a stop removes what tandem added and leaves the operator\'s', TIMEOUT, async () => {
  const pair = await Pair.create(V2_IPV4, 'tS');
  try {
    const n = pair.lb1;
    // The operator's own route, which the config also names: not tandem's to remove.
    await pair.lab.exec(n, ['ip', 'route', 'add', '198.51.100.128/27', 'via', '192.0.2.50', 'dev', 'eth0', 'proto', 'keepalived']);
    const d = await Tandem.start(pair.lab, n, {
      routerId: 'lb1', instances: [],
      staticAddresses: ['203.0.113.5/24 dev eth0'],
      staticRoutes: ['198.51.100.96/27 via 192.0.2.50 dev eth0', '198.51.100.128/27 via 192.0.2.50 dev eth0'],
      staticRules: ['from 203.0.113.5 table 7 priority 7'],
    });
    const routes = async () => (await pair.lab.exec(n, ['ip', 'route', 'show'])).stdout;
    const rules = async () => (await pair.lab.exec(n, ['ip', 'rule', 'show'])).stdout;
    await waitFor(async () => (await pair.lab.hasAddress(n, '203.0.113.5')) && /198\.51\.100\.96\/27/.test(await routes()) && /^7:/m.test(await rules()),
      { timeoutMs: 5000, what: 'the statics' }).catch((e) => { throw new Error(`${(e as Error).message}\n${d.tail(20)}`); });
    await pair.lab.exec(n, ['ip', 'addr', 'del', '203.0.113.5/24', 'dev', 'eth0']);
    await pair.lab.exec(n, ['ip', 'route', 'del', '198.51.100.96/27']);
    await pair.lab.exec(n, ['ip', 'rule', 'del', 'priority', '7']);
    await waitFor(async () => (await pair.lab.hasAddress(n, '203.0.113.5')) && /198\.51\.100\.96\/27/.test(await routes()) && /^7:/m.test(await rules()),
      { timeoutMs: 3000, what: 'the statics put back' }).catch((e) => { throw new Error(`${(e as Error).message}\n${d.tail(20)}`); });
    assert.equal(await d.stop(), 0);
    assert.equal(await pair.lab.hasAddress(n, '203.0.113.5'), false, 'the address tandem added is removed');
    assert.doesNotMatch(await routes(), /198\.51\.100\.96\/27/, 'the route tandem added is removed');
    assert.doesNotMatch(await rules(), /^7:/m, 'the rule tandem added is removed');
    assert.match(await routes(), /198\.51\.100\.128\/27 via 192\.0\.2\.50 dev eth0 proto keepalived/, 'the operator\'s route stays');
  } finally {
    await pair.destroy();
  }
});
