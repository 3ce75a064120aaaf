// src/ip/address.ts against tables from the RFCs and, for random addresses, against Node's own
// parsers (node:net isIP, SocketAddress and the WHATWG URL host serializer) as independent oracles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP, SocketAddress } from 'node:net';
import {
  canonicalIp, compareIp, formatIp, inetNtop, isMulticast, netmaskToPrefix, parseIp, prefixToNetmask, sameIp, VRRP_GROUP4,
  VRRP_GROUP6,
} from '../../src/ip/address.js';
import { CaseCount } from '../lib/cases.js';
import { mulberry32 } from '../lib/prng.js';

const SEED = Number(process.env.VRRP_SEED ?? Math.floor(Math.random() * 2 ** 32));
const seedMsg = (s: number) => `seed ${s} (rerun with VRRP_SEED=${SEED})`;

test('parseIp accepts the text forms of RFC 4291 §2.2 and dotted quads', () => {
  const ok: [string, 4 | 6, string][] = [
    ['192.0.2.1', 4, 'c0000201'],
    ['0.0.0.0', 4, '00000000'],
    ['255.255.255.255', 4, 'ffffffff'],
    ['::', 6, '0'.repeat(32)],
    ['::1', 6, '0'.repeat(31) + '1'],
    ['2001:db8::1', 6, '20010db8' + '0'.repeat(23) + '1'],
    ['2001:DB8:0:0:8:800:200C:417A', 6, '20010db80000000000080800200c417a'],
    ['ff02::12', 6, 'ff02' + '0'.repeat(26) + '12'],
    ['1:2:3:4:5:6:7::', 6, '00010002000300040005000600070000'],
    ['::ffff:192.0.2.1', 6, '00000000000000000000ffffc0000201'],
    ['64:ff9b::198.51.100.7', 6, '0064ff9b0000000000000000c6336407'],
    ['fe80:0000:0000:0000:0204:61ff:fe9d:f156', 6, 'fe80000000000000020461fffe9df156'],
  ];
  for (const [s, family, hex] of ok) {
    const p = parseIp(s);
    assert.ok(p, s);
    assert.equal(p.family, family, s);
    assert.equal(Buffer.from(p.bytes).toString('hex'), hex, s);
  }
});

test('parseIp refuses what is not an address', () => {
  for (const s of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-1', '1.2.3.4 ', ' 1.2.3.4', 'a.b.c.d',
    ':::', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', ':1::', '1::2:3:4:5:6:7:8', 'fe80::1%eth0',
    '1.2.3.4::', '::1.2.3', '::g', '192.0.2.1/24', 'localhost']) {
    assert.equal(parseIp(s), undefined, JSON.stringify(s));
  }
});

test('formatIp writes RFC 5952 canonical text', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],        // §4.1, §4.2.1
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],                     // §4.2.3: first of equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],                  // §4.2.2: one 0 group stays
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],                           // §4.2.3: the longest run
    ['2001:DB8::AbCd', '2001:db8::abcd'],                              // §4.3: lowercase
    ['0:0:0:0:0:0:0:0', '::'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['::ffff:c000:0201', '::ffff:192.0.2.1'],                          // §5: IPv4-mapped
    ['198.51.100.255', '198.51.100.255'],
  ];
  for (const [input, want] of cases) assert.equal(formatIp(parseIp(input)!.bytes), want, input);
  assert.throws(() => formatIp(new Uint8Array(5)), RangeError);
});

