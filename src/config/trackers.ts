// Trackers in the config: top-level `vrrp_scripts`, `vrrp_track_files`, `vrrp_track_processes`
// (keepalived's vrrp_script, track_file / vrrp_track_file, vrrp_track_process blocks), and per
// instance `track_scripts`, `track_files`, `track_processes`: each a list of a name or
// `{ name, weight, reverse }`, where the instance's weight (and reverse) override the tracker's
// (keepalived vrrp_track.c alloc_track_script(): "default weight" is the script's).
// Defaults are keepalived's (keepalived.conf(5), vrrp_data.c alloc_vrrp_script(),
// track_file.c track_file_handler(), vrrp_parser.c vrrp_tprocess_*_handler()).
// Weights are -254..254 everywhere: keepalived turns a script's +/-254 into +/-253, which gives
// the same effective priority once clamped to 1..254.
import { isMap, isScalar, isSeq } from './yaml.js';
import type { Node } from 'yaml';
import { boolean, field, integer, list, namesInFile, nodeOf, number, object, oneOf, report, reportDuplicateNames, string, warn, type Corrections, type Ctx, type Validator } from './fields.js';
import { suggest } from './suggest.js';
import { splitScriptString } from '../process/argv.js';

const name = string({ pattern: /^[A-Za-z0-9_.-]+$/, what: 'a name of letters, digits, _ . -' });
const weight = integer(-254, 254);
const absolutePath = string({ pattern: /^\/[^\0]*$/, what: 'an absolute path' });

/** keepalived's `script`: one string split like keepalived splits it (quotes, escapes), or a list. */
const scriptArgv: Validator<string[]> = (at, ctx) => {
  if (isSeq(at.node)) return list(string({ what: 'an argument' }), { min: 1 })(at, ctx);
  const v = string({ what: 'a program and its arguments' })(at, ctx);
  if (v === undefined) return undefined;
  // keepalived's second pass over the script string (src/alert/argv.ts); YAML quoting is the first.
  const r = splitScriptString(v);
  if (!r.ok) { report(ctx, at.node, at.path, r.message); return undefined; }
  return r.argv;
};

/** keepalived's `user USER [GROUP]`. */
const scriptUser = string({ pattern: /^[A-Za-z0-9_.][A-Za-z0-9_.-]*( +[A-Za-z0-9_.][A-Za-z0-9_.-]*)?$/, what: 'a user name, optionally followed by a group name' });

export const vrrpScriptShape = object({
  name: field(name, { required: true }),
  script: field(scriptArgv, { required: true }),
  interval: field(number(0.01, 86400, ' seconds'), { default: 1 }),
  /** Default: the interval (keepalived vrrp_script_thread(): `timeout ? timeout : interval`). */
  timeout: field(number(0.01, 86400, ' seconds')),
  weight: field(weight, { default: 0 }),
  reverse: field(boolean, { default: false }),
  rise: field(integer(1, 1_000_000), { default: 1 }),
  fall: field(integer(1, 1_000_000), { default: 1 }),
  init_fail: field(boolean, { default: false }),
  user: field(scriptUser),
});

/** `init_file: VALUE` or `init_file: { value: VALUE, overwrite: true }` (keepalived `init_file [VALUE] [overwrite]`). */
const initFileObject = object({
  value: field(integer(-2147483648, 2147483647), { default: 0 }),
  overwrite: field(boolean, { default: false }),
});
const initFile: Validator<{ value: number; overwrite: boolean }> = (at, ctx) => {
  if (isScalar(at.node) && at.node.value === true) return { value: 0, overwrite: false };
  if (!isMap(at.node)) {
    const v = integer(-2147483648, 2147483647)(at, ctx);
    return v === undefined ? undefined : { value: v, overwrite: false };
  }
  return initFileObject(at, ctx) as { value: number; overwrite: boolean } | undefined;
};

export const trackFileShape = object({
  name: field(name, { required: true }),
  file: field(absolutePath, { required: true }),
  weight: field(weight, { default: 1 }),
  reverse: field(boolean, { default: false }),
  init_file: field(initFile),
});

