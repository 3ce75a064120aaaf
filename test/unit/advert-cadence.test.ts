// The pure side of the native advert sender: the machine with externalAdverts (vrrp/machine.ts)
// arms no Adver_Timer as MASTER but keeps every immediate advert, the cadence it hands the
// router (vrrp/advertCadence.ts), and the lease rule.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initialMachineState, nextDeadline, step, type MachineConfig, type MachineEvent, type MachineState } from '../../src/vrrp/machine.js';
import { advertCadence, leaseMs } from '../../src/vrrp/advertCadence.js';
import { masterDownIntervalMs } from '../../src/vrrp/timers.js';

const cfg: MachineConfig = {
  version: 3, priority: 100, advertIntCs: 5, preempt: true, preemptDelayMs: 0, initialState: 'BACKUP',
  localIp: '192.0.2.1', garpMasterRepeat: 5, garpMasterDelayMs: 0, garpMasterRefreshMs: 0,
  garpMasterRefreshRepeat: 1, garpLowerPrioRepeat: 0, externalAdverts: true,
};

function run(c: MachineConfig, evs: Array<[MachineEvent, number]>): { st: MachineState; sends: string[] } {
  let st = initialMachineState(c);
  const sends: string[] = [];
  for (const [ev, t] of evs) {
    const r = step(c, st, ev, t);
    st = r.state;
    for (const a of r.actions) if (a.type === 'send_advert') sends.push(`${a.reason}:${a.priority}@${t}`);
  }
  return { st, sends };
}

const mdi = masterDownIntervalMs(3, 100, 5);

describe('machine with externalAdverts', () => {
  it('as MASTER arms no advert deadline; the advert at becoming master is still an action', () => {
    const { st, sends } = run(cfg, [[{ type: 'start' }, 0], [{ type: 'timer' }, mdi]]);
    assert.equal(st.state, 'MASTER');
    assert.equal(st.adverAt, null);
    assert.equal(nextDeadline(st), null, 'no timer at all for a master without GARP refresh');
    assert.deepEqual(sends, [`become_master:100@${mdi}`]);
    // Its own timer event sends nothing more.
    assert.deepEqual(run(cfg, [[{ type: 'start' }, 0], [{ type: 'timer' }, mdi], [{ type: 'timer' }, mdi + 50]]).sends, [`become_master:100@${mdi}`]);
  });

  it('without the flag the same master arms its Adver_Timer (the behaviour the flag replaces)', () => {
    const { st } = run({ ...cfg, externalAdverts: false }, [[{ type: 'start' }, 0], [{ type: 'timer' }, mdi]]);
    assert.equal(st.adverAt, mdi + 50);
  });

  it('keeps the immediate adverts: priority 0 heard, a lower master heard, priority 0 on fault and on stop', () => {
    const master: Array<[MachineEvent, number]> = [[{ type: 'start' }, 0], [{ type: 'timer' }, mdi]];
    const p0 = run(cfg, [...master, [{ type: 'advert', src: '192.0.2.9', priority: 0, advertIntCs: 5 }, 200]]);
    assert.deepEqual(p0.sends.slice(1), ['priority_zero_received:100@200']);
    assert.equal(p0.st.adverAt, null);
    assert.deepEqual(run(cfg, [...master, [{ type: 'advert', src: '192.0.2.9', priority: 50, advertIntCs: 5 }, 200]]).sends.slice(1), ['lower_priority_advert:100@200']);
    assert.deepEqual(run(cfg, [...master, [{ type: 'fault', faulty: true }, 200]]).sends.slice(1), ['fault:0@200']);
    assert.deepEqual(run(cfg, [...master, [{ type: 'stop' }, 200]]).sends.slice(1), ['shutdown:0@200']);
  });

  it('adver_timer (the sender lapsed) sends an advert at once as MASTER, nothing otherwise', () => {
    const m = run(cfg, [[{ type: 'start' }, 0], [{ type: 'timer' }, mdi], [{ type: 'adver_timer' }, 2000]]);
    assert.deepEqual(m.sends.slice(1), ['adver_timer:100@2000']);
    assert.equal(m.st.adverAt, null);
    assert.deepEqual(run(cfg, [[{ type: 'start' }, 0], [{ type: 'adver_timer' }, 10]]).sends, []);
  });

  it('its cadence: MASTER with the effective priority and advert_int; null otherwise or without the flag', () => {
    let { st } = run(cfg, [[{ type: 'start' }, 0]]);
    assert.equal(advertCadence(cfg, st), null, 'BACKUP');
    st = run(cfg, [[{ type: 'start' }, 0], [{ type: 'timer' }, mdi], [{ type: 'priority', effective: 70 }, 300]]).st;
    assert.deepEqual(advertCadence(cfg, st), { priority: 70, intervalCs: 5 });
    assert.equal(advertCadence({ ...cfg, externalAdverts: false }, st), null);
  });
});

describe('the lease', () => {
  it('is max(3, ceil(1000 ms / advert_int)) intervals: at least 1 s and at least 3 adverts', () => {
    assert.equal(leaseMs(5), 1000); // 20 x 50 ms
    assert.equal(leaseMs(3), 1020); // ceil(1000 / 30) = 34 x 30 ms
    assert.equal(leaseMs(100), 3000); // 3 x 1 s
    assert.equal(leaseMs(50), 1500); // 3 x 500 ms
    assert.equal(leaseMs(20), 1000); // 5 x 200 ms
  });
});
