// Probe connections through the addon's TcpProber (src/native/tcp_prober.cc): one epoll set for
// every TCP, HTTP and SMTP probe of the process, outcomes delivered in batches. This module
// turns the batches back into per-connection callbacks.
//
// Allocation per connection is kept to one object (ProbeConnection holds its handlers): at
// 10,000 probes a second, garbage is what the checker's CPU and RSS are mostly made of.
import { constants } from 'node:os';
import { nativeAddon, type SystemError } from './native.js';

export interface ProbeConnectionTarget {
  family: 4 | 6;
  address: string;
  port: number;
  /** bindto; undefined: the kernel picks the source address. */
  bindAddress?: string | undefined;
  /** bind_port; undefined or 0: any. */
  bindPort?: number | undefined;
  /** Close with a RST as soon as the handshake completes (TCP_CHECK); nothing can be written. */
  resetOnConnect: boolean;
}

/** What a probe connection reports, in the order a socket would: connected, data..., then
 *  end or error. Nothing is reported after end, error or close(). */
export interface ProbeConnectionHandlers {
  connected(): void;
  data?(chunk: Buffer): void;
  end?(): void;
  error(e: SystemError): void;
}

interface NativeTcpProber {
  open(family: 4 | 6, address: string, port: number, bindAddress: string, bindPort: number, resetOnConnect: boolean): number;
  write(id: number, data: Uint8Array): void;
  close(id: number): void;
  readonly active: number;
}

type NativeTcpProberCtor = new (onEvents: (events: Int32Array, data: Buffer[]) => void) => NativeTcpProber;

const CONNECTED = 1;
const DATA = 2;
const END = 3;
const ERROR = 4;

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** An errno number's name (ECONNREFUSED ...), `E<n>` for one Node does not name. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

/** One open probe connection. */
export class ProbeConnection {
  private open = true;
  private connected = false;

  constructor(
    private readonly hub: ProbeHub, private readonly id: number,
    private readonly target: ProbeConnectionTarget, private readonly h: ProbeConnectionHandlers,
  ) {}

  /** Queued until connected. A failure (the connection is gone, EPIPE) goes to handlers.error. */
  write(data: string | Uint8Array): void {
    if (!this.open) return;
    try {
      this.hub.prober.write(this.id, typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
    } catch (e) {
      this.forget();
      this.h.error(e as SystemError);
    }
  }

  /** Releases the connection (RST if it is still open); idempotent. */
  close(): void {
    if (!this.open) return;
    this.forget();
    this.hub.prober.close(this.id);
  }

  /** @internal One event of a batch from the prober. */
  deliver(kind: number, errno: number, payload: Buffer | undefined): void {
    switch (kind) {
      case CONNECTED:
        this.connected = true;
        if (this.target.resetOnConnect) this.forget();
        this.h.connected();
        break;
      case DATA: this.h.data?.(payload!); break;
      case END: this.forget(); this.h.end?.(); break;
      case ERROR: this.forget(); this.h.error(this.errnoError(errno)); break;
    }
  }

  private forget(): void {
    this.open = false;
    this.hub.conns.delete(this.id);
  }

  /** An errno from the prober as the error Node's net module would give for it. */
  private errnoError(errno: number): SystemError {
    const code = errnoName(errno);
    const t = this.target;
    const where = t.family === 6 ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
    const syscall = this.connected ? 'read' : 'connect';
    return Object.assign(new Error(`${syscall} ${code} ${where}`), { code, errno: -errno, syscall });
  }
}

class ProbeHub {
  readonly conns = new Map<number, ProbeConnection>();
  readonly prober: NativeTcpProber;

  constructor() {
    const ctor = (nativeAddon() as unknown as { TcpProber?: NativeTcpProberCtor }).TcpProber;
    if (ctor === undefined) throw new Error('native addon has no TcpProber: rebuild it with `npm ci`');
    this.prober = new ctor((events, data) => this.dispatch(events, data));
  }

  open(target: ProbeConnectionTarget, h: ProbeConnectionHandlers): ProbeConnection {
    const id = this.prober.open(target.family, target.address, target.port, target.bindAddress ?? '', target.bindPort ?? 0, target.resetOnConnect);
    const conn = new ProbeConnection(this, id, target, h);
    this.conns.set(id, conn);
    return conn;
  }

  private dispatch(events: Int32Array, data: Buffer[]): void {
    let chunk = 0;
    for (let i = 0; i < events.length; i += 3) {
      const kind = events[i + 1]!;
      const payload = kind === DATA ? data[chunk++] : undefined;
      // Closed from JS earlier in this batch (a verdict was reached): the rest is moot.
      const conn = this.conns.get(events[i]!);
      if (conn === undefined) continue;
      // A throwing handler must not lose the other connections' events in this batch.
      try {
        conn.deliver(kind, events[i + 2]!, payload);
      } catch (e) {
        queueMicrotask(() => { throw e; });
      }
    }
  }
}

let hub: ProbeHub | undefined;

/**
 * Opens a probe connection. Throws a SystemError for what fails at once (a bind address that
 * is not local, EMFILE); everything later arrives through `h`.
 */
export function openProbeConnection(target: ProbeConnectionTarget, h: ProbeConnectionHandlers): ProbeConnection {
  hub ??= new ProbeHub();
  return hub.open(target, h);
}

/** Probe connections open right now (for leak checks and metrics). */
export function openProbeConnections(): number {
  return hub?.prober.active ?? 0;
}
