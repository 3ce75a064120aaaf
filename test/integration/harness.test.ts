// Proves the integration harness itself with a keepalived pair (no tandem involved): namespaces
// and bridge, keepalived helper, wire observer, failover measurement, and cleanup. If these fail,
// the tandem tests that use the same harness cannot be trusted either.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Lab, requireLabTools, run, waitFor, type LabNode } from '../lib/netns.js';
import { Keepalived, type KeepalivedInstanceSpec } from '../lib/keepalived.js';
import { Observer, masterDownIntervalS, measureFailover, nowNs } from '../lib/observer.js';
import { encodeVrrp, ipv4Datagram, sendIpv4Datagrams } from '../lib/raw-sender.js';

const labs: Lab[] = [];
after(async () => { for (const l of labs) await l.destroy(); });

async function newLab(): Promise<Lab> {
  requireLabTools('tcpdump', 'keepalived');
  const lab = await Lab.create({
    prefix: 'tC',
    nodes: [
      { name: 'lb1', ipv4: ['192.0.2.1/24'], ipv6: ['2001:db8::1/64'] },
      { name: 'lb2', ipv4: ['192.0.2.2/24'], ipv6: ['2001:db8::2/64'] },
    ],
  });
  labs.push(lab);
  return lab;
}

async function assertVipOnlyOn(lab: Lab, vip: string, expected: LabNode, all: LabNode[]): Promise<void> {
  const holders = await lab.holders(vip, all);
  assert.deepEqual(holders, [expected.name], `VIP ${vip} should be on exactly ${expected.name}, is on [${holders.join(', ')}]`);
}

for (const family of [4, 6] as const) {
  const version = family === 4 ? 2 : 3;
  const advertInt = family === 4 ? 1 : 0.1;
  const vip = family === 4 ? '192.0.2.100' : '2001:db8::100';
  test(`harness: keepalived pair (v${version} IPv${family}, advert ${advertInt}s) fails over after kill -9 and the observer sees it`, async () => {
    const lab = await newLab();
    try {
      const lb1 = lab.node('lb1');
      const lb2 = lab.node('lb2');
      const obs = await Observer.start(lab);
      const instance = (priority: number): KeepalivedInstanceSpec => ({
        name: 'VI_1', vrid: 51, version, priority, advertInt,
        ...(version === 2 ? { authPass: 's3cret' } : {}),
        vips: [`${vip}/${family === 4 ? 24 : 64}`],
      });
      const k1 = await Keepalived.start(lab, lb1, { routerId: 'lb1', instances: [instance(150)] });
      await k1.waitForState('VI_1', 'MASTER', 15_000);
      const k2 = await Keepalived.start(lab, lb2, { routerId: 'lb2', instances: [instance(100)] });
      const src1 = family === 4 ? lb1.ipv4[0]! : lb1.linkLocal;
      const src2 = family === 4 ? lb2.ipv4[0]! : lb2.linkLocal;
      // lb2 has heard lb1: it stays BACKUP past its own Master_Down_Interval.
      const mark = obs.mark;
      await obs.waitForEvent((e) => e.kind === 'vrrp' && e.src === src1, 5000, mark, 'an advert from lb1');
      await waitFor(() => obs.adverts({ src: src1 }, mark).length >= 4, { timeoutMs: 10_000, what: '4 adverts from lb1' });
      assert.equal(k2.currentState('VI_1'), 'BACKUP', `lb2 should be BACKUP:\n${k2.tail()}`);
      assert.equal(obs.adverts({ src: src2 }).length, 0, 'lb2 sent adverts while lb1 was master');
      await assertVipOnlyOn(lab, vip, lb1, [lb1, lb2]);

      const first = obs.adverts({ src: src1 })[0]!;
      assert.equal(first.ttl, 255, 'VRRP is sent with TTL/hop limit 255 (RFC 5798 §5.1.1.3)');
      assert.equal(first.version, version);
      assert.equal(first.vrid, 51);
      assert.equal(first.priority, 150);
      assert.equal(first.advertIntCs, Math.round(advertInt * 100));
      assert.deepEqual(first.addrs, [vip]);

      const killedAt = nowNs();
      await k1.kill9();
      // A crash leaves the VIP where it was: proof that nothing ran a graceful stop.
      assert.ok(await lab.hasAddress(lb1, vip), 'kill -9 should leave the VIP on the dead master');
      await lab.removeAddress(lb1, vip); // what a reboot of the dead director would do
      await k2.waitForState('VI_1', 'MASTER', 15_000);
      await assertVipOnlyOn(lab, vip, lb2, [lb1, lb2]);
      await obs.waitForEvent((e) => (e.kind === 'arp' && e.gratuitous && e.senderIp === vip) || (e.kind === 'na' && e.targetIp === vip && e.srcMac === lb2.mac), 5000, mark, 'lb2 announcing the VIP');
      await obs.stop();

      const m = measureFailover(obs.events, { vrid: 51, oldMasterSrc: src1, newMasterSrc: src2, newMasterMac: lb2.mac, vip, sinceNs: killedAt });
      assert.ok(m, 'observer should see the old master\'s last advert and the new master\'s first advert');
      const mdi = masterDownIntervalS(version, 100, advertInt);
      // The backup reset its timer on the last advert it heard, so it cannot speak before
      // Master_Down_Interval (a few ms of scheduling slack below); the upper bound is generous
      // because this is a correctness test, the benchmark measures the timing.
      assert.ok(m.advertGapS >= mdi - 0.02 && m.advertGapS <= mdi + 1.0,
        `gap from lb1's last advert to lb2's first: ${m.advertGapS.toFixed(4)} s, Master_Down_Interval ${mdi.toFixed(4)} s`);
      assert.equal(m.firstNewAdvert.priority, 100);
      assert.ok(m.firstAnnouncement, 'lb2 should announce the VIP (GARP / unsolicited NA)');
      assert.ok(m.announceAfterAdvertS! >= -0.05 && m.announceAfterAdvertS! < 1,
        `first announcement ${m.announceAfterAdvertS} s after the first advert`);
      if (family === 6) {
        const na = m.firstAnnouncement;
        assert.equal(na.kind, 'na');
        if (na.kind === 'na') {
          assert.equal(na.override, true, 'unsolicited NA sets the Override flag (RFC 4861 §7.2.6)');
          assert.equal(na.hopLimit, 255);
          assert.equal(na.targetMac, lb2.mac);
        }
      }
      await k2.stop();
    } finally {
      await lab.destroy();
    }
  });
}

