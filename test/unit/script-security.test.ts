// enable_script_security over every program the config names (issue 12 §4): vrrp_scripts and
// misc_check like notify scripts, each checked for the user it runs as, and the config file
// itself. Real files under a temp dir whose owners and modes the test sets (root required).
// keepalived 2.2.7, given the same trees: "Disabling track script chk due to insecure" for a 0777
// script in a 0777 directory run as root (and for one that no instance tracks), the same script
// ran as script_user nobody, and a config file of uid 65534 with mode 666 was accepted.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LineCounter, parseDocument, type Node } from 'yaml';
import { formatConfigError, type ConfigIssue } from '../../src/config/errors.js';
import type { Ctx } from '../../src/config/fields.js';
import { loadConfigFile } from '../../src/config/load.js';
import { crossCheckScriptSecurity, refuseInsecureConfigFile } from '../../src/config/scriptSecurity.js';
import { configErrors, loadOk } from '../lib/config.js';
import { rootScratchDir } from '../lib/scratch.js';

const NOBODY = { uid: 65534, gid: 65534 };
/** The repository root (this file runs from dist/test/unit/). */
const REPO = new URL('../../../', import.meta.url).pathname;

describe('script security: vrrp_scripts and misc_check (real files, root)', () => {
  const scratch = rootScratchDir('tandem-scrsec-');
  let safe: string;
  let open: string;
  before(() => {
    mkdirSync(join(scratch.dir, 'safe'), { mode: 0o755 });
    safe = join(scratch.dir, 'safe', 'chk.sh');
    writeFileSync(safe, '#!/bin/sh\nexit 0\n');
    chmodSync(safe, 0o755);
    // The issue's case: a 0777 script in a 0777 directory.
    mkdirSync(join(scratch.dir, 'open'));
    chmodSync(join(scratch.dir, 'open'), 0o777);
    open = join(scratch.dir, 'open', 'chk.sh');
    writeFileSync(open, '#!/bin/sh\nexit 0\n');
    chmodSync(open, 0o777);
  });

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
      `lb.yaml:5:13 vrrp_scripts[0].script: enable_script_security: refused (world_writable): ${join(scratch.dir, 'open')} is writable by everyone (mode 777), so a non-root user could change what runs as root`,
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
    const ownerOnly = join(scratch.dir, 'safe', 'owner-only.sh');
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
      `lb.yaml:11:26 virtual_servers[0].real_servers[0].checks[1].misc_check.misc_path: enable_script_security: refused (world_writable): ${join(scratch.dir, 'open')} is writable by everyone (mode 777), so a non-root user could change what runs as root`,
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
      const ctx: Ctx = { file: 'lb.yaml', lineCounter, issues: [] };
      crossCheckScriptSecurity({ ...config, global: { ...config.global, enableScriptSecurity: true } }, doc.contents as Node, ctx, { self });
      return ctx.issues.map(formatConfigError);
    };
    assert.deepEqual(check(NOBODY), []);
    assert.equal(check({ uid: 0, gid: 0 }).length, 2, 'as root both are refused');
  });
});

