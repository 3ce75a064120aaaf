// keepalived as a test peer: render a keepalived.conf for one director, run keepalived (VRRP
// only, foreground) inside a namespace, read its log. keepalived really checks TTL, checksum,
// auth and address lists and logs why it drops a packet, so it is an honest judge of ours.
import { readFileSync, writeFileSync } from 'node:fs';
import type { DirectorSpec, VrrpInstanceSpec } from './director-spec.js';
import type { Lab, LabNode, NsProcess } from './netns.js';
import { requireTools, waitFor } from './netns.js';

export type KeepalivedInstanceSpec = VrrpInstanceSpec;
export type KeepalivedConfigSpec = DirectorSpec;

/** Renders keepalived.conf text (keepalived 2.2 syntax). */
export function renderKeepalivedConf(spec: KeepalivedConfigSpec): string {
  const out: string[] = [];
  out.push('global_defs {');
  out.push(`  router_id ${spec.routerId}`);
  // The tests run as root with no script user: keep keepalived from warning about it.
  out.push('  script_user root');
  out.push('  enable_script_security');
  out.push('}');
  const block = (indent: string, name: string, lines: string[] | undefined) => {
    if (!lines?.length) return;
    out.push(`${indent}${name} {`, ...lines.map((l) => `${indent}  ${l}`), `${indent}}`);
  };
  block('', 'static_ipaddress', spec.staticAddresses);
  block('', 'static_routes', spec.staticRoutes);
  block('', 'static_rules', spec.staticRules);
  for (const i of spec.instances) {
    const ifname = i.interface ?? 'eth0';
    out.push('', `vrrp_instance ${i.name} {`);
    out.push(`  state ${i.state ?? 'BACKUP'}`);
    out.push(`  interface ${ifname}`);
    out.push(`  virtual_router_id ${i.vrid}`);
    out.push(`  version ${i.version}`);
    out.push(`  priority ${i.priority}`);
    out.push(`  advert_int ${i.advertInt}`);
    if (i.useVmac) out.push('  use_vmac');
    if (i.preempt === false) out.push('  nopreempt');
    if (i.preemptDelay) out.push(`  preempt_delay ${i.preemptDelay}`);
    if (i.unicastSrcIp) out.push(`  unicast_src_ip ${i.unicastSrcIp}`);
    if (i.unicastPeers && i.unicastPeers.length > 0) {
      out.push('  unicast_peer {');
      for (const p of i.unicastPeers) out.push(`    ${p}`);
      out.push('  }');
    }
    if (i.authPass !== undefined) {
      out.push('  authentication {', '    auth_type PASS', `    auth_pass ${i.authPass}`, '  }');
    }
    if (i.garpMasterRepeat !== undefined) out.push(`  garp_master_repeat ${i.garpMasterRepeat}`);
    if (i.garpMasterDelay !== undefined) out.push(`  garp_master_delay ${i.garpMasterDelay}`);
    if (i.garpMasterRefresh !== undefined) out.push(`  garp_master_refresh ${i.garpMasterRefresh}`);
    if (i.trackInterfaces && i.trackInterfaces.length > 0) {
      out.push('  track_interface {');
      for (const t of i.trackInterfaces) out.push(`    ${t.interface}${t.weight ? ` weight ${t.weight}` : ''}`);
      out.push('  }');
    }
    if (i.vips.length > 0) {
      out.push('  virtual_ipaddress {');
      // With use_vmac a `dev` would put the VIP on that interface instead of the VMAC.
      for (const v of i.vips) out.push(i.useVmac ? `    ${v}` : `    ${v} dev ${ifname}`);
      out.push('  }');
    }
    if (i.vipsExcluded && i.vipsExcluded.length > 0) {
      out.push('  virtual_ipaddress_excluded {');
      for (const v of i.vipsExcluded) out.push(`    ${v} dev ${ifname}`);
      out.push('  }');
    }
    block('  ', 'virtual_routes', i.virtualRoutes);
    block('  ', 'virtual_rules', i.virtualRules);
    out.push('}');
  }
  return out.join('\n') + '\n';
}

export type VrrpStateName = 'MASTER' | 'BACKUP' | 'FAULT';

/**
 * Lines in keepalived's log that say it rejected or disagreed with a received packet: its
 * receive-check messages in keepalived/vrrp/vrrp.c (2.2.7: "vrrp packet too short", "invalid
 * TTL/HL", "wrong version", "received a 0 auth, expecting 1!", "Invalid VRRPv3 checksum", "ip
 * address associated with VRID 51 not present in MASTER advert", ...), plus any generic
 * bad/error/dropped line.
 */
