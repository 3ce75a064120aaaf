// A keyword given more than once in one block, resolved the way keepalived resolves it. There are
// three kinds, by keepalived's handlers (measured with keepalived 2.2.7's `-d` dump as well):
// - most keywords are a plain assignment in their handler: the last value keepalived accepts
//   wins, silently (`priority`, `router_id`, `delay_loop`, `lb_kind`, a url's `path` ...);
// - some handlers refuse a second one with a warning and keep the first: the notify scripts
//   (vrrp_parser.c vrrp_notify_*_handler, vrrp_gnotify_*_handler; check_parser.c
//   notify_up_handler, quorum_up_handler: "... script already specified - ignoring"),
//   global notify_fifo ("notify_fifo already specified - ignoring"), a sync group's `group`,
//   a track file's `file` and `weight`, a track process's `process` and `weight`, a url's
//   `digest` ("is a duplicate");
// - block keywords that add to a list: a second virtual_ipaddress block adds its addresses
//   (alloc_value_block() appends), and so do unicast_peer, track_* , notification_email,
//   status_code, and repeated real_server / url / checker blocks.
// The converters keep the value keepalived uses: for last-wins keywords they simply overwrite
// (set()), so a later value keepalived ignores as invalid does not replace a good one; for
// first-wins keywords resolveRepeats() drops the later statements; both get a note, because the
// file says two things and only one of them runs.
import { changed, type Ctx } from './notes.js';
import type { Stmt } from './parse.js';

export interface RepeatRules {
  /** Keywords keepalived keeps the first of, ignoring the later ones: keyword -> where that is. */
  first?: Record<string, string>;
  /** Keywords whose repetitions keepalived adds together (no note). */
  accumulate?: readonly string[];
  /** Keywords that set the same thing, by a common name (nopreempt / preempt, lb_kind / lvs_method). */
  same?: Record<string, string>;
  /** Only keywords the converter knows are looked at; the others are noted by it anyway. */
  known: (keyword: string) => boolean;
}

/**
 * The statements of a block to convert, in order: every statement, less the repetitions of
 * first-wins keywords. Notes every repetition that does not run.
 */
export function resolveRepeats(ctx: Ctx, items: readonly Stmt[], rules: RepeatRules): Stmt[] {
  const groups = new Map<string, Stmt[]>();
  for (const s of items) {
    const k = s.words[0]!;
    if (!rules.known(k) || rules.accumulate?.includes(k)) continue;
    const g = rules.same?.[k] ?? k;
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push(s);
  }
  const dropped = new Set<Stmt>();
  for (const list of groups.values()) {
    if (list.length < 2) continue;
    const firstWhere = rules.first?.[list[0]!.words[0]!];
    if (firstWhere !== undefined) {
      const kept = list[0]!;
      for (const s of list.slice(1)) {
        dropped.add(s);
        changed(ctx, s, `given already at line ${kept.line}: keepalived keeps the first one and ignores this one (${firstWhere}), and so does the conversion`);
      }
    } else {
      const last = list[list.length - 1]!;
      for (const s of list.slice(0, -1)) {
        changed(ctx, s, `given again at line ${last.line}: keepalived uses the last value it accepts, and so does the conversion`);
      }
    }
  }
  return dropped.size ? items.filter((s) => !dropped.has(s)) : [...items];
}
