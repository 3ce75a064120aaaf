// VIP options in network namespaces: a VIP with `dev` on a second veth appears there with its
// label, scope and broadcast as `ip -j addr` shows them, and its GARP leaves on that link (not on
// the instance's); an IPv6 VIP with preferred_lft gets that lifetime; an instance without VIPs
// elects a master (notify scripts run) against tandem and against keepalived, with adverts that
// carry no address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { waitFor } from '../lib/netns.js';
import { Pair, V2_IPV4 } from '../lib/pair.js';
import { Tandem } from '../lib/tandem.js';

const TIMEOUT = { timeout: 150_000 };

interface AddrInfo { family: string; local: string; prefixlen: number; scope: string; label?: string; broadcast?: string; preferred_life_time?: number; address?: string }
async function addrInfo(pair: Pair, ifname: string): Promise<AddrInfo[]> {
  const r = await pair.lab.exec(pair.lb1, ['ip', '-j', 'addr', 'show', 'dev', ifname]);
  return ((JSON.parse(r.stdout || '[]') as Array<{ addr_info?: AddrInfo[] }>)[0]?.addr_info ?? []);
}

test('a VIP with dev goes on that interface with label, scope and brd; its GARP leaves there; IPv6 preferred_lft is set', TIMEOUT, async () => {
  const pair = await Pair.create(V2_IPV4, 'tV');
  try {
    await pair.lab.addLocalLink(pair.lb1, 'eth1');
    // What eth1 sends arrives on its peer end, eth1p: capture ARP and ICMPv6 there.
    const cap = pair.lab.spawn(pair.lb1, ['tcpdump', '-i', 'eth1p', '-n', '-l', '-e', 'arp or icmp6']);
    await waitFor(() => cap.lines.some((l) => /listening on eth1p/.test(l)), { timeoutMs: 5000, what: 'tcpdump on eth1p' });
    const mark = pair.obs.mark;
    const d1 = await pair.startTandem(pair.lb1, 150, {
      vips: ['192.0.2.100/24', '198.51.100.10/24 dev eth1 label eth1:vip scope link brd +'],
      vipsExcluded: ['2001:db8:1::77/64 dev eth1 preferred_lft 30', '203.0.113.1 peer 203.0.113.2 dev eth1'],
      garpMasterRepeat: 2,
    });
    await d1.waitForState('VI_1', 'MASTER', pair.takeoverMs(150));
    const v4 = await waitFor(async () => (await addrInfo(pair, 'eth1')).find((a) => a.local === '198.51.100.10'), { timeoutMs: 3000, what: 'the VIP on eth1' });
    assert.deepEqual([v4.prefixlen, v4.label, v4.scope, v4.broadcast], [24, 'eth1:vip', 'link', '198.51.100.255']);
    const v6 = (await addrInfo(pair, 'eth1')).find((a) => a.local === '2001:db8:1::77');
    assert.ok(v6, 'the IPv6 excluded VIP on eth1');
    assert.ok(v6.preferred_life_time !== undefined && v6.preferred_life_time <= 30 && v6.preferred_life_time > 20, `preferred_lft 30: ${JSON.stringify(v6)}`);
    const p2p = (await addrInfo(pair, 'eth1')).find((a) => a.local === '203.0.113.1');
    assert.deepEqual([p2p?.address, p2p?.prefixlen], ['203.0.113.2', 32], `the peer VIP: IFA_LOCAL ours, IFA_ADDRESS the peer: ${JSON.stringify(p2p)}`);
    assert.equal((await addrInfo(pair, 'eth0')).some((a) => a.local === '198.51.100.10'), false, 'not on the instance\'s interface');
    assert.ok(await pair.lab.hasAddress(pair.lb1, '192.0.2.100'), 'the plain VIP on eth0');
    // GARP for the dev VIP on eth1 (tcpdump: "Request who-has 198.51.100.10 tell 198.51.100.10"), NA for the IPv6 one.
    await waitFor(() => cap.lines.filter((l) => /who-has 198\.51\.100\.10 (\(ff:ff:ff:ff:ff:ff\) )?tell 198\.51\.100\.10/.test(l)).length >= 2, { timeoutMs: 5000, what: 'GARPs on eth1' })
      .catch((e) => { throw new Error(`${(e as Error).message}\n--- eth1p ---\n${cap.lines.slice(-10).join('\n')}\n--- tandem ---\n${d1.tail(30)}`); });
    await waitFor(() => cap.lines.some((l) => /neighbor advertisement, tgt is 2001:db8:1::77/.test(l)), { timeoutMs: 5000, what: 'an NA on eth1' });
    // On the instance's link (the bridge): the plain VIP's GARP, none for the dev VIP.
    await waitFor(() => pair.obs.events.slice(mark).some((e) => e.kind === 'arp' && e.senderIp === '192.0.2.100'), { timeoutMs: 5000, what: 'GARP for 192.0.2.100 on eth0' });
    assert.equal(pair.obs.events.slice(mark).some((e) => (e.kind === 'arp' && e.senderIp === '198.51.100.10') || (e.kind === 'na' && e.targetIp === '2001:db8:1::77')), false,
      'no announcement of the dev VIPs on the instance\'s link');
    assert.equal(cap.lines.some((l) => /who-has 192\.0\.2\.100 (\(ff:ff:ff:ff:ff:ff\) )?tell 192\.0\.2\.100/.test(l)), false, 'the eth0 VIP is not announced on eth1');
    // The advert carries the VIPs (not the excluded one) and leaves from eth0.
    const ad = pair.obs.adverts({ src: pair.src(pair.lb1), vrid: 51 }, mark)[0]!;
    assert.deepEqual(ad.addrs, ['192.0.2.100', '198.51.100.10']);
    assert.equal(await d1.stop(), 0);
    assert.equal((await addrInfo(pair, 'eth1')).some((a) => ['198.51.100.10', '2001:db8:1::77', '203.0.113.1'].includes(a.local)), false, 'removed from eth1 at stop (the peer one too)');
  } finally {
    await pair.destroy();
  }
});

