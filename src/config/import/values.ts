// Reading keepalived's values (numbers, booleans, scripts, addresses, weights) out of a statement's
// words the way keepalived's parsers read them, and storing them in the output with the
// statement's comments. A value that cannot be read is noted (notes.ts) and left out.
import { splitScriptString } from '../../process/argv.js';
import { canonicalIp } from '../../ip/address.js';
import { changed, note, type Ctx } from './notes.js';
import type { Stmt } from './parse.js';
import { Commented, Flow, type Obj } from './yamlWriter.js';

/** The value to store for a statement: with its comments when it has any. */
export function withComments(s: Stmt, v: unknown): unknown {
  return s.comments.length ? new Commented(v, s.comments) : v;
}

export function set(o: Obj, key: string, s: Stmt, v: unknown): void {
  if (v !== undefined) o[key] = withComments(s, v);
}

export function push(o: Obj, key: string, s: Stmt, v: unknown): void {
  if (v === undefined) return;
  const list = (o[key] ??= []) as unknown[];
  list.push(withComments(s, v));
}

/** Adds items to a one-line list at o[key] (keepalived appends a repeated block's entries). */
export function appendFlow(o: Obj, key: string, s: Stmt, items: unknown[]): void {
  const have = o[key];
  const flow = have instanceof Commented ? have.value : have;
  if (flow instanceof Flow) flow.items.push(...items);
  else set(o, key, s, new Flow(items));
}

/** Adds items to a block list at o[key]. */
export function appendList(o: Obj, key: string, s: Stmt, items: unknown[]): void {
  const have = o[key];
  const list = have instanceof Commented ? have.value : have;
  if (Array.isArray(list)) list.push(...items);
  else set(o, key, s, items);
}

/**
 * words[i] as a number in [min, max] (integer if asked), else listed and undefined. An integer is
 * judged on its digits, as keepalived's read_unsigned() does (strtoul, base 10, nothing after the
 * digits): `254.99999999999999` is not one, though Number() makes it 255.
 */