test('random IPv6: format -> parse round-trips, and matches the URL serializer', () => {
  const rnd = mulberry32(SEED);
  const cases = new CaseCount('random IPv6', 2000);
  for (let i = 0; i < 2000; i++) {
    const b = new Uint8Array(16);
    // Zero groups are likely, so that runs of every length get compressed.
    for (let g = 0; g < 8; g++) if (rnd() < 0.5) { b[2 * g] = rnd() * 256; b[2 * g + 1] = rnd() * 256; }
    const text = formatIp(b);
    assert.deepEqual(parseIp(text)?.bytes, b, seedMsg(SEED));
    assert.equal(isIP(text), 6, text);
    const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
    if (!mapped) assert.equal(text, new URL(`http://[${text}]/`).hostname.slice(1, -1), `${text} ${seedMsg(SEED)}`);
    // The URL serializer compared the text only for addresses that are not v4-mapped.
    cases.checked(...(mapped ? [] : ['compared with the URL serializer']), ...(text.includes('::') ? ['compressed'] : []));
  }
  cases.done({ kinds: ['compared with the URL serializer'], min: 1900 });
  assert.ok(cases.of('compressed') >= 1000, `only ${cases.of('compressed')} addresses had a run of zeros to compress`);
});

test('random IPv4: format -> parse round-trips and node:net agrees', () => {
  const rnd = mulberry32(SEED ^ 0x5a5a5a5a);
  for (let i = 0; i < 1000; i++) {
    const b = Uint8Array.from({ length: 4 }, () => rnd() * 256);
    const text = formatIp(b);
    assert.equal(isIP(text), 4);
    assert.deepEqual(parseIp(text)?.bytes, b, seedMsg(SEED));
  }
});

test('compareIp orders addresses as unsigned numbers', () => {
  assert.equal(compareIp('192.0.2.2', '192.0.2.10'), -1);   // not text order
  assert.equal(compareIp('192.0.2.10', '192.0.2.2'), 1);
  assert.equal(compareIp('192.0.2.1', '192.0.2.1'), 0);
  assert.equal(compareIp('2001:db8::2', '2001:db8::10'), -1);
  assert.equal(compareIp('2001:DB8::1', '2001:db8:0::1'), 0);
  assert.equal(compareIp('255.0.0.0', '1.255.255.255'), 1);
  assert.throws(() => compareIp('192.0.2.1', '2001:db8::1'), TypeError);
  assert.throws(() => compareIp('192.0.2.1', 'nope'), TypeError);
  const rnd = mulberry32(SEED ^ 0x1234);
  const big = (s: string) => parseIp(s)!.bytes.reduce((n, x) => n * 256n + BigInt(x), 0n);
  for (let i = 0; i < 500; i++) {
    const len = rnd() < 0.5 ? 4 : 16;
    const a = formatIp(Uint8Array.from({ length: len }, () => (rnd() < 0.3 ? 0 : rnd() * 256)));
    const b = formatIp(Uint8Array.from({ length: len }, () => (rnd() < 0.3 ? 0 : rnd() * 256)));
    const want = big(a) < big(b) ? -1 : big(a) > big(b) ? 1 : 0;
    assert.equal(compareIp(a, b), want, `${a} vs ${b} ${seedMsg(SEED)}`);
  }
});

test('isMulticast: 224.0.0.0/4 and ff00::/8 only', () => {
  for (const s of [VRRP_GROUP4, '224.0.0.0', '239.255.255.255', VRRP_GROUP6, 'ff05::1:3', 'FF02::1']) assert.equal(isMulticast(s), true, s);
  for (const s of ['223.255.255.255', '240.0.0.0', '192.0.2.1', 'fe80::1', '2001:db8::12', '::ffff:224.0.0.18', 'junk']) {
    assert.equal(isMulticast(s), false, s);
  }
});

test('sameIp compares numerically and across spellings', () => {
  assert.equal(sameIp('2001:db8::1', '2001:0DB8:0:0::1'), true);
  assert.equal(sameIp('192.0.2.1', '192.0.2.01'), false); // the second is not an address
  assert.equal(sameIp('192.0.2.1', '::ffff:192.0.2.1'), false);
});

/** What the config used before src/ip/ (config/fields.ts): node:net isIP, then SocketAddress.
 *  'throws': isIP accepted the text and SocketAddress threw (libuv refuses a zoned address whose
 *  whole text exceeds INET6_ADDRSTRLEN), which made the config loader throw; canonicalIp reads it. */
