// Child of routes-native.test.ts, run inside the test's namespace (`ip netns exec`): the route
// and rule adapters (net/routes.ts) and the event watch (net/netlinkWatch.ts) on the real kernel,
// driven by JSON lines on stdin ({ seq, op, ...args }). Each answer is one line
// { seq, ok, result } or { seq, ok: false, error: { name, message, code } }; each event is
// { event: 'net', id, e } or { event: 'error', id, message, code }.
import { createInterface } from 'node:readline';
import { addRoute, addRule, deleteRoute, deleteRule, listRoutes, listRules, replaceRoute, routeText, ruleText,
  type RouteSpec, type RuleSpec } from '../../src/net/routes.js';
import { watchNetlink } from '../../src/net/netlinkWatch.js';

const out = (o: object): void => { process.stdout.write(`${JSON.stringify(o)}\n`); };
const watches = new Map<string, { close(): void }>();

type Req = { seq: number; op: string; spec?: RouteSpec & RuleSpec; family?: 4 | 6; table?: number; id?: string; routes?: boolean; rules?: boolean };

const ops: Record<string, (r: Req) => unknown> = {
  addRoute: (r) => addRoute(r.spec!),
  replaceRoute: (r) => replaceRoute(r.spec!),
  deleteRoute: (r) => deleteRoute(r.spec!),
  listRoutes: (r) => listRoutes(r.family!, r.table),
  addRule: (r) => addRule(r.spec!),
  deleteRule: (r) => deleteRule(r.spec!),
  listRules: (r) => listRules(r.family!),
  routeText: (r) => routeText(r.spec!),
  ruleText: (r) => ruleText(r.spec!),
  watch: (r) => {
    const id = r.id!;
    watches.set(id, watchNetlink((e) => out({ event: 'net', id, e }),
      (e) => out({ event: 'error', id, message: e.message, code: (e as { code?: string }).code }),
      { routes: r.routes, rules: r.rules }));
  },
  unwatch: (r) => { watches.get(r.id!)?.close(); watches.delete(r.id!); },
};

createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line) as Req;
  try {
    const op = ops[req.op];
    if (op === undefined) throw new Error(`unknown op ${req.op}`);
    out({ seq: req.seq, ok: true, result: op(req) ?? null });
  } catch (e) {
    const err = e as Error & { code?: string };
    out({ seq: req.seq, ok: false, error: { name: err.name, message: err.message, code: err.code } });
  }
});
process.stdin.on('end', () => {
  for (const w of watches.values()) w.close();
  process.exitCode = 0;
});
out({ event: 'ready' });
