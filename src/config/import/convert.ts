// keepalived.conf -> tandem YAML (`tandem import`, issue 5 §4). Pure over the statement tree that
// parse.ts reads: each keepalived keyword either becomes its snake_case tandem key (the config
// reference in README.md) or is listed as not converted, with its file:line, so nothing is
// dropped silently. Comment lines above a keepalived statement become YAML comments above the
// key or list item it turned into.
//
// Rules that are not a plain rename (all from keepalived.conf(5) / keepalived 2.2 parsers):
// - `nopreempt` -> preempt: false; `inhibit_on_failure`, `smtp_alert`, ... with no value -> true;
// - a `notify*` script's extra words are the user/group to run it as (vrrp_parser.c): tandem has
//   one script_user for all, so they are listed;
// - global `vrrp_version` and `vrrp_garp_*` are defaults for every instance: written per instance;
// - `auth_pass` longer than 8 characters is cut to 8, as keepalived does (with a warning there too);
// - virtual_ipaddress options (`dev`, `label`, `scope`, `brd`, ...) are listed and dropped: tandem
//   adds each VIP on the instance's interface;
// - a virtual server's `virtualhost` is the default for its HTTP_GET / SSL_GET checks.
import { Document, Pair, Scalar, YAMLMap, YAMLSeq, type Node } from 'yaml';
import { splitScriptString } from '../../alert/argv.js';
import { canonicalIp } from '../fields.js';
import { isSecretKey, maskUrlCredentials, redactValues } from '../secrets.js';
import { SCHEDULERS } from '../../lb/model.js';
import { DNS_TYPES } from '../lbModel.js';
import { parseKeepalivedFile, type ParseError, type Stmt } from './parse.js';

/** A keepalived statement tandem did not convert (or converted only in part), and why. */
export interface Unconverted {
  file: string;
  line: number;
  keyword: string;
  reason: string;
}

export function formatUnconverted(u: Unconverted): string {
  return `${u.file}:${u.line}: ${u.keyword}: ${u.reason}`;
}

export type ImportResult =
  | { ok: true; yaml: string; unconverted: Unconverted[] }
  | { ok: false; error: ParseError };

/** Reads a keepalived.conf (and its includes) and converts it. */
export function importKeepalived(path: string): ImportResult {
  const parsed = parseKeepalivedFile(path);
  if (!parsed.ok) return parsed;
  const r = convertStatements(parsed.statements, path);
  const unconverted = [
    ...parsed.notes.map((n) => ({ file: n.file, line: n.line, keyword: 'include', reason: n.message })),
    ...r.unconverted,
  ];
  return { ok: true, yaml: renderYaml(r.value, path, unconverted), unconverted };
}

// ---- the output value: plain data, with comments and flow style marked ----

/** A value with comment lines to put above it (above its key in a mapping, above an item in a list). */
class Commented { constructor(readonly value: unknown, readonly comments: string[]) {} }
/** A short list written on one line (`[a, b]`). */
class Flow { constructor(readonly items: unknown[]) {} }
type Obj = Record<string, unknown>;

function toNode(v: unknown): Node {
  if (v instanceof Commented) {
    const n = toNode(v.value);
    n.commentBefore = commentText(v.comments);
    return n;
  }
  if (v instanceof Flow) {
    const seq = new YAMLSeq();
    seq.flow = true;
    for (const i of v.items) seq.items.push(toNode(i));
    return seq;
  }
  if (Array.isArray(v)) {
    const seq = new YAMLSeq();
    for (const i of v) seq.items.push(toNode(i));
    return seq;
  }
  if (v !== null && typeof v === 'object') {
    const map = new YAMLMap();
    for (const [k, val] of Object.entries(v as Obj)) {
      if (val === undefined) continue;
      const key = new Scalar(k);
      let inner: unknown = val;
      // A comment for a key goes above the key, not between the key and its value.
      if (val instanceof Commented) { key.commentBefore = commentText(val.comments); inner = val.value; }
      map.items.push(new Pair(key, toNode(inner)));
    }
    return map;
  }
  return new Scalar(v as string | number | boolean | null);
}

function commentText(lines: string[]): string {
  return lines.map((l) => (l ? ` ${l}` : '')).join('\n');
}

function renderYaml(value: Obj, source: string, unconverted: Unconverted[]): string {
  const doc = new Document();
  doc.contents = toNode(value) as YAMLMap;
  const head = [`Converted from ${source} by tandem import.`];
  if (unconverted.length === 0) head.push('Every keyword was converted.');
  else {
    head.push(`Not converted (${unconverted.length}):`);
    for (const u of unconverted) head.push(`  ${formatUnconverted(u)}`);
  }
  doc.commentBefore = commentText(head);
  return doc.toString({ lineWidth: 0 });
}

