// Receive checks: property tests (a valid random packet with one thing corrupted is dropped for
// exactly that reason), order tables (with two faults the earlier check names the verdict), and
// the keepalived 2.2.7 behaviours worth pinning down one by one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeAdvert, type Advert } from '../../src/vrrp/packet.js';
import { checksumValid, vrrpChecksum } from '../../src/ip/checksum.js';
import {
  DROP_REASONS, NOTES, directedBroadcast, sourceAddressProblem, validateAdvert, type DropReason, type InstanceRx,
  type ReceivedPacket, type SourceProblem, type Verdict,
} from '../../src/vrrp/validate.js';
import { formatIp, VRRP_GROUP4, VRRP_GROUP6, type Family } from '../../src/ip/address.js';
import { CaseCount } from '../lib/cases.js';
import { mulberry32 } from '../lib/prng.js';

const SEED = Number(process.env.VRRP_SEED ?? Math.floor(Math.random() * 2 ** 32));
const N = 400;
const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

interface Case { rx: ReceivedPacket; inst: InstanceRx; advert: Advert; unicast: boolean; }
interface Want { family?: Family; version?: 2 | 3; authType?: 0 | 1; unicast?: boolean; }

function randomUnicast(r: () => number, family: Family): string {
  const b = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = 0; i < b.length; i++) b[i] = r() < 0.2 ? 0 : int(r, 0, 255);
  // Never a source validate.ts refuses ('bad_source'): not 0/8, 127/8 or multicast in IPv4,
  // nothing in ::/80 (unspecified, loopback, IPv4-mapped/compatible) or ff00::/8 in IPv6.
  if (family === 4) { b[0] = int(r, 1, 222); if (b[0] === 127) b[0] = 128; } else b[0] = int(r, 0x20, 0xfe);
  return formatIp(b);
}

/** A valid packet and the instance that accepts it without notes. */
function validCase(r: () => number, want: Want = {}): Case {
  const family: Family = want.family ?? (r() < 0.5 ? 4 : 6);
  const version: 2 | 3 = want.version ?? (family === 6 ? 3 : r() < 0.5 ? 2 : 3);
  const unicast = want.unicast ?? r() < 0.3;
  const authType = version === 2 && family === 4 ? (want.authType ?? (r() < 0.5 ? 0 : 1)) : 0;
  const authPass = authType === 1 ? String.fromCharCode(...Array.from({ length: int(r, 1, 10) }, () => int(r, 0x21, 0x7e))) : '';
  const own = randomUnicast(r, family);
  let src = randomUnicast(r, family);
  if (src === own) src = family === 4 ? '203.0.113.9' : '2001:db8::9';
  const dst = unicast ? own : family === 4 ? VRRP_GROUP4 : VRRP_GROUP6;
  const advert: Advert = {
    version, type: 1, vrid: int(r, 1, 255), priority: int(r, 0, 255),
    advertIntCs: version === 2 ? 100 * int(r, 1, 255) : int(r, 1, 4095),
    addresses: Array.from({ length: int(r, 0, 4) }, () => randomUnicast(r, family)),
    // keepalived compares at most 8 bytes of the password; the advert carries what fits.
    authType, authPass: Buffer.from(authPass).subarray(0, 8).toString(),
  };
  const payload = encodeAdvert({ ...advert, authPass }, { family, src, dst });
  const inst: InstanceRx = {
    version, authType, authPass, advertIntCs: advert.advertIntCs, addresses: [...advert.addresses],
    unicastPeers: unicast ? [src, randomUnicast(r, family)] : [], ownAddresses: [own],
    checkUnicastSrc: r() < 0.5, strictAddressCheck: r() < 0.5,
  };
  const rx: ReceivedPacket = { family, payload, src, dst, ttl: unicast ? int(r, 1, 255) : 255, ifindex: 3 };
  return { rx, inst, advert, unicast };
}

function run(c: Case): Verdict {
  return validateAdvert(c.rx, (vrid) => (vrid === c.advert.vrid ? c.inst : undefined));
}

