// virtual_server -> `virtual_servers[]`: the service (address and port, or fwmark), its scheduling
// and persistence, the sorry server and the real servers with their checks (checks.ts).
import { SCHEDULERS } from '../lbModel.js';
import { CHECKERS, convertChecks, timing, TIMING_KEYS, TIMING_SAME } from './checks.js';
import { groupEntryText, type VirtualServerGroup } from './groups.js';
import { changed, NO_EQUIVALENT, note, noteOnce, type Ctx } from './notes.js';
import type { Stmt } from './parse.js';
import { resolveRepeats, type RepeatRules } from './repeats.js';
import { bool, inetAddress, notifyScript, num, push, set, str, withComments } from './values.js';
import { Commented, unwrap, type Obj } from './yamlWriter.js';

/**
 * lb_kind / lvs_method as keepalived reads it: check_parser.c svr_forwarding_handler() compares
 * with strcmp() against "NAT", "DR" and "TUN", so `lb_kind dr` is no forwarding method at all:
 * keepalived warns ("unknown [dr] routing method") and ignores the line, and the server keeps
 * what it had (a real server: its virtual server's method; a virtual server: NAT, the default set
 * by check_data.c validate_check_config()). Converting `dr` to DR would run something keepalived
 * does not.
 */
function lbKind(ctx: Ctx, c: Stmt, before: unknown, fallback: string): string | undefined {
  const v = str(ctx, c);
  if (v === 'NAT' || v === 'DR' || v === 'TUN') return v;
  if (v !== undefined) {
    const runs = typeof before === 'string' ? `keeps ${before} from the line before` : `runs ${fallback}`;
    changed(ctx, c, `keepalived compares the method with strcmp: ${JSON.stringify(v)} is not NAT, DR or TUN; it ignores the line and the server ${runs}`);
  }
  return undefined;
}

/** The schedulers keepalived 2.2.7 accepts (check_parser.c lvs_schedulers[]), compared with strcmp. */
const KEEPALIVED_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'sh', 'mh', 'dh', 'fo', 'ovf', 'lblcr', 'sed', 'nq'];

