// keepalived.conf -> tandem YAML (`tandem import`, issue 5 §4, issue 13 §1). convertStatements()
// is pure over the statement tree that parse.ts reads: each keepalived keyword either becomes its
// snake_case tandem key (the config reference in README.md), or is converted to what keepalived
// runs when that is not what its text says, or is listed as not converted; both of the latter are
// notes (notes.ts) with their file:line, so nothing is dropped or changed silently. Comment lines
// above a keepalived statement become YAML comments above the key or list item it turned into.
//
// One module per concept: global.ts (global_defs), instance.ts (vrrp_instance) and
// completion.ts (what keepalived's vrrp_complete_instance() then settles: priority, state,
// preemption, strict mode), trackers.ts (vrrp_script, vrrp_track_file, vrrp_track_process),
// syncGroups.ts, virtualServers.ts and checks.ts (virtual_server, real_server, the checkers),
// groups.ts (virtual_server_group), routes.ts (virtual_routes / virtual_rules and the static_*
// blocks), repeats.ts (a keyword given twice), values.ts (reading
// keepalived's values), notes.ts and yamlWriter.ts (the output). This file puts them together, in
// the order references need: trackers before the instances that track them, instances before
// the sync groups that hold them, groups before the virtual servers that name them.
//
// Smaller rules (keepalived.conf(5) / keepalived 2.2 parsers):
// - `nopreempt` -> preempt: false; `inhibit_on_failure`, `smtp_alert`, ... with no value -> true;
// - a `notify*` script's extra words are the user/group to run it as (vrrp_parser.c): tandem has
//   one script_user for all, so they are listed;
// - global `vrrp_version` and `vrrp_garp_*` are defaults for every instance: written per instance;
// - `auth_pass` longer than 8 characters is cut to 8, as keepalived does (with a warning there too);
// - a virtual server's `virtualhost` is the default for its HTTP_GET / SSL_GET checks.
import { hostname } from 'node:os';
import { convertGlobal, type Defaults } from './global.js';
import { convertInstance, type KnownTrackers } from './instance.js';
import { NO_EQUIVALENT, note, type Ctx, type Unconverted } from './notes.js';
import { parseKeepalivedFile, type ParseError, type Stmt } from './parse.js';
import { convertSyncGroup } from './syncGroups.js';
import { convertTrackFile, convertTrackProcess, convertVrrpScript } from './trackers.js';
import { keepalivedRulePriorities, routeLines } from './routes.js';
import { appendList, push } from './values.js';
import { parseVirtualServerGroup, type VirtualServerGroup } from './groups.js';
import { convertVirtualServer } from './virtualServers.js';
import { Commented, renderYaml, unwrap, type Obj } from './yamlWriter.js';

export { formatUnconverted, noteLine, type NoteKind, type Unconverted } from './notes.js';

export type ImportResult =
  | { ok: true; yaml: string; unconverted: Unconverted[] }
  | { ok: false; error: ParseError };

/** What an import may be told (`tandem import` options). */
export interface ImportOptions {
  /** The config id `@ID` lines are read for (keepalived -i); default: this host's, as keepalived's. */
  configId?: string;
}

/** keepalived's default config id (core/main.c): the node name up to its first dot. */
export function defaultConfigId(): string {
  return hostname().split('.')[0]!;
}

/** Reads a keepalived.conf (and its includes) and converts it. */
export function importKeepalived(path: string, opts: ImportOptions = {}): ImportResult {
  const configId = opts.configId ?? defaultConfigId();
  const parsed = parseKeepalivedFile(path, { configId });
  if (!parsed.ok) return parsed;
  const r = convertStatements(parsed.statements, path);
  const unconverted: Unconverted[] = [
    ...parsed.notes.map((n) => ({ file: n.file, line: n.line, keyword: 'include', reason: n.message, kind: 'not-converted' as const })),
    ...r.unconverted,
  ];
  const head: string[] = [];
  const first = parsed.conditionals[0];
  if (first) {
    head.push(`Conditional lines (@ID, @^ID) read for config id ${configId}${opts.configId === undefined ? ' (this host\'s name: keepalived\'s default)' : ''}.`);
    // Converted on another machine than the director, the default id picks the wrong lines: say
    // so unless the id was given.
    if (opts.configId === undefined) {
      unconverted.push({
        file: first.file, line: first.line, keyword: 'config id', kind: 'changed',
        reason: `the file has conditional lines (@ID / @^ID): they were read for config id ${JSON.stringify(configId)}, this host's name up to its first dot, as keepalived defaults (core/main.c); give --config-id to convert for another director`,
      });
      unconverted.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
    }
  }
  return { ok: true, yaml: renderYaml(r.value, path, unconverted, head), unconverted };
}

