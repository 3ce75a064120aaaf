// Bad input on the wire: a client on the same bridge sends crafted VRRP packets to the group a
// tandem master serves. Every packet claims priority 254 (above the master's 150), so one that
// got past the receive checks would make the master step down: "no state change" is a real
// check. Each bad packet must be dropped and counted under the reason the daemon's contract
// names (the receive checks of RFC 5798 §7.1 in keepalived's order); a valid packet sent the same
// way at the end proves the sender itself works.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Lab, waitFor, type LabNode } from '../lib/netns.js';
import { encodeVrrp, ipv4Datagram, seededBytes, sendIpv4Datagrams, type ChecksumOptions, type VrrpFields } from '../lib/raw-sender.js';
import type { Tandem, TandemStateFile } from '../lib/tandem.js';
import { startWireMaster, wireLab } from '../lib/wireLab.js';

const GROUP = '224.0.0.18';
const CLIENT_IP = '192.0.2.50';
const V2: VrrpFields = { version: 2, vrid: 51, priority: 254, advertInt: 1, authPass: 's3cret', addrs: ['192.0.2.100'] };
const V3: VrrpFields = { version: 3, vrid: 52, priority: 254, advertInt: 100, addrs: ['192.0.2.101'] };

let lab: Lab;
let client: LabNode;
let tandem: Tandem;

before(async () => {
  lab = await wireLab({ ipv6: false, tools: ['python3'] });
  client = lab.node('client');
  tandem = await startWireMaster(lab, [
    { name: 'VI_1', vrid: 51, version: 2, priority: 150, advertInt: 1, authPass: 's3cret', vips: ['192.0.2.100/24'] },
    { name: 'VI_2', vrid: 52, version: 3, priority: 150, advertInt: 1, vips: ['192.0.2.101/24'] },
  ]);
});

after(async () => { await lab?.destroy(); });

function datagram(fields: VrrpFields, opts: { ttl?: number; checksum?: Partial<ChecksumOptions>; truncateTo?: number } = {}): Uint8Array {
  let vrrp = encodeVrrp(fields, { src: CLIENT_IP, dst: GROUP, ...opts.checksum });
  if (opts.truncateTo !== undefined) vrrp = vrrp.subarray(0, opts.truncateTo);
  return ipv4Datagram({ src: CLIENT_IP, dst: GROUP, ttl: opts.ttl ?? 255, payload: vrrp });
}

function snapshot(): TandemStateFile {
  const s = tandem.readState();
  assert.ok(s, `state file ${tandem.statePath} unreadable`);
  return s;
}

function totalDrops(s: TandemStateFile): number {
  return Object.values(s.rx.drops).reduce((a, b) => a + (b ?? 0), 0);
}

/** Asserts the daemon is alive and both instances are still MASTER with no new transitions. */
function assertUnchanged(before: TandemStateFile, after: TandemStateFile, what: string): void {
  assert.ok(tandem.running, `tandem died after ${what}:\n${tandem.tail()}`);
  assert.equal(after.pid, before.pid, `tandem restarted after ${what}`);
  for (const b of before.instances) {
    const a = after.instances.find((x) => x.name === b.name);
    assert.ok(a, `instance ${b.name} missing after ${what}`);
    assert.equal(a.state, 'MASTER', `${b.name} left MASTER after ${what}`);
    assert.equal(a.transitions, b.transitions, `${b.name} made a transition after ${what}`);
  }
  assert.equal(after.rx.accepted, before.rx.accepted, `${what} was accepted`);
}

interface BadCase {
  what: string;
  reason: string;
  packet: () => Uint8Array;
}

