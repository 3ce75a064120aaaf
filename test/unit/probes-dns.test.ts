// DNS_CHECK: the pure codec (golden bytes from RFC 1035's layout) and the probe against DNS
// responders on dgram sockets, well-behaved and hostile.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeDnsHeader, decodeDnsQuestion, encodeDnsName, encodeDnsQuery, encodeDnsReply, judgeDnsReply,
} from '../../src/check/probes/dnsCodec.js';
import { probeDns, type DnsProbeParams } from '../../src/check/probes/dns.js';
import type { DnsType } from '../../src/config/lbModel.js';
import { since, udpServer } from './probes-servers.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('DNS codec', () => {
  test('golden: SOA . with id 0x1234, RD set (what keepalived sends by default)', () => {
    // header: id 1234, flags 0100 (RD), QD 1, AN/NS/AR 0; qname root 00; QTYPE 0006; QCLASS 0001
    assert.equal(hex(encodeDnsQuery({ id: 0x1234, type: 'SOA', name: '.' })), '123401000001000000000000' + '00' + '0006' + '0001');
  });

  test('golden: A www.example.org (with and without the final dot)', () => {
    const want = 'beef01000001000000000000' + '03777777' + '076578616d706c65' + '036f7267' + '00' + '0001' + '0001';
    assert.equal(hex(encodeDnsQuery({ id: 0xbeef, type: 'A', name: 'www.example.org' })), want);
    assert.equal(hex(encodeDnsQuery({ id: 0xbeef, type: 'A', name: 'www.example.org.' })), want);
  });

  test('every configured type has its RFC code', () => {
    const codes: Record<DnsType, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 };
    for (const [type, code] of Object.entries(codes)) {
      const q = decodeDnsQuestion(encodeDnsQuery({ id: 1, type: type as DnsType, name: 'example.org' }));
      assert.deepEqual(q, { id: 1, flags: 0x0100, name: 'example.org.', type: code, class: 1 });
    }
  });

  test('names that cannot be encoded are RangeErrors', () => {
    assert.throws(() => encodeDnsName('a..b'), RangeError);
    assert.throws(() => encodeDnsName(`${'a'.repeat(64)}.org`), RangeError);
    assert.throws(() => encodeDnsName(Array.from({ length: 64 }, () => 'abc').join('.')), RangeError);
    assert.equal(encodeDnsName(`${'a'.repeat(63)}.org`).length, 1 + 63 + 1 + 3 + 1);
  });

  test('judging replies: keepalived\'s rule (our id and RCODE 0; other ids and queries ignored)', () => {
    const q = encodeDnsQuery({ id: 0x4242, type: 'SOA', name: '.' });
    assert.deepEqual(judgeDnsReply(encodeDnsReply(q, { rcode: 0 }), 0x4242), { kind: 'up' });
    assert.deepEqual(judgeDnsReply(encodeDnsReply(q, { rcode: 3 }), 0x4242), { kind: 'down', rcode: 3 });
    assert.deepEqual(judgeDnsReply(encodeDnsReply(q, { rcode: 0, id: 0x4243 }), 0x4242), { kind: 'ignore', why: 'other_id' });
    assert.deepEqual(judgeDnsReply(q, 0x4242), { kind: 'ignore', why: 'not_a_response' });
    assert.deepEqual(judgeDnsReply(new Uint8Array(11), 0x4242), { kind: 'ignore', why: 'short' });
    const h = decodeDnsHeader(encodeDnsReply(q, { rcode: 2 }));
    assert.deepEqual(h, { id: 0x4242, response: true, opcode: 0, truncated: false, rcode: 2, qdcount: 1, ancount: 0, nscount: 0, arcount: 0 });
  });

  test('decoding survives every truncation of a query', () => {
    const q = encodeDnsQuery({ id: 7, type: 'AAAA', name: 'a.example.org' });
    for (let n = 0; n < q.length; n++) assert.equal(decodeDnsQuestion(q.subarray(0, n)), null, `length ${n}`);
    assert.notEqual(decodeDnsQuestion(q), null);
  });
});

function dnsParams(port: number, extra: Partial<DnsProbeParams> = {}): DnsProbeParams {
  return { connectIp: '127.0.0.1', connectPort: port, bindTo: undefined, bindPort: undefined, queryType: 'SOA', queryName: '.', ...extra };
}

