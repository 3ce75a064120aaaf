// HTTP_GET and SSL_GET (keepalived check_http.c / check_ssl.c): every url must pass; each url
// is one GET on its own connection, all urls of a probe in parallel under the one deadline.
//
// The request is byte for byte keepalived's (request_template in check_http.c), so servers that
// filter or log keepalived's checks treat ours alike:
//   GET <path> HTTP/1.<0|1>\r\nUser-Agent: KeepAliveClient\r\n[Connection: close\r\n]Host: <host>\r\n\r\n
//
// `digest` is the MD5 of the body exactly as keepalived's genhash computes it, checked against
// genhash 2.2.7 (test/unit/probes-http.test.ts): the raw bytes after the first CRLFCRLF, not
// de-chunked, cut at `Content-Length:` when the header carries that exact spelling with a
// decimal value ending the line; otherwise everything up to EOF. (genhash also honours a
// "Content-Length:" that appears in the first bytes of the *body*; we look in the header only.)
import { createHash, type Hash } from 'node:crypto';
import { isIP, isIPv6 } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type PeerCertificate } from 'node:tls';
import type { HttpUrl } from '../../config/lbModel.js';
import { maskUrlCredentials } from '../../config/secrets.js';
import type { ProbeResult } from '../verdict.js';
import { failureOf, runProbeScope, type ProbeOptions, type ProbeScope } from './scope.js';
import { openTcp, type ProbeStream, type ProbeTarget, type TcpStreamHandlers } from './tcp.js';

export type HttpProbeParams = ProbeTarget & {
  kind: 'http_get' | 'ssl_get';
  urls: readonly HttpUrl[];
  virtualhost: string | undefined;
  httpProtocol: '1.0' | '1.0C' | '1.1';
  enableSni: boolean;
  verifyCertificate: boolean;
};

/** A status line and headers larger than this are not a health page: 'bad_response'. */
export const HTTP_MAX_HEADER_BYTES = 64 * 1024;
/** A body to digest larger than this is refused ('bad_response') instead of read forever. */
export const HTTP_MAX_BODY_BYTES = 1024 * 1024;

export function probeHttp(p: HttpProbeParams, opts: ProbeOptions): Promise<ProbeResult> {
  return runProbeScope(opts, (scope) => {
    // keepalived: a checker without urls is up without checking (the config requires one).
    if (p.urls.length === 0) { scope.ok(); return; }
    let passing = p.urls.length;
    for (const url of p.urls) {
      getUrl(p, url, scope, () => { if (--passing === 0) scope.ok(); });
      if (scope.settled) return;
    }
  });
}

/** The request keepalived sends for one url (check_http.c http_request_thread()). */
export function httpRequest(p: HttpProbeParams, url: HttpUrl): string {
  const vhost = url.virtualhost ?? p.virtualhost;
  const host = vhost ?? (isIPv6(p.connectIp) ? `[${p.connectIp}]:${p.connectPort}` : `${p.connectIp}:${p.connectPort}`);
  const minor = p.httpProtocol === '1.1' ? 1 : 0;
  const close = p.httpProtocol === '1.0' ? '' : 'Connection: close\r\n';
  return `GET ${requestTarget(url.path)} HTTP/1.${minor}\r\nUser-Agent: KeepAliveClient\r\n${close}Host: ${host}\r\n\r\n`;
}

