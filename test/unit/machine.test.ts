// RFC 5798 §6.4 transition table for the pure machine, driven by a manual clock (no sleeps).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialMachineState, nextDeadline, step, type Action, type MachineConfig, type MachineEvent, type MachineState,
} from '../../src/vrrp/machine.js';
import { masterDownIntervalMs, skewTimeMs } from '../../src/vrrp/timers.js';

const base: MachineConfig = {
  version: 2, priority: 100, advertIntCs: 100, preempt: true, preemptDelayMs: 0, initialState: 'BACKUP',
  localIp: '192.0.2.1', garpMasterRepeat: 5, garpMasterDelayMs: 5000, garpMasterRefreshMs: 0,
  garpMasterRefreshRepeat: 1, garpLowerPrioRepeat: 5,
};
const cfgOf = (o: Partial<MachineConfig> = {}): MachineConfig => ({ ...base, ...o });

/** Drives one machine; records every action with its time. */
class Driver {
  st: MachineState;
  log: Array<{ t: number; a: Action }> = [];
  constructor(readonly cfg: MachineConfig, public now = 0) { this.st = initialMachineState(cfg); }
  ev(e: MachineEvent): Action[] {
    const r = step(this.cfg, this.st, e, this.now);
    this.st = r.state;
    for (const a of r.actions) this.log.push({ t: this.now, a });
    return r.actions;
  }
  advert(src: string, priority: number, advertIntCs = this.cfg.advertIntCs) {
    return this.ev({ type: 'advert', src, priority, advertIntCs });
  }
  /** Advance the manual clock to t, firing every deadline on the way, in order. */
  advance(t: number): void {
    for (let i = 0; i < 10_000; i++) {
      const d = nextDeadline(this.st);
      if (d === null || d > t) break;
      this.now = d;
      this.ev({ type: 'timer' });
    }
    this.now = t;
  }
}
const types = (as: Action[]) => as.map((a) => a.type);

describe('timers (RFC 3768 §6.1, RFC 5798 §6.1)', () => {
  it('v2 skew and Master_Down_Interval', () => {
    assert.equal(skewTimeMs(2, 100, 100), (156 / 256) * 1000);
    assert.equal(masterDownIntervalMs(2, 100, 100), 3000 + 609.375);
    assert.equal(masterDownIntervalMs(2, 254, 300), 9000 + (2 / 256) * 1000); // v2 skew ignores the interval
  });
  it('v3 skew scales with Master_Adver_Interval (centiseconds)', () => {
    assert.equal(skewTimeMs(3, 100, 10), (156 * 100) / 256);
    assert.ok(Math.abs(masterDownIntervalMs(3, 100, 10) - 360.9375) < 1e-9);
  });
});

describe('Initialize (§6.4.1)', () => {
  it('a non-owner starts BACKUP with Master_Down_Timer = Master_Down_Interval', () => {
    const d = new Driver(cfgOf(), 1000);
    const as = d.ev({ type: 'start' });
    // VIPs a crashed previous run left behind are removed first.
    assert.deepEqual(as, [{ type: 'remove_vips' }, { type: 'transition', from: 'INIT', to: 'BACKUP', reason: 'startup' }]);
    assert.equal(d.st.masterDownAt, 1000 + 3609.375);
    assert.equal(d.st.adverAt, null);
  });
  it('the address owner (255, state MASTER) starts MASTER: VIPs, advert, GARP burst', () => {
    const d = new Driver(cfgOf({ priority: 255, initialState: 'MASTER' }));
    const as = d.ev({ type: 'start' });
    assert.deepEqual(types(as), ['transition', 'add_vips', 'send_advert', 'announce']);
    assert.deepEqual(as[2], { type: 'send_advert', priority: 255, reason: 'become_master' });
    assert.deepEqual(as[3], { type: 'announce', repeat: 5, reason: 'become_master' });
    assert.equal(d.st.adverAt, 1000);
  });
  it('priority 255 without state MASTER starts BACKUP (keepalived)', () => {
    const d = new Driver(cfgOf({ priority: 255 }));
    d.ev({ type: 'start' });
    assert.equal(d.st.state, 'BACKUP');
  });
  it('a faulty interface at start means FAULT', () => {
    const d = new Driver(cfgOf());
    d.ev({ type: 'fault', faulty: true });
    d.ev({ type: 'start' });
    assert.equal(d.st.state, 'FAULT');
  });
});