/** The top-level blocks that become lists of `global:`, with what each line is. */
const STATICS: Record<string, 'address' | 'route' | 'rule'> = { static_ipaddress: 'address', static_routes: 'route', static_rules: 'rule' };

/** The output section each top-level keyword converts into. */
const SECTIONS: Record<string, string> = {
  vrrp_instance: 'vrrp_instances', vrrp_sync_group: 'vrrp_sync_groups', vrrp_script: 'vrrp_scripts',
  vrrp_track_file: 'vrrp_track_files', track_file: 'vrrp_track_files', vrrp_track_process: 'vrrp_track_processes',
  virtual_server: 'virtual_servers',
  // The groups that converted virtual servers name (virtualServers.ts convertGroupServer()).
  virtual_server_group: 'virtual_server_groups',
};

/**
 * A second block with the name of an earlier one: keepalived skips a repeated vrrp_instance or
 * vrrp_sync_group with a warning (vrrp_parser.c vrrp_handler(): "vrrp instance %s already
 * defined"; vrrp_sync_group_handler(): "vrrp sync group %s already defined") and finds trackers
 * by name from the start of its list (vrrp_track.c find_script_by_name() and friends), so the
 * first block of a name is the one that runs.
 */
const REPEATED_NAME: Record<string, string> = {
  vrrp_instance: 'vrrp_parser.c vrrp_handler(): "vrrp instance %s already defined" - the block is skipped',
  vrrp_sync_group: 'vrrp_parser.c vrrp_sync_group_handler(): "vrrp sync group %s already defined" - the block is skipped',
  vrrp_script: 'vrrp_track.c find_script_by_name() finds the first one',
  vrrp_track_file: 'trackers are found by name, the first one first',
  track_file: 'trackers are found by name, the first one first',
  vrrp_track_process: 'trackers are found by name, the first one first',
  virtual_server_group: 'check/ipvswrapper.c ipvs_get_group_by_name() finds the first one',
};

