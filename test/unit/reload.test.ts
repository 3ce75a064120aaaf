// Reload (src/daemon/reload.ts) with fake parts and a manual clock, no root: a refused reload
// (the file does not load, the backend cannot express it, VRRP refuses it) changes nothing and
// keeps the running config; an applied one calls the parts in order (trackers, alerts, commit,
// VRRP, LB) and reports its duration from the injected clock; the first virtual servers start the
// LB service.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigIssue } from '../../src/config/errors.js';
import type { LoadResult } from '../../src/config/load.js';
import type { Config } from '../../src/config/model.js';
import { reloadConfig, type ReloadTargets } from '../../src/daemon/reload.js';
import { VrrpStartError } from '../../src/vrrp/router.js';
import { createLogger } from '../../src/log.js';
import { loadOk } from '../lib/config.js';
import { ManualTimers } from '../lib/manualTimers.js';

const VS = (weight: number) => `virtual_servers:
  - address: 192.0.2.100
    port: 80
    protocol: TCP
    lb_algo: rr
    lb_kind: NAT
    real_servers:
      - { address: 198.51.100.11, port: 80, weight: ${weight}, checks: [{ tcp_check: {} }] }
`;
const OLD = loadOk(VS(1));
const NEXT = loadOk(VS(5));
const NO_BACKEND_ISSUES = { ipvs: [], nft: [] };
const issue = (message: string): ConfigIssue => ({ severity: 'error', file: 'lb.yaml', line: 7, col: 9, path: 'virtual_servers[0].real_servers[0].weight', message });

/** Fake parts that record every call; `load` answers what the test says, after `loadMs`. */
function parts(o: { load: LoadResult; loadMs?: number; backendErrors?: ConfigIssue[]; vrrpRefuses?: string; lb?: boolean }) {
  const calls: string[] = [];
  const timers = new ManualTimers();
  let current: Config = OLD;
  const t: ReloadTargets = {
    current: () => current,
    commit: (next) => { calls.push('commit'); current = next; },
    vrrp: {
      checkReconfigure: () => { calls.push('vrrp.checkReconfigure'); if (o.vrrpRefuses) throw new VrrpStartError(o.vrrpRefuses); },
      reconfigure: () => { calls.push('vrrp.reconfigure'); },
    },
    trackers: { reconfigure: () => { calls.push('trackers.reconfigure'); } },
    alerts: { reconfigure: () => { calls.push('alerts.reconfigure'); } },
    lb: () => (o.lb === false ? undefined : { reconfigure: (vss, plan) => { calls.push(`lb.reconfigure ${vss.length} changed=${plan.changedServices.join(',')}`); } }),
    startLb: (next) => { calls.push(`startLb ${next.virtualServers.length}`); },
    stopping: () => false,
    backendErrors: () => o.backendErrors ?? [],
    load: async () => { calls.push('load'); timers.advance(o.loadMs ?? 0); return o.load; },
    timers,
    log: createLogger({ write: () => {} }),
  };
  return { t, calls, timers, current: () => current };
}

describe('reload with fake parts', () => {
  test('a file that does not load: refused, every error returned, nothing changed', async () => {
    const p = parts({ load: { ok: false, errors: [issue('must be 1-256')], warnings: [] } });
    const o = await reloadConfig('lb.yaml', p.t);
    assert.equal(o.ok, false);
    assert.ok(!o.ok && o.errors.length === 1 && /lb\.yaml:7:9 .*must be 1-256/.test(o.errors[0]!), JSON.stringify(o));
    assert.deepEqual(p.calls, ['load'], 'no part was touched');
    assert.equal(p.current(), OLD, 'the running config stays');
  });

  test('what the backend cannot express, or VRRP refuses: refused before the first change', async () => {
    const b = parts({ load: { ok: true, config: NEXT, warnings: [], backendIssues: NO_BACKEND_ISSUES }, backendErrors: [issue('the nft backend cannot express it')] });
    const ob = await reloadConfig('lb.yaml', b.t);
    assert.ok(!ob.ok && /cannot express/.test(ob.errors.join('\n')));
    assert.deepEqual(b.calls, ['load']);
    assert.equal(b.current(), OLD);

    const v = parts({ load: { ok: true, config: NEXT, warnings: [], backendIssues: NO_BACKEND_ISSUES }, vrrpRefuses: 'interface eth9 does not exist' });
    const ov = await reloadConfig('lb.yaml', v.t);
    assert.ok(!ov.ok && /eth9/.test(ov.errors.join('\n')));
    assert.deepEqual(v.calls, ['load', 'vrrp.checkReconfigure'], 'checked, nothing applied');
    assert.equal(v.current(), OLD);
  });

  test('an applied reload calls the parts in order and reports its duration from the injected clock', async () => {
    const p = parts({ load: { ok: true, config: NEXT, warnings: [], backendIssues: NO_BACKEND_ISSUES }, loadMs: 40 });
    const o = await reloadConfig('lb.yaml', p.t);
    assert.ok(o.ok, JSON.stringify(o));
    assert.deepEqual(p.calls, [
      'load', 'vrrp.checkReconfigure', 'trackers.reconfigure', 'alerts.reconfigure', 'commit', 'vrrp.reconfigure',
      'lb.reconfigure 1 changed=TCP 192.0.2.100:80',
    ]);
    assert.equal(p.current(), NEXT);
    assert.equal(o.durationMs, 40, 'the manual clock moved 40 ms while the file loaded');
    assert.ok(o.changes.length > 0);
  });

  test('the first virtual servers arrive with a reload: the LB service is started', async () => {
    const p = parts({ load: { ok: true, config: NEXT, warnings: [], backendIssues: NO_BACKEND_ISSUES }, lb: false });
    const o = await reloadConfig('lb.yaml', p.t);
    assert.ok(o.ok);
    assert.deepEqual(p.calls.slice(-2), ['vrrp.reconfigure', 'startLb 1']);
  });
});
