// The status API (issue 5 §2): HTTP over a unix socket (mode 0600: the status shows addresses and
// script results, and only root/the daemon's user should read it), plus the optional TCP listener
// (Prometheus /metrics, the status page at / and its /status.json). Both serve snapshots taken at
// request time; nothing here touches VRRP, and a
// listener that cannot be opened is logged and left off (the daemon keeps running).
//
// Issue 12 §3: each listener holds a bounded number of connections (ConnectionTable: the one idle
// the longest gives way to a new one), and a connection that sends nothing, half a request, or
// stays idle is closed within seconds (listenerLimits.ts has the numbers). Node's defaults kept a
// silent connection for headersTimeout 60 s, checked every 30 s, with no cap: 400 of them held
// 400 descriptors, and under a low open file limit the status socket, the reload worker and the
// state file write failed with EMFILE.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { chmodSync, lstatSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../log.js';
import type { ListenAddress } from '../config/statusApi.js';
import { METRICS_CONTENT_TYPE, renderMetrics, type ProcessMetrics } from './metrics.js';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './page.js';
import type { DaemonStatus, LoopDelayStatus, ReloadOutcome, StatusListenerStats } from './status.js';
import { ConnectionTable } from './connectionTable.js';
import { connectionCaps, LISTENER_TIMEOUTS, newListenerStats, type ConnectionCaps, type ListenerTimeouts } from './listenerLimits.js';

export interface StatusServerOptions {
  socketPath: string;
  metricsListen: ListenAddress | undefined;
  snapshot: () => DaemonStatus;
  log: Logger;
  /** `POST /reload` on the unix socket (`tandem reload`): re-reads the config file; the outcome
   *  (applied changes, or every error and nothing changed) is the response body. */
  reload?: () => Promise<ReloadOutcome>;
  /** Connections each listener holds at most; default connectionCaps() of the assumed limit
   *  (run.ts passes the caps of the process's open file limit). */
  maxConnections?: ConnectionCaps;
  /** Default LISTENER_TIMEOUTS (README "Status and metrics"); tests pass short ones. */
  timeouts?: Partial<ListenerTimeouts>;
  /** Connection counters, kept by the caller so that they outlive this server (a reload that
   *  changes a listener replaces the server); default: private ones. */
  stats?: { unix: StatusListenerStats; tcp: StatusListenerStats };
  /** Monotonic milliseconds (which idle connection is the oldest): the daemon's Timers.now. */
  now: () => number;
  /** The event loop's delay (loopDelay.ts), added to every snapshot served: one monitor per
   *  process (compose.ts), so a listener restarted by a reload does not reset it. */
  loopDelay?: () => LoopDelayStatus;
}

export function processMetrics(): ProcessMetrics {
  const cpu = process.cpuUsage();
  let openFds: number | null = null;
  // readdir opens the directory itself: one fd more than the process holds otherwise.
  try { openFds = readdirSync('/proc/self/fd').length - 1; } catch { openFds = null; }
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    residentBytes: process.memoryUsage.rss(),
    startTimeSeconds: Math.round((Date.now() / 1000 - process.uptime()) * 1000) / 1000,
    openFds,
  };
}

/** Whether something accepts connections on the unix socket at `path` (a live daemon). */
function socketLive(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ path });
    const done = (live: boolean) => { clearTimeout(t); c.destroy(); resolve(live); };
    const t = setTimeout(() => done(true), timeoutMs); // a listener too busy to accept is still a listener
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
  });
}

export class StatusServer {
  private unixServer: Server | undefined;
  private metricsServer: Server | undefined;
  /** Identity of the socket file we bound, so stop() never removes another daemon's socket. */
  private socketIno: number | undefined;
  private readonly timeouts: ListenerTimeouts;
  private readonly caps: ConnectionCaps;
  private readonly now: () => number;
  readonly stats: { unix: StatusListenerStats; tcp: StatusListenerStats };

  constructor(private readonly opts: StatusServerOptions) {
    this.timeouts = { ...LISTENER_TIMEOUTS, ...opts.timeouts };
    this.caps = opts.maxConnections ?? connectionCaps(null);
    this.now = opts.now;
    this.stats = opts.stats ?? { unix: newListenerStats(this.caps.unix), tcp: newListenerStats(this.caps.tcp) };
    this.stats.unix.max_connections = this.caps.unix;
    this.stats.tcp.max_connections = this.caps.tcp;
  }

  private snapshot(): DaemonStatus {
    const s = this.opts.snapshot();
    return this.opts.loopDelay ? { ...s, event_loop: { delay: this.opts.loopDelay() } } : s;
  }