// ---- conversion ----

interface Ctx {
  unconverted: Unconverted[];
}

/**
 * Every note (stderr and the output's header comment) goes through here, so none can show a
 * secret (src/config/secrets.ts): the words of a statement whose keyword is secret (auth_pass)
 * are masked out of the reason whatever it says, and so are URL credentials. The converted
 * YAML itself keeps the secret: writing it is the import's job.
 */
function note(ctx: Ctx, s: Stmt, reason: string, keyword = s.words[0] ?? ''): void {
  const secretWords = isSecretKey(s.words[0] ?? '') || isSecretKey(keyword) ? s.words.slice(1) : [];
  ctx.unconverted.push({ file: s.file, line: s.line, keyword, reason: redactValues(maskUrlCredentials(reason), secretWords) });
}

/** The value to store for a statement: with its comments when it has any. */
function withComments(s: Stmt, v: unknown): unknown {
  return s.comments.length ? new Commented(v, s.comments) : v;
}

function set(o: Obj, key: string, s: Stmt, v: unknown): void {
  if (v !== undefined) o[key] = withComments(s, v);
}

function push(o: Obj, key: string, s: Stmt, v: unknown): void {
  if (v === undefined) return;
  const list = (o[key] ??= []) as unknown[];
  list.push(withComments(s, v));
}

const NO_EQUIVALENT = 'no tandem equivalent';

/**
 * words[i] as a number in [min, max] (integer if asked), else listed and undefined. An integer is
 * judged on its digits, as keepalived's read_unsigned() does (strtoul, base 10, nothing after the
 * digits): `254.99999999999999` is not one, though Number() makes it 255.
 */
function num(ctx: Ctx, s: Stmt, opts: { int?: boolean; min?: number; max?: number; i?: number } = {}): number | undefined {
  const text = s.words[opts.i ?? 1];
  const v = text !== undefined && (opts.int ? /^-?\d{1,15}$/ : /^-?\d+(\.\d+)?$/).test(text) ? Number(text) : NaN;
  if (!Number.isFinite(v) || v < (opts.min ?? -Infinity) || v > (opts.max ?? Infinity)) {
    note(ctx, s, `expected ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ${opts.min}..${opts.max}` : ''}, got ${text === undefined ? 'nothing' : JSON.stringify(text)}`);
    return undefined;
  }
  if (s.words.length > (opts.i ?? 1) + 1) note(ctx, s, `extra words ignored: ${s.words.slice((opts.i ?? 1) + 1).join(' ')}`);
  return v;
}

/** keepalived's boolean keywords: alone = true, or followed by true/false, on/off, yes/no. */
function bool(ctx: Ctx, s: Stmt): boolean | undefined {
  const w = s.words[1]?.toLowerCase();
  if (w === undefined) return true;
  if (w === 'true' || w === 'on' || w === 'yes') return true;
  if (w === 'false' || w === 'off' || w === 'no') return false;
  note(ctx, s, `expected true or false, got ${JSON.stringify(s.words[1])}`);
  return undefined;
}

function str(ctx: Ctx, s: Stmt): string | undefined {
  if (s.words.length < 2) { note(ctx, s, 'expected a value'); return undefined; }
  if (s.words.length > 2) note(ctx, s, `extra words ignored: ${s.words.slice(2).join(' ')}`);
  return s.words[1];
}

/** A script and its arguments, as keepalived reads them: the rest of the line, quoted words kept whole. */
function scriptText(s: Stmt, from = 1): string {
  const words = s.words.slice(from);
  if (words.length === 1) return words[0]!;
  return words.map((w, k) => (s.quoted[from + k] && /\s/.test(w) ? `'${w.replace(/'/g, `'\\''`)}'` : w)).join(' ');
}

/** notify_master "<script>" [user [group]]: the script must be one word (quoted when it has arguments). */
function notifyScript(ctx: Ctx, s: Stmt): string | undefined {
  if (s.words.length < 2) { note(ctx, s, 'expected a script'); return undefined; }
  const text = s.words[1]!;
  if (s.words.length > 2) {
    note(ctx, s, `runs as ${s.words.slice(2).join(' ')} in keepalived; tandem runs every script as global script_user (not converted: the user)`);
  }
  const argv = splitScriptString(text);
  if (!argv.ok) { note(ctx, s, `cannot split the script into arguments: ${argv.message}`); return undefined; }
  if (!argv.argv[0]!.startsWith('/')) {
    note(ctx, s, `script ${JSON.stringify(argv.argv[0])} is not an absolute path (keepalived searches PATH; tandem does not)`);
    return undefined;
  }
  return text;
}

