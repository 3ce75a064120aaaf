// vrrp_instance -> `vrrp_instances[]`: the keywords that are plain renames, the ones keepalived
// reads in its own way (nopreempt, auth_pass cut to 8 characters, notify scripts with a user),
// and the global defaults (global.ts Defaults) that keepalived applies to every instance.
import { completeInstance, type SetBy } from './completion.js';
import type { Defaults } from './global.js';
import { changed, NO_EQUIVALENT, note, type Ctx } from './notes.js';
import type { Stmt } from './parse.js';
import { resolveRepeats, type RepeatRules } from './repeats.js';
import { convertVmacKeyword, VMAC_KEYS } from './vmac.js';
import { routeLines } from './routes.js';
import {
  appendFlow, appendList, blockItems, bool, inetAddress, notifyScript, num, set, str, trackRef, vips, weightWords, withComments,
} from './values.js';
import { Commented, Flow, unwrap, type Obj } from './yamlWriter.js';

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

export const STATE_NOTIFY = ['notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify'];

const INSTANCE_KEYS = new Set([
  ...Object.keys(INSTANCE_NUMBERS), ...STATE_NOTIFY, 'interface', 'nopreempt', 'preempt', 'unicast_src_ip',
  'unicast_peer', 'authentication', 'virtual_ipaddress', 'virtual_ipaddress_excluded', 'track_interface',
  'track_script', 'track_file', 'track_process', 'smtp_alert', 'strict_mode', 'virtual_routes', 'virtual_rules', ...VMAC_KEYS,
]);

const INSTANCE_REPEATS: RepeatRules = {
  first: Object.fromEntries(STATE_NOTIFY.map((k) => [k, `vrrp_parser.c vrrp_${k}_handler(): "${k} script already specified - ignoring"`])),
  // alloc_value_block() appends a repeated block's entries; authentication blocks merge.
  accumulate: ['unicast_peer', 'authentication', 'virtual_ipaddress', 'virtual_ipaddress_excluded', 'track_interface', 'track_script', 'track_file', 'track_process', 'virtual_routes', 'virtual_rules'],
  same: { nopreempt: 'preempt', preempt: 'preempt' },
  known: (k) => INSTANCE_KEYS.has(k),
};

export function convertInstance(ctx: Ctx, s: Stmt, d: Defaults, known: KnownTrackers): Obj | undefined {
  const name = s.words[1];
  if (!name || s.words.length > 2) { note(ctx, s, 'expected vrrp_instance <name> { ... }'); return undefined; }
  const o: Obj = { name };
  const iface = () => o.interface instanceof Commented ? String(o.interface.value) : (o.interface as string | undefined);
  const st: InstanceState = { known, tracked: {}, authStmts: [], iface, state: { master: undefined, stmt: undefined }, strict: undefined };
  /** Which statement set each output key last (for notes that undo it). */
  const setBy: SetBy = new Map();
  for (const c of resolveRepeats(ctx, blockItems(ctx, s), INSTANCE_REPEATS)) {
    const k = c.words[0]!;
    const outKey = k === 'nopreempt' ? 'preempt' : k;
    const before = o[outKey];
    convertInstanceKeyword(ctx, c, k, o, st);
    if (o[outKey] !== before) setBy.set(outKey, c);
  }
  const authStmt = convertAuthentication(ctx, st.authStmts, o);
  if (authStmt) setBy.set('authentication', authStmt);
  // vrrp.c vrrp_complete_instance(): the instance's strict_mode, else global vrrp_strict.
  const strict = st.strict ? (st.strict.on ? st.strict.stmt : undefined) : d.strict;
  completeInstance(ctx, o, setBy, strict);
  // Globals that keepalived applies to every instance.
  for (const [key, v] of Object.entries(d.garp)) if (o[key] === undefined) o[key] = v;
  const family = firstVipFamily(o);
  if (o.version === undefined && d.version === 3 && family === 4) o.version = 3;
  if (strict && family === 6 && unwrap(o.version) === 2) {
    changed(ctx, setBy.get('version')!, 'strict mode: keepalived runs IPv6 as VRRP version 3 (vrrp.c vrrp_complete_instance: "cannot use IPv6 with VRRP version 2; setting version 3")');
    o.version = 3;
  }
  const version = unwrap(o.version) ?? (family === 6 ? 3 : 2);
  if (version === 3 && o.authentication !== undefined && authStmt) {
    note(ctx, authStmt, 'VRRPv3 has no authentication (RFC 5798 §9; keepalived ignores it too): dropped');
    delete o.authentication;
  }
  // An instance without VIPs converts as it is: tandem runs it as keepalived does (a VRRPv2 IPv4
  // instance; VRRPv3 and IPv6 need one, and the loader says so: config/build.ts).
  if (o.interface === undefined) note(ctx, s, 'has no interface: tandem needs one');
  return o;
}

