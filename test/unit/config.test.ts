// Config loading: typed result, defaults, and every error located at file:line:col with its path.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText, loadConfigFile } from '../../src/config/load.js';
import { formatConfigError } from '../../src/config/errors.js';

const good = `global:
  router_id: lb1
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    version: 3
    priority: 150
    advert_int: 0.1
    unicast_src_ip: 192.0.2.1
    unicast_peers: [192.0.2.2]
    virtual_ipaddresses: [192.0.2.100/24, 192.0.2.101]
    track_interfaces: [{ interface: eth1, weight: -20 }, eth2]
`;

function errorsOf(text: string): string[] {
  const r = loadConfigText(text, 'lb1.yaml', { hostname: 'h' });
  assert.equal(r.ok, false, 'config should be invalid');
  return r.ok ? [] : r.errors.map(formatConfigError);
}

describe('config load', () => {
  it('builds a frozen typed model with keepalived defaults', () => {
    const r = loadConfigText(good, 'lb1.yaml', { hostname: 'h' });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    const i = r.config.vrrpInstances[0]!;
    assert.equal(r.config.global.routerId, 'lb1');
    assert.deepEqual(
      { vrid: i.vrid, version: i.version, family: i.family, priority: i.priority, advertIntCs: i.advertIntCs, preempt: i.preempt },
      { vrid: 51, version: 3, family: 4, priority: 150, advertIntCs: 10, preempt: true });
    assert.deepEqual(i.vips, [
      { address: '192.0.2.100', prefixLen: 24, family: 4 },
      { address: '192.0.2.101', prefixLen: 32, family: 4 },
    ]);
    assert.deepEqual(i.trackInterfaces, [{ interface: 'eth1', weight: -20 }, { interface: 'eth2', weight: 0 }]);
    assert.equal(i.garpMasterRepeat, 5);
    assert.equal(i.garpMasterDelayMs, 5000);
    assert.equal(i.garpLowerPrioRepeat, 5);
    assert.ok(Object.isFrozen(i) && Object.isFrozen(i.vips));
  });
  it('IPv6 VIPs imply version 3 and are canonicalised; IPv4 defaults to version 2', () => {
    const r = loadConfigText(`vrrp_instances:
  - { name: V6, interface: eth0, virtual_router_id: 7, virtual_ipaddresses: ["2001:DB8:0::100/64"] }
  - { name: V4, interface: eth0, virtual_router_id: 8, virtual_ipaddresses: [198.51.100.1/24] }
`, 'x.yaml', { hostname: 'host1' });
    assert.ok(r.ok);
    assert.equal(r.config.global.routerId, 'host1');
    assert.equal(r.config.vrrpInstances[0]!.version, 3);
    assert.equal(r.config.vrrpInstances[0]!.vips[0]!.address, '2001:db8::100');
    assert.equal(r.config.vrrpInstances[1]!.version, 2);
  });
  it('YAML anchors and aliases are validated as the node they name; an alias bomb is refused', () => {
    const r = loadConfigText(`vrrp_instances:
  - { name: A, interface: eth0, virtual_router_id: 1, priority: &p 120, virtual_ipaddresses: &v [192.0.2.10/24] }
  - { name: B, interface: eth1, virtual_router_id: 1, priority: *p, virtual_ipaddresses: [192.0.2.11/24] }
`, 'a.yaml', { hostname: 'h' });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    assert.equal(r.config.vrrpInstances[1]!.priority, 120);
    const bad = errorsOf(`vrrp_instances:
  - { name: A, interface: eth0, virtual_router_id: 1, priority: &p 300, virtual_ipaddresses: [192.0.2.10/24] }
  - { name: B, interface: eth1, virtual_router_id: 2, priority: *p, virtual_ipaddresses: [192.0.2.11/24] }
`);
    // Both uses of the bad anchor are reported, each at the anchored value.
    assert.deepEqual(bad, [
      'lb1.yaml:2:68 vrrp_instances[0].priority: expected an integer 1..255, got 300',
      'lb1.yaml:2:68 vrrp_instances[1].priority: expected an integer 1..255, got 300',
    ]);
    const levels = ['a: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= 8; i++) levels.push(`${String.fromCharCode(97 + i)}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const bomb = errorsOf(`${levels.join('\n')}\n`);
    // As written: the root, 9 keys, 9 lists, 10 scalars and 80 aliases.
    assert.deepEqual(bomb, ['lb1.yaml:1:1 the document expands to more than 1000000 nodes through YAML aliases (109 as written): refusing (alias bomb?)']);
  });
  it('global.ipvs_backend: netlink by default, ipvsadm when asked, anything else located', () => {
    const dflt = loadConfigText(good, 'lb1.yaml', { hostname: 'h' });
    assert.ok(dflt.ok);
    assert.equal(dflt.config.global.ipvsBackend, 'netlink');
    const asked = loadConfigText(good.replace('  router_id: lb1', '  router_id: lb1\n  ipvs_backend: ipvsadm'), 'lb1.yaml', { hostname: 'h' });
    assert.ok(asked.ok);
    assert.equal(asked.config.global.ipvsBackend, 'ipvsadm');
    const errs = errorsOf(good.replace('  router_id: lb1', '  router_id: lb1\n  ipvs_backend: nft'));
    assert.equal(errs.length, 1);
    assert.match(errs[0]!, /^lb1\.yaml:3:17 global\.ipvs_backend: .*netlink.*ipvsadm/);
  });
  it('points at line:col and the key path of a bad value', () => {
    const errs = errorsOf(good.replace('priority: 150', 'priority: 300'));
    assert.deepEqual(errs, ['lb1.yaml:8:15 vrrp_instances[0].priority: expected an integer 1..255, got 300']);
  });
  it('reports unknown keys with a suggestion, and every error at once', () => {
    const errs = errorsOf(good
      .replace('priority: 150', 'priorty: 150')
      .replace('virtual_router_id: 51', 'virtual_router_id: 0')
      .replace('192.0.2.101]', '192.0.2.999]')
      .replace('  router_id: lb1', '  router_id: lb1\n  routerid: x'));
    assert.deepEqual(errs, [
      'lb1.yaml:3:3 global.routerid: unknown key (did you mean router_id?)',
      'lb1.yaml:7:24 vrrp_instances[0].virtual_router_id: expected an integer 1..255, got 0',
      'lb1.yaml:9:5 vrrp_instances[0].priorty: unknown key (did you mean priority?)',
      'lb1.yaml:13:43 vrrp_instances[0].virtual_ipaddresses[1]: expected an address with optional /prefix (e.g. 192.0.2.100/24), got "192.0.2.999"',
    ]);
  });
  it('reports missing required keys at the mapping (virtual_ipaddresses is optional: vip-options.test.ts)', () => {
    const errs = errorsOf('vrrp_instances:\n  - name: A\n    interface: eth0\n');
    assert.deepEqual(errs, [
      'lb1.yaml:2:5 vrrp_instances[0].virtual_router_id: required key is missing',
    ]);
  });
  it('cross-checks: IPv6 with v2, duplicate VRID and name are errors; a v2 fractional interval and auth on v3 are warnings', () => {
    const text = `vrrp_instances:
  - name: A
    interface: eth0
    virtual_router_id: 9
    version: 2
    virtual_ipaddresses: ["2001:db8::1"]
  - name: B
    interface: eth0
    virtual_router_id: 10
    version: 2
    advert_int: 0.5
    virtual_ipaddresses: [192.0.2.1]
  - name: B
    interface: eth0
    virtual_router_id: 10
    version: 3
    authentication: { auth_type: PASS, auth_pass: abc }
    virtual_ipaddresses: [192.0.2.2]
`;
    const r = loadConfigText(text, 'lb1.yaml', { hostname: 'h' });
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? [] : r.errors.map(formatConfigError), [
      'lb1.yaml:5:14 vrrp_instances[0].version: IPv6 VIPs need VRRP version 3 (RFC 5798); VRRPv2 is IPv4 only',
      'lb1.yaml:13:11 vrrp_instances[2].name: duplicate instance name (also vrrp_instances[1])',
      'lb1.yaml:15:24 vrrp_instances[2].virtual_router_id: VRID 10 is already used on eth0 for IPv4 by vrrp_instances[1]',
    ]);
    // keepalived (vrrp.c vrrp_complete_instance()) rounds the interval and ignores v3 auth: warnings, with the errors.
    assert.deepEqual(r.warnings.map(formatConfigError), [
      'lb1.yaml:11:17 warning: vrrp_instances[1].advert_int: VRRPv2 advertises whole seconds: 0.5 s is rounded to 1 s, as keepalived rounds it (use version: 3 for fractions of a second)',
      'lb1.yaml:17:21 warning: vrrp_instances[2].authentication: VRRPv3 has no authentication (RFC 5798 §9 removed it): ignored, as keepalived ignores it',
    ]);
  });
  it('an instance as keepalived corrects it is what runs: v2 interval rounded, v3 capped, v3 auth and a VIP of the other family dropped', () => {
    const r = loadConfigText(`vrrp_instances:
  - { name: A, interface: eth0, virtual_router_id: 1, advert_int: 1.5, virtual_ipaddresses: [192.0.2.1/24, "2001:db8::1"] }
  - { name: B, interface: eth0, virtual_router_id: 2, advert_int: 0.4, virtual_ipaddresses: [192.0.2.2/24] }
  - { name: C, interface: eth0, virtual_router_id: 3, version: 3, advert_int: 41, authentication: { auth_type: PASS, auth_pass: abc }, virtual_ipaddresses: [192.0.2.3/24] }
  - { name: D, interface: eth0, virtual_router_id: 4, version: 3, advert_int: 0.125, virtual_ipaddresses: [192.0.2.4/24] }
`, 'lb1.yaml', { hostname: 'h' });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    const [a, b, c, d] = r.config.vrrpInstances;
    // keepalived 2.2.7 advertises 1.5 s as 2 s and 0.4 s as 1 s (seen on the wire), 41 s as 40.95 s,
    // and rounds v3 to 10 ms half up (vrrp.c: interval + 5 ms, less the remainder).
    assert.deepEqual([a!.advertIntCs, b!.advertIntCs, c!.advertIntCs, d!.advertIntCs], [200, 100, 4095, 13]);
    assert.deepEqual(a!.vips.map((v) => v.address), ['192.0.2.1']);
    assert.equal(c!.auth, undefined);
    assert.equal(r.warnings.length, 6, r.warnings.map(formatConfigError).join('\n'));
    assert.match(formatConfigError(r.warnings[5]!), /^lb1\.yaml:5:79 warning: vrrp_instances\[3\]\.advert_int: VRRPv3 advertises hundredths of a second: 0\.125 s is rounded to 0\.13 s/);
  });
  it('wrong types and enum values say what was expected', () => {
    const errs = errorsOf(good.replace('unicast_peers: [192.0.2.2]', 'unicast_peers: 192.0.2.2\n    preempt: yes please\n    authentication: { auth_type: PAS, auth_pass: "123456789" }'));
    assert.deepEqual(errs, [
      'lb1.yaml:11:20 vrrp_instances[0].unicast_peers: expected a list, got "192.0.2.2"',
      'lb1.yaml:12:14 vrrp_instances[0].preempt: expected true or false, got "yes please"',
      'lb1.yaml:13:34 vrrp_instances[0].authentication.auth_type: expected one of PASS, got "PAS" (did you mean PASS?)',
      'lb1.yaml:13:50 vrrp_instances[0].authentication.auth_pass: expected a password of at most 8 characters, got 9',
    ]);
  });
  it('a file that cannot be read is one line about the file, with no made-up position', () => {
    const r = loadConfigFile('/nonexistent/tandem.yaml');
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? [] : r.errors.map(formatConfigError), ['/nonexistent/tandem.yaml: cannot read the file: no such file (ENOENT)']);
  });
});
