// Two tandem directors and a client on one bridge (test/lib/pair.ts): crash, graceful stop,
// preemption, nopreempt, link down / tracked interfaces, split brain. After every step the VIP
// must be on exactly one director (split brain excepted, where both being MASTER is the point).
// Times are bounded generously: these tests check behaviour; bench/failover.ts measures timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, waitFor } from '../lib/netns.js';
import { nowNs, skewTimeS, type VrrpEvent } from '../lib/observer.js';
import { Pair, V2_IPV4, V3_IPV4, V3_IPV6, type Profile } from '../lib/pair.js';
import type { Tandem } from '../lib/tandem.js';

const HIGH = 150;
const LOW = 100;
const TIMEOUT = { timeout: 180_000 };

/** lb1 (HIGH) MASTER, lb2 (LOW) BACKUP, VIP on lb1, the client has a neighbour entry for it. */
async function startPair(pair: Pair, extra1 = {}, extra2 = {}): Promise<{ d1: Tandem; d2: Tandem }> {
  const d1 = await pair.startTandem(pair.lb1, HIGH, extra1);
  await d1.waitForState('VI_1', 'MASTER', pair.takeoverMs(HIGH));
  const d2 = await pair.startTandem(pair.lb2, LOW, extra2);
  await d2.waitForState('VI_1', 'BACKUP', 5000);
  await pair.expectVipOn(pair.lb1, 'start');
  await pair.clientPingsVip();
  await pair.expectClientNeighbour(pair.lb1, 'start');
  return { d1, d2 };
}

async function withPair(profile: Profile, body: (pair: Pair) => Promise<void>): Promise<void> {
  const pair = await Pair.create(profile);
  try {
    await body(pair);
  } finally {
    await pair.destroy();
  }
}

function advertsFrom(pair: Pair, src: string, from: number): VrrpEvent[] {
  return pair.obs.adverts({ src, vrid: 51 }, from);
}

