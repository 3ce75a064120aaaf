// vrrp_sync_groups on two tandem directors (issue 4 §3): two instances in one group fail over
// together. The group's rules are unit-tested in test/unit/sync-group.test.ts; here the real
// daemons, sockets and VIPs: a fault on one member takes both VIPs to the peer and back, and an
// asymmetric pair (the peer wins one member on priority) settles with both VIPs on the peer and
// no flapping.
import { test } from 'node:test';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import type { DirectorSpec } from '../lib/director-spec.js';
import { Lab, sleep, waitFor, type LabNode } from '../lib/netns.js';
import { Pair, V3_IPV4 } from '../lib/pair.js';
import { Tandem } from '../lib/tandem.js';

const TIMEOUT = { timeout: 120_000 };
const VIP1 = '192.0.2.100';
const VIP2 = '192.0.2.101';

function spec(node: LabNode, prio1: number, prio2: number, trackEth1 = false, groupExtra: Record<string, unknown> = {}): DirectorSpec {
  const common = { version: 3 as const, advertInt: 0.5 };
  return {
    routerId: node.name,
    instances: [
      { name: 'VI_1', vrid: 51, priority: prio1, vips: [`${VIP1}/24`], ...common },
      { name: 'VI_2', vrid: 52, priority: prio2, vips: [`${VIP2}/24`], ...common,
        ...(trackEth1 ? { trackInterfaces: [{ interface: 'eth1', weight: 0 }] } : {}) },
    ],
    syncGroups: [{ name: 'G1', members: ['VI_1', 'VI_2'], tandemExtra: groupExtra }],
  };
}

async function vipsOn(pair: Pair, node: LabNode, step: string): Promise<void> {
  let last = '';
  await waitFor(async () => {
    const a = await pair.lab.holders(VIP1, pair.directors);
    const b = await pair.lab.holders(VIP2, pair.directors);
    last = `${VIP1} on [${a}], ${VIP2} on [${b}]`;
    return a.join() === node.name && b.join() === node.name;
  }, { timeoutMs: 5000, intervalMs: 50, what: `both VIPs on ${node.name}` }).catch(() => assert.fail(`${step}: both VIPs should be on ${node.name}: ${last}`));
}

function group(d: Tandem): unknown {
  return (d.readState() as unknown as { sync_groups?: Array<{ name: string; state: string }> })?.sync_groups?.find((g) => g.name === 'G1')?.state;
}

test('sync group: a tracked link down on one member takes both instances to FAULT and both VIPs to the peer; link up brings both back', TIMEOUT, async () => {
  const pair = await Pair.create(V3_IPV4);
  try {
    await pair.lab.addLocalLink(pair.lb1, 'eth1');
    // The group's generic notify script records its argv (GROUP <name> <state> 0).
    const log = pair.lab.path('group-notify.log');
    const script = pair.lab.path('group-notify.sh');
    writeFileSync(script, `#!/bin/sh\necho "$*" >> ${log}\n`);
    chmodSync(script, 0o755);
    const d1 = await Tandem.start(pair.lab, pair.lb1, spec(pair.lb1, 150, 150, true, { notify: script }));
    await d1.waitForState('VI_1', 'MASTER', 5000);
    await d1.waitForState('VI_2', 'MASTER', 5000);
    const d2 = await Tandem.start(pair.lab, pair.lb2, spec(pair.lb2, 100, 100));
    await d2.waitForState('VI_1', 'BACKUP', 5000);
    await d2.waitForState('VI_2', 'BACKUP', 5000);
    await vipsOn(pair, pair.lb1, 'start');
    assert.equal(group(d1), 'MASTER');
    assert.equal(group(d2), 'BACKUP');

    // Only VI_2 tracks eth1; the group takes VI_1 with it.
    await pair.lab.setLink(pair.lb1, 'eth1', false);
    await d1.waitForState('VI_2', 'FAULT', 5000);
    await d1.waitForState('VI_1', 'FAULT', 5000);
    await d2.waitForState('VI_1', 'MASTER', 5000);
    await d2.waitForState('VI_2', 'MASTER', 5000);
    await vipsOn(pair, pair.lb2, 'eth1 down on lb1');
    assert.equal(group(d1), 'FAULT');
    await waitFor(() => group(d2) === 'MASTER', { timeoutMs: 3000, what: 'lb2 group MASTER' });
    assert.match(d1.tail(60), /sync group G1: MASTER -> FAULT/);

    await pair.lab.setLink(pair.lb1, 'eth1', true);
    await d1.waitForState('VI_1', 'MASTER', 8000);
    await d1.waitForState('VI_2', 'MASTER', 8000);
    await d2.waitForState('VI_1', 'BACKUP', 5000);
    await d2.waitForState('VI_2', 'BACKUP', 5000);
    await vipsOn(pair, pair.lb1, 'eth1 up again');
    assert.equal(await d1.stop(), 0);
    const expected = ['GROUP G1 BACKUP 0', 'GROUP G1 MASTER 0', 'GROUP G1 FAULT 0', 'GROUP G1 BACKUP 0', 'GROUP G1 MASTER 0', 'GROUP G1 STOP 0'];
    let lines: string[] = [];
    await waitFor(() => {
      lines = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
      return lines.length >= expected.length;
    }, { timeoutMs: 5000, what: 'group notify lines' }).catch(() => undefined);
    assert.deepEqual(lines, expected);
  } finally {
    await pair.destroy();
  }
});

