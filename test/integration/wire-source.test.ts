// Adverts from a source no router sends from (issue 12 §5): a client on the bridge sends valid,
// higher-priority (254 > 150) VRRPv3 adverts to the groups a tandem master serves, 20 per second,
// from the unspecified, "this network", loopback, multicast, broadcast and IPv4-mapped /
// -compatible addresses. keepalived 2.2.7 steps down for one from 0.0.0.0; tandem must keep the
// role and the VIP in every sample, and count each such advert as `bad_source`. The frames go
// out through a packet socket, because a raw IP socket fills a zero IPv4 source in (raw(7)).
//
// Linux itself drops some kinds before any socket sees them (IPv4: a multicast or limited
// broadcast source, ip_mc_validate_source(); loopback unless route_localnet, which this test sets
// so that 127.0.0.2 does arrive; IPv6: ::1 and multicast sources, ip6_rcv_core(), counted in
// Ip6InHdrErrors). For those the test checks that they reached the interface and that tandem saw
// nothing; the other kinds reach the socket and must be counted as bad_source, one for one.
// At the end the same sender's adverts from the client's real address make the master step down,
// so the frames themselves are right and only the source made the difference.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Lab, sleep, waitFor, type LabNode } from '../lib/netns.js';
import { encodeVrrp, ethernetFrame, ipv4Datagram, ipv6Datagram, sendFrames } from '../lib/raw-sender.js';
import type { Tandem, TandemStateFile } from '../lib/tandem.js';
import { startWireMaster, wireLab } from '../lib/wireLab.js';

const GROUP4 = '224.0.0.18', GROUP6 = 'ff02::12';
const VIP4 = '192.0.2.101', VIP6 = '2001:db8::101';
const RATE_PER_S = 20;
const PER_KIND = 20; // one second of them

let lab: Lab;
let lb1: LabNode;
let client: LabNode;
let tandem: Tandem;

before(async () => {
  lab = await wireLab({ ipv6: true, tools: ['python3'] });
  lb1 = lab.node('lb1');
  client = lab.node('client');
  // No reverse-path filter (a loose or strict one would drop the directed broadcast source in
  // the kernel already), and 127/8 sources accepted from the wire, so that those kinds reach
  // tandem's socket and its own check is what is tested.
  await lab.exec(lb1, ['sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.eth0.rp_filter=0',
    'net.ipv4.conf.all.route_localnet=1', 'net.ipv4.conf.eth0.route_localnet=1']);
  tandem = await startWireMaster(lab, [
    { name: 'VI_4', vrid: 52, version: 3, priority: 150, advertInt: 1, vips: [`${VIP4}/24`] },
    { name: 'VI_6', vrid: 53, version: 3, priority: 150, advertInt: 1, vips: [`${VIP6}/64`] },
  ]);
});

after(async () => { await lab?.destroy(); });

/** A valid advert at priority 254 for the instance of `src`'s family, from `src`. */
function frame(src: string): Uint8Array {
  const v6 = src.includes(':');
  const dst = v6 ? GROUP6 : GROUP4;
  const vrrp = encodeVrrp({ version: 3, vrid: v6 ? 53 : 52, priority: 254, advertInt: 100, addrs: [v6 ? VIP6 : VIP4] }, { src, dst });
  return ethernetFrame(client.mac, v6 ? ipv6Datagram({ src, dst, hopLimit: 255, payload: vrrp }) : ipv4Datagram({ src, dst, ttl: 255, payload: vrrp }));
}

function snapshot(): TandemStateFile {
  const s = tandem.readState();
  assert.ok(s, `state file ${tandem.statePath} unreadable`);
  return s;
}

const totalDrops = (s: TandemStateFile) => Object.values(s.rx.drops).reduce((a, b) => a + (b ?? 0), 0);

async function rxPackets(): Promise<number> {
  return Number((await lab.exec(lb1, ['cat', '/sys/class/net/eth0/statistics/rx_packets'])).stdout.trim());
}

async function ip6InHdrErrors(): Promise<number> {
  const m = /^Ip6InHdrErrors\s+(\d+)$/m.exec((await lab.exec(lb1, ['cat', '/proc/net/snmp6'])).stdout);
  assert.ok(m, 'Ip6InHdrErrors not in /proc/net/snmp6');
  return Number(m[1]);
}

interface Kind { what: string; src: string; reaches: boolean }

