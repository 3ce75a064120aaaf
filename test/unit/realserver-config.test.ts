// The real server's config (src/config/realServerConfig.ts): defaults, and every error located.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatConfigError } from '../../src/config/errors.js';
import { loadRealServerText } from '../../src/config/realServerConfig.js';

function errors(yaml: string): string[] {
  const r = loadRealServerText(yaml, 'rs.yaml');
  assert.ok(!r.ok, 'expected the file to be refused');
  return r.errors.map(formatConfigError);
}

describe('realserver config', () => {
  it('DR: bare addresses become host addresses; the record file defaults to /run/tandem/realserver.json', () => {
    const r = loadRealServerText('mode: DR\ninterface: eth0\nvips: [192.0.2.10, "2001:db8::10/128"]\n', 'rs.yaml');
    assert.ok(r.ok);
    assert.deepEqual(r.config, {
      file: 'rs.yaml', mode: 'DR', interface: 'eth0', tunnel: undefined, recordFile: '/run/tandem/realserver.json',
      vips: [{ address: '192.0.2.10', family: 4, prefixLen: 32 }, { address: '2001:db8::10', family: 6, prefixLen: 128 }],
    });
  });
  it('TUN: tunl0 by default, ip6tnl0 for family 6, a named device with its local address', () => {
    const t = (y: string) => { const r = loadRealServerText(y, 'rs.yaml'); assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n')); return r.config.tunnel; };
    assert.deepEqual(t('mode: TUN\ninterface: eth0\nvips: [192.0.2.10]\n'), { name: 'tunl0', family: 4, kind: 'ipip', fallback: true });
    assert.deepEqual(t('mode: TUN\ninterface: eth0\nvips: ["2001:db8::10"]\ntunnel: { family: 6 }\n'), { name: 'ip6tnl0', family: 6, kind: 'ip6tnl', fallback: true });
    assert.deepEqual(t('mode: TUN\ninterface: eth0\nvips: [192.0.2.10]\ntunnel: { name: vip0, local: 198.51.100.11 }\n'),
      { name: 'vip0', family: 4, kind: 'ipip', fallback: false, local: '198.51.100.11' });
  });
  it('refuses, located: unknown key, bad mode, a wide prefix, a duplicate, tunnel on DR', () => {
    assert.deepEqual(errors('mode: DSR\ninterface: eth0\nvips: [192.0.2.10/24]\nvip: x\n'), [
      'rs.yaml:1:7 mode: expected one of DR, TUN, got "DSR" (did you mean DR?)',
      'rs.yaml:4:1 vip: unknown key (did you mean vips?)',
    ]);
    assert.deepEqual(errors('mode: DR\ninterface: eth0\nvips:\n  - 192.0.2.10/24\n  - 192.0.2.11\n  - 192.0.2.11\ntunnel: { name: tunl0 }\n'), [
      'rs.yaml:4:5 vips[0]: a VIP on a real server is a host address: /32 (or the bare address), got /24',
      'rs.yaml:6:5 vips[2]: 192.0.2.11 is listed twice',
      'rs.yaml:7:9 tunnel: only for mode TUN (a DR real server takes the VIPs on lo)',
    ]);
    assert.deepEqual(errors('interface: eth0\nvips: []\n'), [
      'rs.yaml:1:1 mode: required key is missing',
      'rs.yaml:2:7 vips: expected a list of at least 1, got 0',
    ]);
  });
  it('refuses tunnels the kernel would not run as asked', () => {
    assert.deepEqual(errors('mode: TUN\ninterface: eth0\nvips: ["2001:db8::10"]\n'), [
      'rs.yaml:1:1 vips[0]: 2001:db8::10: an ipip tunnel carries IPv4 only (use tunnel family 6)',
    ]);
    assert.match(errors('mode: TUN\ninterface: eth0\nvips: [192.0.2.10]\ntunnel: { family: 6 }\n').join(), /ip6tnl0 carries IPv6-in-IPv6 only/);
    assert.match(errors('mode: TUN\ninterface: eth0\nvips: [192.0.2.10]\ntunnel: { name: vip0 }\n').join(), /rs\.yaml:4:9 tunnel: a device tandem creates \(vip0\) needs local:/);
    assert.match(errors('mode: TUN\ninterface: eth0\nvips: [192.0.2.10]\ntunnel: { local: 198.51.100.11 }\n').join(), /tunl0 is the kernel's fallback device: it has no local address/);
    assert.match(errors('mode: TUN\ninterface: eth0\nvips: [192.0.2.10]\ntunnel: { name: x, family: 6, local: 198.51.100.11 }\n').join(), /an IPv4 address for an IPv6 \(ip6tnl\) tunnel/);
    assert.match(errors('mode: TUN\ninterface: eth0\nvips: [192.0.2.10]\ntunnel: { family: 5 }\n').join(), /expected 4 \(ipip\) or 6 \(ip6tnl\)/);
  });
  it('a syntax error and an empty file are refused, located where there is a place', () => {
    assert.match(errors('mode: DR\n  interface: [\n').join(), /^rs\.yaml:\d+:\d+ YAML syntax/);
    assert.deepEqual(errors(''), ['rs.yaml: the file is empty']);
    assert.match(errors('mode: DR\ninterface: eth0\nvips: [192.0.2.10]\nrecord_file: run/x.json\n').join(), /rs\.yaml:4:14 record_file: expected an absolute path/);
  });
});
