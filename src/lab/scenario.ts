// The steps of `tandem lab`, each one an action and what it measures:
//   start             both directors start; lb1 becomes MASTER; the client's requests flow
//   failover          lb1 crashes (tandem kill -9, cables pulled); lb2 takes over; the client
//                     recovers
//   real_server_down  rs2 stops; the checks take it out of the table; no request fails after
//   real_server_up    rs2 starts; it rejoins the table and answers again
//   preempt           lb1 comes back (as after a reboot) and takes the VIPs back
// Every wait is bounded; a step that times out is reported as failed with what was last seen,
// and the run goes on to the next step where that still makes sense.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fetchFromSocket } from '../api/statusCli.js';
import { DAEMON_NODE_FLAGS } from '../daemon/nodeFlags.js';
import type { DaemonStatus } from '../api/status.js';
import type { LabPlan } from './labPlan.js';
import { recoveryAfter, settledSince, strip, tally, type Sample, parseSample } from './measure.js';
import { LabAborted, nsRun, poll, type LabProcess, type ProcessRegistry } from './proc.js';
import { renderViews, seconds, type ClientView, type DirectorView, type StepReport } from './report.js';
import { rebootClean, setDirectorLinks, type DirectorName, type LabNames } from './topology.js';

const REPO_ROOT = new URL('../../../', import.meta.url).pathname;
const TANDEM_BIN = join(REPO_ROOT, 'bin', 'tandem');
const REAL_SERVER_JS = new URL('./realServer.js', import.meta.url).pathname;
const CLIENT_JS = new URL('./client.js', import.meta.url).pathname;

/** The client's pace: a request every 75 ms; one that takes 800 ms has failed (see client.ts). */
export const CLIENT_INTERVAL_MS = 75;
export const CLIENT_TIMEOUT_MS = 800;
/** Successes in a row that count as "traffic flows" (~0.75 s of requests). */
const FLOWING = 10;
const POLL_MS = 50;

export interface ScenarioIo {
  /** A line of narration. */
  say(line: string): void;
  /** A transient progress line (a terminal redraws it in place; elsewhere it is dropped). */
  progress(line: string | null): void;
  /** Non-null once the lab is being torn down (the signal's name). */
  aborted(): string | null;
}

type StepId = StepReport['id'];

export class Scenario {
  readonly samples: Sample[] = [];
  private readonly daemons = new Map<DirectorName, LabProcess>();
  private readonly realServers = new Map<string, LabProcess>();
  private readonly crashed = new Set<DirectorName>();

  private readonly macs = new Map<DirectorName, string>();
  backendKind: string | null = null;

  constructor(
    private readonly names: LabNames, private readonly plan: LabPlan, private readonly procs: ProcessRegistry,
    private readonly workdir: string, private readonly io: ScenarioIo,
  ) {}

  // ---------------------------------------------------------------------------------------------
  // Processes

  private startDaemon(d: DirectorName): LabProcess {
    const cfg = this.plan.directors[d];
    const p = this.procs.start(`tandem ${d}`, this.names[d],
      [process.execPath, ...DAEMON_NODE_FLAGS, TANDEM_BIN, 'run', '-f', cfg.configFile, '--state-file', join(this.workdir, `${d}.state.json`)],
      { logPath: join(this.workdir, `${d}.log`), cwd: REPO_ROOT, capture: false });
    this.daemons.set(d, p);
    this.crashed.delete(d);
    return p;
  }

  private async startRealServer(i: number): Promise<LabProcess> {
    const rs = this.plan.realServers[i]!;
    const p = this.procs.start(rs.name, this.names.realServers[i]!,
      [process.execPath, REAL_SERVER_JS, rs.name, rs.address, String(rs.port), `${this.names.base}-lab`], { logPath: join(this.workdir, `${rs.name}.log`) });
    this.realServers.set(rs.name, p);
    const r = await poll(() => p.lines.some((l) => l.includes('listening')) || !p.running, 10_000, 20, this.io.aborted);
    if (!r.value || !p.running) throw new Error(`${rs.name} did not start: ${p.tail() || 'no output'}`);
    return p;
  }

