// `tandem status [--socket PATH] [--json]`: asks the daemon's status API (statusServer.ts) and
// prints its JSON or a table an operator can read at a glance. Exit 1 with one clear line when
// there is no daemon to ask.
import { request } from 'node:http';
import { DEFAULT_STATUS_SOCKET } from '../config/statusApi.js';
import type { DaemonStatus, ReloadOutcome } from './status.js';
import { lastChecksText } from './page.js';

export class StatusQueryError extends Error {}

/** One request over the unix socket; resolves with the status code and body whatever the code,
 *  rejects with a StatusQueryError saying what to do when the socket cannot be reached. */
function socketRequest(socketPath: string, path: string, method: 'GET' | 'POST', timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => reject(new StatusQueryError(`${socketPath}: ${e.message}`)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new StatusQueryError(socketError(socketPath, e))));
    req.end();
  });
}

/** GET `path` over the unix socket; anything but 200 rejects with a StatusQueryError. */
export async function fetchFromSocket(socketPath: string, path: string, timeoutMs = 5000): Promise<string> {
  const r = await socketRequest(socketPath, path, 'GET', timeoutMs);
  if (r.status !== 200) throw new StatusQueryError(`${socketPath}: HTTP ${r.status}: ${r.body.trim()}`);
  return r.body;
}

/** What to tell an operator when the status socket cannot be reached. */
function socketError(socketPath: string, e: NodeJS.ErrnoException): string {
  return e.code === 'ENOENT' ? `no status socket at ${socketPath}: is tandem running? (see global.status_socket, or pass --socket PATH)`
    : e.code === 'ECONNREFUSED' ? `nothing listens on ${socketPath}: tandem is not running (the socket file is stale)`
    : e.code === 'EACCES' || e.code === 'EPERM' ? `permission denied on ${socketPath}: the status socket is mode 0600; run as the daemon's user (root)`
    : `${socketPath}: ${e.message}`;
}

/** "42s", "3m12s", "2h05m", "4d03h". */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].map((l) => `  ${l}`);
}

/** The readable form of a status document (pure: `nowMs` is the wall clock to measure "ago" from). */
export function renderStatusTable(s: DaemonStatus, nowMs: number): string {
  const out: string[] = [];
  out.push(`tandem ${s.version} on ${s.hostname} (router_id ${s.router_id}, pid ${s.pid}, up ${formatAgo(nowMs - Date.parse(s.started_at))})`);
  if (s.config) {
    const c = s.config;
    const r = c.last_reload;
    out.push(`config ${c.file}, loaded ${formatAgo(nowMs - Date.parse(c.loaded_at))} ago` + (r === null ? ''
      : r.ok ? `; last reload ${formatAgo(nowMs - Date.parse(r.at))} ago applied ${r.changes.length} change(s)`
        : `; LAST RELOAD REFUSED ${formatAgo(nowMs - Date.parse(r.at))} ago (${r.errors.length} error(s): ${r.errors[0] ?? ''}${r.errors.length > 1 ? ' ...' : ''}); still running the config loaded before`));
    // The running config's warnings, each in full: it runs, but not quite as written.
    const w = c.warnings ?? [];
    if (w.length) out.push(`  ${w.length} config warning(s):`, ...w.map((x) => `    ${x}`));
  }
  const loop = s.event_loop?.delay;
  // A loop that runs its timers late delays checks, reloads and the API (adverts and the
  // receive path are timed apart from it where the addon allows: docs/architecture.md).
  if (loop) out.push(`event loop delay: p50 ${loop.p50_ms} ms, p99 ${loop.p99_ms} ms, max ${loop.max_ms} ms (last ${loop.window_s} s)`);
  out.push('', `VRRP instances (${s.instances.length})`);
  if (s.instances.length) {
    out.push(...table(['NAME', 'STATE', 'PRIO/EFF', 'VRID', 'INTERFACE', 'MASTER', 'LAST CHANGE'], s.instances.map((i) => [
      i.name, i.state, `${i.priority}/${i.effective_priority}`, String(i.vrid), i.interface, i.master_ip ?? '-',
      i.last_transition
        ? `${formatAgo(nowMs - Date.parse(i.last_transition.at))} ago, ${i.last_transition.from} -> ${i.last_transition.to} (${i.last_transition.reason})`
        : '-',
    ])));
  }
  for (const i of s.instances) {
    const a = i.advert_send;
    if (a?.fault) {
      out.push(`  ${i.name}: ADVERTS CANNOT BE SENT (${a.fault.reason}), held in FAULT since ${formatAgo(nowMs - Date.parse(a.fault.since))} ago: ${a.fault.detail}; ` +
        (a.fault.retry_at === null ? 'permanent for this config: fix it and reload' : `trying again in ${formatAgo(Date.parse(a.fault.retry_at) - nowMs)}`));
    } else if (a && a.failures > 0) {
      out.push(`  ${i.name}: ${a.failures} advert send(s) failed${a.last_error ? ` (last: ${a.last_error})` : ''}`);
    }
  }
  const drops = Object.entries(s.rx.drops).filter(([, n]) => n > 0);
  out.push(`  adverts accepted ${s.rx.accepted}, dropped ${drops.length ? drops.map(([r, n]) => `${r} ${n}`).join(', ') : 'none'}` +
    (s.rx.kernel_drops !== undefined ? `; dropped by the kernel (receive buffer full) ${s.rx.kernel_drops}` : ''));
  const sockets = Object.entries(s.rx.sockets ?? {});
  if (sockets.length) {
    out.push(...table(['SOCKET', 'RECEIVE BUFFER', 'KERNEL DROPS'], sockets.map(([key, x]) => [
      key, x.receive_buffer ? `${x.receive_buffer.granted} bytes (asked ${x.receive_buffer.requested}${x.receive_buffer.forced ? ', forced' : ''})` : '-', String(x.kernel_drops),
    ])));
  }

  const vss = s.lb?.virtual_servers ?? [];
  if (s.lb) {
    out.push('', `Virtual servers (${vss.length}; ipvs backend ${s.lb.backend.kind}${s.lb.backend.last_error ? `, last error: ${s.lb.backend.last_error}` : ''})`);
    for (const v of vss) {
      out.push(`  ${v.key}${v.group !== undefined ? ` (group ${v.group})` : ''}  quorum ${v.quorum_up ? 'up' : 'DOWN'}, live weight ${v.weight_sum}${v.sorry_active ? ', SORRY SERVER ACTIVE' : ''}`);
      out.push(...table(['REAL SERVER', 'STATE', 'WEIGHT', 'LAST CHECKS'], Object.entries(v.real_servers).map(([rs, role]) => [
        rs, role, v.weights?.[rs] !== undefined ? String(v.weights[rs]) : '-', lastChecksText(v.last_checks?.[rs]),
      ])).map((l) => `  ${l}`));
    }
  }

  const t = s.trackers;
  if (t.scripts.length + t.files.length + t.processes.length) {
    out.push('', 'Trackers');
    const by = (u: string[]) => (u.length ? u.join(',') : '-');
    out.push(...table(['KIND', 'NAME', 'STATE', 'TRACKED BY', 'DETAIL'], [
      ...t.scripts.map((x) => ['script', x.name, x.status, by(x.trackedBy), x.last ? `${x.last.verdict}${x.last.detail ? `: ${x.last.detail}` : ''}` : 'not run yet']),
      ...t.files.map((x) => ['file', x.name, `value ${x.value}`, by(x.trackedBy), x.path]),
      ...t.processes.map((x) => ['process', x.name, x.up === null ? 'init' : x.up ? 'up' : 'down', by(x.trackedBy), `${x.count} running (${x.process})`]),
    ]));
  }

  const a = s.alerts;
  out.push('', 'Alerts');
  out.push(`  notify scripts: ${a.scripts.run} run, ${a.scripts.failed} failed, ${a.scripts.timed_out} timed out, ${a.scripts.dropped} dropped; ` +
    `queue ${a.scripts.pending} pending, ${a.scripts.running} running`);
  if (a.notify_fifo) out.push(`  notify_fifo ${a.notify_fifo.path}: ${a.notify_fifo.written} written, ${a.notify_fifo.dropped} dropped, ${a.notify_fifo.backlog} waiting`);
  for (const w of a.webhooks) {
    out.push(`  ${w.webhook}: ${w.delivered} delivered, ${w.failed} failed, ${w.retried} retried, ${w.dropped} dropped, ${w.pending} pending`);
  }
  return out.join('\n') + '\n';
}

