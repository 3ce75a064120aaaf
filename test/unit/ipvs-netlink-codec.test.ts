// The IPVS generic netlink codec (src/lb/ipvs/netlinkCodec.ts) without a kernel: requests
// checked byte by byte against layouts derived by hand from include/uapi/linux/ip_vs.h,
// linux/netlink.h and linux/genetlink.h (host byte order is little-endian here: x86-64), dump
// replies built the way the kernel's ip_vs_genl_fill_service / _fill_dest build them, and round
// trips of every entry of the golden ipvsadm capture (test/fixtures/ipvs/rules.save). The same
// codec against the real kernel is test/kernel/ipvs-netlink.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  decodeDests, decodeServices, encodeGetDests, encodeGetServices, encodeOp, encodeOps, ipvsErrorMessage, IpvsEncodeError,
} from '../../src/lb/ipvs/netlinkCodec.js';
import { parseIpvsSave } from '../../src/lb/ipvs/parse.js';
import type { RealServer, ServiceAddress, VirtualService } from '../../src/config/lbModel.js';
import type { TableOp } from '../../src/lb/reconcile.js';

const FAMILY = 0x22; // any id the kernel might hand out for "IPVS"

/** Hex with spaces, comments after '#' on each line, -> bytes. */
function hex(text: string): Uint8Array {
  const digits = text.split('\n').map((l) => l.replace(/#.*$/, '')).join('').replace(/\s+/g, '');
  assert.equal(digits.length % 2, 0, 'even number of hex digits');
  return Uint8Array.from(digits.match(/../g)!.map((b) => parseInt(b, 16)));
}
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const tcp = (address: string, port: number): ServiceAddress =>
  ({ kind: 'inet', family: address.includes(':') ? 6 : 4, protocol: 'TCP', address, port });
const svc = (id: ServiceAddress, o: Partial<VirtualService> = {}): VirtualService =>
  ({ id, scheduler: 'wrr', persistence: null, pe: null, ops: false, schedFlags: [], ...o });
const dest = (address: string, port: number, o: Partial<RealServer> = {}): RealServer =>
  ({ family: address.includes(':') ? 6 : 4, address, port, forwarding: 'NAT', weight: 1, tunnel: null, ...o });

describe('netlink requests, byte by byte', () => {
  it('the test machine is little-endian (the expected bytes below assume it)', () => {
    assert.equal(new Uint8Array(new Uint16Array([1]).buffer)[0], 1);
  });

  it('add_service TCP 192.0.2.100:80 wrr: NEW_SERVICE with the whole service', () => {
    const got = encodeOp({ op: 'add_service', service: svc(tcp('192.0.2.100', 80)), reason: 'missing' }, FAMILY, 7);
    assert.equal(toHex(got), toHex(hex(`
      68000000 2200 0500 07000000 00000000  # nlmsghdr: len 104, type 0x22, REQUEST|ACK, seq 7, pid 0
      01 01 0000                            # genlmsghdr: IPVS_CMD_NEW_SERVICE, version 1
      5400 0100                             # IPVS_CMD_ATTR_SERVICE (nested), len 84
        0600 0100 0200 0000                 #   SVC_ATTR_AF u16 AF_INET
        0600 0200 0600 0000                 #   SVC_ATTR_PROTOCOL u16 IPPROTO_TCP
        1400 0300 c0000264 00000000 00000000 00000000  # SVC_ATTR_ADDR nf_inet_addr 192.0.2.100
        0600 0400 0050 0000                 #   SVC_ATTR_PORT be16 80
        0800 0600 77727200                  #   SVC_ATTR_SCHED_NAME "wrr\\0"
        0c00 0700 00000000 ffffffff         #   SVC_ATTR_FLAGS { flags 0, mask ~0 }
        0800 0800 00000000                  #   SVC_ATTR_TIMEOUT 0
        0800 0900 ffffffff                  #   SVC_ATTR_NETMASK 255.255.255.255
    `)));
  });

  it('edit_service IPv6 fwmark 2, persistent 120 s /64, sh flags, pe sip: SET_SERVICE, prefix as a host-order u32', () => {
    const s = svc({ kind: 'fwmark', family: 6, fwmark: 2 }, {
      scheduler: 'sh', persistence: { timeoutS: 120, netmaskPrefix: 64 }, pe: 'sip', schedFlags: ['sh-fallback', 'sh-port'],
    });
    const got = encodeOp({ op: 'edit_service', service: s, was: s, reason: 'differs' }, FAMILY, 0x01020304);
    assert.equal(toHex(got), toHex(hex(`
      54000000 2200 0500 04030201 00000000  # len 84, seq 0x01020304
      02 01 0000                            # IPVS_CMD_SET_SERVICE
      4000 0100                             # SERVICE nest, len 64
        0600 0100 0a00 0000                 #   AF_INET6
        0800 0500 02000000                  #   SVC_ATTR_FWMARK u32 2
        0700 0600 736800 00                 #   SCHED_NAME "sh\\0" (len 7, padded)
        0800 0b00 73697000                  #   SVC_ATTR_PE_NAME "sip\\0"
        0c00 0700 19000000 ffffffff         #   FLAGS PERSISTENT 0x1 | SCHED1 0x8 | SCHED2 0x10
        0800 0800 78000000                  #   TIMEOUT 120
        0800 0900 40000000                  #   NETMASK prefix 64 (host order)
    `)));
  });

  it('delete_service names the service only', () => {
    const got = encodeOp({ op: 'delete_service', service: svc({ kind: 'inet', family: 4, protocol: 'UDP', address: '192.0.2.1', port: 53 }), reason: 'not_desired' }, FAMILY, 1);
    assert.equal(toHex(got), toHex(hex(`
      44000000 2200 0500 01000000 00000000  # len 68
      03 01 0000                            # IPVS_CMD_DEL_SERVICE
      3000 0100                             # SERVICE nest, len 48
        0600 0100 0200 0000
        0600 0200 1100 0000                 #   IPPROTO_UDP 17
        1400 0300 c0000201 00000000 00000000 00000000
        0600 0400 0035 0000                 #   port 53
    `)));
  });

  it('add_dest NAT 198.51.100.12:8080 weight 3: service id + the whole destination', () => {
    const got = encodeOp({ op: 'add_dest', service: tcp('192.0.2.100', 80), dest: dest('198.51.100.12', 8080, { weight: 3 }), reason: 'missing' }, FAMILY, 9);
    assert.equal(toHex(got), toHex(hex(`
      8c000000 2200 0500 09000000 00000000  # len 140
      05 01 0000                            # IPVS_CMD_NEW_DEST
      3000 0100                             # SERVICE nest (identifying attributes only), len 48
        0600 0100 0200 0000
        0600 0200 0600 0000
        1400 0300 c0000264 00000000 00000000 00000000
        0600 0400 0050 0000
      4800 0200                             # IPVS_CMD_ATTR_DEST nest, len 72
        0600 0b00 0200 0000                 #   DEST_ATTR_ADDR_FAMILY AF_INET
        1400 0100 c633640c 00000000 00000000 00000000  # DEST_ATTR_ADDR 198.51.100.12
        0600 0200 1f90 0000                 #   DEST_ATTR_PORT be16 8080
        0800 0300 00000000                  #   FWD_METHOD IP_VS_CONN_F_MASQ
        0800 0400 03000000                  #   WEIGHT 3
        0800 0500 00000000                  #   U_THRESH 0
        0800 0600 00000000                  #   L_THRESH 0
    `)));
  });

  it('edit_dest TUN gue 6080 csum on an IPv6 service: SET_DEST with the tunnel, port forced to the service port', () => {
    const got = encodeOp({
      op: 'edit_dest', service: tcp('2001:db8::100', 80),
      dest: dest('2001:db8:1::11', 8080, { forwarding: 'TUN', tunnel: { type: 'gue', port: 6080, csum: 'csum' } }),
      was: dest('2001:db8:1::11', 80), reason: 'differs',
    }, FAMILY, 2);
    assert.equal(toHex(got), toHex(hex(`
      a4000000 2200 0500 02000000 00000000  # len 164
      06 01 0000                            # IPVS_CMD_SET_DEST
      3000 0100
        0600 0100 0a00 0000                 #   AF_INET6
        0600 0200 0600 0000
        1400 0300 20010db8 00000000 00000000 00000100  # 2001:db8::100
        0600 0400 0050 0000
      6000 0200                             # DEST nest, len 96
        0600 0b00 0a00 0000
        1400 0100 20010db8 00010000 00000000 00000011  # 2001:db8:1::11
        0600 0200 0050 0000                 #   port 80, the service's (ipvsadm does the same for -i / -g)
        0800 0300 02000000                  #   FWD_METHOD IP_VS_CONN_F_TUNNEL
        0800 0400 01000000
        0800 0500 00000000
        0800 0600 00000000
        0500 0d00 01 000000                 #   DEST_ATTR_TUN_TYPE u8 GUE (len 5, padded)
        0600 0e00 17c0 0000                 #   DEST_ATTR_TUN_PORT be16 6080
        0600 0f00 0100 0000                 #   DEST_ATTR_TUN_FLAGS u16 CSUM
    `)));
  });

  it('delete_dest of a fwmark service: identifying attributes only, the port as given', () => {
    const got = encodeOp({ op: 'delete_dest', service: { kind: 'fwmark', family: 4, fwmark: 7 }, dest: dest('198.51.100.31', 0, { forwarding: 'DR' }), reason: 'not_desired' }, FAMILY, 3);
    assert.equal(toHex(got), toHex(hex(`
      50000000 2200 0500 03000000 00000000  # len 80
      07 01 0000                            # IPVS_CMD_DEL_DEST
      1400 0100
        0600 0100 0200 0000
        0800 0500 07000000                  #   FWMARK 7
      2800 0200                             # DEST nest, len 40
        0600 0b00 0200 0000
        1400 0100 c633641f 00000000 00000000 00000000
        0600 0200 0000 0000
    `)));
  });

  it('dump requests: GET_SERVICE without attributes, GET_DEST with the service', () => {
    assert.equal(toHex(encodeGetServices(FAMILY, 5)), toHex(hex(`
      14000000 2200 0103 05000000 00000000  # len 20, flags REQUEST | NLM_F_DUMP (0x300)
      04 01 0000                            # IPVS_CMD_GET_SERVICE
    `)));
    assert.equal(toHex(encodeGetDests(FAMILY, 6, { kind: 'fwmark', family: 6, fwmark: 1 })), toHex(hex(`
      28000000 2200 0103 06000000 00000000
      08 01 0000                            # IPVS_CMD_GET_DEST
      1400 0100 0600 0100 0a00 0000 0800 0500 01000000
    `)));
  });

  it('a batch numbers its requests from firstSeq and leaves out what cannot be encoded', () => {
    const ok1: TableOp = { op: 'add_dest', service: tcp('192.0.2.1', 80), dest: dest('198.51.100.1', 80), reason: 'missing' };
    const bad: TableOp = { op: 'add_dest', service: tcp('192.0.2.1', 80), dest: dest('198.51.100.2', 80, { weight: -1 }), reason: 'missing' };
    const ok2: TableOp = { op: 'delete_dest', service: tcp('192.0.2.1', 80), dest: dest('198.51.100.3', 80), reason: 'not_desired' };
    const b = encodeOps([ok1, bad, ok2], FAMILY, 100);
    assert.deepEqual(b.sent, [0, 2]);
    assert.equal(b.unencodable.length, 1);
    assert.equal(b.unencodable[0]!.index, 1);
    assert.match(b.unencodable[0]!.message, /weight -1/);
    assert.equal(toHex(b.buf), toHex(encodeOp(ok1, FAMILY, 100)) + toHex(encodeOp(ok2, FAMILY, 101)));
  });

  it('a batch far larger than the writer\'s first buffer: every request intact, each as encodeOp makes it alone', () => {
    const id = tcp('192.0.2.1', 80);
    const ops: TableOp[] = [{ op: 'add_service', service: svc(id, { persistence: { timeoutS: 60, netmaskPrefix: 24 } }), reason: 'missing' }];
    for (let i = 0; i < 2000; i++) {
      ops.push({ op: 'add_dest', service: id, dest: dest(`198.51.${100 + (i >> 8)}.${i & 0xff}`, 1000 + i, { forwarding: i % 3 === 0 ? 'TUN' : 'NAT', tunnel: i % 3 === 0 ? { type: 'gue', port: 5555, csum: 'remcsum' } : null, weight: i }), reason: 'missing' });
    }
    const b = encodeOps(ops, FAMILY, 1);
    assert.equal(b.sent.length, ops.length);
    const whole = toHex(b.buf);
    assert.equal(whole, ops.map((op, k) => toHex(encodeOp(op, FAMILY, 1 + k))).join(''));
    const back = decodeDests([b.buf], FAMILY, id);
    assert.equal(back.dests.length, 2000);
    assert.deepEqual(back.dests, ops.slice(1).map((op) => (op as { dest: RealServer }).dest).map((d) => (d.forwarding === 'TUN' ? { ...d, port: 80 } : d)));
  });

  it('the buffer may grow inside any attribute: every offset of the first growth (4096) lands in some request', () => {
    // A prefix of k 68-byte DEL_SERVICE requests shifts the requests after it by 68k bytes;
    // 68 = 4 * 17 and 17 is prime to 41 (a 164-byte SET_DEST with a tunnel is 4 * 41), so
    // k = 0..40 puts the growth point at every 4-byte offset of that request.
    const id = tcp('192.0.2.1', 80);
    for (let k = 0; k <= 40; k++) {
      const ops: TableOp[] = [];
      for (let i = 0; i < k; i++) ops.push({ op: 'delete_service', service: svc(tcp(`192.0.2.${i + 2}`, 80)), reason: 'not_desired' });
      for (let i = 0; i < 40; i++) {
        const d = dest('198.51.100.7', i + 1, { forwarding: 'TUN', tunnel: { type: 'gue', port: 6080, csum: 'csum' } });
        ops.push({ op: 'edit_dest', service: id, dest: d, was: d, reason: 'differs' });
      }
      const b = encodeOps(ops, FAMILY, 1);
      assert.equal(toHex(b.buf), ops.map((op, n) => toHex(encodeOp(op, FAMILY, 1 + n))).join(''), `prefix of ${k}`);
    }
  });

  it('refuses what the kernel or ipvsadm would refuse, before sending anything', () => {
    const cases: TableOp[] = [
      { op: 'add_service', service: svc(tcp('192.0.2.1', 80), { scheduler: 'a-scheduler-name-too-long' }), reason: 'missing' },
      { op: 'add_service', service: svc(tcp('192.0.2.1', 80), { ops: true }), reason: 'missing' },
      { op: 'add_service', service: svc(tcp('192.0.2.1', 80), { schedFlags: ['no-such-flag'] }), reason: 'missing' },
      { op: 'add_service', service: svc(tcp('192.0.2.1', 80), { persistence: { timeoutS: 0, netmaskPrefix: 32 } }), reason: 'missing' },
      { op: 'add_service', service: svc(tcp('192.0.2.1', 0)), reason: 'missing' },
      { op: 'add_service', service: svc({ kind: 'fwmark', family: 6, fwmark: 1 }, { persistence: { timeoutS: 60, netmaskPrefix: 0 } }), reason: 'missing' },
      { op: 'add_dest', service: tcp('192.0.2.1', 80), dest: dest('2001:db8::1', 80), reason: 'missing' },
      { op: 'add_dest', service: tcp('192.0.2.1', 80), dest: dest('198.51.100.1', 80, { forwarding: 'TUN', tunnel: { type: 'gue', port: 0, csum: 'nocsum' } }), reason: 'missing' },
      { op: 'add_dest', service: tcp('192.0.2.1', 80), dest: { ...dest('198.51.100.1', 80), address: 'not-an-address' }, reason: 'missing' },
    ];
    for (const op of cases) assert.throws(() => encodeOp(op, FAMILY, 1), IpvsEncodeError, JSON.stringify(op));
    // A TUN real server may be of the other family (the kernel forwards it; ipvsadm allows it).
    assert.doesNotThrow(() => encodeOp({ op: 'add_dest', service: tcp('2001:db8::1', 80), dest: dest('198.51.100.1', 80, { forwarding: 'TUN', tunnel: { type: 'ipip' } }), reason: 'missing' }, FAMILY, 1));
  });
});

// ---- dump replies --------------------------------------------------------------------------

/** A little netlink writer for building kernel-style replies in the tests (independent of the
 *  codec's own writer, so a shared mistake cannot cancel out). */
function nlattr(type: number, payload: Uint8Array): Uint8Array {
  const len = 4 + payload.length;
  const out = new Uint8Array((len + 3) & ~3);
  new DataView(out.buffer).setUint16(0, len, true);
  new DataView(out.buffer).setUint16(2, type, true);
  out.set(payload, 4);
  return out;
}
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
const le16 = (v: number) => Uint8Array.from([v & 0xff, v >> 8]);
const be16 = (v: number) => Uint8Array.from([v >> 8, v & 0xff]);
const le32 = (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v >>> 0, true); return b; };
const cstr = (s: string) => Uint8Array.from([...Buffer.from(s), 0]);
const addr16 = (...bytes: number[]) => { const b = new Uint8Array(16); b.set(bytes); return b; };
function nlmsg(type: number, flags: number, seq: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, 0x1234, true);
  out.set(body, 16);
  return out;
}
const NLM_F_MULTI = 2;
const genl = (cmd: number, ...attrs: Uint8Array[]) => cat(Uint8Array.from([cmd, 1, 0, 0]), ...attrs);
const done = (seq: number) => nlmsg(3, NLM_F_MULTI, seq, le32(0));
/** IPVS_SVC_ATTR_STATS / STATS64 as the kernel appends them (the decoder must skip them). */
const stats = (type: number) => nlattr(type, cat(nlattr(1, le32(5)), nlattr(4, cat(le32(1000), le32(0)))));

