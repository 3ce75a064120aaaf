// Command line: tandem run | check | --help | --version. Exit codes: 0 ok, 1 runtime error,
// 2 invalid config or usage (keepalived -t uses 4/5; 2 is the Unix convention for bad input).
// Each command imports what it needs when it runs (start-up time, issue 15): `--version` and
// `status` load no config module, `check` no daemon module (test/unit/cli-imports.test.ts).
import { parseArgs } from 'node:util';
import type { ConfigIssue } from './config/errors.js';
import type { BackendIssues } from './config/lbBackend.js';
import type { Config } from './config/model.js';
import { VERSION } from './version.js';

const USAGE = `tandem ${VERSION}: VRRP high availability for Linux load-balancer directors

Usage:
  tandem run -f FILE [--state-file PATH]   run in the foreground (logs to stdout / journald)
  tandem check -f FILE [--strict]          validate a config: exit 0 if valid (warnings listed on stderr),
                                           2 with every error; --strict: a warning is an error too
  tandem plan -f FILE                      print the table changes (IPVS or nft) applying FILE would make now
                                           (exit 2 when FILE or a change is refused)
  tandem import [--config-id ID] [--strict] KEEPALIVED_CONF
                                           convert a keepalived.conf to tandem YAML on stdout: exit 0
                                           without loss, 3 with notes (each file:line, on stderr and
                                           atop the YAML; --strict: no YAML then), 2 bad input;
                                           --config-id: read @ID lines as keepalived -i ID does
  tandem realserver -f FILE [--check | --remove]
                                           (root) make this host a real server of an LVS-DR or LVS-TUN
                                           service: VIPs on lo or a tunnel, arp/rp_filter sysctls;
                                           --check: exit 0 ready, 1 with what is missing; --remove:
                                           undo exactly what it did (README: Real servers)
  tandem status [--socket PATH] [--json]   ask the running daemon: instances, servers, trackers, alerts
  tandem reload [--socket PATH] [--json]   make the running daemon re-read its config file (as SIGHUP):
                                           exit 0 applied, 2 refused (every error printed, nothing changed)
  tandem lab [--non-interactive] [--json] [--keep] [--no-host-link]
                                           (root) two directors, three real servers and a client in
                                           network namespaces: failover, a real server down and back
  tandem --help | --version

Options:
  -f, --config FILE     the YAML config (keys are keepalived's keywords in snake_case)
  --state-file PATH     keep a JSON snapshot of the state and counters at PATH
  --socket PATH         status: the daemon's status socket (default /run/tandem/tandem.sock)
  --strict              check: refuse a config with warnings (exit 2)
  --json                status: print the daemon's JSON instead of a table; lab: print the report as JSON
  --non-interactive     lab: run every step without waiting for Enter
  --keep                lab: keep the lab up after the last step until Ctrl-C
  --no-host-link        lab: do not connect the lab's management network (status pages) to this host
  -h, --help            this text
  -V, --version         print the version

Signals (run): SIGTERM or SIGINT stops gracefully: masters send priority 0 and remove VIPs.
SIGHUP reloads the config file, like tandem reload.
`;

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'import') {
    // `tandem import [--config-id ID] [--strict] FILE` parses its own options (src/config/import/cli.ts).
    const { runImport } = await import('./config/import/cli.js');
    return runImport(argv.slice(1));
  }
  if (argv[0] === 'realserver') {
    // `tandem realserver -f FILE [--check | --remove]` parses its own options (src/realserver/command.ts).
    const { runRealServerCli } = await import('./realserver/command.js');
    return runRealServerCli(argv.slice(1));
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        config: { type: 'string', short: 'f' },
        'state-file': { type: 'string' },
        socket: { type: 'string' },
        json: { type: 'boolean' },
        'non-interactive': { type: 'boolean' },
        keep: { type: 'boolean' },
        'no-host-link': { type: 'boolean' },
        strict: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    });
  } catch (e) {
    process.stderr.write(`tandem: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) { process.stdout.write(`tandem ${VERSION}\n`); return 0; }
  const cmd = positionals[0];
  if (values.help || cmd === 'help') { process.stdout.write(USAGE); return 0; }
  if (!cmd) { process.stderr.write(USAGE); return 2; }
  if (cmd === 'import') {
    // `tandem import FILE`: YAML on stdout, what was not converted on stderr (src/config/import/).
    const { runImport } = await import('./config/import/cli.js');
    return runImport(values.config !== undefined ? [values.config, ...positionals.slice(1)] : positionals.slice(1));
  }
  if (positionals.length > 1) { process.stderr.write(`tandem: unexpected argument ${positionals[1]}\n`); return 2; }
  const needConfig = (): string | undefined => {
    if (!values.config) process.stderr.write(`tandem ${cmd}: -f FILE is required\n`);
    return values.config;
  };
  switch (cmd) {
    case 'check': {
      const file = needConfig();
      if (!file) return 2;
      const strict = values.strict === true;
      const { loadConfigFile } = await import('./config/load.js');
      const { countIssues } = await import('./config/errors.js');
      const r = loadConfigFile(file);
      // global.backend auto: check against the backend `tandem run` would pick on this machine.
      const unfit = r.ok ? await backendErrors(r) : { errors: [], kind: undefined };
      const errors = r.ok ? unfit.errors : r.errors;
      const found = await printIssues(errors, r.warnings, strict);
      if (found.errors) {
        const why = strict && found.warningsAsErrors ? ' (--strict: warnings count as errors)'
          : unfit.errors.length ? ` (global.backend: auto is the ${unfit.kind} backend on this machine)` : '';
        process.stderr.write(`${file}: ${countIssues(found.errors, strict ? 0 : r.warnings.length)}${why}\n`);
        return 2;
      }
      const config: Config = (r as { config: Config }).config;
      const n = config.vrrpInstances.length;
      const v = config.virtualServers.length;
      const w = r.warnings.length;
      process.stdout.write(`${file}: OK (${n} VRRP instance${n === 1 ? '' : 's'}, ${v} virtual server${v === 1 ? '' : 's'}` +
        `${w ? `; ${w} warning${w === 1 ? '' : 's'}, listed on stderr` : ''})\n`);
      return 0;
    }
    case 'plan': {
      const file = needConfig();
      if (!file) return 2;
      const { loadConfigFile } = await import('./config/load.js');
      const { countIssues } = await import('./config/errors.js');
      const r = loadConfigFile(file);
      const unfit = r.ok ? await backendErrors(r) : { errors: [], kind: undefined };
      const found = await printIssues(r.ok ? unfit.errors : r.errors, r.warnings, false);
      if (!r.ok || found.errors) {
        process.stderr.write(`${file}: ${countIssues(found.errors, r.warnings.length)}: nothing to plan\n`);
        return 2;
      }
      const { composePlan } = await import('./daemon/composeLate.js');
      return composePlan(r.config);
    }
    case 'status': {
      // src/api/statusCli.ts: exit 1 with one line when no daemon answers.
      const { runStatus } = await import('./api/statusCli.js');
      return runStatus({ socket: values.socket, json: values.json });
    }
    case 'reload': {
      const { runReload } = await import('./api/statusCli.js');
      return runReload({ socket: values.socket, json: values.json });
    }
    case 'lab': {
      // src/lab/: builds, narrates and removes the namespace lab; --json prints only the report.
      const { runLab } = await import('./lab/main.js');
      const json = values.json === true;
      return runLab({
        json, keep: values.keep === true, hostLink: values['no-host-link'] !== true,
        interactive: !json && values['non-interactive'] !== true && !!process.stdin.isTTY && !!process.stdout.isTTY,
      });
    }
    case 'run': {
      const file = needConfig();
      if (!file) return 2;
      const { runDaemon } = await import('./daemon/run.js');
      const { composeDaemon } = await import('./daemon/compose.js');
      return runDaemon({ configFile: file, stateFile: values['state-file'], parts: composeDaemon(), signals: process });
    }
    default:
      process.stderr.write(`tandem: unknown command ${cmd}\n\n${USAGE}`);
      return 2;
  }
}

/**
 * Prints errors and warnings to stderr in the order of the file (config/errors.ts). With
 * `strict`, a warning is printed and counted as an error. Returns how many errors there were.
 */
async function printIssues(errors: readonly ConfigIssue[], warnings: readonly ConfigIssue[], strict: boolean): Promise<{ errors: number; warningsAsErrors: number }> {
  const { formatConfigError, inFileOrder } = await import('./config/errors.js');
  const shown = inFileOrder([...errors, ...warnings.map((w) => (strict ? { ...w, severity: 'error' as const, message: `${w.message} (a warning; --strict)` } : w))]);
  for (const i of shown) process.stderr.write(formatConfigError(i) + '\n');
  return { errors: errors.length + (strict ? warnings.length : 0), warningsAsErrors: strict ? warnings.length : 0 };
}

/** What the backend `tandem run` would pick here cannot express (global.backend: auto). */
async function backendErrors(loaded: { config: Config; backendIssues: BackendIssues }): Promise<{ errors: ConfigIssue[]; kind: string | undefined }> {
  const { config } = loaded;
  if (!config.virtualServers.length) return { errors: [], kind: undefined };
  const { backendConfigErrors } = await import('./config/lbBackend.js');
  const { resolveBackendKind } = await import('./lb/select.js');
  const { hostHasIpvs } = await import('./daemon/compose.js');
  const kind = resolveBackendKind(config.global, hostHasIpvs);
  return { errors: backendConfigErrors(loaded, kind), kind };
}