export const KEEPALIVED_COMPLAINT = new RegExp([
  'packet too (short|long)', 'invalid', 'wrong version', 'auth, expecting', 'mismatch',
  'unexpected ip number count', 'Expected \\w+icast packet', 'expected \\d+ VIPs', 'not present in MASTER advert',
  'not in range', 'checksum', 'advertisement interval updated', 'with our IP address', 'AH header',
  '\\bbad\\b', '\\berror\\b', '\\bdropped\\b',
].join('|'), 'i');

export class Keepalived {
  private constructor(
    readonly lab: Lab,
    readonly node: LabNode,
    readonly proc: NsProcess,
    readonly confPath: string,
    readonly pidFile: string,
    readonly vrrpPidFile: string,
  ) {}

  /**
   * Starts `keepalived --dont-fork --log-console --log-detail --vrrp` in the node's namespace
   * with its own pid files, and waits until its VRRP child has started.
   */
  static async start(lab: Lab, node: LabNode, spec: KeepalivedConfigSpec, tag = node.name): Promise<Keepalived> {
    requireTools('keepalived');
    const stamp = `${tag}-${Date.now()}`;
    const confPath = lab.path(`keepalived-${stamp}.conf`);
    const pidFile = lab.path(`keepalived-${stamp}.pid`);
    const vrrpPidFile = lab.path(`keepalived-${stamp}-vrrp.pid`);
    writeFileSync(confPath, renderKeepalivedConf(spec));
    const proc = lab.spawn(node, [
      'keepalived', '--dont-fork', '--log-console', '--log-detail', '--vrrp',
      '-f', confPath, '-p', pidFile, '-r', vrrpPidFile,
    ], { logPath: lab.path(`keepalived-${stamp}.log`) });
    const k = new Keepalived(lab, node, proc, confPath, pidFile, vrrpPidFile);
    // Every instance logs its initial state once the VRRP child runs.
    for (const i of spec.instances) {
      await proc.waitForLine(new RegExp(`\\(${i.name}\\) Entering (BACKUP|MASTER|FAULT) STATE`), 15_000);
    }
    return k;
  }

  get lines(): string[] {
    return this.proc.lines;
  }

  /** Index into lines, to look only at what is logged after this moment. */
  get mark(): number {
    return this.proc.lines.length;
  }

  /** Waits for `(NAME) Entering STATE STATE` logged at or after line index `from`. */
  async waitForState(instance: string, state: VrrpStateName, timeoutMs: number, from = 0): Promise<string> {
    const r = await this.proc.waitForLine(new RegExp(`\\(${instance}\\) Entering ${state} STATE`), timeoutMs, from);
    return r.line;
  }

  /** The last state keepalived logged for an instance, or null. */
  currentState(instance: string): VrrpStateName | null {
    const re = new RegExp(`\\(${instance}\\) Entering (MASTER|BACKUP|FAULT) STATE`);
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const m = re.exec(this.lines[i]!);
      if (m) return m[1] as VrrpStateName;
    }
    return null;
  }

  /** Log lines (from index `from`) that complain about a received packet. */
  complaints(from = 0): string[] {
    return this.lines.slice(from).filter((l) => KEEPALIVED_COMPLAINT.test(l));
  }

  /** pid of keepalived's VRRP child (the process that sends adverts). */
  async vrrpChildPid(): Promise<number> {
    return waitFor(() => Number(readFileSync(this.vrrpPidFile, 'utf8').trim()) || 0, { timeoutMs: 5000, what: 'keepalived VRRP child pid file' });
  }

  /**
   * A crash: SIGSTOP both the parent and the VRRP child first (so neither can react to the
   * other's death: the parent would respawn the child, the child would get a parent-death
   * signal and send a priority-0 advert), then SIGKILL both.
   */
  async kill9(): Promise<void> {
    const child = await this.vrrpChildPid().catch(() => 0);
    const pids = [child, this.proc.pid].filter((p) => p > 0);
    for (const p of pids) { try { process.kill(p, 'SIGSTOP'); } catch { /* gone */ } }
    for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await this.proc.kill9();
  }

  /** Graceful stop (SIGTERM): keepalived sends priority-0 adverts and removes its VIPs. */
  async stop(timeoutMs = 10_000): Promise<number | null> {
    this.proc.signal('SIGTERM');
    if (!(await this.proc.waitExit(timeoutMs))) {
      await this.kill9();
      throw new Error(`keepalived in ${this.node.ns} did not exit within ${timeoutMs} ms of SIGTERM\n${this.proc.tail()}`);
    }
    return this.proc.exitCode;
  }

  tail(n = 40): string {
    return this.proc.tail(n);
  }
}
