// The CLI as an operator uses it: exit codes and output of check, --help, --version, bad usage.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelHasIpvs } from '../../src/lb/select.js';

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
    if (kernelHasIpvs()) {
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
