// VIP entries (src/config/vipOptions.ts): keepalived's text and the mapping give the same model;
// each option is validated with keepalived's rule (vrrp_ipaddress.c alloc_ipaddress()), and each
// error points at the option inside the entry (file:line:col), or at the mapping's key.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configErrors, loadOk, loadWithWarnings } from '../lib/config.js';

const inst = (vips: string, extra = '') => `vrrp_instances:
  - name: A
    interface: eth0
    virtual_router_id: 1${extra}
    virtual_ipaddresses:
${vips}`;

describe('VIP options: the model', () => {
  it('the keepalived text and the mapping give the same VIP', () => {
    const text = loadOk(inst('      - "192.0.2.10/24 dev eth1 label eth1:vip scope link brd + no_track home"\n')).vrrpInstances[0]!.vips;
    const map = loadOk(inst('      - { address: 192.0.2.10/24, dev: eth1, label: "eth1:vip", scope: link, brd: "+", no_track: true, home: true }\n')).vrrpInstances[0]!.vips;
    const want = [{ address: '192.0.2.10', prefixLen: 24, family: 4, dev: 'eth1', label: 'eth1:vip', scope: 253, broadcast: '192.0.2.255', noTrack: true, flags: ['home'] }];
    assert.deepEqual(text, want);
    assert.deepEqual(map, want);
  });

  it('scope takes names and numbers; brd an address, + (host bits set) or - (cleared); broadcast is brd', () => {
    const v = loadOk(inst([
      '      - 192.0.2.10/24 scope 200 brd -',
      '      - 192.0.2.11/25 scope host broadcast 192.0.2.127',
      '      - 198.51.100.1/16 scope nowhere brd +',
    ].join('\n') + '\n')).vrrpInstances[0]!.vips.map((x) => [x.scope, x.broadcast]);
    assert.deepEqual(v, [[200, '192.0.2.0'], [254, '192.0.2.127'], [255, '198.51.255.255']]);
  });

  it('peer: the VIP is IFA_LOCAL, a /32 (keepalived 2.2.7 reads the peer without a prefix)', () => {
    const v = loadOk(inst('      - 192.0.2.10 peer 192.0.2.1\n')).vrrpInstances[0]!.vips[0]!;
    assert.deepEqual(v, { address: '192.0.2.10', prefixLen: 32, family: 4, peer: '192.0.2.1' });
    assert.deepEqual(configErrors(inst('      - 192.0.2.10 peer 192.0.2.1/30\n')),
      ['lb.yaml:6:25 vrrp_instances[0].virtual_ipaddresses[0].peer: expected an address without /prefix, got "192.0.2.1/30" (keepalived: "Invalid peer address")']);
  });

  it('IPv6: preferred_lft 0 by default for a /128 (keepalived), forever otherwise; forever and N as given; -nodad keeps DAD', () => {
    const cfg = loadOk(`vrrp_instances:
  - name: A
    interface: eth0
    virtual_router_id: 1
    virtual_ipaddresses:
      - 2001:db8::1/128
      - 2001:db8::2/64
      - 2001:db8::3/128 preferred_lft forever
      - "2001:db8::4/64 preferred_lft 30 -nodad noprefixroute autojoin"
      - { address: 2001:db8::5/64, preferred_lft: 60, nodad: false }
`);
    assert.deepEqual(cfg.vrrpInstances[0]!.vips.map((v) => [v.preferredLft, v.dad, v.flags]), [
      [0, undefined, undefined], [undefined, undefined, undefined], [0xffffffff, undefined, undefined],
      [30, true, ['noprefixroute', 'autojoin']], [60, true, undefined],
    ]);
  });

  it('a label that does not start with the interface name and ":" loads with a warning (ip addr refuses it; keepalived does not)', () => {
    const { warnings } = loadWithWarnings(inst('      - 192.0.2.10/24 label foo:1\n      - 192.0.2.11/24 dev eth1 label eth1:a\n      - 192.0.2.12/24 label eth0\n'));
    assert.deepEqual(warnings, ['lb.yaml:6:9 warning: vrrp_instances[0].virtual_ipaddresses[0]: label foo:1 does not start with eth0: ' +
      '(keepalived.conf(5): "it should be of the form <realdev>:<anytext>"; ip addr refuses it, keepalived and the kernel add it)']);
  });
});