function kernelService(o: { af: number; fwmark?: number; proto?: number; addr?: Uint8Array; port?: number; sched: string; pe?: string; flags: number; timeout: number; netmask: Uint8Array }): Uint8Array {
  return nlattr(1, cat(
    nlattr(1, le16(o.af)),
    ...(o.fwmark ? [nlattr(5, le32(o.fwmark))] : [nlattr(2, le16(o.proto!)), nlattr(3, o.addr!), nlattr(4, be16(o.port!))]),
    nlattr(6, cstr(o.sched)),
    ...(o.pe ? [nlattr(11, cstr(o.pe))] : []),
    nlattr(7, cat(le32(o.flags), le32(0xffffffff))),
    nlattr(8, le32(o.timeout)),
    nlattr(9, o.netmask),
    stats(10), stats(12),
  ));
}

function kernelDest(o: { af?: number; addr: Uint8Array; port: number; fwd: number; weight: number; tunType?: number; tunPort?: number; tunFlags?: number }): Uint8Array {
  return nlattr(2, cat(
    nlattr(1, o.addr), nlattr(2, be16(o.port)), nlattr(3, le32(o.fwd)), nlattr(4, le32(o.weight)),
    nlattr(5, le32(0)), nlattr(6, le32(0)), nlattr(7, le32(2)), nlattr(8, le32(0)), nlattr(9, le32(0)),
    stats(10),
    ...(o.af !== undefined ? [nlattr(11, le16(o.af))] : []),
    stats(12),
    ...(o.tunType !== undefined ? [nlattr(13, Uint8Array.from([o.tunType])), nlattr(14, be16(o.tunPort ?? 0)), nlattr(15, le16(o.tunFlags ?? 0))] : []),
  ));
}