/** The trackers each converted file defines, by output section: an instance may track only those. */
export type KnownTrackers = Record<'vrrp_scripts' | 'vrrp_track_files' | 'vrrp_track_processes', ReadonlySet<string>>;

const TRACKED: Record<string, { section: keyof KnownTrackers; block: string; fn: string; word: string }> = {
  track_script: { section: 'vrrp_scripts', block: 'vrrp_script', fn: 'alloc_track_script', word: 'track script' },
  track_file: { section: 'vrrp_track_files', block: 'vrrp_track_file', fn: 'alloc_track_file', word: 'track file' },
  track_process: { section: 'vrrp_track_processes', block: 'vrrp_track_process', fn: 'alloc_track_process', word: 'track process' },
};

interface InstanceState {
  known: KnownTrackers;
  /** The trackers named so far, by keyword. */
  tracked: Record<string, Set<string>>;
  authStmts: Stmt[];
  iface: () => string | undefined;
  /** The `state MASTER` line once there is one (vrrp_parser.c vrrp_state_handler then ignores BACKUP), and the last state line. */
  state: { master: Stmt | undefined; stmt: Stmt | undefined };
  /** The instance's own strict_mode line, if any (vrrp_parser.c vrrp_strict_mode_handler). */
  strict: { stmt: Stmt; on: boolean } | undefined;
}

/** One statement of a vrrp_instance block. */
function convertInstanceKeyword(ctx: Ctx, c: Stmt, k: string, o: Obj, st: InstanceState): void {
  const { authStmts, iface } = st;
  if (INSTANCE_NUMBERS[k]) { set(o, k, c, num(ctx, c, INSTANCE_NUMBERS[k])); return; }
  if (STATE_NOTIFY.includes(k)) { set(o, k, c, notifyScript(ctx, c)); return; }
  if (convertVmacKeyword(ctx, c, k, o)) return;
  switch (k) {
    case 'state': {
      const v = str(ctx, c);
      if (v === 'MASTER') {
        if (st.state.stmt) changed(ctx, st.state.stmt, `given again at line ${c.line}: keepalived uses the last value it accepts, and so does the conversion`);
        st.state.master = st.state.stmt = c;
        set(o, k, c, v);
      } else if (st.state.master) {
        changed(ctx, c, `keepalived keeps MASTER from line ${st.state.master.line} and ignores BACKUP after it (vrrp_parser.c vrrp_state_handler: "state previously set as MASTER - ignoring BACKUP"), and so does the conversion`);
      } else if (v === 'BACKUP') {
        if (st.state.stmt) changed(ctx, st.state.stmt, `given again at line ${c.line}: keepalived uses the last value it accepts, and so does the conversion`);
        st.state.stmt = c;
        set(o, k, c, v);
      } else if (v !== undefined) note(ctx, c, `expected MASTER or BACKUP, got ${JSON.stringify(v)}`);
      break;
    }
    case 'interface':
      set(o, k, c, str(ctx, c));
      break;
    case 'skip_check_adv_addr':
      // vrrp_parser.c vrrp_skip_check_adv_addr_handler(): tandem accepts a differing address
      // list anyway (src/vrrp/validate.ts), so this converts to tandem's default.
      break;
    case 'nopreempt':
      set(o, 'preempt', c, false);
      break;
    case 'preempt':
      set(o, 'preempt', c, bool(ctx, c));
      break;
    case 'unicast_src_ip': {
      // vrrp_parser.c vrrp_srcip_handler() reads it with inet_stosockaddr(): a prefix is ignored.
      const ip = inetAddress(c.words[1] ?? '');
      if (ip) set(o, k, c, ip.address); else note(ctx, c, 'expected an IP address');
      break;
    }
    case 'unicast_peer': {
      const peers: unknown[] = [];
      for (const p of blockItems(ctx, c)) {
        // vrrp_data.c alloc_vrrp_unicast_peer() reads it with inet_stosockaddr(): `192.0.2.2/24`
        // is the peer 192.0.2.2. Dropping such a peer made a unicast instance multicast.
        const ip = inetAddress(p.words[0]!);
        if (!ip) { note(ctx, p, 'expected an IP address', p.words[0]); continue; }
        if (p.words.length > 1) note(ctx, p, `options ignored: ${p.words.slice(1).join(' ')}`, p.words[0]);
        peers.push(ip.address);
      }
      appendFlow(o, 'unicast_peers', c, peers);
      break;
    }
    case 'authentication':
      authStmts.push(c);
      // Keeps the key's place in the output; convertAuthentication() fills it in.
      if (!('authentication' in o)) o.authentication = undefined;
      break;
    case 'virtual_ipaddress':
      appendFlow(o, 'virtual_ipaddresses', c, vips(ctx, c, iface));
      break;
    case 'virtual_ipaddress_excluded':
      appendFlow(o, 'virtual_ipaddresses_excluded', c, vips(ctx, c, iface));
      break;
    case 'virtual_routes':
      appendList(o, 'virtual_routes', c, routeLines(ctx, c, 'route'));
      break;
    case 'virtual_rules':
      appendList(o, 'virtual_rules', c, routeLines(ctx, c, 'rule'));
      break;
    case 'track_interface': {
      const list: unknown[] = [];
      for (const t of blockItems(ctx, c)) {
        const ww = weightWords(ctx, t, 1);
        if (!ww) continue;
        if (ww.reverse) note(ctx, t, 'reverse is not supported for track_interface', t.words[0]);
        list.push(withComments(t, ww.weight ? { interface: t.words[0], weight: ww.weight } : t.words[0]));
      }
      appendList(o, 'track_interfaces', c, list);
      break;
    }
    case 'track_script': case 'track_file': case 'track_process': {
      const what = TRACKED[k]!;
      const seen = (st.tracked[k] ??= new Set());
      const list: unknown[] = [];
      for (const t of blockItems(ctx, c)) {
        const name = t.words[0]!;
        // vrrp_track.c alloc_track_script() (and alloc_track_file(), alloc_track_process()):
        // "track script %s not found, ignoring..." and "duplicate track_script %s - ignoring".
        if (!st.known[what.section].has(name)) {
          changed(ctx, t, `${name}: no ${what.block} is named so: keepalived ignores the entry (vrrp_track.c ${what.fn}: "${what.word} ${name} not found, ignoring..."), and so does the conversion`, k);
          continue;
        }
        if (seen.has(name)) {
          changed(ctx, t, `${name} is tracked already: keepalived ignores the repetition (vrrp_track.c ${what.fn}: "duplicate ${k} ${name} - ignoring"), and so does the conversion`, k);
          continue;
        }
        seen.add(name);
        const ref = trackRef(ctx, t);
        if (ref !== undefined) list.push(ref);
      }
      appendList(o, what.section === 'vrrp_scripts' ? 'track_scripts' : what.section === 'vrrp_track_files' ? 'track_files' : 'track_processes', c, list);
      break;
    }
    case 'smtp_alert':
      set(o, k, c, bool(ctx, c));
      break;
    case 'strict_mode': {
      const on = bool(ctx, c);
      if (on !== undefined) st.strict = { stmt: c, on };
      break;
    }
    default:
      note(ctx, c, NO_EQUIVALENT);
  }
}