function withPayload(c: Case, f: (p: Uint8Array) => Uint8Array | void): Case {
  const p = c.rx.payload.slice();
  return { ...c, rx: { ...c.rx, payload: f(p) ?? p } };
}

function expectDrop(v: Verdict, reason: DropReason, ctx: string): void {
  assert.equal(v.ok ? 'accepted' : v.reason, reason, `${ctx} ${v.ok ? '' : v.detail}`);
}

/** What a forAll body returns for a case that would assert nothing (it is not counted). */
const SKIP = Symbol('skip');

/** Runs `body` for N random cases; a failure names the case's seed and how to replay it. The
 *  cases a body skips (returns SKIP) do not count: fewer than `min` checked (default: all N)
 *  fails the test, and the count is printed. */
function forAll(name: string, want: Want | ((r: () => number) => Want), body: (c: Case, r: () => number, ctx: string) => void | typeof SKIP, min = N): void {
  test(name, () => {
    const cases = new CaseCount(name, min);
    for (let i = 0; i < N; i++) {
      const seed = (SEED + i * 7919) >>> 0;
      const r = mulberry32(seed);
      const c = validCase(r, typeof want === 'function' ? want(r) : want);
      if (body(c, r, `[seed ${seed}; replay all with VRRP_SEED=${SEED}]`) === SKIP) cases.skipped();
      else cases.checked();
    }
    cases.done();
  });
}

forAll('valid random packets (v2/v3, IPv4/IPv6, multicast/unicast) are accepted, no notes', {}, (c, _r, ctx) => {
  const v = run(c);
  assert.ok(v.ok, `${ctx} ${JSON.stringify(v)}`);
  assert.deepEqual(v.advert, c.advert, ctx);
  assert.deepEqual(v.notes, [], ctx);
});

forAll('flipping a checksum bit -> bad_checksum', {}, (c, r, ctx) => {
  const bad = withPayload(c, (p) => { p[6 + int(r, 0, 1)]! ^= 1 << int(r, 0, 7); });
  const p = bad.rx.payload;
  // A v3/IPv4 packet is also accepted in the other checksum forms keepalived and RFC 9568 use;
  // if the flipped value happens to be right in one of them, the packet is valid.
  if (c.rx.family === 4 && c.advert.version === 3 &&
      (checksumValid(p, 'message', c.rx) || (c.unicast && checksumValid(p, 'pseudo_mcast_dst', c.rx)))) return SKIP;
  expectDrop(run(bad), 'bad_checksum', ctx);
}, N * 0.9);

forAll('TTL/hop limit 254 on a multicast instance -> bad_ttl (RFC 5798 §7.1)', { unicast: false }, (c, _r, ctx) => {
  expectDrop(run({ ...c, rx: { ...c.rx, ttl: 254 } }), 'bad_ttl', ctx);
});

forAll('unicast instance: any TTL is accepted (keepalived checks TTL 255 on multicast only)', { unicast: true }, (c, r, ctx) => {
  assert.equal(run({ ...c, rx: { ...c.rx, ttl: int(r, 1, 254) } }).ok, true, ctx);
});

forAll('truncated or extended -> too_short (under 8 bytes) or bad_length', {}, (c, r, ctx) => {
  const len = c.rx.payload.length;
  const k = int(r, 0, len - 1);
  expectDrop(run(withPayload(c, (p) => p.subarray(0, k))), k < 8 ? 'too_short' : 'bad_length', `${ctx} cut to ${k}`);
  const longer = withPayload(c, (p) => { const q = new Uint8Array(len + int(r, 1, 20)); q.set(p); return q; });
  expectDrop(run(longer), 'bad_length', ctx);
});

forAll('wrong version -> bad_version (bad_length when the change adds or drops v2 auth data)', {}, (c, r, ctx) => {
  let v = int(r, 0, 15);
  if (v === c.inst.version) v = (v + 1) % 16;
  const bad = withPayload(c, (p) => { p[0] = (v << 4) | (p[0]! & 0x0f); });
  // keepalived sizes the packet by the packet's own version nibble: only v2 over IPv4 has auth.
  const lengthChanges = c.rx.family === 4 && (v === 2) !== (c.inst.version === 2);
  expectDrop(run(bad), lengthChanges ? 'bad_length' : 'bad_version', `${ctx} version ${v}`);
});