/** `<name> [weight N] [reverse]` (track_script / track_file / track_process entries, tracker weights). */
function weightWords(ctx: Ctx, s: Stmt, from: number): { weight?: number; reverse?: boolean } | undefined {
  const out: { weight?: number; reverse?: boolean } = {};
  for (let i = from; i < s.words.length; i++) {
    const w = s.words[i]!;
    if (w === 'weight') {
      const v = s.words[i + 1];
      const n = v !== undefined && /^-?\d+$/.test(v) ? Number(v) : NaN;
      if (!(n >= -254 && n <= 254)) { note(ctx, s, `weight must be an integer -254..254, got ${JSON.stringify(v)}`); return undefined; }
      out.weight = n;
      i++;
    } else if (w === 'reverse') out.reverse = true;
    else note(ctx, s, `ignored: ${w}`);
  }
  return out;
}

function trackRef(ctx: Ctx, s: Stmt): unknown {
  const name = s.words[0]!;
  const ww = weightWords(ctx, s, 1);
  if (!ww) return undefined;
  return ww.weight === undefined && ww.reverse === undefined ? name : { name, ...ww };
}

/** Children of a block, or (for keywords that take one value on the line) the line itself. */
function blockItems(ctx: Ctx, s: Stmt): Stmt[] {
  if (s.block) return s.block;
  note(ctx, s, 'expected a { } block');
  return [];
}

/** keepalived's `<address>[/<prefix>]`, canonical text. */
function vipAddress(text: string): string | undefined {
  const [addr, len, ...rest] = text.split('/');
  const ip = addr ? canonicalIp(addr) : undefined;
  if (!ip || rest.length) return undefined;
  if (len === undefined) return ip.address;
  const max = ip.family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(len) || Number(len) > max) return undefined;
  return `${ip.address}/${len}`;
}

function vips(ctx: Ctx, s: Stmt, iface: () => string | undefined): unknown[] {
  const out: unknown[] = [];
  for (const c of blockItems(ctx, s)) {
    const a = vipAddress(c.words[0]!);
    if (!a) { note(ctx, c, `not an address with optional /prefix (ranges are not supported)`, c.words[0]); continue; }
    const opts = c.words.slice(1);
    if (opts.length) {
      const devAt = opts.indexOf('dev');
      const dev = devAt >= 0 ? opts[devAt + 1] : undefined;
      const other = dev !== undefined && dev !== iface() ? ` (on ${dev}, not the instance's interface ${iface() ?? '?'})` : '';
      note(ctx, c, `options ignored: ${opts.join(' ')}; tandem adds the VIP on the instance's interface${other}`, c.words[0]);
    }
    out.push(a);
  }
  return out;
}

const GLOBAL_GARP: Record<string, string> = {
  vrrp_garp_master_delay: 'garp_master_delay',
  vrrp_garp_master_repeat: 'garp_master_repeat',
  vrrp_garp_master_refresh: 'garp_master_refresh',
  vrrp_garp_master_refresh_repeat: 'garp_master_refresh_repeat',
  vrrp_garp_lower_prio_repeat: 'garp_lower_prio_repeat',
};

interface Defaults { version?: number; garp: Obj }

function convertGlobal(ctx: Ctx, s: Stmt, g: Obj, d: Defaults): void {
  for (const c of blockItems(ctx, s)) {
    const k = c.words[0]!;
    switch (k) {
      case 'router_id': {
        const v = str(ctx, c);
        if (v !== undefined && !/^[A-Za-z0-9_.:-]+$/.test(v)) note(ctx, c, `router id ${JSON.stringify(v)} has characters tandem does not allow`);
        else set(g, k, c, v);
        break;
      }
      case 'notification_email': {
        const emails = blockItems(ctx, c).flatMap((e) => e.words);
        set(g, k, c, emails);
        break;
      }
      case 'notification_email_from': case 'smtp_helo_name':
        set(g, k, c, str(ctx, c));
        break;
      case 'smtp_server':
        if (c.words.length < 2 || c.words.length > 3) note(ctx, c, 'expected <address or host> [<port>]');
        else set(g, k, c, c.words.slice(1).join(' '));
        break;
      case 'smtp_connect_timeout':
        set(g, k, c, num(ctx, c, { min: 0.001, max: 3600 }));
        break;
      case 'smtp_alert': case 'smtp_alert_vrrp': case 'smtp_alert_checker': case 'enable_script_security':
        set(g, k, c, bool(ctx, c));
        break;
      case 'script_user':
        if (c.words.length < 2 || c.words.length > 3) note(ctx, c, 'expected <user> [<group>]');
        else set(g, k, c, c.words.slice(1).join(' '));
        break;
      case 'notify_fifo':
        if (c.words.length > 2) note(ctx, c, `FIFO owner/group not converted: ${c.words.slice(2).join(' ')}`);
        if (c.words[1]?.startsWith('/')) set(g, k, c, c.words[1]);
        else note(ctx, c, 'expected an absolute path');
        break;
      case 'vrrp_version': {
        const v = num(ctx, c, { int: true, min: 2, max: 3 });
        if (v !== undefined) d.version = v;
        break;
      }
      default:
        if (GLOBAL_GARP[k]) {
          const v = num(ctx, c, { min: 0, max: 86400 });
          if (v !== undefined) d.garp[GLOBAL_GARP[k]!] = v;
        } else note(ctx, c, NO_EQUIVALENT);
    }
  }
}

