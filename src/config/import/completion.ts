// What keepalived decides about a vrrp_instance after reading it, in vrrp.c
// vrrp_complete_instance() (2.2.7; each rule below also measured with keepalived -t and its -d
// dump): values the file leaves out are derived from others, combinations that cannot work are
// reset with a warning, and strict mode (global vrrp_strict, or the instance's strict_mode)
// takes out what RFC 3768 / 5798 do not have. The converted instance says what keepalived then
// runs, and every reset is a note at the line it undoes.
import { changed, noteOnce, type Ctx } from './notes.js';
import type { Stmt } from './parse.js';
import { Commented, unwrap, type Obj } from './yamlWriter.js';

/** The statements of the instance that set each output key (the last one that did). */
export type SetBy = Map<string, Stmt>;

const C = 'vrrp.c vrrp_complete_instance';

/**
 * Applies vrrp_complete_instance()'s rules, in its order, to `o`:
 * - no priority: 255 (the address owner) with state MASTER, else 100; no state: MASTER with
 *   priority 255, else BACKUP;
 * - strict: the state must match being the address owner ("State MASTER must match being
 *   address owner"), and there is no authentication ("Strict mode does not support
 *   authentication. Ignoring.");
 * - priority 255 with nopreempt: "nopreempt is incompatible with priority 255 - resetting";
 *   state MASTER with nopreempt: "nopreempt will not work with initial state MASTER - clearing",
 *   and with preempt_delay: "preempt delay will not work with initial state MASTER - clearing";
 * - preempt_delay in strict mode ("preempt_delay is incompatible with strict mode - resetting")
 *   or with nopreempt ("preempt_delay is incompatible with nopreempt mode - resetting");
 * - strict: no GARP burst when a lower priority is heard (garp_lower_prio_repeat 0: "Strict mode
 *   requires no repeat garps - resetting" if one was set), no advert back to it
 *   (lower_prio_no_advert) and no accept mode for a backup's VIPs: tandem has neither choice,
 *   so those two are notes on the line that turned strict mode on.
 * `strict` is that line (undefined: not strict).
 */
export function completeInstance(ctx: Ctx, o: Obj, setBy: SetBy, strict: Stmt | undefined): void {
  const state = unwrap(o.state);
  if (o.priority === undefined) {
    if (state === 'MASTER') o.priority = new Commented(255, [`keepalived: state MASTER without a priority is priority 255, the address owner (${C})`]);
  } else if (state === undefined && unwrap(o.priority) === 255) {
    o.state = new Commented('MASTER', [`keepalived: priority 255 without a state starts as MASTER (${C})`]);
  }
  const priority = unwrap(o.priority) ?? 100;
  if (strict) {
    const owner = priority === 255;
    if ((unwrap(o.state) === 'MASTER') !== owner) {
      const by = setBy.get('state');
      if (by) changed(ctx, by, `strict mode: keepalived sets the state from the priority (${C}: "State MASTER must match being address owner"): converted as ${owner ? 'MASTER' : 'BACKUP'}`);
      if (owner) o.state = 'MASTER';
      else delete o.state;
    }
    if (o.authentication !== undefined) {
      changed(ctx, setBy.get('authentication')!, `strict mode: keepalived drops it (${C}: "Strict mode does not support authentication. Ignoring."): not converted`);
      delete o.authentication;
    }
  }
  const master = unwrap(o.state) === 'MASTER';
  if (unwrap(o.preempt) === false && (priority === 255 || master)) {
    changed(ctx, setBy.get('preempt')!, priority === 255
      ? `keepalived resets nopreempt at priority 255, the address owner, which always preempts (${C}: "nopreempt is incompatible with priority 255"): converted as preempt (the default)`
      : `keepalived clears nopreempt on an instance with state MASTER (${C}: "nopreempt will not work with initial state MASTER - clearing"): converted as preempt (the default)`);
    delete o.preempt;
  }
  const delay = unwrap(o.preempt_delay);
  if (typeof delay === 'number' && delay > 0) {
    let why: string | undefined;
    if (master) why = `keepalived clears preempt_delay on an instance with state MASTER (${C}: "preempt delay will not work with initial state MASTER - clearing")`;
    else if (strict) why = `strict mode: keepalived resets preempt_delay (${C}: "preempt_delay is incompatible with strict mode - resetting")`;
    else if (unwrap(o.preempt) === false) why = `keepalived resets preempt_delay with nopreempt (${C}: "preempt_delay is incompatible with nopreempt mode - resetting")`;
    if (why) {
      changed(ctx, setBy.get('preempt_delay')!, `${why}: not converted`);
      delete o.preempt_delay;
    }
  }
  if (strict) {
    const repeat = unwrap(o.garp_lower_prio_repeat);
    if (typeof repeat === 'number' && repeat > 0) {
      const by = setBy.get('garp_lower_prio_repeat');
      if (by) changed(ctx, by, `strict mode: keepalived resets it to 0 (${C}: "Strict mode requires no repeat garps - resetting")`);
    }
    // Unset, strict mode's default is 0 too: no burst when a lower priority is heard.
    o.garp_lower_prio_repeat = 0;
    noteOnce(ctx, `strict-advert ${strict.file}:${strict.line}`, strict,
      'strict mode: keepalived does not answer a lower-priority advert (lower_prio_no_advert); tandem always answers it with an advert (RFC 9568 split-brain healing): not converted');
    if (priority !== 255) {
      noteOnce(ctx, `strict-accept ${strict.file}:${strict.line}`, strict,
        'strict mode: keepalived runs without accept mode, so a master that is not the address owner drops packets to its VIPs (firewall rules it adds); tandem has no accept mode (its VIPs take traffic): not converted');
    }
  }
}