  private startClient(): void {
    const url = `http://${this.plan.vip}:${this.plan.port}/`;
    const p = this.procs.start('client', this.names.client,
      [process.execPath, CLIENT_JS, url, String(CLIENT_INTERVAL_MS), String(CLIENT_TIMEOUT_MS), `${this.names.base}-lab`], { logPath: join(this.workdir, 'client.log') });
    p.onLine((line) => {
      const s = parseSample(line);
      if (s) {
        if (this.samples.length >= 200_000) this.samples.splice(0, 50_000);
        this.samples.push(s);
      }
    });

  }

  // ---------------------------------------------------------------------------------------------
  // Observations

  async status(d: DirectorName): Promise<DaemonStatus | null> {
    const p = this.daemons.get(d);
    if (!p?.running) return null;
    try {
      return JSON.parse(await fetchFromSocket(this.plan.directors[d].statusSocket, '/status', 1000)) as DaemonStatus;
    } catch {
      return null;
    }
  }

  /**
   * When the director's instances last changed state (the latest of them), by the daemon's own
   * clock (status last_transition.at): more exact than when a poll saw it.
   */
  private async transitionAt(d: DirectorName): Promise<number | null> {
    const s = await this.status(d);
    const ats = s?.instances.map((i) => (i.last_transition ? Date.parse(i.last_transition.at) : NaN)) ?? [];
    return ats.length && ats.every((x) => Number.isFinite(x)) ? Math.max(...ats) : null;
  }

  /** ms from t0 to the director's last transition, or to when the poll saw it. */
  private async msSince(t0: number, d: DirectorName, seenAt: number): Promise<number> {
    const at = await this.transitionAt(d);
    return at !== null && at >= t0 && at <= seenAt ? at - t0 : seenAt - t0;
  }

  private async allInState(d: DirectorName, state: string): Promise<boolean> {
    const s = await this.status(d);
    return !!s && s.instances.length > 0 && s.instances.every((i) => i.state === state);
  }

  /** The lab's VIPs on a director's interfaces. */
  async vipsOn(d: DirectorName): Promise<string[]> {
    const r = await nsRun(this.names[d], ['ip', '-j', '-4', 'addr', 'show'], { allowFail: true });
    const vips = new Set(this.plan.vipsByInterface.map((v) => v.cidr.split('/')[0]!));
    const out: string[] = [];
    for (const l of JSON.parse(r.stdout || '[]') as Array<{ addr_info?: Array<{ local: string }> }>) {
      for (const a of l.addr_info ?? []) if (vips.has(a.local)) out.push(a.local);
    }
    return out;
  }

  /** Real server names present in the director's nftables table; null if it cannot be read. */
  async inTable(d: DirectorName): Promise<Set<string> | null> {
    const r = await nsRun(this.names[d], ['nft', 'list', 'ruleset'], { allowFail: true, timeoutMs: 5000 });
    if (r.code !== 0) return null;
    const present = new Set<string>();
    for (const rs of this.plan.realServers) {
      if (new RegExp(`(?<![\\d.])${rs.address.replace(/\./g, '\\.')}(?![\\d])`).test(r.stdout)) present.add(rs.name);
    }
    return present;
  }

  private roleOf(s: DaemonStatus | null, rsName: string): string | null {
    const rs = this.plan.realServers.find((r) => r.name === rsName)!;
    const vs = s?.lb?.virtual_servers.find((v) => v.key === this.plan.serviceKey);
    return vs?.real_servers[rs.destKey] ?? null;
  }

  private async mac(d: DirectorName): Promise<string> {
    const known = this.macs.get(d);
    if (known) return known;
    const r = await nsRun(this.names[d], ['ip', '-j', 'link', 'show', 'eth0']);
    const mac = (JSON.parse(r.stdout) as Array<{ address: string }>)[0]!.address;
    this.macs.set(d, mac);
    return mac;
  }

  /** Which director the client's ARP entry for the VIP points at. */
  async clientArp(): Promise<{ lladdr: string | null; director: DirectorName | null }> {
    const r = await nsRun(this.names.client, ['ip', '-j', 'neigh', 'show', this.plan.vip], { allowFail: true });
    const e = (JSON.parse(r.stdout || '[]') as Array<{ lladdr?: string }>)[0];
    const lladdr = e?.lladdr ?? null;
    for (const d of ['lb1', 'lb2'] as const) if (lladdr && lladdr === (await this.mac(d))) return { lladdr, director: d };
    return { lladdr, director: null };
  }