forAll('v2 PASS: wrong password in the packet or in the config -> bad_auth', { family: 4, version: 2, authType: 1 }, (c, r, ctx) => {
  const bad = withPayload(c, (p) => { p[p.length - 1 - int(r, 0, 7)]! ^= 1 << int(r, 0, 7); });
  expectDrop(run(bad), 'bad_auth', ctx);
  const otherPass = c.inst.authPass.length < 8 ? `${c.inst.authPass}x` : `y${c.inst.authPass.slice(1)}`;
  const changed = otherPass.slice(0, 8) === c.inst.authPass.slice(0, 8) ? 'different' : otherPass;
  expectDrop(run({ ...c, inst: { ...c.inst, authPass: changed } }), 'bad_auth', ctx);
});

forAll('v2: auth type differs from the instance -> auth_type_mismatch; unknown type -> invalid_auth_type', { family: 4, version: 2 }, (c, r, ctx) => {
  expectDrop(run({ ...c, inst: { ...c.inst, authType: 1 - c.inst.authType, authPass: 'x' } }), 'auth_type_mismatch', ctx);
  expectDrop(run(withPayload(c, (p) => { p[4] = int(r, 3, 255); })), 'invalid_auth_type', ctx);
  expectDrop(run({ ...c, inst: { ...c.inst, authType: 2 } }), 'auth_type_mismatch', `${ctx} AH instance`);
});

forAll('v2: another advert interval -> advert_int_mismatch; v3 learns it instead (RFC 5798 §6.4.2)', {}, (c, r, ctx) => {
  const other = c.inst.version === 2 ? 100 * ((c.inst.advertIntCs / 100) % 255 + 1) : (c.inst.advertIntCs % 4095) + 1;
  const v = run({ ...c, inst: { ...c.inst, advertIntCs: other } });
  if (c.inst.version === 2) expectDrop(v, 'advert_int_mismatch', ctx);
  else assert.equal(v.ok, true, ctx);
  void r;
});

forAll('VRID we do not run -> unknown_vrid', {}, (c, r, ctx) => {
  const vrid = (c.advert.vrid + int(r, 1, 255)) % 256;
  expectDrop(run(withPayload(c, (p) => { p[1] = vrid; })), 'unknown_vrid', ctx);
});

forAll('type other than ADVERTISEMENT -> bad_type', {}, (c, r, ctx) => {
  let t = int(r, 0, 15);
  if (t === 1) t = 2;
  expectDrop(run(withPayload(c, (p) => { p[0] = (p[0]! & 0xf0) | t; })), 'bad_type', `${ctx} type ${t}`);
});

forAll('a packet from one of our own addresses -> own_packet', {}, (c, _r, ctx) => {
  expectDrop(run({ ...c, rx: { ...c.rx, src: c.inst.ownAddresses[0]! } }), 'own_packet', ctx);
});

forAll('multicast packet on a unicast instance (and the reverse) -> unicast_multicast_mismatch', {}, (c, _r, ctx) => {
  const group = c.rx.family === 4 ? VRRP_GROUP4 : VRRP_GROUP6;
  const dst = c.unicast ? group : c.inst.ownAddresses[0]!;
  const rx = { ...c.rx, dst };
  // Re-checksum for the new destination, so only the kind of destination is wrong.
  if (c.advert.version === 3) {
    const p = rx.payload = rx.payload.slice();
    const sum = vrrpChecksum(p, 'pseudo', rx);
    p[6] = sum >> 8; p[7] = sum & 0xff;
  }
  expectDrop(run({ ...c, rx }), 'unicast_multicast_mismatch', ctx);
});

