// The trackers an instance can follow: vrrp_script, vrrp_track_file, vrrp_track_process. Each is a
// named block (`keyword <name> { ... }`) with a required key; a block without it is dropped with a
// note, as keepalived drops it (vrrp_parser.c vrrp_vscript_end_handler: "No script set for
// vrrp_script %s - removing"; vrrp_tprocess_end_handler: "process name not specified").
import { NO_EQUIVALENT, note, type Ctx } from './notes.js';
import type { Stmt } from './parse.js';
import { resolveRepeats, type RepeatRules } from './repeats.js';
import { blockItems, bool, num, scriptText, set, str, weightWords } from './values.js';
import type { Obj } from './yamlWriter.js';

/**
 * A `keyword <name> { ... }` block: checks the name, hands every statement of the block to
 * `item` (which returns false for a keyword it does not know: listed as unconverted), and drops
 * the block when it lacks its `required` key.
 */
export function namedBlock(
  ctx: Ctx, s: Stmt, required: string | null, repeats: RepeatRules, item: (c: Stmt, k: string, o: Obj) => boolean,
): Obj | undefined {
  const name = s.words[1];
  if (!name) { note(ctx, s, `expected ${s.words[0]} <name> { ... }`); return undefined; }
  const o: Obj = { name };
  for (const c of resolveRepeats(ctx, blockItems(ctx, s), repeats)) {
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

const keys = (...k: string[]) => (w: string) => k.includes(w);

/** Every vrrp_script keyword is a plain assignment (vrrp_parser.c vrrp_vscript_*_handler): the last wins. */
const SCRIPT_REPEATS: RepeatRules = { known: keys('script', 'interval', 'timeout', 'rise', 'fall', 'weight', 'user', 'init_fail') };

export function convertVrrpScript(ctx: Ctx, s: Stmt): Obj | undefined {
  return namedBlock(ctx, s, 'script', SCRIPT_REPEATS, (c, k, o) => {
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

const TRACK_FILE_REPEATS: RepeatRules = {
  first: {
    file: 'vrrp_parser.c vrrp_tfile_file_handler(): "File already set for track file %s - ignoring"',
    weight: 'vrrp_parser.c vrrp_tfile_weight_handler(): "Weight already set for track file %s - ignoring"',
  },
  known: keys('file', 'weight', 'init_file'),
};

export function convertTrackFile(ctx: Ctx, s: Stmt): Obj | undefined {
  return namedBlock(ctx, s, 'file', TRACK_FILE_REPEATS, (c, k, o) => {
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

const TRACK_PROCESS_REPEATS: RepeatRules = {
  first: {
    process: 'vrrp_parser.c vrrp_tprocess_process_handler(): "Process already set for track process %s - ignoring"',
    weight: 'vrrp_parser.c vrrp_tprocess_weight_handler(): "Weight already set for track process %s - ignoring"',
  },
  known: keys('process', 'param_match', 'weight', 'quorum', 'quorum_max', 'delay', 'fork_delay', 'terminate_delay', 'full_command'),
};

export function convertTrackProcess(ctx: Ctx, s: Stmt): Obj | undefined {
  return namedBlock(ctx, s, 'process', TRACK_PROCESS_REPEATS, (c, k, o) => {
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