describe('netlink dump replies -> the table model', () => {
  it('services as the kernel dumps them (HASHED flag, stats, several per datagram, DONE)', () => {
    const d1 = cat(
      nlmsg(FAMILY, NLM_F_MULTI, 9, genl(1, kernelService({ af: 2, proto: 6, addr: addr16(192, 0, 2, 102), port: 80, sched: 'lc', flags: 0x1 | 0x2, timeout: 600, netmask: Uint8Array.from([255, 255, 255, 0]) }))),
      nlmsg(FAMILY, NLM_F_MULTI, 9, genl(1, kernelService({ af: 2, proto: 17, addr: addr16(192, 0, 2, 100), port: 53, sched: 'wlc', flags: 0x2 | 0x4, timeout: 0, netmask: le32(0xffffffff) }))),
    );
    const d2 = cat(
      nlmsg(FAMILY, NLM_F_MULTI, 9, genl(1, kernelService({ af: 10, fwmark: 2, sched: 'rr', flags: 0x3, timeout: 120, netmask: le32(64) }))),
      nlmsg(FAMILY, NLM_F_MULTI, 9, genl(1, kernelService({ af: 2, proto: 132, addr: addr16(192, 0, 2, 104), port: 3868, sched: 'sh', flags: 0x2 | 0x8 | 0x10, timeout: 0, netmask: le32(0xffffffff) }))),
      nlmsg(FAMILY, NLM_F_MULTI, 9, genl(1, kernelService({ af: 2, proto: 17, addr: addr16(192, 0, 2, 103), port: 5060, sched: 'rr', pe: 'sip', flags: 0x3, timeout: 60, netmask: le32(0xffffffff) }))),
      nlmsg(FAMILY, NLM_F_MULTI, 9, genl(1, kernelService({ af: 2, proto: 6, addr: addr16(192, 0, 2, 106), port: 1, sched: 'wrr', flags: 0x2 | 0x20 | 0x8, timeout: 0, netmask: le32(0xffffffff) }))),
      done(9),
    );
    const r = decodeServices([d1, d2], FAMILY);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.services, [
      svc(tcp('192.0.2.102', 80), { scheduler: 'lc', persistence: { timeoutS: 600, netmaskPrefix: 24 } }),
      svc({ kind: 'inet', family: 4, protocol: 'UDP', address: '192.0.2.100', port: 53 }, { scheduler: 'wlc', ops: true }),
      svc({ kind: 'fwmark', family: 6, fwmark: 2 }, { scheduler: 'rr', persistence: { timeoutS: 120, netmaskPrefix: 64 } }),
      svc({ kind: 'inet', family: 4, protocol: 'SCTP', address: '192.0.2.104', port: 3868 }, { scheduler: 'sh', schedFlags: ['sh-fallback', 'sh-port'] }),
      svc({ kind: 'inet', family: 4, protocol: 'UDP', address: '192.0.2.103', port: 5060 }, { scheduler: 'rr', pe: 'sip', persistence: { timeoutS: 60, netmaskPrefix: 32 } }),
      // ipvsadm names the flags of schedulers other than sh and mh flag-1..3.
      svc(tcp('192.0.2.106', 1), { scheduler: 'wrr', schedFlags: ['flag-1', 'flag-3'] }),
    ]);
  });

  it('real servers: NAT, DR, TUN ipip / gue / gre, a local node, IPv4 in an IPv6 service, no ADDR_FAMILY', () => {
    const id = tcp('2001:db8::100', 80);
    const d = cat(
      nlmsg(FAMILY, NLM_F_MULTI, 4, genl(5, kernelDest({ af: 10, addr: addr16(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11), port: 8080, fwd: 0, weight: 3 }))),
      nlmsg(FAMILY, NLM_F_MULTI, 4, genl(5, kernelDest({ af: 10, addr: addr16(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12), port: 80, fwd: 3, weight: 0, tunType: 0 }))),
      nlmsg(FAMILY, NLM_F_MULTI, 4, genl(5, kernelDest({ af: 2, addr: addr16(198, 51, 100, 31), port: 80, fwd: 2, weight: 2, tunType: 0 }))),
      nlmsg(FAMILY, NLM_F_MULTI, 4, genl(5, kernelDest({ af: 2, addr: addr16(198, 51, 100, 32), port: 80, fwd: 2, weight: 1, tunType: 1, tunPort: 6080, tunFlags: 1 }))),
      nlmsg(FAMILY, NLM_F_MULTI, 4, genl(5, kernelDest({ af: 2, addr: addr16(198, 51, 100, 33), port: 80, fwd: 2, weight: 1, tunType: 2, tunFlags: 2 }))),
      nlmsg(FAMILY, NLM_F_MULTI, 4, genl(5, kernelDest({ af: 10, addr: addr16(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x13), port: 80, fwd: 1, weight: 65535 }))),
      nlmsg(FAMILY, NLM_F_MULTI, 4, genl(5, kernelDest({ addr: addr16(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x14), port: 80, fwd: 2, weight: 1 }))),
      done(4),
    );
    const r = decodeDests([d], FAMILY, id);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.dests, [
      dest('2001:db8:1::11', 8080, { weight: 3 }),
      dest('2001:db8:1::12', 80, { forwarding: 'DR', weight: 0 }),
      dest('198.51.100.31', 80, { forwarding: 'TUN', weight: 2, tunnel: { type: 'ipip' } }),
      dest('198.51.100.32', 80, { forwarding: 'TUN', tunnel: { type: 'gue', port: 6080, csum: 'csum' } }),
      dest('198.51.100.33', 80, { forwarding: 'TUN', tunnel: { type: 'gre', csum: 'remcsum' } }),
      dest('2001:db8:1::13', 80, { forwarding: 'DR', weight: 65535 }),
      // A kernel without IPVS_DEST_ATTR_ADDR_FAMILY (before 3.18) or TUN_* (before 5.3).
      dest('2001:db8:1::14', 80, { forwarding: 'TUN', tunnel: { type: 'ipip' } }),
    ]);
  });

  it('reports what it cannot represent and keeps the rest', () => {
    const services = cat(
      nlmsg(FAMILY, NLM_F_MULTI, 1, genl(1, kernelService({ af: 2, proto: 51, addr: addr16(192, 0, 2, 9), port: 0, sched: 'rr', flags: 2, timeout: 0, netmask: le32(0xffffffff) }))),
      nlmsg(FAMILY, NLM_F_MULTI, 1, genl(1, kernelService({ af: 2, proto: 6, addr: addr16(192, 0, 2, 8), port: 80, sched: 'rr', flags: 3, timeout: 60, netmask: Uint8Array.from([255, 0, 255, 0]) }))),
      nlmsg(FAMILY, NLM_F_MULTI, 1, genl(1, kernelService({ af: 7, proto: 6, addr: addr16(1), port: 80, sched: 'rr', flags: 2, timeout: 0, netmask: le32(0) }))),
      nlmsg(FAMILY, NLM_F_MULTI, 1, genl(1, kernelService({ af: 2, proto: 6, addr: addr16(192, 0, 2, 7), port: 80, sched: 'rr', flags: 2, timeout: 0, netmask: le32(0xffffffff) }))),
      done(1),
    );
    const s = decodeServices([services], FAMILY);
    assert.deepEqual(s.services, [svc(tcp('192.0.2.7', 80), { scheduler: 'rr' })]);
    assert.deepEqual(s.problems, [
      { entry: 'protocol 51 192.0.2.9:0', reason: 'protocol 51 (tandem knows TCP, UDP, SCTP)' },
      { entry: 'TCP 192.0.2.8:80', reason: 'persistence netmask 255.0.255.0 is not a prefix' },
      { entry: 'service #3', reason: 'address family 7' },
    ]);
    const dests = cat(
      nlmsg(FAMILY, NLM_F_MULTI, 2, genl(5, kernelDest({ af: 2, addr: addr16(198, 51, 100, 1), port: 80, fwd: 4, weight: 1 }))),
      nlmsg(FAMILY, NLM_F_MULTI, 2, genl(5, kernelDest({ af: 2, addr: addr16(198, 51, 100, 2), port: 80, fwd: 2, weight: 1, tunType: 9 }))),
      nlmsg(FAMILY, NLM_F_MULTI, 2, genl(5, kernelDest({ af: 2, addr: addr16(198, 51, 100, 3), port: 80, fwd: 0, weight: 1 }))),
      done(2),
    );
    const d = decodeDests([dests], FAMILY, tcp('192.0.2.7', 80));
    assert.deepEqual(d.dests, [dest('198.51.100.3', 80)]);
    assert.deepEqual(d.problems, [
      { entry: 'TCP 192.0.2.7:80 -> 198.51.100.1:80', reason: 'forwarding method 4' },
      { entry: 'TCP 192.0.2.7:80 -> 198.51.100.2:80', reason: 'tunnel type 9' },
    ]);
    // A truncated message is a problem, not an exception.
    const cut = services.slice(0, 30);
    assert.doesNotThrow(() => decodeServices([cut], FAMILY));
    assert.equal(decodeServices([cut], FAMILY).problems.length, 1);
  });
});