forAll('unicast source not a peer -> unicast_peer_unknown only with check_unicast_src', { unicast: true }, (c, r, ctx) => {
  const src = randomUnicast(r, c.rx.family);
  const rx = { ...c.rx, src, payload: encodeAdvert({ ...c.advert, authPass: c.inst.authPass }, { ...c.rx, src }) };
  const inst = { ...c.inst, unicastPeers: c.inst.unicastPeers.slice(1) }; // drop the real sender
  if (inst.unicastPeers.some((u) => u === src)) return SKIP;
  expectDrop(run({ ...c, rx, inst: { ...inst, checkUnicastSrc: true } }), 'unicast_peer_unknown', ctx);
  assert.equal(run({ ...c, rx, inst: { ...inst, checkUnicastSrc: false } }).ok, true, `${ctx} keepalived default`);
}, N * 0.9);

forAll('address count or list mismatch: a note by default, a drop with strictAddressCheck', {}, (c, r, ctx) => {
  const extra = randomUnicast(r, c.rx.family);
  const more = { ...c, inst: { ...c.inst, addresses: [...c.inst.addresses, extra], strictAddressCheck: false } };
  const v1 = run(more);
  assert.ok(v1.ok, ctx);
  assert.deepEqual(v1.notes, ['address_count_mismatch', 'address_list_mismatch'], ctx);
  expectDrop(run({ ...more, inst: { ...more.inst, strictAddressCheck: true } }), 'address_count_mismatch', ctx);
  // (When the random extra address is already configured, a swap would not change the list:
  // that part is left out, the rest of the case still runs.)
  if (c.inst.addresses.length > 0 && !c.inst.addresses.includes(extra)) {
    const swapped = { ...c, inst: { ...c.inst, addresses: [extra, ...c.inst.addresses.slice(1)], strictAddressCheck: false } };
    const v2 = run(swapped);
    assert.ok(v2.ok, ctx);
    assert.deepEqual(v2.notes, ['address_list_mismatch'], ctx);
    expectDrop(run({ ...swapped, inst: { ...swapped.inst, strictAddressCheck: true } }), 'address_list_mismatch', ctx);
  }
  // Fewer configured addresses than advertised: only the count differs (keepalived checks that
  // each of ours is in the advert, not the reverse).
  if (c.inst.addresses.length > 0) {
    const v3 = run({ ...c, inst: { ...c.inst, addresses: c.inst.addresses.slice(1), strictAddressCheck: false } });
    assert.ok(v3.ok, ctx);
    assert.deepEqual(v3.notes, ['address_count_mismatch'], ctx);
  }
});

forAll('v3/IPv4 checksum without pseudo-header (RFC 9568, Cisco) -> accepted with note checksum_v2_form', { family: 4, version: 3 }, (c, _r, ctx) => {
  const p = encodeAdvert(c.advert, c.rx, { v3ChecksumAsV2: true });
  if (checksumValid(p, 'pseudo', c.rx)) return SKIP; // both forms agree for this packet: nothing to note
  const v = run({ ...c, rx: { ...c.rx, payload: p } });
  assert.ok(v.ok, ctx);
  assert.deepEqual(v.notes, ['checksum_v2_form'], ctx);
}, N * 0.9);

forAll('v3/IPv4 unicast with pseudo-header dst 224.0.0.18 (keepalived old_unicast_checksum) -> note', { family: 4, version: 3, unicast: true }, (c, _r, ctx) => {
  const p = encodeAdvert(c.advert, c.rx, { v3OldUnicastChecksum: true });
  if (checksumValid(p, 'pseudo', c.rx)) return SKIP;
  const v = run({ ...c, rx: { ...c.rx, payload: p } });
  assert.ok(v.ok, ctx);
  assert.deepEqual(v.notes, ['checksum_old_unicast_form'], ctx);
  // On a multicast instance that form is just a wrong checksum... but its dst is the group, so
  // the form equals the normal one there. Over IPv6 there is one form only:
}, N * 0.9);

forAll('v3/IPv6: the message-only checksum form is not accepted', { family: 6 }, (c, _r, ctx) => {
  const p = c.rx.payload.slice();
  const sum = vrrpChecksum(p, 'message', c.rx);
  p[6] = sum >> 8; p[7] = sum & 0xff;
  if (checksumValid(p, 'pseudo', c.rx)) return SKIP;
  expectDrop(run({ ...c, rx: { ...c.rx, payload: p } }), 'bad_checksum', ctx);
}, N * 0.9);

