// enable_script_security over everything tandem runs, and over the file that says what it runs.
//
// Programs. keepalived checks every script it may run with check_script_secure()
// (keepalived/core/notify.c; the rule itself is src/alert/security.ts): notify scripts
// (vrrp/vrrp.c check_vrrp_script_security(), check/check_daemon.c check_check_script_security()),
// every vrrp_script, tracked or not (vrrp.c check_track_script_secure()), and every MISC_CHECK
// (check/check_misc.c check_misc_script_security()). Each is checked for the user it runs as:
// its own `user` if it has one, else script_user, else tandem's own user (keepalived gives every
// script default_script_uid/gid: core/notify.c set_default_script_user(); tandem's default without
// script_user is its own user, where keepalived tries a `keepalived_script` user, then root).
// The protection applies only when that user is root (uid or gid 0) or the file is set-uid/gid
// root; a script run as nobody only has to exist and be executable by nobody.
//
// What keepalived does with a script that fails, and what tandem does instead: keepalived disables
// it and carries on. An insecure notify script is dropped, and `keepalived -t` exits 0. An
// insecure vrrp_script is logged as "Disabling track script X due to insecure", removed from
// every instance that tracks it, and the instance behaves as if it tracked nothing: its priority
// is unaffected, and a weight-0 script no longer puts it in FAULT; `keepalived -t` exits 5 (all
// checked against 2.2.7). An insecure MISC_CHECK is removed from its real server ("Disabling misc
// script ... due to insecure", `keepalived -t` exits 0), whose state is then decided by its other
// checkers; with none, check/ipwrapper.c init_service_rs() adds it as alive (read in the source:
// this kernel has no IPVS to watch keepalived's checker run).
// tandem refuses every one of them at load, as a located config error (`tandem check` exits 2, a
// reload is refused and changes nothing): a check that silently vanishes leaves a director
// whose failover or real-server health no longer means what its config says, and it is the same
// hole whichever key names the script. Nothing is run from a config with such an error.
//
// Other programs tandem starts are not operator scripts and are not checked here: `nft` and
// `ipvsadm` (src/lb/runTool.ts), `getent` (src/alert/users.ts) and `mkfifo` (src/alert/fifo.ts)
// are system tools found through PATH, as keepalived's own helpers are; `tandem lab` starts
// processes for its lab only.
//
// The config file. keepalived does not look at who owns or can write its config file or an
// included file (lib/parser.c read_conf_file() only refuses a file that is not regular or is
// executable; 2.2.7 accepted a file of uid 65534 with mode 666, included from a 0777 directory).
// tandem goes further when enable_script_security is on and tandem runs as root: the file and
// every directory above it must pass the same path rule as a script (refuseInsecureConfigFile),
// because whoever can write that file chooses which programs root runs, and as which user.
import { resolve } from 'node:path';
import { isMap, isSeq } from './yaml.js';
import type { Node } from 'yaml';
import { checkPathSecurity, checkScriptSecurity, type RunAs, type ScriptSecurity } from '../process/security.js';
import type { Argv } from '../process/argv.js';
import type { StateNotifyScripts } from './notifyScripts.js';
import { resolveScriptUser, systemUserDb, type UserDb } from '../process/users.js';
import type { ConfigIssue } from './errors.js';
import { nodeOf, report, type Ctx } from './fields.js';
import type { CheckConfig } from './lbModel.js';
import { byConfigEntry } from './virtualServers.js';
import type { Config } from './model.js';
import type { ScriptUser } from './notifyScripts.js';

/** The keys of the model crossCheckScriptSecurity reads (tandem's Config has them). */
export interface ScriptSecurityView {
  global: { scriptUser: ScriptUser | undefined; enableScriptSecurity: boolean };
  vrrpInstances: ReadonlyArray<{ notify: StateNotifyScripts }>;
  vrrpSyncGroups?: ReadonlyArray<{ name: string; notify?: StateNotifyScripts | undefined }>;
  vrrpScripts?: ReadonlyArray<{ argv: readonly string[]; user: string | undefined; group: string | undefined }>;
  virtualServers: ReadonlyArray<{
    quorumUp?: Argv | undefined; quorumDown?: Argv | undefined;
    realServers: ReadonlyArray<{ notifyUp?: Argv | undefined; notifyDown?: Argv | undefined; checks?: readonly CheckConfig[] }>;
  }>;
}

export interface ScriptSecurityEnv {
  /** tandem's own uid/gid: what a script without a user runs as. */
  self?: RunAs;
  /** Where `user` names are looked up (the runtime looks them up in the same place). */
  users?: UserDb;
}

const STATE_KEYS: Array<[keyof StateNotifyScripts, string]> = [
  ['master', 'notify_master'], ['backup', 'notify_backup'], ['fault', 'notify_fault'], ['stop', 'notify_stop'], ['notify', 'notify'],
];

function ownIds(): RunAs {
  return { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };
}

function refusal(r: Exclude<ScriptSecurity, { ok: true }>): string {
  // Only a vrrp_script can name a bare program (notify scripts and misc_path must be absolute).
  const hint = r.reason === 'not_absolute' ? ' (give the full path: tandem checks the file that runs and does not search PATH for it)' : '';
  return `enable_script_security: refused (${r.reason}): ${r.message}${hint}`;
}

/**
 * enable_script_security: every program the config names, checked for the user it runs as.
 * An error is reported at the key that names the program (or at its `user` when that user does
 * not exist: a script cannot be checked for a user that is not there).
 */
