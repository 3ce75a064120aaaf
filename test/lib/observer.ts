// Wire observer: tcpdump on the lab's bridge writes a pcap stream with nanosecond timestamps
// (kernel capture time), which is parsed here into VRRP adverts, ARP packets and IPv6 neighbour
// advertisements. Timing claims (failover gap, first GARP after first advert) are measured from
// these timestamps, never from the test's own clock. The parser is our own, independent of
// src/vrrp/packet.ts, so it can judge the daemon's packets.
import type { Lab, NsProcess } from './netns.js';
import { requireTools, waitFor } from './netns.js';

interface FrameBase {
  /** Capture time, nanoseconds since the epoch (CLOCK_REALTIME, like Date.now()). */
  tNs: bigint;
  srcMac: string;
  dstMac: string;
}

/** A VRRP packet (RFC 3768 §5, RFC 5798 §5) over IPv4 or IPv6. */
export interface VrrpEvent extends FrameBase {
  kind: 'vrrp';
  family: 4 | 6;
  src: string;
  dst: string;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl: number;
  version: number;
  type: number;
  vrid: number;
  priority: number;
  count: number;
  /** Advertisement interval in centiseconds (v2's seconds field is converted). */
  advertIntCs: number;
  /** v2 only. */
  authType: number | null;
  addrs: string[];
  length: number;
}

/** An ARP packet; gratuitous when sender and target protocol addresses are equal. */
export interface ArpEvent extends FrameBase {
  kind: 'arp';
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
  gratuitous: boolean;
}

/** An ICMPv6 neighbour advertisement (RFC 4861 §4.4). */
export interface NaEvent extends FrameBase {
  kind: 'na';
  src: string;
  dst: string;
  hopLimit: number;
  targetIp: string;
  /** Target link-layer address option, if present. */
  targetMac: string | null;
  router: boolean;
  solicited: boolean;
  override: boolean;
}

export type WireEvent = VrrpEvent | ArpEvent | NaEvent;

// ---------------------------------------------------------------------------------------------
// pcap stream parsing (libpcap file format; tcpdump -w - writes it).

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;

/** Incremental parser of a pcap byte stream into wire events. */
export class PcapStreamParser {
  private buf: Buffer = Buffer.alloc(0);
  private littleEndian = true;
  private nanos = true;
  private headerDone = false;
  linkType = -1;

  constructor(private readonly onEvent: (e: WireEvent) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (!this.headerDone) {
      if (this.buf.length < 24) return;
      const le = this.buf.readUInt32LE(0);
      const be = this.buf.readUInt32BE(0);
      if (le === PCAP_MAGIC_NS || le === PCAP_MAGIC_US) { this.littleEndian = true; this.nanos = le === PCAP_MAGIC_NS; }
      else if (be === PCAP_MAGIC_NS || be === PCAP_MAGIC_US) { this.littleEndian = false; this.nanos = be === PCAP_MAGIC_NS; }
      else throw new Error(`not a pcap stream (magic ${this.buf.subarray(0, 4).toString('hex')})`);
      this.linkType = this.u32(20);
      this.buf = this.buf.subarray(24);
      this.headerDone = true;
    }
    let off = 0;
    for (let i = 0; i < 1_000_000 && this.buf.length - off >= 16; i++) {
      const sec = this.u32(off);
      const frac = this.u32(off + 4);
      const incl = this.u32(off + 8);
      if (this.buf.length - off < 16 + incl) break;
      const frame = this.buf.subarray(off + 16, off + 16 + incl);
      off += 16 + incl;
      const tNs = BigInt(sec) * 1_000_000_000n + BigInt(this.nanos ? frac : frac * 1000);
      if (this.linkType === LINKTYPE_ETHERNET) {
        const e = parseEthernetFrame(frame, tNs);
        if (e) this.onEvent(e);
      }
    }
    this.buf = this.buf.subarray(off);
  }

  private u32(off: number): number {
    return this.littleEndian ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off);
  }
}