forAll('random corruption of a valid packet never throws; a drop names a known reason', {}, (c, r, ctx) => {
  for (let k = 0; k < 10; k++) {
    const bad = withPayload(c, (p) => { p[int(r, 0, p.length - 1)] = int(r, 0, 255); });
    const v = run({ ...bad, rx: { ...bad.rx, ttl: r() < 0.2 ? int(r, -1, 255) : bad.rx.ttl } });
    if (!v.ok) assert.ok(DROP_REASONS.includes(v.reason), `${ctx} ${v.reason}`);
  }
});

test('random bytes are rejected with some reason and never throw', () => {
  const r = mulberry32(SEED ^ 0xbadc0de);
  for (let i = 0; i < 20000; i++) {
    const family: Family = r() < 0.5 ? 4 : 6;
    const payload = Uint8Array.from({ length: int(r, 0, 64) }, () => int(r, 0, 255));
    const rx: ReceivedPacket = {
      family, payload, ttl: int(r, -1, 255), ifindex: 1,
      src: r() < 0.1 ? 'garbage' : randomUnicast(r, family),
      dst: r() < 0.5 ? (family === 4 ? VRRP_GROUP4 : VRRP_GROUP6) : randomUnicast(r, family),
    };
    // Every VRID is "ours", so the packet reaches the deeper checks.
    const inst: InstanceRx = {
      version: r() < 0.5 ? 2 : 3, authType: int(r, 0, 1), authPass: 'pw', advertIntCs: 100 * int(r, 0, 3),
      addresses: [], unicastPeers: r() < 0.3 ? [rx.src] : [], ownAddresses: [], strictAddressCheck: r() < 0.5,
    };
    const v = validateAdvert(rx, () => inst);
    assert.equal(v.ok, false, `seed ${SEED} case ${i}: random bytes accepted: ${Buffer.from(payload).toString('hex')}`);
    if (!v.ok) assert.ok(DROP_REASONS.includes(v.reason));
  }
});

test('ttl < 0 (transport could not tell) skips the TTL check, as keepalived does with -1', () => {
  const c = validCase(mulberry32(SEED), { unicast: false });
  assert.equal(run({ ...c, rx: { ...c.rx, ttl: -1 } }).ok, true);
});

test('DROP_REASONS and NOTES are complete and unique', () => {
  assert.equal(new Set(DROP_REASONS).size, DROP_REASONS.length);
  assert.equal(new Set(NOTES).size, NOTES.length);
  assert.equal(DROP_REASONS.length, 17);
  for (const x of [...DROP_REASONS, ...NOTES]) assert.match(x, /^[a-z0-9]+(_[a-z0-9]+)*$/);
});

// ---- order tables: two faults, the earlier check wins ----

interface Fault { reason: DropReason; apply: (c: Case) => void; }

function mutableCase(base: Case): Case {
  return { ...base, rx: { ...base.rx, payload: base.rx.payload.slice() }, inst: { ...base.inst, addresses: [...base.inst.addresses] } };
}

/** Checks each fault alone, then each ordered pair (i before j): applying j then i must give
 *  i's reason. Faults are listed in check order, which is DROP_REASONS' order except where
 *  `inDropReasonsOrder` is false (IPv6 checks the kind of destination earlier). */
function orderTable(name: string, base: Case, faults: Fault[], inDropReasonsOrder = true): void {
  test(`order table: ${name}`, () => {
    const ok = run(mutableCase(base));
    assert.ok(ok.ok, `base case must be valid: ${JSON.stringify(ok)}`);
    const positions = faults.map((f) => DROP_REASONS.indexOf(f.reason));
    if (inDropReasonsOrder) assert.deepEqual(positions, [...positions].sort((a, b) => a - b), 'faults listed in DROP_REASONS order');
    for (const f of faults) {
      const c = mutableCase(base);
      f.apply(c);
      expectDrop(run(c), f.reason, `alone: ${f.reason}`);
    }
    let pairs = 0;
    for (let i = 0; i < faults.length; i++) {
      for (let j = i + 1; j < faults.length; j++) {
        const c = mutableCase(base);
        faults[j]!.apply(c);
        faults[i]!.apply(c);
        expectDrop(run(c), faults[i]!.reason, `${faults[i]!.reason} + ${faults[j]!.reason}`);
        pairs++;
      }
    }
    assert.equal(pairs, (faults.length * (faults.length - 1)) / 2);
  });
}