describe('VIP options: errors, located', () => {
  it('each bad option of a text entry is reported at the option\'s own column', () => {
    const errs = configErrors(inst([
      '      - 192.0.2.13/24 scope bogus brd 1.2.3',
      '      - 192.0.2.14/24 label',
      '      - 192.0.2.15/24 fast',
      '      - "192.0.2.16/24 dev eth1 dev eth2"',
      '      - 192.0.2.17/31 brd +',
      '      - 192.0.2.18/24 peer 192.0.2.1',
      '      - 192.0.2.19 peer 2001:db8::1',
      '      - 192.0.2.20 brd + peer 192.0.2.1',
      '      - 192.0.2.21/24 label abcdefghijklmnop',
      '      - 192.0.2.22/24 preferred_lft 0',
      '      - 192.0.2.23/24 use_vmac',
      '      - 192.0.2.24/24 track_group G',
      '      - 192.0.2.25/24 dev eth0/x',
      '      - 192.0.2.26/24 -nodad',
    ].join('\n') + '\n'));
    assert.deepEqual(errs, [
      'lb.yaml:6:29 vrrp_instances[0].virtual_ipaddresses[0].scope: expected global, site, link, host, nowhere or 0..255, got "bogus" (keepalived: "Invalid scope")',
      'lb.yaml:6:39 vrrp_instances[0].virtual_ipaddresses[0].brd: expected an IPv4 address, + or -, got "1.2.3" (keepalived: "VRRP is trying to assign invalid broadcast")',
      'lb.yaml:7:23 vrrp_instances[0].virtual_ipaddresses[1].label: label needs a value (keepalived: "No label parameter specified")',
      "lb.yaml:8:23 vrrp_instances[0].virtual_ipaddresses[2].fast: unknown option fast (keepalived's: dev, scope, brd, label, peer, no_track, preferred_lft, home, -nodad, noprefixroute, autojoin, mngtmpaddr)",
      'lb.yaml:9:33 vrrp_instances[0].virtual_ipaddresses[3].dev: dev is given twice (keepalived: "Cannot specify ipaddress device more than once")',
      'lb.yaml:10:27 vrrp_instances[0].virtual_ipaddresses[4].brd: brd + needs a prefix of at most 30, the address has /31 (keepalived: "Address prefix length %d too long for broadcast")',
      'lb.yaml:11:28 vrrp_instances[0].virtual_ipaddresses[5].peer: an address with a peer is a /32 (keepalived: "Cannot specify address prefix when specifying peer address"): drop /24',
      'lb.yaml:12:25 vrrp_instances[0].virtual_ipaddresses[6].peer: 2001:db8::1 is IPv6, the address IPv4 (keepalived: "Peer address %s does not match address family")',
      'lb.yaml:13:24 vrrp_instances[0].virtual_ipaddresses[7].brd: brd and peer together: keepalived ignores the broadcast ("Cannot specify broadcast and peer addresses"); give one',
      'lb.yaml:14:29 vrrp_instances[0].virtual_ipaddresses[8].label: expected a label of 1..15 printable characters, got "abcdefghijklmnop" (IFA_LABEL holds IFNAMSIZ - 1)',
      'lb.yaml:15:37 vrrp_instances[0].virtual_ipaddresses[9].preferred_lft: preferred_lft is for IPv6 addresses (keepalived sends IFA_CACHEINFO for IPv6 only, vrrp_ipaddress.c netlink_ipaddress())',
      'lb.yaml:16:23 vrrp_instances[0].virtual_ipaddresses[10].use_vmac: use_vmac on an address is not supported yet (VMAC is issue 16 §3)',
      'lb.yaml:17:35 vrrp_instances[0].virtual_ipaddresses[11].track_group: track_group applies to static addresses only (keepalived: "Unknown configuration entry \'track_group\' for ip address")',
      'lb.yaml:18:27 vrrp_instances[0].virtual_ipaddresses[12].dev: expected an interface name (1..15 characters), got "eth0/x"',
      'lb.yaml:19:23 vrrp_instances[0].virtual_ipaddresses[13].nodad: -nodad is for IPv6 addresses (IPv4 has no duplicate address detection)',
    ]);
  });

  it('IPv6 refuses label, scope and brd (keepalived\'s rules); a bad address and a bad preferred_lft are located', () => {
    const errs = configErrors(inst([
      '      - 2001:db8::1/64 label eth0:1',
      '      - 2001:db8::2/64 scope link',
      '      - 2001:db8::3/64 brd +',
      '      - 2001:db8::4/64 preferred_lft soon',
      '      - 2001:db8::zz/64',
    ].join('\n') + '\n', '\n    version: 3'));
    assert.deepEqual(errs.map((e) => e.replace(/: .*/, ':') + e.split(': ')[1]!.slice(0, 30)), [
      'lb.yaml:7:30 vrrp_instances[0].virtual_ipaddresses[0].label:IPv6 addresses have no label (',
      'lb.yaml:8:30 vrrp_instances[0].virtual_ipaddresses[1].scope:IPv6 addresses take no scope (',
      'lb.yaml:9:28 vrrp_instances[0].virtual_ipaddresses[2].brd:IPv6 has no broadcast (keepali',
      'lb.yaml:10:38 vrrp_instances[0].virtual_ipaddresses[3].preferred_lft:expected a number of seconds 0',
      'lb.yaml:11:9 vrrp_instances[0].virtual_ipaddresses[4]:expected an address with optio',
    ]);
  });

  it('a mapping: unknown keys, wrong types and a missing address are located at the key or value', () => {
    const errs = configErrors(inst([
      '      - { address: 192.0.2.1/24, devv: eth1 }',
      '      - { address: 192.0.2.2/24, no_track: yes please }',
      '      - { dev: eth1 }',
      '      - { address: 192.0.2.4/24, scope: galaxy }',
      '      - [192.0.2.5]',
    ].join('\n') + '\n'));
    assert.deepEqual(errs, [
      'lb.yaml:6:34 vrrp_instances[0].virtual_ipaddresses[0].devv: unknown key (did you mean dev?)',
      'lb.yaml:7:44 vrrp_instances[0].virtual_ipaddresses[1].no_track: expected true or false, got "yes please"',
      'lb.yaml:8:9 vrrp_instances[0].virtual_ipaddresses[2].address: required key is missing',
      'lb.yaml:9:41 vrrp_instances[0].virtual_ipaddresses[3].scope: expected global, site, link, host, nowhere or 0..255, got "galaxy" (keepalived: "Invalid scope")',
      'lb.yaml:10:9 vrrp_instances[0].virtual_ipaddresses[4]: expected an address (e.g. "192.0.2.100/24 dev eth1") or a mapping with address:, got a list',
    ]);
  });
});