function server(ctx: Ctx, s: Stmt, needPort: boolean): Obj | undefined {
  // check_data.c alloc_vs() / alloc_rs() / alloc_ssvr() read the address with inet_stosockaddr().
  const ip = inetAddress(s.words[1] ?? '');
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

const REAL_SERVER_KEYS = new Set([...TIMING_KEYS.filter((k) => k !== 'nb_get_retry'), 'weight', 'inhibit_on_failure', 'smtp_alert', 'notify_up', 'notify_down', 'lb_kind', 'lvs_method']);
const REAL_SERVER_REPEATS: RepeatRules = {
  first: {
    notify_up: 'check_parser.c notify_up_handler(): "notify_up script already specified - ignoring"',
    notify_down: 'check_parser.c notify_down_handler(): "notify_down script already specified - ignoring"',
  },
  same: { ...TIMING_SAME, lb_kind: 'lb_kind', lvs_method: 'lb_kind' },
  known: (k) => REAL_SERVER_KEYS.has(k),
};

const VIRTUAL_SERVER_KEYS = new Set([
  ...TIMING_KEYS.filter((k) => k !== 'nb_get_retry'), 'lb_algo', 'lvs_sched', 'lb_kind', 'lvs_method', 'protocol', 'persistence_timeout', 'persistence_granularity',
  'quorum', 'hysteresis', 'ip_family', 'ops', 'alpha', 'smtp_alert', 'quorum_up', 'quorum_down', 'virtualhost',
  'sorry_server', 'sorry_server_inhibit', 'sorry_server_lvs_method',
]);
const VIRTUAL_SERVER_REPEATS: RepeatRules = {
  first: {
    quorum_up: 'check_parser.c quorum_up_handler(): "quorum_up script already specified - ignoring"',
    quorum_down: 'check_parser.c quorum_down_handler(): "quorum_down script already specified - ignoring"',
  },
  same: { ...TIMING_SAME, lb_algo: 'lb_algo', lvs_sched: 'lb_algo', lb_kind: 'lb_kind', lvs_method: 'lb_kind' },
  known: (k) => VIRTUAL_SERVER_KEYS.has(k),
};

function convertRealServer(ctx: Ctx, s: Stmt, vsVirtualhost: string | undefined): Obj | undefined {
  const o = server(ctx, s, false);
  if (!o) return undefined;
  for (const c of resolveRepeats(ctx, s.block ?? [], REAL_SERVER_REPEATS)) {
    const k = c.words[0]!;
    if (timing(ctx, c, o)) continue;
    if (CHECKERS[k]) {
      // An empty block is keepalived's "every default" (`TCP_CHECK { }`): `- tcp_check: {}`.
      for (const check of convertChecks(ctx, c, CHECKERS[k]!, vsVirtualhost)) push(o, 'checks', c, { [CHECKERS[k]!]: check });
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
        set(o, 'lb_kind', c, lbKind(ctx, c, unwrap(o.lb_kind), "its virtual server's method"));
        break;
      default:
        note(ctx, c, NO_EQUIVALENT);
    }
  }
  return o;
}

/**
 * A virtual_server block -> what it stands for in `virtual_servers:` (ready to write, comments
 * included): one virtual server, or one per service of its virtual_server_group (groups.ts).
 */
export function convertVirtualServer(
  ctx: Ctx, s: Stmt, groups: ReadonlyMap<string, VirtualServerGroup>,
  /** The groups the converted blocks use, by name, as `virtual_server_groups` entries. */
  usedGroups: Map<string, unknown> = new Map(),
): unknown[] {
  if (s.words[1] === 'group') return convertGroupServer(ctx, s, groups, usedGroups);
  const o: Obj = {};
  if (s.words[1] === 'fwmark') {
    const mark = num(ctx, s, { int: true, min: 1, max: 0xffffffff, i: 2 });
    if (mark === undefined) return [];
    o.fwmark = mark;
  } else {
    const a = server(ctx, s, true);
    if (!a) return [];
    Object.assign(o, a);
  }
  const vs = convertBody(ctx, s, o, o.fwmark === undefined);
  return vs ? [withComments(s, vs)] : [];
}

/**
 * `virtual_server group NAME { ... }`: `group: NAME` with the block's settings and real servers,
 * as keepalived's one block for every service of the group (config/virtualServerGroups.ts); the
 * group itself goes to `virtual_server_groups` (once, when a block first uses it).
 */
function convertGroupServer(ctx: Ctx, s: Stmt, groups: ReadonlyMap<string, VirtualServerGroup>, used: Map<string, unknown>): unknown[] {
  const name = s.words[2];
  const group = name !== undefined ? groups.get(name) : undefined;
  if (!group) {
    note(ctx, s, `no virtual_server_group is named ${name ?? '(none)'}${name !== undefined ? ' (or keepalived removed it)' : ''}: block not converted`);
    return [];
  }
  if (group.services.length === 0) {
    note(ctx, s, `virtual_server_group ${group.name} has no service tandem can convert: block not converted`);
    return [];
  }
  const vs = convertBody(ctx, s, { group: group.name }, group.services.some((g) => g.kind === 'inet'));
  if (!vs) return [];
  // A mark selects packets of every protocol: keepalived ignores a protocol for it.
  if (group.services.every((g) => g.kind === 'fwmark')) delete vs.protocol;
  for (const port of new Set(group.services.flatMap((g) => (g.kind === 'inet' ? [g.port] : [])))) portsForDirectRouting(ctx, vs, port, s);
  if (!used.has(group.name)) used.set(group.name, groupEntries(group));
  return [withComments(s, vs)];
}

/** A group as `virtual_server_groups` writes it: keepalived's entry text, one per entry that
 *  converted (groups.ts dropped the others with a note). */
function groupEntries(group: VirtualServerGroup): unknown {
  const entries = [...new Set(group.services.map((g) => g.entry))];
  return new Commented({ name: group.name, members: entries.map(groupEntryText) }, group.stmt.comments);
}

/**
 * DR and TUN cannot change the port: the kernel forwards to the service's port whatever the real
 * server's says. keepalived warns about a real server port that differs from a group entry's
 * ("virtual server %s:[%s] and real server %s ports don't match", check_data.c
 * validate_check_config()) and its checkers keep the real server's port (they were set up from
 * it). So the port is left out of the real server (tandem then uses the service's) and given to
 * its checks that have no connect_port.
 */
function portsForDirectRouting(ctx: Ctx, vs: Obj, port: number, s: Stmt): void {
  const vsKind = unwrap(vs.lb_kind) ?? 'NAT';
  const servers = Array.isArray(vs.real_servers) ? vs.real_servers : [];
  for (const item of servers) {
    const rs = unwrap(item) as Obj;
    const kind = unwrap(rs.lb_kind) ?? vsKind;
    const rsPort = unwrap(rs.port);
    if (kind === 'NAT' || typeof rsPort !== 'number' || rsPort === port) continue;
    delete rs.port;
    for (const c of Array.isArray(rs.checks) ? rs.checks : []) {
      const [kindName, check] = Object.entries(unwrap(c) as Obj)[0] ?? [];
      if (!kindName || kindName === 'misc_check' || kindName === 'ping_check') continue;
      const inner = unwrap(check) as Obj;
      if (inner.connect_port === undefined) inner.connect_port = rsPort;
    }
    noteOnce(ctx, `ports ${s.file}:${s.line} ${String(rs.address)}:${rsPort} ${port}`, s,
      `real server ${String(rs.address)} port ${rsPort} with ${String(kind)} in the services of port ${port}: keepalived warns "ports don't match" (check_data.c validate_check_config) and the kernel forwards to port ${port}; converted without the real server's port, its checks still on port ${rsPort}`);
  }
}

/**
 * The settings and real servers of a virtual_server block into `o`, or undefined (noted) when
 * keepalived would not run it. `byAddress`: a service given by address (not only by marks),
 * which is UDP unless it says otherwise.
 */
function convertBody(ctx: Ctx, s: Stmt, o: Obj, byAddress: boolean): Obj | undefined {
  const items = resolveRepeats(ctx, s.block ?? [], VIRTUAL_SERVER_REPEATS);
  const vh = items.find((c) => c.words[0] === 'virtualhost');
  const vsVirtualhost = vh?.words[1];
  /** address:port of each real server so far: check_data.c validate_check_config() removes a repeated one. */
  const realServers = new Map<string, Stmt>();
  for (const c of items) {
    const k = c.words[0]!;
    if (timing(ctx, c, o)) continue;
    switch (k) {
      case 'lb_algo': case 'lvs_sched': {
        // check_parser.c lbalgo_handler(): strcmp() against lvs_schedulers[]; anything else is
        // "Invalid lvs_scheduler '%s' - ignoring", and check_data.c validate_check_config() then
        // sets the default, wlc (`lb_algo WRR` runs wlc, not wrr).
        const v = str(ctx, c);
        if (v === undefined) break;
        if (KEEPALIVED_SCHEDULERS.includes(v) && (SCHEDULERS as readonly string[]).includes(v)) set(o, 'lb_algo', c, v);
        else changed(ctx, c, `keepalived accepts only ${KEEPALIVED_SCHEDULERS.join(' ')} (compared with strcmp): it ignores ${JSON.stringify(v)} and the service runs with ${unwrap(o.lb_algo) ?? 'wlc, the default'}`);
        break;
      }
      case 'lb_kind': case 'lvs_method':
        set(o, 'lb_kind', c, lbKind(ctx, c, unwrap(o.lb_kind), 'NAT, the default'));
        break;
      case 'protocol': {
        // check_parser.c proto_handler(): strcasecmp() with TCP, UDP, SCTP; anything else is
        // "Unknown protocol %s - ignoring".
        const v = str(ctx, c)?.toUpperCase();
        if (v === 'TCP' || v === 'UDP' || v === 'SCTP') set(o, k, c, v); else if (v) note(ctx, c, `keepalived ignores an unknown protocol: expected TCP, UDP or SCTP, got ${v}`);
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
        // Applied to this virtual server's HTTP_GET / SSL_GET checks (checks.ts).
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
        else { const lk = lbKind(ctx, c, ss.lb_kind, "its virtual server's method"); if (lk) ss.lb_kind = lk; }
        break;
      }
      case 'real_server': {
        const rs = convertRealServer(ctx, c, vsVirtualhost);
        if (!rs) break;
        const key = `${String(rs.address)} ${String(rs.port ?? '')}`;
        const before = realServers.get(key);
        if (before) {
          changed(ctx, c, `the same real server as line ${before.line}: keepalived keeps the first one and removes this one (check_data.c validate_check_config: "real server %s is duplicated - removing second rs"), and so does the conversion`);
          break;
        }
        realServers.set(key, c);
        push(o, 'real_servers', c, rs);
        break;
      }
      default:
        note(ctx, c, NO_EQUIVALENT);
    }
  }
  if (!Array.isArray(o.real_servers) || o.real_servers.length === 0) {
    // check_data.c validate_check_config(): "Virtual server %s has no real servers - ignoring"
    // (a sorry server does not count). An IPVS service with no destination would refuse the
    // traffic that keepalived leaves to the director itself.
    changed(ctx, s, 'has no real_server: keepalived ignores the virtual server (check_data.c validate_check_config: "Virtual server %s has no real servers - ignoring"), and so does the conversion');
    return undefined;
  }
  if (byAddress && o.protocol === undefined) {
    // check_data.c validate_check_config(): a service given by address and no protocol is UDP
    // ("no protocol set - defaulting to UDP": the kernel's protocol 0 would be UDP anyway).
    // tandem's default is TCP, so the protocol is written out, after the port (first in a
    // group's settings, which follow the address and port of each service).
    changed(ctx, s, 'has no protocol: keepalived runs it as UDP (check_data.c validate_check_config: "no protocol set - defaulting to UDP"), not TCP: converted as protocol: UDP');
    return o.port !== undefined ? withKeyAfter(o, 'port', 'protocol', 'UDP') : { protocol: 'UDP', ...o };
  }
  return o;
}

/** o with `key: value` placed right after `after` (the output keeps the order of keys). */
function withKeyAfter(o: Obj, after: string, key: string, value: unknown): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    out[k] = v;
    if (k === after) out[key] = value;
  }
  if (!(key in out)) out[key] = value;
  return out;
}