const INSTANCE_NUMBERS: Record<string, { int?: boolean; min: number; max: number }> = {
  virtual_router_id: { int: true, min: 1, max: 255 },
  priority: { int: true, min: 1, max: 255 },
  advert_int: { min: 0.01, max: 255 },
  preempt_delay: { min: 0, max: 1000 },
  garp_master_delay: { min: 0, max: 3600 },
  garp_master_repeat: { int: true, min: 1, max: 255 },
  garp_master_refresh: { min: 0, max: 86400 },
  garp_master_refresh_repeat: { int: true, min: 1, max: 255 },
  garp_lower_prio_repeat: { int: true, min: 0, max: 255 },
  version: { int: true, min: 2, max: 3 },
};

const STATE_NOTIFY = ['notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify'];

function convertInstance(ctx: Ctx, s: Stmt, d: Defaults): Obj | undefined {
  const name = s.words[1];
  if (!name || s.words.length > 2) { note(ctx, s, 'expected vrrp_instance <name> { ... }'); return undefined; }
  const o: Obj = { name };
  let authStmt: Stmt | undefined;
  const iface = () => o.interface instanceof Commented ? String(o.interface.value) : (o.interface as string | undefined);
  for (const c of blockItems(ctx, s)) {
    const k = c.words[0]!;
    if (INSTANCE_NUMBERS[k]) { set(o, k, c, num(ctx, c, INSTANCE_NUMBERS[k])); continue; }
    if (STATE_NOTIFY.includes(k)) { set(o, k, c, notifyScript(ctx, c)); continue; }
    switch (k) {
      case 'state': {
        const v = str(ctx, c);
        if (v === 'MASTER' || v === 'BACKUP') set(o, k, c, v);
        else if (v !== undefined) note(ctx, c, `expected MASTER or BACKUP, got ${JSON.stringify(v)}`);
        break;
      }
      case 'interface':
        set(o, k, c, str(ctx, c));
        break;
      case 'nopreempt':
        set(o, 'preempt', c, false);
        break;
      case 'preempt':
        set(o, 'preempt', c, bool(ctx, c));
        break;
      case 'unicast_src_ip': {
        const ip = canonicalIp(c.words[1] ?? '');
        if (ip) set(o, k, c, ip.address); else note(ctx, c, 'expected an IP address');
        break;
      }
      case 'unicast_peer': {
        const peers: unknown[] = [];
        for (const p of blockItems(ctx, c)) {
          const ip = canonicalIp(p.words[0]!);
          if (!ip) { note(ctx, p, 'expected an IP address', p.words[0]); continue; }
          if (p.words.length > 1) note(ctx, p, `options ignored: ${p.words.slice(1).join(' ')}`, p.words[0]);
          peers.push(ip.address);
        }
        set(o, 'unicast_peers', c, new Flow(peers));
        break;
      }
      case 'authentication': {
        const a: Obj = {};
        let ok = true;
        for (const p of blockItems(ctx, c)) {
          if (p.words[0] === 'auth_type') {
            if (p.words[1] !== 'PASS') { note(ctx, p, `${p.words[1] ?? '?'} is not supported (only PASS: RFC 3768 removed AH)`); ok = false; } else a.auth_type = 'PASS';
          } else if (p.words[0] === 'auth_pass') {
            // keepalived (vrrp_parser.c vrrp_auth_pass_handler) reads the first word after the
            // keyword and keeps its first 8 characters; with no word it refuses the line
            // ("missing a parameter after keyword `auth_pass`").
            if (p.words.length < 2) { note(ctx, p, 'expected a password: the authentication block is not converted'); ok = false; continue; }
            let pass = p.words[1]!;
            if (pass.length > 8) { note(ctx, p, 'longer than 8 characters: cut to 8, as keepalived does'); pass = pass.slice(0, 8); }
            if (p.words.length > 2) note(ctx, p, `only the first word is the password, as in keepalived; ignored: ${p.words.slice(2).join(' ')}`);
            a.auth_pass = pass;
          } else note(ctx, p, NO_EQUIVALENT);
        }
        if (ok && a.auth_type && a.auth_pass) { set(o, k, c, a); authStmt = c; }
        else if (ok) note(ctx, c, `has no ${a.auth_type ? 'auth_pass' : 'auth_type'}: not converted`);
        break;
      }
      case 'virtual_ipaddress':
        set(o, 'virtual_ipaddresses', c, new Flow(vips(ctx, c, iface)));
        break;
      case 'virtual_ipaddress_excluded':
        set(o, 'virtual_ipaddresses_excluded', c, new Flow(vips(ctx, c, iface)));
        break;
      case 'track_interface': {
        const list: unknown[] = [];
        for (const t of blockItems(ctx, c)) {
          const ww = weightWords(ctx, t, 1);
          if (!ww) continue;
          if (ww.reverse) note(ctx, t, 'reverse is not supported for track_interface', t.words[0]);
          list.push(withComments(t, ww.weight ? { interface: t.words[0], weight: ww.weight } : t.words[0]));
        }
        set(o, 'track_interfaces', c, list);
        break;
      }
      case 'track_script': case 'track_file': case 'track_process': {
        const list = blockItems(ctx, c).map((t) => trackRef(ctx, t)).filter((v) => v !== undefined);
        set(o, `${k}s` === 'track_processs' ? 'track_processes' : `${k}s`, c, list);
        break;
      }
      case 'smtp_alert':
        set(o, k, c, bool(ctx, c));
        break;
      default:
        note(ctx, c, NO_EQUIVALENT);
    }
  }
  // Globals that keepalived applies to every instance.
  for (const [key, v] of Object.entries(d.garp)) if (o[key] === undefined) o[key] = v;
  const family = firstVipFamily(o);
  if (o.version === undefined && d.version === 3 && family === 4) o.version = 3;
  const version = unwrap(o.version) ?? (family === 6 ? 3 : 2);
  if (version === 3 && o.authentication !== undefined && authStmt) {
    note(ctx, authStmt, 'VRRPv3 has no authentication (RFC 5798 §9; keepalived ignores it too): dropped');
    delete o.authentication;
  }
  if (o.virtual_ipaddresses === undefined) note(ctx, s, 'has no virtual_ipaddress: tandem needs at least one VIP per instance');
  if (o.interface === undefined) note(ctx, s, 'has no interface: tandem needs one');
  return o;
}