test('sync group: directors that disagree on priorities keep both instances where they are, without flapping (keepalived: prefer backup to avoid thrashing)', TIMEOUT, async () => {
  const pair = await Pair.create(V3_IPV4);
  try {
    // lb2 is higher for VI_1 (200 > 150), lb1 for VI_2 (150 > 100): without the group each
    // director would own one VIP. With it, a member may take over only if no sibling hears a
    // live master, so whoever holds the group keeps it.
    const d1 = await Tandem.start(pair.lab, pair.lb1, spec(pair.lb1, 150, 150));
    await d1.waitForState('VI_1', 'MASTER', 5000);
    await d1.waitForState('VI_2', 'MASTER', 5000);
    const d2 = await Tandem.start(pair.lab, pair.lb2, spec(pair.lb2, 200, 100));
    await d2.waitForState('VI_1', 'BACKUP', 5000);
    await d2.waitForState('VI_2', 'BACKUP', 5000);
    const steady = async (step: string, owner: LabNode) => {
      const t1 = d1.readState()!.instances.map((i) => i.transitions);
      const t2 = d2.readState()!.instances.map((i) => i.transitions);
      await sleep(4000); // eight advert intervals, more than two Master_Down_Intervals
      assert.deepEqual(d1.readState()!.instances.map((i) => i.transitions), t1, `${step}: lb1 changed state:\n${d1.tail(30)}`);
      assert.deepEqual(d2.readState()!.instances.map((i) => i.transitions), t2, `${step}: lb2 changed state:\n${d2.tail(30)}`);
      await vipsOn(pair, owner, step);
    };
    await steady('lb2 started (higher on VI_1 only)', pair.lb1);
    assert.match(d2.tail(40), /VI_1\]: INIT -> BACKUP/);
    assert.doesNotMatch(d2.tail(40), /-> MASTER/, 'lb2 VI_1 did not preempt: its sibling VI_2 hears lb1');

    // lb1 stops (priority 0 on both): lb2 takes both together.
    assert.equal(await d1.stop(), 0);
    await d2.waitForState('VI_1', 'MASTER', 5000);
    await d2.waitForState('VI_2', 'MASTER', 5000);
    await vipsOn(pair, pair.lb2, 'lb1 stopped');

    // lb1 comes back, higher on VI_2: it stays BACKUP on both, since its VI_1 hears lb2 (200).
    const d1b = await Tandem.start(pair.lab, pair.lb1, spec(pair.lb1, 150, 150), 'lb1b');
    await d1b.waitForState('VI_1', 'BACKUP', 5000);
    await d1b.waitForState('VI_2', 'BACKUP', 5000);
    const t = d1b.readState()!.instances.map((i) => i.transitions);
    await sleep(4000);
    assert.deepEqual(d1b.readState()!.instances.map((i) => i.transitions), t, `lb1 came back and changed state:\n${d1b.tail(30)}`);
    await vipsOn(pair, pair.lb2, 'lb1 back');
  } finally {
    await pair.destroy();
  }
});

test('sync group of one (keepalived keeps it, issue 13 §2): tandem runs it with a warning, and its scripts follow that instance', TIMEOUT, async () => {
  const lab = await Lab.create({ prefix: 'tG', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }] });
  try {
    const node = lab.node('lb1');
    const log = lab.path('group-of-one.log');
    const script = lab.path('group-of-one.sh');
    writeFileSync(script, `#!/bin/sh\necho "$*" >> ${log}\n`);
    chmodSync(script, 0o755);
    const d = await Tandem.start(lab, node, {
      routerId: 'lb1',
      instances: [{ name: 'VI_1', vrid: 51, version: 3, advertInt: 0.5, priority: 150, vips: [`${VIP1}/24`] }],
      syncGroups: [{ name: 'G1', members: ['VI_1'], tandemExtra: { notify: script } }],
    });
    await d.waitForState('VI_1', 'MASTER', 10_000);
    // The warning is logged, located, and the status keeps it.
    assert.match(d.tail(60), /\.yaml:\d+:\d+ warning: vrrp_sync_groups\[0\]\.group: has one instance \(VI_1\): keepalived keeps such a group/);
    await waitFor(() => group(d) === 'MASTER', { timeoutMs: 5000, what: 'the group of one MASTER' });
    const warnings = (d.readState() as unknown as { config: { warnings: string[] } }).config.warnings;
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.equal(await d.stop(), 0);
    const expected = ['GROUP G1 BACKUP 0', 'GROUP G1 MASTER 0', 'GROUP G1 STOP 0'];
    let lines: string[] = [];
    await waitFor(() => {
      lines = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
      return lines.length >= expected.length;
    }, { timeoutMs: 5000, what: 'group notify lines' }).catch(() => undefined);
    assert.deepEqual(lines, expected);
  } finally {
    await lab.destroy();
  }
});
