// The one priority rule for all trackers (src/track/priority.ts), table-driven from keepalived's
// rules, plus a check that interface tracking still gives what vrrpService computed before.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { computePriority, type TrackerState } from '../../src/track/priority.js';

const iface = (name: string, weight: number, up: boolean, reverse = false): TrackerState => ({ kind: 'interface', name, weight, up, reverse });
const script = (name: string, weight: number, up: boolean | null, reverse = false): TrackerState => ({ kind: 'script', name, weight, up, reverse });
const proc = (name: string, weight: number, up: boolean | null, reverse = false): TrackerState => ({ kind: 'process', name, weight, up, reverse });
const file = (name: string, weight: number, value: number, reverse = false): TrackerState => ({ kind: 'file', name, weight, value, reverse });

const table: Array<{ why: string; base: number; t: TrackerState[]; effective: number; faultBy?: string[] }> = [
  { why: 'no trackers: the configured priority', base: 100, t: [], effective: 100 },
  { why: 'weight 0 interface up: nothing', base: 100, t: [iface('eth1', 0, true)], effective: 100 },
  { why: 'weight 0 interface down: FAULT', base: 100, t: [iface('eth1', 0, false)], effective: 100, faultBy: ['interface:eth1'] },
  { why: 'weight 0 reverse: FAULT while up', base: 100, t: [iface('eth1', 0, true, true)], effective: 100, faultBy: ['interface:eth1'] },
  { why: 'weight 0 reverse down: fine', base: 100, t: [iface('eth1', 0, false, true)], effective: 100 },
  { why: 'positive weight added while up', base: 100, t: [script('chk', 10, true)], effective: 110 },
  { why: 'positive weight: nothing while down', base: 100, t: [script('chk', 10, false)], effective: 100 },
  { why: 'negative weight added while down', base: 100, t: [script('chk', -10, false)], effective: 90 },
  { why: 'negative weight: nothing while up', base: 100, t: [script('chk', -10, true)], effective: 100 },
  { why: 'positive weight reverse: subtracted while up', base: 100, t: [script('chk', 10, true, true)], effective: 90 },
  { why: 'positive weight reverse: nothing while down', base: 100, t: [script('chk', 10, false, true)], effective: 100 },
  { why: 'negative weight reverse: added while down', base: 100, t: [script('chk', -10, false, true)], effective: 110 },
  { why: 'script without a result yet: no weight applied', base: 100, t: [script('chk', -10, null), script('chk2', 10, null)], effective: 100 },
  { why: 'weight 0 script without a result yet: held out (FAULT)', base: 100, t: [script('chk', 0, null)], effective: 100, faultBy: ['script:chk'] },
  { why: 'weight 0 script failed: FAULT', base: 100, t: [script('chk', 0, false)], effective: 100, faultBy: ['script:chk'] },
  { why: 'process like a script: quorum lost with negative weight', base: 100, t: [proc('haproxy', -30, false)], effective: 70 },
  { why: 'weight 0 process without quorum: FAULT', base: 100, t: [proc('haproxy', 0, false)], effective: 100, faultBy: ['process:haproxy'] },
  { why: 'weight 0 reverse process: FAULT while running', base: 100, t: [proc('haproxy', 0, true, true)], effective: 100, faultBy: ['process:haproxy'] },
  { why: 'file: value x weight added', base: 100, t: [file('f', 1, 5)], effective: 105 },
  { why: 'file: negative value lowers', base: 100, t: [file('f', 1, -5)], effective: 95 },
  { why: 'file: weight multiplies', base: 100, t: [file('f', -3, 4)], effective: 88 },
  { why: 'file: reverse negates', base: 100, t: [file('f', 2, 5, true)], effective: 90 },
  { why: 'file: missing or 0 changes nothing', base: 100, t: [file('f', 7, 0)], effective: 100 },
  { why: 'file: value x weight <= -254 is FAULT', base: 100, t: [file('f', 10, -30)], effective: 100, faultBy: ['file:f'] },
  { why: 'file: exactly -254 is FAULT', base: 100, t: [file('f', 1, -254)], effective: 100, faultBy: ['file:f'] },
  { why: 'file: -253 is a (large) decrease, clamped to 1', base: 100, t: [file('f', 1, -253)], effective: 1 },
  { why: 'file: a large status is capped at 253, then 254', base: 100, t: [file('f', 1, 100000)], effective: 254 },
  { why: 'file weight 0: non-zero is FAULT', base: 100, t: [file('f', 0, 3)], effective: 100, faultBy: ['file:f'] },
  { why: 'file weight 0: zero is fine', base: 100, t: [file('f', 0, 0)], effective: 100 },
  { why: 'file weight 0 reverse: zero is FAULT', base: 100, t: [file('f', 0, 0, true)], effective: 100, faultBy: ['file:f'] },
  { why: 'file weight 0 reverse: non-zero is fine', base: 100, t: [file('f', 0, -9, true)], effective: 100 },
  { why: 'a FAULTing file contributes nothing to the sum', base: 100, t: [file('f', 1, -300), script('s', 5, true)], effective: 105, faultBy: ['file:f'] },
  { why: 'clamped to 254 at the top', base: 250, t: [script('a', 10, true)], effective: 254 },
  { why: 'clamped to 1 at the bottom', base: 5, t: [script('a', -10, false)], effective: 1 },
  { why: 'weights add up', base: 100, t: [iface('eth1', 5, true), script('s', -20, false), proc('p', 7, true), file('f', 2, 3)], effective: 98 },
  { why: 'every faulting tracker is named, in order', base: 100, t: [proc('p', 0, false), iface('eth1', 0, false), script('s', 10, true)], effective: 110, faultBy: ['process:p', 'interface:eth1'] },
  { why: '255 (address owner) never changes', base: 255, t: [script('s', -50, false), file('f', 1, -20), iface('e', 10, true)], effective: 255 },
  { why: '255 still goes to FAULT on a weight 0 tracker', base: 255, t: [script('s', 0, false)], effective: 255, faultBy: ['script:s'] },
  { why: 'a non-owner never reaches 255', base: 254, t: [script('s', 50, true)], effective: 254 },
];

