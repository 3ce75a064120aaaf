// The status page (issue 5 §2), served at GET / on the opt-in TCP listener (global.metrics_listen),
// in the spirit of HAProxy's stats page. One self-contained document: inline CSS and JS, no external
// resource, no framework. The HTML is static (no daemon data is ever put into it on the server);
// the script fetches GET /status.json every 2 s and rebuilds the DOM from the JSON with
// createElement/textContent only, so a string from the config or a check (an instance name, a
// script's output) is always text, never markup. The Content-Security-Policy sent with the page
// (statusServer.ts) allows exactly this script, by hash, and connections to the same origin only.
import { createHash } from 'node:crypto';
import type { StatusLastCheck } from './status.js';

// Pure helpers shared by the browser script (injected with Function.prototype.toString, so they
// must stay self-contained: no imports, no closures) and the unit tests.

/** CSS class of a VRRP state: MASTER green, BACKUP blue, FAULT red, INIT (and anything else) grey. */
export function vrrpStateClass(state: string): string {
  return state === 'MASTER' ? 'st-master' : state === 'BACKUP' ? 'st-backup' : state === 'FAULT' ? 'st-fault' : 'st-init';
}

/** CSS class of a real server's role (src/lb/desired.ts DestRole): serving green, down red, sorry amber. */
export function realServerClass(role: string): string {
  if (role === 'up') return 'rs-up';
  if (role === 'down' || role === 'inhibited') return 'rs-down';
  if (role === 'replaced_by_sorry' || role === 'sorry_active') return 'rs-sorry';
  return 'rs-idle';
}

/** "42s", "3m12s", "2h05m", "4d03h" (the same form as `tandem status`). */
/** `tcp_check ok 0.4 ms`, `http_get http_status (got 503) 12 ms`: each check's last probe. */
export function lastChecksText(checks: ReadonlyArray<StatusLastCheck | null> | undefined): string {
  if (!checks || checks.length === 0) return '-';
  return checks.map((c) => {
    if (c === null) return 'not run yet';
    const ms = c.latency_ms < 10 ? c.latency_ms.toFixed(1) : String(Math.round(c.latency_ms));
    return c.ok ? `${c.kind} ok ${ms} ms` : `${c.kind} ${c.reason}${c.detail ? ` (${c.detail})` : ''} ${ms} ms`;
  }).join('; ');
}

export function agoText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
  if (s < 86400) return Math.floor(s / 3600) + 'h' + String(Math.floor(s / 60) % 60).padStart(2, '0') + 'm';
  return Math.floor(s / 86400) + 'd' + String(Math.floor(s / 3600) % 24).padStart(2, '0') + 'h';
}

/** The part of the DOM that el() uses (the project compiles without the DOM lib). */
export interface MiniNode { appendChild(c: MiniNode): unknown }
export interface MiniElement extends MiniNode { className: string; setAttribute(k: string, v: string): void }
export interface MiniDocument { createElement(tag: string): MiniElement; createTextNode(text: string): MiniNode }

/**
 * An element with text children: strings become text nodes (never parsed as HTML); attributes
 * are only `class` and `data-*` set through the DOM API.
 */
export function el(doc: MiniDocument, tag: string, attrs: Record<string, string> | null, ...children: Array<MiniNode | string | null>): MiniElement {
  const e = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null) continue;
    e.appendChild(typeof c === 'string' ? doc.createTextNode(c) : c);
  }
  return e;
}

const STYLE = `
body { font: 13px/1.35 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d232a; }
header { background: #26323d; color: #fff; padding: 8px 14px; display: flex; gap: 18px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 16px; margin: 0; }
#updated { margin-left: auto; opacity: .85; }
#error { display: none; background: #c62828; color: #fff; padding: 8px 14px; font-weight: 600; }
#error.shown { display: block; }
main { padding: 6px 14px 20px; }
h2 { font-size: 14px; margin: 16px 0 6px; }
h3 { font-size: 13px; margin: 10px 0 4px; font-weight: 600; }
table { border-collapse: collapse; background: #fff; margin-bottom: 6px; min-width: 40%; }
th, td { border: 1px solid #cfd5db; padding: 3px 8px; text-align: left; white-space: nowrap; }
th { background: #e3e7eb; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: #777; font-style: italic; }
.st-master { background: #2e7d32; color: #fff; font-weight: 600; }
.st-backup { background: #1565c0; color: #fff; }
.st-fault { background: #c62828; color: #fff; font-weight: 600; }
.st-init { background: #9e9e9e; color: #fff; }
.rs-up { background: #c8e6c9; }
.rs-down { background: #ffcdd2; }
.rs-sorry { background: #ffe0b2; }
.rs-idle { background: #eceff1; }
.bad { color: #c62828; font-weight: 600; }
.good { color: #2e7d32; }
.stale main { opacity: .55; }
`;

