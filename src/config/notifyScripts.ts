// The config of notify scripts and the notify FIFO (issue 4 §1), keepalived's keywords:
//
//   global:
//     notify_fifo: /run/tandem/notify.fifo     # keepalived's line format (src/alert/fifo.ts)
//     script_user: keepalived_script           # `user` or `user group`; default: tandem's own user
//     enable_script_security: true             # refuse scripts a non-root user could change
//     notify_script_timeout: 30                # tandem extension, seconds (keepalived has none)
//   vrrp_instances:
//     - notify_master: /etc/tandem/master.sh            # a string: keepalived's quoting rules
//       notify_backup: "/etc/tandem/to.sh backup 'VI 1'"
//       notify: [/usr/bin/logger, -t, tandem]           # a list: the argv as given
//   virtual_servers:
//     - quorum_up: ... quorum_down: ...
//       real_servers:
//         - notify_up: ... notify_down: ...
//
// A string is split into words by keepalived's rules (src/alert/argv.ts); a list is the argv. The
// program must be an absolute path (keepalived searches PATH and warns; tandem refuses, so what
// runs as root is never decided by PATH). With enable_script_security, these scripts, like every
// other program the config names, are checked at load (src/config/scriptSecurity.ts): a script
// that is missing, not executable, or changeable by a non-root user while it would run as root
// is a config error at its key.
import { isScalar, isSeq } from './yaml.js';
import type { Node, Scalar } from 'yaml';
import { splitScriptString } from '../process/argv.js';
import type { Argv } from '../process/argv.js';
import { resolveScriptUser, systemUserDb, type ResolvedUser } from '../process/users.js';
import { boolean, describe, field, number, report, type Validator } from './fields.js';

/** The notify scripts of a VRRP instance or sync group; undefined = not configured. */
export interface StateNotifyScripts {
  master: Argv | undefined;
  backup: Argv | undefined;
  fault: Argv | undefined;
  stop: Argv | undefined;
  /** The generic `notify`: runs on every state with `INSTANCE|GROUP <name> <state> <priority>`. */
  notify: Argv | undefined;
}

/** script_user, resolved at load: names as written, ids as looked up. */
export type ScriptUser = ResolvedUser;

export const NOTIFY_DEFAULTS = {
  /** tandem's own; keepalived lets notify scripts run for ever. */
  notifyScriptTimeoutS: 30,
} as const;

/** A notify script: `"/path/prog arg 'two words'"` or `[/path/prog, arg, two words]`. */
export const notifyScript: Validator<Argv> = (at, ctx) => {
  let argv: string[];
  if (isSeq(at.node)) {
    argv = [];
    let ok = at.node.items.length > 0;
    if (!ok) report(ctx, at.node, at.path, 'expected a program and its arguments, got an empty list');
    at.node.items.forEach((n, i) => {
      const v = isScalar(n) ? n.value : undefined;
      // Numbers are arguments too (`[/usr/bin/x, --port, 80]`); YAML reads 80 as a number, so the
      // argument is the text as written (`1.50`, `0x10`), not the number printed back.
      if (typeof v === 'string') argv.push(v);
      else if (typeof v === 'number' && Number.isFinite(v)) argv.push((n as Scalar).source ?? String(v));
      else {
        report(ctx, (n as Node | null) ?? at.node, `${at.path}[${i}]`, `expected an argument (text), got ${describe(n as Node | null)}`);
        ok = false;
      }
    });
    if (!ok) return undefined;
  } else {
    const v = isScalar(at.node) ? at.node.value : undefined;
    if (typeof v !== 'string') {
      report(ctx, at.node, at.path, `expected a program path and its arguments (text or a list), got ${describe(at.node)}`);
      return undefined;
    }
    const r = splitScriptString(v);
    if (!r.ok) {
      report(ctx, at.node, at.path, `cannot split into arguments: ${r.message}`);
      return undefined;
    }
    argv = r.argv;
  }
  const program = argv[0] ?? '';
  if (!program.startsWith('/')) {
    report(ctx, at.node, at.path, `expected an absolute program path, got ${JSON.stringify(program)} (tandem does not search PATH)`);
    return undefined;
  }
  if (argv.some((a) => a.includes('\0'))) {
    report(ctx, at.node, at.path, 'an argument contains a NUL character');
    return undefined;
  }
  return argv;
};

/** The five notify keys of a VRRP instance (and of a sync group: spread this into its shape). */
export const stateNotifyFields = {
  notify_master: field(notifyScript),
  notify_backup: field(notifyScript),
  notify_fault: field(notifyScript),
  notify_stop: field(notifyScript),
  notify: field(notifyScript),
};

type RawStateNotify = { [K in keyof typeof stateNotifyFields]?: Argv | undefined };

export function stateNotifyModel(r: RawStateNotify): StateNotifyScripts {
  return { master: r.notify_master, backup: r.notify_backup, fault: r.notify_fault, stop: r.notify_stop, notify: r.notify };
}

/** An absolute path for the FIFO. */
const fifoPath: Validator<string> = (at, ctx) => {
  const v = isScalar(at.node) ? at.node.value : undefined;
  if (typeof v !== 'string' || !v.startsWith('/') || v.endsWith('/') || v.includes('\0')) {
    report(ctx, at.node, at.path, `expected an absolute file path, got ${describe(at.node)}`);
    return undefined;
  }
  return v;
};

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;

/** keepalived's `script_user <user> [<group>]`, resolved to uid/gid now. */
const scriptUser: Validator<ScriptUser> = (at, ctx) => {
  const v = isScalar(at.node) ? at.node.value : undefined;
  const words = typeof v === 'string' ? v.trim().split(/\s+/) : [];
  if (words.length < 1 || words.length > 2 || !words.every((w) => NAME.test(w))) {
    report(ctx, at.node, at.path, `expected "user" or "user group", got ${describe(at.node)}`);
    return undefined;
  }
  const r = resolveScriptUser(words[0]!, words[1], systemUserDb());
  if (!r.ok) {
    report(ctx, at.node, at.path, r.message);
    return undefined;
  }
  return r.value;
};

/** Keys of `global`. */
export const notifyGlobalFields = {
  notify_fifo: field(fifoPath),
  script_user: field(scriptUser),
  enable_script_security: field(boolean, { default: false }),
  // tandem extension: scripts of one instance run in order, so a hung one must end.
  notify_script_timeout: field(number(0.1, 3600, ' seconds'), { default: NOTIFY_DEFAULTS.notifyScriptTimeoutS }),
};

type RawNotifyGlobal = { [K in keyof typeof notifyGlobalFields]?: ReturnType<(typeof notifyGlobalFields)[K]['validate']> };

export interface NotifyGlobalConfig {
  notifyFifo: string | undefined;
  /** undefined: scripts run as tandem's own user. */
  scriptUser: ScriptUser | undefined;
  enableScriptSecurity: boolean;
  notifyScriptTimeoutMs: number;
}

export function notifyGlobalModel(g: RawNotifyGlobal | undefined): NotifyGlobalConfig {
  return {
    notifyFifo: g?.notify_fifo,
    scriptUser: g?.script_user,
    enableScriptSecurity: g?.enable_script_security ?? false,
    notifyScriptTimeoutMs: Math.round((g?.notify_script_timeout ?? NOTIFY_DEFAULTS.notifyScriptTimeoutS) * 1000),
  };
}