function fixedCase(family: Family, version: 2 | 3, unicast: boolean, extra: Partial<InstanceRx> = {}): Case {
  const src = family === 4 ? '192.0.2.1' : 'fe80::1';
  const own = family === 4 ? '192.0.2.2' : 'fe80::2';
  const dst = unicast ? own : family === 4 ? VRRP_GROUP4 : VRRP_GROUP6;
  const addresses = family === 4 ? ['192.0.2.100', '192.0.2.101'] : ['2001:db8::100', '2001:db8::101'];
  const authType = version === 2 ? 1 : 0;
  const authPass = version === 2 ? 's3cret' : '';
  const advert: Advert = { version, type: 1, vrid: 51, priority: 100, advertIntCs: 100, addresses, authType, authPass };
  const payload = encodeAdvert(advert, { family, src, dst });
  const inst: InstanceRx = {
    version, authType, authPass, advertIntCs: 100, addresses: [...addresses],
    unicastPeers: unicast ? [src] : [], ownAddresses: [own], strictAddressCheck: true, ...extra,
  };
  return { rx: { family, payload, src, dst, ttl: 255, ifindex: 2 }, inst, advert, unicast };
}

function recheck(c: Case): void {
  // Re-computes the v3 checksum after a change to the IP context, so the change alone is a fault.
  const sum = vrrpChecksum(c.rx.payload, 'pseudo', c.rx);
  c.rx.payload[6] = sum >> 8; c.rx.payload[7] = sum & 0xff;
}
const append = (c: Case, n: number) => { const q = new Uint8Array(c.rx.payload.length + n); q.set(c.rx.payload); c.rx.payload = q; };

orderTable('v2 IPv4 multicast, PASS, strict address check', fixedCase(4, 2, false), [
  { reason: 'too_short', apply: (c) => { c.rx.payload = c.rx.payload.slice(0, 7); } },
  { reason: 'unknown_vrid', apply: (c) => { c.rx.payload[1] = 200; } },
  { reason: 'own_packet', apply: (c) => { c.rx.src = '192.0.2.2'; } },
  { reason: 'bad_length', apply: (c) => append(c, 4) },
  { reason: 'bad_ttl', apply: (c) => { c.rx.ttl = 254; } },
  { reason: 'bad_version', apply: (c) => { c.inst.version = 3; } },
  { reason: 'invalid_auth_type', apply: (c) => { c.rx.payload[4] = 7; } },
  { reason: 'auth_type_mismatch', apply: (c) => { c.rx.payload[4] = 0; } },
  { reason: 'bad_auth', apply: (c) => { c.rx.payload[c.rx.payload.length - 1]! ^= 1; } },
  { reason: 'advert_int_mismatch', apply: (c) => { c.rx.payload[5] = 3; } },
  { reason: 'bad_type', apply: (c) => { c.rx.payload[0] = 0x22; } },
  { reason: 'address_count_mismatch', apply: (c) => { c.inst.addresses.push('192.0.2.199'); } },
  { reason: 'bad_checksum', apply: (c) => { c.rx.payload[6]! ^= 0x10; } },
  { reason: 'unicast_multicast_mismatch', apply: (c) => { c.rx.dst = '192.0.2.77'; } },
  { reason: 'address_list_mismatch', apply: (c) => { c.inst.addresses[0] = '192.0.2.198'; } },
  { reason: 'bad_source', apply: (c) => { c.rx.src = '0.0.0.0'; } },
]);

