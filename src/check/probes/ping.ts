// PING_CHECK (keepalived check_ping.c): up when an ICMP echo reply comes back (RFC 792,
// RFC 4443 §4). All ping probes of a family share one ICMP socket from the native addon
// (src/native/icmp_socket.cc) and are told apart by sequence number (and, on a raw socket, by
// our identifier). Measured on the 2-core CI machine: spawning `ping -c 1` costs about 15 ms of
// CPU per probe (fork + exec + ping's own set-up; ~90 probes/s), this socket about 0.02 ms
// (60,000+ probes/s): 10,000 servers a second would need 150 cores the spawning way. The socket
// is opened by the first probe in flight and closed when the last one settles, so an idle
// checker holds no descriptor.
import { isIPv6 } from 'node:net';
import { randomInt } from 'node:crypto';
import { nativeAddon } from '../../net/native.js';
import type { ProbeResult } from '../verdict.js';
import { errorText, failureOf, runProbeScope, type ProbeOptions, type ProbeScope } from './scope.js';

export interface PingProbeParams {
  connectIp: string;
}

/** What icmp_socket.cc delivers: 0 echo reply, 1 destination unreachable, 2 time exceeded. */
export type IcmpMessageKind = 0 | 1 | 2;

export interface IcmpSocketHandle {
  /** 'dgram': a ping socket (the kernel owns the identifier); 'raw': we do. */
  readonly kind: 'dgram' | 'raw';
  /** Sends an echo request; returns `dst` in canonical text, the form replies carry. */
  send(dst: string, id: number, seq: number, payload: Uint8Array): string;
  close(): void;
}

export type IcmpSocketFactory = (
  family: 4 | 6,
  onMessage: (kind: IcmpMessageKind, peer: string, id: number, seq: number, code: number) => void,
  onError: (e: Error) => void,
) => IcmpSocketHandle;

type IcmpSocketCtor = new (...args: Parameters<IcmpSocketFactory>) => IcmpSocketHandle;

/** The addon's IcmpSocket. Throws a readable error when the addon was built without it. */
export const nativeIcmpSocket: IcmpSocketFactory = (family, onMessage, onError) => {
  const ctor = (nativeAddon() as unknown as { IcmpSocket?: IcmpSocketCtor }).IcmpSocket;
  if (ctor === undefined) {
    throw new Error('the native addon has no IcmpSocket: add src/native/icmp_socket.cc to binding.gyp and addon.cc, then rebuild');
  }
  return new ctor(family, onMessage, onError);
};

/** Echo data: recognisable in a capture, 8 bytes like the ICMP header itself. */
const PAYLOAD = new TextEncoder().encode('tandem\0\0');
const SEQ_SPACE = 0x10000;

interface InFlight { peer: string | undefined; scope: ProbeScope }

interface FamilySocket {
  socket: IcmpSocketHandle;
  /** Our echo identifier on a raw socket (a ping socket's kernel rewrites it). */
  id: number;
  inFlight: Map<number, InFlight>;
  nextSeq: number;
}

export class Pinger {
  private readonly families = new Map<4 | 6, FamilySocket>();

  constructor(private readonly open: IcmpSocketFactory = nativeIcmpSocket) {}

  /** Sockets currently open (0 when no probe is in flight). */
  get openSockets(): number {
    return this.families.size;
  }

  probe(p: PingProbeParams, opts: ProbeOptions): Promise<ProbeResult> {
    return runProbeScope(opts, (scope) => {
      const family = isIPv6(p.connectIp) ? 6 : 4;
      let fs: FamilySocket;
      try {
        fs = this.acquire(family);
      } catch (e) {
        scope.fail('connect_error', `cannot open an ICMP socket: ${errorText(e)}`);
        return;
      }
      if (fs.inFlight.size >= SEQ_SPACE) { scope.fail('connect_error', 'too many pings in flight'); return; }
      let seq = fs.nextSeq;
      while (fs.inFlight.has(seq)) seq = (seq + 1) % SEQ_SPACE;
      fs.nextSeq = (seq + 1) % SEQ_SPACE;
      const entry: InFlight = { peer: undefined, scope };
      fs.inFlight.set(seq, entry);
      scope.defer(() => this.release(family, fs, seq));
      scope.onDeadline(() => ({ ok: false, reason: 'no_reply', detail: `no echo reply from ${p.connectIp}` }));
      try {
        entry.peer = fs.socket.send(p.connectIp, fs.id, seq, PAYLOAD);
      } catch (e) {
        const f = failureOf(e);
        scope.fail(f.reason, f.detail);
      }
    });
  }

  private acquire(family: 4 | 6): FamilySocket {
    const existing = this.families.get(family);
    if (existing) return existing;
    const inFlight = new Map<number, InFlight>();
    const fs: FamilySocket = {
      socket: undefined as unknown as IcmpSocketHandle,
      id: randomInt(SEQ_SPACE),
      inFlight,
      nextSeq: randomInt(SEQ_SPACE),
    };
    fs.socket = this.open(
      family,
      (kind, peer, id, seq, code) => this.onMessage(fs, kind, peer, id, seq, code),
      (e) => {
        // The socket broke (a poll error): fail everything in flight; the next probe reopens.
        for (const { scope } of [...inFlight.values()]) scope.fail('connect_error', `ICMP socket: ${errorText(e)}`);
      },
    );
    this.families.set(family, fs);
    return fs;
  }

  private release(family: 4 | 6, fs: FamilySocket, seq: number): void {
    fs.inFlight.delete(seq);
    if (fs.inFlight.size > 0 || this.families.get(family) !== fs) return;
    this.families.delete(family);
    fs.socket.close();
  }

  private onMessage(fs: FamilySocket, kind: IcmpMessageKind, peer: string, id: number, seq: number, code: number): void {
    if (fs.socket.kind === 'raw' && id !== fs.id) return; // someone else's ping on this host
    const entry = fs.inFlight.get(seq);
    if (!entry || entry.peer !== peer) return;
    if (kind === 0) entry.scope.ok();
    else if (kind === 1) entry.scope.fail('unreachable', `ICMP destination unreachable (code ${code}) for ${peer}`);
    else entry.scope.fail('unreachable', `ICMP time exceeded (code ${code}) for ${peer}`);
  }
}

let shared: Pinger | undefined;

/** PING_CHECK through the process-wide Pinger (one ICMP socket per family). */
export function probePing(p: PingProbeParams, opts: ProbeOptions): Promise<ProbeResult> {
  shared ??= new Pinger();
  return shared.probe(p, opts);
}
