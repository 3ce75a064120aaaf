// NetlinkIpvsBackend without an IPVS kernel: a stand-in transport records the request batches
// and answers with scripted errnos and dump replies, so refusal mapping, op order, slicing,
// sequence numbers and failure handling are checked here; the real kernel is
// test/kernel/ipvs-netlink.test.ts. The host's own kernel (no IPVS) gives the "no family" case
// through the real native socket.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { IpvsBackendError } from '../../src/lb/ipvs/backend.js';
import { NetlinkIpvsBackend, type GenlTransport } from '../../src/lb/ipvs/netlinkBackend.js';
import { encodeOp, type DecodeProblem } from '../../src/lb/ipvs/netlinkCodec.js';
import { tableOf } from '../../src/lb/model.js';
import type { RealServer, ServiceAddress, VirtualService } from '../../src/config/lbModel.js';
import type { TableOp } from '../../src/lb/reconcile.js';
import { GenlSocket } from '../../src/net/genetlink.js';

const FAMILY = 0x1c;
const tcp = (address: string, port: number): ServiceAddress => ({ kind: 'inet', family: 4, protocol: 'TCP', address, port });
const svc = (id: ServiceAddress, o: Partial<VirtualService> = {}): VirtualService =>
  ({ id, scheduler: 'rr', persistence: null, pe: null, ops: false, schedFlags: [], ...o });
const rs = (n: number, o: Partial<RealServer> = {}): RealServer =>
  ({ family: 4, address: `198.51.100.${n}`, port: 80, forwarding: 'NAT', weight: 1, tunnel: null, ...o });

/** Messages in a request buffer: [cmd, seq] each. */
function requests(buf: Uint8Array): Array<[number, number]> {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Array<[number, number]> = [];
  for (let at = 0; at < buf.length;) {
    const len = v.getUint32(at, true);
    out.push([buf[at + 16]!, v.getUint32(at + 8, true)]);
    at += (len + 3) & ~3;
  }
  return out;
}

class FakeTransport implements GenlTransport {
  seq = 0;
  closed = false;
  batches: Array<Array<[number, number]>> = [];
  dumps: Uint8Array[] = [];
  constructor(
    private readonly answer: (count: number, call: number) => number[],
    private readonly dumpReply: (req: Uint8Array) => Uint8Array[] = () => [],
  ) {}
  familyId(name: string): number {
    assert.equal(name, 'IPVS');
    return FAMILY;
  }
  reserveSeq(count: number): number { const first = this.seq + 1; this.seq += count; return first; }
  transact(buf: Uint8Array, count: number): Int32Array {
    const r = requests(buf);
    assert.equal(r.length, count, 'count matches the buffer');
    this.batches.push(r);
    return Int32Array.from(this.answer(count, this.batches.length));
  }
  dump(buf: Uint8Array): Uint8Array[] { this.dumps.push(buf); return this.dumpReply(buf); }
  close(): void { this.closed = true; }
}

