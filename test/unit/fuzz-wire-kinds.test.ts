// The wire fuzz's packet kinds (test/fuzz/wireKinds.ts) are what they claim: each generated
// packet, judged by the daemon's own receive checks (src/vrrp/validate.ts) with the instances the
// fuzzed master runs, is dropped for exactly the kind's reason. The wire campaign then only has
// to show that what crossed the wire was counted the same way; this test keeps a kind from
// silently drifting into another reason (or into "accepted") when either side changes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateAdvert, type InstanceRx } from '../../src/vrrp/validate.js';
import { CaseCount } from '../lib/cases.js';
import { mulberry32 } from '../lib/prng.js';
import { INSTANCES, PASS, WIRE_KINDS, controlPacket, type WireTopology } from '../fuzz/wireKinds.js';
import { encodeVrrp, checksumAcceptable } from '../fuzz/frames.js';

const topo: WireTopology = {
  masterIp4: '192.0.2.1', masterIp6: '2001:db8::1', attackerIp4: '192.0.2.66', attackerIp6: '2001:db8::66',
  attackerLinkLocal: 'fe80::66',
};

function rxOf(k: keyof typeof INSTANCES): InstanceRx {
  const i = INSTANCES[k];
  const v6 = i.vip.includes(':');
  return {
    version: i.version, authType: i.version === 2 ? 1 : 0, authPass: i.version === 2 ? PASS : '',
    advertIntCs: Math.round(i.advertInt * 100), addresses: [i.vip],
    unicastPeers: i.unicast ? [v6 ? '2001:db8::2' : '192.0.2.2'] : [],
    ownAddresses: [v6 ? (i.unicast ? topo.masterIp6 : 'fe80::1') : topo.masterIp4],
  };
}

/** The VRID lookup of the socket a packet of `family` arrives on. */
function lookupFor(family: 4 | 6): (vrid: number) => InstanceRx | undefined {
  const keys = (Object.keys(INSTANCES) as Array<keyof typeof INSTANCES>).filter((k) => INSTANCES[k].vip.includes(':') === (family === 6));
  const m = new Map(keys.map((k) => [INSTANCES[k].vrid, rxOf(k)]));
  return (vrid) => m.get(vrid);
}

describe('fuzz wire kinds', () => {
  for (const kind of WIRE_KINDS) {
    it(`${kind.name}: 2,000 generated packets are each dropped as ${kind.reason ?? 'something, never accepted'}`, () => {
      const rng = mulberry32(0x5eed ^ kind.name.length);
      const reasons: Record<string, number> = {};
      const cases = new CaseCount(kind.name, 2000);
      for (let i = 0; i < 2000; i++) {
        const p = kind.make(rng, topo);
        const v = validateAdvert({ family: kind.family, payload: p.payload, src: p.src, dst: p.dst, ttl: p.ttl, ifindex: 2 }, lookupFor(kind.family));
        const r = v.ok ? 'accepted' : v.reason;
        reasons[r] = (reasons[r] ?? 0) + 1;
        cases.checked();
      }
      cases.done();
      if (kind.reason) assert.deepEqual(reasons, { [kind.reason]: 2000 });
      else assert.equal(reasons.accepted, undefined, JSON.stringify(reasons));
    });
  }

  it('the control packet is a valid advert the master accepts', () => {
    const rng = mulberry32(7);
    for (let i = 0; i < 100; i++) {
      const p = controlPacket(rng, topo);
      const v = validateAdvert({ family: 4, payload: p.payload, src: p.src, dst: p.dst, ttl: p.ttl, ifindex: 2 }, lookupFor(4));
      assert.ok(v.ok, JSON.stringify(v));
      assert.equal(v.advert.priority, 1);
    }
  });

  it('the encoder agrees with the daemon on a valid v3/IPv6 advert and its checksum forms', () => {
    const ip = { src: 'fe80::66', dst: 'ff02::12' };
    const msg = encodeVrrp({ version: 3, vrid: 61, priority: 200, advertInt: 20, addrs: ['2001:db8::100'] }, ip);
    assert.ok(checksumAcceptable(msg, ip));
    const v = validateAdvert({ family: 6, payload: msg, ...ip, ttl: 255, ifindex: 2 }, lookupFor(6));
    assert.ok(v.ok, JSON.stringify(v));
    msg[7] ^= 1;
    assert.ok(!checksumAcceptable(msg, ip));
  });
});