export function crossCheckScriptSecurity(config: ScriptSecurityView, root: Node, ctx: Ctx, env: ScriptSecurityEnv = {}): void {
  if (!config.global.enableScriptSecurity) return;
  const self = env.self ?? ownIds();
  const users = env.users ?? systemUserDb();
  const notifyAs: RunAs = config.global.scriptUser
    ? { uid: config.global.scriptUser.uid, gid: config.global.scriptUser.gid }
    : self;
  const check = (argv: readonly string[] | undefined, runAs: RunAs, node: Node | undefined, path: string) => {
    if (!argv) return;
    const r = checkScriptSecurity(argv[0] ?? '', runAs);
    if (!r.ok) report(ctx, node, path, refusal(r));
  };
  /** A script's own `user [group]`: its ids, or undefined (reported) when it does not resolve. */
  const ownUser = (user: string, group: string | undefined, node: Node | undefined, path: string): RunAs | undefined => {
    const r = resolveScriptUser(user, group, users);
    if (r.ok) return { uid: r.value.uid, gid: r.value.gid };
    report(ctx, node, path, `enable_script_security: ${r.message}, so the script cannot be checked for the user it runs as`);
    return undefined;
  };
  const items = (parent: Node | undefined, key: string): Array<Node | undefined> => {
    const l = nodeOf(parent, key);
    return isSeq(l) ? (l.items as Node[]) : [];
  };
  const at = (node: Node | undefined, key: string) => nodeOf(node, key) ?? node;

  const instNodes = items(root, 'vrrp_instances');
  config.vrrpInstances.forEach((inst, i) => {
    for (const [k, key] of STATE_KEYS) check(inst.notify[k], notifyAs, at(instNodes[i], key), `vrrp_instances[${i}].${key}`);
  });
  const groupNodes = items(root, 'vrrp_sync_groups');
  (config.vrrpSyncGroups ?? []).forEach((g, i) => {
    if (!g.notify) return;
    for (const [k, key] of STATE_KEYS) check(g.notify[k], notifyAs, at(groupNodes[i], key), `vrrp_sync_groups[${i}].${key}`);
  });
  // Every vrrp_script, tracked or not, as keepalived (an untracked one never runs, but the next
  // edit that tracks it would run it).
  const scriptNodes = items(root, 'vrrp_scripts');
  (config.vrrpScripts ?? []).forEach((s, i) => {
    const p = `vrrp_scripts[${i}]`;
    const runAs = s.user === undefined ? notifyAs : ownUser(s.user, s.group, at(scriptNodes[i], 'user'), `${p}.user`);
    if (runAs) check(s.argv, runAs, at(scriptNodes[i], 'script'), `${p}.script`);
  });
  const vsNodes = items(root, 'virtual_servers');
  byConfigEntry(config.virtualServers).forEach(({ vs, index: i, first }) => {
    if (!first) return; // a group's services: the same scripts, judged once
    const p = `virtual_servers[${i}]`;
    check(vs.quorumUp, notifyAs, at(vsNodes[i], 'quorum_up'), `${p}.quorum_up`);
    check(vs.quorumDown, notifyAs, at(vsNodes[i], 'quorum_down'), `${p}.quorum_down`);
    const rsNodes = items(vsNodes[i], 'real_servers');
    vs.realServers.forEach((rs, j) => {
      const rp = `${p}.real_servers[${j}]`;
      check(rs.notifyUp, notifyAs, at(rsNodes[j], 'notify_up'), `${rp}.notify_up`);
      check(rs.notifyDown, notifyAs, at(rsNodes[j], 'notify_down'), `${rp}.notify_down`);
      const checkNodes = items(rsNodes[j], 'checks');
      (rs.checks ?? []).forEach((c, n) => {
        if (c.kind !== 'misc_check') return;
        const cNode = checkNodes[n];
        const inner = isMap(cNode) ? (nodeOf(cNode, 'misc_check') ?? cNode) : cNode;
        const cp = `${rp}.checks[${n}].misc_check`;
        const runAs = c.user === undefined ? notifyAs : ownUser(c.user, undefined, at(inner, 'user'), `${cp}.user`);
        if (runAs) check(c.argv, runAs, at(inner, 'misc_path'), `${cp}.misc_path`);
      });
    });
  });
}

/** The shape of load.ts's LoadResult this check reads (not imported: load.ts imports this module). */
type Loaded = { ok: true; config: Config; warnings: ConfigIssue[] } | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };
type Refused = Extract<Loaded, { ok: false }>;

/**
 * With enable_script_security, a config file that a non-root user could change is refused when
 * tandem runs as root (`self`), like a script it would run as root: the file, each directory
 * above it and each symbolic link on the way must be root's and not writable by a non-root group
 * or by everyone (a sticky directory such as /tmp passes). keepalived has no such check (see the
 * top of this file). Runs after the file was read and validated, since the file itself says
 * whether the rule applies: a path that passes is one only root can change, so a non-root user
 * cannot have swapped the file between the read and this check without owning, or being able to
 * write, an entry the check looks at.
 *
 * `file` is the name errors show (load.ts displayName()); the error has no line: it is the whole
 * file that is refused.
 */
export function refuseInsecureConfigFile<L extends Loaded>(loaded: L, path: string, file: string, self: RunAs = ownIds()): L | Refused {
  if (!loaded.ok || !loaded.config.global.enableScriptSecurity) return loaded;
  if (self.uid !== 0 && self.gid !== 0) return loaded;
  const r = checkPathSecurity(resolve(path), 'so a non-root user could change which programs tandem runs as root');
  if (r.ok) return loaded;
  return { ok: false, warnings: loaded.warnings, errors: [{ severity: 'error', file, path: '', message: `enable_script_security: config file refused (${r.reason}): ${r.message}` }] };
}
