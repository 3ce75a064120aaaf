// The VRRP codec against adverts captured from a real keepalived (test/fixtures/golden, made by
// capture.sh), and round trips of random adverts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeAdvert, encodeAdvert, type Advert, type IpContext } from '../../src/vrrp/packet.js';
import { checksumValid, onesSum } from '../../src/ip/checksum.js';
import { validateAdvert, type InstanceRx } from '../../src/vrrp/validate.js';
import { formatIp, isMulticast, VRRP_GROUP4, VRRP_GROUP6, type Family } from '../../src/ip/address.js';
import { CaseCount } from '../lib/cases.js';
import { mulberry32 } from '../lib/prng.js';

interface GoldenPacket {
  scenario: string; role: 'first' | 'stop'; generator: string;
  family: Family; src: string; dst: string; ttl: number; payload: string;
}
const golden: { packets: GoldenPacket[] } = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/golden/golden.json', import.meta.url), 'utf8'));

// What each scenario's keepalived.conf says (see capture.sh): the expected fields come from the
// configs, not from the decoder under test.
interface Scenario {
  generator: RegExp; advert: Omit<Advert, 'priority'>; priority: number;
  src: string | RegExp; dst: string; encode?: { v3ChecksumAsV2?: boolean; v3OldUnicastChecksum?: boolean };
  unicastPeers: string[]; note?: 'checksum_v2_form' | 'checksum_old_unicast_form';
}
const KA_227 = /^Keepalived v2\.2\.7 /;
const SCENARIOS: Record<string, Scenario> = {
  v2_ipv4_pass: {
    generator: KA_227, priority: 100, src: '192.0.2.1', dst: VRRP_GROUP4, unicastPeers: [],
    advert: { version: 2, type: 1, vrid: 51, advertIntCs: 100, addresses: ['192.0.2.100', '192.0.2.101'], authType: 1, authPass: 's3cret' },
  },
  v3_ipv4: {
    generator: KA_227, priority: 150, src: '192.0.2.1', dst: VRRP_GROUP4, unicastPeers: [],
    advert: { version: 3, type: 1, vrid: 52, advertIntCs: 50, addresses: ['192.0.2.110'], authType: 0, authPass: '' },
  },
  v3_ipv6: {
    // keepalived sends IPv6 adverts from the interface's link-local address.
    generator: KA_227, priority: 200, src: /^fe80::/, dst: VRRP_GROUP6, unicastPeers: [],
    advert: { version: 3, type: 1, vrid: 53, advertIntCs: 25, addresses: ['2001:db8::100', '2001:db8:0:1::101'], authType: 0, authPass: '' },
  },
  v3_ipv4_unicast: {
    generator: KA_227, priority: 90, src: '192.0.2.1', dst: '192.0.2.2', unicastPeers: ['192.0.2.1'],
    advert: { version: 3, type: 1, vrid: 54, advertIntCs: 100, addresses: ['192.0.2.120', '192.0.2.121', '192.0.2.122'], authType: 0, authPass: '' },
  },
  v3_ipv4_unicast_old_checksum: {
    generator: KA_227, priority: 120, src: '192.0.2.1', dst: '192.0.2.2', unicastPeers: ['192.0.2.1'],
    encode: { v3OldUnicastChecksum: true }, note: 'checksum_old_unicast_form',
    advert: { version: 3, type: 1, vrid: 55, advertIntCs: 100, addresses: ['192.0.2.130'], authType: 0, authPass: '' },
  },
  v3_ipv4_checksum_as_v2: {
    // keepalived 2.2.7 cannot send this form; Debian 13's keepalived 2.3.3 (capture.sh trixie).
    generator: /^Keepalived v2\.3\.3 /, priority: 110, src: '192.0.2.1', dst: VRRP_GROUP4, unicastPeers: [],
    encode: { v3ChecksumAsV2: true }, note: 'checksum_v2_form',
    advert: { version: 3, type: 1, vrid: 56, advertIntCs: 100, addresses: ['192.0.2.140'], authType: 0, authPass: '' },
  },
};

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

test('golden fixtures hold every scenario, each with its first advert and its priority-0 stop advert', () => {
  for (const name of Object.keys(SCENARIOS)) {
    for (const role of ['first', 'stop']) {
      assert.equal(golden.packets.filter((p) => p.scenario === name && p.role === role).length, 1, `${name} ${role}`);
    }
  }
  assert.equal(golden.packets.length, Object.keys(SCENARIOS).length * 2);
});

