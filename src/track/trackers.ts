// All trackers of a config: one ScriptTracker per vrrp_script, one FileTracker per track file,
// one ProcessTracker per tracked process, each run once however many instances track it
// (keepalived runs a script once per interval and reports to every instance tracking it), and
// only if some instance tracks it (keepalived: "the script will only be executed if at least
// one VRRP instance monitors it"). Process trackers share one /proc scan.
//
// The VRRP side asks stateFor(instance) on every onChange(instance) and feeds the list, with the
// instance's interfaces, to computePriority() (track/priority.ts).
import { resolveScriptUser } from '../process/users.js';
import { isDeepStrictEqual } from 'node:util';
import type { Config, VrrpInstanceConfig } from '../config/model.js';
import type { TrackFileConfig, TrackProcessConfig, VrrpScriptConfig } from '../config/trackers.js';
import type { Logger } from '../log.js';
import type { TimerHandle, Timers } from '../timers.js';
import { FileTracker, type FileSnapshot } from './fileTracker.js';
import type { TrackerState } from './priority.js';
import { ProcessTracker, readProcs, readProcsYielding, type ProcessSnapshot } from './processTracker.js';
import type { ScriptRunner } from './scriptRunner.js';
import { ScriptTracker, timersTicker, type ScriptSnapshot, type Ticker } from './scriptTracker.js';

export interface TrackersOptions {
  /** How scripts are run: track/scriptRunner.ts runScript in the daemon (daemon/compose.ts). */
  runScript: ScriptRunner;
  /** The /proc scan period's timer and ready()'s bound. */
  timers: Timers;
  /** Ticks for script intervals (default: timersTicker on `timers`). */
  ticker?: Ticker;
  /** /proc scan period for tracked processes (default 1000 ms). */
  processScanMs?: number;
  /** CPU / RSS sample period for tracked processes, status only (default 5000 ms). */
  usageSampleMs?: number;
  /** Safety-net poll of tracked files besides the directory watch (default 5000 ms). */
  filePollMs?: number;
}

export interface TrackersSnapshot {
  scripts: Array<ScriptSnapshot & { trackedBy: string[] }>;
  files: Array<FileSnapshot & { trackedBy: string[] }>;
  processes: Array<ProcessSnapshot & { trackedBy: string[] }>;
}

type RefKey = 'trackScripts' | 'trackFiles' | 'trackProcesses';

export class Trackers {
  private readonly scripts = new Map<string, ScriptTracker>();
  private readonly files = new Map<string, FileTracker>();
  private readonly processes = new Map<string, ProcessTracker>();
  /** Script name -> uid/gid to run as (resolved at start), or why it cannot run. */
  private readonly scriptIds = new Map<string, { uid: number; gid: number } | { error: string }>();
  private scanTimer: TimerHandle | null = null;
  private scanning = false;
  private running = false;
  /** During start(): the first reads set the initial states without onChange (the caller reads stateFor() after start()). */
  private starting = false;

  constructor(
    private config: Config,
    private readonly log: Logger,
    private readonly onChange: (instanceName: string) => void,
    private readonly opts: TrackersOptions,
  ) {
    for (const s of config.vrrpScripts) if (this.users('trackScripts', s.name).length) this.scripts.set(s.name, this.scriptTracker(s));
    for (const f of config.trackFiles) if (this.users('trackFiles', f.name).length) this.files.set(f.name, this.fileTracker(f));
    for (const p of config.trackProcesses) if (this.users('trackProcesses', p.name).length) this.processes.set(p.name, this.processTracker(p));
  }

  private scriptTracker(s: VrrpScriptConfig): ScriptTracker {
    const run = this.opts.runScript;
    return new ScriptTracker(
      { name: s.name, argv: s.argv, intervalMs: s.intervalMs, timeoutMs: s.timeoutMs, rise: s.rise, fall: s.fall, initFail: s.initFail },
      {
        log: this.log.child(`track[script ${s.name}]`),
        onChange: () => this.notify('trackScripts', s.name),
        ticker: this.opts.ticker ?? timersTicker(this.opts.timers),
        run: (argv, o) => {
          const ids = this.scriptIds.get(s.name);
          if (ids && 'error' in ids) return Promise.resolve({ kind: 'spawn_error', detail: ids.error });
          return run(argv, { ...o, uid: ids?.uid, gid: ids?.gid });
        },
      },
    );
  }

