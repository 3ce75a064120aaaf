// virtual_server_groups (src/config/virtualServerGroups.ts): keepalived's entry forms as text or
// as a mapping, the services a group stands for, and every error located at file:line:col.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configErrors, loadOk, loadWithWarnings } from '../lib/config.js';
import { groupServices, parseAddressRange } from '../../src/config/virtualServerGroups.js';

const vs = (group: string, extra = '') => `virtual_servers:
  - group: ${group}
    protocol: TCP
${extra}    real_servers:
      - { address: 198.51.100.11, port: 80, checks: [{ tcp_check: {} }] }
`;
const groups = (members: string[], name = 'WEB') => `virtual_server_groups:
  - name: ${name}
    members:
${members.map((m) => `      - ${m}\n`).join('')}`;
const keys = (text: string) => loadOk(text).virtualServers.map((v) => v.key);

describe('virtual_server_groups: the services a group stands for', () => {
  it('keepalived\'s forms: A-N (last byte), A-B, A/LEN, a single address, IPv6 ranges in hex, fwmarks with and without a family', () => {
    assert.deepEqual(keys(groups(['"192.0.2.10-12 80"', '"192.0.2.20-192.0.2.21 443"', '"192.0.2.32/31 8080"', '"192.0.2.50 80"', '"fwmark 7"']) + vs('WEB')), [
      'TCP 192.0.2.10:80', 'TCP 192.0.2.11:80', 'TCP 192.0.2.12:80', 'TCP 192.0.2.20:443', 'TCP 192.0.2.21:443',
      'TCP 192.0.2.32:8080', 'TCP 192.0.2.33:8080', 'TCP 192.0.2.50:80', 'FWM 7',
    ]);
    const v6 = loadOk(`${groups(['"2001:db8::a-c 443"', '"fwmark 9 inet6"'], 'V6')}virtual_servers:
  - group: V6
    protocol: TCP
    real_servers:
      - { address: 2001:db8:1::11, port: 443 }
`);
    assert.deepEqual(v6.virtualServers.map((v) => v.key), ['TCP [2001:db8::a]:443', 'TCP [2001:db8::b]:443', 'TCP [2001:db8::c]:443', 'FWM 9 IPv6']);
  });

  it('a mapping means the same as the text; every service carries the group\'s name and the block\'s settings', () => {
    const text = loadOk(groups(['"192.0.2.10-11 80"', '"fwmark 7 inet"']) + vs('WEB', '    lb_algo: rr\n'));
    const map = loadOk(groups(['{ address: 192.0.2.10-11, port: 80 }', '{ fwmark: 7, ip_family: inet }']) + vs('WEB', '    lb_algo: rr\n'));
    assert.deepEqual(map.virtualServers, text.virtualServers);
    assert.deepEqual(text.virtualServers.map((v) => [v.key, v.group, v.service.scheduler, v.realServers[0]!.id]), [
      ['TCP 192.0.2.10:80', 'WEB', 'rr', 'TCP 192.0.2.10:80 -> 198.51.100.11:80'],
      ['TCP 192.0.2.11:80', 'WEB', 'rr', 'TCP 192.0.2.11:80 -> 198.51.100.11:80'],
      ['FWM 7', 'WEB', 'rr', 'FWM 7 -> 198.51.100.11:80'],
    ]);
  });

  it('a real server without a port takes each member\'s port; the checks then differ per port, and are shared where equal', () => {
    const c = loadOk(`${groups(['"192.0.2.10-11 80"', '"192.0.2.10 8080"'])}virtual_servers:
  - group: WEB
    protocol: TCP
    lb_kind: DR
    real_servers:
      - { address: 198.51.100.11, checks: [{ tcp_check: {} }] }
`);
    assert.deepEqual(c.virtualServers.map((v) => [v.key, v.realServers[0]!.dest.port, v.realServers[0]!.checks[0]!.connectPort]), [
      ['TCP 192.0.2.10:80', 80, 80], ['TCP 192.0.2.11:80', 80, 80], ['TCP 192.0.2.10:8080', 8080, 8080],
    ]);
  });

  it('a group block\'s warning is given once, not once per service', () => {
    const { warnings } = loadWithWarnings(groups(['"192.0.2.10-12 80"']) + vs('WEB', '    quorum: 5\n'));
    assert.equal(warnings.filter((w) => /quorum/.test(w)).length, 1, warnings.join('\n'));
  });

  it('parseAddressRange and groupServices (the pure parts)', () => {
    assert.deepEqual(parseAddressRange('192.0.2.250-255'), { first: 0xc00002fan, last: 0xc00002ffn, family: 4 });
    assert.deepEqual(parseAddressRange('192.0.2.10-10'), { error: 'the range end is not greater than its start' });
    assert.deepEqual(parseAddressRange('192.0.2.10-256'), { error: 'range end 256 too large' });
    assert.deepEqual(parseAddressRange('192.0.2.1/24'), { error: 'address mask bits not empty' });
    assert.deepEqual(parseAddressRange('192.0.2.20-192.0.2.10'), { error: 'the range ends before it starts' });
    assert.deepEqual(groupServices([{ kind: 'inet', first: 0xc00002fen, last: 0xc00002ffn, family: 4, port: 53 }]).map((s) => s.kind === 'inet' ? s.address : ''), ['192.0.2.254', '192.0.2.255']);
  });
});