  async views(): Promise<{ directors: DirectorView[]; client: ClientView }> {
    const directors = await Promise.all((['lb1', 'lb2'] as const).map(async (d): Promise<DirectorView> => {
      const p = this.daemons.get(d);
      const [s, vips, table] = await Promise.all([this.status(d), this.crashed.has(d) ? Promise.resolve([]) : this.vipsOn(d),
        this.crashed.has(d) ? Promise.resolve(null) : this.inTable(d)]);
      const realServers: DirectorView['realServers'] = {};
      for (const rs of this.plan.realServers) realServers[rs.name] = { role: this.roleOf(s, rs.name), inTable: table ? table.has(rs.name) : null };
      if (s?.lb) this.backendKind = s.lb.backend.kind;
      return {
        name: d,
        process: this.crashed.has(d) ? 'crashed' : p?.running ? `pid ${p.pid}` : p ? 'stopped' : 'not started',
        instances: s ? s.instances.map((i) => ({ name: i.name, state: i.state, priority: i.priority, effective: i.effective_priority })) : null,
        vips, realServers, backend: s?.lb?.backend.kind ?? null, backendError: s?.lb?.backend.last_error ?? null,
      };
    }));
    const t = tally(this.samples);
    const recent = [...this.samples].sort((a, b) => a.seq - b.seq).slice(-8).map((x) => (x.ok ? x.rs ?? '?' : 'x'));
    return { directors, client: { ...t, recent } };
  }

  async showTable(): Promise<void> {
    const v = await this.views();
    const instanceNames = this.plan.directors.lb1.instances.map((i) => i.name);
    for (const line of renderViews(v.directors, v.client, this.plan.realServers.map((r) => r.name), instanceNames)) this.io.say(line);
  }