const KINDS: Kind[] = [
  { what: 'unspecified 0.0.0.0', src: '0.0.0.0', reaches: true },
  { what: "'this network' 0.1.2.3", src: '0.1.2.3', reaches: true },
  { what: 'loopback 127.0.0.2', src: '127.0.0.2', reaches: true },
  { what: 'the directed broadcast of 192.0.2.0/24', src: '192.0.2.255', reaches: true },
  { what: 'multicast 224.0.0.5', src: '224.0.0.5', reaches: false },
  { what: 'limited broadcast 255.255.255.255', src: '255.255.255.255', reaches: false },
  { what: 'unspecified ::', src: '::', reaches: true },
  { what: 'IPv4-mapped ::ffff:192.0.2.50', src: '::ffff:192.0.2.50', reaches: true },
  { what: 'IPv4-compatible loopback ::127.0.0.1', src: '::127.0.0.1', reaches: true },
  { what: 'loopback ::1', src: '::1', reaches: false },
  { what: 'multicast ff02::1', src: 'ff02::1', reaches: false },
];

for (const k of KINDS) {
  test(`higher-priority adverts from ${k.what}, ${RATE_PER_S}/s: the master keeps its role and VIP${k.reaches ? ', each counted as bad_source' : ' (the kernel drops them first)'}`, async () => {
    const v6 = k.src.includes(':');
    const inst = v6 ? 'VI_6' : 'VI_4';
    const vip = v6 ? VIP6 : VIP4;
    // Each case starts from a master (a case that failed left it BACKUP; Master_Down_Interval
    // brings it back).
    await tandem.waitForState(inst, 'MASTER', 15_000);
    const before = snapshot();
    const rx0 = await rxPackets();
    const hdr0 = v6 ? await ip6InHdrErrors() : 0;
    const frames = Array.from({ length: PER_KIND }, () => frame(k.src));
    // Sample the VIP and the state while the adverts arrive (and for one advert interval after).
    let sending = true;
    const sent = sendFrames(lab, client, frames, 1000 / RATE_PER_S).finally(() => { sending = false; });
    const samples: string[] = [];
    for (let i = 0; i < 200 && (sending || samples.length < 25); i++) {
      const [has, st] = await Promise.all([lab.hasAddress(lb1, vip), Promise.resolve(tandem.state(inst))]);
      samples.push(`${has ? 'vip' : 'NO VIP'}/${st}`);
      await sleep(50);
    }
    await sent;
    const bad = samples.filter((x) => x !== 'vip/MASTER');
    assert.deepEqual(bad, [], `${bad.length} of ${samples.length} samples without the VIP or not MASTER: ${samples.join(' ')}`);
    if (k.reaches) {
      const after = await waitFor(() => {
        const s = tandem.readState();
        return s && (s.rx.drops.bad_source ?? 0) - (before.rx.drops.bad_source ?? 0) >= PER_KIND ? s : null;
      }, { timeoutMs: 5000, intervalMs: 50, what: `${PER_KIND} more bad_source drops` }).catch((e: Error) => {
        throw new Error(`${e.message}\nrx before ${JSON.stringify(before.rx)}\nrx now ${JSON.stringify(tandem.readState()?.rx)}\n${tandem.tail()}`);
      });
      assert.equal((after.rx.drops.bad_source ?? 0) - (before.rx.drops.bad_source ?? 0), PER_KIND, 'one bad_source per advert');
      assert.equal(totalDrops(after) - totalDrops(before), PER_KIND, `only bad_source counts: ${JSON.stringify(after.rx.drops)}`);
    } else {
      assert.ok(await rxPackets() - rx0 >= PER_KIND, 'the frames reached lb1\'s interface');
      if (v6) assert.ok(await ip6InHdrErrors() - hdr0 >= PER_KIND, 'the kernel counted them in Ip6InHdrErrors');
      await sleep(200);
      assert.equal(totalDrops(snapshot()), totalDrops(before), 'tandem saw none of them');
    }
    const after = snapshot();
    assert.equal(after.rx.accepted, before.rx.accepted, 'none was accepted');
    for (const b of before.instances) {
      const a = after.instances.find((x) => x.name === b.name)!;
      assert.equal(a.state, 'MASTER', `${b.name} left MASTER`);
      assert.equal(a.transitions, b.transitions, `${b.name} made a transition`);
    }
  });
}

test('the same adverts from the client\'s real addresses make the master step down (IPv4 and IPv6)', async () => {
  for (const [inst, src] of [['VI_4', client.ipv4[0]!], ['VI_6', client.linkLocal]] as const) {
    await tandem.waitForState(inst, 'MASTER', 15_000);
    const before = snapshot();
    await sendFrames(lab, client, [frame(src)]);
    await tandem.waitForState(inst, 'BACKUP', 3000).catch((e: Error) => {
      throw new Error(`a valid priority-254 advert from ${src} did not make ${inst} step down: ${e.message}`);
    });
    assert.ok(snapshot().rx.accepted > before.rx.accepted);
    assert.equal(snapshot().instances.find((i) => i.name === inst)!.master_ip, src);
  }
  // With no more adverts, both take the role back after Master_Down_Interval.
  await tandem.waitForState('VI_4', 'MASTER', 10_000);
  await tandem.waitForState('VI_6', 'MASTER', 10_000);
});