describe('virtual_server_groups: errors located', () => {
  it('an entry keepalived would skip is an error at the entry', () => {
    const errs = configErrors(groups(['"192.0.2.60-50 80"', '"192.0.2.33/30 80"', '"192.0.2.70"', '"fwmark 0"', '"fwmark 7 ipx"', '{ address: 192.0.2.1, port: 80, fwmark: 7 }']) + vs('WEB'));
    assert.deepEqual(errs, [
      'lb.yaml:4:9 virtual_server_groups[0].members[0]: the range end is not greater than its start',
      'lb.yaml:5:9 virtual_server_groups[0].members[1]: address mask bits not empty',
      'lb.yaml:6:9 virtual_server_groups[0].members[2]: expected "ADDRESS PORT" (a port is required: tandem has no all-ports service) or "fwmark N [inet|inet6]"',
      'lb.yaml:7:9 virtual_server_groups[0].members[3]: expected fwmark 1..4294967295, got "0"',
      'lb.yaml:8:9 virtual_server_groups[0].members[4]: expected inet or inet6 after the mark, got "ipx"',
      'lb.yaml:9:9 virtual_server_groups[0].members[5]: give either address and port, or fwmark',
    ]);
  });

  it('an unknown group, a group with an address, a duplicate group name, too many services', () => {
    const errs = configErrors(`${groups(['"192.0.2.10-11 80"'])}  - name: WEB
    members: ["192.0.2.30 80"]
  - name: HUGE
    members: ["2001:db8::/64 80"]
virtual_servers:
  - group: WEBS
    protocol: TCP
  - group: WEB
    address: 192.0.2.40
    protocol: TCP
`);
    assert.deepEqual(errs, [
      'lb.yaml:5:11 virtual_server_groups[1].name: duplicate virtual_server_group name WEB (first at virtual_server_groups[0])',
      'lb.yaml:8:14 virtual_server_groups[2].members: stands for 18446744073709551616 virtual servers; at most 1024 per group (split it, or use a fwmark for a large range)',
      'lb.yaml:10:12 virtual_servers[0].group: no virtual_server_groups entry is named WEBS (did you mean WEB?)',
      'lb.yaml:13:14 virtual_servers[1].address: a virtual server of a group takes its addresses, ports and marks from the group',
    ]);
  });

  it('a service of a group that another virtual server (or a second group block) defines too: an error at the group', () => {
    const errs = configErrors(`${groups(['"192.0.2.10-11 80"'])}virtual_servers:
  - address: 192.0.2.11
    port: 80
    protocol: TCP
  - group: WEB
    protocol: TCP
  - group: WEB
    protocol: UDP
`);
    assert.deepEqual(errs, [
      'lb.yaml:9:12 virtual_servers[1].group: TCP 192.0.2.11:80 (a service of group WEB) is already defined by virtual_servers[0]',
    ]);
  });
});
