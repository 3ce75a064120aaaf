// The lab's report (what --json prints) and its human form: a compact status table after each
// step and one line per measurement. Pure: the views are gathered elsewhere (scenario.ts).

export interface StepReport {
  id: 'start' | 'failover' | 'real_server_down' | 'real_server_up' | 'preempt';
  title: string;
  passed: boolean;
  /** Measured times in ms (null: not reached), and counts. */
  measurements: Record<string, number | null>;
  /** Why the step failed (empty when it passed). */
  failures: string[];
  /** What happened, in words, with the measured times. */
  narration: string[];
}

export interface CleanupReport {
  namespacesRemoved: string[];
  processesStopped: number;
  namespacesLeft: string[];
  processesLeft: number[];
  workdirRemoved: boolean;
  ms: number;
}

export interface LabReport {
  tandem: string;
  /** `tlab<pid>`: every namespace of this run starts with it. */
  prefix: string;
  workdir: string;
  configs: string[];
  backend: string | null;
  /** Status pages of the two directors, reachable from the host when hostLink is true. */
  statusPages: string[];
  hostLink: boolean;
  steps: StepReport[];
  passed: boolean;
  interrupted: string | null;
  error: string | null;
  cleanup: CleanupReport | null;
}

export interface DirectorView {
  name: string;
  /** e.g. "pid 1234", "killed", "not started". */
  process: string;
  instances: Array<{ name: string; state: string; priority: number; effective: number }> | null;
  vips: string[];
  /** Per real server name: its role in the daemon's status, and whether nft has it. */
  realServers: Record<string, { role: string | null; inTable: boolean | null }>;
  backend: string | null;
  backendError: string | null;
}

export interface ClientView {
  total: number;
  failed: number;
  byServer: Record<string, number>;
  /** The last few answers (server names, `x` for failures), oldest first. */
  recent: string[];
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => ('  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).trimEnd());
}

/** The status table printed after each step. */
export function renderViews(directors: DirectorView[], client: ClientView, realServerNames: string[], instanceNames: string[]): string[] {
  const header = ['DIRECTOR', 'TANDEM', ...instanceNames, 'PRIO', 'VIPS', ...realServerNames.map((n) => `${n} chk/nft`)];
  const rows = directors.map((d) => [
    d.name,
    d.process,
    ...instanceNames.map((n) => d.instances?.find((i) => i.name === n)?.state ?? '-'),
    d.instances?.length ? String(Math.max(...d.instances.map((i) => i.effective))) : '-',
    d.vips.length ? d.vips.join(' ') : '-',
    ...realServerNames.map((n) => {
      const r = d.realServers[n];
      if (!r || (r.role === null && r.inTable === null)) return '-';
      return `${r.role ?? '?'}/${r.inTable === null ? '?' : r.inTable ? 'in' : 'out'}`;
    }),
  ]);
  const lines = table([header, ...rows]);
  const by = Object.entries(client.byServer).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ');
  lines.push(`  client: ${client.total} requests, ${client.failed} failed; answered by ${by || 'nobody yet'}; last: ${client.recent.join(' ') || '-'}`);
  const errors = directors.filter((d) => d.backendError).map((d) => `  ${d.name} backend error: ${d.backendError}`);
  return [...lines, ...errors];
}

export function seconds(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`;
}

/** The closing summary: one line per step. */
export function renderSummary(r: LabReport): string[] {
  const out = ['', 'Summary'];
  for (const s of r.steps) {
    const m = Object.entries(s.measurements).filter(([, v]) => v !== null)
      .map(([k, v]) => (k.endsWith('Ms') ? `${k.slice(0, -2)} ${seconds(v)}` : `${k} ${v}`)).join(', ');
    out.push(`  ${s.passed ? 'PASS' : 'FAIL'}  ${s.title}${m ? `: ${m}` : ''}`);
    for (const f of s.failures) out.push(`        ${f}`);
  }
  if (r.interrupted) out.push(`  interrupted by ${r.interrupted}`);
  if (r.error) out.push(`  error: ${r.error}`);
  if (r.cleanup) {
    const c = r.cleanup;
    const left = c.namespacesLeft.length || c.processesLeft.length
      ? `; LEFT BEHIND: ${[...c.namespacesLeft, ...c.processesLeft.map((p) => `pid ${p}`)].join(', ')}` : '';
    out.push(`  cleanup: ${c.processesStopped} processes stopped, ${c.namespacesRemoved.length} namespaces removed${c.workdirRemoved ? ', work directory removed' : ''} in ${seconds(c.ms)}${left}`);
  }
  out.push(r.passed ? '  all steps passed' : '  NOT all steps passed');
  return out;
}