for (const profile of [V2_IPV4, V3_IPV4, V3_IPV6]) {
  const adv = profile.advertInt;

  test(`failover ${profile.id}: kill -9 of the master, the backup owns the VIP and the client's neighbour entry moves to it`, TIMEOUT, () => withPair(profile, async (pair) => {
    const { d1, d2 } = await startPair(pair);
    const mark = pair.obs.mark;
    await d1.kill9();
    assert.ok(await pair.lab.hasAddress(pair.lb1, profile.vip), 'a crash leaves the VIP behind (nothing graceful ran)');
    await pair.forgetVip(pair.lb1);
    const s2 = await d2.waitForState('VI_1', 'MASTER', pair.takeoverMs(LOW));
    await pair.expectVipOn(pair.lb2, 'after kill -9 of lb1');
    await pair.expectClientNeighbour(pair.lb2, 'after kill -9 of lb1');
    assert.ok(s2.transitions >= 2, `lb2 went BACKUP -> MASTER (transitions ${s2.transitions})`);
    const first = advertsFrom(pair, pair.src(pair.lb2), mark)[0];
    assert.ok(first, 'lb2 advertises as master');
    assert.equal(first.priority, LOW);
    assert.equal(first.ttl, 255);
    assert.equal(first.version, profile.version);
    assert.deepEqual(first.addrs, [profile.vip]);
    await pair.clientPingsVip();
  }));

  const signal = profile.family === 6 ? 'SIGINT' : 'SIGTERM';
  test(`failover ${profile.id}: graceful stop (${signal}) sends priority 0, removes the VIP, exits 0; the backup takes over after Skew_Time`, TIMEOUT, () => withPair(profile, async (pair) => {
    const { d1, d2 } = await startPair(pair);
    const mark = pair.obs.mark;
    const code = await d1.stop(10_000, signal);
    assert.equal(code, 0, `tandem exit code after ${signal}:\n${d1.tail()}`);
    await d2.waitForState('VI_1', 'MASTER', pair.takeoverMs(LOW));
    await pair.expectVipOn(pair.lb2, `after ${signal} of lb1`);
    await pair.expectClientNeighbour(pair.lb2, `after ${signal} of lb1`);
    const zero = advertsFrom(pair, pair.src(pair.lb1), mark).find((e) => e.priority === 0);
    assert.ok(zero, 'lb1 sent an advert with priority 0 on graceful stop (RFC 5798 §6.4.3)');
    const first = await pair.obs.waitForEvent((e) => e.kind === 'vrrp' && e.src === pair.src(pair.lb2) && e.priority > 0, 5000, mark, 'lb2 advert');
    const gapS = Number(first.tNs - zero.tNs) / 1e9;
    // Via priority 0 the backup waits Skew_Time; had it ignored it, it would wait at least
    // 2 * Advert_Interval + Skew_Time after the priority-0 advert. The bound separates the two.
    assert.ok(gapS < 2 * adv, `lb2's first advert ${gapS.toFixed(3)} s after priority 0 (Skew_Time ${skewTimeS(profile.version, LOW, adv).toFixed(3)} s)`);
  }));

  test(`failover ${profile.id}: a recovered higher-priority director preempts`, TIMEOUT, () => withPair(profile, async (pair) => {
    const { d1, d2 } = await startPair(pair);
    await d1.kill9();
    await pair.forgetVip(pair.lb1);
    await d2.waitForState('VI_1', 'MASTER', pair.takeoverMs(LOW));
    await pair.expectVipOn(pair.lb2, 'after kill -9 of lb1');
    const d1b = await pair.startTandem(pair.lb1, HIGH);
    await d1b.waitForState('VI_1', 'MASTER', pair.takeoverMs(HIGH));
    await d2.waitForState('VI_1', 'BACKUP', 5000);
    await pair.expectVipOn(pair.lb1, 'after lb1 came back');
    await pair.expectClientNeighbour(pair.lb1, 'after lb1 came back');
  }));

  test(`failover ${profile.id}: nopreempt, the recovered higher-priority director stays BACKUP`, TIMEOUT, () => withPair(profile, async (pair) => {
    const { d1, d2 } = await startPair(pair, { preempt: false }, { preempt: false });
    await d1.kill9();
    await pair.forgetVip(pair.lb1);
    await d2.waitForState('VI_1', 'MASTER', pair.takeoverMs(LOW));
    await pair.expectVipOn(pair.lb2, 'after kill -9 of lb1');
    const mark = pair.obs.mark;
    const d1b = await pair.startTandem(pair.lb1, HIGH, { preempt: false });
    await d1b.waitForState('VI_1', 'BACKUP', 5000);
    // Longer than lb1's Master_Down_Interval plus two adverts: a preempting lb1 would be master.
    await sleep(pair.mdiMs(HIGH) + 2 * adv * 1000);
    assert.equal(d1b.state(), 'BACKUP', `lb1 (nopreempt) should stay BACKUP: ${JSON.stringify(d1b.instance())}`);
    assert.equal(d2.state(), 'MASTER');
    assert.equal(advertsFrom(pair, pair.src(pair.lb1), mark).length, 0, 'lb1 sent adverts while nopreempt BACKUP');
    await pair.expectVipOn(pair.lb2, 'lb1 back with nopreempt');
  }));

  test(`failover ${profile.id}: link down on the master (own link, tracked link, pulled cable) -> FAULT, backup takes over; link up -> master again`, TIMEOUT, () => withPair(profile, async (pair) => {
    await pair.lab.addLocalLink(pair.lb1, 'eth1');
    const { d1, d2 } = await startPair(pair, { trackInterfaces: [{ interface: 'eth1', weight: 0 }] });
    const steps: Array<{ what: string; down: () => Promise<void>; up: () => Promise<void> }> = [
      { what: 'eth0 down on lb1', down: () => pair.lab.linkDown(pair.lb1, 'node'), up: () => pair.lab.linkUp(pair.lb1, 'node') },
      { what: 'tracked eth1 (weight 0) down on lb1', down: () => pair.lab.setLink(pair.lb1, 'eth1', false), up: () => pair.lab.setLink(pair.lb1, 'eth1', true) },
      { what: 'carrier lost on lb1 eth0 (bridge end down)', down: () => pair.lab.linkDown(pair.lb1, 'bridge'), up: () => pair.lab.linkUp(pair.lb1, 'bridge') },
    ];
    for (const step of steps) {
      await step.down();
      await d1.waitForState('VI_1', 'FAULT', 5000).catch((err: Error) => { throw new Error(`${step.what}: lb1 should be FAULT: ${err.message}`); });
      await d2.waitForState('VI_1', 'MASTER', pair.takeoverMs(LOW));
      await pair.expectVipOn(pair.lb2, step.what);
      await step.up();
      await d1.waitForState('VI_1', 'MASTER', pair.takeoverMs(HIGH) + 5000).catch((err: Error) => { throw new Error(`after ${step.what} was undone lb1 should preempt again: ${err.message}`); });
      await d2.waitForState('VI_1', 'BACKUP', 5000);
      await pair.expectVipOn(pair.lb1, `${step.what}, undone`);
    }
  }));

  test(`failover ${profile.id}: split brain (master cut off the bridge), then exactly one master within two advert intervals of the repair`, TIMEOUT, () => withPair(profile, async (pair) => {
    const { d1, d2 } = await startPair(pair);
    await pair.lab.detach(pair.lb1);
    await d2.waitForState('VI_1', 'MASTER', pair.takeoverMs(LOW));
    assert.equal(d1.state(), 'MASTER', 'lb1 heard nothing and saw no link event: it stays MASTER');
    // Both hold the VIP now: that is what split brain is.
    assert.deepEqual(await pair.lab.holders(profile.vip, pair.directors), ['lb1', 'lb2']);
    await pair.expectClientNeighbour(pair.lb2, 'split brain (only lb2 reaches the client)');

    const mark = pair.obs.mark;
    const repairedAt = nowNs();
    await pair.lab.attach(pair.lb1);
    await waitFor(() => d1.state() === 'MASTER' && d2.state() === 'BACKUP', {
      timeoutMs: 2 * adv * 1000 + 2000, intervalMs: 20, what: 'lb1 MASTER, lb2 BACKUP',
    }).catch((err: Error) => { throw new Error(`${err.message}: lb1 ${JSON.stringify(d1.instance())}, lb2 ${JSON.stringify(d2.instance())}`); });
    // On the wire: lb2 (lower priority) stops advertising within two advert intervals of the
    // repair, and lb1 keeps advertising.
    await pair.obs.waitForEvent((e) => e.kind === 'vrrp' && e.src === pair.src(pair.lb1), 3 * adv * 1000, mark, 'lb1 advert after repair');
    await sleep(3 * adv * 1000);
    const lb2Adverts = advertsFrom(pair, pair.src(pair.lb2), mark);
    const last = lb2Adverts[lb2Adverts.length - 1];
    if (last) {
      const afterRepairS = Number(last.tNs - repairedAt) / 1e9;
      assert.ok(afterRepairS <= 2 * adv, `lb2's last advert came ${afterRepairS.toFixed(3)} s after the repair (limit 2 x ${adv} s)`);
    }
    assert.ok(advertsFrom(pair, pair.src(pair.lb1), mark).length >= 2, 'lb1 keeps advertising');
    await pair.expectVipOn(pair.lb1, 'after the split brain healed');
    // The healing master re-announces the VIP (keepalived / RFC 9568 behaviour), so the client
    // that followed lb2 during the split comes back to lb1.
    await pair.expectClientNeighbour(pair.lb1, 'after the split brain healed');
  }));
}

test('failover v3 IPv4: track_interfaces with a weight lowers the effective priority and lets the backup preempt', TIMEOUT, () => withPair(V3_IPV4, async (pair) => {
  await pair.lab.addLocalLink(pair.lb1, 'eth1');
  const { d1, d2 } = await startPair(pair, { trackInterfaces: [{ interface: 'eth1', weight: -60 }] });
  await pair.lab.setLink(pair.lb1, 'eth1', false);
  // 150 - 60 = 90 < 100: lb2 (preempt) takes over when it hears the lower priority.
  await d2.waitForState('VI_1', 'MASTER', pair.takeoverMs(LOW));
  await d1.waitForState('VI_1', 'BACKUP', 5000);
  assert.equal(d1.instance()?.effective_priority, HIGH - 60);
  await pair.expectVipOn(pair.lb2, 'tracked eth1 down (weight -60)');
  await pair.lab.setLink(pair.lb1, 'eth1', true);
  await d1.waitForState('VI_1', 'MASTER', pair.takeoverMs(HIGH));
  assert.equal(d1.instance()?.effective_priority, HIGH);
  await pair.expectVipOn(pair.lb1, 'tracked eth1 up again');
}));