for (const peerKind of ['tandem', 'keepalived'] as const) {
  test(`an instance without VIPs elects a master against ${peerKind}: adverts with no address, notify_master runs`, TIMEOUT, async () => {
    const pair = await Pair.create(V2_IPV4, 'tW');
    try {
      const log = pair.lab.path('notify.log');
      const script = pair.lab.path('notify.sh');
      writeFileSync(script, `#!/bin/sh\necho "$*" >> ${log}\n`);
      chmodSync(script, 0o755);
      const mark = pair.obs.mark;
      const notify = (who: string) => ({ tandemExtra: { notify_master: `${script} ${who} master`, notify_backup: `${script} ${who} backup` } });
      const peer = peerKind === 'tandem'
        ? await pair.startTandem(pair.lb2, 100, { vips: [], ...notify('lb2') })
        : await pair.startKeepalived(pair.lb2, 100, { vips: [] });
      const d1 = await pair.startTandem(pair.lb1, 150, { vips: [], ...notify('lb1') });
      await d1.waitForState('VI_1', 'MASTER', pair.takeoverMs(150));
      await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('lb1 master'), { timeoutMs: 5000, what: 'lb1\'s notify_master' });
      // lb1 (150) is master and lb2 backs off: only lb1's adverts after a settling second.
      await new Promise((r) => setTimeout(r, 3000));
      const lastSec = pair.obs.adverts({ vrid: 51 }, mark).slice(-3);
      assert.ok(lastSec.length === 3 && lastSec.every((a) => a.src === pair.src(pair.lb1) && a.count === 0 && a.addrs.length === 0 && a.priority === 150),
        `the last adverts are lb1's, priority 150, 0 addresses: ${JSON.stringify(lastSec.map((a) => [a.src, a.priority, a.count]))}`);
      if (peerKind === 'tandem') {
        assert.equal((peer as Tandem).state('VI_1'), 'BACKUP');
        assert.ok(readFileSync(log, 'utf8').includes('lb2 backup'), 'lb2\'s notify_backup');
      }
      // lb1 stops (priority 0): the peer takes over.
      assert.equal(await d1.stop(), 0);
      await waitFor(() => pair.obs.adverts({ src: pair.src(pair.lb2), vrid: 51 }, mark).some((a) => a.priority === 100 && a.count === 0),
        { timeoutMs: pair.takeoverMs(100), what: `${peerKind} on lb2 advertising as master` });
      if (peerKind === 'tandem') await waitFor(() => readFileSync(log, 'utf8').includes('lb2 master'), { timeoutMs: 5000, what: 'lb2\'s notify_master' });
    } finally {
      await pair.destroy();
    }
  });
}