  /** An HTTP server with the listener's cap and timeouts (listenerLimits.ts). */
  private newServer(listener: 'unix' | 'tcp'): Server {
    const t = this.timeouts;
    const stats = this.stats[listener];
    const table = new ConnectionTable<Socket>(this.caps[listener]);
    const server = createHttpServer({
      headersTimeout: t.headersTimeoutMs,
      requestTimeout: t.requestTimeoutMs,
      keepAliveTimeout: t.keepAliveTimeoutMs,
      connectionsCheckingInterval: t.checkIntervalMs,
    }, (req, res) => {
      const socket = req.socket;
      table.requestStarted(socket);
      res.once('close', () => table.requestEnded(socket, this.now()));
      this.handle(req, res, listener === 'unix');
    });
    // Inactivity while a request is being answered (a client that stops reading); between
    // requests the keep-alive timeout applies instead.
    server.timeout = t.idleTimeoutMs;
    // Only a backstop: the table below decides. Sockets it closed count in Node's own tally
    // until their 'close' event, hence the margin.
    server.maxConnections = 2 * this.caps[listener];
    server.on('drop', () => { stats.refused++; });
    server.on('connection', (socket: Socket) => {
      const a = table.admit(socket, this.now());
      if (!a.admitted) {
        stats.refused++;
        socket.destroy();
        return;
      }
      stats.accepted++;
      if (a.evict) {
        stats.evicted++;
        a.evict.destroy();
      }
      stats.open = table.size;
      socket.once('close', () => { table.remove(socket); stats.open = table.size; });
    });
    // headersTimeout / requestTimeout (found every checkIntervalMs) and malformed requests. With a
    // listener here Node leaves the answer to us: the same as its own (408, 400), then close.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      if (timedOut) stats.timed_out.request++;
      const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (socket.writable && (!inFlight || !inFlight.headersSent)) {
        socket.write(timedOut ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'
          : err.code === 'HPE_HEADER_OVERFLOW' ? 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n'
            : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      }
      socket.destroy();
    });
    // server.timeout or the keep-alive timeout ran out.
    server.on('timeout', (socket: Socket) => {
      stats.timed_out.idle++;
      socket.destroy();
    });
    return server;
  }

  /** Never rejects: failures are logged, and that listener stays off. */
  async start(): Promise<void> {
    await Promise.all([this.startUnix(), this.startMetrics()]);
  }

  async stop(): Promise<void> {
    const close = (s: Server | undefined) => new Promise<void>((resolve) => {
      if (!s) return resolve();
      s.close(() => resolve());
      s.closeAllConnections();
    });
    const path = this.opts.socketPath;
    if (this.unixServer) {
      await close(this.unixServer);
      // net.Server unlinks its path on close; make sure, but only if it is still ours.
      try {
        if (this.socketIno !== undefined && lstatSync(path).ino === this.socketIno) unlinkSync(path);
      } catch { /* already gone */ }
    }
    await close(this.metricsServer);
    this.unixServer = undefined;
    this.metricsServer = undefined;
  }

  private async startUnix(): Promise<void> {
    const { socketPath: path, log } = this.opts;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      let st;
      try { st = lstatSync(path); } catch { st = undefined; }
      if (st) {
        if (!st.isSocket()) {
          log.error(`status socket ${path}: exists and is not a socket; not removing it, status API off`);
          return;
        }
        if (await socketLive(path)) {
          log.error(`status socket ${path}: another process listens on it (another tandem?); status API off`);
          return;
        }
        unlinkSync(path); // stale: left by a daemon that was killed
      }
      const server = this.newServer('unix');
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // Bound with umask 0177 so the socket is never, even briefly, reachable by others.
        const old = process.umask(0o177);
        try {
          server.listen(path, () => { server.off('error', reject); resolve(); });
        } finally {
          process.umask(old);
        }
      });
      chmodSync(path, 0o600);
      this.socketIno = lstatSync(path).ino;
      server.on('error', (e) => log.warn(`status socket ${path}: ${e.message}`));
      this.unixServer = server;
      log.info(`status API on ${path}`);
    } catch (e) {
      log.error(`status socket ${path}: ${(e as Error).message}; status API off`);
    }
  }

  private async startMetrics(): Promise<void> {
    const l = this.opts.metricsListen;
    if (!l) return;
    const where = l.family === 6 ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
    try {
      const server = this.newServer('tcp');
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: l.host, port: l.port, ipv6Only: l.family === 6 }, () => { server.off('error', reject); resolve(); });
      });
      server.on('error', (e) => this.opts.log.warn(`metrics listener ${where}: ${e.message}`));
      this.metricsServer = server;
      this.opts.log.info(`metrics on http://${where}/metrics`);
    } catch (e) {
      this.opts.log.error(`metrics listener ${where}: ${(e as Error).message}; metrics off`);
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse, unix: boolean): void {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (unix && path === '/reload' && this.opts.reload) {
        if (req.method !== 'POST') {
          res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST /reload\n');
          return;
        }
        req.resume();
        // A reload may take longer than the inactivity timeout (it waits for the one before it,
        // and 10,000 real servers take a second to read): no timeout until it answers.
        req.socket.setTimeout(0);
        const answered = () => req.socket.setTimeout(this.timeouts.idleTimeoutMs);
        this.opts.reload().then((o) => {
          answered();
          res.writeHead(o.ok ? 200 : 422, { 'content-type': 'application/json' }).end(JSON.stringify(o, null, 2) + '\n');
        }, (e: Error) => {
          answered();
          this.opts.log.error(`reload failed: ${e.stack ?? e.message}`);
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, errors: [`reload failed: ${e.message}`] }) + '\n');
        });
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      } else if (path === '/metrics') {
        res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(renderMetrics(this.snapshot(), processMetrics()));
      } else if (unix && path === '/status') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.snapshot(), null, 2) + '\n');
      } else if (!unix && path === '/status.json') {
        // The same document for the status page. The TCP listener is opt-in and meant for loopback
        // or a management address (README: it shows addresses, check and script results).
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
          .end(JSON.stringify(this.snapshot()) + '\n');
      } else if (!unix && path === '/') {
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff',
          'content-security-policy': STATUS_PAGE_CSP, 'referrer-policy': 'no-referrer',
        }).end(STATUS_PAGE_HTML);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(unix ? 'try GET /status or /metrics\n' : 'try GET / (status page), /status.json or /metrics\n');
      }
    } catch (e) {
      this.opts.log.warn(`status API ${path}: ${(e as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    }
  }
}
