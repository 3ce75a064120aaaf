// Issue 12 §1: `priority: 254.99999999999999` loaded as 255 (the address owner). An integer key
// is judged on the literal as written, not on the double YAML rounds it to; the same for the
// integer keywords of `tandem import` (keepalived's strtoul, base 10).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatConfigError } from '../../src/config/errors.js';
import { loadConfigText } from '../../src/config/load.js';
import { importKeepalived } from '../../src/config/import/convert.js';

function load(text: string) {
  const r = loadConfigText(text, 'lb.yaml', { hostname: 'h' });
  return { ok: r.ok, errors: r.ok ? [] : r.errors.map(formatConfigError), config: r.ok ? r.config : undefined };
}

describe('integer keys take integer literals only', () => {
  const withPriority = (p: string) =>
    `vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    virtual_router_id: 51\n    priority: ${p}\n    virtual_ipaddresses: [192.0.2.100/24]\n`;
  const err = (p: string) => load(withPriority(p)).errors;

  it('254.99999999999999 is not 255 (the address owner): refused as written', () => {
    assert.deepEqual(err('254.99999999999999'), ['lb.yaml:5:15 vrrp_instances[0].priority: expected an integer literal 1..255, got 254.99999999999999']);
  });

  it('floats that happen to be whole are refused: 1e2, 100.0, .inf', () => {
    for (const p of ['1e2', '100.0', '.inf', '1.5']) {
      assert.deepEqual(err(p), [`lb.yaml:5:15 vrrp_instances[0].priority: expected an integer literal 1..255, got ${p}`], p);
    }
  });

  it('hex and octal are refused with the reason (keepalived reads base 10)', () => {
    for (const p of ['0x10', '0o17']) {
      assert.deepEqual(err(p), [`lb.yaml:5:15 vrrp_instances[0].priority: expected an integer literal 1..255, in decimal (keepalived reads these in base 10), got ${p}`]);
    }
  });

  it('digits beyond the safe integer range are out of range as written, not as the rounded double', () => {
    assert.deepEqual(err('99999999999999999999'), ['lb.yaml:5:15 vrrp_instances[0].priority: expected an integer 1..255, got 99999999999999999999']);
    // 2^53 + 1 rounds to 2^53 as a double; a fwmark (1..2^32-1) still judges the digits.
    const vs = (mark: string) => `global: { backend: ipvs }\nvirtual_servers:\n  - fwmark: ${mark}\n    ip_family: inet\n    lb_algo: rr\n    real_servers:\n      - { address: 198.51.100.1, port: 80 }\n`;
    assert.deepEqual(load(vs('9007199254740993')).errors, ['lb.yaml:3:13 virtual_servers[0].fwmark: expected an integer 1..4294967295, got 9007199254740993']);
    assert.equal(load(vs('4294967295')).ok, true, load(vs('4294967295')).errors.join('\n'));
  });

  it('decimal literals load, with a sign or leading zeros (YAML 1.2 core int, keepalived strtoul base 10)', () => {
    for (const [p, v] of [['254', 254], ['+100', 100], ['0100', 100], ['255', 255]] as const) {
      const r = load(withPriority(p));
      assert.equal(r.ok, true, r.errors.join('\n'));
      assert.equal(r.config!.vrrpInstances[0]!.priority, v, p);
    }
  });

  it('a quoted number is still a string, and a float key (advert_int) still takes fractions', () => {
    assert.deepEqual(err('"100"'), ['lb.yaml:5:15 vrrp_instances[0].priority: expected an integer 1..255, got "100"']);
    const r = load(withPriority('100').replace('    priority: 100\n', '    priority: 100\n    version: 3\n    advert_int: 0.25\n'));
    assert.equal(r.ok, true, r.errors.join('\n'));
    assert.equal(r.config!.vrrpInstances[0]!.advertIntCs, 25);
  });

  it('every integer key goes through the same check: weights, ports, status codes, persistence_granularity', () => {
    const base = 'global: { backend: ipvs }\nvirtual_servers:\n  - address: 192.0.2.100\n    port: 80\n    protocol: TCP\n    lb_algo: rr\n';
    assert.deepEqual(load(base + '    real_servers:\n      - { address: 198.51.100.1, port: 80.0, weight: 1e0 }\n').errors, [
      'lb.yaml:8:40 virtual_servers[0].real_servers[0].port: expected an integer literal 0..65535, got 80.0',
      'lb.yaml:8:54 virtual_servers[0].real_servers[0].weight: expected an integer literal 0..65535, got 1e0',
    ]);
    const url = (code: string) => base + `    real_servers:\n      - address: 198.51.100.1\n        checks:\n          - http_get: { urls: [{ path: /, status_code: ${code} }] }\n`;
    assert.deepEqual(load(url('200.0')).errors,
      ['lb.yaml:10:56 virtual_servers[0].real_servers[0].checks[0].http_get.urls[0].status_code: expected a status code 100..599 or a range like "200-299", got 200.0']);
    assert.equal(load(url('204')).ok, true);
    const v6 = 'global: { backend: ipvs }\nvirtual_servers:\n  - address: 2001:db8::100\n    port: 80\n    protocol: TCP\n    lb_algo: rr\n    persistence_timeout: 60\n';
    assert.match(load(v6 + '    persistence_granularity: 64.0\n    real_servers:\n      - { address: 2001:db8::1, port: 80 }\n').errors[0]!,
      /virtual_servers\[0\]\.persistence_granularity: expected an IPv4 netmask .* or an IPv6 prefix length 1\.\.128, got 64\.0/);
    const g = load(v6 + '    persistence_granularity: 64\n    real_servers:\n      - { address: 2001:db8::1, port: 80 }\n');
    assert.equal(g.ok, true, g.errors.join('\n'));
    assert.match(load('vrrp_scripts:\n  - { name: c, script: /bin/true, weight: -2.0 }\n').errors[0]!,
      /vrrp_scripts\[0\]\.weight: expected an integer literal -254\.\.254, got -2\.0/);
  });
});

