// The driver around the pure machine: actions reach the ports in order, one timer is kept armed
// at the machine's next deadline, and a failing effect does not stop the ones after it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VrrpInstanceDriver, type InstancePorts } from '../../src/vrrp/instance.js';
import { createLogger } from '../../src/log.js';
import type { MachineConfig } from '../../src/vrrp/machine.js';

const cfg: MachineConfig = {
  version: 3, priority: 100, advertIntCs: 10, preempt: true, preemptDelayMs: 0, initialState: 'BACKUP',
  localIp: '192.0.2.1', garpMasterRepeat: 2, garpMasterDelayMs: 0, garpMasterRefreshMs: 0,
  garpMasterRefreshRepeat: 1, garpLowerPrioRepeat: 2,
};

function harness(failAdd = false) {
  const calls: string[] = [];
  const logs: string[] = [];
  let now = 0;
  let timer: { at: number | null; fire: () => void } = { at: null, fire: () => undefined };
  const ports: InstancePorts = {
    now: () => now,
    armTimer: (at, fire) => { timer = { at, fire }; },
    sendAdvert: (p) => calls.push(`advert ${p}`),
    addVips: (r) => { calls.push(`add ${r}`); if (failAdd) throw new Error('EPERM'); },
    removeVips: () => calls.push('remove'),
    announce: (n) => calls.push(`announce ${n}`),
    onTransition: (t) => calls.push(`${t.from}->${t.to}`),
    log: createLogger({ write: (l) => logs.push(l), journald: true }),
  };
  const fireDue = (t: number) => { now = t; if (timer.at !== null && timer.at <= t) timer.fire(); };
  return { calls, logs, ports, fireDue, timerAt: () => timer.at };
}

describe('VrrpInstanceDriver', () => {
  it('keeps one timer at the next deadline and performs actions in order', () => {
    const h = harness();
    const d = new VrrpInstanceDriver('VI_1', cfg, h.ports);
    d.start();
    const down = 300 + (156 * 10 * 10) / 256;
    assert.equal(h.timerAt(), down);
    h.fireDue(down);
    // Wire effects go out before the transition is reported (logs, state file, hooks).
    assert.deepEqual(h.calls, ['remove', 'INIT->BACKUP', 'add become_master', 'advert 100', 'announce 2', 'BACKUP->MASTER']);
    assert.equal(h.timerAt(), down + 100); // armed for the next advert
    assert.equal(d.snapshot().state, 'MASTER');
  });
  it('a failing VIP change is logged and the advert after it still goes out', () => {
    const h = harness(true);
    const d = new VrrpInstanceDriver('VI_1', cfg, h.ports);
    d.start();
    h.fireDue(h.timerAt()!);
    assert.ok(h.calls.includes('advert 100'));
    assert.ok(h.calls.indexOf('advert 100') > h.calls.indexOf('add become_master'));
    assert.ok(h.logs.some((l) => /add_vips failed: EPERM/.test(l)), h.logs.join('\n'));
  });
  it('fault and priority changes are only dispatched when they change', () => {
    const h = harness();
    const d = new VrrpInstanceDriver('VI_1', cfg, h.ports);
    d.start();
    d.setFault(false);
    d.setEffectivePriority(100);
    assert.deepEqual(h.calls, ['remove', 'INIT->BACKUP']);
    d.setFault(true);
    assert.equal(d.snapshot().state, 'FAULT');
    d.setEffectivePriority(80);
    assert.equal(d.snapshot().effectivePriority, 80);
  });
});