export const trackProcessShape = object({
  name: field(name, { required: true }),
  /** The process name (comm), or argv[0] when matching the command line. */
  process: field(string({ pattern: /^[^\0]+$/, what: 'a process name' }), { required: true }),
  /** keepalived's parameters after the process name: match the command line's arguments. */
  args: field(list(string({ pattern: /^[^\0]*$/, what: 'an argument' }))),
  param_match: field(oneOf(['exact', 'initial', 'partial'] as const)),
  full_command: field(boolean, { default: false }),
  weight: field(weight, { default: 0 }),
  reverse: field(boolean, { default: false }),
  quorum: field(integer(1, 65535)),
  quorum_max: field(integer(0, 65535)),
  delay: field(number(0, 3600, ' seconds')),
  fork_delay: field(number(0, 3600, ' seconds')),
  terminate_delay: field(number(0, 3600, ' seconds')),
});

const trackRefObject = object({
  name: field(name, { required: true }),
  weight: field(weight),
  reverse: field(boolean),
});
type RawTrackRef = { name: string; weight?: number | undefined; reverse?: boolean | undefined };
/** `chk_haproxy` is shorthand for `{ name: chk_haproxy }` (the tracker's own weight). */
const trackRef: Validator<RawTrackRef> = (at, ctx) => {
  if (isScalar(at.node) && typeof at.node.value === 'string') {
    const v = name(at, ctx);
    return v === undefined ? undefined : { name: v };
  }
  return trackRefObject(at, ctx) as RawTrackRef | undefined;
};
export const trackRefsField = field(list(trackRef), { default: [] });

export type RawVrrpScript = NonNullable<ReturnType<typeof vrrpScriptShape>>;
export type RawTrackFile = NonNullable<ReturnType<typeof trackFileShape>>;
export type RawTrackProcess = NonNullable<ReturnType<typeof trackProcessShape>>;

// ---- model ----

export interface VrrpScriptConfig {
  name: string;
  argv: string[];
  intervalMs: number;
  timeoutMs: number;
  weight: number;
  reverse: boolean;
  rise: number;
  fall: number;
  initFail: boolean;
  /** Run as this user (and group); resolved when the trackers start. */
  user: string | undefined;
  group: string | undefined;
}

export interface TrackFileConfig {
  name: string;
  path: string;
  weight: number;
  reverse: boolean;
  init: { value: number; overwrite: boolean } | undefined;
}

export interface TrackProcessConfig {
  name: string;
  process: string;
  args: string[] | undefined;
  paramMatch: 'none' | 'exact' | 'initial' | 'partial';
  fullCommand: boolean;
  weight: number;
  reverse: boolean;
  quorum: number;
  /** null: no upper bound. */
  quorumMax: number | null;
  forkDelayMs: number;
  terminateDelayMs: number;
}

/** An instance's use of a tracker, with the weight and reverse in force for that instance. */
export interface TrackRef {
  name: string;
  weight: number;
  reverse: boolean;
}

export interface TrackersModel {
  vrrpScripts: VrrpScriptConfig[];
  trackFiles: TrackFileConfig[];
  trackProcesses: TrackProcessConfig[];
}

