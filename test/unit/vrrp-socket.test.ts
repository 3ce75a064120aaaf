// The JS side of the VRRP socket (src/net/vrrpSocket.ts) against a fake addon: SO_RXQ_OVFL's
// running count becomes per-packet increases (a uint32 that wraps), the receive buffer the
// kernel granted is kept, and the size asked for follows the instances on the socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KernelDropCounter, PACKET_CHARGE_BYTES, RECEIVE_BUFFER_CAP_BYTES, RECEIVE_BUFFER_FLOOR_BYTES, RECEIVE_BURST_ADVERTS,
  openVrrpSocket, receiveBufferBytes, type ReceivedPacket,
} from '../../src/net/vrrpSocket.js';
import type { NativeAddon, NativeVrrpSocket } from '../../src/net/native.js';

type OnPacket = (payload: Uint8Array, src: string, dst: string, ttl: number, ifindex: number, kernelDrops: number, ageMs: number) => void;

/** A fake addon whose socket hands packets to JS when told, and grants twice the buffer asked. */
function fakeAddon(opts: { forced?: boolean; cap?: number } = {}) {
  const calls: string[] = [];
  let deliver: OnPacket = () => undefined;
  class FakeSocket implements NativeVrrpSocket {
    readonly ifindex = 7;
    readonly fd = 42;
    constructor(_family: 4 | 6, _ifname: string, onPacket: OnPacket) { deliver = onPacket; }
    send(): void { calls.push('send'); }
    join(): void { calls.push('join'); }
    leave(): void { calls.push('leave'); }
    setHopLimit(h: number): void { calls.push(`hops ${h}`); }
    setReceiveBuffer(bytes: number) {
      calls.push(`rcvbuf ${bytes}`);
      return { granted: 2 * Math.min(bytes, opts.cap ?? Infinity), forced: opts.forced ?? true };
    }
    drain(): number { calls.push('drain'); return 3; }
    close(): void { calls.push('close'); }
  }
  const addon = { VrrpSocket: FakeSocket } as unknown as Pick<NativeAddon, 'VrrpSocket'>;
  return {
    addon, calls,
    packet: (kernelDrops: number, ageMs = 0) => deliver(new Uint8Array(8), '192.0.2.2', '224.0.0.18', 255, 7, kernelDrops, ageMs),
  };
}

test('each packet carries the kernel drops since the one before; the socket keeps the total', () => {
  const fake = fakeAddon();
  const got: ReceivedPacket[] = [];
  const s = openVrrpSocket({ family: 4, ifname: 'eth0', onPacket: (p) => got.push(p), onError: () => undefined }, fake.addon);
  // No SO_RXQ_OVFL cmsg yet (the kernel attaches it only after a drop): the addon passes 0.
  for (const running of [0, 0, 5, 5, 12, 12, 12, 1000]) fake.packet(running);
  assert.deepEqual(got.map((p) => p.kernelDropsBefore), [0, 0, 5, 0, 7, 0, 0, 988]);
  assert.equal(s.kernelDrops, 1000);
  assert.equal(got[0]!.family, 4);
  assert.equal(got[0]!.ifindex, 7);
});

test("each packet's arrival is the caller's now minus the wait the kernel stamp shows; drain reads until closed", () => {
  const fake = fakeAddon();
  const got: ReceivedPacket[] = [];
  let now = 5000;
  const s = openVrrpSocket({ family: 4, ifname: 'eth0', onPacket: (p) => got.push(p), onError: () => undefined, now: () => now }, fake.addon);
  fake.packet(0, 0);
  fake.packet(0, 300.25);
  now = 6000;
  fake.packet(0, 12.5);
  assert.deepEqual(got.map((p) => p.arrivedAt), [5000, 4699.75, 5987.5]);
  assert.equal(s.drain(), 3);
  s.close();
  assert.equal(s.drain(), 0, 'a closed socket drains nothing (the addon is not asked)');
  assert.deepEqual(fake.calls, ['drain', 'close']);
});

test('the running count wraps at 2^32 without a jump', () => {
  const c = new KernelDropCounter();
  assert.equal(c.update(0xffff_fff0), 0xffff_fff0);
  assert.equal(c.update(0xffff_ffff), 15);
  assert.equal(c.update(3), 4, 'wrapped: 0xffffffff -> 3 is 4 more');
  assert.equal(c.total, 0xffff_fff0 + 19);
});

test('setReceiveBuffer keeps what the kernel granted; receiveBufferBytes at open asks at once', () => {
  const fake = fakeAddon({ forced: false, cap: 4 << 20 });
  const s = openVrrpSocket({ family: 6, ifname: 'eth0', onPacket: () => undefined, onError: () => undefined, receiveBufferBytes: 1 << 20 }, fake.addon);
  assert.deepEqual(fake.calls, [`rcvbuf ${1 << 20}`]);
  assert.deepEqual(s.receiveBuffer, { requested: 1 << 20, granted: 2 << 20, forced: false });
  assert.deepEqual(s.setReceiveBuffer(16 << 20), { requested: 16 << 20, granted: 8 << 20, forced: false }, 'rmem_max capped it');
  assert.deepEqual(s.receiveBuffer, { requested: 16 << 20, granted: 8 << 20, forced: false });
  const plain = openVrrpSocket({ family: 4, ifname: 'eth0', onPacket: () => undefined, onError: () => undefined }, fakeAddon().addon);
  assert.equal(plain.receiveBuffer, null, 'the kernel default until sized');
});

test('receiveBufferBytes: a burst of the largest advert per instance, with a floor and a cap', () => {
  assert.equal(receiveBufferBytes([]), RECEIVE_BUFFER_FLOOR_BYTES);
  assert.equal(receiveBufferBytes([{ family: 4, version: 3, addresses: 1 }]), RECEIVE_BUFFER_FLOOR_BYTES, 'one instance fits in the floor');
  // 100 IPv6 instances with 10 VIPs: 100 x 32 x (4096 + 40 + 8 + 160).
  const many = Array.from({ length: 100 }, () => ({ family: 6 as const, version: 3 as const, addresses: 10 }));
  assert.equal(receiveBufferBytes(many), 100 * RECEIVE_BURST_ADVERTS * (PACKET_CHARGE_BYTES + 40 + 8 + 160));
  // v2 over IPv4 carries 8 bytes of authentication data.
  const v2 = Array.from({ length: 10 }, () => ({ family: 4 as const, version: 2 as const, addresses: 20 }));
  assert.equal(receiveBufferBytes(v2), 10 * RECEIVE_BURST_ADVERTS * (PACKET_CHARGE_BYTES + 20 + 8 + 80 + 8));
  // Every VRID on one IPv6 socket, each with 255 VIPs: just under the cap (64 MiB), which is
  // there for whatever else would ask for more.
  const all = Array.from({ length: 255 }, () => ({ family: 6 as const, version: 3 as const, addresses: 255 }));
  assert.equal(receiveBufferBytes(all), 255 * RECEIVE_BURST_ADVERTS * (PACKET_CHARGE_BYTES + 40 + 8 + 255 * 16));
  assert.ok(receiveBufferBytes(all) <= RECEIVE_BUFFER_CAP_BYTES);
  assert.equal(receiveBufferBytes([...all, ...all]), RECEIVE_BUFFER_CAP_BYTES);
});