orderTable('v3 IPv4 unicast with check_unicast_src', fixedCase(4, 3, true, { checkUnicastSrc: true }), [
  { reason: 'unknown_vrid', apply: (c) => { c.rx.payload[1] = 9; } },
  { reason: 'bad_length', apply: (c) => append(c, 4) },
  { reason: 'bad_version', apply: (c) => { c.rx.payload[0] = 0x41; } },
  { reason: 'bad_type', apply: (c) => { c.rx.payload[0] = (c.rx.payload[0]! & 0xf0) | 3; } },
  { reason: 'bad_checksum', apply: (c) => { c.rx.payload[7]! ^= 0x01; } },
  { reason: 'unicast_multicast_mismatch', apply: (c) => { c.rx.dst = VRRP_GROUP4; recheck(c); } },
  { reason: 'unicast_peer_unknown', apply: (c) => { c.rx.src = '198.51.100.7'; recheck(c); } },
]);

// IPv6: keepalived discards a multicast/unicast mismatch in its dispatcher, before the length.
orderTable('v3 IPv6 multicast', fixedCase(6, 3, false), [
  { reason: 'too_short', apply: (c) => { c.rx.payload = c.rx.payload.slice(0, 5); } },
  { reason: 'unknown_vrid', apply: (c) => { c.rx.payload[1] = 77; } },
  { reason: 'own_packet', apply: (c) => { c.rx.src = 'fe80::2'; } },
  { reason: 'unicast_multicast_mismatch', apply: (c) => { c.rx.dst = '2001:db8::2'; recheck(c); } },
  { reason: 'bad_length', apply: (c) => { c.rx.payload = c.rx.payload.slice(0, c.rx.payload.length - 16); } },
  { reason: 'bad_ttl', apply: (c) => { c.rx.ttl = 1; } },
  { reason: 'bad_version', apply: (c) => { c.rx.payload[0] = 0x21; } },
  { reason: 'bad_type', apply: (c) => { c.rx.payload[0] = 0x3f; } },
  { reason: 'address_count_mismatch', apply: (c) => { c.inst.addresses.pop(); } },
  { reason: 'bad_checksum', apply: (c) => { c.rx.payload[6]! ^= 0x80; } },
  { reason: 'address_list_mismatch', apply: (c) => { c.inst.addresses[1] = '2001:db8::99'; } },
  { reason: 'bad_source', apply: (c) => { c.rx.src = '::'; recheck(c); } },
], false);

// ---- bad_source: tandem's own check (keepalived 2.2.7 accepts these) ----

/** A valid advert from `src` (checksum computed with `src` in the pseudo-header), multicast. */
function fromSource(family: Family, src: string, extra: Partial<InstanceRx> = {}): Case {
  const c = fixedCase(family, 3, false, extra);
  const rx = { ...c.rx, src };
  rx.payload = encodeAdvert(c.advert, rx);
  return { ...c, rx };
}

const BAD_SOURCES: Array<[Family, string, SourceProblem]> = [
  [4, '0.0.0.0', 'unspecified'],
  [4, '0.1.2.3', 'this_network'],
  [4, '0.255.255.255', 'this_network'],
  [4, '127.0.0.1', 'loopback'],
  [4, '127.255.255.254', 'loopback'],
  [4, '224.0.0.18', 'multicast'],
  [4, '239.255.255.255', 'multicast'],
  [4, '255.255.255.255', 'broadcast'],
  [4, '192.0.2.255', 'directed_broadcast'],
  [6, '::', 'unspecified'],
  [6, '::1', 'loopback'],
  [6, 'ff02::1', 'multicast'],
  [6, 'ff05::1:3', 'multicast'],
  [6, '::ffff:192.0.2.1', 'ipv4_mapped'],
  [6, '::ffff:0.0.0.0', 'ipv4_mapped'],
  [6, '::ffff:127.0.0.1', 'ipv4_mapped'],
  [6, '::127.0.0.1', 'ipv4_compatible'],
  [6, '::224.0.0.18', 'ipv4_compatible'],
  [6, '::0.0.0.2', 'ipv4_compatible'],
  [6, '::255.255.255.255', 'ipv4_compatible'],
];
// Addresses next to the bad ones that a router may send from.
const GOOD_SOURCES: Array<[Family, string]> = [
  [4, '1.0.0.0'], [4, '126.255.255.255'], [4, '128.0.0.0'], [4, '223.255.255.255'], [4, '240.0.0.1'],
  [4, '255.255.255.254'], [4, '192.0.2.254'], [4, '198.51.100.255'],
  [6, 'fe80::1'], [6, '2001:db8::1'], [6, '::2:0:0:0'], [6, '::192.0.2.1'], [6, '::fffe:192.0.2.1'], [6, 'feff::1'],
];
const BROADCASTS = ['192.0.2.255'];

