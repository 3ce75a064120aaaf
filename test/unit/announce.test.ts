// Frame builders for GARP and unsolicited NA: golden frames captured with tcpdump from Debian
// 12's keepalived 2.2.7 (VIPs 192.0.2.100/24 and 2001:db8::100/64 on an interface with MAC
// d2:81:3c:03:28:f2), then every field checked on its own, and the ICMPv6 checksum verified by
// an independent sum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGarp, buildUnsolicitedNa, formatMac, parseMac } from '../../src/net/announce.js';

const hex = (s: string) => new Uint8Array(s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

const MAC = 'd2:81:3c:03:28:f2';
const KEEPALIVED_GARP = hex(`
  ffffffffffff d2813c0328f2 0806
  0001 0800 06 04 0001 d2813c0328f2 c0000264 ffffffffffff c0000264`);
const KEEPALIVED_NA = hex(`
  333300000001 d2813c0328f2 86dd
  60000000 0020 3a ff 20010db8000000000000000000000100 ff020000000000000000000000000001
  88 00 c1b6 20000000 20010db8000000000000000000000100 02 01 d2813c0328f2`);

const u16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;

// Independent check (RFC 1071): the ones' complement sum over pseudo-header + message, checksum
// included, is 0xffff when the checksum is right. The pseudo-header is built here from scratch.
function icmpv6SumIsValid(frame: Uint8Array): boolean {
  const ip = frame.subarray(14, 54);
  const msg = frame.subarray(54);
  const pseudo = new Uint8Array(40);
  pseudo.set(ip.subarray(8, 24), 0);
  pseudo.set(ip.subarray(24, 40), 16);
  new DataView(pseudo.buffer).setUint32(32, msg.length);
  pseudo[39] = 58;
  const all = new Uint8Array(pseudo.length + msg.length + (msg.length % 2));
  all.set(pseudo);
  all.set(msg, pseudo.length);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) {
    sum += u16(all, i);
    sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  }
  return sum === 0xffff;
}

test('parseMac / formatMac round trip, and reject bad text', () => {
  assert.deepEqual(parseMac(MAC), new Uint8Array([0xd2, 0x81, 0x3c, 0x03, 0x28, 0xf2]));
  assert.deepEqual(parseMac('D2-81-3C-03-28-F2'), parseMac(MAC));
  assert.equal(formatMac(parseMac('0:1:2:a:b:c')), '00:01:02:0a:0b:0c');
  for (const bad of ['', 'd2:81:3c:03:28', 'd2:81:3c:03:28:f2:00', 'd2:81:3c:03:28:g2', 'd2:81:3c:03:28:123']) {
    assert.throws(() => parseMac(bad), /bad MAC/, bad);
  }
});

test('GARP is byte for byte what keepalived sends', () => {
  assert.equal(toHex(buildGarp(parseMac(MAC), '192.0.2.100')), toHex(KEEPALIVED_GARP));
});

test('GARP fields: broadcast ARP request, sender = target = VIP', () => {
  const mac = parseMac('02:00:5e:00:01:33');
  const f = buildGarp(mac, '203.0.113.7');
  assert.equal(f.length, 42);
  assert.deepEqual(f.subarray(0, 6), new Uint8Array(6).fill(0xff), 'Ethernet destination: broadcast');
  assert.deepEqual(f.subarray(6, 12), mac, 'Ethernet source: our MAC');
  assert.equal(u16(f, 12), 0x0806, 'EtherType ARP');
  assert.equal(u16(f, 14), 1, 'hardware type Ethernet');
  assert.equal(u16(f, 16), 0x0800, 'protocol type IPv4');
  assert.equal(f[18], 6, 'hardware length');
  assert.equal(f[19], 4, 'protocol length');
  assert.equal(u16(f, 20), 1, 'opcode request');
  assert.deepEqual(f.subarray(22, 28), mac, 'sender hardware address');
  assert.deepEqual(f.subarray(28, 32), new Uint8Array([203, 0, 113, 7]), 'sender IP');
  assert.deepEqual(f.subarray(32, 38), new Uint8Array(6).fill(0xff), 'target hardware address');
  assert.deepEqual(f.subarray(38, 42), new Uint8Array([203, 0, 113, 7]), 'target IP');
});

test('unsolicited NA is byte for byte what keepalived sends', () => {
  const f = buildUnsolicitedNa(parseMac(MAC), '2001:db8::100');
  assert.equal(toHex(f), toHex(KEEPALIVED_NA));
  assert.ok(icmpv6SumIsValid(KEEPALIVED_NA), 'the captured frame passes the independent check too');
});

