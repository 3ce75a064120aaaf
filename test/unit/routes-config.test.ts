// virtual_routes / virtual_rules and global static_ipaddress / static_routes / static_rules
// (src/config/routes.ts): keepalived's text and the mapping give one model; each rule of
// keepalived's alloc_route() / alloc_rule() holds, and each error points at the word inside the
// entry (file:line:col).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configErrors, loadOk, loadWithWarnings } from '../lib/config.js';

const inst = (key: string, entries: string, extra = '') => `vrrp_instances:
  - name: A
    interface: eth0
    virtual_router_id: 1${extra}
    virtual_ipaddresses: [192.0.2.100/24]
    ${key}:
${entries}`;
const routes = (e: string) => loadOk(inst('virtual_routes', e)).vrrpInstances[0]!.virtualRoutes;
const rules = (e: string) => loadOk(inst('virtual_rules', e)).vrrpInstances[0]!.virtualRules;

describe('virtual_routes: the model', () => {
  it('the keepalived text and the mapping give the same route; tracked: protocol keepalived (18)', () => {
    const want = [{ spec: { family: 4, dst: '198.51.100.0', dstLen: 24, table: 100, protocol: 18, scope: 0, type: 'unicast', via: '203.0.113.1', dev: 'eth0', metric: 10, src: '192.0.2.100' }, noTrack: false }];
    assert.deepEqual(routes('      - "198.51.100.0/24 via 203.0.113.1 dev eth0 table 100 metric 10 src 192.0.2.100"\n'), want);
    assert.deepEqual(routes('      - { to: 198.51.100.0/24, via: 203.0.113.1, dev: eth0, table: 100, metric: 10, src: 192.0.2.100 }\n'), want);
    // `to` and the options in any order, as keepalived reads them.
    assert.deepEqual(routes('      - "src 192.0.2.100 table 100 to 198.51.100.0/24 dev eth0 via 203.0.113.1 priority 10"\n'), want);
  });

  it('types, default, no_track (protocol boot, as iproute2), IPv6 with from, onlink, metrics, table names', () => {
    const r = routes([
      '      - blackhole 198.51.100.0/25 dev eth0',
      '      - { type: unreachable, to: 203.0.113.0/24, dev: eth0 }',
      '      - default via 192.0.2.1 dev eth0 table main no_track',
      '      - 2001:db8:1::/48 from 2001:db8::/64 via 2001:db8::1 dev eth0 onlink mtu 1400 advmss 1360 hoplimit 64',
      '      - prohibit 192.0.2.128/25 dev eth0 table local scope link protocol keepalived',
    ].join('\n') + '\n').map((x) => ({ ...x.spec, noTrack: x.noTrack }));
    assert.deepEqual(r, [
      { family: 4, dst: '198.51.100.0', dstLen: 25, table: 254, protocol: 18, scope: 0, type: 'blackhole', dev: 'eth0', noTrack: false },
      { family: 4, dst: '203.0.113.0', dstLen: 24, table: 254, protocol: 18, scope: 0, type: 'unreachable', dev: 'eth0', noTrack: false },
      { family: 4, dst: '0.0.0.0', dstLen: 0, table: 254, protocol: 3, scope: 0, type: 'unicast', via: '192.0.2.1', dev: 'eth0', noTrack: true },
      { family: 6, dst: '2001:db8:1::', dstLen: 48, table: 254, protocol: 18, scope: 0, type: 'unicast', from: '2001:db8::', fromLen: 64, via: '2001:db8::1', dev: 'eth0', onlink: true, mtu: 1400, advmss: 1360, hoplimit: 64, noTrack: false },
      { family: 4, dst: '192.0.2.128', dstLen: 25, table: 255, protocol: 18, scope: 253, type: 'prohibit', dev: 'eth0', noTrack: false },
    ]);
  });

  it('nexthop (multipath), text and mapping', () => {
    const want = [{ via: '203.0.113.1', dev: 'eth0', weight: 2 }, { via: '203.0.113.2', dev: 'eth1' }];
    assert.deepEqual(routes('      - "198.51.100.0/24 nexthop via 203.0.113.1 dev eth0 weight 2 nexthop via 203.0.113.2 dev eth1"\n')[0]!.spec.nexthops, want);
    assert.deepEqual(routes('      - { to: 198.51.100.0/24, nexthops: [{ via: 203.0.113.1, dev: eth0, weight: 2 }, { via: 203.0.113.2, dev: eth1 }] }\n')[0]!.spec.nexthops, want);
  });

  it('keepalived\'s corrections are warnings: gw, a tracked route with another protocol, a tracked route without dev', () => {
    const { config, warnings } = loadWithWarnings(inst('virtual_routes', [
      '      - 198.51.100.0/24 gw 203.0.113.1 dev eth0',
      '      - 198.51.100.32/27 via 203.0.113.1 dev eth0 protocol static',
      '      - 198.51.100.64/27 via 203.0.113.1',
    ].join('\n') + '\n'));
    assert.deepEqual(warnings, [
      'lb.yaml:7:25 warning: vrrp_instances[0].virtual_routes[0]: "gw" is deprecated: write "via" (keepalived: "\\"gw\\" for routes is deprecated. Please use \\"via\\"")',
      'lb.yaml:8:60 warning: vrrp_instances[0].virtual_routes[1]: a tracked route has protocol keepalived (18), not 4 (keepalived: "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"); add no_track to keep 4',
      'lb.yaml:9:9 warning: vrrp_instances[0].virtual_routes[2]: a route without dev is not tracked (keepalived: "cannot track route ... with no interface specified, not tracking"): if someone deletes it, it comes back at the next transition to MASTER or reload only',
    ]);
    assert.deepEqual(config.vrrpInstances[0]!.virtualRoutes.map((r) => [r.spec.protocol, r.noTrack]), [[18, false], [18, false], [18, true]]);
  });

  it('every error is located at its word', () => {
    assert.deepEqual(configErrors(inst('virtual_routes', [
      '      - via 203.0.113.1 dev eth0',
      '      - 198.51.100.0/24 via 2001:db8::1 dev eth0',
      '      - 198.51.100.0/24 from 192.0.2.0/24 dev eth0',
      '      - 198.51.100.1/24 dev eth0',
      '      - 198.51.100.0/24 dev eth0 table nosuch',
      '      - 198.51.100.0/24 dev eth0 realms 1/2',
      '      - local 198.51.100.0/24 dev eth0',
      '      - 198.51.100.0/24 dev eth0 bogus',
      '      - 198.51.100.0/24 nexthop via 203.0.113.1 weight 300',
    ].join('\n') + '\n')), [
      'lb.yaml:7:9 vrrp_instances[0].virtual_routes[0]: a route needs a destination (keepalived: "Route must have a destination"), e.g. 198.51.100.0/24 or default',
      'lb.yaml:8:29 vrrp_instances[0].virtual_routes[1]: 2001:db8::1 is IPv6, the rest of the route IPv4 (keepalived: "Cannot mix IPv4 and IPv6 addresses for route")',
      'lb.yaml:9:30 vrrp_instances[0].virtual_routes[2]: from is for IPv6 routes only (keepalived vrrp_iproute.c alloc_route(): "route from address only supported with IPv6"); for IPv4 use src, or a rule',
      'lb.yaml:10:9 vrrp_instances[0].virtual_routes[3]: 198.51.100.1/24 has host bits set beyond its prefix (the kernel refuses it: "Invalid prefix for given prefix length"); write the network address',
      'lb.yaml:11:40 vrrp_instances[0].virtual_routes[4]: table: expected a table number 1..4294967295 or main, local, default, got "nosuch" (a name from /etc/iproute2/rt_tables: give its number)',
      'lb.yaml:12:34 vrrp_instances[0].virtual_routes[5]: realms: keepalived\'s route option is not supported by tandem (supported: src, via, from, dev, table, metric, protocol, scope, tos, onlink, mtu, advmss, hoplimit, initcwnd, initrwnd, nexthop, no_track and the types unicast, blackhole, unreachable, prohibit, throw)',
      'lb.yaml:13:9 vrrp_instances[0].virtual_routes[6]: route type local is not supported by tandem (supported: unicast, blackhole, unreachable, prohibit, throw)',
      'lb.yaml:14:34 vrrp_instances[0].virtual_routes[7]: unknown route keyword bogus (keepalived: "unknown route keyword"): expected a destination (ADDRESS/PREFIX or default) or an option',
      'lb.yaml:15:56 vrrp_instances[0].virtual_routes[8]: nexthop weight: expected 1..256, got "300" (keepalived: "Invalid weight")',
    ]);
  });
});