/** Decodes one Ethernet frame into a wire event, or null if it is none of ours. */
export function parseEthernetFrame(f: Uint8Array, tNs: bigint): WireEvent | null {
  if (f.length < 14) return null;
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  const base = { tNs, dstMac: mac(f, 0), srcMac: mac(f, 6) };
  let etherType = dv.getUint16(12);
  let off = 14;
  if (etherType === 0x8100 && f.length >= 18) { etherType = dv.getUint16(16); off = 18; }
  if (etherType === 0x0806) return parseArp(f.subarray(off), base);
  if (etherType === 0x0800) {
    if (f.length < off + 20) return null;
    const ihl = (f[off]! & 0x0f) * 4;
    const totalLen = dv.getUint16(off + 2);
    const proto = f[off + 9]!;
    if (proto !== 112) return null;
    const payload = f.subarray(off + ihl, Math.min(f.length, off + totalLen));
    return parseVrrp(payload, { ...base, family: 4, ttl: f[off + 8]!, src: ipv4(f, off + 12), dst: ipv4(f, off + 16) });
  }
  if (etherType === 0x86dd) {
    if (f.length < off + 40) return null;
    const payloadLen = dv.getUint16(off + 4);
    const next = f[off + 6]!;
    const hop = f[off + 7]!;
    const src = ipv6(f, off + 8);
    const dst = ipv6(f, off + 24);
    const payload = f.subarray(off + 40, Math.min(f.length, off + 40 + payloadLen));
    if (next === 112) return parseVrrp(payload, { ...base, family: 6, ttl: hop, src, dst });
    if (next === 58 && payload.length >= 24 && payload[0] === 136) {
      let targetMac: string | null = null;
      // Options: type, length in units of 8 octets (RFC 4861 §4.6); type 2 = target LL address.
      for (let o = 24, n = 0; o + 8 <= payload.length && n < 16; n++) {
        const len = payload[o + 1]! * 8;
        if (len === 0) break;
        if (payload[o] === 2 && len >= 8) targetMac = mac(payload, o + 2);
        o += len;
      }
      const flags = payload[4]!;
      return {
        ...base, kind: 'na', src, dst, hopLimit: hop, targetIp: ipv6(payload, 8), targetMac,
        router: (flags & 0x80) !== 0, solicited: (flags & 0x40) !== 0, override: (flags & 0x20) !== 0,
      };
    }
  }
  return null;
}

function parseArp(a: Uint8Array, base: FrameBase): ArpEvent | null {
  if (a.length < 28) return null;
  const dv = new DataView(a.buffer, a.byteOffset, a.byteLength);
  if (dv.getUint16(0) !== 1 || dv.getUint16(2) !== 0x0800 || a[4] !== 6 || a[5] !== 4) return null;
  const senderIp = ipv4(a, 14);
  const targetIp = ipv4(a, 24);
  return {
    ...base, kind: 'arp', op: dv.getUint16(6), senderMac: mac(a, 8), senderIp, targetMac: mac(a, 18), targetIp,
    gratuitous: senderIp === targetIp,
  };
}

function parseVrrp(
  v: Uint8Array,
  ctx: FrameBase & { family: 4 | 6; ttl: number; src: string; dst: string },
): VrrpEvent | null {
  if (v.length < 8) return null;
  const version = v[0]! >> 4;
  const count = v[3]!;
  const addrLen = ctx.family === 4 ? 4 : 16;
  const addrs: string[] = [];
  for (let i = 0; i < count && 8 + (i + 1) * addrLen <= v.length; i++) {
    addrs.push(ctx.family === 4 ? ipv4(v, 8 + i * 4) : ipv6(v, 8 + i * 16));
  }
  const advertIntCs = version === 3 ? ((v[4]! & 0x0f) << 8) | v[5]! : v[5]! * 100;
  return {
    ...ctx, kind: 'vrrp', version, type: v[0]! & 0x0f, vrid: v[1]!, priority: v[2]!, count,
    advertIntCs, authType: version === 2 ? v[4]! : null, addrs, length: v.length,
  };
}

