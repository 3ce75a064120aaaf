// The health checkers of a real server (TCP_CHECK, HTTP_GET, SSL_GET, DNS_CHECK, SMTP_CHECK,
// MISC_CHECK, PING_CHECK, UDP_CHECK) -> `checks: [{ tcp_check: {...} }, ...]`, and the timing keys
// every level (virtual server, real server, check) may carry.
import { splitScriptString } from '../../process/argv.js';
import { DNS_TYPES } from '../lbModel.js';
import { changed, NO_EQUIVALENT, note, type Ctx } from './notes.js';
import type { Stmt } from './parse.js';
import { resolveRepeats, type RepeatRules } from './repeats.js';
import { blockItems, bool, ipWord, num, push, scriptText, set, str } from './values.js';
import { Flow, type Obj } from './yamlWriter.js';

const TIMING: Record<string, { int?: boolean; min: number; max: number }> = {
  connect_timeout: { min: 0.001, max: 3600 },
  retry: { int: true, min: 0, max: 1000 },
  nb_get_retry: { int: true, min: 0, max: 1000 },
  delay_before_retry: { min: 0, max: 3600 },
  delay_loop: { min: 0.001, max: 86400 },
};

/**
 * connect_timeout, retry, delay_before_retry, delay_loop, warmup: on a virtual server, a real
 * server or a check. nb_get_retry is the old name of retry in HTTP_GET and SSL_GET only
 * (check_http.c http_get_retry_handler(), "nb_get_retry is deprecated - please use 'retry'"):
 * keepalived 2.2.7 knows it nowhere else ("Unknown keyword 'nb_get_retry'") and ignores it, so
 * elsewhere it is not a retry count.
 */
export function timing(ctx: Ctx, c: Stmt, o: Obj, http = false): boolean {
  const k = c.words[0]!;
  if (k === 'nb_get_retry' && !http) {
    changed(ctx, c, 'keepalived 2.2.7 knows nb_get_retry only in HTTP_GET and SSL_GET (check_http.c http_get_retry_handler): here it is an unknown keyword that keepalived ignores, so it sets no retry count, and the conversion ignores it too');
    return true;
  }
  if (TIMING[k]) {
    set(o, k === 'nb_get_retry' ? 'retry' : k, c, num(ctx, c, TIMING[k]));
    return true;
  }
  if (k === 'warmup') { set(o, k, c, num(ctx, c, { min: 0, max: 86400 })); return true; }
  return false;
}


export const CHECKERS: Record<string, string> = {
  TCP_CHECK: 'tcp_check', HTTP_GET: 'http_get', SSL_GET: 'ssl_get', DNS_CHECK: 'dns_check',
  SMTP_CHECK: 'smtp_check', MISC_CHECK: 'misc_check', PING_CHECK: 'ping_check', UDP_CHECK: 'udp_check',
};

/** The timing keywords, and the names under which a repeated one replaces another (nb_get_retry is retry). */
export const TIMING_KEYS = [...Object.keys(TIMING), 'warmup'];
export const TIMING_SAME: Record<string, string> = { nb_get_retry: 'retry', retry: 'retry' };

const CHECK_KEYS = new Set([
  ...TIMING_KEYS, 'connect_ip', 'bindto', 'connect_port', 'bind_port', 'virtualhost', 'http_protocol', 'enable_sni',
  'type', 'name', 'helo_name', 'misc_path', 'misc_timeout', 'misc_dynamic', 'user', 'payload', 'require_reply',
]);
const CHECK_REPEATS: RepeatRules = { accumulate: ['url'], same: TIMING_SAME, known: (k) => CHECK_KEYS.has(k) };
/** Outside HTTP_GET / SSL_GET nb_get_retry is no keyword of keepalived's (timing() notes it). */
const OTHER_CHECK_REPEATS: RepeatRules = { ...CHECK_REPEATS, known: (k) => k !== 'nb_get_retry' && CHECK_KEYS.has(k) };
const URL_REPEATS: RepeatRules = {
  // check_http.c (measured with keepalived 2.2.7 -t and -d): a second digest of a url is refused
  // ("Digest '%s' is a duplicate"), status_code lines add their codes to the url's set, path and
  // virtualhost are assignments.
  first: { digest: 'check_http.c, keepalived 2.2.7 -t: "Digest \'%s\' is a duplicate"' },
  accumulate: ['status_code'],
  known: (k) => k === 'path' || k === 'digest' || k === 'virtualhost' || k === 'status_code',
};