describe('NetlinkIpvsBackend.apply', () => {
  const web = svc(tcp('192.0.2.10', 80));
  const ops: TableOp[] = [
    { op: 'add_service', service: web, reason: 'missing' },
    { op: 'add_dest', service: web.id, dest: rs(1), reason: 'missing' },
    { op: 'add_dest', service: web.id, dest: rs(2, { weight: -5 }), reason: 'missing' },
    { op: 'delete_dest', service: web.id, dest: rs(3), reason: 'not_desired' },
    { op: 'add_dest', service: tcp('192.0.2.99', 80), dest: rs(4), reason: 'missing' },
  ];

  it('exact refusals from the per-request errno, in op order, with ipvsadm\'s messages; unencodable ops never sent', async () => {
    const t = new FakeTransport(() => [0, 0, 2, 3]);
    const b = new NetlinkIpvsBackend({ openSocket: () => t });
    const r = await b.apply(ops);
    assert.deepEqual(t.batches, [[[1, 1], [5, 2], [7, 3], [5, 4]]], 'NEW_SERVICE, NEW_DEST, DEL_DEST, NEW_DEST with seq 1..4');
    assert.equal(r.sent, 4);
    assert.equal(r.applied, 2);
    assert.equal(r.exitStatus, null);
    assert.deepEqual(r.refused.map((x) => ({ op: ops.indexOf(x.op), reason: x.reason, errno: x.errno })), [
      { op: 2, reason: 'unrenderable', errno: undefined },
      { op: 3, reason: 'kernel_refused', errno: 2 },
      { op: 4, reason: 'kernel_refused', errno: 3 },
    ]);
    assert.match(r.refused[0]!.message!, /weight -5/);
    assert.equal(r.refused[1]!.message, 'No such destination');
    assert.equal(r.refused[2]!.message, 'Service not defined');
  });

  it('cuts a large batch into slices, numbering requests on without a gap', async () => {
    const t = new FakeTransport((count) => new Array<number>(count).fill(0));
    const b = new NetlinkIpvsBackend({ openSocket: () => t, opsPerSlice: 2 });
    const many: TableOp[] = Array.from({ length: 5 }, (_, i) => ({ op: 'add_dest', service: web.id, dest: rs(i + 1), reason: 'missing' }));
    const r = await b.apply(many);
    assert.deepEqual(t.batches.map((x) => x.map(([, seq]) => seq)), [[1, 2], [3, 4], [5]]);
    assert.equal(r.applied, 5);
    assert.deepEqual(r.refused, []);
  });

  it('an exchange failure rejects with IpvsBackendError netlink_failed and the next call opens a new socket', async () => {
    let opened = 0;
    const sockets: FakeTransport[] = [];
    const b = new NetlinkIpvsBackend({
      openSocket: () => {
        opened++;
        const t = new FakeTransport((count, call) => {
          if (opened === 1 && call === 1) throw Object.assign(new Error('recv(NETLINK_GENERIC) ENOBUFS'), { code: 'ENOBUFS' });
          return new Array<number>(count).fill(0);
        });
        sockets.push(t);
        return t;
      },
    });
    await assert.rejects(b.apply(ops.slice(0, 2)), (e: unknown) => e instanceof IpvsBackendError && e.code === 'netlink_failed' && /ENOBUFS/.test(e.message));
    assert.equal(sockets[0]!.closed, true);
    const r = await b.apply(ops.slice(0, 2));
    assert.equal(opened, 2);
    assert.equal(r.applied, 2);
  });

  it('nothing to send: no socket call at all', async () => {
    const t = new FakeTransport(() => assert.fail('transact called'));
    const r = await new NetlinkIpvsBackend({ openSocket: () => t }).apply([ops[2]!]);
    assert.deepEqual([r.sent, r.applied, r.refused.length, t.batches.length], [0, 0, 1, 0]);
  });
});

describe('NetlinkIpvsBackend.readTable', () => {
  it('dumps the services, then each service\'s real servers, into one table', async () => {
    const a = svc(tcp('192.0.2.1', 80), { scheduler: 'wrr', persistence: { timeoutS: 60, netmaskPrefix: 24 } });
    const f = svc({ kind: 'fwmark', family: 6, fwmark: 3 }, { scheduler: 'sh', schedFlags: ['sh-port'] });
    const dests = new Map<string, RealServer[]>([
      ['a', [rs(1, { weight: 3 }), rs(2, { forwarding: 'DR' })]],
      ['f', [{ family: 6, address: '2001:db8::5', port: 0, forwarding: 'TUN', weight: 1, tunnel: { type: 'gre', csum: 'csum' } }]],
    ]);
    const problems: DecodeProblem[][] = [];
    const t = new FakeTransport(() => [], (req) => {
      const cmd = req[16];
      if (cmd === 4) {
        // A NEW_SERVICE request has the layout of a GET_SERVICE dump reply; add a foreign
        // entry tandem cannot represent (a bad address family) in between.
        const bad = encodeOp({ op: 'add_service', service: svc(tcp('192.0.2.2', 80)), reason: 'missing' }, FAMILY, 1);
        bad[16 + 4 + 4 + 4] = 7; // SVC_ATTR_AF payload: AF 7
        return [encodeOp({ op: 'add_service', service: a, reason: 'missing' }, FAMILY, 1), bad, encodeOp({ op: 'add_service', service: f, reason: 'missing' }, FAMILY, 1)];
      }
      assert.equal(cmd, 8, 'GET_DEST');
      const which = req.length > 40 ? 'a' : 'f'; // the address service's request carries more
      const id = which === 'a' ? a.id : f.id;
      return dests.get(which)!.map((d) => encodeOp({ op: 'add_dest', service: id, dest: d, reason: 'missing' }, FAMILY, 1));
    });
    const table = await new NetlinkIpvsBackend({ openSocket: () => t, onDecodeProblems: (p) => problems.push(p) }).readTable();
    assert.deepEqual(table, tableOf([{ service: a, dests: dests.get('a')! }, { service: f, dests: dests.get('f')! }]));
    assert.deepEqual(problems, [[{ entry: 'service #2', reason: 'address family 7' }]]);
    assert.equal(t.dumps.length, 3, 'one service dump, two real-server dumps');
  });
});