function unwrap(v: unknown): unknown {
  return v instanceof Commented ? v.value : v;
}

function firstVipFamily(o: Obj): 4 | 6 | undefined {
  const list = unwrap(o.virtual_ipaddresses);
  const first = list instanceof Flow ? list.items[0] : undefined;
  return typeof first === 'string' ? (first.includes(':') ? 6 : 4) : undefined;
}

/**
 * A `keyword <name> { ... }` block: checks the name, hands every statement of the block to
 * `item` (which returns false for a keyword it does not know: listed as unconverted), and drops
 * the block when it lacks its `required` key.
 */
function namedBlock(
  ctx: Ctx, s: Stmt, required: string | null, item: (c: Stmt, k: string, o: Obj) => boolean,
): Obj | undefined {
  const name = s.words[1];
  if (!name) { note(ctx, s, `expected ${s.words[0]} <name> { ... }`); return undefined; }
  const o: Obj = { name };
  for (const c of blockItems(ctx, s)) {
    const k = c.words[0]!;
    if (!item(c, k, o)) note(ctx, c, NO_EQUIVALENT);
  }
  if (required !== null && o[required] === undefined) { note(ctx, s, `has no ${required}: not converted`); return undefined; }
  return o;
}

/** `weight W [reverse]` of a tracker. */
function setWeight(ctx: Ctx, c: Stmt, o: Obj): void {
  const ww = weightWords(ctx, c, 0);
  if (ww?.weight !== undefined) set(o, 'weight', c, ww.weight);
  if (ww?.reverse) o.reverse = true;
}

function convertVrrpScript(ctx: Ctx, s: Stmt): Obj | undefined {
  return namedBlock(ctx, s, 'script', (c, k, o) => {
    switch (k) {
      case 'script':
        if (c.words.length < 2) note(ctx, c, 'expected a script');
        else set(o, k, c, scriptText(c));
        return true;
      case 'interval': case 'timeout':
        set(o, k, c, num(ctx, c, { min: 0.01, max: 86400 }));
        return true;
      case 'rise': case 'fall':
        set(o, k, c, num(ctx, c, { int: true, min: 1, max: 1_000_000 }));
        return true;
      case 'weight':
        setWeight(ctx, c, o);
        return true;
      case 'user':
        if (c.words.length < 2 || c.words.length > 3) note(ctx, c, 'expected <user> [<group>]');
        else set(o, k, c, c.words.slice(1).join(' '));
        return true;
      case 'init_fail':
        set(o, k, c, true);
        return true;
      default:
        return false;
    }
  });
}