export async function runStatus(opts: { socket?: string | undefined; json?: boolean | undefined }): Promise<number> {
  const socketPath = opts.socket ?? DEFAULT_STATUS_SOCKET;
  let body: string;
  try {
    body = await fetchFromSocket(socketPath, '/status');
  } catch (e) {
    process.stderr.write(`tandem status: ${(e as Error).message}\n`);
    return 1;
  }
  if (opts.json) { process.stdout.write(body); return 0; }
  let doc: DaemonStatus;
  try { doc = JSON.parse(body) as DaemonStatus; } catch (e) {
    process.stderr.write(`tandem status: the daemon answered something that is not JSON: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(renderStatusTable(doc, Date.now()));
  return 0;
}


/**
 * `tandem reload [--socket PATH] [--json]`: the daemon re-reads its config file and answers with
 * what it changed, or with every error (and nothing changed). Exit 0 applied, 2 refused (the
 * config is invalid or needs a restart), 1 no daemon to ask or the reload failed.
 */
export async function runReload(opts: { socket?: string | undefined; json?: boolean | undefined }): Promise<number> {
  const socketPath = opts.socket ?? DEFAULT_STATUS_SOCKET;
  let r: { status: number; body: string };
  try {
    // 10,000 real servers reload in well under a second; a minute covers a loaded machine.
    r = await socketRequest(socketPath, '/reload', 'POST', 60_000);
  } catch (e) {
    process.stderr.write(`tandem reload: ${(e as Error).message}\n`);
    return 1;
  }
  let o: ReloadOutcome;
  try { o = JSON.parse(r.body) as ReloadOutcome; } catch {
    process.stderr.write(`tandem reload: HTTP ${r.status}: ${r.body.trim()}\n`);
    return 1;
  }
  if (opts.json) process.stdout.write(r.body);
  // Warnings go to stderr, as `tandem check` prints them: the file runs, not quite as written.
  const warnings = o.warnings ?? [];
  if (o.ok) {
    if (!opts.json) {
      process.stdout.write(`reloaded ${o.file} in ${o.durationMs} ms: ${o.changes.length ? `${o.changes.length} change(s)` : 'no changes'}` +
        `${warnings.length ? `, ${warnings.length} warning(s)` : ''}\n`);
      for (const c of o.changes) process.stdout.write(`  ${c}\n`);
      for (const w of warnings) process.stderr.write(`${w}\n`);
    }
    return 0;
  }
  if (!opts.json) {
    for (const e of o.errors) process.stderr.write(`${e}\n`);
    for (const w of warnings) process.stderr.write(`${w}\n`);
    process.stderr.write(`tandem reload: refused, ${o.errors.length} error(s)${warnings.length ? `, ${warnings.length} warning(s)` : ''}; the daemon keeps running its previous config\n`);
  }
  return r.status === 422 ? 2 : 1;
}
