// vrrp_script: the rise/fall machine (keepalived's `result` counter), the adapter with a manual
// ticker and a scripted runner (one run in flight, skipped ticks), and real /bin/sh scripts
// through the runner (exit status, timeout that kills the whole process group, TERM ignored).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { KILL_GRACE_MS, runScript, type RunScriptOptions, type ScriptOutcome } from '../../src/track/scriptRunner.js';
import {
  initialScriptState, judgeOutcome, scriptStep, ScriptTracker, timersTicker, type ScriptMachineConfig, type ScriptStatus, type Ticker,
} from '../../src/track/scriptTracker.js';
import { createSystemTimers } from '../../src/timers.js';

const quiet = createLogger({ write: () => undefined });

/** Feeds results; returns the status after each and whether it changed. */
function run(cfg: ScriptMachineConfig, results: boolean[]): Array<[ScriptStatus, boolean]> {
  let st = initialScriptState(cfg);
  return results.map((ok) => {
    const r = scriptStep(cfg, st, ok);
    st = r.state;
    return [st.status, r.changed];
  });
}

describe('scriptStep (rise/fall)', () => {
  it('defaults (rise 1, fall 1): each result decides, starting from "no result yet"', () => {
    const cfg = { rise: 1, fall: 1, initFail: false };
    assert.equal(initialScriptState(cfg).status, 'init');
    assert.deepEqual(run(cfg, [true, true, false, false, true]),
      [['ok', true], ['ok', false], ['failed', true], ['failed', false], ['ok', true]]);
  });
  it('from "no result yet" one success is enough even with rise 3, and one failure fails', () => {
    assert.deepEqual(run({ rise: 3, fall: 2, initFail: false }, [true]), [['ok', true]]);
    assert.deepEqual(run({ rise: 3, fall: 2, initFail: false }, [false]), [['failed', true]]);
  });
  it('init_fail starts failed and needs rise successes in a row', () => {
    const cfg = { rise: 3, fall: 2, initFail: true };
    assert.equal(initialScriptState(cfg).status, 'failed');
    assert.deepEqual(run(cfg, [true, true, false, true, true, true]),
      [['failed', false], ['failed', false], ['failed', false], ['failed', false], ['failed', false], ['ok', true]]);
  });
  it('fall failures in a row turn OK into FAILED; a success in between starts over', () => {
    const cfg = { rise: 2, fall: 3, initFail: false };
    assert.deepEqual(run(cfg, [true, false, false, true, false, false, false]),
      [['ok', true], ['ok', false], ['ok', false], ['ok', false], ['ok', false], ['ok', false], ['failed', true]]);
  });
  it('judges outcomes: only exit 0 is a success; a timeout is a failure', () => {
    const outcomes: Array<[ScriptOutcome, string]> = [
      [{ kind: 'exit', code: 0 }, 'ok'], [{ kind: 'exit', code: 1 }, 'exit_status'], [{ kind: 'exit', code: 255 }, 'exit_status'],
      [{ kind: 'signal', signal: 'SIGSEGV' }, 'killed'], [{ kind: 'timeout' }, 'timeout'], [{ kind: 'stopped' }, 'killed'],
      [{ kind: 'spawn_error', detail: 'x' }, 'spawn_error'],
    ];
    for (const [o, v] of outcomes) assert.equal(judgeOutcome(o), v, JSON.stringify(o));
  });
});

/** A ticker the test fires by hand. */
class ManualTicker implements Ticker {
  fns: Array<() => void> = [];
  every(_ms: number, fn: () => void) {
    this.fns.push(fn);
    return { cancel: () => { this.fns = this.fns.filter((f) => f !== fn); } };
  }
  tick() { for (const f of [...this.fns]) f(); }
}