test('sourceAddressProblem names each kind of impossible source, and none for its neighbours', () => {
  for (const [family, src, kind] of BAD_SOURCES) assert.equal(sourceAddressProblem(src, family, BROADCASTS), kind, src);
  for (const [family, src] of GOOD_SOURCES) assert.equal(sourceAddressProblem(src, family, BROADCASTS), null, src);
  // A directed broadcast is only one when it is the receiving interface's.
  assert.equal(sourceAddressProblem('192.0.2.255', 4, []), null);
  // Text that is not an address of the family is not this check's business (never throws).
  assert.equal(sourceAddressProblem('garbage', 4, BROADCASTS), null);
  assert.equal(sourceAddressProblem('::', 4, BROADCASTS), null);
});

for (const [family, src, kind] of BAD_SOURCES) {
  test(`a valid higher-priority advert from ${src} (${kind}) -> bad_source`, () => {
    const c = fromSource(family, src, { broadcasts: BROADCASTS });
    const v = run(c);
    expectDrop(v, 'bad_source', src);
    assert.ok(!v.ok && v.detail.includes(src), !v.ok ? v.detail : '');
  });
}

test('the same advert from a real address is accepted (the bad_source cases fail for the source alone)', () => {
  for (const [family, src] of [...GOOD_SOURCES, [4, '192.0.2.9'] as const, [6, 'fe80::9'] as const]) {
    const v = run(fromSource(family, src, { broadcasts: BROADCASTS }));
    assert.ok(v.ok, `${src}: ${JSON.stringify(v)}`);
  }
});

forAll('a valid random packet from the unspecified address -> bad_source', {}, (c, _r, ctx) => {
  const src = c.rx.family === 4 ? '0.0.0.0' : '::';
  const rx = { ...c.rx, src, payload: encodeAdvert({ ...c.advert, authPass: c.inst.authPass }, { ...c.rx, src }) };
  // With check_unicast_src the unicast source check (keepalived's, earlier) names it first.
  const want = c.unicast && c.inst.checkUnicastSrc ? 'unicast_peer_unknown' : 'bad_source';
  expectDrop(run({ ...c, rx }), want, ctx);
});

test('bad_source comes after keepalived\'s checks: check_unicast_src names a non-peer source first', () => {
  const c = fixedCase(4, 3, true, { checkUnicastSrc: true });
  const rx = { ...c.rx, src: '0.0.0.0' };
  rx.payload = encodeAdvert(c.advert, rx);
  expectDrop(run({ ...c, rx }), 'unicast_peer_unknown', 'not a peer');
  // ... and a peer list that names the bad address still gets bad_source.
  expectDrop(run({ ...c, rx, inst: { ...c.inst, unicastPeers: ['0.0.0.0'] } }), 'bad_source', 'a peer');
});

test('directedBroadcast: the subnet broadcast of an IPv4 prefix; none for /31, /32 or IPv6', () => {
  assert.equal(directedBroadcast('192.0.2.1', 24), '192.0.2.255');
  assert.equal(directedBroadcast('192.0.2.100', 25), '192.0.2.127');
  assert.equal(directedBroadcast('198.51.100.9', 30), '198.51.100.11');
  assert.equal(directedBroadcast('203.0.113.7', 16), '203.0.255.255');
  assert.equal(directedBroadcast('100.64.0.1', 1), '127.255.255.255');
  assert.equal(directedBroadcast('203.0.113.7', 1), '255.255.255.255');
  assert.equal(directedBroadcast('203.0.113.7', 0), '255.255.255.255');
  assert.equal(directedBroadcast('192.0.2.1', 31), null);
  assert.equal(directedBroadcast('192.0.2.1', 32), null);
  assert.equal(directedBroadcast('2001:db8::1', 64), null);
});