describe('the real generic netlink socket on this host', () => {
  it('resolves the controller family itself (nlctrl = GENL_ID_CTRL 0x10)', () => {
    const s = new GenlSocket();
    try {
      assert.equal(s.familyId('nlctrl'), 0x10);
      assert.throws(() => s.familyId('tandem-nope'), (e: unknown) => (e as { code?: string }).code === 'ENOENT');
    } finally {
      s.close();
    }
  });

  /** CTRL_CMD_GETFAMILY (3) for `name` to the controller (GENL_ID_CTRL 0x10), flags given. */
  function getFamily(name: string, seq: number, flags: number): Uint8Array {
    const nameBytes = Buffer.from(`${name}\0`);
    const attrLen = 4 + nameBytes.length;
    const len = 16 + 4 + ((attrLen + 3) & ~3);
    const b = Buffer.alloc(len);
    b.writeUInt32LE(len, 0); b.writeUInt16LE(0x10, 4); b.writeUInt16LE(flags, 6); b.writeUInt32LE(seq, 8);
    b[16] = 3; b[17] = 1;
    b.writeUInt16LE(attrLen, 20); b.writeUInt16LE(2, 22); // CTRL_ATTR_FAMILY_NAME
    nameBytes.copy(b, 24);
    return b;
  }

  it('transact: 5,000 acked requests in one call, one errno each in order (several sendmsg / recvmmsg rounds)', () => {
    const s = new GenlSocket();
    try {
      const first = s.reserveSeq(5000);
      const parts: Uint8Array[] = [];
      for (let i = 0; i < 5000; i++) parts.push(getFamily(i % 97 === 0 ? 'nlctrl' : `tN-no-${i}`, first + i, 0x1 | 0x4));
      const errors = s.transact(Buffer.concat(parts), 5000);
      assert.equal(errors.length, 5000);
      const wrong = [...errors].flatMap((e, i) => (e === (i % 97 === 0 ? 0 : 2) ? [] : [`${i}: ${e}`]));
      assert.deepEqual(wrong, [], 'ENOENT (2) for a missing family, 0 for nlctrl');
      // The socket is still in step afterwards: the next exchange pairs its own replies.
      assert.equal(s.familyId('nlctrl'), 0x10);
      assert.throws(() => s.transact(getFamily('nlctrl', 1, 0x1), 1), /NLM_F_ACK/);
      assert.throws(() => s.transact(getFamily('nlctrl', 1, 0x5), 2), /expected 2/);
    } finally {
      s.close();
    }
  });

  it('dump: the controller lists every family, nlctrl among them, up to NLMSG_DONE', () => {
    const s = new GenlSocket();
    try {
      const req = Buffer.alloc(20); // nlmsghdr + genlmsghdr, no attributes: every family
      req.writeUInt32LE(20, 0); req.writeUInt16LE(0x10, 4); req.writeUInt16LE(0x1 | 0x300, 6); req.writeUInt32LE(s.reserveSeq(1), 8);
      req[16] = 3; req[17] = 1;
      const datagrams = s.dump(req);
      const all = Buffer.concat(datagrams);
      assert.ok(all.includes(Buffer.from('nlctrl\0')), 'nlctrl is listed');
      const last = datagrams.at(-1)!;
      let at = 0, lastType = -1;
      while (at + 16 <= last.length) { lastType = last.readUInt16LE(at + 4); at += (last.readUInt32LE(at) + 3) & ~3; }
      assert.equal(lastType, 3, 'the last message is NLMSG_DONE');
    } finally {
      s.close();
    }
  });

  it('a kernel without IPVS: readTable and apply reject with netlink_failed, naming the missing module', async () => {
    const b = new NetlinkIpvsBackend();
    if (existsSync('/proc/net/ip_vs')) {
      // This kernel has IPVS after all: the backend must then work.
      assert.ok((await b.readTable()) instanceof Map);
      return;
    }
    const isNoIpvs = (e: unknown) => e instanceof IpvsBackendError && e.code === 'netlink_failed' && /ip_vs module/.test(e.message);
    await assert.rejects(b.readTable(), isNoIpvs);
    await assert.rejects(b.apply([{ op: 'delete_service', service: svc(tcp('192.0.2.1', 80)), reason: 'not_desired' }]), isNoIpvs);
  });
});
