// Trackers on a real tandem pair (issue 4 §4): lb1 (priority 150) is master while its tracker is
// good; when a tracked script starts failing, a tracked process is killed, or a tracked file's
// value drops its priority, the VIP moves to lb2 (priority 100); when the tracker recovers, lb1
// takes it back (preempt). The tracker rules themselves are unit-tested (test/unit/track-*).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync, rmSync } from 'node:fs';
import type { DirectorSpec } from '../lib/director-spec.js';
import type { LabNode, NsProcess } from '../lib/netns.js';
import { waitFor } from '../lib/netns.js';
import { Pair, V3_IPV4 } from '../lib/pair.js';
import { Tandem } from '../lib/tandem.js';

const TIMEOUT = { timeout: 120_000 };
const HIGH = 150;
const LOW = 100;

function spec(pair: Pair, node: LabNode, priority: number, instanceExtra: Record<string, unknown> = {}, top: Record<string, unknown> = {}): DirectorSpec {
  const s = pair.spec(node, priority);
  return { ...s, instances: [{ ...s.instances[0]!, tandemExtra: instanceExtra }], tandemTop: top };
}

/** lb2 first (it becomes master), then lb1 with its trackers good: lb1 preempts. */
async function start(pair: Pair, lb1Extra: Record<string, unknown>, top: Record<string, unknown>): Promise<{ d1: Tandem; d2: Tandem }> {
  const d2 = await Tandem.start(pair.lab, pair.lb2, spec(pair, pair.lb2, LOW));
  await d2.waitForState('VI_1', 'MASTER', pair.takeoverMs(LOW));
  const d1 = await Tandem.start(pair.lab, pair.lb1, spec(pair, pair.lb1, HIGH, lb1Extra, top));
  await d1.waitForState('VI_1', 'MASTER', pair.takeoverMs(HIGH));
  await d2.waitForState('VI_1', 'BACKUP', 5000);
  await pair.expectVipOn(pair.lb1, 'start, trackers good');
  return { d1, d2 };
}

async function movesAndReturns(pair: Pair, d1: Tandem, d2: Tandem, lb1Away: 'FAULT' | 'BACKUP', breakIt: () => Promise<void> | void, fixIt: () => Promise<void> | void, what: string): Promise<void> {
  await breakIt();
  await d1.waitForState('VI_1', lb1Away, 8000).catch((e: Error) => { throw new Error(`${what}: lb1 should be ${lb1Away}: ${e.message}`); });
  await d2.waitForState('VI_1', 'MASTER', pair.takeoverMs(LOW));
  await pair.expectVipOn(pair.lb2, what);
  await fixIt();
  await d1.waitForState('VI_1', 'MASTER', pair.takeoverMs(HIGH) + 5000).catch((e: Error) => { throw new Error(`${what}, repaired: lb1 should be MASTER again: ${e.message}`); });
  await d2.waitForState('VI_1', 'BACKUP', 5000);
  await pair.expectVipOn(pair.lb1, `${what}, repaired`);
}

test('tracked script (weight 0): failing -> FAULT and the VIP moves to the peer; passing again -> back', TIMEOUT, async () => {
  const pair = await Pair.create(V3_IPV4);
  try {
    const flag = pair.lab.path('script-fails');
    const { d1, d2 } = await start(pair, { track_scripts: ['chk'] }, {
      vrrp_scripts: [{ name: 'chk', script: ['/bin/sh', '-c', `test ! -e ${flag}`], interval: 0.5, fall: 2, rise: 2 }],
    });
    await movesAndReturns(pair, d1, d2, 'FAULT', () => writeFileSync(flag, ''), () => rmSync(flag), 'tracked script failing');
    assert.match(d1.tail(80), /FAULT/);
  } finally {
    await pair.destroy();
  }
});

test('tracked process (weight 0): killed -> FAULT and the VIP moves; restarted -> back', TIMEOUT, async () => {
  const pair = await Pair.create(V3_IPV4);
  let proc: NsProcess | undefined;
  try {
    // A process with a name of its own (comm is the executable's file name), so nothing else on
    // the machine matches it.
    const name = `tdmtrk${process.pid % 100000}`;
    const exe = pair.lab.path(name);
    copyFileSync('/bin/sleep', exe);
    const run = () => pair.lab.spawn(pair.lb1, [exe, '600']);
    proc = run();
    const { d1, d2 } = await start(pair, { track_processes: ['app'] }, {
      vrrp_track_processes: [{ name: 'app', process: name, weight: 0 }],
    });
    await movesAndReturns(pair, d1, d2, 'FAULT', async () => { await proc!.kill9(); }, () => { proc = run(); }, 'tracked process killed');
    const st = d1.readState() as unknown as { trackers?: { processes?: Array<{ name: string }> } };
    assert.ok(st.trackers?.processes?.some((p) => p.name === 'app'), `the state file shows the tracked process: ${JSON.stringify(st.trackers)}`);
  } finally {
    await proc?.kill9().catch(() => undefined);
    await pair.destroy();
  }
});

test('tracked file (weight 1): a value of -60 lowers lb1 to 90 and lb2 preempts; 0 brings lb1 back', TIMEOUT, async () => {
  const pair = await Pair.create(V3_IPV4);
  try {
    const file = pair.lab.path('prio-offset');
    writeFileSync(file, '0\n');
    const { d1, d2 } = await start(pair, { track_files: ['offset'] }, {
      vrrp_track_files: [{ name: 'offset', file, weight: 1 }],
    });
    await movesAndReturns(pair, d1, d2, 'BACKUP', () => writeFileSync(file, '-60\n'), () => writeFileSync(file, '0\n'), 'tracked file -60');
    await waitFor(() => d1.instance()?.effective_priority === HIGH, { timeoutMs: 3000, what: 'effective priority back to 150' });
  } finally {
    await pair.destroy();
  }
});
