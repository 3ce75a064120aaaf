// A new master's announcements and its guard over the VIP: a GARP / unsolicited NA burst right
// after the first advert, a second burst after garp_master_delay, and a VIP deleted by someone
// else while MASTER is put back and logged (keepalived only notices it: its issues #1385, #2479).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../lib/netns.js';
import type { WireEvent } from '../lib/observer.js';
import { Pair, V3_IPV4, V3_IPV6 } from '../lib/pair.js';

for (const profile of [V3_IPV4, V3_IPV6]) {
  test(`vip guard ${profile.id}: announcement bursts, then a VIP deleted by hand is put back`, { timeout: 120_000 }, async () => {
    const pair = await Pair.create(profile);
    try {
      const mark = pair.obs.mark;
      const d1 = await pair.startTandem(pair.lb1, 150, { garpMasterRepeat: 3, garpMasterDelay: 1 });
      await d1.waitForState('VI_1', 'MASTER', pair.takeoverMs(150));
      const mac = pair.lb1.mac;
      const announces = (from: number) => pair.obs.events.slice(from).filter((e: WireEvent) =>
        e.srcMac === mac && (e.kind === 'arp' ? e.senderIp === profile.vip : e.kind === 'na' && e.targetIp === profile.vip));
      // First burst with the first advert, second burst garp_master_delay (1 s) later.
      await waitFor(() => announces(mark).length >= 6, { timeoutMs: 5000, what: 'two bursts of 3 announcements' });
      const firstAdvert = pair.obs.adverts({ src: pair.src(pair.lb1), vrid: 51 }, mark)[0];
      assert.ok(firstAdvert, 'lb1 advertised');
      const ms = announces(mark).map((e) => Number(e.tNs - firstAdvert.tNs) / 1e6);
      assert.equal(ms.length, 6, `exactly two bursts so far: ${ms.map((x) => x.toFixed(1)).join(', ')} ms`);
      assert.ok(ms.slice(0, 3).every((t) => t >= 0 && t < 50), `first burst right after the first advert: ${ms.slice(0, 3)}`);
      assert.ok(ms.slice(3).every((t) => t > 900 && t < 1500), `second burst after garp_master_delay: ${ms.slice(3)}`);
      if (profile.family === 6) {
        const na = announces(mark)[0]!;
        assert.ok(na.kind === 'na' && na.hopLimit === 255 && na.dst === 'ff02::1', 'unsolicited NA to all-nodes, hop limit 255');
      }

      // Someone else deletes the VIP: tandem puts it back and says so.
      await pair.lab.removeAddress(pair.lb1, profile.vipCidr);
      await waitFor(() => pair.lab.hasAddress(pair.lb1, profile.vip), { timeoutMs: 3000, what: 'the VIP to be re-added' });
      await waitFor(() => /was deleted from eth0 by someone else while MASTER; re-added/.test(d1.tail(20)),
        { timeoutMs: 3000, what: 'a log line about the re-added VIP' });
      assert.equal(d1.state('VI_1'), 'MASTER', 'still MASTER, no transition for a repaired VIP');
      await pair.expectVipOn(pair.lb1, 'after the VIP was re-added');
    } finally {
      await pair.destroy();
    }
  });
}