describe('virtual_rules: the model', () => {
  it('text and mapping give the same rule; tracked: FRA_PROTOCOL keepalived', () => {
    const want = [{ spec: { family: 4, from: '192.0.2.10', fromLen: 32, table: 100, action: 'table', priority: 100, protocol: 18 }, noTrack: false }];
    assert.deepEqual(rules('      - from 192.0.2.10 table 100 priority 100\n'), want);
    assert.deepEqual(rules('      - { from: 192.0.2.10, lookup: 100, preference: 100 }\n'), want);
  });

  it('actions and selectors: goto, blackhole, not, fwmark/mask, iif/oif, ports, uidrange, ipproto, IPv6, no_track', () => {
    const r = rules([
      '      - from all fwmark 0x10/0xff iif eth0 oif eth1 goto 200 priority 150',
      '      - not to 198.51.100.0/24 type blackhole pref 160 no_track',
      '      - inet6 from 2001:db8::/64 ipproto tcp dport 80-443 sport 1024 uidrange 1000-2000 table 200 priority 170 suppress_prefixlength 0',
    ].join('\n') + '\n').map((x) => ({ ...x.spec, noTrack: x.noTrack }));
    assert.deepEqual(r, [
      { family: 4, fwmark: 16, fwmask: 255, iif: 'eth0', oif: 'eth1', gotoPriority: 200, priority: 150, action: 'goto', protocol: 18, noTrack: false },
      { family: 4, invert: true, to: '198.51.100.0', toLen: 24, priority: 160, action: 'blackhole', noTrack: true },
      { family: 6, from: '2001:db8::', fromLen: 64, ipProto: 6, dport: [80, 443], sport: [1024, 1024], uidRange: [1000, 2000], table: 200, priority: 170, suppressPrefixLen: 0, action: 'table', protocol: 18, noTrack: false },
    ]);
  });

  it('a rule without a preference gets 16384, 16383, ... per family, in file order, with keepalived\'s warning', () => {
    const { config, warnings } = loadWithWarnings(`global:
  static_rules:
    - from 192.0.2.1 table 10
${inst('virtual_rules', '      - from 192.0.2.2 table 10\n      - from 2001:db8::2 table 10\n      - from 192.0.2.3 table 10\n')}`);
    assert.deepEqual(config.global.staticRules.map((r) => r.spec.priority), [16384]);
    assert.deepEqual(config.vrrpInstances[0]!.virtualRules.map((r) => r.spec.priority), [16383, 16384, 16382]);
    assert.equal(warnings.length, 4);
    assert.match(warnings[0]!, /^lb\.yaml:3:7 warning: global\.static_rules\[0\]: rule has no preference: given 16384 \(keepalived: "Rule has no preference specified - setting to 16384\. This is probably not what you want\."\)$/);
  });

  it('every error is located', () => {
    assert.deepEqual(configErrors(inst('virtual_rules', [
      '      - from 192.0.2.10',
      '      - from 192.0.2.10 table 100 blackhole priority 5',
      '      - from 192.0.2.10 goto 100',
      '      - from 192.0.2.10 goto 100 priority 100',
      '      - from 192.0.2.10 blackhole suppress_prefixlength 0 priority 7',
      '      - from 192.0.2.10 to 2001:db8::/32 table 5 priority 8',
      '      - from 192.0.2.10 table 0 priority 9',
      '      - from 192.0.2.10 fwmark 1/x table 5 priority 10',
    ].join('\n') + '\n')), [
      'lb.yaml:7:9 vrrp_instances[0].virtual_rules[0]: a rule needs an action: table N (or lookup), goto N, nop, blackhole, unreachable, prohibit or l3mdev (keepalived: "No action specified for rule")',
      'lb.yaml:8:35 vrrp_instances[0].virtual_rules[1]: blackhole: a rule has one action; it has table already (keepalived: "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule")',
      'lb.yaml:9:25 vrrp_instances[0].virtual_rules[2]: goto 100 needs a preference of its own below it (keepalived: "goto target %u specified without preference")',
      'lb.yaml:10:25 vrrp_instances[0].virtual_rules[3]: preference 100 >= goto target 100: a goto jumps forward (keepalived: "Invalid rule - preference %u >= goto target %u")',
      'lb.yaml:11:35 vrrp_instances[0].virtual_rules[4]: suppress_prefixlength applies to a table action only (keepalived: "suppressor/realm specified for non table action")',
      'lb.yaml:12:28 vrrp_instances[0].virtual_rules[5]: 2001:db8::/32 is IPv6, the rest of the rule IPv4 (keepalived: "Cannot mix IPv4 and IPv6 addresses for rule")',
      'lb.yaml:13:31 vrrp_instances[0].virtual_rules[6]: table: expected a table number 1..4294967295 or main, local, default, got "0" (keepalived: "Table 0 is not valid"; a name from rt_tables: give its number)',
      'lb.yaml:14:32 vrrp_instances[0].virtual_rules[7]: fwmark: expected MARK or MARK/MASK (numbers, 0x hex allowed), got "1/x" (keepalived: "Invalid rule fwmark")',
    ]);
  });
});