/**
 * Every authentication block of the instance, as one (keepalived's auth_type and auth_pass
 * handlers just assign: a second block or line replaces what it sets). Sets o.authentication and
 * returns the block it is written for, or notes why there is none.
 */
function convertAuthentication(ctx: Ctx, blocks: Stmt[], o: Obj): Stmt | undefined {
  if (blocks.length === 0) return undefined;
  const items = resolveRepeats(ctx, blocks.flatMap((b) => blockItems(ctx, b)), { known: (k) => k === 'auth_type' || k === 'auth_pass' });
  const a: Obj = {};
  let ok = true;
  for (const p of items) {
    if (p.words[0] === 'auth_type') {
      if (p.words[1] !== 'PASS') { note(ctx, p, `${p.words[1] ?? '?'} is not supported (only PASS: RFC 3768 removed AH)`); ok = false; } else a.auth_type = 'PASS';
    } else if (p.words[0] === 'auth_pass') {
      // keepalived (vrrp_parser.c vrrp_auth_pass_handler) reads the first word after the
      // keyword and keeps its first 8 characters; with no word it refuses the line
      // ("missing a parameter after keyword `auth_pass`").
      if (p.words.length < 2) { note(ctx, p, 'expected a password: the authentication block is not converted'); ok = false; continue; }
      let pass = p.words[1]!;
      if (pass.length > 8) { changed(ctx, p, 'longer than 8 characters: cut to 8, as keepalived does'); pass = pass.slice(0, 8); }
      if (p.words.length > 2) note(ctx, p, `only the first word is the password, as in keepalived; ignored: ${p.words.slice(2).join(' ')}`);
      a.auth_pass = pass;
    } else note(ctx, p, NO_EQUIVALENT);
  }
  const first = blocks[0]!;
  if (ok && a.auth_type && a.auth_pass) { set(o, 'authentication', first, a); return first; }
  if (ok) note(ctx, first, `has no ${a.auth_type ? 'auth_pass' : 'auth_type'}: not converted`);
  return undefined;
}

function firstVipFamily(o: Obj): 4 | 6 | undefined {
  const list = unwrap(o.virtual_ipaddresses);
  const first = list instanceof Flow ? list.items[0] : undefined;
  return typeof first === 'string' ? (first.split(' ')[0]!.includes(':') ? 6 : 4) : undefined;
}
