// keepalived.conf -> tandem YAML (`tandem import`, issue 5 §4, issue 13 §1). Pure over the
// statement tree that parse.ts reads: each keepalived keyword either becomes its snake_case tandem
// key (the config reference in README.md), or is converted to what keepalived runs when that is
// not what its text says, or is listed as not converted; both of the latter are notes (notes.ts)
// with their file:line, so nothing is dropped or changed silently. Comment lines above a
// keepalived statement become YAML comments above the key or list item it turned into.
//
// One module per concept: global.ts (global_defs), instance.ts (vrrp_instance), trackers.ts
// (vrrp_script, vrrp_track_file, vrrp_track_process), syncGroups.ts, virtualServers.ts and
// checks.ts (virtual_server, real_server, the checkers), values.ts (reading keepalived's values),
// notes.ts and yamlWriter.ts (the output). This file puts them together.
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
import { convertGlobal, type Defaults } from './global.js';
import { convertInstance } from './instance.js';
import { NO_EQUIVALENT, note, type Ctx, type Unconverted } from './notes.js';
import { parseKeepalivedFile, type ParseError, type Stmt } from './parse.js';
import { convertSyncGroup } from './syncGroups.js';
import { convertTrackFile, convertTrackProcess, convertVrrpScript } from './trackers.js';
import { push } from './values.js';
import { convertVirtualServer } from './virtualServers.js';
import { Commented, renderYaml, type Obj } from './yamlWriter.js';

export { formatUnconverted, noteLine, type NoteKind, type Unconverted } from './notes.js';

export type ImportResult =
  | { ok: true; yaml: string; unconverted: Unconverted[] }
  | { ok: false; error: ParseError };

/** What an import may be told (`tandem import` options). */
export interface ImportOptions {}

/** Reads a keepalived.conf (and its includes) and converts it. */
export function importKeepalived(path: string, _opts: ImportOptions = {}): ImportResult {
  const parsed = parseKeepalivedFile(path);
  if (!parsed.ok) return parsed;
  const r = convertStatements(parsed.statements, path);
  const unconverted: Unconverted[] = [
    ...parsed.notes.map((n) => ({ file: n.file, line: n.line, keyword: 'include', reason: n.message, kind: 'not-converted' as const })),
    ...r.unconverted,
  ];
  return { ok: true, yaml: renderYaml(r.value, path, unconverted), unconverted };
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