  private fileTracker(f: TrackFileConfig): FileTracker {
    return new FileTracker({ name: f.name, path: f.path, init: f.init }, {
      log: this.log.child(`track[file ${f.name}]`),
      onChange: () => this.notify('trackFiles', f.name),
      ...(this.opts.filePollMs !== undefined ? { pollMs: this.opts.filePollMs } : {}),
    });
  }

  private processTracker(p: TrackProcessConfig): ProcessTracker {
    return new ProcessTracker(
      { ...p, quorumMax: p.quorumMax ?? Infinity },
      {
        log: this.log.child(`track[process ${p.name}]`),
        onChange: () => this.notify('trackProcesses', p.name),
        now: () => this.opts.timers.now(),
        ...(this.opts.usageSampleMs !== undefined ? { usageSampleMs: this.opts.usageSampleMs } : {}),
      },
    );
  }

  /**
   * A reload: a tracker whose definition is unchanged (and that some instance still tracks) keeps
   * running with its state (a script that is failing stays failed: no new init_fail or rise);
   * a changed one is replaced by a fresh tracker; an unused one stops. New trackers start at
   * once, files and processes read synchronously as at start. The caller re-reads stateFor()
   * for every instance afterwards (instances' weights may have changed too).
   */
  reconfigure(next: Config): void {
    const prev = this.config;
    this.config = next;
    const sync = <C extends { name: string }, T extends { stop(): void }>(
      map: Map<string, T>, before: readonly C[], after: readonly C[], key: RefKey, make: (c: C) => T,
    ): T[] => {
      const old = new Map(before.map((c) => [c.name, c]));
      const wanted = new Set<string>();
      const fresh: T[] = [];
      for (const c of after) {
        if (this.users(key, c.name).length === 0) continue;
        wanted.add(c.name);
        const running = map.get(c.name);
        if (running && isDeepStrictEqual(old.get(c.name), c)) continue;
        running?.stop();
        const t = make(c);
        map.set(c.name, t);
        fresh.push(t);
      }
      for (const [name, t] of map) if (!wanted.has(name)) { t.stop(); map.delete(name); }
      return fresh;
    };
    const scripts = sync(this.scripts, prev.vrrpScripts, next.vrrpScripts, 'trackScripts', (c) => this.scriptTracker(c));
    const files = sync(this.files, prev.trackFiles, next.trackFiles, 'trackFiles', (c) => this.fileTracker(c));
    const procs = sync(this.processes, prev.trackProcesses, next.trackProcesses, 'trackProcesses', (c) => this.processTracker(c));
    if (!this.running) return;
    this.starting = true;
    try {
      this.resolveScriptUsers();
      for (const f of files) f.start();
      if (procs.length) {
        const all = readProcs(this.procReadOpts());
        for (const p of procs) p.update(all);
      }
      if (this.processes.size > 0 && !this.scanTimer) this.armScan();
      if (this.processes.size === 0 && this.scanTimer) { this.opts.timers.clear(this.scanTimer); this.scanTimer = null; }
    } finally {
      this.starting = false;
    }
    for (const s of scripts) s.start();
  }

  /**
   * Reads files and scans processes once, synchronously, so stateFor() is right as soon as this
   * returns (keepalived reads both at startup), then starts the scripts (each runs at once) and
   * the watches. These first states are not reported through onChange; later changes are.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.starting = true;
    try {
      this.resolveScriptUsers();
      for (const f of this.files.values()) f.start();
      if (this.processes.size > 0) {
        const procs = readProcs(this.procReadOpts());
        for (const p of this.processes.values()) p.update(procs);
        this.armScan();
      }
    } finally {
      this.starting = false;
    }
    for (const s of this.scripts.values()) s.start();
  }

  stop(): void {
    this.running = false;
    for (const s of this.scripts.values()) s.stop();
    for (const f of this.files.values()) f.stop();
    for (const p of this.processes.values()) p.stop();
    if (this.scanTimer) this.opts.timers.clear(this.scanTimer);
    this.scanTimer = null;
  }

  /** A scan every processScanMs, as setInterval would: the next one is armed before this one
   *  runs, so a slow scan does not stretch the period (scan() skips a period instead). */
  private armScan(): void {
    this.scanTimer = this.opts.timers.setTimeout(() => { this.armScan(); this.scan(); }, this.opts.processScanMs ?? 1000);
  }

