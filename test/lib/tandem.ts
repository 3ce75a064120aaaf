// The tandem daemon under test: write its YAML config, run `tandem run` in a lab namespace,
// read the state file it rewrites atomically on every change (the daemon's contract), stop it
// gracefully (SIGTERM) or crash it (SIGKILL).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/nodeFlags.js';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { DirectorSpec } from './director-spec.js';
import type { Lab, LabNode, NsProcess } from './netns.js';
import { run, waitFor } from './netns.js';

/** The repository root (this file runs from dist/test/lib/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const TANDEM_BIN = `${REPO_ROOT}bin/tandem`;

export type TandemStateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

export interface TandemInstanceState {
  name: string;
  vrid: number;
  family: 4 | 6;
  state: TandemStateName;
  priority: number;
  effective_priority: number;
  master_ip: string | null;
  transitions: number;
}

export type DropReason =
  | 'too_short' | 'bad_length' | 'bad_ttl' | 'bad_version' | 'auth_type_mismatch' | 'bad_auth'
  | 'advert_int_mismatch' | 'bad_type' | 'bad_checksum' | 'unknown_vrid' | 'unicast_peer_unknown'
  | 'own_packet' | 'bad_source';

export interface TandemStateFile {
  pid: number;
  router_id: string;
  instances: TandemInstanceState[];
  rx: {
    accepted: number;
    drops: Partial<Record<DropReason, number>> & Record<string, number>;
    notes?: Record<string, number>;
  };
}

/** tandem's YAML config for a director (keys are keepalived keywords in snake_case). */
export function renderTandemConfig(spec: DirectorSpec): string {
  const doc = {
    vrrp_instances: spec.instances.map((i) => {
      const o: Record<string, unknown> = {
        name: i.name,
        interface: i.interface ?? 'eth0',
        virtual_router_id: i.vrid,
        version: i.version,
        priority: i.priority,
        advert_int: i.advertInt,
      };
      if (i.preempt !== undefined) o.preempt = i.preempt;
      if (i.preemptDelay !== undefined) o.preempt_delay = i.preemptDelay;
      if (i.unicastSrcIp !== undefined) o.unicast_src_ip = i.unicastSrcIp;
      if (i.unicastPeers !== undefined) o.unicast_peers = i.unicastPeers;
      if (i.authPass !== undefined) o.authentication = { auth_type: 'PASS', auth_pass: i.authPass };
      o.virtual_ipaddresses = i.vips;
      if (i.vipsExcluded !== undefined) o.virtual_ipaddresses_excluded = i.vipsExcluded;
      if (i.trackInterfaces !== undefined) {
        o.track_interfaces = i.trackInterfaces.map((t) => ({ interface: t.interface, weight: t.weight ?? 0 }));
      }
      if (i.garpMasterRepeat !== undefined) o.garp_master_repeat = i.garpMasterRepeat;
      if (i.garpMasterDelay !== undefined) o.garp_master_delay = i.garpMasterDelay;
      if (i.garpMasterRefresh !== undefined) o.garp_master_refresh = i.garpMasterRefresh;
      if (i.useVmac) o.use_vmac = true;
      if (i.virtualRoutes !== undefined) o.virtual_routes = i.virtualRoutes;
      if (i.virtualRules !== undefined) o.virtual_rules = i.virtualRules;
      return { ...o, ...i.tandemExtra };
    }),
    ...(spec.syncGroups ? { vrrp_sync_groups: spec.syncGroups.map((g) => ({ name: g.name, group: g.members, ...g.tandemExtra })) } : {}),
    ...spec.tandemTop,
    global: {
      router_id: spec.routerId,
      ...(spec.staticAddresses ? { static_ipaddress: spec.staticAddresses } : {}),
      ...(spec.staticRoutes ? { static_routes: spec.staticRoutes } : {}),
      ...(spec.staticRules ? { static_rules: spec.staticRules } : {}),
      ...(spec.tandemTop?.global as Record<string, unknown> | undefined),
    },
  };
  return stringify(doc);
}

/** Throws with a clear message if the daemon has not been built. */
export function requireTandemBuilt(): void {
  const cli = `${REPO_ROOT}dist/src/cli.js`;
  if (!existsSync(TANDEM_BIN) || !existsSync(cli)) {
    throw new Error(`tandem is not built (${TANDEM_BIN}, ${cli}): run npm run build`);
  }
}

export class Tandem {
  private constructor(
    readonly lab: Lab,
    readonly node: LabNode,
    readonly proc: NsProcess,
    readonly configPath: string,
    readonly statePath: string,
    /** The status socket the config names (reload and status go through it). */
    readonly socketPath: string,
  ) {}

