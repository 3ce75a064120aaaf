// Issue 13 §3: every error in one pass. A field error (a value of the wrong type or range)
// used to stop the cross-field checks (duplicate names, a mixed VIP list, a track_script naming
// nothing, a wrong sync group member, a DR port ...), which only appeared once the field errors
// were fixed. Now the cross-checks run on what parsed (load.ts partialConfig()), and find
// nothing wrong in what did not parse.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load.js';
import { formatConfigError } from '../../src/config/errors.js';
import { CaseCount } from '../lib/cases.js';
import { mulberry32 } from '../lib/prng.js';

function load(text: string): { errors: string[]; warnings: string[] } {
  const r = loadConfigText(text, 'lb.yaml', { hostname: 'h', interfaceMtu: () => undefined });
  assert.equal(r.ok, false, 'the config must be refused');
  return { errors: r.ok ? [] : r.errors.map(formatConfigError), warnings: r.warnings.map(formatConfigError) };
}

const inst = (name: string, vrid: number, extra = '') =>
  `  - name: ${name}\n    interface: eth0\n    virtual_router_id: ${vrid}\n${extra}    virtual_ipaddresses: [192.0.2.${vrid}/24]\n`;

describe('every error in one pass', () => {
  it('field errors and cross-field errors of other items come out together', () => {
    const r = load(`global:
  router_id: lb1
vrrp_instances:
${inst('VI_1', 1, '    priority: 300\n')}${inst('VI_2', 2)}${inst('VI_2', 2)}virtual_servers:
  - address: 192.0.2.100
    port: 80
    lb_algo: rr
    real_servers:
      - { address: 198.51.100.11, port: 80, weight: -1 }
  - address: 192.0.2.100
    port: 80
    lb_algo: rr
  - address: 192.0.2.100
    port: 80
    lb_algo: rr
`);
    assert.deepEqual(r.errors, [
      'lb.yaml:7:15 vrrp_instances[0].priority: expected an integer 1..255, got 300',
      'lb.yaml:13:11 vrrp_instances[2].name: duplicate instance name (also vrrp_instances[1])',
      'lb.yaml:15:24 vrrp_instances[2].virtual_router_id: VRID 2 is already used on eth0 for IPv4 by vrrp_instances[1]',
      "lb.yaml:16:26 vrrp_instances[2].virtual_ipaddresses: VIP 192.0.2.2 is also in vrrp_instances[1]: two instances would add and remove the same address on each other's transitions (keepalived accepts it; tandem refuses it)",
      'lb.yaml:22:53 virtual_servers[0].real_servers[0].weight: expected an integer 0..65535, got -1',
      'lb.yaml:26:14 virtual_servers[2].address: TCP 192.0.2.100:80 is already defined by virtual_servers[1]',
    ]);
  });

  it('a duplicate name is found even when one of the two items has a field error of its own', () => {
    const r = load(`vrrp_instances:\n${inst('VI_1', 1, '    priority: 300\n')}${inst('VI_1', 2)}`);
    assert.deepEqual(r.errors, [
      'lb.yaml:5:15 vrrp_instances[0].priority: expected an integer 1..255, got 300',
      'lb.yaml:7:11 vrrp_instances[1].name: duplicate instance name (also vrrp_instances[0])',
    ]);
  });

  it('warnings come out with the errors: a mixed VIP list, a track_script naming nothing, a wrong sync group member', () => {
    const r = load(`global:
  smtp_server: "mail.example.com 99999"
vrrp_scripts:
  - { name: chk, script: /bin/true }
vrrp_instances:
${inst('VI_1', 1, '    track_scripts: [chk, chk_nope]\n').replace('[192.0.2.1/24]', '[192.0.2.1/24, "2001:db8::1"]')}${inst('VI_2', 2)}vrrp_sync_groups:
  - { name: G1, group: [VI_1, VI_2, VI_3] }
`);
    assert.deepEqual(r.errors, ['lb.yaml:2:16 global.smtp_server: port must be 1..65535, got "99999"']);
    assert.deepEqual(r.warnings, [
      'lb.yaml:2:16 warning: global.smtp_server: no mail is sent without global.notification_email (keepalived sends none either)',
      'lb.yaml:9:26 warning: vrrp_instances[0].track_scripts[1]: no vrrp_scripts entry is named chk_nope: ignored, as keepalived ignores it',
      'lb.yaml:10:41 warning: vrrp_instances[0].virtual_ipaddresses: 2001:db8::1 is IPv6 but the instance is IPv4 (its first VIP): ignored, as keepalived ignores it (an advert carries one family; put it in virtual_ipaddresses_excluded, or in an IPv6 instance)',
      'lb.yaml:16:37 warning: vrrp_sync_groups[0].group[2]: no vrrp_instances entry is named VI_3: ignored, as keepalived ignores it',
    ]);
  });

  it('nothing is said about what did not parse: a reference to an item that failed is not "unknown"', () => {
    const r = load(`vrrp_scripts:
  - { name: chk, script: /bin/true, interval: -1 }
vrrp_instances:
${inst('VI_1', 1, '    track_scripts: [chk]\n')}${inst('VI_2', 2, '    priority: 0\n')}vrrp_sync_groups:
  - { name: G1, group: [VI_1, VI_2] }
`);
    // Only the two field errors: chk and VI_2 exist, they are just wrong.
    assert.deepEqual(r.errors, [
      'lb.yaml:2:47 vrrp_scripts[0].interval: expected a number 0.01..86400 seconds, got -1',
      'lb.yaml:12:15 vrrp_instances[1].priority: expected an integer 1..255, got 0',
    ]);
    assert.deepEqual(r.warnings, []);
  });

  it('an invalid global does not hide the other checks, and its valid keys still count', () => {
    const r = load(`global:
  router_id: "not a router id"
  smtp_server: 192.0.2.25
vrrp_instances:
${inst('VI_1', 1)}${inst('VI_2', 1)}`);
    assert.deepEqual(r.errors, [
      'lb.yaml:2:14 global.router_id: expected a router id, got "not a router id"',
      'lb.yaml:11:24 vrrp_instances[1].virtual_router_id: VRID 1 is already used on eth0 for IPv4 by vrrp_instances[0]',
      "lb.yaml:12:26 vrrp_instances[1].virtual_ipaddresses: VIP 192.0.2.1 is also in vrrp_instances[0]: two instances would add and remove the same address on each other's transitions (keepalived accepts it; tandem refuses it)",
    ]);
    assert.deepEqual(r.warnings, ['lb.yaml:3:16 warning: global.smtp_server: no mail is sent without global.notification_email (keepalived sends none either)']);
  });

  it('property: one broken item in any list never crashes the checks of the rest (seeded)', () => {
    // Every list of a full config, then one item of one list broken at a time, 200 times: the
    // load refuses with the field error located, and never throws (holes in the partial model).
    const full = `global:
  notification_email: [root]
  smtp_server: 192.0.2.25
vrrp_scripts:
  - { name: s1, script: /bin/true }
  - { name: s2, script: /bin/true, weight: 10 }
vrrp_track_files:
  - { name: f1, file: /tmp/f1 }
vrrp_track_processes:
  - { name: p1, process: haproxy }
vrrp_instances:
  - { name: VI_1, interface: eth0, virtual_router_id: 1, virtual_ipaddresses: [192.0.2.1/24], track_scripts: [s1, s2], track_files: [f1], track_processes: [p1] }
  - { name: VI_2, interface: eth0, virtual_router_id: 2, virtual_ipaddresses: [192.0.2.2/24], track_scripts: [s2] }
  - { name: VI_3, interface: eth0, virtual_router_id: 3, virtual_ipaddresses: [192.0.2.3/24] }
vrrp_sync_groups:
  - { name: G1, group: [VI_1, VI_2] }
  - { name: G2, group: [VI_3] }
virtual_servers:
  - address: 192.0.2.100
    port: 80
    lb_algo: rr
    real_servers:
      - { address: 198.51.100.11, port: 80, checks: [{ tcp_check: {} }] }
      - { address: 198.51.100.12, port: 80 }
  - { address: 192.0.2.101, port: 80, lb_algo: rr, real_servers: [{ address: 198.51.100.13, port: 80 }] }
`;
    const fullResult = loadConfigText(full, 'lb.yaml', { hostname: 'h', interfaceMtu: () => undefined });
    assert.ok(fullResult.ok, fullResult.ok ? '' : fullResult.errors.map(formatConfigError).join('\n'));
    const breakers: Array<[RegExp, string]> = [
      [/virtual_router_id: (\d)/, 'virtual_router_id: 999'], [/weight: 10/, 'weight: 9999'], [/file: \/tmp\/f1/, 'file: relative'],
      [/process: haproxy/, 'process: [1]'], [/group: \[VI_3\]/, 'group: 7'], [/port: 80, checks/, 'port: 0x50, checks'],
      [/lb_algo: rr, real/, 'lb_algo: nope, real'], [/name: VI_(\d)/, 'name: "a b"'], [/tcp_check: \{\}/, 'tcp_check: { retry: -1 }'],
    ];
    const rng = mulberry32(20260413);
    const cases = new CaseCount('one broken item', 200);
    for (let i = 0; i < 200; i++) {
      const [re, by] = breakers[Math.floor(rng() * breakers.length)]!;
      const lines = full.split('\n');
      const hits = lines.map((l, n) => (re.test(l) ? n : -1)).filter((n) => n >= 0);
      const n = hits[Math.floor(rng() * hits.length)]!;
      lines[n] = lines[n]!.replace(re, by);
      const text = lines.join('\n');
      const r = loadConfigText(text, 'lb.yaml', { hostname: 'h', interfaceMtu: () => undefined });
      assert.equal(r.ok, false, `${by} at line ${n + 1} must be refused`);
      const errs = r.ok ? [] : r.errors.map(formatConfigError);
      assert.ok(errs.some((e) => e.startsWith(`lb.yaml:${n + 1}:`)), `the field error at line ${n + 1}:\n${errs.join('\n')}`);
      // What is only broken is not also reported as missing somewhere else.
      assert.ok(errs.every((e) => !/no \S+ entry is named|is already in sync group/.test(e)), errs.join('\n'));
      assert.ok(r.warnings.every((w) => !/no \S+ entry is named/.test(formatConfigError(w))) || /name: "a b"/.test(by),
        r.warnings.map(formatConfigError).join('\n'));
      assert.notEqual(text, full, `${by}: the breaker changed nothing`);
      cases.checked(by);
    }
    // "Any list": every breaker was drawn, each often enough to be a claim about its list.
    cases.done({ kinds: breakers.map(([, by]) => by), min: 5 });
  });
});
