// The desired table = f(config, health, quorum): keepalived's rules (ipwrapper.c) as table tests.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HealthMap } from '../../src/check/health.js';
import { desiredTable, type QuorumMap } from '../../src/lb/desired.js';
import { realServerId, type CheckConfig, type RealServerConfig, type VirtualServerConfig } from '../../src/config/lbModel.js';
import { destKey, type RealServer, type ServiceAddress, serviceKey } from '../../src/config/lbModel.js';

const ID: ServiceAddress = { kind: 'inet', family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 };
const KEY = serviceKey(ID);
const dest = (n: number, weight = 1): RealServer =>
  ({ family: 4, address: `198.51.100.${n}`, port: 80, forwarding: 'NAT', weight, tunnel: null });
const tcpCheck = (alpha = false): CheckConfig => ({
  kind: 'tcp_check', connectIp: '198.51.100.1', connectPort: 80, bindTo: undefined, bindPort: undefined, timeoutMs: 5000,
  retry: 1, delayBeforeRetryMs: 1000, delayLoopMs: 60000, warmupMs: 0, alpha, rise: 1,
});
const rs = (n: number, o: { weight?: number; inhibit?: boolean; alpha?: boolean } = {}): RealServerConfig => {
  const d = dest(n, o.weight ?? 1);
  return { id: realServerId(KEY, destKey(d)), dest: d, inhibitOnFailure: o.inhibit ?? false, checks: [tcpCheck(o.alpha)] };
};
function vs(o: Partial<VirtualServerConfig> = {}): VirtualServerConfig {
  return {
    key: KEY, family: 4,
    service: { id: ID, scheduler: 'wrr', persistence: null, pe: null, ops: false, schedFlags: [] },
    quorum: 1, hysteresis: 0, sorryServer: null,
    realServers: [rs(1), rs(2, { weight: 2 }), rs(3, { inhibit: true })],
    ...o,
  };
}
const health = (entries: Record<number, [boolean, number?]>, v = vs()): HealthMap =>
  new Map(v.realServers.map((r, i) => {
    const e = entries[i + 1];
    return [r.id, { up: e ? e[0] : true, weight: e?.[1] ?? r.dest.weight }];
  }));
/** The table of the one service as `address:port@weight`. */
function row(v: VirtualServerConfig, h: HealthMap, prev: QuorumMap = new Map()) {
  const r = desiredTable([v], h, prev);
  const e = r.table.get(KEY)!;
  return {
    dests: [...e.dests.values()].map((d) => `${d.address.split('.')[3]}@${d.weight}`).sort(),
    quorumUp: r.quorum.get(KEY), sorry: r.services[0]!.sorryActive, changes: r.quorumChanges.map((c) => c.reason),
    roles: Object.fromEntries(r.services[0]!.roles),
  };
}

describe('desired table: health and inhibit_on_failure', () => {
  it('up servers are in with their effective weight; down ones leave; inhibited ones stay at 0', () => {
    const r = row(vs(), health({ 1: [true, 5], 2: [false], 3: [false] }), new Map([[KEY, true]]));
    assert.deepEqual(r.dests, ['1@5', '3@0']);
    assert.deepEqual(r.roles, { '198.51.100.1:80': 'up', '198.51.100.2:80': 'down', '198.51.100.3:80': 'inhibited' });
  });
  it('a server with no verdict yet: up unless a check has alpha (keepalived init_service_rs)', () => {
    const v = vs({ realServers: [rs(1), rs(2, { alpha: true }), rs(3, { alpha: true, inhibit: true })] });
    assert.deepEqual(row(v, new Map()).dests, ['1@1', '3@0']);
  });
  it('the service entry is the configured one', () => {
    const r = desiredTable([vs()], health({}), new Map());
    assert.deepEqual(r.table.get(KEY)!.service, vs().service);
  });
});