function convertTrackFile(ctx: Ctx, s: Stmt): Obj | undefined {
  return namedBlock(ctx, s, 'file', (c, k, o) => {
    switch (k) {
      case 'file':
        if (c.words[1]?.startsWith('/')) set(o, k, c, c.words[1]); else note(ctx, c, 'expected an absolute path');
        return true;
      case 'weight':
        setWeight(ctx, c, o);
        return true;
      case 'init_file': {
        const rest = c.words.slice(1);
        const overwrite = rest.includes('overwrite');
        const valueText = rest.find((w) => w !== 'overwrite');
        const value = valueText !== undefined && /^-?\d+$/.test(valueText) ? Number(valueText) : valueText === undefined ? 0 : NaN;
        if (Number.isNaN(value)) note(ctx, c, `expected [<value>] [overwrite], got ${rest.join(' ')}`);
        else set(o, k, c, overwrite ? { value, overwrite } : value);
        return true;
      }
      default:
        return false;
    }
  });
}

function convertTrackProcess(ctx: Ctx, s: Stmt): Obj | undefined {
  return namedBlock(ctx, s, 'process', (c, k, o) => {
    switch (k) {
      case 'process':
        if (c.words.length < 2) { note(ctx, c, 'expected a process name'); return true; }
        set(o, k, c, c.words[1]);
        if (c.words.length > 2) o.args = c.words.slice(2);
        return true;
      case 'param_match': {
        const v = str(ctx, c);
        if (v === 'exact' || v === 'initial' || v === 'partial') set(o, k, c, v);
        else if (v !== undefined) note(ctx, c, `expected exact, initial or partial, got ${JSON.stringify(v)}`);
        return true;
      }
      case 'weight':
        setWeight(ctx, c, o);
        return true;
      case 'quorum': case 'quorum_max':
        set(o, k, c, num(ctx, c, { int: true, min: k === 'quorum' ? 1 : 0, max: 65535 }));
        return true;
      case 'delay': case 'fork_delay': case 'terminate_delay':
        set(o, k, c, num(ctx, c, { min: 0, max: 3600 }));
        return true;
      case 'full_command':
        set(o, k, c, bool(ctx, c));
        return true;
      default:
        return false;
    }
  });
}

function convertSyncGroup(ctx: Ctx, s: Stmt): Obj | undefined {
  return namedBlock(ctx, s, null, (c, k, o) => {
    if (STATE_NOTIFY.includes(k)) { set(o, k, c, notifyScript(ctx, c)); return true; }
    switch (k) {
      case 'group':
        set(o, k, c, new Flow(blockItems(ctx, c).flatMap((m) => m.words)));
        return true;
      case 'smtp_alert':
        set(o, k, c, bool(ctx, c));
        return true;
      default:
        return false;
    }
  });
}

const TIMING: Record<string, { int?: boolean; min: number; max: number }> = {
  connect_timeout: { min: 0.001, max: 3600 },
  retry: { int: true, min: 0, max: 1000 },
  nb_get_retry: { int: true, min: 0, max: 1000 },
  delay_before_retry: { min: 0, max: 3600 },
  delay_loop: { min: 0.001, max: 86400 },
};

/** connect_timeout, retry, delay_before_retry, delay_loop, warmup: on a virtual server, a real server or a check. */
function timing(ctx: Ctx, c: Stmt, o: Obj): boolean {
  const k = c.words[0]!;
  if (TIMING[k]) {
    // nb_get_retry is keepalived's old name for retry.
    set(o, k === 'nb_get_retry' ? 'retry' : k, c, num(ctx, c, TIMING[k]));
    return true;
  }
  if (k === 'warmup') { set(o, k, c, num(ctx, c, { min: 0, max: 86400 })); return true; }
  return false;
}

function ipWord(ctx: Ctx, c: Stmt): string | undefined {
  const ip = canonicalIp(c.words[1] ?? '');
  if (!ip) { note(ctx, c, `expected an IP address, got ${JSON.stringify(c.words[1] ?? '')}`); return undefined; }
  return ip.address;
}

const CHECKERS: Record<string, string> = {
  TCP_CHECK: 'tcp_check', HTTP_GET: 'http_get', SSL_GET: 'ssl_get', DNS_CHECK: 'dns_check',
  SMTP_CHECK: 'smtp_check', MISC_CHECK: 'misc_check', PING_CHECK: 'ping_check', UDP_CHECK: 'udp_check',
};