const CASES: BadCase[] = [
  { what: 'TTL 64 (multicast needs 255, RFC 5798 §7.1)', reason: 'bad_ttl', packet: () => datagram(V2, { ttl: 64 }) },
  { what: 'v3 TTL 1', reason: 'bad_ttl', packet: () => datagram(V3, { ttl: 1 }) },
  { what: 'bad v2 checksum', reason: 'bad_checksum', packet: () => datagram(V2, { checksum: { corrupt: 0x1234 } }) },
  { what: 'bad v3 checksum', reason: 'bad_checksum', packet: () => datagram(V3, { checksum: { corrupt: 0x0001 } }) },
  { what: 'wrong PASS password', reason: 'bad_auth', packet: () => datagram({ ...V2, authPass: 'wrong' }) },
  { what: 'auth type none on a PASS instance', reason: 'auth_type_mismatch', packet: () => datagram({ ...V2, authType: 0, authPass: undefined }) },
  { what: 'v2 advert interval 3 s on a 1 s instance', reason: 'advert_int_mismatch', packet: () => datagram({ ...V2, advertInt: 3 }) },
  { what: 'type 2 (not ADVERTISEMENT)', reason: 'bad_type', packet: () => datagram({ ...V2, type: 2 }) },
  { what: 'VRID 99 (not ours)', reason: 'unknown_vrid', packet: () => datagram({ ...V2, vrid: 99 }) },
  { what: 'version 1', reason: 'bad_version', packet: () => datagram({ ...V2, version: 1 }) },
  { what: 'version 4', reason: 'bad_version', packet: () => datagram({ ...V3, version: 4 }) },
  { what: 'truncated to 6 bytes (shorter than the 8-byte header)', reason: 'too_short', packet: () => datagram(V2, { truncateTo: 6 }) },
  { what: 'count 2 with one address (v2)', reason: 'bad_length', packet: () => datagram({ ...V2, count: 2 }) },
  { what: 'v3 truncated after the header (count 1, no address)', reason: 'bad_length', packet: () => datagram(V3, { truncateTo: 8 }) },
];

for (const c of CASES) {
  test(`wire input: ${c.what} is dropped as ${c.reason}, no state change`, async () => {
    const before = snapshot();
    const base = before.rx.drops[c.reason] ?? 0;
    await sendIpv4Datagrams(lab, client, [c.packet()]);
    const after = await waitFor(() => {
      const s = tandem.readState();
      return s && (s.rx.drops[c.reason] ?? 0) > base ? s : null;
    }, { timeoutMs: 3000, intervalMs: 25, what: `drops.${c.reason} > ${base}` }).catch((err: Error) => {
      throw new Error(`${err.message}\nstate: ${JSON.stringify(tandem.readState()?.rx)}\n${tandem.tail()}`);
    });
    assert.equal(after.rx.drops[c.reason], base + 1, `exactly one ${c.reason} drop`);
    assert.equal(totalDrops(after) - totalDrops(before), 1, `only ${c.reason} should count: before ${JSON.stringify(before.rx.drops)}, after ${JSON.stringify(after.rx.drops)}`);
    assertUnchanged(before, after, c.what);
  });
}

test('wire input: 200 packets of random bytes: no crash, no state change, every one counted as a drop', async () => {
  const before = snapshot();
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) {
    const body = seededBytes(0x5eed + i, (i * 7) % 80);
    packets.push(ipv4Datagram({ src: CLIENT_IP, dst: GROUP, ttl: 255, payload: body }));
  }
  await sendIpv4Datagrams(lab, client, packets);
  const after = await waitFor(() => {
    const s = tandem.readState();
    return s && totalDrops(s) - totalDrops(before) >= 200 ? s : null;
  }, { timeoutMs: 5000, intervalMs: 50, what: '200 more drops' }).catch((err: Error) => {
    throw new Error(`${err.message}\nbefore: ${JSON.stringify(before.rx)}\nnow: ${JSON.stringify(tandem.readState()?.rx)}`);
  });
  assert.equal(totalDrops(after) - totalDrops(before), 200);
  assertUnchanged(before, after, 'random bytes');
});

test('wire input: the same sender\'s valid adverts are accepted (v2, and v3 with either checksum form)', async () => {
  // Control: the sender and encoder are right, so the drops above were for the defect alone.
  for (const [instance, fields, form] of [['VI_1', V2, undefined], ['VI_2', V3, 'pseudo'], ['VI_2', V3, 'v2']] as const) {
    await tandem.waitForState(instance, 'MASTER', 10_000);
    const before = snapshot();
    await sendIpv4Datagrams(lab, client, [datagram(fields, form ? { checksum: { form } } : {})]);
    const what = `a valid priority-254 advert to ${instance}${form ? ` (v3 checksum form ${form})` : ''}`;
    await tandem.waitForState(instance, 'BACKUP', 3000).catch((err: Error) => {
      throw new Error(`${what} did not make the master step down: ${err.message}`);
    });
    const after = snapshot();
    assert.ok(after.rx.accepted > before.rx.accepted, `${what}: accepted counter should grow`);
    // With no further adverts the instance takes over again after Master_Down_Interval.
    await tandem.waitForState(instance, 'MASTER', 10_000);
  }
});