/** A runner whose runs the test completes by hand. */
class ScriptedRunner {
  calls: Array<{ argv: readonly string[]; opts: RunScriptOptions; resolve: (o: ScriptOutcome) => void }> = [];
  run = (argv: readonly string[], opts: RunScriptOptions) => new Promise<ScriptOutcome>((resolve) => { this.calls.push({ argv, opts, resolve }); });
}
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('ScriptTracker (manual ticker, scripted runner)', () => {
  const cfg = { name: 'chk', argv: ['/bin/true'], intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 2, initFail: false };

  it('runs at once, then once per tick, never two at a time; skipped ticks are counted', async () => {
    const ticker = new ManualTicker();
    const runner = new ScriptedRunner();
    const changes: ScriptStatus[] = [];
    const t = new ScriptTracker(cfg, { run: runner.run, log: quiet, onChange: (s) => changes.push(s), ticker });
    t.start();
    assert.equal(runner.calls.length, 1, 'the first run starts at once');
    assert.equal(runner.calls[0]!.opts.timeoutMs, 500);
    ticker.tick(); ticker.tick();
    assert.equal(runner.calls.length, 1, 'no second run while the first is going');
    assert.equal(t.snapshot().skipped, 2);
    runner.calls[0]!.resolve({ kind: 'exit', code: 0 });
    await settle();
    assert.equal(t.status, 'ok');
    assert.deepEqual(changes, ['ok']);
    ticker.tick();
    assert.equal(runner.calls.length, 2);
    runner.calls[1]!.resolve({ kind: 'timeout' });
    await settle();
    assert.equal(t.status, 'ok', 'fall 2: one failure is not enough');
    ticker.tick();
    runner.calls[2]!.resolve({ kind: 'exit', code: 1 });
    await settle();
    assert.equal(t.status, 'failed');
    assert.deepEqual(changes, ['ok', 'failed']);
    assert.deepEqual(t.snapshot().last, { verdict: 'exit_status', detail: 'exit 1' });
    t.stop();
    ticker.tick();
    assert.equal(runner.calls.length, 3, 'no runs after stop');
  });

  it('ready() waits for the first result; stop() aborts the run in flight and ignores its outcome', async () => {
    const ticker = new ManualTicker();
    const runner = new ScriptedRunner();
    const changes: ScriptStatus[] = [];
    const t = new ScriptTracker(cfg, { run: runner.run, log: quiet, onChange: (s) => changes.push(s), ticker });
    let ready = false;
    void t.ready().then(() => { ready = true; });
    t.start();
    await settle();
    assert.equal(ready, false);
    runner.calls[0]!.resolve({ kind: 'exit', code: 3 });
    await settle();
    assert.equal(ready, true);
    assert.equal(t.status, 'failed');
    ticker.tick();
    const inFlight = runner.calls[1]!;
    t.stop();
    assert.equal(inFlight.opts.signal?.aborted, true);
    inFlight.resolve({ kind: 'exit', code: 0 });
    await settle();
    assert.equal(t.status, 'failed', 'a run ended by stop() says nothing');
    assert.deepEqual(changes, ['failed']);
  });

  it('init_fail is ready at once', async () => {
    const runner = new ScriptedRunner();
    const t = new ScriptTracker({ ...cfg, initFail: true }, { run: runner.run, log: quiet, onChange: () => undefined, ticker: new ManualTicker() });
    await t.ready();
    assert.equal(t.status, 'failed');
  });
});