describe('static_ipaddress / static_routes / static_rules and ownership', () => {
  it('global statics: addresses need dev; the model holds all three', () => {
    const c = loadOk(`global:
  static_ipaddress: ["203.0.113.5/24 dev eth1", { address: 2001:db8::5/64, dev: eth1 }]
  static_routes: [198.51.100.0/24 via 203.0.113.1 dev eth1]
  static_rules: [from 203.0.113.5 table 7 priority 7]
`);
    assert.deepEqual(c.global.staticAddresses.map((a) => `${a.address}/${a.prefixLen} ${a.dev}`), ['203.0.113.5/24 eth1', '2001:db8::5/64 eth1']);
    assert.equal(c.global.staticRoutes[0]!.spec.via, '203.0.113.1');
    assert.equal(c.global.staticRules[0]!.spec.table, 7);
    assert.deepEqual(configErrors('global:\n  static_ipaddress: [203.0.113.5/24]\n'),
      ['lb.yaml:2:22 global.static_ipaddress[0]: a static address needs dev (e.g. "203.0.113.5/24 dev eth0"): there is no instance whose interface it could take']);
  });

  it('one route, rule or address has one owner: two instances, or an instance and the statics, are refused', () => {
    const errs = configErrors(`global:
  static_routes: [198.51.100.0/24 via 203.0.113.1 dev eth1]
  static_ipaddress: [192.0.2.100/24 dev eth0]
vrrp_instances:
  - name: A
    interface: eth0
    virtual_router_id: 1
    virtual_ipaddresses: [192.0.2.100/24]
    virtual_routes: [198.51.100.0/24 via 203.0.113.9 dev eth0]
    virtual_rules: [from 192.0.2.100 table 5 priority 5]
  - name: B
    interface: eth0
    virtual_router_id: 2
    virtual_ipaddresses: [192.0.2.101/24]
    virtual_routes: ["198.51.100.0/24 via 203.0.113.1 dev eth0 metric 5"]
    virtual_rules: [from 192.0.2.100 table 5 priority 5]
`);
    assert.deepEqual(errs, [
      'lb.yaml:3:22 global.static_ipaddress[0]: 192.0.2.100 is a VIP of vrrp_instances[0]: a static address stays while tandem runs, a VIP leaves with MASTER; give it one role',
      'lb.yaml:9:22 vrrp_instances[0].virtual_routes[0]: route 198.51.100.0/24 (table 254) is also in global.static_routes: each would delete it when the other installs or removes its own (keepalived accepts it; tandem refuses it)',
      'lb.yaml:16:21 vrrp_instances[1].virtual_rules[0]: rule 5 is also in vrrp_instances[0]: each would delete it when the other installs or removes its own (keepalived accepts it; tandem refuses it)',
    ]);
  });
});
