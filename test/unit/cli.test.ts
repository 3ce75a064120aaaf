// The CLI as an operator uses it: exit codes and output of check, --help, --version, bad usage.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostHasIpvs } from '../../src/daemon/compose.js';

const root = new URL('../../../', import.meta.url).pathname;
const tandem = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin/tandem'), ...args], { encoding: 'utf8', cwd: root });

describe('tandem CLI', () => {
  let dir = '';
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tandem-cli-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('check accepts the example director pair in conf/', () => {
    for (const f of ['conf/lb1.yaml', 'conf/lb2.yaml']) {
      const r = tandem('check', '-f', f);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /OK \(2 VRRP instances, 0 virtual servers\)/);
    }
  });
  it('check accepts the trackers, sync group and alert hooks example', () => {
    const r = tandem('check', '-f', 'conf/director-hooks.yaml');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /OK \(2 VRRP instances, 0 virtual servers\)/);
  });
  it('check accepts the LVS-NAT example with virtual servers', () => {
    const r = tandem('check', '-f', 'conf/lvs-nat.yaml');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /OK \(1 VRRP instance, 1 virtual server\)/);
  });
  it('check with global.backend auto judges the backend tandem run would pick on this machine', () => {
    const f = join(dir, 'auto.yaml');
    // keepalived's defaults: lb_algo wlc; DR forwarding. IPVS takes both; nftables neither.
    writeFileSync(f, 'virtual_servers:\n  - address: 192.0.2.100\n    port: 80\n    protocol: TCP\n    lb_kind: DR\n' +
      '    real_servers:\n      - { address: 198.51.100.11, port: 80 }\n');
    const r = tandem('check', '-f', f);
    if (hostHasIpvs()) {
      assert.equal(r.status, 0, r.stderr);
    } else {
      assert.equal(r.status, 2, r.stdout);
      assert.match(r.stderr, /auto\.yaml:2:5 virtual_servers\[0\]\.lb_algo: the nft backend cannot express wlc/);
      assert.match(r.stderr, /auto\.yaml:5:14 virtual_servers\[0\]\.lb_kind: the nft backend forwards by NAT \(DNAT\) only, not DR/);
      assert.match(r.stderr, /2 errors \(global\.backend: auto is the nft backend on this machine\)/);
    }
    // Saying which backend settles it either way.
    writeFileSync(f, readFileSync(f, 'utf8') + 'global: { backend: ipvs }\n');
    const ipvs = tandem('check', '-f', f);
    assert.equal(ipvs.status, 0, ipvs.stderr);
  });
  it('check exits 2 and prints every located error', () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, readFileSync(join(root, 'conf/lb1.yaml'), 'utf8')
      .replace('priority: 150', 'priority: 300').replace('preempt: true', 'preemt: true'));
    const r = tandem('check', '-f', f);
    assert.equal(r.status, 2);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 3, r.stderr);
    assert.match(lines[0]!, /bad\.yaml:11:15 vrrp_instances\[0\]\.priority: expected an integer 1\.\.255, got 300$/);
    assert.match(lines[1]!, /bad\.yaml:13:5 vrrp_instances\[0\]\.preemt: unknown key \(did you mean preempt\?\)$/);
    assert.match(lines[2]!, /2 errors$/);
  });
  it('check: warnings are printed located on stderr, exit 0 and OK; --strict makes them errors, exit 2', () => {
    const f = join(dir, 'warn.yaml');
    writeFileSync(f, 'global:\n  notification_email: [root]\n  notification_email_from: keepalived\n  smtp_server: 192.0.2.25\n' +
      'vrrp_instances:\n  - { name: VI_1, interface: eth0, virtual_router_id: 51, advert_int: 1.5, virtual_ipaddresses: [192.0.2.100/24] }\n' +
      'vrrp_sync_groups:\n  - { name: G1, group: [VI_1] }\n');
    const r = tandem('check', '-f', f);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${f}: OK (1 VRRP instance, 0 virtual servers; 2 warnings, listed on stderr)\n`);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `${f}:6:71 warning: vrrp_instances[0].advert_int: VRRPv2 advertises whole seconds: 1.5 s is rounded to 2 s, as keepalived rounds it (use version: 3 for fractions of a second)`,
      `${f}:8:24 warning: vrrp_sync_groups[0].group: has one instance (VI_1): keepalived keeps such a group and so does tandem; its scripts follow VI_1 alone (a group is for instances that must move together)`,
    ]);
    const strict = tandem('check', '--strict', '-f', f);
    assert.equal(strict.status, 2, strict.stdout);
    assert.equal(strict.stdout, '');
    assert.deepEqual(strict.stderr.trim().split('\n'), [
      `${f}:6:71 vrrp_instances[0].advert_int: VRRPv2 advertises whole seconds: 1.5 s is rounded to 2 s, as keepalived rounds it (use version: 3 for fractions of a second) (a warning; --strict)`,
      `${f}:8:24 vrrp_sync_groups[0].group: has one instance (VI_1): keepalived keeps such a group and so does tandem; its scripts follow VI_1 alone (a group is for instances that must move together) (a warning; --strict)`,
      `${f}: 2 errors (--strict: warnings count as errors)`,
    ]);
  });
  it('check: errors and warnings of one file in file order, with both counts', () => {
    const f = join(dir, 'both.yaml');
    writeFileSync(f, 'global:\n  smtp_alert: true\nvrrp_instances:\n  - { name: VI_1, interface: eth0, virtual_router_id: 300, virtual_ipaddresses: [192.0.2.100/24] }\n');
    const r = tandem('check', '-f', f);
    assert.equal(r.status, 2, r.stdout);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `${f}:2:15 warning: global.smtp_alert: no mail is sent without global.smtp_server and global.notification_email (keepalived sends none either)`,
      `${f}:4:55 vrrp_instances[0].virtual_router_id: expected an integer 1..255, got 300`,
      `${f}: 1 error, 1 warning`,
    ]);
  });
  it('check of a directory or a binary file: one line saying what it is', () => {
    const d = tandem('check', '-f', dir);
    assert.equal(d.status, 2);
    assert.equal(d.stderr, `${dir}: is a directory, not a config file\n${dir}: 1 error\n`);
    const bin = join(dir, 'tandem.bin');
    writeFileSync(bin, Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01\x00vrrp_instances:\n'), Buffer.from([0xff, 0x00, 0x1b])]));
    const b = tandem('check', '-f', bin);
    assert.equal(b.status, 2);
    assert.equal(b.stderr, `${bin}: is not a text file (a NUL byte at offset 7): is this the config file?\n${bin}: 1 error\n`);
  });
  it('plan exits 2, printing every error, when the config is refused', () => {
    const f = join(dir, 'plan-bad.yaml');
    writeFileSync(f, 'virtual_servers:\n  - { address: 192.0.2.100, port: 80, lb_algo: rr, real_servers: [{ address: 198.51.100.11, port: 99999 }] }\n');
    const r = tandem('plan', '-f', f);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `${f}:2:99 virtual_servers[0].real_servers[0].port: expected an integer 0..65535, got 99999`,
      `${f}: 1 error: nothing to plan`,
    ]);
  });
  it('plan with global.backend auto exits 2 when the backend tandem run would pick here cannot express the config', () => {
    const f = join(dir, 'plan-wlc.yaml');
    writeFileSync(f, 'virtual_servers:\n  - { address: 192.0.2.100, port: 80, real_servers: [{ address: 198.51.100.11, port: 80 }] }\n');
    const r = tandem('plan', '-f', f);
    if (hostHasIpvs()) {
      assert.notEqual(r.status, 2, r.stderr);
    } else {
      // wlc, keepalived's default scheduler, has no nftables form (docs/nft-backend.md).
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /plan-wlc\.yaml:2:5 virtual_servers\[0\]\.lb_algo: the nft backend cannot express wlc/);
      assert.match(r.stderr, /: 1 error: nothing to plan$/m);
    }
  });
  it('run logs the warnings of the file it refuses, with its errors', () => {
    const f = join(dir, 'bad3.yaml');
    writeFileSync(f, 'global:\n  smtp_server: 192.0.2.25\nvrrp_instances:\n  - name: X\n');
    const r = tandem('run', '-f', f);
    assert.equal(r.status, 2);
    assert.match(r.stdout, /bad3\.yaml:2:16 warning: global\.smtp_server: no mail is sent without global\.notification_email/);
    assert.match(r.stdout, /required key is missing/);
  });
  it('run refuses an invalid config with exit 2 before touching anything', () => {
    const f = join(dir, 'bad2.yaml');
    writeFileSync(f, 'vrrp_instances:\n  - name: X\n');
    const r = tandem('run', '-f', f);
    assert.equal(r.status, 2);
    assert.match(r.stdout, /required key is missing/);
    assert.match(r.stdout, /refusing to start/);
  });
  it('--version and --help', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const v = tandem('--version');
    assert.equal(v.status, 0);
    assert.equal(v.stdout.trim(), `tandem ${pkg.version}`);
    const h = tandem('--help');
    assert.equal(h.status, 0);
    assert.match(h.stdout, /tandem run -f FILE/);
    assert.match(h.stdout, /tandem check -f FILE/);
  });
  it('bad usage exits 2 with a message', () => {
    assert.equal(tandem().status, 2);
    const u = tandem('frobnicate');
    assert.equal(u.status, 2);
    assert.match(u.stderr, /unknown command frobnicate/);
    const m = tandem('check');
    assert.equal(m.status, 2);
    assert.match(m.stderr, /-f FILE is required/);
    assert.equal(tandem('check', '--bogus').status, 2);
  });
});