test('harness: keepalived logs a complaint for each bad packet, so the interop "no complaints" check can fail', async () => {
  requireLabTools('keepalived', 'python3');
  const lab = await Lab.create({ prefix: 'tC', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }, { name: 'client', ipv4: ['192.0.2.50/24'] }] });
  labs.push(lab);
  try {
    const k = await Keepalived.start(lab, lab.node('lb1'), { routerId: 'lb1', instances: [
      { name: 'VI_1', vrid: 51, version: 2, priority: 150, advertInt: 1, authPass: 's3cret', vips: ['192.0.2.100/24'] },
    ] });
    await k.waitForState('VI_1', 'MASTER', 15_000);
    assert.deepEqual(k.complaints(), [], 'no complaint before any bad packet');
    const ck = { src: '192.0.2.50', dst: '224.0.0.18' };
    const good = { version: 2, vrid: 51, priority: 100, advertInt: 1, authPass: 's3cret', addrs: ['192.0.2.100'] };
    const bad = [
      ipv4Datagram({ ...ck, ttl: 64, payload: encodeVrrp(good, ck) }),
      ipv4Datagram({ ...ck, ttl: 255, payload: encodeVrrp(good, { ...ck, corrupt: 0x10 }) }),
      ipv4Datagram({ ...ck, ttl: 255, payload: encodeVrrp({ ...good, authPass: 'nope' }, ck) }),
      ipv4Datagram({ ...ck, ttl: 255, payload: encodeVrrp({ ...good, addrs: ['192.0.2.99'] }, ck) }),
    ];
    const mark = k.mark;
    await sendIpv4Datagrams(lab, lab.node('client'), bad);
    await waitFor(() => k.complaints(mark).length >= bad.length, { timeoutMs: 5000, what: `${bad.length} complaints in keepalived's log` })
      .catch((err: Error) => { throw new Error(`${err.message}\n${k.tail()}`); });
    const text = k.complaints(mark).join('\n');
    for (const re of [/invalid TTL/, /checksum/i, /invalid passwd/, /not present in MASTER advert/]) assert.match(text, re);
    assert.equal(k.currentState('VI_1'), 'MASTER');
    await k.stop();
  } finally {
    await lab.destroy();
  }
});

test('harness: destroy() and a SIGTERM of the test process both delete every namespace', async () => {
  requireLabTools();
  const lab = await Lab.create({ prefix: 'tC', nodes: [{ name: 'a', ipv4: ['192.0.2.1/24'] }] });
  const sleeper = lab.spawn(lab.node('a'), ['sleep', '60']);
  const names = [lab.bridgeNs, lab.node('a').ns];
  await lab.destroy();
  assert.equal(sleeper.running, false, 'destroy() kills processes it started');
  let listed = (await run(['ip', 'netns', 'list'])).stdout;
  for (const n of names) assert.ok(!listed.includes(n), `namespace ${n} left after destroy()`);

  // A separate process that builds a lab and is then terminated by a signal.
  const libUrl = new URL('../lib/netns.js', import.meta.url).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    const m = await import(${JSON.stringify(libUrl)});
    const lab = await m.Lab.create({ prefix: 'tC', nodes: [{ name: 'a' }] });
    lab.spawn(lab.node('a'), ['sleep', '60']);
    console.log('ready ' + lab.bridgeNs + ' ' + lab.node('a').ns);
    setInterval(() => {}, 1000);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`child lab not ready: ${out}`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\S+) (\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(`${m[1]} ${m[2]}`); }
    });
  });
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  listed = (await run(['ip', 'netns', 'list'])).stdout;
  for (const n of ready.split(' ')) assert.ok(!listed.includes(n), `namespace ${n} left after SIGTERM of its owner`);
});
