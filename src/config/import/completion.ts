// What keepalived decides about a vrrp_instance after reading it, in vrrp.c
// vrrp_complete_instance() (2.2.7; each rule below also measured with keepalived -t and its -d
// dump): values the file leaves out are derived from others, and combinations that cannot work
// are reset with a warning. The converted instance says what keepalived then runs, and every
// reset is a note at the line it undoes.
import { changed, type Ctx } from './notes.js';
import type { Stmt } from './parse.js';
import { Commented, unwrap, type Obj } from './yamlWriter.js';

/** The statements of the instance that set each output key (the last one that did). */
export type SetBy = Map<string, Stmt>;

/**
 * Applies vrrp_complete_instance()'s rules on priority, state and preemption to `o`:
 * - no priority: 255 (the address owner) with state MASTER, else 100;
 * - no state: MASTER with priority 255, else BACKUP;
 * - priority 255 with nopreempt: "nopreempt is incompatible with priority 255 - resetting";
 * - state MASTER with nopreempt: "nopreempt will not work with initial state MASTER - clearing",
 *   and with preempt_delay: "preempt delay will not work with initial state MASTER - clearing";
 * - preempt_delay with nopreempt: "preempt_delay is incompatible with nopreempt mode - resetting".
 */
export function completeInstance(ctx: Ctx, o: Obj, setBy: SetBy): void {
  const state = unwrap(o.state);
  if (o.priority === undefined) {
    if (state === 'MASTER') o.priority = new Commented(255, ['keepalived: state MASTER without a priority is priority 255, the address owner (vrrp.c vrrp_complete_instance)']);
  } else if (state === undefined && unwrap(o.priority) === 255) {
    o.state = new Commented('MASTER', ['keepalived: priority 255 without a state starts as MASTER (vrrp.c vrrp_complete_instance)']);
  }
  const priority = unwrap(o.priority) ?? 100;
  const master = unwrap(o.state) === 'MASTER';
  if (unwrap(o.preempt) === false && (priority === 255 || master)) {
    changed(ctx, setBy.get('preempt')!, priority === 255
      ? 'keepalived resets nopreempt at priority 255, the address owner, which always preempts (vrrp.c vrrp_complete_instance: "nopreempt is incompatible with priority 255"): converted as preempt (the default)'
      : 'keepalived clears nopreempt on an instance with state MASTER (vrrp.c vrrp_complete_instance: "nopreempt will not work with initial state MASTER - clearing"): converted as preempt (the default)');
    delete o.preempt;
  }
  const delay = unwrap(o.preempt_delay);
  if (typeof delay === 'number' && delay > 0) {
    let why: string | undefined;
    if (master) why = 'keepalived clears preempt_delay on an instance with state MASTER (vrrp.c vrrp_complete_instance: "preempt delay will not work with initial state MASTER - clearing")';
    else if (unwrap(o.preempt) === false) why = 'keepalived resets preempt_delay with nopreempt (vrrp.c vrrp_complete_instance: "preempt_delay is incompatible with nopreempt mode - resetting")';
    if (why) {
      changed(ctx, setBy.get('preempt_delay')!, `${why}: not converted`);
      delete o.preempt_delay;
    }
  }
}