/** The keywords that say where a check connects (conn_opts_t in keepalived). */
const CONNECTION_KEYS = ['connect_ip', 'connect_port', 'bindto', 'bind_port', 'connect_timeout'];

/**
 * A checker block -> the checks it stands for: one, except for an SMTP_CHECK with host { }
 * blocks, where each host is a checker of its own (smtpChecks()). Empty when the block cannot be
 * converted (noted).
 */
export function convertChecks(ctx: Ctx, s: Stmt, kind: string, vsVirtualhost: string | undefined): Obj[] {
  const hosts: Stmt[] = [];
  const o = convertCheck(ctx, s, kind, vsVirtualhost, hosts);
  if (!o) return [];
  return kind === 'smtp_check' && hosts.length ? smtpChecks(ctx, o, hosts) : [o];
}

/**
 * SMTP_CHECK with host { } blocks, as check_smtp.c smtp_check_end_handler() sets them up in
 * 2.2.7 (measured with its -d dump): each host is a checker with the host's own connect_ip,
 * connect_port, bindto, bind_port, connect_timeout (nothing of the SMTP_CHECK's own; the port
 * defaults to the real server's) and the SMTP_CHECK's other settings (helo_name, retry,
 * delay_before_retry, delay_loop, ...). The SMTP_CHECK's own connection is a checker too when it
 * sets any connection keyword; otherwise the hosts are all there is. Dropping the hosts, as the
 * import did, left a single check of the real server's own address.
 */
function smtpChecks(ctx: Ctx, main: Obj, hosts: Stmt[]): Obj[] {
  const shared: Obj = Object.fromEntries(Object.entries(main).filter(([k]) => !CONNECTION_KEYS.includes(k)));
  const out: Obj[] = CONNECTION_KEYS.some((k) => main[k] !== undefined) ? [main] : [];
  for (const h of hosts) {
    const conn: Obj = {};
    for (const c of resolveRepeats(ctx, blockItems(ctx, h), { known: (k) => CONNECTION_KEYS.includes(k) })) {
      const k = c.words[0]!;
      if (k === 'connect_ip' || k === 'bindto') set(conn, k, c, ipWord(ctx, c));
      else if (k === 'connect_port' || k === 'bind_port') set(conn, k, c, num(ctx, c, { int: true, min: 1, max: 65535 }));
      else if (k === 'connect_timeout') set(conn, k, c, num(ctx, c, TIMING.connect_timeout));
      else note(ctx, c, NO_EQUIVALENT);
    }
    if (conn.connect_timeout === undefined) {
      changed(ctx, h, 'keepalived 2.2.7 runs a host { } checker that sets no connect_timeout with a timeout of 0 (its -d dump: "Timeout = 0.000000"), not the SMTP_CHECK\'s; tandem uses its default, 5 s');
    }
    out.push({ ...conn, ...shared });
  }
  return out;
}