describe('DNS_CHECK against responders on loopback', () => {
  test('NOERROR is up; the server saw our question', async () => {
    const questions: unknown[] = [];
    const srv = await udpServer('udp4', '127.0.0.1', (m) => { questions.push(decodeDnsQuestion(m)); return encodeDnsReply(m, { rcode: 0 }); });
    try {
      assert.deepEqual(await probeDns(dnsParams(srv.port, { queryType: 'A', queryName: 'www.example.org' }), { timeoutMs: 1000 }), { ok: true });
      assert.equal(questions.length, 1);
      assert.deepEqual({ ...(questions[0] as object), id: 0 }, { id: 0, flags: 0x0100, name: 'www.example.org.', type: 1, class: 1 });
    } finally { await srv.close(); }
  });

  test('IPv6 responder on ::1', async () => {
    const srv = await udpServer('udp6', '::1', (m) => encodeDnsReply(m, { rcode: 0 }));
    try {
      assert.deepEqual(await probeDns(dnsParams(srv.port, { connectIp: '::1' }), { timeoutMs: 1000 }), { ok: true });
    } finally { await srv.close(); }
  });

  test('NXDOMAIN / SERVFAIL are down with dns_rcode', async () => {
    for (const [rcode, name] of [[3, 'NXDOMAIN'], [2, 'SERVFAIL']] as const) {
      const srv = await udpServer('udp4', '127.0.0.1', (m) => encodeDnsReply(m, { rcode }));
      try {
        const r = await probeDns(dnsParams(srv.port), { timeoutMs: 1000 });
        assert.equal(!r.ok && r.reason, 'dns_rcode');
        assert.match(!r.ok ? r.detail ?? '' : '', new RegExp(name));
      } finally { await srv.close(); }
    }
  });

  test('hostile: answers only with another id -> ignored, dns_id at the deadline', async () => {
    const srv = await udpServer('udp4', '127.0.0.1', (m) => {
      const id = new DataView(m.buffer, m.byteOffset).getUint16(0);
      return [encodeDnsReply(m, { rcode: 0, id: id ^ 1 }), encodeDnsReply(m, { rcode: 3, id: id ^ 2 })];
    });
    try {
      const t0 = performance.now();
      const r = await probeDns(dnsParams(srv.port), { timeoutMs: 300 });
      const took = since(t0);
      assert.equal(!r.ok && r.reason, 'dns_id', JSON.stringify(r));
      assert.match(!r.ok ? r.detail ?? '' : '', /ignored 2 with another id/);
      // Not before its deadline (a lower bound, which a slow machine cannot break); the verdict
      // at the deadline is the reason above, not a number of milliseconds.
      assert.ok(took >= 295, `${took} ms`);
    } finally { await srv.close(); }
  });

  test('hostile: a wrong id first, then the right answer -> up', async () => {
    const srv = await udpServer('udp4', '127.0.0.1', (m) => {
      const id = new DataView(m.buffer, m.byteOffset).getUint16(0);
      return [encodeDnsReply(m, { rcode: 0, id: id ^ 0xffff }), encodeDnsReply(m, { rcode: 0 })];
    });
    try {
      assert.deepEqual(await probeDns(dnsParams(srv.port), { timeoutMs: 1000 }), { ok: true });
    } finally { await srv.close(); }
  });

  test('hostile: garbage, an echoed query, silence -> timeout within its deadline', async () => {
    const behaviours: Array<[string, (m: Buffer) => Uint8Array | null]> = [
      ['short garbage', () => Uint8Array.from([1, 2, 3])],
      ['echoes the query (QR=0)', (m) => Uint8Array.from(m)],
      ['silent', () => null],
    ];
    for (const [what, reply] of behaviours) {
      const srv = await udpServer('udp4', '127.0.0.1', reply);
      try {
        const r = await probeDns(dnsParams(srv.port), { timeoutMs: 200 });
        assert.deepEqual(r, { ok: false, reason: 'timeout', detail: 'no reply' }, what);
        assert.equal(srv.received, 1, what);
      } finally { await srv.close(); }
    }
  });

  test('nothing listening: ICMP port unreachable fails at once, well before the deadline', async () => {
    const srv = await udpServer('udp4', '127.0.0.1', () => null);
    const port = srv.port;
    await srv.close();
    // 'unreachable', not the deadline's 'timeout': the ICMP error settled it before the deadline.
    const r = await probeDns(dnsParams(port), { timeoutMs: 2000 });
    assert.equal(!r.ok && r.reason, 'unreachable', JSON.stringify(r));
  });

  test('bindto / bind_port: the query leaves from the configured source', async () => {
    const srv = await udpServer('udp4', '127.0.0.1', (m) => encodeDnsReply(m, { rcode: 0 }));
    const free = await udpServer('udp4', '127.0.0.3', () => null);
    const bindPort = free.port;
    await free.close();
    try {
      assert.deepEqual(await probeDns(dnsParams(srv.port, { bindTo: '127.0.0.3' }), { timeoutMs: 1000 }), { ok: true });
      assert.deepEqual(await probeDns(dnsParams(srv.port, { bindTo: '127.0.0.3', bindPort }), { timeoutMs: 1000 }), { ok: true });
      assert.match(srv.senders[0]!, /^127\.0\.0\.3:\d+$/);
      assert.equal(srv.senders[1], `127.0.0.3:${bindPort}`);
    } finally { await srv.close(); }
  });

  test('an unencodable name fails without sending anything', async () => {
    const srv = await udpServer('udp4', '127.0.0.1', (m) => encodeDnsReply(m, { rcode: 0 }));
    try {
      const r = await probeDns(dnsParams(srv.port, { queryName: 'a..b' }), { timeoutMs: 500 });
      assert.equal(!r.ok && r.reason, 'connect_error');
      assert.equal(srv.received, 0);
    } finally { await srv.close(); }
  });
});