function convertCheck(ctx: Ctx, s: Stmt, kind: string, vsVirtualhost: string | undefined): Obj | undefined {
  const o: Obj = {};
  const http = kind === 'http_get' || kind === 'ssl_get';
  for (const c of s.block ?? []) {
    const k = c.words[0]!;
    if (timing(ctx, c, o)) continue;
    switch (true) {
      case kind !== 'misc_check' && (k === 'connect_ip' || k === 'bindto'):
        set(o, k, c, ipWord(ctx, c));
        break;
      case kind !== 'misc_check' && (k === 'connect_port' || k === 'bind_port'):
        set(o, k, c, num(ctx, c, { int: true, min: 1, max: 65535 }));
        break;
      case http && k === 'url': {
        const u: Obj = {};
        for (const p of blockItems(ctx, c)) {
          const uk = p.words[0]!;
          if (uk === 'path') set(u, uk, p, str(ctx, p));
          else if (uk === 'digest') set(u, uk, p, str(ctx, p)?.toLowerCase());
          else if (uk === 'virtualhost') set(u, uk, p, str(ctx, p));
          else if (uk === 'status_code') {
            const codes = p.words.slice(1).map((w) => (/^\d{3}$/.test(w) ? Number(w) : w));
            if (codes.length === 0 || codes.some((x) => typeof x === 'string' && !/^\d{3}-\d{3}$/.test(x))) note(ctx, p, `expected status codes or ranges, got ${p.words.slice(1).join(' ')}`);
            else set(u, uk, p, codes.length === 1 ? codes[0] : new Flow(codes));
          } else note(ctx, p, NO_EQUIVALENT);
        }
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

function lbKind(ctx: Ctx, c: Stmt): string | undefined {
  const v = str(ctx, c)?.toUpperCase();
  if (v === 'NAT' || v === 'DR' || v === 'TUN') return v;
  if (v !== undefined) note(ctx, c, `expected NAT, DR or TUN, got ${JSON.stringify(v)}`);
  return undefined;
}

function server(ctx: Ctx, s: Stmt, needPort: boolean): Obj | undefined {
  const ip = canonicalIp(s.words[1] ?? '');
  if (!ip) { note(ctx, s, `expected an IP address, got ${JSON.stringify(s.words[1] ?? '')}`); return undefined; }
  const o: Obj = { address: ip.address };
  const portText = s.words[2];
  if (portText !== undefined) {
    if (!/^\d+$/.test(portText) || Number(portText) > 65535) { note(ctx, s, `expected a port, got ${JSON.stringify(portText)}`); return undefined; }
    o.port = Number(portText);
  } else if (needPort) { note(ctx, s, 'expected <address> <port>'); return undefined; }
  if (s.words.length > 3) note(ctx, s, `extra words ignored: ${s.words.slice(3).join(' ')}`);
  return o;
}

function convertRealServer(ctx: Ctx, s: Stmt, vsVirtualhost: string | undefined): Obj | undefined {
  const o = server(ctx, s, false);
  if (!o) return undefined;
  for (const c of s.block ?? []) {
    const k = c.words[0]!;
    if (timing(ctx, c, o)) continue;
    if (CHECKERS[k]) {
      const check = convertCheck(ctx, c, CHECKERS[k]!, vsVirtualhost);
      // An empty block is keepalived's "every default" (`TCP_CHECK { }`): `- tcp_check: {}`.
      if (check) push(o, 'checks', c, { [CHECKERS[k]!]: check });
      continue;
    }
    switch (k) {
      case 'weight':
        set(o, k, c, num(ctx, c, { int: true, min: 0, max: 65535 }));
        break;
      case 'inhibit_on_failure': case 'smtp_alert':
        set(o, k, c, bool(ctx, c));
        break;
      case 'notify_up': case 'notify_down':
        set(o, k, c, notifyScript(ctx, c));
        break;
      case 'lb_kind': case 'lvs_method':
        set(o, 'lb_kind', c, lbKind(ctx, c));
        break;
      default:
        note(ctx, c, NO_EQUIVALENT);
    }
  }
  return o;
}

function convertVirtualServer(ctx: Ctx, s: Stmt): Obj | undefined {
  const o: Obj = {};
  if (s.words[1] === 'fwmark') {
    const mark = num(ctx, s, { int: true, min: 1, max: 0xffffffff, i: 2 });
    if (mark === undefined) return undefined;
    o.fwmark = mark;
  } else if (s.words[1] === 'group') {
    note(ctx, s, 'virtual_server group (virtual_server_group) is not supported: block not converted');
    return undefined;
  } else {
    const a = server(ctx, s, true);
    if (!a) return undefined;
    Object.assign(o, a);
  }
  const items = s.block ?? [];
  const vh = items.find((c) => c.words[0] === 'virtualhost');
  const vsVirtualhost = vh?.words[1];
  for (const c of items) {
    const k = c.words[0]!;
    if (timing(ctx, c, o)) continue;
    switch (k) {
      case 'lb_algo': case 'lvs_sched': {
        const v = str(ctx, c);
        if (v && (SCHEDULERS as readonly string[]).includes(v)) set(o, 'lb_algo', c, v);
        else if (v) note(ctx, c, `scheduler ${v} is not supported (${SCHEDULERS.join(' ')})`);
        break;
      }
      case 'lb_kind': case 'lvs_method':
        set(o, 'lb_kind', c, lbKind(ctx, c));
        break;
      case 'protocol': {
        const v = str(ctx, c)?.toUpperCase();
        if (v === 'TCP' || v === 'UDP' || v === 'SCTP') set(o, k, c, v); else if (v) note(ctx, c, `expected TCP, UDP or SCTP, got ${v}`);
        break;
      }
      case 'persistence_timeout':
        // keepalived: `persistence_timeout` with no value means 360 s (check_parser.c).
        set(o, k, c, c.words.length === 1 ? 360 : num(ctx, c, { int: true, min: 0, max: 86400 * 31 }));
        break;
      case 'persistence_granularity': {
        const v = str(ctx, c);
        if (v !== undefined) set(o, k, c, /^\d+$/.test(v) ? Number(v) : v);
        break;
      }
      case 'quorum': case 'hysteresis':
        set(o, k, c, num(ctx, c, { int: true, min: k === 'quorum' ? 1 : 0, max: 0x7fffffff }));
        break;
      case 'ip_family': {
        const v = str(ctx, c);
        if (v === 'inet' || v === 'inet6') set(o, k, c, v); else if (v) note(ctx, c, `expected inet or inet6, got ${v}`);
        break;
      }
      case 'ops': case 'alpha': case 'smtp_alert':
        set(o, k, c, bool(ctx, c));
        break;
      case 'quorum_up': case 'quorum_down':
        set(o, k, c, notifyScript(ctx, c));
        break;
      case 'virtualhost':
        // Applied to this virtual server's HTTP_GET / SSL_GET checks (convertCheck).
        break;
      case 'sorry_server': {
        const ss = server(ctx, c, false);
        if (ss) set(o, k, c, ss);
        break;
      }
      case 'sorry_server_inhibit': case 'sorry_server_lvs_method': {
        const ss = unwrap(o.sorry_server) as Obj | undefined;
        if (!ss) { note(ctx, c, 'must come after sorry_server'); break; }
        if (k === 'sorry_server_inhibit') { const b = bool(ctx, c); if (b !== undefined) ss.inhibit_on_failure = b; }
        else { const lk = lbKind(ctx, c); if (lk) ss.lb_kind = lk; }
        break;
      }
      case 'real_server':
        push(o, 'real_servers', c, convertRealServer(ctx, c, vsVirtualhost));
        break;
      default:
        note(ctx, c, NO_EQUIVALENT);
    }
  }
  return o;
}

/** The converted config, as plain data (with comment / flow markers), and what was not converted. */
export function convertStatements(statements: Stmt[], _source = ''): { value: Obj; unconverted: Unconverted[] } {
  const ctx: Ctx = { unconverted: [] };
  const global: Obj = {};
  const d: Defaults = { garp: {} };
  const out: Obj = {};
  // Globals first: vrrp_version and vrrp_garp_* apply to instances wherever they are written.
  for (const s of statements) if (s.words[0] === 'global_defs') convertGlobal(ctx, s, global, d);
  for (const s of statements) {
    const k = s.words[0]!;
    switch (k) {
      case 'global_defs':
        if (s.comments.length) out.global = new Commented(global, s.comments);
        break;
      case 'vrrp_instance':
        push(out, 'vrrp_instances', s, convertInstance(ctx, s, d));
        break;
      case 'vrrp_sync_group':
        push(out, 'vrrp_sync_groups', s, convertSyncGroup(ctx, s));
        break;
      case 'vrrp_script':
        push(out, 'vrrp_scripts', s, convertVrrpScript(ctx, s));
        break;
      case 'vrrp_track_file': case 'track_file':
        push(out, 'vrrp_track_files', s, convertTrackFile(ctx, s));
        break;
      case 'vrrp_track_process':
        push(out, 'vrrp_track_processes', s, convertTrackProcess(ctx, s));
        break;
      case 'virtual_server':
        push(out, 'virtual_servers', s, convertVirtualServer(ctx, s));
        break;
      default:
        note(ctx, s, s.block ? `${NO_EQUIVALENT}: block not converted` : NO_EQUIVALENT);
    }
  }
  if (Object.keys(global).length && out.global === undefined) out.global = global;
  // tandem's order: global first, then the rest in the order keepalived's sections appeared.
  const ordered: Obj = {};
  if (out.global !== undefined) ordered.global = out.global;
  for (const [k, v] of Object.entries(out)) if (k !== 'global') ordered[k] = v;
  ctx.unconverted.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { value: ordered, unconverted: ctx.unconverted };
}