function convertCheck(ctx: Ctx, s: Stmt, kind: string, vsVirtualhost: string | undefined, hosts: Stmt[]): Obj | undefined {
  const o: Obj = {};
  const http = kind === 'http_get' || kind === 'ssl_get';
  for (const c of resolveRepeats(ctx, s.block ?? [], http ? CHECK_REPEATS : OTHER_CHECK_REPEATS)) {
    const k = c.words[0]!;
    if (timing(ctx, c, o, http)) continue;
    switch (true) {
      case kind !== 'misc_check' && (k === 'connect_ip' || k === 'bindto'):
        set(o, k, c, ipWord(ctx, c));
        break;
      case kind !== 'misc_check' && (k === 'connect_port' || k === 'bind_port'):
        set(o, k, c, num(ctx, c, { int: true, min: 1, max: 65535 }));
        break;
      case http && k === 'url': {
        const u: Obj = {};
        const codes: unknown[] = [];
        let codesAt: Stmt | undefined;
        for (const p of resolveRepeats(ctx, blockItems(ctx, c), URL_REPEATS)) {
          const uk = p.words[0]!;
          if (uk === 'path') set(u, uk, p, str(ctx, p));
          else if (uk === 'digest') set(u, uk, p, str(ctx, p)?.toLowerCase());
          else if (uk === 'virtualhost') set(u, uk, p, str(ctx, p));
          else if (uk === 'status_code') {
            const these = p.words.slice(1).map((w) => (/^\d{3}$/.test(w) ? Number(w) : w));
            if (these.length === 0 || these.some((x) => typeof x === 'string' && !/^\d{3}-\d{3}$/.test(x))) note(ctx, p, `expected status codes or ranges, got ${p.words.slice(1).join(' ')}`);
            else { codes.push(...these); codesAt ??= p; }
          } else note(ctx, p, NO_EQUIVALENT);
        }
        if (codesAt) set(u, 'status_code', codesAt, codes.length === 1 ? codes[0] : new Flow(codes));
        if (u.path === undefined) note(ctx, c, 'has no path: not converted');
        else push(o, 'urls', c, u);
        break;
      }
      case http && k === 'virtualhost':
        set(o, k, c, str(ctx, c));
        break;
      case http && k === 'http_protocol':
        set(o, k, c, str(ctx, c));
        break;
      case kind === 'ssl_get' && k === 'enable_sni':
        set(o, k, c, bool(ctx, c));
        break;
      case kind === 'dns_check' && k === 'type': {
        const v = str(ctx, c)?.toUpperCase();
        if (v && (DNS_TYPES as readonly string[]).includes(v)) set(o, k, c, v);
        else if (v) note(ctx, c, `type ${v} is not supported (${DNS_TYPES.join(' ')})`);
        break;
      }
      case kind === 'dns_check' && k === 'name':
        set(o, k, c, str(ctx, c));
        break;
      case kind === 'smtp_check' && k === 'helo_name':
        set(o, k, c, str(ctx, c));
        break;
      case kind === 'smtp_check' && k === 'host':
        hosts.push(c);
        break;
      case kind === 'misc_check' && k === 'misc_path': {
        const r = splitScriptString(scriptText(c));
        if (!r.ok) note(ctx, c, `cannot split into arguments: ${r.message}`);
        else if (!r.argv[0]!.startsWith('/')) note(ctx, c, `${JSON.stringify(r.argv[0])} is not an absolute path (keepalived searches PATH; tandem does not)`);
        else set(o, k, c, new Flow(r.argv));
        break;
      }
      case kind === 'misc_check' && k === 'misc_timeout':
        set(o, k, c, num(ctx, c, { min: 0.001, max: 3600 }));
        break;
      case kind === 'misc_check' && k === 'misc_dynamic':
        set(o, k, c, bool(ctx, c));
        break;
      case kind === 'misc_check' && k === 'user':
        if (c.words.length !== 2) note(ctx, c, 'a group for MISC_CHECK is not supported; expected <user>');
        else set(o, k, c, c.words[1]);
        break;
      case kind === 'udp_check' && k === 'payload': {
        // keepalived's HEX_STR may be split into words ("de ad be ef"); whole bytes per word only.
        const words = c.words.slice(1);
        if (words.length && words.every((w) => /^(?:[0-9a-fA-F]{2})+$/.test(w))) set(o, k, c, words.join('').toLowerCase());
        else note(ctx, c, 'expected hex bytes (tandem takes whole bytes per word: 0a0b, not a b)');
        break;
      }
      case kind === 'udp_check' && k === 'require_reply':
        if (c.words.length === 1) set(o, k, c, true);
        else if (/^(?:[0-9a-fA-F]{2})+$/.test(c.words[1]!)) set(o, k, c, c.words[1]!.toLowerCase());
        else note(ctx, c, 'expected hex bytes');
        break;
      default:
        note(ctx, c, NO_EQUIVALENT);
    }
  }
  if (http) {
    if (o.urls === undefined) { note(ctx, s, 'has no url: not converted'); return undefined; }
    if (o.virtualhost === undefined && vsVirtualhost !== undefined) o.virtualhost = vsVirtualhost;
  }
  if (kind === 'misc_check' && o.misc_path === undefined) { note(ctx, s, 'has no misc_path: not converted'); return undefined; }
  return o;
}