describe('Backup (§6.4.2)', () => {
  it('Master_Down_Timer fires: become MASTER exactly at Master_Down_Interval', () => {
    const d = new Driver(cfgOf());
    d.ev({ type: 'start' });
    d.advance(3609);
    assert.equal(d.st.state, 'BACKUP');
    d.advance(3610);
    assert.equal(d.st.state, 'MASTER');
    const t = d.log.find((x) => x.a.type === 'transition' && x.a.to === 'MASTER')!;
    assert.equal(t.t, 3609.375);
    assert.deepEqual(t.a, { type: 'transition', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer' });
  });
  it('a timer event before the deadline changes nothing', () => {
    const d = new Driver(cfgOf());
    d.ev({ type: 'start' });
    d.now = 100;
    assert.deepEqual(d.ev({ type: 'timer' }), []);
    assert.equal(d.st.state, 'BACKUP');
  });
  it('priority 0 received: Master_Down_Timer = Skew_Time', () => {
    const d = new Driver(cfgOf());
    d.ev({ type: 'start' });
    d.now = 500;
    d.advert('192.0.2.2', 0);
    assert.equal(d.st.masterDownAt, 500 + 609.375);
  });
  it('a higher priority advert resets Master_Down_Timer and names the master', () => {
    const d = new Driver(cfgOf());
    d.ev({ type: 'start' });
    d.now = 2000;
    d.advert('192.0.2.2', 150);
    assert.equal(d.st.masterDownAt, 2000 + 3609.375);
    assert.equal(d.st.masterIp, '192.0.2.2');
  });
  it('an equal priority advert is accepted (>=)', () => {
    const d = new Driver(cfgOf());
    d.ev({ type: 'start' });
    d.now = 2000;
    d.advert('192.0.2.0', 100);
    assert.equal(d.st.masterDownAt, 2000 + 3609.375);
  });
  it('preempt: a lower priority advert is discarded, so we take over on time', () => {
    const d = new Driver(cfgOf({ priority: 150 }));
    d.ev({ type: 'start' });
    const deadline = d.st.masterDownAt!;
    d.now = 1000;
    d.advert('192.0.2.2', 100);
    assert.equal(d.st.masterDownAt, deadline);
    d.advance(deadline);
    assert.equal(d.st.state, 'MASTER');
  });
  it('nopreempt: a lower priority master is accepted and keeps its role', () => {
    const d = new Driver(cfgOf({ priority: 150, preempt: false }));
    d.ev({ type: 'start' });
    for (let t = 1000; t <= 20_000; t += 1000) { d.advance(t); d.advert('192.0.2.2', 100); }
    assert.equal(d.st.state, 'BACKUP');
    assert.equal(d.st.transitions, 1);
  });
  it('preempt_delay: a lower master is accepted until the delay has passed, then preempted', () => {
    const d = new Driver(cfgOf({ priority: 150, preemptDelayMs: 10_000 }));
    d.ev({ type: 'start' }); // t=0: preemptAt = 10000
    for (let t = 1000; t <= 9000; t += 1000) { d.advance(t); d.advert('192.0.2.2', 100); }
    assert.equal(d.st.state, 'BACKUP');
    for (let t = 10_000; t <= 20_000 && d.st.state === 'BACKUP'; t += 1000) { d.advance(t); d.advert('192.0.2.2', 100); }
    assert.equal(d.st.state, 'MASTER');
    const t = d.log.find((x) => x.a.type === 'transition' && x.a.to === 'MASTER')!.t;
    // last accepted advert at 9000 -> down interval of priority 150: 3000 + 106/256 s
    assert.equal(t, 9000 + masterDownIntervalMs(2, 150, 100));
  });
  it('v3: the backup learns the master\'s interval (§6.4.2)', () => {
    const d = new Driver(cfgOf({ version: 3, advertIntCs: 100 }));
    d.ev({ type: 'start' });
    d.now = 10;
    d.advert('192.0.2.2', 200, 50);
    assert.equal(d.st.masterAdverIntCs, 50);
    assert.equal(d.st.masterDownAt, 10 + masterDownIntervalMs(3, 100, 50));
  });
});

describe('Master (§6.4.3)', () => {
  function master(o: Partial<MachineConfig> = {}): Driver {
    const d = new Driver(cfgOf(o));
    d.ev({ type: 'start' });
    d.advance(d.st.masterDownAt!);
    assert.equal(d.st.state, 'MASTER');
    return d;
  }
  it('Adver_Timer sends an advert every Advertisement_Interval', () => {
    const d = master();
    const t0 = d.now;
    d.log = [];
    d.advance(t0 + 3500);
    const sends = d.log.filter((x) => x.a.type === 'send_advert');
    assert.deepEqual(sends.map((x) => x.t), [t0 + 1000, t0 + 2000, t0 + 3000]);
    assert.ok(sends.every((x) => x.a.type === 'send_advert' && x.a.priority === 100 && x.a.reason === 'adver_timer'));
  });
  it('second GARP burst after garp_master_delay, none when it is 0', () => {
    const d = master();
    const t0 = d.now;
    d.log = [];
    d.advance(t0 + 6000);
    const ann = d.log.filter((x) => x.a.type === 'announce');
    assert.deepEqual(ann, [{ t: t0 + 5000, a: { type: 'announce', repeat: 5, reason: 'garp_master_delay' } }]);
    const d0 = master({ garpMasterDelayMs: 0 });
    d0.log = [];
    d0.advance(d0.now + 20_000);
    assert.equal(d0.log.filter((x) => x.a.type === 'announce').length, 0);
  });
  it('garp_master_refresh repeats announcements periodically', () => {
    const d = master({ garpMasterDelayMs: 0, garpMasterRefreshMs: 2000, garpMasterRefreshRepeat: 2 });
    const t0 = d.now;
    d.log = [];
    d.advance(t0 + 7000);
    const ann = d.log.filter((x) => x.a.type === 'announce');
    assert.deepEqual(ann.map((x) => x.t - t0), [2000, 4000, 6000]);
    assert.ok(ann.every((x) => x.a.type === 'announce' && x.a.repeat === 2));
  });
  it('a higher priority advert: BACKUP, VIPs removed', () => {
    const d = master();
    const as = d.advert('192.0.2.2', 200);
    assert.deepEqual(as, [
      { type: 'transition', from: 'MASTER', to: 'BACKUP', reason: 'higher_priority_advert' },
      { type: 'remove_vips' },
    ]);
    assert.equal(d.st.adverAt, null);
    assert.equal(d.st.masterDownAt, d.now + 3609.375);
  });
  it('equal priority: the higher primary IP wins the tie-break', () => {
    const d = master({ localIp: '192.0.2.5' });
    assert.deepEqual(types(d.advert('192.0.2.4', 100)), ['send_advert', 'announce']);
    assert.equal(d.st.state, 'MASTER');
    const as = d.advert('192.0.2.10', 100); // numeric, not text, comparison: 10 > 5
    assert.equal(d.st.state, 'BACKUP');
    assert.deepEqual(as[0], { type: 'transition', from: 'MASTER', to: 'BACKUP', reason: 'equal_priority_higher_ip' });
  });
  it('a lower priority advert: stay MASTER, answer with an advert and a GARP burst (RFC 9568 / keepalived)', () => {
    const d = master({ priority: 150, garpLowerPrioRepeat: 3 });
    const as = d.advert('192.0.2.2', 100);
    assert.deepEqual(as, [
      { type: 'send_advert', priority: 150, reason: 'lower_priority_advert' },
      { type: 'announce', repeat: 3, reason: 'lower_priority_advert' },
    ]);
  });
  it('priority 0 received: send an advert at once and reset Adver_Timer', () => {
    const d = master();
    d.now += 300;
    const as = d.advert('192.0.2.2', 0);
    assert.deepEqual(as, [{ type: 'send_advert', priority: 100, reason: 'priority_zero_received' }]);
    assert.equal(d.st.adverAt, d.now + 1000);
  });
  it('two address owners at 255: the lower address steps down', () => {
    const a = new Driver(cfgOf({ priority: 255, initialState: 'MASTER', localIp: '192.0.2.1' }));
    const b = new Driver(cfgOf({ priority: 255, initialState: 'MASTER', localIp: '192.0.2.2' }));
    a.ev({ type: 'start' });
    b.ev({ type: 'start' });
    a.advert('192.0.2.2', 255);
    b.advert('192.0.2.1', 255);
    assert.equal(a.st.state, 'BACKUP');
    assert.equal(b.st.state, 'MASTER');
  });
  it('v3 master stepping down learns the new master\'s interval', () => {
    const d = master({ version: 3, advertIntCs: 100 });
    d.advert('192.0.2.2', 200, 25);
    assert.equal(d.st.masterAdverIntCs, 25);
    assert.equal(d.st.masterDownAt, d.now + masterDownIntervalMs(3, 100, 25));
  });
  it('a deleted VIP is put back while MASTER, and only then', () => {
    const d = master();
    assert.deepEqual(d.ev({ type: 'vips_missing' }), [{ type: 'add_vips', reason: 'vip_missing' }]);
    d.advert('192.0.2.2', 200);
    assert.deepEqual(d.ev({ type: 'vips_missing' }), []);
  });
});

describe('Shutdown, fault and priority changes', () => {
  it('MASTER shutdown: advert with priority 0, VIPs removed, INIT, no timers', () => {
    const d = new Driver(cfgOf({ priority: 255, initialState: 'MASTER' }));
    d.ev({ type: 'start' });
    const as = d.ev({ type: 'stop' });
    assert.deepEqual(as, [
      { type: 'send_advert', priority: 0, reason: 'shutdown' },
      { type: 'remove_vips' },
      { type: 'transition', from: 'MASTER', to: 'INIT', reason: 'shutdown' },
    ]);
    assert.equal(nextDeadline(d.st), null);
  });
  it('BACKUP shutdown sends nothing', () => {
    const d = new Driver(cfgOf());
    d.ev({ type: 'start' });
    assert.deepEqual(types(d.ev({ type: 'stop' })), ['transition']);
  });
  it('MASTER -> FAULT sends priority 0 and removes VIPs; FAULT ignores adverts; clearing goes BACKUP', () => {
    const d = new Driver(cfgOf({ priority: 255, initialState: 'MASTER' }));
    d.ev({ type: 'start' });
    const as = d.ev({ type: 'fault', faulty: true });
    assert.deepEqual(types(as), ['send_advert', 'remove_vips', 'transition']);
    assert.deepEqual(as[0], { type: 'send_advert', priority: 0, reason: 'fault' });
    assert.equal(d.st.state, 'FAULT');
    assert.deepEqual(d.advert('192.0.2.2', 10), []);
    d.advance(d.now + 100_000);
    assert.equal(d.st.state, 'FAULT');
    d.ev({ type: 'fault', faulty: false });
    assert.equal(d.st.state, 'BACKUP');
    assert.equal(d.st.masterDownAt, d.now + masterDownIntervalMs(2, 255, 100));
  });
  it('effective priority is clamped to 1..254 and changes the skew; 255 never changes', () => {
    const d = new Driver(cfgOf());
    d.ev({ type: 'priority', effective: 300 });
    assert.equal(d.st.effectivePriority, 254);
    d.ev({ type: 'priority', effective: -5 });
    assert.equal(d.st.effectivePriority, 1);
    d.ev({ type: 'priority', effective: 90 });
    d.ev({ type: 'start' });
    assert.equal(d.st.masterDownAt, masterDownIntervalMs(2, 90, 100));
    const o = new Driver(cfgOf({ priority: 255 }));
    o.ev({ type: 'priority', effective: 200 });
    assert.equal(o.st.effectivePriority, 255);
  });
  it('a master whose priority drops sends the new priority in its next advert', () => {
    const d = new Driver(cfgOf({ priority: 150 }));
    d.ev({ type: 'start' });
    d.advance(d.st.masterDownAt!);
    d.ev({ type: 'priority', effective: 50 });
    d.log = [];
    d.advance(d.now + 1000);
    assert.deepEqual(d.log.map((x) => x.a), [{ type: 'send_advert', priority: 50, reason: 'adver_timer' }]);
  });
});

describe('two machines on a simulated wire', () => {
  it('the backup takes over exactly Master_Down_Interval after the master\'s last advert', () => {
    const m = new Driver(cfgOf({ priority: 150, localIp: '192.0.2.1', version: 3, advertIntCs: 10 }));
    const b = new Driver(cfgOf({ priority: 100, localIp: '192.0.2.2', version: 3, advertIntCs: 10 }));
    m.ev({ type: 'start' });
    b.ev({ type: 'start' });
    let lastAdvert = -1;
    let mAlive = true;
    // Deliver m's adverts to b as they happen; stop m at t=5000 (kill -9: no priority 0).
    for (let t = 0; t <= 10_000; t += 1) {
      if (mAlive) {
        const before = m.log.length;
        m.advance(t);
        for (const x of m.log.slice(before)) {
          if (x.a.type === 'send_advert') { lastAdvert = x.t; b.now = x.t; b.advert('192.0.2.1', x.a.priority, 10); }
        }
        if (t === 5000) mAlive = false;
      }
      b.advance(t);
      if (b.st.state === 'MASTER') break;
    }
    assert.equal(m.st.state, 'MASTER');
    const takeover = b.log.find((x) => x.a.type === 'transition' && x.a.to === 'MASTER')!.t;
    assert.ok(lastAdvert > 4800 && lastAdvert <= 5000, `last advert ${lastAdvert}`);
    assert.equal(takeover - lastAdvert, masterDownIntervalMs(3, 100, 10));
  });
});
