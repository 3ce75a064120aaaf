// virtual_routes / virtual_rules (in a vrrp_instance) and the top-level static_ipaddress /
// static_routes / static_rules blocks -> the same keys (static_* under `global:`). Each line is
// keepalived's text, which tandem reads as it is (config/routes.ts, config/vipOptions.ts); a line
// is kept when tandem's own parser takes it, and dropped with that parser's message otherwise, so
// the import and `tandem check` never disagree about an entry.
import { LineCounter, parseDocument } from '../yaml.js';
import type { Node } from 'yaml';
import type { Ctx as ConfigCtx, Validator } from '../fields.js';
import { routeEntry, ruleEntry } from '../routes.js';
import { staticAddressEntry } from '../vipOptions.js';
import { changed, note, type Ctx } from './notes.js';
import type { Stmt } from './parse.js';
import { blockItems, withComments } from './values.js';

const VALIDATORS: Record<'route' | 'rule' | 'address', Validator<unknown>> = { route: routeEntry, rule: ruleEntry, address: staticAddressEntry };

/** The entries of a route, rule or static address block, as text tandem reads. */
export function routeLines(ctx: Ctx, s: Stmt, kind: 'route' | 'rule' | 'address'): unknown[] {
  const out: unknown[] = [];
  for (const c of blockItems(ctx, s)) {
    let text = c.words.join(' ');
    // A rule without a preference gets keepalived's, counted in keepalived's order (the file's):
    // tandem's own count would follow its output's order, where global comes first.
    const auto = kind === 'rule' ? ctx.rulePriorities?.get(c) : undefined;
    if (auto !== undefined) {
      text += ` priority ${auto}`;
      changed(ctx, c, `no preference: keepalived gives it ${auto} (vrrp_iprule.c alloc_rule(): "Rule has no preference specified - setting to ${auto}"), written out`, s.words[0]);
    }
    const issues = judge(text, kind);
    const errors = issues.filter((i) => i.severity === 'error');
    if (errors.length) { note(ctx, c, `${errors.map((e) => e.message).join('; ')}: entry not converted`, s.words[0]); continue; }
    // keepalived's corrections (a tracked route's protocol, a rule's preference, gw) are what it
    // runs; `tandem check` says the same about the converted line.
    for (const w of issues) changed(ctx, c, `${text}: ${w.message}`, s.words[0]);
    out.push(withComments(c, text));
  }
  return out;
}

/** What tandem's parser says about one entry written as keepalived's text. */
function judge(text: string, kind: 'route' | 'rule' | 'address') {
  const doc = parseDocument(JSON.stringify(text));
  const ctx: ConfigCtx = { file: '', lineCounter: new LineCounter(), issues: [] };
  VALIDATORS[kind]({ node: doc.contents as Node, path: '' }, ctx);
  return ctx.issues;
}

const PREFERENCE_WORDS = new Set(['preference', 'order', 'priority', 'pref']);
const RULE_BLOCKS = new Set(['static_rules', 'virtual_rules']);

/** keepalived alloc_rule(): each rule line without a preference, in the order keepalived parses
 *  the file, gets 16384, 16383, ... per family (an inet6 word or an IPv6 address makes it IPv6). */
export function keepalivedRulePriorities(statements: readonly Stmt[]): Map<Stmt, number> {
  const next = { 4: 16384, 6: 16384 };
  const out = new Map<Stmt, number>();
  const visit = (list: readonly Stmt[]) => {
    for (const s of list) {
      if (RULE_BLOCKS.has(s.words[0]!) && s.block) {
        for (const c of s.block) {
          if (c.words.some((w) => PREFERENCE_WORDS.has(w))) continue;
          const family = c.words.some((w) => w === 'inet6' || w.includes(':')) ? 6 : 4;
          out.set(c, next[family]--);
        }
      } else if (s.block) visit(s.block);
    }
  };
  visit(statements);
  return out;
}