const SCRIPT = `'use strict';
${vrrpStateClass.toString()}
${realServerClass.toString()}
${agoText.toString()}
${lastChecksText.toString()}
${el.toString()}
const REFRESH_MS = 2000;
let skewMs = 0; // server clock minus browser clock, from the Date header: "ago" is measured on the daemon's clock
function E(tag, attrs, ...children) { return el(document, tag, attrs, ...children); }
function table(head, rows, attrs) {
  if (rows.length === 0) return E('p', { class: 'empty' }, 'none');
  return E('table', attrs || null, E('thead', null, E('tr', null, ...head.map((h) => E('th', null, h)))), E('tbody', null, ...rows));
}
function td(text, cls) { return E('td', cls ? { class: cls } : null, String(text)); }
function ago(iso) { const t = Date.parse(iso); return Number.isFinite(t) ? agoText(Date.now() + skewMs - t) + ' ago' : '-'; }
function section(title, ...body) { return E('section', null, E('h2', null, title), ...body); }
function render(s) {
  document.getElementById('title').textContent = 'tandem ' + s.version + ' on ' + s.hostname;
  document.getElementById('ident').textContent = 'router_id ' + s.router_id + ', pid ' + s.pid + ', up ' + ago(s.started_at).replace(' ago', '');
  const out = [];
  if (s.config) {
    // The config in force and the last reload: a refused reload is what an operator must see.
    const c = s.config, r = c.last_reload;
    out.push(E('p', { class: 'config' }, 'config ' + c.file + ', loaded ' + ago(c.loaded_at),
      r === null ? null : r.ok ? '; last reload ' + ago(r.at) + ': ' + r.changes.length + ' change(s) applied'
        : E('span', { class: 'bad' }, '; LAST RELOAD REFUSED ' + ago(r.at) + ' (' + r.errors.length + ' error(s): ' + (r.errors[0] || '') +
          '); still running the config loaded before')));
    // Warnings of the config in force: it runs as keepalived would run it (each is a located line).
    const w = c.warnings || [];
    if (w.length) out.push(E('p', { class: 'config' }, w.length + ' config warning(s): ' + w[0] + (w.length > 1 ? ' ...' : '')));
  }
  const drops = Object.entries(s.rx && s.rx.drops || {}).filter(([, n]) => n > 0);
  out.push(section('VRRP instances (' + s.instances.length + ')',
    table(['name', 'state', 'priority / effective', 'VRID', 'interface', 'master', 'transitions', 'last transition', 'reason', 'when'],
      s.instances.map((i) => {
        const lt = i.last_transition;
        return E('tr', { 'data-instance': i.name },
          td(i.name), td(i.state, 'state ' + vrrpStateClass(i.state)), td(i.priority + ' / ' + i.effective_priority, 'num'),
          td(i.vrid, 'num'), td(i.interface), td(i.master_ip || '-'), td(i.transitions, 'num'),
          td(lt ? lt.from + ' \\u2192 ' + lt.to : '-'), td(lt ? lt.reason : '-'), td(lt ? ago(lt.at) : '-'));
      }), { id: 'instances' }),
    E('p', null, 'adverts accepted ' + (s.rx ? s.rx.accepted : 0) + ', dropped: ' + (drops.length ? drops.map(([r, n]) => r + ' ' + n).join(', ') : 'none'))));
  const groups = Array.isArray(s.sync_groups) ? s.sync_groups : [];
  if (groups.length) {
    out.push(section('Sync groups (' + groups.length + ')', table(['name', 'state', 'members'], groups.map((g) =>
      E('tr', { 'data-group': String(g.name) }, td(g.name), td(g.state, 'state ' + vrrpStateClass(String(g.state))), td((g.members || []).join(', ')))))));
  }
  if (s.lb) {
    const vss = s.lb.virtual_servers || [];
    const be = s.lb.backend;
    const parts = [E('p', null, (be.kind === 'nft' ? 'nftables backend' : 'IPVS backend ' + be.kind) + ', ' + be.passes + ' passes',
      be.last_error ? E('span', { class: 'bad' }, ', last error: ' + be.last_error) : null)];
    for (const v of vss) {
      const rows = Object.entries(v.real_servers).map(([rs, role]) => E('tr', { 'data-rs': rs, 'data-vs': v.key, class: 'rs ' + realServerClass(role) },
        td(rs), td(role === 'up' ? 'UP' : role === 'down' ? 'DOWN' : role, 'role'),
        td(v.weights && v.weights[rs] !== undefined ? v.weights[rs] : '-', 'num'),
        td(lastChecksText(v.last_checks && v.last_checks[rs]), 'checks')));
      parts.push(E('div', { 'data-vs': v.key },
        E('h3', null, v.key + ' \\u2014 quorum ',
          E('span', { class: v.quorum_up ? 'good' : 'bad' }, v.quorum_up ? 'up' : 'DOWN'),
          ', live weight ' + v.weight_sum,
          v.sorry_active ? E('span', { class: 'bad' }, ', sorry server active') : null),
        table(['real server', 'state', 'weight', 'last checks'], rows)));
    }
    out.push(section('Virtual servers (' + vss.length + ')', ...parts));
  }
  const t = s.trackers;
  if (t) {
    const by = (u) => (u && u.length ? u.join(', ') : '-');
    const rows = [
      ...t.scripts.map((x) => E('tr', null, td('script'), td(x.name), td(x.status, x.status === 'good' ? 'good' : x.status === 'bad' ? 'bad' : ''), td(by(x.trackedBy)),
        td(x.last ? x.last.verdict + (x.last.detail ? ': ' + x.last.detail : '') : 'not run yet'))),
      ...t.files.map((x) => E('tr', null, td('file'), td(x.name), td('value ' + x.value), td(by(x.trackedBy)), td(x.path))),
      ...t.processes.map((x) => E('tr', null, td('process'), td(x.name), td(x.up === null ? 'init' : x.up ? 'up' : 'down', x.up === false ? 'bad' : x.up ? 'good' : ''),
        td(by(x.trackedBy)), td(x.count + ' running (' + x.process + ')'))),
    ];
    out.push(section('Trackers', table(['kind', 'name', 'state', 'tracked by', 'detail'], rows)));
  }
  const a = s.alerts;
  if (a) {
    const rows = [E('tr', null, td('notify scripts'), td(a.scripts.run, 'num'), td(a.scripts.failed, 'num'), td(a.scripts.dropped, 'num'),
      td(a.scripts.pending + a.scripts.running, 'num'), td(a.scripts.timed_out + ' timed out'))];
    if (a.notify_fifo) rows.push(E('tr', null, td('notify_fifo ' + a.notify_fifo.path), td(a.notify_fifo.written, 'num'), td('-'),
      td(a.notify_fifo.dropped, 'num'), td(a.notify_fifo.backlog, 'num'), td('')));
    for (const w of a.webhooks || []) rows.push(E('tr', null, td(w.webhook), td(w.delivered, 'num'), td(w.failed, 'num'), td(w.dropped, 'num'),
      td(w.pending, 'num'), td(w.retried + ' retried')));
    out.push(section('Alerts', table(['channel', 'done', 'failed', 'dropped', 'pending', ''], rows)));
  }
  document.getElementById('content').replaceChildren(...out);
}
function showError(msg) {
  const b = document.getElementById('error');
  b.textContent = 'status fetch failed: ' + msg + ' (showing the last good data)';
  b.className = 'shown';
  document.body.className = 'stale';
}
async function refresh() {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 5000);
  try {
    const r = await fetch('status.json', { cache: 'no-store', signal: ctl.signal });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const s = await r.json();
    const date = Date.parse(r.headers.get('date') || '');
    if (Number.isFinite(date)) skewMs = date - Date.now();
    render(s);
    const now = new Date();
    const u = document.getElementById('updated');
    u.textContent = 'last updated ' + now.toLocaleTimeString();
    u.setAttribute('data-ms', String(now.getTime()));
    document.getElementById('error').className = '';
    document.body.className = '';
  } catch (e) {
    showError(e && e.name === 'AbortError' ? 'no answer within 5 s' : String(e && e.message || e));
  } finally {
    clearTimeout(timer);
    // The next fetch is scheduled after this one ends: a slow daemon never gets overlapping requests.
    setTimeout(refresh, REFRESH_MS);
  }
}
refresh();
`;

/** The page; the data arrives from /status.json. */
export const STATUS_PAGE_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tandem status</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1 id="title">tandem</h1><span id="ident"></span><span id="updated" data-ms="0">not loaded yet</span></header>
<div id="error" role="alert"></div>
<main id="content"><p class="empty">loading&hellip;</p></main>
<script>${SCRIPT}</script>
</body>
</html>
`;

const hash = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/** Only this page's own script and style run, it may fetch from its own origin only, and no site may frame it. */
export const STATUS_PAGE_CSP = `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; connect-src 'self'; ` +
  `img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
