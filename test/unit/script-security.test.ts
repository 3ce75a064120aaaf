// enable_script_security over every program the config names (issue 12 §4): vrrp_scripts and
// misc_check like notify scripts, each checked for the user it runs as. Real files under a temp
// dir whose owners and modes the test sets (root required).
// keepalived 2.2.7, given the same trees: "Disabling track script chk due to insecure" for a 0777
// script in a 0777 directory run as root (and for one that no instance tracks), and the same script
// ran as script_user nobody.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineCounter, parseDocument, type Node } from 'yaml';
import { formatConfigError } from '../../src/config/errors.js';
import type { Ctx } from '../../src/config/fields.js';
import { crossCheckScriptSecurity } from '../../src/config/scriptSecurity.js';
import { configErrors, loadOk } from '../lib/config.js';

const NOBODY = { uid: 65534, gid: 65534 };

describe('script security: vrrp_scripts and misc_check (real files, root)', () => {
  let base: string;
  let safe: string;
  let open: string;
  before(() => {
    assert.equal(process.geteuid?.(), 0, 'this test chowns files and needs root');
    base = mkdtempSync(join(tmpdir(), 'tandem-scrsec-'));
    chmodSync(base, 0o755);
    mkdirSync(join(base, 'safe'), { mode: 0o755 });
    safe = join(base, 'safe', 'chk.sh');
    writeFileSync(safe, '#!/bin/sh\nexit 0\n');
    chmodSync(safe, 0o755);
    // The issue's case: a 0777 script in a 0777 directory.
    mkdirSync(join(base, 'open'));
    chmodSync(join(base, 'open'), 0o777);
    open = join(base, 'open', 'chk.sh');
    writeFileSync(open, '#!/bin/sh\nexit 0\n');
    chmodSync(open, 0o777);
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  const secured = (body: string, global = '') => `global:\n  enable_script_security: true\n${global}${body}`;
  const instance = (tracks: string) => `vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddresses: [192.0.2.100/24]
    track_scripts: [${tracks}]
`;

  it('a tracked vrrp_script run as root in a 0777 directory is refused at its script key', () => {
    const errs = configErrors(secured(`vrrp_scripts:
  - name: chk
    script: ${open}
    weight: 0
${instance('chk')}`));
    assert.deepEqual(errs, [
      `lb.yaml:5:13 vrrp_scripts[0].script: enable_script_security: refused (world_writable): ${join(base, 'open')} is writable by everyone (mode 777), so a non-root user could change what runs as root`,
    ]);
  });

  it('the same script in a safe place passes; a list argv is checked by its first word', () => {
    const c = loadOk(secured(`vrrp_scripts:
  - { name: chk, script: "${safe} --quiet" }
  - { name: chk2, script: [${safe}, -x] }
${instance('chk, chk2')}`));
    assert.deepEqual(c.vrrpScripts.map((s) => s.argv), [[safe, '--quiet'], [safe, '-x']]);
  });

  it('a vrrp_script no instance tracks is checked too (keepalived checks every vrrp_script)', () => {
    const errs = configErrors(secured(`vrrp_scripts:
  - { name: unused, script: ${open} }
`));
    assert.equal(errs.length, 1, errs.join('\n'));
    assert.match(errs[0]!, /^lb\.yaml:4:29 vrrp_scripts\[0\]\.script: enable_script_security: refused \(world_writable\)/);
  });

  it('a vrrp_script with user nobody needs no protection; one with user root under script_user nobody does', () => {
    loadOk(secured(`vrrp_scripts:\n  - { name: chk, script: ${open}, user: nobody }\n${instance('chk')}`));
    const errs = configErrors(secured(`vrrp_scripts:\n  - { name: chk, script: ${open}, user: root }\n${instance('chk')}`, '  script_user: nobody\n'));
    assert.equal(errs.length, 1, errs.join('\n'));
    assert.match(errs[0]!, /vrrp_scripts\[0\]\.script: enable_script_security: refused \(world_writable\)/);
  });

  it('a vrrp_script is checked for its own user: not executable by nobody is refused', () => {
    const ownerOnly = join(base, 'safe', 'owner-only.sh');
    writeFileSync(ownerOnly, '#!/bin/sh\nexit 0\n');
    chmodSync(ownerOnly, 0o744);
    const errs = configErrors(secured(`vrrp_scripts:\n  - { name: chk, script: ${ownerOnly}, user: nobody }\n${instance('chk')}`));
    assert.deepEqual(errs, [
      `lb.yaml:4:26 vrrp_scripts[0].script: enable_script_security: refused (not_executable): ${ownerOnly} is not executable by uid 65534 gid 65534 (mode 744)`,
    ]);
  });

  it('a vrrp_script whose user does not exist is refused at its user key', () => {
    const errs = configErrors(secured(`vrrp_scripts:\n  - { name: chk, script: ${safe}, user: no_such_user_tandem }\n${instance('chk')}`));
    assert.equal(errs.length, 1, errs.join('\n'));
    assert.match(errs[0]!, /^lb\.yaml:4:\d+ vrrp_scripts\[0\]\.user: enable_script_security: no such user "no_such_user_tandem", so the script cannot be checked/);
  });

  it('a bare program name is refused: tandem checks the file that runs, it does not search PATH', () => {
    const errs = configErrors(secured(`vrrp_scripts:\n  - { name: chk, script: "killall -0 haproxy" }\n${instance('chk')}`));
    assert.equal(errs.length, 1, errs.join('\n'));
    assert.match(errs[0]!, /vrrp_scripts\[0\]\.script: enable_script_security: refused \(not_absolute\): killall is not an absolute path \(give the full path/);
  });

  const virtualServer = (misc: string) => `virtual_servers:
  - address: 192.0.2.10
    port: 80
    real_servers:
      - address: 198.51.100.1
        checks:
          - tcp_check: {}
          - misc_check:
${misc}`;

  it('a misc_check run as root from a 0777 directory is refused at its misc_path', () => {
    const errs = configErrors(secured(virtualServer(`              misc_path: ${open} 198.51.100.1\n`)));
    assert.deepEqual(errs, [
      `lb.yaml:11:26 virtual_servers[0].real_servers[0].checks[1].misc_check.misc_path: enable_script_security: refused (world_writable): ${join(base, 'open')} is writable by everyone (mode 777), so a non-root user could change what runs as root`,
    ]);
  });

  it('a misc_check with user nobody passes; one in a safe place passes; an unknown user is refused', () => {
    loadOk(secured(virtualServer(`              misc_path: ${open}\n              user: nobody\n`)));
    loadOk(secured(virtualServer(`              misc_path: [${safe}, x]\n`)));
    const errs = configErrors(secured(virtualServer(`              misc_path: ${safe}\n              user: no_such_user_tandem\n`)));
    assert.equal(errs.length, 1, errs.join('\n'));
    assert.match(errs[0]!, /^lb\.yaml:12:21 virtual_servers\[0\]\.real_servers\[0\]\.checks\[1\]\.misc_check\.user: enable_script_security: no such user/);
  });

  it('without enable_script_security nothing is checked', () => {
    const c = loadOk(`vrrp_scripts:\n  - { name: chk, script: ${open} }\n${instance('chk')}${virtualServer(`              misc_path: ${open}\n`)}`);
    assert.equal(c.vrrpScripts[0]!.argv[0], open);
  });

  it('tandem not running as root: a script without user runs as tandem, so needs no protection', () => {
    const text = `vrrp_scripts:\n  - { name: chk, script: ${open} }\n${instance('chk')}${virtualServer(`              misc_path: ${open}\n`)}`;
    const config = loadOk(text);
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter });
    const check = (self: { uid: number; gid: number }) => {
      const ctx: Ctx = { file: 'lb.yaml', lineCounter, errors: [] };
      crossCheckScriptSecurity({ ...config, global: { ...config.global, enableScriptSecurity: true } }, doc.contents as Node, ctx, { self });
      return ctx.errors.map(formatConfigError);
    };
    assert.deepEqual(check(NOBODY), []);
    assert.equal(check({ uid: 0, gid: 0 }).length, 2, 'as root both are refused');
  });
});