test('unsolicited NA fields', () => {
  const mac = parseMac('02:00:5e:00:02:34');
  const vip = '2001:db8:0:1::abcd';
  const vipBytes = hex('20010db8 00000001 00000000 0000abcd');
  const f = buildUnsolicitedNa(mac, vip);
  assert.equal(f.length, 86);
  // Ethernet
  assert.deepEqual(f.subarray(0, 6), hex('333300000001'), 'destination: all-nodes multicast MAC (RFC 2464 §7)');
  assert.deepEqual(f.subarray(6, 12), mac);
  assert.equal(u16(f, 12), 0x86dd);
  // IPv6 header
  assert.equal(f[14]! >> 4, 6, 'version');
  assert.equal(((f[14]! & 0x0f) << 4) | (f[15]! >> 4), 0, 'traffic class');
  assert.equal(((f[15]! & 0x0f) << 16) | u16(f, 16), 0, 'flow label');
  assert.equal(u16(f, 18), 32, 'payload length');
  assert.equal(f[20], 58, 'next header ICMPv6');
  assert.equal(f[21], 255, 'hop limit 255 (RFC 4861 §7.1.2)');
  assert.deepEqual(f.subarray(22, 38), vipBytes, 'source: the VIP (keepalived)');
  assert.deepEqual(f.subarray(38, 54), hex('ff020000000000000000000000000001'), 'destination ff02::1');
  // ICMPv6 neighbour advertisement (RFC 4861 §4.4)
  assert.equal(f[54], 136, 'type NA');
  assert.equal(f[55], 0, 'code');
  assert.equal(f[58]! & 0x80, 0, 'Router flag off by default');
  assert.equal(f[58]! & 0x40, 0, 'Solicited flag off: unsolicited');
  assert.equal(f[58]! & 0x20, 0x20, 'Override flag on');
  assert.equal(f[58]! & 0x1f, 0, 'reserved bits');
  assert.deepEqual(f.subarray(59, 62), new Uint8Array(3), 'reserved');
  assert.deepEqual(f.subarray(62, 78), vipBytes, 'target address');
  assert.equal(f[78], 2, 'option: target link-layer address');
  assert.equal(f[79], 1, 'option length: one 8-octet unit');
  assert.deepEqual(f.subarray(80, 86), mac, 'option: our MAC');
  assert.ok(icmpv6SumIsValid(f), 'ICMPv6 checksum');
});

test('unsolicited NA with the Router flag keeps a valid checksum', () => {
  const plain = buildUnsolicitedNa(parseMac(MAC), '2001:db8::100');
  const router = buildUnsolicitedNa(parseMac(MAC), '2001:db8::100', { router: true });
  assert.equal(router[58], 0xa0, 'Router + Override');
  assert.notEqual(u16(router, 56), u16(plain, 56));
  assert.ok(icmpv6SumIsValid(router));
});

test('IPv6 text forms: compressed, full, mixed with IPv4, upper case', () => {
  const forms: Array<[string, string]> = [
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001'],
    ['::1', '00000000000000000000000000000001'],
    ['2001:db8::', '20010db8000000000000000000000000'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['2001:db8:1:2:3:4:5:6', '20010db8000100020003000400050006'],
  ];
  for (const [text, bytes] of forms) {
    const f = buildUnsolicitedNa(parseMac(MAC), text);
    assert.equal(toHex(f.subarray(62, 78)), bytes, text);
    assert.ok(icmpv6SumIsValid(f), text);
  }
});

test('bad input is rejected, not encoded', () => {
  const mac = parseMac(MAC);
  for (const ip of ['', '192.0.2', '192.0.2.256', '192.0.2.01', '192.0.2.1.5', 'a.b.c.d', '2001:db8::1']) {
    assert.throws(() => buildGarp(mac, ip), /bad IPv4/, ip);
  }
  for (const ip of ['', '192.0.2.1', '2001:db8:::1', '2001:db8::1::2', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7',
    '2001:db8::g', '12345::1', 'fe80::1%eth0', '1:2:3:4:5:6:7::8']) {
    assert.throws(() => buildUnsolicitedNa(mac, ip), /bad IPv6/, ip);
  }
  assert.throws(() => buildGarp(new Uint8Array(5), '192.0.2.1'), /6 bytes/);
  assert.throws(() => buildUnsolicitedNa(new Uint8Array(7), '2001:db8::1'), /6 bytes/);
});