describe('computePriority', () => {
  for (const c of table) {
    it(c.why, () => {
      const r = computePriority(c.base, c.t);
      assert.deepEqual(r, { effective: c.effective, fault: (c.faultBy ?? []).length > 0, faultBy: c.faultBy ?? [] });
    });
  }

  it('interface tracking gives what vrrpService computed before the shared rule', () => {
    // The rule vrrpService.refreshHealth had inline (own interface + track_interfaces), kept here as the reference.
    const before = (base: number, ownUp: boolean, tracked: Array<{ weight: number; up: boolean }>) => {
      const fault = !ownUp || tracked.some((t) => t.weight === 0 && !t.up);
      let prio = base;
      for (const t of tracked) {
        if (t.weight > 0 && t.up) prio += t.weight;
        if (t.weight < 0 && !t.up) prio += t.weight;
      }
      // The machine clamped to 1..254 and ignored changes for 255 (vrrp/machine.ts 'priority').
      return { fault, effective: base === 255 ? 255 : Math.min(254, Math.max(1, prio)) };
    };
    const weights = [0, 20, -60, 254, -254];
    let cases = 0;
    for (const base of [1, 100, 200, 254, 255]) {
      for (const ownUp of [true, false]) {
        for (let mask = 0; mask < 1 << weights.length; mask++) {
          const tracked = weights.map((w, i) => ({ weight: w, up: (mask & (1 << i)) !== 0 }));
          const r = computePriority(base, [
            iface('own', 0, ownUp),
            ...tracked.map((t, i) => iface(`eth${i}`, t.weight, t.up)),
          ]);
          assert.deepEqual({ fault: r.fault, effective: r.effective }, before(base, ownUp, tracked), JSON.stringify({ base, ownUp, tracked }));
          cases++;
        }
      }
    }
    assert.equal(cases, 5 * 2 * 32);
  });
});