// A path with a space or a control character would end the request line early or inject a
// header (RFC 9112 §3.2): percent-encode those bytes, leave everything else as configured.
function requestTarget(path: string): string {
  return path.replace(/[\x00-\x20\x7f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

function getUrl(p: HttpProbeParams, url: HttpUrl, scope: ProbeScope, pass: () => void): void {
  const reader = new HttpResponseReader(url);
  const request = httpRequest(p, url);
  const finish = (v: UrlVerdict): void => {
    if (v === 'more') return;
    // The detail reaches the status API (unauthenticated on TCP) and the log: a path's secret query
    // parameter (?token=...) is masked there, never in the request (src/config/secrets.ts).
    if (v !== 'pass') { scope.fail(v.reason, `${maskUrlCredentials(url.path)}: ${v.detail}`); return; }
    // This url is judged: release its connection now, so that nothing it does later (a reset
    // after the response) can fail a probe whose other urls are still running.
    conn.close();
    pass();
  };
  const handlers: TcpStreamHandlers = {
    connected: () => conn.write(request),
    data: (chunk) => finish(reader.push(chunk)),
    end: () => finish(reader.end()),
  };
  const conn = p.kind === 'ssl_get' ? openTls(p, url, scope, handlers) : openTcp(p, scope, handlers);
}

/**
 * SSL_GET's connection: node:tls over its own TCP connection (TLS needs a stream, so this one
 * does not go through the shared prober), with the same handlers and failure mapping.
 */
function openTls(p: HttpProbeParams, url: HttpUrl, scope: ProbeScope, h: TcpStreamHandlers): ProbeStream {
  const vhostName = hostName(url.virtualhost ?? p.virtualhost);
  // The name the certificate must carry when verify_certificate is on.
  const identity = vhostName ?? p.connectIp;
  // SNI carries a host name, never an address (RFC 6066 §3).
  const sni = p.enableSni && vhostName !== undefined && isIP(vhostName) === 0 ? vhostName : undefined;
  const tls = tlsConnect({
    host: p.connectIp,
    port: p.connectPort,
    ...(p.bindTo !== undefined ? { localAddress: p.bindTo } : {}),
    ...(p.bindPort !== undefined ? { localPort: p.bindPort } : {}),
    ...(sni !== undefined ? { servername: sni } : {}),
    // keepalived's SSL_GET accepts any certificate unless verify_certificate is set.
    rejectUnauthorized: p.verifyCertificate,
    checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(identity, cert),
  });
  scope.defer(() => { if (!tls.destroyed) tls.destroy(); });
  let secure = false;
  tls.once('secureConnect', () => { secure = true; h.connected(); });
  tls.on('data', (chunk: Buffer) => h.data?.(chunk));
  tls.once('end', () => h.end?.());
  tls.on('error', (e) => {
    const f = failureOf(e);
    // Before the handshake completes, anything that is not a socket errno is TLS refusing us
    // (bad certificate, protocol mismatch, garbage instead of a ServerHello).
    scope.fail(!secure && f.reason === 'connect_error' ? 'tls_error' : f.reason, f.detail);
  });
  return { write: (data) => { tls.write(data); }, close: () => { tls.destroy(); } };
}

type UrlVerdict = 'more' | 'pass' | { reason: 'http_status' | 'http_digest' | 'bad_response'; detail: string };

const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Reads one response incrementally with bounded memory: the header is buffered up to
 * HTTP_MAX_HEADER_BYTES, the body is hashed as it streams and never stored. The verdict comes
 * as soon as it is known: after the header when there is no digest to compute, at
 * Content-Length or EOF otherwise.
 */
export class HttpResponseReader {
  /** Header bytes so far, kept as received (no re-copying per chunk: a server may trickle). */
  private headChunks: Buffer[] = [];
  private headBytes = 0;
  private headDone = false;
  private md5: Hash | undefined;
  private bodyBytes = 0;
  private bodyLimit = Infinity;
  private verdict: UrlVerdict = 'more';

  constructor(private readonly url: Pick<HttpUrl, 'statusCodes' | 'digest'>) {}

  push(chunk: Uint8Array): UrlVerdict {
    if (this.verdict !== 'more') return this.verdict;
    if (this.headDone) return this.onBody(chunk);
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // CRLFCRLF may straddle chunks: search the new chunk with the last 3 bytes before it.
    const tail = this.lastHeadBytes(3);
    const window = tail.length > 0 ? Buffer.concat([tail, bytes]) : bytes;
    const found = window.indexOf(CRLFCRLF);
    if (found < 0) {
      this.headChunks.push(bytes);
      this.headBytes += bytes.length;
      if (this.headBytes > HTTP_MAX_HEADER_BYTES) return this.decide(bad(`no end of header within ${HTTP_MAX_HEADER_BYTES} bytes`));
      return 'more';
    }
    const at = this.headBytes - tail.length + found; // offset of CRLFCRLF in the whole header
    if (at > HTTP_MAX_HEADER_BYTES) return this.decide(bad(`no end of header within ${HTTP_MAX_HEADER_BYTES} bytes`));
    const all = Buffer.concat([...this.headChunks, bytes]);
    this.headChunks = [];
    this.headDone = true;
    const afterHeader = this.onHeader(all.subarray(0, at).toString('latin1'));
    if (afterHeader !== 'more') return this.decide(afterHeader);
    const rest = all.subarray(at + 4);
    return rest.length > 0 ? this.onBody(rest) : this.checkComplete();
  }

  private lastHeadBytes(n: number): Buffer {
    const parts: Buffer[] = [];
    let need = n;
    for (let i = this.headChunks.length - 1; i >= 0 && need > 0; i--) {
      const c = this.headChunks[i]!;
      parts.unshift(c.subarray(Math.max(0, c.length - need)));
      need -= Math.min(need, c.length);
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** The server closed the connection (EOF). */
  end(): UrlVerdict {
    if (this.verdict !== 'more') return this.verdict;
    if (!this.headDone) return this.decide(bad('connection closed before the end of the response header'));
    return this.decide(this.compareDigest());
  }

  private onHeader(header: string): UrlVerdict {
    const status = parseStatusLine(header);
    if (status === undefined) return bad(`not an HTTP status line: ${JSON.stringify(header.slice(0, 40))}`);
    if (!this.url.statusCodes.some(([lo, hi]) => status >= lo && status <= hi)) {
      return { reason: 'http_status', detail: `status ${status}` };
    }
    if (this.url.digest === undefined) return 'pass';
    this.md5 = createHash('md5');
    this.bodyLimit = contentLength(header) ?? Infinity;
    return 'more';
  }

  private onBody(chunk: Uint8Array): UrlVerdict {
    const take = Math.min(chunk.length, this.bodyLimit - this.bodyBytes);
    if (take > 0) {
      if (this.bodyBytes + take > HTTP_MAX_BODY_BYTES) return this.decide(bad(`body larger than ${HTTP_MAX_BODY_BYTES} bytes`));
      this.md5!.update(take === chunk.length ? chunk : chunk.subarray(0, take));
      this.bodyBytes += take;
    }
    return this.checkComplete();
  }

  private checkComplete(): UrlVerdict {
    return this.bodyBytes >= this.bodyLimit ? this.decide(this.compareDigest()) : 'more';
  }

  private compareDigest(): UrlVerdict {
    if (!this.md5) return 'pass';
    const got = this.md5.digest('hex');
    return got === this.url.digest ? 'pass' : { reason: 'http_digest', detail: `body MD5 ${got}, expected ${this.url.digest}` };
  }

  private decide(v: UrlVerdict): UrlVerdict {
    this.verdict = v;
    return v;
  }
}

/** The host part of a virtualhost (`name`, `name:port`, `[v6]:port`), without the port. */
function hostName(vhost: string | undefined): string | undefined {
  if (vhost === undefined) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(vhost);
  if (bracketed) return bracketed[1];
  return isIP(vhost) !== 0 ? vhost : vhost.replace(/:\d+$/, '');
}

function bad(detail: string): UrlVerdict {
  return { reason: 'bad_response', detail };
}

/** `HTTP/1.1 200 OK`: the status code (RFC 9112 §4); keepalived's extract_status_code(). */
export function parseStatusLine(header: string): number | undefined {
  const m = /^HTTP\/\d\.\d (\d{3})(?:[ \r]|$)/.exec(header);
  return m ? Number(m[1]) : undefined;
}

/** genhash 2.2.7's reading of Content-Length (see the file comment): exact spelling, decimal,
 *  optional blanks before the number, nothing between the number and the end of the line. */
export function contentLength(header: string): number | undefined {
  const at = header.indexOf('\r\nContent-Length:');
  if (at < 0) return undefined;
  const m = /^[ \t]*(\d+)(?:\r|$)/.exec(header.slice(at + 17));
  return m ? Number(m[1]) : undefined;
}