describe('runScript with real /bin/sh scripts', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tandem-script-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const sh = (name: string, body: string) => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  async function waitGone(pid: number, ms: number) {
    const end = Date.now() + ms;
    while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return !alive(pid);
  }

  it('reports the exit status, with arguments passed without a shell', async () => {
    const p = sh('exit.sh', 'echo "$1" > "$2"; exit "$3"');
    const out = join(dir, 'out');
    assert.deepEqual(await runScript([p, 'a b $HOME', out, '0'], { timeoutMs: 5000 }), { kind: 'exit', code: 0 });
    assert.equal(readFileSync(out, 'utf8'), 'a b $HOME\n');
    assert.deepEqual(await runScript([p, 'x', out, '7'], { timeoutMs: 5000 }), { kind: 'exit', code: 7 });
  });

  it('a program that cannot be started is a spawn error', async () => {
    const r = await runScript([join(dir, 'missing')], { timeoutMs: 1000 });
    assert.equal(r.kind, 'spawn_error');
  });

  it('a timeout kills the whole process group, children included', async () => {
    const pidFile = join(dir, 'child.pid');
    const done = join(dir, 'hang.done');
    const p = sh('hang.sh', `sleep 30 & echo $! > "${pidFile}"; wait; touch "${done}"`);
    const t0 = Date.now();
    const r = await runScript([p], { timeoutMs: 300 });
    const took = Date.now() - t0;
    assert.deepEqual(r, { kind: 'timeout' });
    // Not before the timeout (a lower bound: a slow machine cannot break it), and killed rather
    // than waited for: the script never reached the end of its wait.
    assert.ok(took >= 250, `took ${took} ms`);
    assert.ok(!existsSync(done), 'the script was killed, not waited for');
    const child = Number(readFileSync(pidFile, 'utf8'));
    try {
      assert.ok(await waitGone(child, 3000), `the script's child ${child} must die with its group`);
    } finally {
      if (alive(child)) process.kill(child, 'SIGKILL');
    }
  });

  it('a script that ignores SIGTERM gets SIGKILL after the grace period', async () => {
    const pidFile = join(dir, 'stubborn.pid');
    const p = sh('stubborn.sh', `trap '' TERM; echo $$ > "${pidFile}"; while :; do sleep 1; done`);
    const t0 = Date.now();
    const r = await runScript([p], { timeoutMs: 200 });
    const took = Date.now() - t0;
    // The script loops forever: returning at all means the SIGKILL reached it.
    assert.deepEqual(r, { kind: 'timeout' });
    assert.ok(took >= 200 + KILL_GRACE_MS - 50, `waited the grace before SIGKILL: took ${took} ms`);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(await waitGone(pid, 3000));
  });

  it('an abort signal kills the group (shutdown)', async () => {
    const done = join(dir, 'long.done');
    const p = sh('long.sh', `sleep 30; touch "${done}"`);
    const ac = new AbortController();
    const pr = runScript([p], { timeoutMs: 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    assert.deepEqual(await pr, { kind: 'stopped' });
    assert.ok(!existsSync(done), 'killed at the abort, not waited for');
  });

  it('ScriptTracker follows a real script that starts failing and recovers', async () => {
    const flag = join(dir, 'healthy');
    const p = sh('check.sh', `test -e "${flag}"`);
    writeFileSync(flag, '');
    const changes: ScriptStatus[] = [];
    const t = new ScriptTracker({ name: 'real', argv: [p], intervalMs: 50, timeoutMs: 2000, rise: 2, fall: 2, initFail: false },
      { run: runScript, log: quiet, onChange: (s) => changes.push(s), ticker: timersTicker(createSystemTimers()) });
    const until = async (want: ScriptStatus) => {
      const end = Date.now() + 5000;
      while (t.status !== want && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.equal(t.status, want);
    };
    try {
      t.start();
      await until('ok');
      unlinkSync(flag);
      await until('failed');
      writeFileSync(flag, '');
      await until('ok');
      assert.deepEqual(changes, ['ok', 'failed', 'ok']);
      assert.ok(existsSync(flag));
    } finally {
      t.stop();
    }
  });
});

describe('timersTicker: vrrp_script intervals on the daemon\'s Timers', () => {
  it('ticks every interval from the start and stops when cancelled, leaving no timer armed', async () => {
    const { ManualTimers } = await import('../lib/manualTimers.js');
    const timers = new ManualTimers(0);
    const at: number[] = [];
    const tick = timersTicker(timers).every(200, () => at.push(timers.now()));
    for (let i = 0; i < 5; i++) timers.advance(100);
    assert.deepEqual(at, [200, 400]);
    timers.advance(1000);
    assert.deepEqual(at, [200, 400, 600, 800, 1000, 1200, 1400]);
    tick.cancel();
    timers.advance(1000);
    assert.equal(at.length, 7, 'no tick after cancel');
    assert.equal(timers.nextAt(), null, 'no timer left armed');
  });

  it('a tick that runs late keeps the rate (armed from its due time); one more than a period late skips ahead instead of bursting', () => {
    // A hand clock: the loop stalls by setting `now` past the due time before a tick runs.
    let now = 0;
    const armed: Array<{ fn: () => void; delay: number }> = [];
    const timers = {
      now: () => now, wallNow: () => now,
      setTimeout: (fn: () => void, ms: number) => { armed.push({ fn, delay: ms }); return armed.length as never; },
      setImmediate: () => { throw new Error('not used'); }, clear: () => undefined,
    };
    let ticks = 0;
    timersTicker(timers).every(200, () => { ticks++; });
    assert.equal(armed.at(-1)!.delay, 200);
    now = 250; armed.at(-1)!.fn(); // 50 ms late
    assert.equal(armed.at(-1)!.delay, 150, 'the next one is due at 400, not 450');
    now = 1500; armed.at(-1)!.fn(); // 1.1 s late: several periods missed
    assert.equal(armed.at(-1)!.delay, 200, 'skips ahead to one period from now, no burst of missed ticks');
    assert.equal(ticks, 2);
  });
});
