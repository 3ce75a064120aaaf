// Issue 12 §1: more VIPs than an advert can carry passed `check`, and `run` then died building
// the advert (a reload even kept a master that could no longer advertise). keepalived's rule
// (vrrp_complete_instance()) per family, version and MTU, at the boundary and one past it; tandem
// refuses with a located error instead of moving the excess to the excluded VIPs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatConfigError } from '../../src/config/errors.js';
import { loadConfigText, type LoadEnv } from '../../src/config/load.js';
import { advertRoom } from '../../src/config/vipLimit.js';
import { interfaceMtu } from '../../src/config/interfaceMtu.js';

const root = new URL('../../../', import.meta.url).pathname;
const tandem = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin/tandem'), ...args], { encoding: 'utf8', cwd: root, timeout: 60_000 });

function load(text: string, env: Partial<LoadEnv> = {}) {
  const r = loadConfigText(text, 'lb.yaml', { hostname: 'h', interfaceMtu: () => 1500, ...env });
  return { ok: r.ok, errors: r.ok ? [] : r.errors.map(formatConfigError), config: r.ok ? r.config : undefined };
}

describe('VIPs an advert can carry (keepalived vrrp_complete_instance)', () => {
  const v4 = (n: number) => Array.from({ length: n }, (_, i) => `198.51.${100 + (i >> 8)}.${i & 255}`);
  const v6 = (n: number) => Array.from({ length: n }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
  const instance = (vips: string[], extra = '') =>
    `vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    virtual_router_id: 51\n${extra}    virtual_ipaddresses: [${vips.join(', ')}]\n`;
  const EXCLUDED = 'keep at most N here and move the others to virtual_ipaddresses_excluded (added and removed with these, but not advertised)';
  const excluded = (n: number) => EXCLUDED.replace('N', String(n));

  it('keepalived\'s arithmetic, as measured with keepalived 2.2.7 (max N addresses in its log)', () => {
    // keepalived -t with 300 IPv4 / 100 IPv6 VIPs on a veth at MTU 1500, 1280 and 1000.
    const cases: Array<[4 | 6, 2 | 3, number, number]> = [
      [4, 2, 1500, 255], [4, 3, 1500, 255], [6, 3, 1500, 89],
      [4, 2, 1280, 255], [6, 3, 1280, 76],
      [4, 2, 1000, 237], [4, 3, 1000, 239], [6, 3, 1000, 58],
    ];
    for (const [family, version, mtu, max] of cases) assert.equal(advertRoom(family, version, mtu).max, max, `v${version} IPv${family} MTU ${mtu}`);
    assert.equal(advertRoom(4, 2, 9000).bound, 'count');
    assert.equal(advertRoom(6, 3, 1500).bound, 'mtu');
    assert.equal(advertRoom(6, 3, 40).max, 0);
  });

  it('IPv4: 255 addresses load, 256 and 300 are refused at virtual_ipaddresses (the 8-bit count)', () => {
    const ok = load(instance(v4(255)));
    assert.equal(ok.ok, true, ok.errors.join('\n'));
    assert.equal(ok.config!.vrrpInstances[0]!.vips.length, 255);
    for (const n of [256, 300]) {
      assert.deepEqual(load(instance(v4(n)), { interfaceMtu: () => 9000 }).errors, [
        `lb.yaml:5:26 vrrp_instances[0].virtual_ipaddresses: ${n} addresses, but an advert carries at most 255 ` +
        `(its address count is one byte: RFC 3768 §5.3.5, RFC 5798 §5.2.5); ${excluded(255)}`,
      ]);
    }
  });

  it('addresses moved to virtual_ipaddresses_excluded load: they are not advertised', () => {
    const r = load(instance(v4(255), `    virtual_ipaddresses_excluded: [${v4(300).slice(255).join(', ')}]\n`));
    assert.equal(r.ok, true, r.errors.join('\n'));
    assert.equal(r.config!.vrrpInstances[0]!.vipsExcluded.length, 45);
  });

  it('IPv4 at MTU 1000: v2 (8 bytes of auth) fits 237, v3 fits 239; one more is refused with the MTU and the arithmetic', () => {
    const mtu1000 = { interfaceMtu: (i: string) => (i === 'eth0' ? 1000 : undefined) };
    assert.equal(load(instance(v4(237)), mtu1000).ok, true);
    assert.deepEqual(load(instance(v4(238)), mtu1000).errors, [
      'lb.yaml:5:26 vrrp_instances[0].virtual_ipaddresses: 238 addresses, but a VRRPv2 IPv4 advert on eth0 (MTU 1000) has room for 237 ' +
      `(as keepalived counts: (1000 - 50 header bytes) / 4 bytes per address); ${excluded(237)}`,
    ]);
    assert.equal(load(instance(v4(239), '    version: 3\n'), mtu1000).ok, true);
    assert.match(load(instance(v4(240), '    version: 3\n'), mtu1000).errors[0]!,
      /:6:26 vrrp_instances\[0\]\.virtual_ipaddresses: 240 addresses, but a VRRPv3 IPv4 advert on eth0 \(MTU 1000\) has room for 239 \(as keepalived counts: \(1000 - 42 header bytes\)/);
  });

  it('IPv6: an interface that is not on this machine counts as MTU 1500 (keepalived\'s DEFAULT_MTU): 89 load, 90 are refused', () => {
    const absent = { interfaceMtu: () => undefined };
    assert.equal(load(instance(v6(89)), absent).ok, true);
    assert.deepEqual(load(instance(v6(90)), absent).errors, [
      'lb.yaml:5:26 vrrp_instances[0].virtual_ipaddresses: 90 addresses, but a VRRPv3 IPv6 advert on eth0 ' +
      '(MTU 1500, keepalived\'s default: eth0 is not on this machine) has room for 89 ' +
      `(as keepalived counts: (1500 - 62 header bytes) / 16 bytes per address); ${excluded(89)}`,
    ]);
    // A jumbo-frame interface carries more; the count still stops at 255.
    assert.equal(load(instance(v6(255)), { interfaceMtu: () => 9000 }).ok, true);
    assert.match(load(instance(v6(256)), { interfaceMtu: () => 9000 }).errors[0]!, /256 addresses, but an advert carries at most 255/);
  });

  it('the MTU is looked up for the instance\'s interface', () => {
    const asked: string[] = [];
    const r = load(instance(v6(80)).replace('interface: eth0', 'interface: bond0'), { interfaceMtu: (i) => { asked.push(i); return 1280; } });
    assert.deepEqual(asked, ['bond0']);
    assert.match(r.errors[0]!, /80 addresses, but a VRRPv3 IPv6 advert on bond0 \(MTU 1280\) has room for 76/);
  });

  it('the real lookup reads sysfs: lo has an MTU, a missing or path-like name has none', () => {
    assert.equal(interfaceMtu('lo'), Number(readFileSync('/sys/class/net/lo/mtu', 'utf8')));
    assert.equal(interfaceMtu('tandem-none0'), undefined);
    assert.equal(interfaceMtu('..'), undefined);
    assert.equal(interfaceMtu('../lo'), undefined);
  });

  it('check refuses 300 VIPs with exit 2 (the real MTU lookup; eth0 may or may not exist here)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-vips-'));
    try {
      const f = join(dir, 'vips.yaml');
      writeFileSync(f, instance(v4(300)));
      const r = tandem('check', '-f', f);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /vips\.yaml:5:26 vrrp_instances\[0\]\.virtual_ipaddresses: 300 addresses, but an advert carries at most 255/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