  /** Rewrites the daemon's config file from `spec` (same status socket); a reload picks it up. */
  writeConfig(spec: DirectorSpec | string): void {
    if (typeof spec === 'string') { writeFileSync(this.configPath, spec); return; }
    const top = spec.tandemTop ?? {};
    writeFileSync(this.configPath, renderTandemConfig({
      ...spec, tandemTop: { ...top, global: { status_socket: this.socketPath, ...(top.global as object | undefined) } },
    }));
  }

  /** `tandem reload --socket ...`: exit code and output. */
  reload(json = false): Promise<{ code: number; stdout: string; stderr: string }> {
    return run([process.execPath, TANDEM_BIN, 'reload', '--socket', this.socketPath, ...(json ? ['--json'] : [])],
      { allowFail: true, timeoutMs: 60_000 });
  }

  /**
   * Runs `node bin/tandem run -f CONFIG --state-file STATE` in the node's namespace and waits
   * until the state file shows this process with every configured instance.
   */
  static async start(lab: Lab, node: LabNode, spec: DirectorSpec, tag = node.name, opts: { wrap?: string[] } = {}): Promise<Tandem> {
    requireTandemBuilt();
    const stamp = `${tag}-${Date.now()}`;
    const configPath = lab.path(`tandem-${stamp}.yaml`);
    const statePath = lab.path(`tandem-${stamp}.state.json`);
    // Each daemon gets a status socket in the lab's directory (removed with the lab), not the
    // default /run/tandem/tandem.sock that a kill -9 would leave behind on the host.
    const top = spec.tandemTop ?? {};
    const socketPath = ((top.global as { status_socket?: string } | undefined)?.status_socket) ?? lab.path(`tandem-${stamp}.sock`);
    spec = { ...spec, tandemTop: { ...top, global: { status_socket: socketPath, ...(top.global as object | undefined) } } };
    writeFileSync(configPath, renderTandemConfig(spec));
    // `wrap`: a command that execs the rest (e.g. prlimit --nofile=64 --), so the pid is tandem's.
    const proc = lab.spawn(node, [...(opts.wrap ?? []), process.execPath, ...DAEMON_NODE_FLAGS, TANDEM_BIN, 'run', '-f', configPath, '--state-file', statePath], {
      logPath: lab.path(`tandem-${stamp}.log`),
      cwd: REPO_ROOT,
    });
    const t = new Tandem(lab, node, proc, configPath, statePath, socketPath);
    try {
      await waitFor(() => {
        if (!proc.running) throw new Error(`exited with ${proc.exitCode ?? proc.exitSignal}`);
        const s = t.readState();
        return s !== null && s.pid === proc.pid && spec.instances.every((i) => s.instances.some((x) => x.name === i.name));
      }, { timeoutMs: 15_000, what: `tandem state file ${statePath} with pid ${proc.pid}` });
    } catch (err) {
      await proc.kill9();
      throw new Error(`tandem did not start in ${node.ns}: ${(err as Error).message}\n--- config ---\n${renderTandemConfig(spec)}--- log ---\n${proc.tail()}`);
    }
    return t;
  }

  /** The state file, or null if it does not exist yet or cannot be parsed. */
  readState(): TandemStateFile | null {
    let text: string;
    try { text = readFileSync(this.statePath, 'utf8'); } catch { return null; }
    try { return JSON.parse(text) as TandemStateFile; } catch { return null; }
  }

  instance(name = 'VI_1'): TandemInstanceState | null {
    return this.readState()?.instances.find((i) => i.name === name) ?? null;
  }

  state(name = 'VI_1'): TandemStateName | null {
    return this.instance(name)?.state ?? null;
  }

  /** Waits until the instance reports `state` (throws early if the daemon dies). */
  async waitForState(name: string, state: TandemStateName, timeoutMs: number): Promise<TandemInstanceState> {
    try {
      return await waitFor(() => {
        if (!this.proc.running) throw new Error(`tandem exited with ${this.proc.exitCode ?? this.proc.exitSignal}`);
        const i = this.instance(name);
        return i?.state === state ? i : null;
      }, { timeoutMs, intervalMs: 20, what: `${this.node.name} ${name} ${state}` });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nstate file: ${JSON.stringify(this.readState())}\n--- ${this.node.name} log ---\n${this.tail()}`);
    }
  }

  get running(): boolean {
    return this.proc.running;
  }

  /** A crash: SIGKILL, no chance to send priority 0 or remove VIPs. */
  async kill9(): Promise<void> {
    await this.proc.kill9();
  }

  /** Graceful stop (SIGTERM); resolves with the exit code, throws if it does not exit in time. */
  async stop(timeoutMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.proc.signal(signal);
    if (!(await this.proc.waitExit(timeoutMs))) {
      await this.proc.kill9();
      throw new Error(`tandem in ${this.node.ns} did not exit within ${timeoutMs} ms of ${signal}\n${this.tail()}`);
    }
    return this.proc.exitCode;
  }

  tail(n = 40): string {
    return this.proc.tail(n);
  }
}
