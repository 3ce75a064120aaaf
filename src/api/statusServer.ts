// The status API (issue 5 §2): HTTP over a unix socket (mode 0600: the status shows addresses and
// script results, and only root/the daemon's user should read it), plus the optional TCP listener
// (Prometheus /metrics, the status page at / and its /status.json). Both serve snapshots taken at
// request time; nothing here touches VRRP, and a
// listener that cannot be opened is logged and left off (the daemon keeps running).
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { chmodSync, lstatSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../log.js';
import type { ListenAddress } from '../config/statusApi.js';
import { METRICS_CONTENT_TYPE, renderMetrics, type ProcessMetrics } from './metrics.js';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './page.js';
import type { DaemonStatus } from './status.js';
import type { ReloadOutcome } from '../daemon/reload.js';

export interface StatusServerOptions {
  socketPath: string;
  metricsListen: ListenAddress | undefined;
  snapshot: () => DaemonStatus;
  log: Logger;
  /** `POST /reload` on the unix socket (`tandem reload`): re-reads the config file; the outcome
   *  (applied changes, or every error and nothing changed) is the response body. */
  reload?: () => Promise<ReloadOutcome>;
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

  constructor(private readonly opts: StatusServerOptions) {}

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
      const server = createHttpServer((req, res) => this.handle(req, res, true));
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
      const server = createHttpServer((req, res) => this.handle(req, res, false));
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
        this.opts.reload().then((o) => {
          res.writeHead(o.ok ? 200 : 422, { 'content-type': 'application/json' }).end(JSON.stringify(o, null, 2) + '\n');
        }, (e: Error) => {
          this.opts.log.error(`reload failed: ${e.stack ?? e.message}`);
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, errors: [`reload failed: ${e.message}`] }) + '\n');
        });
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      } else if (path === '/metrics') {
        res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(renderMetrics(this.opts.snapshot(), processMetrics()));
      } else if (unix && path === '/status') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.opts.snapshot(), null, 2) + '\n');
      } else if (!unix && path === '/status.json') {
        // The same document for the status page. The TCP listener is opt-in and meant for loopback
        // or a management address (README: it shows addresses, check and script results).
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
          .end(JSON.stringify(this.opts.snapshot()) + '\n');
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