for (const g of golden.packets) {
  const sc = SCENARIOS[g.scenario];
  test(`golden ${g.scenario} (${g.role}): decode, validate and re-encode byte-identical`, () => {
    assert.ok(sc, `no expectations for scenario ${g.scenario}`);
    assert.match(g.generator, sc.generator);
    assert.equal(g.ttl, 255, 'keepalived sends with TTL / hop limit 255');
    assert.equal(g.dst, sc.dst);
    if (typeof sc.src === 'string') assert.equal(g.src, sc.src); else assert.match(g.src, sc.src);

    const payload = bytes(g.payload);
    const want: Advert = { ...sc.advert, priority: g.role === 'stop' ? 0 : sc.priority };
    const d = decodeAdvert(payload, g.family);
    assert.ok(d.ok, JSON.stringify(d));
    assert.deepEqual(d.advert, want);
    assert.equal(d.checksum, (payload[6]! << 8) | payload[7]!);

    const ip: IpContext = { family: g.family, src: g.src, dst: g.dst };
    assert.deepEqual(encodeAdvert(want, ip, sc.encode), payload, 're-encoded bytes differ from keepalived\'s');

    // The checksum form keepalived used, checked without the decoder: v2 over the message,
    // v3 with the pseudo-header (or the form the scenario names).
    const form = want.version === 2 || sc.encode?.v3ChecksumAsV2 ? 'message'
      : sc.encode?.v3OldUnicastChecksum ? 'pseudo_mcast_dst' : 'pseudo';
    assert.equal(checksumValid(payload, form, ip), true, `checksum form ${form}`);
    if (form !== 'pseudo' && want.version === 3) assert.equal(checksumValid(payload, 'pseudo', ip), false);

    const inst: InstanceRx = {
      version: want.version, authType: want.authType, authPass: want.authPass, advertIntCs: want.advertIntCs,
      addresses: want.addresses.map((a) => `${a}/${g.family === 4 ? 24 : 64}`),
      unicastPeers: sc.unicastPeers, ownAddresses: [g.family === 4 ? '192.0.2.2' : '2001:db8::2'],
    };
    const v = validateAdvert({ family: g.family, payload, src: g.src, dst: g.dst, ttl: g.ttl, ifindex: 2 },
      (vrid) => (vrid === want.vrid ? inst : undefined));
    assert.ok(v.ok, JSON.stringify(v));
    assert.deepEqual(v.advert, want);
    assert.deepEqual(v.notes, sc.note ? [sc.note] : []);
  });
}

// ---- random round trips ----

const SEED = Number(process.env.VRRP_SEED ?? Math.floor(Math.random() * 2 ** 32));
const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

function randomAddress(r: () => number, family: Family): string {
  const b = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = 0; i < b.length; i++) b[i] = r() < 0.3 ? 0 : int(r, 0, 255);
  if (family === 6 && b[0] === 0xff) b[0] = 0x20; // keep unicast; multicast is picked on purpose
  return formatIp(b);
}

function randomCase(r: () => number): { advert: Advert; ip: IpContext; opts: { v3ChecksumAsV2: boolean } } {
  const family: Family = r() < 0.5 ? 4 : 6;
  // v2 over IPv6 is keepalived's own extension (no auth data); the codec handles it too.
  const version: 2 | 3 = family === 6 ? (r() < 0.1 ? 2 : 3) : r() < 0.5 ? 2 : 3;
  const withAuth = version === 2 && family === 4;
  const authType = version === 3 ? 0 : r() < 0.8 ? int(r, 0, 2) : int(r, 0, 255);
  const passLen = int(r, 0, 8);
  const authPass = withAuth && authType === 1
    ? String.fromCharCode(...Array.from({ length: passLen }, () => int(r, 0x21, 0x7e))) : '';
  const advert: Advert = {
    version, type: r() < 0.9 ? 1 : int(r, 0, 15), vrid: int(r, 0, 255), priority: int(r, 0, 255),
    advertIntCs: version === 2 ? 100 * int(r, 0, 255) : int(r, 0, 4095),
    addresses: Array.from({ length: r() < 0.05 ? int(r, 0, 255) : int(r, 0, 8) }, () => randomAddress(r, family)),
    authType, authPass,
  };
  const src = randomAddress(r, family);
  const dst = r() < 0.7 ? (family === 4 ? VRRP_GROUP4 : VRRP_GROUP6) : randomAddress(r, family);
  return { advert, ip: { family, src, dst }, opts: { v3ChecksumAsV2: family === 4 && version === 3 && r() < 0.3 } };
}

test('random adverts (v2/v3, IPv4/IPv6): decode(encode(a)) == a, checksum valid, re-encode identical', () => {
  const n = 3000;
  const cases = new CaseCount('random adverts', n);
  for (let i = 0; i < n; i++) {
    const seed = (SEED + i) >>> 0;
    const { advert, ip, opts } = randomCase(mulberry32(seed));
    const ctx = `seed ${seed} (VRRP_SEED=${SEED}, case ${i}): ${JSON.stringify({ advert, ip, opts })}`;
    const wire = encodeAdvert(advert, ip, opts);
    const expectLen = 8 + advert.addresses.length * (ip.family === 4 ? 4 : 16) + (advert.version === 2 && ip.family === 4 ? 8 : 0);
    assert.equal(wire.length, expectLen, ctx);
    const d = decodeAdvert(wire, ip.family);
    assert.ok(d.ok, ctx);
    assert.deepEqual(d.advert, advert, ctx);
    const form = advert.version === 2 || opts.v3ChecksumAsV2 ? 'message' : 'pseudo';
    assert.equal(checksumValid(wire, form, ip), true, ctx);
    assert.deepEqual(encodeAdvert(d.advert, ip, opts), wire, ctx);
    cases.checked(`v${advert.version}/IPv${ip.family}`);
  }
  // Each version over each family came up often enough to be a claim about it.
  cases.done({ kinds: ['v2/IPv4', 'v2/IPv6', 'v3/IPv4', 'v3/IPv6'], min: 100 });
});

