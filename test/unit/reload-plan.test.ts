// The reload plan (src/daemon/reloadPlan.ts), pure: which instances keep their state (identity =
// VRID, family, interface, unicast/multicast), which real servers keep their checker, which
// services the reconciler must look at, and which global keys need a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describePlan, instanceIdentity, planReload, restartOnlyChanges } from '../../src/daemon/reloadPlan.js';
import { loadOk } from '../lib/config.js';

const inst = (name: string, vrid: number, extra = '', iface = 'eth0') => `
  - name: ${name}
    interface: ${iface}
    virtual_router_id: ${vrid}
    virtual_ipaddresses: [192.0.2.${vrid}/24]
${extra}`;

const cfg = (instances: string, vs = '', global = '') => loadOk(`global:\n  router_id: lb1\n${global}vrrp_instances:${instances}\n${vs}`);

test('identity: a rename with new settings is kept; another interface, VRID or unicast is another router', () => {
  const old = cfg(inst('A', 10) + inst('B', 11) + inst('C', 12) + inst('D', 13));
  const next = cfg(
    inst('A2', 10, '    priority: 150\n    advert_int: 2\n') + // renamed, same identity
    inst('B', 11, '', 'eth1') + // other interface
    inst('C', 14) + // other VRID
    inst('D', 13, '    unicast_peers: [192.0.2.2]\n'), // unicast now
  );
  const p = planReload(old, next);
  assert.deepEqual(p.vrrp.kept.map((k) => [k.old.name, k.next.name, k.changed]), [['A', 'A2', ['name', 'priority', 'advertIntCs']]]);
  assert.deepEqual(p.vrrp.added.map((i) => instanceIdentity(i)), ['vrid 11 IPv4 eth1 multicast', 'vrid 14 IPv4 eth0 multicast', 'vrid 13 IPv4 eth0 unicast']);
  assert.deepEqual(p.vrrp.removed.map((i) => i.name), ['B', 'C', 'D']);
  assert.deepEqual(describePlan(p).slice(0, 1), ['vrrp A2 (vrid 10 IPv4 eth0 multicast): renamed from A, changed name, priority, advert_int; state kept']);
});

test('an identical config plans nothing', () => {
  const text = inst('A', 10) + inst('B', 11, '    track_interfaces: [eth1]\n');
  const p = planReload(cfg(text), cfg(text));
  assert.deepEqual(p.vrrp.kept.map((k) => k.changed), [[], []]);
  assert.deepEqual(describePlan(p), []);
  assert.equal(p.alertsChanged, false);
  assert.equal(p.statusApiChanged, false);
});

const vsText = (rs: string[], algo = 'wrr') => `virtual_servers:
  - address: 192.0.2.100
    port: 80
    protocol: TCP
    lb_algo: ${algo}
    lb_kind: NAT
    real_servers:
${rs.join('')}
  - address: 192.0.2.101
    port: 80
    protocol: TCP
    lb_algo: rr
    lb_kind: NAT
    real_servers:
      - address: 198.51.100.21
        port: 80
        checks: [{ tcp_check: {} }]
`;
const rs = (last: number, weight = 1, check = '{ tcp_check: {} }') => `      - address: 198.51.100.${last}
        port: 80
        weight: ${weight}
        checks: [${check}]
`;

test('real servers: same checks keep their checker; a weight change is one change in one service', () => {
  const old = cfg(inst('A', 10), vsText([rs(11), rs(12), rs(13), rs(14)]));
  const next = cfg(inst('A', 10), vsText([rs(11, 5), rs(12), rs(13, 1, '{ http_get: { urls: [{ path: / }] } }'), rs(15)]));
  const p = planReload(old, next).lb;
  const id = (n: number) => `TCP 192.0.2.100:80 -> 198.51.100.${n}:80`;
  assert.deepEqual(p.keptCheckers.sort(), [id(11), id(12), 'TCP 192.0.2.101:80 -> 198.51.100.21:80'].sort());
  assert.deepEqual(p.restartedCheckers, [id(13)]);
  assert.deepEqual(p.addedServers, [id(15)]);
  assert.deepEqual(p.removedServers, [id(14)]);
  assert.deepEqual(p.weightChanges, [{ id: id(11), from: 1, to: 5 }]);
  // Only the service that changed is looked at; the other is left alone.
  assert.deepEqual(p.changedServices, ['TCP 192.0.2.100:80']);
  assert.deepEqual([p.addedServices, p.removedServices], [[], []]);
});

test('virtual services: added, removed, and a scheduler change', () => {
  const old = cfg(inst('A', 10), vsText([rs(11)]));
  const next = cfg(inst('A', 10), vsText([rs(11)], 'rr').replace('192.0.2.101', '192.0.2.102'));
  const p = planReload(old, next).lb;
  assert.deepEqual(p.changedServices, ['TCP 192.0.2.100:80']);
  assert.deepEqual(p.addedServices, ['TCP 192.0.2.102:80']);
  assert.deepEqual(p.removedServices, ['TCP 192.0.2.101:80']);
  assert.deepEqual(p.weightChanges, []);
});

test('restart-only keys: ipvs_backend; status listeners and alert channels are reloadable changes', () => {
  const old = cfg(inst('A', 10));
  const next = cfg(inst('A', 10), '', '  ipvs_backend: ipvsadm\n  metrics_listen: 127.0.0.1:9650\n  notify_fifo: /run/tandem/fifo\n');
  assert.deepEqual(restartOnlyChanges(old, next), [{ key: 'ipvs_backend', from: 'netlink', to: 'ipvsadm' }]);
  const p = planReload(old, next);
  assert.equal(p.statusApiChanged, true);
  assert.equal(p.alertsChanged, true);
  assert.deepEqual(restartOnlyChanges(old, cfg(inst('B', 10))), []);
});