export function trackersModel(raw: {
  vrrp_scripts?: RawVrrpScript[] | undefined; vrrp_track_files?: RawTrackFile[] | undefined; vrrp_track_processes?: RawTrackProcess[] | undefined;
}): TrackersModel {
  return {
    vrrpScripts: (raw.vrrp_scripts ?? []).map((s) => {
      const [user, group] = s.user ? s.user.split(/ +/) : [];
      return {
        name: s.name, argv: s.script, intervalMs: Math.round(s.interval * 1000),
        timeoutMs: Math.round((s.timeout ?? s.interval) * 1000), weight: s.weight, reverse: s.reverse,
        rise: s.rise, fall: s.fall, initFail: s.init_fail, user, group,
      };
    }),
    trackFiles: (raw.vrrp_track_files ?? []).map((f) => ({
      name: f.name, path: f.file, weight: f.weight, reverse: f.reverse, init: f.init_file,
    })),
    trackProcesses: (raw.vrrp_track_processes ?? []).map((p) => {
      const quorumMax = p.quorum_max ?? null;
      return {
        name: p.name, process: p.process, args: p.args,
        // keepalived: arguments imply an exact match; arguments or param_match imply the full command line.
        paramMatch: p.param_match ?? (p.args !== undefined ? 'exact' : 'none'),
        fullCommand: p.full_command || p.args !== undefined || p.param_match !== undefined,
        weight: p.weight, reverse: p.reverse,
        // keepalived: quorum_max 0 without a quorum means "up while none is running".
        quorum: p.quorum ?? (quorumMax === 0 ? 0 : 1),
        quorumMax,
        forkDelayMs: Math.round((p.fork_delay ?? p.delay ?? 0) * 1000),
        terminateDelayMs: Math.round((p.terminate_delay ?? p.delay ?? 0) * 1000),
      };
    }),
  };
}

/** An instance's track_* lists, resolved against the trackers (unknown names: weight 0, reported by the cross-check). */
export function instanceTrackRefs(
  r: { track_scripts?: RawTrackRef[] | undefined; track_files?: RawTrackRef[] | undefined; track_processes?: RawTrackRef[] | undefined },
  m: TrackersModel,
): { trackScripts: TrackRef[]; trackFiles: TrackRef[]; trackProcesses: TrackRef[] } {
  const resolve = (refs: RawTrackRef[] | undefined, defs: ReadonlyArray<{ name: string; weight: number; reverse: boolean }>): TrackRef[] =>
    (refs ?? []).map((ref) => {
      // Not find(): a partial model's lists have holes (load.ts partialConfig()), find() visits them.
      let def: { name: string; weight: number; reverse: boolean } | undefined;
      defs.forEach((d) => { if (!def && d.name === ref.name) def = d; });
      return { name: ref.name, weight: ref.weight ?? def?.weight ?? 0, reverse: ref.reverse ?? def?.reverse ?? false };
    });
  return {
    trackScripts: resolve(r.track_scripts, m.vrrpScripts),
    trackFiles: resolve(r.track_files, m.trackFiles),
    trackProcesses: resolve(r.track_processes, m.trackProcesses),
  };
}

/** comm is at most 15 characters (TASK_COMM_LEN 16), so a longer name can only match a command line. */
const COMM_MAX = 15;

/**
 * Duplicate tracker names are errors (which one would an instance track?). What keepalived logs
 * and carries on with is a warning, with keepalived's correction of the model:
 * - an instance's track_* entry naming no tracker: dropped (vrrp_track.c alloc_track_script():
 *   "track script %s not found, ignoring...", and alloc_track_file() / alloc_track_process()
 *   alike); one named twice: the second dropped ("duplicate track_script %s - ignoring");
 * - a weighted tracker on an address owner (priority 255): no effect, as in keepalived
 *   ("ignoring tracked script %s with weights due to address_owner"), since 255 never changes;
 * - quorum_max below quorum: quorum_max dropped (vrrp_parser.c: "quorum_max is less than quorum
 *   - ignoring");
 * - a process name longer than comm holds: keepalived accepts it and it never matches.
 * `partial`: the model is what parsed of a file with errors; a tracker that failed validation
 * is missing from the model but exists in the file, so a reference to it is not reported.
 */