describe('keepalived.conf import: integer keywords', () => {
  let dir = '';
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tandem-import-int-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const instance = (priority: string) =>
    `vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority ${priority}\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n`;

  it('priority 254.99999999999999 is listed as not converted, not imported as 255', () => {
    const p = join(dir, 'p.conf');
    writeFileSync(p, instance('254.99999999999999'));
    const r = importKeepalived(p);
    assert.ok(r.ok);
    assert.deepEqual(r.unconverted.map((u) => [u.line, u.keyword, u.reason]),
      [[4, 'priority', 'expected an integer 1..255, got "254.99999999999999"']]);
    assert.doesNotMatch(r.yaml, /priority: 255/);
  });

  it('a whole number still converts', () => {
    const p = join(dir, 'ok.conf');
    writeFileSync(p, instance('254'));
    const r = importKeepalived(p);
    assert.ok(r.ok);
    assert.deepEqual(r.unconverted, []);
    assert.match(r.yaml, /priority: 254\n/);
  });
});

describe('numbers used as text are taken as written', () => {
  it('a notify script argument is the number as written (1.50, 0x10), not the double printed back', () => {
    const r = load('vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    virtual_router_id: 51\n    virtual_ipaddresses: [192.0.2.100/24]\n' +
      '    notify_master: [/usr/bin/logger, --id, 0x10, 1.50, 80]\n');
    assert.equal(r.ok, true, r.errors.join('\n'));
    assert.deepEqual(r.config!.vrrpInstances[0]!.notify.master, ['/usr/bin/logger', '--id', '0x10', '1.50', '80']);
  });

  it('http_protocol is keepalived\'s exact text: 1.0 and 1.1 load, 1 and 1.04 (which round to "1.0") are refused', () => {
    const check = (p: string) => load('global: { backend: ipvs }\nvirtual_servers:\n  - address: 192.0.2.100\n    port: 80\n    protocol: TCP\n    lb_algo: rr\n' +
      `    real_servers:\n      - address: 198.51.100.1\n        checks:\n          - http_get: { urls: [{ path: / }], http_protocol: ${p} }\n`);
    for (const [p, v] of [['1.0', '1.0'], ['1.1', '1.1'], ['"1.0C"', '1.0C']] as const) {
      const r = check(p);
      assert.equal(r.ok, true, r.errors.join('\n'));
      assert.equal((r.config!.virtualServers[0]!.realServers[0]!.checks[0] as { httpProtocol: string }).httpProtocol, v);
    }
    for (const p of ['1', '1.04', '1.10']) {
      assert.deepEqual(check(p).errors,
        [`lb.yaml:10:61 virtual_servers[0].real_servers[0].checks[0].http_get.http_protocol: expected one of 1.0, 1.0C, 1.1, got ${p}`], p);
    }
  });
});