describe('instances without VIPs', () => {
  it('a VRRPv2 IPv4 instance may have none: family IPv4, or its first unicast peer\'s (keepalived)', () => {
    const cfg = loadOk(`vrrp_instances:
  - { name: A, interface: eth0, virtual_router_id: 1 }
  - { name: B, interface: eth0, virtual_router_id: 2, virtual_ipaddresses: [], unicast_peers: [192.0.2.7] }
  - { name: C, interface: eth0, virtual_router_id: 3, virtual_ipaddresses_excluded: [2001:db8::9/64] }
`);
    assert.deepEqual(cfg.vrrpInstances.map((i) => [i.family, i.version, i.vips.length]), [[4, 2, 0], [4, 2, 0], [4, 2, 0]]);
  });

  it('VRRPv3 and IPv6 need at least one VIP (RFC 5798 §5.2.5; keepalived "No VIP specified; at least one is required")', () => {
    const errs = configErrors(`vrrp_instances:
  - { name: A, interface: eth0, virtual_router_id: 1, version: 3 }
  - { name: B, interface: eth0, virtual_router_id: 2, unicast_peers: [2001:db8::7] }
`);
    assert.deepEqual(errs.map((e) => e.slice(0, 70)), [
      'lb.yaml:2:13 vrrp_instances[0].name: an IPv4 VRRPv3 instance needs at ',
      'lb.yaml:3:13 vrrp_instances[1].name: an IPv6 VRRPv3 instance needs at ',
    ]);
  });
});