describe('desired table: quorum with hysteresis and the sorry server', () => {
  const sorryDest = dest(9);
  const withSorry = (o: Partial<VirtualServerConfig> = {}) => vs({ sorryServer: { dest: sorryDest, inhibit: false }, ...o });

  const table: Array<{
    name: string; v: VirtualServerConfig; h: Record<number, [boolean, number?]>; prev: boolean | undefined;
    dests: string[]; quorumUp: boolean; changes: string[];
  }> = [
    { name: 'quorum met: real servers, no sorry server', v: withSorry({ quorum: 3 }), h: {}, prev: true, dests: ['1@1', '2@2', '3@1'], quorumUp: true, changes: [] },
    { name: 'quorum lost: the sorry server replaces all; inhibited stay at 0', v: withSorry({ quorum: 3 }), h: { 2: [false] }, prev: true, dests: ['3@0', '9@1'], quorumUp: false, changes: ['lost'] },
    { name: 'quorum lost without a sorry server: the live servers stay', v: vs({ quorum: 3 }), h: { 2: [false] }, prev: true, dests: ['1@1', '3@1'], quorumUp: false, changes: ['lost'] },
    { name: 'start below quorum + hysteresis: starts down', v: withSorry({ quorum: 3, hysteresis: 1 }), h: { 1: [false] }, prev: undefined, dests: ['3@0', '9@1'], quorumUp: false, changes: ['starting_down'] },
    { name: 'start at quorum + hysteresis: up', v: withSorry({ quorum: 3, hysteresis: 1 }), h: { 2: [true, 3] }, prev: undefined, dests: ['1@1', '2@3', '3@1'], quorumUp: true, changes: [] },
    { name: 'hysteresis: up stays up down to quorum - hysteresis', v: withSorry({ quorum: 3, hysteresis: 1 }), h: { 1: [false] }, prev: true, dests: ['2@2', '3@1'], quorumUp: true, changes: [] },
    { name: 'hysteresis: up is lost below quorum - hysteresis', v: withSorry({ quorum: 3, hysteresis: 1 }), h: { 2: [false], 3: [false] }, prev: true, dests: ['3@0', '9@1'], quorumUp: false, changes: ['lost'] },
    { name: 'hysteresis: down stays down below quorum + hysteresis', v: withSorry({ quorum: 3, hysteresis: 1 }), h: { 1: [false] }, prev: false, dests: ['3@0', '9@1'], quorumUp: false, changes: [] },
    { name: 'hysteresis: down is regained at quorum + hysteresis', v: withSorry({ quorum: 3, hysteresis: 1 }), h: { 1: [true, 2] }, prev: false, dests: ['1@2', '2@2', '3@1'], quorumUp: true, changes: ['gained'] },
    { name: 'a live sum of 0 loses quorum even when quorum - hysteresis is 0 (keepalived: !weight_sum)', v: withSorry({ quorum: 1, hysteresis: 1 }), h: { 1: [true, 0], 2: [true, 0], 3: [false] }, prev: true, dests: ['3@0', '9@1'], quorumUp: false, changes: ['lost'] },
  ];
  for (const c of table) {
    it(c.name, () => {
      const r = row(c.v, health(c.h, c.v), c.prev === undefined ? new Map() : new Map([[KEY, c.prev]]));
      assert.deepEqual({ dests: r.dests, quorumUp: r.quorumUp, changes: r.changes }, { dests: c.dests, quorumUp: c.quorumUp, changes: c.changes });
    });
  }
  it('an inhibited sorry server waits in the table at weight 0', () => {
    const v = vs({ sorryServer: { dest: sorryDest, inhibit: true } });
    assert.deepEqual(row(v, health({}), new Map([[KEY, true]])).dests, ['1@1', '2@2', '3@1', '9@0']);
    assert.deepEqual(row(v, health({ 1: [false], 2: [false], 3: [false] }), new Map([[KEY, true]])).dests, ['3@0', '9@1']);
  });
  it('roles say why each server is (not) in the table', () => {
    const r = row(withSorry({ quorum: 3 }), health({ 2: [false] }), new Map([[KEY, true]]));
    assert.deepEqual(r.roles, {
      '198.51.100.1:80': 'replaced_by_sorry', '198.51.100.2:80': 'down', '198.51.100.3:80': 'replaced_by_sorry',
      '198.51.100.9:80': 'sorry_active',
    });
  });
  it('feeding the quorum map back keeps the hysteresis state across calls', () => {
    const v = withSorry({ quorum: 3, hysteresis: 1 });
    let q: QuorumMap = new Map();
    const steps: Array<[Record<number, [boolean, number?]>, boolean]> = [
      [{}, true], // 4 >= 4
      [{ 1: [false] }, true], // 3 >= 2
      [{ 1: [false], 3: [false] }, true], // 2 >= 2
      [{ 1: [false], 2: [false] }, false], // 1 < 2
      [{ 1: [false] }, false], // 3 < 4
      [{}, true], // 4 >= 4
    ];
    for (const [h, up] of steps) {
      const r = desiredTable([v], health(h, v), q);
      assert.equal(r.quorum.get(KEY), up, JSON.stringify(h));
      q = r.quorum;
    }
  });
});