test('checksum: one\'s complement sum of a message with its checksum is 0xffff (RFC 1071)', () => {
  // RFC 1071 §3 worked example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  assert.equal(onesSum([bytes('0001f203f4f5f6f7')]), 0xddf2);
  // Odd length pads with a zero byte; the carry folds back in: 0x0102 + 0xff00 = 0x1_0002 -> 0x0003.
  assert.equal(onesSum([bytes('0102ff')]), 0x0003);
});

test('encodeAdvert refuses fields that do not fit the wire', () => {
  const ip: IpContext = { family: 4, src: '192.0.2.1', dst: VRRP_GROUP4 };
  const base: Advert = { version: 3, type: 1, vrid: 1, priority: 100, advertIntCs: 100, addresses: ['192.0.2.9'], authType: 0, authPass: '' };
  assert.throws(() => encodeAdvert({ ...base, vrid: 256 }, ip), RangeError);
  assert.throws(() => encodeAdvert({ ...base, priority: -1 }, ip), RangeError);
  assert.throws(() => encodeAdvert({ ...base, advertIntCs: 4096 }, ip), RangeError);
  assert.throws(() => encodeAdvert({ ...base, version: 2, advertIntCs: 150 }, ip), RangeError);
  assert.throws(() => encodeAdvert({ ...base, addresses: ['2001:db8::1'] }, ip), TypeError);
  assert.throws(() => encodeAdvert({ ...base, addresses: new Array(256).fill('192.0.2.9') }, ip), RangeError);
});

test('v2 PASS: the password is cut at 8 bytes and zero padded on the wire (keepalived auth_data)', () => {
  const ip: IpContext = { family: 4, src: '192.0.2.1', dst: VRRP_GROUP4 };
  const a: Advert = { version: 2, type: 1, vrid: 9, priority: 100, advertIntCs: 100, addresses: [], authType: 1, authPass: 'longpassword' };
  const w = encodeAdvert(a, ip);
  assert.equal(Buffer.from(w.subarray(8)).toString('latin1'), 'longpass');
  const short = encodeAdvert({ ...a, authPass: 'ab' }, ip);
  assert.deepEqual([...short.subarray(8)], [0x61, 0x62, 0, 0, 0, 0, 0, 0]);
  const d = decodeAdvert(w, 4);
  assert.ok(d.ok);
  assert.equal(d.advert.authPass, 'longpass');
});

test('decodeAdvert: structure errors in keepalived\'s order, never throws', () => {
  const ip: IpContext = { family: 4, src: '192.0.2.1', dst: VRRP_GROUP4 };
  const w = encodeAdvert({ version: 2, type: 1, vrid: 9, priority: 100, advertIntCs: 100, addresses: ['192.0.2.5'], authType: 0, authPass: '' }, ip);
  const r1 = decodeAdvert(w.subarray(0, 7), 4);
  assert.equal(!r1.ok && r1.reason, 'too_short');
  const r2 = decodeAdvert(w.subarray(0, w.length - 1), 4);
  assert.equal(!r2.ok && r2.reason, 'bad_length');
  const long = new Uint8Array(w.length + 1); long.set(w);
  const r3 = decodeAdvert(long, 4);
  assert.equal(!r3.ok && r3.reason, 'bad_length');
  const v4 = w.slice(0, w.length - 8); v4[0] = 0x41; // version 4, no auth data: length fits
  const r4 = decodeAdvert(v4, 4);
  assert.equal(!r4.ok && r4.reason, 'bad_version');
  const r = mulberry32(SEED ^ 0xdecade);
  // Each junk packet is checked for "never throws"; the few that decode are also checked for a
  // version the decoder knows.
  const junkCases = new CaseCount('junk decoded without a throw', 5000);
  for (let i = 0; i < 5000; i++) {
    const junk = Uint8Array.from({ length: int(r, 0, 80) }, () => int(r, 0, 255));
    const res = decodeAdvert(junk, r() < 0.5 ? 4 : 6);
    if (res.ok) assert.ok([2, 3].includes(res.advert.version));
    junkCases.checked(res.ok ? 'decoded' : 'refused');
  }
  junkCases.done();
  assert.equal(isMulticast(VRRP_GROUP6), true);
});
