// tandem <-> keepalived (Debian's 2.2.7) on one bridge, both roles, for v2 IPv4, v3 IPv4,
// v3 IPv6 and unicast v3 IPv4. The failover goes both ways (crash of either one, preemption by
// either one), and keepalived's own log shows it accepted our adverts: it stays BACKUP behind a
// tandem master for longer than its Master_Down_Interval, steps down when a higher-priority
// tandem comes back, and logs no complaint (bad TTL, checksum, auth, address list ...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireTools, sameIp, sleep } from '../lib/netns.js';
import { KEEPALIVED_COMPLAINT, type Keepalived } from '../lib/keepalived.js';
import { Pair, V2_IPV4, V3_IPV4, V3_IPV4_UNICAST, V3_IPV6, type Profile } from '../lib/pair.js';

const HIGH = 200;
const LOW = 100;
const TIMEOUT = { timeout: 240_000 };

function assertNoComplaints(k: Keepalived, step: string): void {
  const bad = k.lines.filter((l) => KEEPALIVED_COMPLAINT.test(l));
  assert.deepEqual(bad, [], `${step}: keepalived complained about received packets:\n${bad.join('\n')}`);
}

async function withPair(profile: Profile, body: (pair: Pair) => Promise<void>): Promise<void> {
  requireTools('keepalived');
  const pair = await Pair.create(profile);
  try {
    await body(pair);
  } finally {
    await pair.destroy();
  }
}

for (const profile of [V2_IPV4, V3_IPV4, V3_IPV6, V3_IPV4_UNICAST]) {
  test(`interop ${profile.id}: tandem master, keepalived backup; crash of tandem -> keepalived master; tandem returns and preempts`, TIMEOUT, () => withPair(profile, async (pair) => {
    const t1 = await pair.startTandem(pair.lb1, HIGH);
    await t1.waitForState('VI_1', 'MASTER', pair.takeoverMs(HIGH));
    const k2 = await pair.startKeepalived(pair.lb2, LOW);
    // keepalived accepts our adverts: it stays BACKUP well past its Master_Down_Interval.
    await sleep(pair.mdiMs(LOW) + 2 * profile.advertInt * 1000);
    assert.equal(k2.currentState('VI_1'), 'BACKUP', `keepalived should stay BACKUP behind tandem's adverts:\n${k2.tail()}`);
    assert.equal(t1.state(), 'MASTER');
    await pair.expectVipOn(pair.lb1, 'tandem master, keepalived backup');
    assertNoComplaints(k2, 'keepalived backup behind tandem master');
    await pair.clientPingsVip();

    await t1.kill9();
    await pair.forgetVip(pair.lb1);
    const mark = k2.mark;
    await k2.waitForState('VI_1', 'MASTER', pair.takeoverMs(LOW), mark);
    await pair.expectVipOn(pair.lb2, 'kill -9 of tandem');
    await pair.expectClientNeighbour(pair.lb2, 'kill -9 of tandem');

    // tandem comes back at the higher priority: keepalived must accept its adverts and yield.
    const mark2 = k2.mark;
    const t1b = await pair.startTandem(pair.lb1, HIGH);
    await t1b.waitForState('VI_1', 'MASTER', pair.takeoverMs(HIGH) + 5000);
    await k2.waitForState('VI_1', 'BACKUP', 5000, mark2);
    const yielded = k2.lines.slice(mark2).find((l) => /higher priority/.test(l));
    assert.ok(yielded, `keepalived should log that it saw tandem's higher priority:\n${k2.tail()}`);
    await pair.expectVipOn(pair.lb1, 'tandem preempted keepalived');
    await pair.expectClientNeighbour(pair.lb1, 'tandem preempted keepalived');
    assertNoComplaints(k2, 'whole run');
  }));

  test(`interop ${profile.id}: keepalived master, tandem backup; crash of keepalived -> tandem master; keepalived returns and preempts`, TIMEOUT, () => withPair(profile, async (pair) => {
    const k1 = await pair.startKeepalived(pair.lb1, HIGH);
    await k1.waitForState('VI_1', 'MASTER', pair.takeoverMs(HIGH));
    const t2 = await pair.startTandem(pair.lb2, LOW);
    await t2.waitForState('VI_1', 'BACKUP', 5000);
    // tandem accepts keepalived's adverts: it stays BACKUP past its Master_Down_Interval.
    await sleep(pair.mdiMs(LOW) + 2 * profile.advertInt * 1000);
    const s = t2.readState();
    assert.equal(t2.state(), 'BACKUP', `tandem should stay BACKUP behind keepalived: ${JSON.stringify(s)}`);
    assert.ok((s?.rx.accepted ?? 0) > 0, `tandem counted keepalived's adverts as accepted: ${JSON.stringify(s?.rx)}`);
    const masterIp = t2.instance()?.master_ip;
    assert.ok(masterIp && sameIp(masterIp, pair.src(pair.lb1)), `tandem should report keepalived (${pair.src(pair.lb1)}) as master_ip, got ${masterIp}`);
    await pair.expectVipOn(pair.lb1, 'keepalived master, tandem backup');
    await pair.clientPingsVip();

    await k1.kill9();
    await pair.forgetVip(pair.lb1);
    await t2.waitForState('VI_1', 'MASTER', pair.takeoverMs(LOW));
    await pair.expectVipOn(pair.lb2, 'kill -9 of keepalived');
    await pair.expectClientNeighbour(pair.lb2, 'kill -9 of keepalived');

    // keepalived comes back at the higher priority. It must accept our MASTER adverts first
    // (it starts in BACKUP hearing them), then preempt; tandem must accept its and yield.
    const k1b = await pair.startKeepalived(pair.lb1, HIGH);
    await k1b.waitForState('VI_1', 'MASTER', pair.takeoverMs(HIGH) + 5000);
    await t2.waitForState('VI_1', 'BACKUP', 5000);
    await pair.expectVipOn(pair.lb1, 'keepalived preempted tandem');
    await pair.expectClientNeighbour(pair.lb1, 'keepalived preempted tandem');
    // Let a few more exchanges happen, then check keepalived never complained.
    await sleep(3 * profile.advertInt * 1000);
    assert.equal(k1b.currentState('VI_1'), 'MASTER');
    assert.equal(t2.state(), 'BACKUP');
    assertNoComplaints(k1b, 'keepalived back as master over tandem');
  }));
}