describe('round trips: every entry of the golden ipvsadm capture', () => {
  const table = parseIpvsSave(readFileSync(new URL('../../../test/fixtures/ipvs/rules.save', import.meta.url), 'utf8')).table;

  it('add_service -> decodeServices gives the same service (20 services)', () => {
    assert.equal(table.size, 20);
    for (const e of table.values()) {
      const msg = encodeOp({ op: 'add_service', service: e.service, reason: 'missing' }, FAMILY, 1);
      const r = decodeServices([msg], FAMILY);
      assert.deepEqual(r, { services: [e.service], problems: [] }, JSON.stringify(e.service));
    }
  });

  it('add_dest -> decodeDests gives the same real server', () => {
    let n = 0;
    for (const e of table.values()) {
      for (const d of e.dests.values()) {
        n++;
        const msg = encodeOp({ op: 'add_dest', service: e.service.id, dest: d, reason: 'missing' }, FAMILY, 1);
        assert.deepEqual(decodeDests([msg], FAMILY, e.service.id), { dests: [d], problems: [] }, JSON.stringify(d));
      }
    }
    assert.equal(n, 18);
  });
});

describe('refusal messages', () => {
  it('are ipvsadm\'s texts for the command and errno', () => {
    assert.equal(ipvsErrorMessage('add_service', 17), 'Service already exists');
    assert.equal(ipvsErrorMessage('add_service', 2), 'Scheduler or persistence engine not found');
    assert.equal(ipvsErrorMessage('edit_service', 3), 'No such service');
    assert.equal(ipvsErrorMessage('delete_service', 3), 'No such service');
    assert.equal(ipvsErrorMessage('add_dest', 3), 'Service not defined');
    assert.equal(ipvsErrorMessage('add_dest', 17), 'Destination already exists');
    assert.equal(ipvsErrorMessage('edit_dest', 2), 'No such destination');
    assert.equal(ipvsErrorMessage('delete_dest', 2), 'No such destination');
    assert.equal(ipvsErrorMessage('add_dest', 22), 'Invalid operation.  Possibly wrong module version, address not unicast, ...');
    assert.equal(ipvsErrorMessage('add_dest', 34), 'Numerical result out of range');
    assert.equal(ipvsErrorMessage('add_dest', 4242), 'Unknown error 4242');
  });
});