export function crossCheckTrackers(
  config: TrackersModel & { vrrpInstances: ReadonlyArray<{ name: string; priority: number; trackScripts: TrackRef[]; trackFiles: TrackRef[]; trackProcesses: TrackRef[] }> },
  root: Node, ctx: Ctx, fixes: Corrections = [], partial = false,
): void {
  const itemsOf = (n: Node | undefined): Node[] => (isSeq(n) ? (n.items as Node[]) : []);
  for (const key of ['vrrp_scripts', 'vrrp_track_files', 'vrrp_track_processes']) {
    reportDuplicateNames(root, key, ctx, (_, first) => `duplicate name (also ${key}[${first}])`);
  }

  const procItems = itemsOf(nodeOf(root, 'vrrp_track_processes'));
  config.trackProcesses.forEach((p, i) => {
    const node = procItems[i];
    const at = `vrrp_track_processes[${i}]`;
    if (p.quorumMax !== null && p.quorum > p.quorumMax) {
      warn(ctx, nodeOf(node, 'quorum_max') ?? nodeOf(node, 'quorum') ?? node, `${at}.quorum_max`,
        `quorum_max ${p.quorumMax} is below quorum ${p.quorum}: quorum_max is ignored, as keepalived ignores it`);
      fixes.push(() => { p.quorumMax = null; });
    }
    if (!p.fullCommand && p.process.length > COMM_MAX) {
      warn(ctx, nodeOf(node, 'process') ?? node, `${at}.process`,
        `a process name (comm) has at most ${COMM_MAX} characters, so ${JSON.stringify(p.process)} never matches (keepalived accepts it too): ` +
        'set full_command: true to match the command line\'s argv[0]');
    }
    if (p.args === undefined && p.paramMatch !== 'none' && p.paramMatch !== 'exact') {
      report(ctx, nodeOf(node, 'param_match') ?? node, `${at}.param_match`, `param_match ${p.paramMatch} needs args to match`);
    }
  });

  const instItems = itemsOf(nodeOf(root, 'vrrp_instances'));
  const inFile = (defKey: string, defs: ReadonlyArray<{ name: string }>): Set<string> => {
    const names = partial ? namesInFile(root, defKey) : new Set<string>();
    defs.forEach((d) => names.add(d.name));
    return names;
  };
  const defined = {
    vrrp_scripts: inFile('vrrp_scripts', config.vrrpScripts),
    vrrp_track_files: inFile('vrrp_track_files', config.trackFiles),
    vrrp_track_processes: inFile('vrrp_track_processes', config.trackProcesses),
  };
  config.vrrpInstances.forEach((inst, i) => {
    const node = instItems[i];
    const lists: Array<[string, TrackRef[], 'vrrp_scripts' | 'vrrp_track_files' | 'vrrp_track_processes']> = [
      ['track_scripts', inst.trackScripts, 'vrrp_scripts'],
      ['track_files', inst.trackFiles, 'vrrp_track_files'],
      ['track_processes', inst.trackProcesses, 'vrrp_track_processes'],
    ];
    for (const [key, refs, defKey] of lists) {
      const listNode = nodeOf(node, key);
      const items = itemsOf(listNode);
      const seen = new Set<string>();
      const dropped = new Set<TrackRef>();
      refs.forEach((ref, j) => {
        const item = items[j] ?? listNode ?? node;
        const itemName = isMap(item) ? nodeOf(item, 'name') ?? item : item;
        const at = `vrrp_instances[${i}].${key}[${j}]`;
        if (!defined[defKey].has(ref.name)) {
          const hint = suggest(ref.name, [...defined[defKey]]);
          warn(ctx, itemName, at, `no ${defKey} entry is named ${ref.name}${hint ? ` (did you mean ${hint}?)` : ''}: ignored, as keepalived ignores it`);
          dropped.add(ref);
          return;
        }
        if (seen.has(ref.name)) {
          warn(ctx, itemName, at, `${ref.name} is listed twice: the second is ignored, as keepalived ignores it`);
          dropped.add(ref);
          return;
        }
        seen.add(ref.name);
        if (inst.priority === 255 && ref.weight !== 0) {
          warn(ctx, (isMap(item) ? nodeOf(item, 'weight') : undefined) ?? itemName, at,
            `priority 255 (address owner) never changes: ${ref.name}'s weight ${ref.weight} has no effect (keepalived ignores a ` +
            'weighted tracker on an address owner); weight 0 puts the instance in FAULT when it fails');
        }
      });
      if (dropped.size) fixes.push(() => { const kept = refs.filter((r) => !dropped.has(r)); refs.length = 0; for (const r of kept) refs.push(r); });
    }
  });
}