  /** Bounded wait with a live progress line (event time and the client's strip). */
  private async waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs: number, since: number):
  Promise<{ value: NonNullable<T> | undefined; atMs: number; last: unknown }> {
    const tick = setInterval(() => {
      this.io.progress(`  ... ${what} (${seconds(Date.now() - since)})  client ${strip(this.samples, since, 50)}`);
    }, 200);
    try {
      return await poll(fn, timeoutMs, POLL_MS, this.io.aborted);
    } finally {
      clearInterval(tick);
      this.io.progress(null);
    }
  }

  private step(id: StepId, title: string): { report: StepReport; fail: (why: string) => void; say: (line: string) => void } {
    const report: StepReport = { id, title, passed: true, measurements: {}, failures: [], narration: [] };
    return {
      report,
      fail: (why) => { report.passed = false; report.failures.push(why); this.io.say(`  FAILED: ${why}`); },
      say: (line) => { report.narration.push(line); this.io.say(`  ${line}`); },
    };
  }

  private clientLine(since: number, until = Infinity): string {
    return `client, one character per request (. answered, x failed, | the event): ${strip(settledSince(this.samples, since - 10 * CLIENT_INTERVAL_MS, until), since)}`;
  }

  // ---------------------------------------------------------------------------------------------
  // Steps

  async stepStart(): Promise<StepReport> {
    const { report, fail, say } = this.step('start', 'lb1 becomes MASTER and the client\'s requests flow');
    for (let i = 0; i < this.plan.realServers.length; i++) await this.startRealServer(i);
    say(`real servers ${this.plan.realServers.map((r) => `${r.name} ${r.address}:${r.port}`).join(', ')} answer HTTP`);
    const t0 = Date.now();
    this.startDaemon('lb1');
    this.startDaemon('lb2');
    this.startClient();
    say(`started tandem on lb1 (priority ${this.plan.directors.lb1.priority}) and lb2 (priority ${this.plan.directors.lb2.priority}) at the same time, and the client (GET http://${this.plan.vip}:${this.plan.port}/ every ${CLIENT_INTERVAL_MS} ms)`);
    const master = await this.waitFor('lb1 to become MASTER', async () => (await this.allInState('lb1', 'MASTER')) && (await this.allInState('lb2', 'BACKUP')), 30_000, t0);
    const lb1Ms = master.value ? await this.msSince(t0, 'lb1', master.atMs) : null;
    report.measurements.lb1MasterMs = lb1Ms;
    if (!master.value) fail(`lb1 did not become MASTER with lb2 BACKUP within 30 s (lb1 log: ${this.daemons.get('lb1')?.tail(5) ?? '-'})`);
    else say(`lb1 is MASTER of ${this.plan.directors.lb1.instances.map((i) => i.name).join(' and ')} ${seconds(lb1Ms)} after the start (node starting, then Master_Down_Interval), lb2 is BACKUP`);
    const flowing = await this.waitFor('the client\'s requests to be answered', () => recoveryAfter(this.samples, t0, FLOWING), 20_000, t0);
    const rec = flowing.value;
    const lb = (await this.status('lb1'))?.lb;
    if (lb) this.backendKind = lb.backend.kind;
    report.measurements.firstAnswerMs = rec ? rec.firstGood.sent + rec.firstGood.ms - t0 : null;
    if (!rec) {
      fail(`the client's requests to ${this.plan.vip}:${this.plan.port} were not answered within 20 s (last errors: ${this.lastErrors()})`);
    } else {
      const answered = tally(settledSince(this.samples, rec.firstGood.sent));
      say(`the client's requests are answered from ${seconds(rec.firstGood.sent + rec.firstGood.ms - t0)} after the start, spread by the ${this.backendKind ? `${this.backendKind} ` : ''}backend's rr scheduler over ${Object.keys(answered.byServer).sort().join(', ')}`);
      if (Object.keys(answered.byServer).length < this.plan.realServers.length) fail(`not every real server answered: ${JSON.stringify(answered.byServer)}`);
    }
    const vips1 = await this.vipsOn('lb1');
    const vips2 = await this.vipsOn('lb2');
    if (vips1.length !== this.plan.vipsByInterface.length || vips2.length) fail(`VIPs should all be on lb1: lb1 has ${vips1.join(' ') || 'none'}, lb2 has ${vips2.join(' ') || 'none'}`);
    return report;
  }

  async stepFailover(): Promise<StepReport> {
    const { report, fail, say } = this.step('failover', 'lb1 crashes; lb2 takes over and the client recovers');
    const lb1 = this.daemons.get('lb1');
    // kill -9 first: with the cables pulled first, tandem would see the carrier go and leave
    // cleanly (FAULT, VIPs removed), which is not a crash.
    const t0 = Date.now();
    await lb1?.kill9();
    await setDirectorLinks(this.names, 'lb1', false);
    this.crashed.add('lb1');
    say(`lb1 crashed: kill -9 of its tandem, and its cables pulled (a dead host: with the cables in, its kernel would go on forwarding with the VIPs and nft rules a killed tandem leaves behind)`);
    const master = await this.waitFor('lb2 to become MASTER', () => this.allInState('lb2', 'MASTER'), 15_000, t0);
    const lb2Ms = master.value ? await this.msSince(t0, 'lb2', master.atMs) : null;
    report.measurements.lb2MasterMs = lb2Ms;
    if (!master.value) fail('lb2 did not become MASTER within 15 s');
    else say(`lb2 is MASTER ${seconds(lb2Ms)} after the crash (Master_Down_Interval: 3 x advert_int + skew, then a GARP for each VIP)`);
    const flowing = await this.waitFor('the client\'s requests to be answered again', () => recoveryAfter(this.samples, t0, FLOWING), 20_000, t0);
    const rec = flowing.value;
    report.measurements.clientRecoveryMs = rec ? rec.recoveryMs : null;
    report.measurements.failedRequests = rec ? rec.failed : null;
    if (!rec) fail(`the client's requests were not answered again within 20 s (last errors: ${this.lastErrors()})`);
    else {
      say(`the client's requests succeed again ${seconds(rec.recoveryMs)} after the crash: ${rec.failed} request(s) failed (${Object.entries(rec.errors).map(([e, n]) => `${n} ${e}`).join(', ') || 'none'})`);
      say(this.clientLine(t0, rec.firstGood.sent + FLOWING * CLIENT_INTERVAL_MS));
    }
    const arp = await this.clientArp();
    if (arp.director === 'lb2') say(`the client's ARP entry for ${this.plan.vip} now points at lb2 (${arp.lladdr}): lb2's gratuitous ARP moved it`);
    else fail(`the client's ARP entry for ${this.plan.vip} is ${arp.lladdr ?? 'missing'}, not lb2's MAC`);
    return report;
  }

  async stepRealServerDown(name = 'rs2'): Promise<StepReport> {
    const { report, fail, say } = this.step('real_server_down', `${name} stops; the checks take it out of the table`);
    const d = this.activeDirector();
    const p = this.realServers.get(name)!;
    const t0 = Date.now();
    await p.stop(2000);
    say(`stopped ${name}'s HTTP server; ${d} (MASTER) probes it every delay_loop with http_get`);
    const [st, nft] = await Promise.all([
      this.waitFor(`${name} to be marked down`, async () => { const r = this.roleOf(await this.status(d), name); return r !== null && r !== 'up'; }, 15_000, t0),
      // Gone from a table that still holds the others (an empty or missing table proves nothing).
      poll(async () => { const t = await this.inTable(d); return t !== null && t.size > 0 && !t.has(name); }, 15_000, POLL_MS, this.io.aborted),
    ]);
    report.measurements.statusDownMs = st.value ? st.atMs - t0 : null;
    report.measurements.tableRemovedMs = nft.value ? nft.atMs - t0 : null;
    if (!st.value) fail(`${d}'s status still shows ${name} up after 15 s`);
    if (!nft.value) fail(`${name} is still in ${d}'s nft table after 15 s`);
    if (st.value && nft.value) {
      say(`${d}'s status shows ${name} down after ${seconds(st.atMs - t0)}; it left the nft table after ${seconds(nft.atMs - t0)}`);
      const removedAt = Math.max(st.atMs, nft.atMs);
      const before = settledSince(this.samples, t0, removedAt);
      const after = await this.waitFor('requests after the removal', () => {
        const s = settledSince(this.samples, removedAt);
        return s.length >= 2 * FLOWING ? s : null;
      }, 10_000, t0);
      const failedBefore = before.filter((x) => !x.ok).length;
      report.measurements.failedBeforeRemoval = failedBefore;
      say(`${failedBefore} request(s) failed between the stop and the removal (the ones the table still sent to ${name}: connection refused)`);
      if (!after.value) fail('too few requests answered after the removal to judge');
      else {
        const failedAfter = after.value.filter((x) => !x.ok).length;
        const fromIt = after.value.filter((x) => x.rs === name).length;
        report.measurements.failedAfterRemoval = failedAfter;
        if (failedAfter || fromIt) fail(`after the removal ${failedAfter} of ${after.value.length} requests failed and ${fromIt} were answered by ${name}`);
        else say(`after the removal all ${after.value.length} requests were answered, none by ${name}`);
        say(this.clientLine(t0, removedAt + 2 * FLOWING * CLIENT_INTERVAL_MS));
      }
    }
    return report;
  }

  async stepRealServerUp(name = 'rs2'): Promise<StepReport> {
    const { report, fail, say } = this.step('real_server_up', `${name} starts again and rejoins the table`);
    const d = this.activeDirector();
    const t0 = Date.now();
    await this.startRealServer(this.plan.realServers.findIndex((r) => r.name === name));
    say(`started ${name}'s HTTP server again (ready ${seconds(Date.now() - t0)} later)`);
    const [st, nft, answer] = await Promise.all([
      this.waitFor(`${name} to be marked up`, async () => this.roleOf(await this.status(d), name) === 'up', 15_000, t0),
      poll(async () => (await this.inTable(d))?.has(name), 15_000, POLL_MS, this.io.aborted),
      poll(() => this.samples.some((s) => s.sent >= t0 && s.rs === name), 15_000, POLL_MS, this.io.aborted),
    ]);
    report.measurements.statusUpMs = st.value ? st.atMs - t0 : null;
    report.measurements.tableAddedMs = nft.value ? nft.atMs - t0 : null;
    const first = this.samples.filter((s) => s.sent >= t0 && s.rs === name).sort((a, b) => a.seq - b.seq)[0];
    report.measurements.firstAnswerMs = first ? first.sent - t0 : null;
    if (!st.value) fail(`${d}'s status does not show ${name} up after 15 s`);
    if (!nft.value) fail(`${name} is not back in ${d}'s nft table after 15 s`);
    if (!answer.value || !first) fail(`${name} answered no request within 15 s`);
    if (st.value && nft.value && first) {
      say(`${d}'s status shows ${name} up after ${seconds(st.atMs - t0)}, back in the nft table after ${seconds(nft.atMs - t0)}; it answered a request sent ${seconds(first.sent - t0)} after its start`);
    }
    const failed = settledSince(this.samples, t0, Date.now() - CLIENT_TIMEOUT_MS).filter((x) => !x.ok).length;
    report.measurements.failedRequests = failed;
    say(`${failed} request(s) failed while ${name} came back`);
    return report;
  }

  async stepPreempt(): Promise<StepReport> {
    const { report, fail, say } = this.step('preempt', 'lb1 comes back and takes the VIPs back');
    // As after a reboot: no VIPs, no nft ruleset; then the cables go back in and tandem starts.
    await rebootClean(this.names, 'lb1', this.plan.vipsByInterface);
    await setDirectorLinks(this.names, 'lb1', true);
    const t0 = Date.now();
    this.startDaemon('lb1');
    say('lb1 is back as after a reboot (no VIPs, empty nft ruleset, cables in) and tandem starts on it');
    const [table, master] = await Promise.all([
      poll(async () => (await this.inTable('lb1'))?.size === this.plan.realServers.length, 20_000, POLL_MS, this.io.aborted),
      this.waitFor('lb1 to preempt', async () => (await this.allInState('lb1', 'MASTER')) && (await this.allInState('lb2', 'BACKUP')), 30_000, t0),
    ]);
    report.measurements.lb1TableReadyMs = table.value ? table.atMs - t0 : null;
    if (table.value) {
      const order = master.value && master.atMs < table.atMs ? 'AFTER it took the VIPs' : 'before it takes the VIPs';
      say(`lb1's nft table holds the ${this.plan.realServers.length} real servers ${seconds(table.atMs - t0)} after its start, ${order}`);
    }
    else fail('lb1\'s nft table did not get the real servers within 20 s');
    const lb1Ms = master.value ? await this.msSince(t0, 'lb1', master.atMs) : null;
    report.measurements.lb1MasterMs = lb1Ms;
    if (!master.value) fail('lb1 did not become MASTER (with lb2 BACKUP) within 30 s');
    else say(`lb1 is MASTER again ${seconds(lb1Ms)} after its start (preempt_delay, then it preempts: priority ${this.plan.directors.lb1.priority} > ${this.plan.directors.lb2.priority}); lb2 is BACKUP`);
    // The VIPs moved when lb1 became MASTER (its own clock); traffic flows again once the
    // requests sent after that end with a run of successes.
    const movedAt = lb1Ms !== null ? t0 + lb1Ms : Date.now();
    const flowing = await this.waitFor('requests through lb1', () => (master.value ? recoveryAfter(this.samples, movedAt, FLOWING) : null), 20_000, t0);
    if (!flowing.value) fail(`the client's requests did not flow after lb1 preempted (last errors: ${this.lastErrors()})`);
    else {
      const failed = settledSince(this.samples, t0, flowing.value.firstGood.sent).filter((x) => !x.ok).length;
      report.measurements.failedRequests = failed;
      report.measurements.clientRecoveryMs = flowing.value.failed ? flowing.value.recoveryMs : 0;
      say(`${failed} request(s) failed while the VIPs moved back${failed ? ` (answered again ${seconds(flowing.value.recoveryMs)} after the move; connections lb2 had NATed lose their state when the VIPs move: conntrackd would sync it)` : ''}`);
      say(this.clientLine(movedAt, flowing.value.firstGood.sent + FLOWING * CLIENT_INTERVAL_MS));
    }
    const arp = await this.clientArp();
    if (arp.director === 'lb1') say(`the client's ARP entry for ${this.plan.vip} points at lb1 again (${arp.lladdr})`);
    else fail(`the client's ARP entry for ${this.plan.vip} is ${arp.lladdr ?? 'missing'}, not lb1's MAC`);
    const vips2 = await this.vipsOn('lb2');
    if (vips2.length) fail(`lb2 still holds ${vips2.join(' ')}`);
    return report;
  }

  /** The director serving now (the one not crashed, lb1 first). */
  private activeDirector(): DirectorName {
    return this.crashed.has('lb1') ? 'lb2' : 'lb1';
  }

  private lastErrors(): string {
    const errs = this.samples.filter((s) => !s.ok).slice(-3).map((s) => s.err ?? '?');
    return errs.length ? errs.join(', ') : 'none';
  }

  /** The daemons' logs, for a failure report. */
  logTail(d: DirectorName, n = 15): string {
    return this.daemons.get(d)?.tail(n) ?? '';
  }

  static abortedError(e: unknown): e is LabAborted {
    return e instanceof LabAborted;
  }

  /** Whether the status socket files are gone (for cleanup). */
  socketsLeft(): string[] {
    return (['lb1', 'lb2'] as const).map((d) => this.plan.directors[d].statusSocket).filter((p) => existsSync(p));
  }
}