  /**
   * Resolves when every script has a first result (or after `timeoutMs`). keepalived keeps an
   * instance whose weight-0 script has not reported yet out of service (INIT); starting the VRRP
   * instances after this avoids a FAULT at startup that only means "not run yet".
   */
  ready(timeoutMs = 10_000): Promise<void> {
    const timers = this.opts.timers;
    let timer: TimerHandle | undefined;
    const timeout = new Promise<void>((r) => { timer = timers.setTimeout(r, timeoutMs); });
    return Promise.race([Promise.all([...this.scripts.values()].map((s) => s.ready())).then(() => undefined), timeout])
      .finally(() => timers.clear(timer));
  }

  /** The instance's script, file and process trackers with the weights in force for it. */
  stateFor(instanceName: string): TrackerState[] {
    const inst = this.config.vrrpInstances.find((i) => i.name === instanceName);
    if (!inst) return [];
    const out: TrackerState[] = [];
    for (const ref of inst.trackScripts) {
      const s = this.scripts.get(ref.name);
      const status = s?.status ?? 'init';
      out.push({ kind: 'script', name: ref.name, weight: ref.weight, reverse: ref.reverse, up: status === 'init' ? null : status === 'ok' });
    }
    for (const ref of inst.trackFiles) {
      out.push({ kind: 'file', name: ref.name, weight: ref.weight, reverse: ref.reverse, value: this.files.get(ref.name)?.current ?? 0 });
    }
    for (const ref of inst.trackProcesses) {
      out.push({ kind: 'process', name: ref.name, weight: ref.weight, reverse: ref.reverse, up: this.processes.get(ref.name)?.up ?? null });
    }
    return out;
  }

  snapshot(): TrackersSnapshot {
    return {
      scripts: [...this.scripts.values()].map((s) => ({ ...s.snapshot(), trackedBy: this.users('trackScripts', s.cfg.name) })),
      files: [...this.files.values()].map((f) => ({ ...f.snapshot(), trackedBy: this.users('trackFiles', f.cfg.name) })),
      processes: [...this.processes.values()].map((p) => ({ ...p.snapshot(), trackedBy: this.users('trackProcesses', p.cfg.name) })),
    };
  }

  private users(key: RefKey, name: string): string[] {
    return this.config.vrrpInstances.filter((i: VrrpInstanceConfig) => i[key].some((r) => r.name === name)).map((i) => i.name);
  }

  private notify(key: RefKey, name: string): void {
    if (this.starting) return;
    for (const inst of this.users(key, name)) {
      try {
        this.onChange(inst);
      } catch (e) {
        this.log.error(`tracker change handler for ${inst} failed: ${(e as Error).message}`);
      }
    }
  }

  private procReadOpts(): { comm: boolean; cmdline: boolean } {
    const specs = [...this.processes.values()].map((p) => p.cfg);
    return { comm: specs.some((s) => !s.fullCommand), cmdline: specs.some((s) => s.fullCommand) };
  }

  /** One scan at a time: a scan slower than the period skips a period instead of piling up. */
  private scan(): void {
    if (this.scanning || !this.running) return;
    this.scanning = true;
    readProcsYielding(this.procReadOpts()).then((procs) => {
      if (!this.running) return;
      for (const p of this.processes.values()) p.update(procs);
    }, (e: unknown) => this.log.warn(`reading /proc failed: ${(e as Error).message}`))
      .finally(() => { this.scanning = false; });
  }

  /** keepalived `user USER [GROUP]`: the user's uid and primary group, or the named group
   *  (src/alert/users.ts). A script without `user` runs as global script_user when one is set
   *  (keepalived vrrp_parser.c vrrp_script_end_handler(): default_script_uid/gid), else as tandem. */
  private resolveScriptUsers(): void {
    this.scriptIds.clear();
    const fallback = this.config.global.scriptUser;
    for (const s of this.config.vrrpScripts) {
      if (!this.scripts.has(s.name)) continue;
      if (s.user === undefined) {
        if (fallback) this.scriptIds.set(s.name, { uid: fallback.uid, gid: fallback.gid });
        continue;
      }
      const r = resolveScriptUser(s.user, s.group);
      const ids = r.ok ? { uid: r.value.uid, gid: r.value.gid } : { error: r.message };
      this.scriptIds.set(s.name, ids);
      if ('error' in ids) this.log.error(`vrrp_script ${s.name}: ${ids.error}; every run counts as a failure`);
    }
  }
}
