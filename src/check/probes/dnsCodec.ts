// The few DNS messages DNS_CHECK needs (RFC 1035 §4.1): one question out, a reply header in.
// Pure: Uint8Array and DataView only, no node: modules, no clock, no randomness (the caller
// draws the id).
import type { DnsType } from '../../config/lbModel.js';

/** RFC 1035 §3.2.2 and RFC 3596 §2.1 (AAAA). */
export const DNS_TYPE_CODES: Readonly<Record<DnsType, number>> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28,
};

const CLASS_IN = 1;
const HEADER_BYTES = 12;
const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
/** RFC 1035 §2.3.4. */
const MAX_LABEL = 63;
const MAX_NAME_WIRE = 255;

/** RFC 1035 §4.1.1 RCODE names, for readable failure details. */
const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED',
};

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE ${rcode}`;
}

/** `example.org`, `example.org.` or `.` (the root) as wire labels (RFC 1035 §3.1). Throws a
 *  RangeError for an empty label, a label over 63 bytes or a name over 255 bytes. */
export function encodeDnsName(name: string): Uint8Array {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const labels = trimmed === '' ? [] : trimmed.split('.');
  const out: number[] = [];
  for (const label of labels) {
    const bytes = new TextEncoder().encode(label);
    if (bytes.length === 0) throw new RangeError(`DNS name ${JSON.stringify(name)} has an empty label`);
    if (bytes.length > MAX_LABEL) throw new RangeError(`DNS label ${JSON.stringify(label)} is longer than ${MAX_LABEL} bytes`);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  if (out.length > MAX_NAME_WIRE) throw new RangeError(`DNS name ${JSON.stringify(name)} is longer than ${MAX_NAME_WIRE} bytes`);
  return Uint8Array.from(out);
}

export interface DnsQuery {
  id: number;
  type: DnsType;
  name: string;
}

/** A standard query with one question, class IN, recursion desired (what keepalived's
 *  dns_make_query() sends). */
export function encodeDnsQuery(q: DnsQuery): Uint8Array {
  const qname = encodeDnsName(q.name);
  const msg = new Uint8Array(HEADER_BYTES + qname.length + 4);
  const v = new DataView(msg.buffer);
  v.setUint16(0, q.id & 0xffff);
  v.setUint16(2, FLAG_RD);
  v.setUint16(4, 1); // QDCOUNT
  msg.set(qname, HEADER_BYTES);
  v.setUint16(HEADER_BYTES + qname.length, DNS_TYPE_CODES[q.type]);
  v.setUint16(HEADER_BYTES + qname.length + 2, CLASS_IN);
  return msg;
}

export interface DnsHeader {
  id: number;
  /** QR: this is a response. */
  response: boolean;
  opcode: number;
  truncated: boolean;
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

/** The fixed header (RFC 1035 §4.1.1), or null when the message is shorter than one. */
export function decodeDnsHeader(msg: Uint8Array): DnsHeader | null {
  if (msg.length < HEADER_BYTES) return null;
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const flags = v.getUint16(2);
  return {
    id: v.getUint16(0),
    response: (flags & FLAG_QR) !== 0,
    opcode: (flags >> 11) & 0xf,
    truncated: (flags & FLAG_TC) !== 0,
    rcode: flags & 0xf,
    qdcount: v.getUint16(4),
    ancount: v.getUint16(6),
    nscount: v.getUint16(8),
    arcount: v.getUint16(10),
  };
}

/** What one datagram means to a DNS_CHECK waiting for reply `id` (keepalived check_dns.c
 *  dns_recv_thread()): a short message, another id or a query is ignored and the check keeps
 *  waiting; a reply with our id is judged by its RCODE alone. */
export type DnsReplyJudgement =
  | { kind: 'ignore'; why: 'short' | 'other_id' | 'not_a_response' }
  | { kind: 'up' }
  | { kind: 'down'; rcode: number };

export function judgeDnsReply(msg: Uint8Array, id: number): DnsReplyJudgement {
  const h = decodeDnsHeader(msg);
  if (!h) return { kind: 'ignore', why: 'short' };
  if (h.id !== (id & 0xffff)) return { kind: 'ignore', why: 'other_id' };
  if (!h.response) return { kind: 'ignore', why: 'not_a_response' };
  return h.rcode === 0 ? { kind: 'up' } : { kind: 'down', rcode: h.rcode };
}

export interface DnsQuestion {
  id: number;
  flags: number;
  name: string;
  type: number;
  class: number;
}

/** The first question of a query, for responders in tests and for golden checks. Null when the
 *  message is malformed (no compression pointers are expected in a question we sent). */
export function decodeDnsQuestion(msg: Uint8Array): DnsQuestion | null {
  const h = decodeDnsHeader(msg);
  if (!h || h.qdcount < 1) return null;
  const labels: string[] = [];
  let at = HEADER_BYTES;
  for (;;) {
    if (at >= msg.length) return null;
    const len = msg[at]!;
    at++;
    if (len === 0) break;
    if (len > MAX_LABEL || at + len > msg.length) return null;
    labels.push(new TextDecoder().decode(msg.subarray(at, at + len)));
    at += len;
  }
  if (at + 4 > msg.length) return null;
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  return {
    id: h.id,
    flags: v.getUint16(2),
    name: labels.length === 0 ? '.' : `${labels.join('.')}.`,
    type: v.getUint16(at),
    class: v.getUint16(at + 2),
  };
}

/** A reply to `query` with the given RCODE and no records (tests' responders). `id` overrides
 *  the query's id, to play a server that answers someone else. */
export function encodeDnsReply(query: Uint8Array, opts: { rcode: number; id?: number }): Uint8Array {
  const reply = Uint8Array.from(query);
  const v = new DataView(reply.buffer);
  if (opts.id !== undefined) v.setUint16(0, opts.id & 0xffff);
  const rd = v.getUint16(2) & FLAG_RD;
  v.setUint16(2, FLAG_QR | rd | 0x0080 /* RA */ | (opts.rcode & 0xf));
  return reply;
}
