// Servers on loopback for the probe tests, well-behaved and hostile (issue 3 §5). Each one
// tracks its connections and destroys them on close(), so a test never leaves a socket behind
// and the leak test can count descriptors.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { CheckCommon } from '../../src/config/lbModel.js';
import { nativeIcmpSocket, type IcmpSocketFactory } from '../../src/check/probes/ping.js';

export interface TestServer {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

/** A TCP server whose connection handler is the behaviour under test. */
export async function tcpServer(host: string, onConnection: (s: Socket) => void): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    result.accepted++;
    s.on('error', () => { /* peers reset us on purpose */ });
    s.on('close', () => sockets.delete(s));
    onConnection(s);
  });
  const timers = new Set<ReturnType<typeof setInterval>>();
  server.on('close', () => { for (const t of timers) clearInterval(t); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const result: TestServer = {
    port: (server.address() as AddressInfo).port,
    accepted: 0,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
  return result;
}

/** Reads until the end of an HTTP request header, then calls `respond`. */
export function onHttpRequest(s: Socket, respond: (request: string) => void): void {
  let buf = '';
  const onData = (d: Buffer): void => {
    buf += d.toString('latin1');
    if (buf.length > 65536) { s.destroy(); return; }
    if (buf.includes('\r\n\r\n')) { s.off('data', onData); respond(buf); }
  };
  s.on('data', onData);
}

export type HostileMode =
  | 'silent' // accepts, reads, never answers
  | 'garbage' // answers bytes that are no protocol at all
  | 'trickle' // one byte every 100 ms, forever
  | 'reset' // RST right after accepting
  | 'huge_body' // an HTTP 200 header, then an endless body
  | 'huge_header'; // an HTTP status line, then an endless header

/** A TCP server behaving badly in one way. Timers stop when the peer goes away. */
export function hostileServer(host: string, mode: HostileMode): Promise<TestServer> {
  return tcpServer(host, (s) => {
    s.on('end', () => s.destroy());
    switch (mode) {
      case 'silent':
        s.resume();
        return;
      case 'garbage':
        s.resume();
        s.write(Buffer.from('\x00\xff\x13garbage\x07\r\n\r\n\x01\x02', 'latin1'));
        return;
      case 'trickle': {
        s.resume();
        const t = setInterval(() => { if (!s.destroyed) s.write('2'); else clearInterval(t); }, 100);
        s.on('close', () => clearInterval(t));
        return;
      }
      case 'reset':
        s.resetAndDestroy();
        return;
      case 'huge_body':
      case 'huge_header': {
        s.resume();
        s.write(mode === 'huge_body' ? 'HTTP/1.0 200 OK\r\n\r\n' : 'HTTP/1.0 200 OK\r\n');
        const chunk = Buffer.alloc(64 * 1024, mode === 'huge_body' ? 'x' : 'X-Filler: yyyy\r\n');
        const pump = (): void => { while (!s.destroyed && s.write(chunk)) { /* until backpressure */ } };
        s.on('drain', pump);
        pump();
        return;
      }
    }
  });
}

/** A UDP responder: `reply` returns the datagram to send back, or null to stay silent. */
export async function udpServer(type: 'udp4' | 'udp6', host: string,
  reply: (msg: Buffer) => Uint8Array | Uint8Array[] | null): Promise<{ port: number; received: number; senders: string[]; close(): Promise<void> }> {
  const sock: UdpSocket = createSocket(type);
  const result = {
    port: 0,
    received: 0,
    /** `address:port` of each datagram's sender. */
    senders: [] as string[],
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
  sock.on('message', (msg, rinfo) => {
    result.received++;
    result.senders.push(`${rinfo.address}:${rinfo.port}`);
    const r = reply(msg);
    if (r === null) return;
    for (const d of Array.isArray(r) ? r : [r]) sock.send(d, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, host, () => resolve()));
  result.port = sock.address().port;
  return result;
}

/** A port on `host` that nothing listens on (bound, then released). */
export async function closedPort(host: string): Promise<number> {
  const s = await tcpServer(host, () => {});
  const port = s.port;
  await s.close();
  return port;
}

/** A CheckCommon-shaped target for the probe functions. */
export function target(connectIp: string, connectPort: number, extra: Partial<CheckCommon> = {}): Pick<CheckCommon, 'connectIp' | 'connectPort' | 'bindTo' | 'bindPort'> {
  return { connectIp, connectPort, bindTo: extra.bindTo, bindPort: extra.bindPort };
}

/** Milliseconds since `t0` (performance.now()). */
export function since(t0: number): number {
  return performance.now() - t0;
}

export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

export interface TlsFixture { key: string; cert: string }

/** A throwaway self-signed certificate for `probe.test` / 127.0.0.1, made with openssl. */
export function selfSignedCert(): TlsFixture {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2',
      '-subj', '/CN=probe.test', '-addext', 'subjectAltName=DNS:probe.test,IP:127.0.0.1',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } catch (e) {
    throw new Error(`openssl is needed to make the test certificate (apt-get install openssl): ${(e as Error).message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The ICMP socket factory the ping tests use: the addon's IcmpSocket, or, when
 * TANDEM_ICMP_ADDON names a .node file, the IcmpSocket of that build (to test
 * src/native/icmp_socket.cc before it is linked into tandem_net).
 */
export function testIcmpSocketFactory(): IcmpSocketFactory {
  const override = process.env.TANDEM_ICMP_ADDON;
  if (!override) return nativeIcmpSocket;
  const ctor = (createRequire(import.meta.url)(override) as { IcmpSocket: new (...a: Parameters<IcmpSocketFactory>) => ReturnType<IcmpSocketFactory> }).IcmpSocket;
  return (family, onMessage, onError) => new ctor(family, onMessage, onError);
}