function nodeCanonical(s: string): { address: string; family: 4 | 6 } | undefined | 'throws' {
  const fam = isIP(s);
  if (fam === 0) return undefined;
  try {
    return { address: new SocketAddress({ address: s, family: fam === 4 ? 'ipv4' : 'ipv6' }).address, family: fam === 4 ? 4 : 6 };
  } catch { return 'throws'; }
}

test('canonicalIp is what node:net made of config text: zones dropped, IPv4-compatible tails kept', () => {
  const cases = [
    '192.0.2.1', '0.0.0.0', '01.2.3.4', '1.2.3', ' 1.2.3.4', '1.2.3.4%eth0', '2001:DB8::0:1', '::', '::1', '::2',
    '::1.2.3.4', '::0.0.0.2', '::0.1.0.0', '::ffff', '::ffff:1.2.3.4', '::FFFF:0:0', '0:0:0:0:1:ffff:1:2',
    'fe80::1%eth0', 'fe80::1%1', 'fe80::1%', 'fe80::1%a%b', 'fe80::1% x', '::ffff:1.2.3.4%x', '1::2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::', 'aaaa:bbbb:cccc:dddd:eeee:ffff:1.2.3.4', 'junk', '',
  ];
  for (const c of cases) assert.deepEqual(canonicalIp(c), nodeCanonical(c), JSON.stringify(c));
  assert.equal(inetNtop(parseIp('::1.2.3.4')!.bytes), '::1.2.3.4');
  assert.equal(formatIp(parseIp('::1.2.3.4')!.bytes), '::102:304'); // RFC 5952 §5: mapped only
});

test('random spellings: canonicalIp agrees with node:net on every one', () => {
  const rnd = mulberry32(SEED ^ 0x77aa77aa);
  const hex = (g: number) => { const h = g.toString(16); return rnd() < 0.2 ? h.padStart(4, '0') : rnd() < 0.2 ? h.toUpperCase() : h; };
  let checked = 0;
  for (let i = 0; i < 3000; i++) {
    // Mostly-zero groups, so that zero runs, "::" and the IPv4-compatible / mapped forms all occur.
    const groups = Array.from({ length: 8 }, () => (rnd() < 0.55 ? 0 : rnd() < 0.1 ? 0xffff : Math.floor(rnd() * 0x10000)));
    let text: string;
    if (rnd() < 0.3) {
      const b = groups.slice(6);
      text = groups.slice(0, 6).map(hex).join(':') + `:${b[0]! >> 8}.${b[0]! & 0xff}.${b[1]! >> 8}.${b[1]! & 0xff}`;
    } else {
      text = groups.map(hex).join(':');
    }
    if (rnd() < 0.5) text = text.replace(/(^|:)0(:0)+(:|$)/, '::').replace(/^:::/, '::').replace(/:::$/, '::');
    // A zone is dropped (the table above checks that against node:net on short texts; on long
    // ones libuv truncates its copy and misreads the address, e.g. a dotted tail loses digits).
    assert.deepEqual(canonicalIp(`${text}%eth0`), text.includes(':') ? canonicalIp(text) : undefined, text);
    const want = nodeCanonical(text);
    if (want === 'throws') continue;
    assert.deepEqual(canonicalIp(text), want, `${text} ${seedMsg(SEED)}`);
    if (want !== undefined) checked++;
  }
  assert.ok(checked > 2000, `only ${checked} valid spellings checked`);
});

test('netmask <-> prefix', () => {
  assert.equal(netmaskToPrefix('255.255.255.0'), 24);
  assert.equal(netmaskToPrefix('0.0.0.0'), 0);
  assert.equal(netmaskToPrefix('255.255.255.255'), 32);
  assert.equal(netmaskToPrefix('255.0.255.0'), undefined);
  assert.equal(netmaskToPrefix('ffff::'), undefined);
  for (let p = 0; p <= 32; p++) assert.equal(netmaskToPrefix(prefixToNetmask(p)), p);
});