/** The converted config, as plain data (with comment / flow markers), and what was not converted. */
export function convertStatements(statements: Stmt[], _source = ''): { value: Obj; unconverted: Unconverted[] } {
  const ctx: Ctx = { unconverted: [], rulePriorities: keepalivedRulePriorities(statements) };
  const global: Obj = {};
  const d: Defaults = { garp: {} };
  // Globals first: vrrp_version and vrrp_garp_* apply to instances wherever they are written.
  const globals = statements.filter((s) => s.words[0] === 'global_defs');
  convertGlobal(ctx, globals, global, d);
  // static_ipaddress / static_routes / static_rules are top-level blocks in keepalived and keys
  // of `global:` here (several blocks of one kind add up, as keepalived's alloc_value_block()).
  for (const s of statements) {
    const key = STATICS[s.words[0]!];
    if (key) appendList(global, s.words[0]!, s, routeLines(ctx, s, key));
  }
  const withComment = globals.find((s) => s.comments.length);

  // The blocks to convert, by kind, in file order; a repeated name is dropped here.
  const byKind = new Map<string, Stmt[]>();
  const firstSection = new Map<string, number>();
  const names = new Map<string, Stmt>();
  statements.forEach((s, i) => {
    const k = s.words[0]!;
    if (k === 'global_defs' || STATICS[k]) return;
    const section = SECTIONS[k];
    if (!section) { note(ctx, s, s.block ? `${NO_EQUIVALENT}: block not converted` : NO_EQUIVALENT); return; }
    const repeated = REPEATED_NAME[k];
    if (repeated !== undefined && s.words[1] !== undefined) {
      const key = `${section} ${s.words[1]}`;
      const before = names.get(key);
      if (before) {
        note(ctx, s, `${s.words[1]} is defined already at ${before.file === s.file ? '' : `${before.file}:`}line ${before.line}: keepalived uses that one (${repeated}): block not converted`);
        return;
      }
      names.set(key, s);
    }
    if (!firstSection.has(section)) firstSection.set(section, i);
    const list = byKind.get(section) ?? [];
    list.push(s);
    byKind.set(section, list);
  });
  const blocks = (section: string) => byKind.get(section) ?? [];

  const out: Obj = {};
  for (const s of blocks('vrrp_scripts')) push(out, 'vrrp_scripts', s, convertVrrpScript(ctx, s));
  for (const s of blocks('vrrp_track_files')) push(out, 'vrrp_track_files', s, convertTrackFile(ctx, s));
  for (const s of blocks('vrrp_track_processes')) push(out, 'vrrp_track_processes', s, convertTrackProcess(ctx, s));
  // Instances may track only the trackers that were converted; groups may hold only the
  // instances that were (keepalived drops the other references with a warning).
  const namesOf = (section: string) => new Set(((out[section] ?? []) as unknown[]).map((v) => String((unwrap(v) as Obj).name)));
  const known: KnownTrackers = { vrrp_scripts: namesOf('vrrp_scripts'), vrrp_track_files: namesOf('vrrp_track_files'), vrrp_track_processes: namesOf('vrrp_track_processes') };
  for (const s of blocks('vrrp_instances')) push(out, 'vrrp_instances', s, convertInstance(ctx, s, d, known));
  const instances = namesOf('vrrp_instances');
  const memberOf = new Map<string, string>();
  for (const s of blocks('vrrp_sync_groups')) push(out, 'vrrp_sync_groups', s, convertSyncGroup(ctx, s, instances, memberOf));
  const groups = new Map<string, VirtualServerGroup>();
  for (const s of blocks('virtual_server_groups')) {
    const g = parseVirtualServerGroup(ctx, s);
    if (g) groups.set(g.name, g);
  }
  const usedGroups = new Map<string, unknown>();
  for (const s of blocks('virtual_servers')) {
    const list = convertVirtualServer(ctx, s, groups, usedGroups);
    if (list.length) ((out.virtual_servers ??= []) as unknown[]).push(...list);
  }
  if (usedGroups.size) out.virtual_server_groups = [...usedGroups.values()];

  // A keepalived.conf means IPVS: keepalived programs its virtual servers into the kernel's IPVS
  // table and has no other backend. Saying so keeps `tandem check` from judging the file against
  // the machine that converts it (`backend: auto` is nftables where the kernel has no IPVS, and
  // nftables cannot do DR, TUN or most schedulers).
  if (Array.isArray(out.virtual_servers) && out.virtual_servers.length) {
    const ipvs = new Commented('ipvs', ['keepalived programs virtual servers into IPVS (it has no other backend)']);
    const rest = Object.entries(global);
    for (const [k] of rest) delete global[k];
    global.backend = ipvs;
    for (const [k, v] of rest) global[k] = v;
  }

  // tandem's order: global first, then the rest in the order keepalived's sections appeared.
  const ordered: Obj = {};
  // global_defs' comments go above `global:`, or above the first section when nothing of
  // global_defs has a tandem key (vrrp_strict alone, say): not above an empty `global: {}`.
  let pending = withComment?.comments;
  if (Object.keys(global).length) {
    ordered.global = pending ? new Commented(global, pending) : global;
    pending = undefined;
  }
  for (const [section] of [...firstSection].sort((a, b) => a[1] - b[1])) {
    if (out[section] === undefined) continue;
    ordered[section] = pending ? new Commented(out[section], pending) : out[section];
    pending = undefined;
  }
  ctx.unconverted.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { value: ordered, unconverted: ctx.unconverted };
}