function mac(b: Uint8Array, off: number): string {
  return Array.from(b.subarray(off, off + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

function ipv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 text form (lower case, longest zero run compressed). */
function ipv6(b: Uint8Array, off: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

// ---------------------------------------------------------------------------------------------
// The observer process.

export interface ObserverOptions {
  /** Namespace to capture in; default the lab's bridge namespace. */
  ns?: string;
  /** Interface to capture on; default the lab's bridge (promiscuous, so it sees every port). */
  iface?: string;
}

export class Observer {
  readonly events: WireEvent[] = [];
  private readonly waiters = new Set<() => void>();
  private parseError: Error | null = null;

  private constructor(readonly proc: NsProcess) {}

  /** Starts tcpdump and resolves once it is capturing. */
  static async start(lab: Lab, opts: ObserverOptions = {}): Promise<Observer> {
    requireTools('tcpdump');
    let observer: Observer | undefined;
    const pending: Buffer[] = [];
    const parser = new PcapStreamParser((e) => observer!.add(e));
    const proc = lab.spawn(opts.ns ?? lab.bridgeNs, [
      'tcpdump', '-i', opts.iface ?? lab.bridge, '-n', '-U', '--immediate-mode',
      '--time-stamp-precision=nano', '-s', '512', '-w', '-',
      'arp or ip proto 112 or ip6 proto 112 or icmp6',
    ], {
      onStdout: (chunk) => {
        if (!observer) { pending.push(chunk); return; }
        try { parser.push(chunk); } catch (err) { observer.parseError = err as Error; }
      },
    });
    observer = new Observer(proc);
    for (const c of pending) parser.push(c);
    await proc.waitForLine(/listening on/, 10_000);
    return observer;
  }

  private add(e: WireEvent): void {
    this.events.push(e);
    for (const w of this.waiters) w();
  }

  /** Index to pass as `from` so that only events after this moment are considered. */
  get mark(): number {
    return this.events.length;
  }

  adverts(filter: Partial<Pick<VrrpEvent, 'src' | 'vrid' | 'version'>> = {}, from = 0): VrrpEvent[] {
    return this.events.slice(from).filter((e): e is VrrpEvent => e.kind === 'vrrp'
      && (filter.src === undefined || e.src === filter.src)
      && (filter.vrid === undefined || e.vrid === filter.vrid)
      && (filter.version === undefined || e.version === filter.version));
  }

  /** Resolves with the first event (from index `from`) matching pred; throws after timeoutMs. */
  async waitForEvent<T extends WireEvent>(pred: (e: WireEvent) => e is T, timeoutMs: number, from?: number, what?: string): Promise<T>;
  async waitForEvent(pred: (e: WireEvent) => boolean, timeoutMs: number, from?: number, what?: string): Promise<WireEvent>;
  async waitForEvent(pred: (e: WireEvent) => boolean, timeoutMs: number, from = 0, what = 'wire event'): Promise<WireEvent> {
    if (this.parseError) throw this.parseError;
    return waitFor(() => this.events.slice(from).find(pred), { timeoutMs, intervalMs: 20, what: `${what} on the wire` });
  }

  /** Stops tcpdump (after a short drain); rethrows a parse error if one happened. */
  async stop(): Promise<void> {
    // Let tcpdump hand over what it has captured so far before it goes.
    await new Promise((r) => setTimeout(r, 100));
    this.proc.signal('SIGINT');
    if (!(await this.proc.waitExit(3000))) await this.proc.kill9();
    if (this.parseError) throw this.parseError;
  }
}

// ---------------------------------------------------------------------------------------------
// Failover measurement over observed events.

export interface FailoverQuery {
  vrid: number;
  /** Source address of the old master's adverts (IPv4 address, or link-local for IPv6). */
  oldMasterSrc: string;
  newMasterSrc: string;
  /** MAC of the new master, to recognise its GARP / NA. */
  newMasterMac: string;
  /** The VIP the new master must announce. */
  vip: string;
  /** Only events captured at or after this time count for the new master (e.g. the kill time). */
  sinceNs: bigint;
}

export interface FailoverMeasurement {
  lastOldAdvert: VrrpEvent;
  firstNewAdvert: VrrpEvent;
  firstAnnouncement: ArpEvent | NaEvent | null;
  /** firstNewAdvert - lastOldAdvert, seconds. */
  advertGapS: number;
  /** firstAnnouncement - lastOldAdvert, seconds. */
  announceGapS: number | null;
  /** firstAnnouncement - firstNewAdvert, seconds. */
  announceAfterAdvertS: number | null;
}

/** Finds, in events, the handover: old master's last advert, new master's first advert and announcement. */
export function measureFailover(events: readonly WireEvent[], q: FailoverQuery): FailoverMeasurement | null {
  const firstNewAdvert = events.find((e): e is VrrpEvent => e.kind === 'vrrp' && e.vrid === q.vrid
    && e.src === q.newMasterSrc && e.tNs >= q.sinceNs && e.priority > 0);
  if (!firstNewAdvert) return null;
  let lastOldAdvert: VrrpEvent | undefined;
  for (const e of events) {
    if (e.tNs > firstNewAdvert.tNs) break;
    if (e.kind === 'vrrp' && e.vrid === q.vrid && e.src === q.oldMasterSrc) lastOldAdvert = e;
  }
  if (!lastOldAdvert) return null;
  const firstAnnouncement = events.find((e): e is ArpEvent | NaEvent => e.tNs >= q.sinceNs
    && ((e.kind === 'arp' && e.gratuitous && e.senderIp === q.vip && e.senderMac === q.newMasterMac)
      || (e.kind === 'na' && e.targetIp === q.vip && e.srcMac === q.newMasterMac))) ?? null;
  const s = (a: bigint, b: bigint): number => Number(a - b) / 1e9;
  return {
    lastOldAdvert,
    firstNewAdvert,
    firstAnnouncement,
    advertGapS: s(firstNewAdvert.tNs, lastOldAdvert.tNs),
    announceGapS: firstAnnouncement ? s(firstAnnouncement.tNs, lastOldAdvert.tNs) : null,
    announceAfterAdvertS: firstAnnouncement ? s(firstAnnouncement.tNs, firstNewAdvert.tNs) : null,
  };
}

/** RFC 5798 §6.1 / RFC 3768 §6.1: Skew_Time in seconds for a priority and advert interval. */
export function skewTimeS(version: 2 | 3, priority: number, advertIntS: number): number {
  return version === 2 ? (256 - priority) / 256 : ((256 - priority) * advertIntS) / 256;
}

/** Master_Down_Interval = 3 * Advert_Interval + Skew_Time. */
export function masterDownIntervalS(version: 2 | 3, priority: number, advertIntS: number): number {
  return 3 * advertIntS + skewTimeS(version, priority, advertIntS);
}

/** Current CLOCK_REALTIME in ns, comparable with capture timestamps. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