describe('script security: the config file (real files, root)', () => {
  const scratch = rootScratchDir('tandem-cfgsec-');

  const TEXT = 'global:\n  enable_script_security: true\nvrrp_instances:\n  - { name: VI_1, interface: eth0, virtual_router_id: 51, virtual_ipaddresses: [192.0.2.100/24] }\n';

  /** <scratch dir>/<name>/lb.yaml with the given directory and file owners and modes. */
  function file(name: string, o: { dirMode?: number; dirUid?: number; dirGid?: number; fileMode?: number; fileUid?: number; text?: string } = {}): string {
    const dir = join(scratch.dir, name);
    mkdirSync(dir);
    const f = join(dir, 'lb.yaml');
    writeFileSync(f, o.text ?? TEXT);
    chownSync(dir, o.dirUid ?? 0, o.dirGid ?? 0);
    chmodSync(dir, o.dirMode ?? 0o755);
    chownSync(f, o.fileUid ?? 0, 0);
    chmodSync(f, o.fileMode ?? 0o644);
    return f;
  }
  const errorsOf = (f: string): ConfigIssue[] => {
    const r = loadConfigFile(f);
    return r.ok ? [] : r.errors;
  };
  const refusedFor = (f: string, reason: string, culprit: string) => {
    const errs = errorsOf(f);
    assert.equal(errs.length, 1, JSON.stringify(errs));
    // About the whole file: no line (issue 13 §3: no made-up 1:1).
    assert.deepEqual({ line: errs[0]!.line, col: errs[0]!.col, path: errs[0]!.path }, { line: undefined, col: undefined, path: '' });
    assert.equal(errs[0]!.message.startsWith(`enable_script_security: config file refused (${reason}): ${culprit} `), true, errs[0]!.message);
    assert.match(errs[0]!.message, /so a non-root user could change which programs tandem runs as root$/);
  };

  it('a root-owned 0644 file in a root-owned 0755 directory loads', () => {
    assert.deepEqual(errorsOf(file('ok')), []);
  });
  it('a sticky world-writable directory (like /tmp, where tests and CI run) passes', () => {
    assert.deepEqual(errorsOf(file('sticky', { dirMode: 0o1777 })), []);
  });
  it('a file everyone can write is refused', () => {
    const f = file('fw', { fileMode: 0o666 });
    refusedFor(f, 'world_writable', f);
  });
  it('a file a user owns is refused', () => {
    const f = file('fu', { fileUid: 65534 });
    refusedFor(f, 'owner_not_root', f);
  });
  it('a file in a 0777 directory is refused (anyone could replace it)', () => {
    refusedFor(file('dw', { dirMode: 0o777 }), 'world_writable', join(scratch.dir, 'dw'));
  });
  it('a file in a directory a non-root group can write is refused; group root may', () => {
    refusedFor(file('dg', { dirMode: 0o775, dirGid: 100 }), 'group_writable', join(scratch.dir, 'dg'));
    assert.deepEqual(errorsOf(file('dg0', { dirMode: 0o775, dirGid: 0 })), []);
  });
  it('a file in a directory a user owns is refused', () => {
    refusedFor(file('du', { dirUid: 65534 }), 'owner_not_root', join(scratch.dir, 'du'));
  });
  it('a safe symlink to a file in a 0777 directory is refused (the file that is read is checked)', () => {
    file('target', { dirMode: 0o777 });
    mkdirSync(join(scratch.dir, 'links'), { mode: 0o755 });
    symlinkSync(join(scratch.dir, 'target', 'lb.yaml'), join(scratch.dir, 'links', 'lb.yaml'));
    refusedFor(join(scratch.dir, 'links', 'lb.yaml'), 'world_writable', join(scratch.dir, 'target'));
  });
  it('without enable_script_security the same file loads (as keepalived, which never checks)', () => {
    assert.deepEqual(errorsOf(file('off', { fileMode: 0o666, text: TEXT.replace('true', 'false') })), []);
  });
  it('a file with other errors reports those (the rule applies once the file says it is on)', () => {
    const errs = errorsOf(file('bad', { fileMode: 0o666, text: TEXT.replace('51', '300') }));
    assert.equal(errs.length, 1, JSON.stringify(errs));
    assert.equal(errs[0]!.path, 'vrrp_instances[0].virtual_router_id');
  });
  it('tandem check -f lb.yaml (a relative path, in a 0777 directory): exit 2, one line about the file', () => {
    const f = file('cli', { dirMode: 0o777 });
    const r = spawnSync(process.execPath, [join(REPO, 'bin/tandem'), 'check', '-f', 'lb.yaml'], { encoding: 'utf8', cwd: join(f, '..') });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.equal(r.stderr, `lb.yaml: enable_script_security: config file refused (world_writable): ${join(scratch.dir, 'cli')} is writable by everyone (mode 777), `
      + 'so a non-root user could change which programs tandem runs as root\nlb.yaml: 1 error\n');
  });
  it('tandem not running as root: its config file needs no protection', () => {
    const f = file('nonroot', { fileMode: 0o666 });
    const loaded = loadConfigFile(file('nonroot-safe'));
    assert.ok(loaded.ok);
    assert.equal(refuseInsecureConfigFile(loaded, f, 'lb.yaml', NOBODY).ok, true);
    assert.equal(refuseInsecureConfigFile(loaded, f, 'lb.yaml', { uid: 0, gid: 0 }).ok, false);
  });
});
