// use_vmac on the wire (issue 16 §3): two directors on one Linux bridge (the "switch") with a
// client, each instance with use_vmac (the VMAC vrrp.51, RFC 5798 §7.3 virtual MAC
// 00:00:5e:00:01:33 for IPv4, 00:00:5e:00:02:33 for IPv6), a tandem pair and mixed
// tandem/keepalived pairs with either one as the first master, VRRPv3 over IPv4 and over IPv6.
// Asserted from the bridge's capture and from the client and the bridge themselves:
// - the master's adverts carry the virtual MAC as their Ethernet source (keepalived sends from the
//   VMAC unless vmac_xmit_base: vrrp.c vrrp_create_sockpool());
// - the VIP is on the master's VMAC, not on eth0;
// - the client's neighbour entry for the VIP is the virtual MAC, before and after the failover
//   (the point of a VMAC: no client has to learn a new MAC);
// - the bridge learns the virtual MAC on the new master's port after the failover (its GARP / NA
//   and adverts come from there);
// - tandem removes the VMAC it made when it stops.
// IPv4 needs arp_announce=2 on the base interface (set here on both directors, README): shown
// needed once by leaving it out, when the client's entry became the base interface's MAC
// (STALE: learnt from the director's ARP request), for keepalived as for tandem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireTools, waitFor, type LabNode } from '../lib/netns.js';
import type { Keepalived } from '../lib/keepalived.js';
import type { Tandem } from '../lib/tandem.js';
import { Pair, V3_IPV4, V3_IPV6, type Profile } from '../lib/pair.js';
import type { VrrpEvent } from '../lib/observer.js';

const HIGH = 200;
const LOW = 100;
const VMAC = 'vrrp.51';
const TIMEOUT = { timeout: 120_000 };

type Impl = 'tandem' | 'keepalived';

function virtualMac(family: 4 | 6): string {
  return `00:00:5e:00:0${family === 4 ? 1 : 2}:33`; // VRID 51 = 0x33
}

async function start(pair: Pair, impl: Impl, node: LabNode, priority: number): Promise<Tandem | Keepalived> {
  return impl === 'tandem' ? pair.startTandem(node, priority, { useVmac: true }) : pair.startKeepalived(node, priority, { useVmac: true });
}

/** Waits until the VIP is on `node`'s VMAC (and not on its eth0). */
async function vipOnVmac(pair: Pair, node: LabNode, step: string): Promise<void> {
  const vip = pair.profile.vip;
  try {
    await waitFor(async () => {
      const onVmac = (await pair.lab.addresses(node, VMAC).catch(() => [])).some((a) => a.local === vip);
      const onEth0 = (await pair.lab.addresses(node)).some((a) => a.local === vip);
      return onVmac && !onEth0;
    }, { timeoutMs: pair.takeoverMs(LOW), intervalMs: 50, what: `${vip} on ${node.name}'s ${VMAC}` });
  } catch (e) {
    const r = await pair.lab.exec(node, ['ip', '-br', 'addr'], { allowFail: true });
    assert.fail(`${step}: ${(e as Error).message}\n${r.stdout}`);
  }
}

/** Waits for an advert from `node` (its source address) after `from`; returns it. */
async function advertFrom(pair: Pair, node: LabNode, from: number, what: string): Promise<VrrpEvent> {
  const src = pair.src(node);
  return pair.obs.waitForEvent((e): e is VrrpEvent => e.kind === 'vrrp' && e.src === src && e.priority > 0, 5000, from, `${what}: an advert from ${node.name}`);
}

/** The bridge port the bridge's forwarding table has `mac` on (learned entries only). */
async function fdbPort(pair: Pair, mac: string): Promise<string | undefined> {
  const r = await pair.lab.exec(pair.lab.bridgeNs, ['bridge', '-j', 'fdb', 'show', 'br', pair.lab.bridge]);
  const entries = JSON.parse(r.stdout || '[]') as Array<{ mac: string; ifname: string; state?: string; flags?: string[] }>;
  return entries.find((e) => e.mac === mac && e.state !== 'permanent')?.ifname;
}

async function vmacExists(pair: Pair, node: LabNode): Promise<boolean> {
  return (await pair.lab.exec(node, ['ip', 'link', 'show', 'dev', VMAC], { allowFail: true })).code === 0;
}

for (const profile of [V3_IPV4, V3_IPV6] as Profile[]) {
  for (const [first, second] of [['tandem', 'tandem'], ['tandem', 'keepalived'], ['keepalived', 'tandem']] as Array<[Impl, Impl]>) {
    test(`use_vmac ${profile.id}: ${first} master, ${second} backup: adverts and the client's neighbour entry carry the virtual MAC, the bridge learns the new port on failover`, TIMEOUT, async () => {
      requireTools('keepalived', 'bridge');
      const pair = await Pair.create(profile, 'tV');
      const mac = virtualMac(profile.family);
      const running: Array<Tandem | Keepalived> = [];
      try {
        // The operator's part of an IPv4 VMAC (keepalived sets no arp_announce either): without
        // it the base interface's own ARP requests (for the client, to send a reply from the
        // VIP) announce the VIP with the base MAC, and the client's entry flips to it.
        if (profile.family === 4) {
          for (const d of pair.directors) await pair.lab.exec(d, ['sysctl', '-qw', 'net.ipv4.conf.eth0.arp_announce=2']);
        }
        const d1 = await start(pair, first, pair.lb1, HIGH);
        running.push(d1);
        await vipOnVmac(pair, pair.lb1, `${first} master`);
        const d2 = await start(pair, second, pair.lb2, LOW);
        running.push(d2);

        const a1 = await advertFrom(pair, pair.lb1, pair.obs.mark, 'first master');
        assert.equal(a1.srcMac, mac, `${first}'s adverts leave from the VMAC`);
        await pair.clientPingsVip();
        const n1 = await pair.lab.neighbour(pair.client, profile.vip);
        assert.equal(n1?.lladdr, mac, `the client's neighbour entry for the VIP is the virtual MAC: ${JSON.stringify(n1)}`);
        assert.equal(await fdbPort(pair, mac), pair.lb1.bridgePort, 'the bridge has the virtual MAC on the master\'s port');

        // Failover: the first master stops (priority 0 advert), the backup takes over.
        const mark = pair.obs.mark;
        await d1.stop();
        running.shift();
        await vipOnVmac(pair, pair.lb2, `${second} master after the stop`);
        const a2 = await advertFrom(pair, pair.lb2, mark, 'new master');
        assert.equal(a2.srcMac, mac, `${second}'s adverts leave from the VMAC`);
        await waitFor(async () => (await fdbPort(pair, mac)) === pair.lb2.bridgePort,
          { timeoutMs: 5000, intervalMs: 50, what: 'the bridge learns the virtual MAC on the new master\'s port' })
          .catch(async (e: Error) => assert.fail(`${e.message}: now on ${await fdbPort(pair, mac)}`));
        // The client never had to learn anything: its entry still says the virtual MAC, and the
        // VIP answers through it from the new master.
        const n2 = await pair.lab.neighbour(pair.client, profile.vip);
        assert.equal(n2?.lladdr, mac, `after the failover the client's entry is still the virtual MAC: ${JSON.stringify(n2)}`);
        await pair.clientPingsVip();
        if (first === 'tandem') assert.equal(await vmacExists(pair, pair.lb1), false, 'tandem removed the VMAC it made when it stopped');
      } finally {
        for (const d of running) await d.stop().catch(async () => { await d.kill9(); });
        await pair.destroy();
      }
    });
  }
}