export function num(ctx: Ctx, s: Stmt, opts: { int?: boolean; min?: number; max?: number; i?: number } = {}): number | undefined {
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
export function bool(ctx: Ctx, s: Stmt): boolean | undefined {
  const w = s.words[1]?.toLowerCase();
  if (w === undefined) return true;
  if (w === 'true' || w === 'on' || w === 'yes') return true;
  if (w === 'false' || w === 'off' || w === 'no') return false;
  note(ctx, s, `expected true or false, got ${JSON.stringify(s.words[1])}`);
  return undefined;
}

export function str(ctx: Ctx, s: Stmt): string | undefined {
  if (s.words.length < 2) { note(ctx, s, 'expected a value'); return undefined; }
  if (s.words.length > 2) note(ctx, s, `extra words ignored: ${s.words.slice(2).join(' ')}`);
  return s.words[1];
}

/** A script and its arguments, as keepalived reads them: the rest of the line, quoted words kept whole. */
export function scriptText(s: Stmt, from = 1): string {
  const words = s.words.slice(from);
  if (words.length === 1) return words[0]!;
  return words.map((w, k) => (s.quoted[from + k] && /\s/.test(w) ? `'${w.replace(/'/g, `'\\''`)}'` : w)).join(' ');
}

/** notify_master "<script>" [user [group]]: the script must be one word (quoted when it has arguments). */
export function notifyScript(ctx: Ctx, s: Stmt): string | undefined {
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
export function weightWords(ctx: Ctx, s: Stmt, from: number): { weight?: number; reverse?: boolean } | undefined {
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

export function trackRef(ctx: Ctx, s: Stmt): unknown {
  const name = s.words[0]!;
  const ww = weightWords(ctx, s, 1);
  if (!ww) return undefined;
  return ww.weight === undefined && ww.reverse === undefined ? name : { name, ...ww };
}

/** Children of a block, or (for keywords that take one value on the line) the line itself. */
export function blockItems(ctx: Ctx, s: Stmt): Stmt[] {
  if (s.block) return s.block;
  note(ctx, s, 'expected a { } block');
  return [];
}

/** keepalived's `<address>[/<prefix>]`, canonical text. */
export function vipAddress(text: string): string | undefined {
  const [addr, len, ...rest] = text.split('/');
  const ip = addr ? canonicalIp(addr) : undefined;
  if (!ip || rest.length) return undefined;
  if (len === undefined) return ip.address;
  const max = ip.family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(len) || Number(len) > max) return undefined;
  return `${ip.address}/${len}`;
}

// The options of a virtual_ipaddress entry that tandem takes as keepalived writes them
// (config/vipOptions.ts): with a value, and flags.
const VIP_VALUE_OPTIONS = new Set(['dev', 'scope', 'brd', 'broadcast', 'label', 'peer', 'preferred_lft']);
const VIP_FLAGS = new Set(['no_track', 'home', '-nodad', 'noprefixroute', 'autojoin', 'mngtmpaddr']);

/**
 * virtual_ipaddress / virtual_ipaddress_excluded entries: keepalived's text, kept as text (tandem
 * reads the same options, config/vipOptions.ts). What keepalived itself drops is dropped with a
 * note saying so (vrrp_ipaddress.c alloc_ipaddress()); use_vmac (issue 16 §3) is not converted.
 */
export function vips(ctx: Ctx, s: Stmt, _iface: () => string | undefined): unknown[] {
  const out: unknown[] = [];
  for (const c of blockItems(ctx, s)) {
    const a = vipAddress(c.words[0]!);
    if (!a) { note(ctx, c, `not an address with optional /prefix (ranges are not supported)`, c.words[0]); continue; }
    const v6 = a.includes(':');
    const kept: string[] = [a];
    const ignored: string[] = [];
    const opts = c.words.slice(1);
    for (let i = 0; i < opts.length; i++) {
      const w = opts[i]!;
      if (VIP_FLAGS.has(w)) { kept.push(w); continue; }
      if (!VIP_VALUE_OPTIONS.has(w)) {
        if (w === 'use_vmac') ignored.push(w);
        else if (w === 'track_group') { changed(ctx, c, `track_group ${opts[i + 1] ?? ''}: keepalived takes it on static addresses only and ignores it here (vrrp_ipaddress.c alloc_ipaddress(): "Unknown configuration entry"), and so does the conversion`, c.words[0]); i++; }
        else changed(ctx, c, `${w}: keepalived ignores it (vrrp_ipaddress.c alloc_ipaddress(): "Unknown configuration entry '${w}' for ip address - ignoring"), and so does the conversion`, c.words[0]);
        continue;
      }
      const v = opts[i + 1];
      i++;
      if (v === undefined) { changed(ctx, c, `${w} has no value: keepalived skips the address ("No ${w} parameter specified"), and so does the conversion`, c.words[0]); kept.length = 0; break; }
      if (v6 && (w === 'label' || w === 'scope')) {
        changed(ctx, c, `${w} ${v}: keepalived ignores it on an IPv6 address (vrrp_ipaddress.c alloc_ipaddress(): "Cannot specify ${w} for IPv6 addresses"), and so does the conversion`, c.words[0]);
        continue;
      }
      kept.push(w, v);
    }
    if (ignored.length) note(ctx, c, `options ignored: ${ignored.join(' ')}; VMAC is not built yet (issue 16 §3)`, c.words[0]);
    if (kept.length) out.push(kept.join(' '));
  }
  return out;
}

/**
 * An address as keepalived reads it where it wants one address (unicast_src_ip, unicast_peer
 * entries, real and sorry servers): lib/utils.c inet_stosockaddr() cuts the text at the first '-'
 * or, without one, the first '/' ("remove range and mask stuff") before inet_pton(), so
 * `192.0.2.2/24` is the peer 192.0.2.2 and keepalived says nothing about the rest.
 */
export function inetAddress(text: string): { address: string; family: 4 | 6 } | undefined {
  const cut = text.indexOf('-') >= 0 ? text.indexOf('-') : text.indexOf('/');
  const ip = canonicalIp(cut >= 0 ? text.slice(0, cut) : text);
  return ip ? { address: ip.address, family: ip.family } : undefined;
}

/** words[1] as an IP address (canonical), else noted. */
export function ipWord(ctx: Ctx, c: Stmt): string | undefined {
  const ip = canonicalIp(c.words[1] ?? '');
  if (!ip) { note(ctx, c, `expected an IP address, got ${JSON.stringify(c.words[1] ?? '')}`); return undefined; }
  return ip.address;
}
