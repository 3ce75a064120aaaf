// use_vmac / vmac_xmit_base: the config keys (src/config/vmac.ts) and what the router does with
// them (src/vrrp/vmac.ts) on the fake network port: VMAC made at start, VIPs and GARPs on it,
// adverts from the VMAC (from the base with vmac_xmit_base), VMAC released at stop, a use_vmac change
// refused at reload.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { planReload } from '../../src/daemon/reloadPlan.js';
import { VrrpRouter } from '../../src/vrrp/router.js';
import { masterDownIntervalMs } from '../../src/vrrp/timers.js';
import { configErrors, loadOk, loadWithWarnings } from '../lib/config.js';
import { FakeVrrpNetwork, manualOneShot } from '../lib/fakeVrrpNetwork.js';
import { ManualTimers } from '../lib/manualTimers.js';

const quiet = createLogger({ write: () => undefined });
const inst = (extra: string, vrid = 7, name = 'VI_1', vip = '192.0.2.100/24') =>
  `  - { name: ${name}, interface: eth0, virtual_router_id: ${vrid}, priority: 100, advert_int: 1, virtual_ipaddresses: [${vip}]${extra} }\n`;
const cfg = (...insts: string[]) => `vrrp_instances:\n${insts.join('')}`;

describe('use_vmac config', () => {
  it('true gives keepalived\'s default name vrrp.<VRID>; a name is kept; absent or false: no VMAC', () => {
    assert.deepEqual(loadOk(cfg(inst(', use_vmac: true'))).vrrpInstances[0]!.vmac, { name: 'vrrp.7', xmitBase: false });
    assert.deepEqual(loadOk(cfg(inst(', use_vmac: vm7, vmac_xmit_base: true'))).vrrpInstances[0]!.vmac, { name: 'vm7', xmitBase: true });
    assert.equal(loadOk(cfg(inst(''))).vrrpInstances[0]!.vmac, undefined);
    assert.equal(loadOk(cfg(inst(', use_vmac: false'))).vrrpInstances[0]!.vmac, undefined);
  });

  it('a name longer than IFNAMSIZ - 1 is refused, located', () => {
    const errs = configErrors(cfg(inst(', use_vmac: abcdefghijklmnop')));
    assert.equal(errs.length, 1);
    assert.match(errs[0]!, /:2:137 vrrp_instances\[0\]\.use_vmac.*1\.\.15 characters/);
  });

  it('two instances with one VMAC name are refused; vmac_xmit_base without use_vmac warns', () => {
    const errs = configErrors(cfg(inst(', use_vmac: true'), `  - { name: VI_6, interface: eth0, virtual_router_id: 7, priority: 100, virtual_ipaddresses: ['2001:db8::7/64'], use_vmac: true }\n`));
    assert.equal(errs.length, 1);
    assert.match(errs[0]!, /vrrp_instances\[1\]\.use_vmac.*VMAC vrrp\.7 is also vrrp_instances\[0\]'s/);
    const { warnings } = loadWithWarnings(cfg(inst(', vmac_xmit_base: true')));
    assert.ok(warnings.some((w) => /vmac_xmit_base.*no effect without use_vmac/.test(w)), warnings.join('\n'));
  });
});

function rig(text: string) {
  const timers = new ManualTimers(0);
  const net = new FakeVrrpNetwork(timers).addLink('eth0', ['10.0.0.5/24']);
  const router = new VrrpRouter(loadOk(text), {
    net, timers, advertTimer: () => manualOneShot(timers), log: quiet,
    events: { changed: () => undefined, transition: () => undefined, groupTransition: () => undefined },
  });
  return { timers, net, router };
}

describe('use_vmac in the router', () => {
  it('makes the VMAC at start, puts the VIPs and GARPs on it, sends adverts from it, releases it at stop', async () => {
    const r = rig(cfg(inst(', use_vmac: true')));
    r.router.start();
    assert.deepEqual([...r.net.vmacs], [['vrrp.7', { parent: 'eth0', mac: '00:00:5e:00:01:07', created: true }]]);
    await r.timers.runUntil(Math.ceil(masterDownIntervalMs(2, 100, 100)));
    assert.ok(r.net.has('vrrp.7', '192.0.2.100'), 'VIP on the VMAC');
    assert.equal(r.net.has('eth0', '192.0.2.100'), false, 'not on the base interface');
    assert.ok(r.net.announced.length > 0 && r.net.announced.every((a) => a.ifname === 'vrrp.7'), JSON.stringify(r.net.announced));
    assert.ok(r.net.advertsOn('vrrp.7').length > 0, 'adverts from the VMAC (keepalived vrrp_create_sockpool())');
    assert.equal(r.net.advertsOn('eth0').length, 0, 'none from the base interface');
    r.router.stop();
    assert.equal(r.net.vmacs.size, 0, 'removed at stop');
    assert.deepEqual(r.net.vmacOps.map((o) => o.op), ['acquire', 'release']);
  });

  it('vmac_xmit_base: adverts from the base interface, VIPs still on the VMAC; unicast peers set it, as keepalived does (with a warning)', async () => {
    const r = rig(cfg(inst(', use_vmac: true, vmac_xmit_base: true')));
    r.router.start();
    await r.timers.runUntil(Math.ceil(masterDownIntervalMs(2, 100, 100)));
    assert.ok(r.net.has('vrrp.7', '192.0.2.100'), 'VIP on the VMAC');
    assert.ok(r.net.advertsOn('eth0').length > 0, 'adverts from the base interface');
    assert.equal(r.net.advertsOn('vrrp.7').length, 0, 'none from the VMAC');
    r.router.stop();
    const { config, warnings } = loadWithWarnings(cfg(inst(', use_vmac: true, unicast_src_ip: 10.0.0.5, unicast_peers: [10.0.0.6]')));
    assert.deepEqual(config.vrrpInstances[0]!.vmac, { name: 'vrrp.7', xmitBase: true });
    assert.ok(warnings.some((w) => /unicast with use_vmac needs vmac_xmit_base/.test(w)), warnings.join('\n'));
  });

  it('an interface with the VMAC\'s name that is not it stops the start with a clear error', () => {
    const r = rig(cfg(inst(', use_vmac: true')));
    r.net.addLink('vrrp.7', []);
    assert.throws(() => r.router.start(), /VI_1: use_vmac vrrp\.7: an interface vrrp\.7 exists but is not a macvlan on eth0/);
  });

  it('a reload that changes use_vmac on a kept instance is refused; one that adds an instance with it makes its VMAC', () => {
    const before = loadOk(cfg(inst('')));
    const r = rig(cfg(inst('')));
    r.router.start();
    const changed = loadOk(cfg(inst(', use_vmac: true')));
    assert.throws(() => r.router.checkReconfigure(changed, planReload(before, changed).vrrp), /VI_1: use_vmac changed \(none -> vrrp\.7\)/);
    assert.equal(r.net.vmacs.size, 0);
    const added = loadOk(cfg(inst(''), inst(', use_vmac: true', 8, 'VI_2', '192.0.2.101/24')));
    r.router.reconfigure(added, planReload(before, added).vrrp);
    assert.deepEqual([...r.net.vmacs.keys()], ['vrrp.8']);
    const removed = loadOk(cfg(inst('')));
    r.router.reconfigure(removed, planReload(added, removed).vrrp);
    assert.equal(r.net.vmacs.size, 0, 'a removed instance releases its VMAC');
  });
});
