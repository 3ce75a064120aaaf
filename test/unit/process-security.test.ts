// enable_script_security (src/alert/security.ts) on real files: a temp tree whose owners and modes
// the test sets with chown/chmod (root required). Rows marked `ka` were checked the same way
// against keepalived 2.2.7 (Debian 12): it refused or ran the script exactly so.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootScratchDir } from '../lib/scratch.js';
import { checkScriptSecurity, isExecutableBy, type ScriptSecurityReason } from '../../src/process/security.js';

const ROOT = { uid: 0, gid: 0 };
const NOBODY = { uid: 65534, gid: 65534 };

describe('alert script security (keepalived enable_script_security)', () => {
  const scratch = rootScratchDir('tandem-sec-');

  /** <scratch dir>/<name>/s.sh with the given modes and owners. */
  function tree(name: string, o: { dirMode?: number; dirUid?: number; dirGid?: number; fileMode?: number; fileUid?: number; fileGid?: number } = {}): string {
    const dir = join(scratch.dir, name);
    mkdirSync(dir);
    const file = join(dir, 's.sh');
    writeFileSync(file, '#!/bin/sh\nexit 0\n');
    chownSync(dir, o.dirUid ?? 0, o.dirGid ?? 0);
    chmodSync(dir, o.dirMode ?? 0o755);
    chownSync(file, o.fileUid ?? 0, o.fileGid ?? 0);
    chmodSync(file, o.fileMode ?? 0o755);
    return file;
  }

  const cases: Array<{ name: string; build: () => string; runAs?: { uid: number; gid: number }; ok?: true; reason?: ScriptSecurityReason; culprit?: (f: string) => string; ka?: true }> = [
    { name: 'root-owned 0755 directory and file', build: () => tree('ok'), ok: true, ka: true },
    { name: 'world-writable directory', build: () => tree('ww', { dirMode: 0o777 }), reason: 'world_writable', culprit: (f) => join(f, '..'), ka: true },
    { name: 'sticky world-writable directory (like /tmp)', build: () => tree('sticky', { dirMode: 0o1777 }), ok: true, ka: true },
    { name: 'group-writable directory of a non-root group', build: () => tree('gw', { dirMode: 0o775, dirGid: 100 }), reason: 'group_writable', culprit: (f) => join(f, '..'), ka: true },
    { name: 'group-writable directory of group root', build: () => tree('gw0', { dirMode: 0o775, dirGid: 0 }), ok: true, ka: true },
    { name: 'directory owned by a user', build: () => tree('du', { dirUid: 1000 }), reason: 'owner_not_root', culprit: (f) => join(f, '..') },
    { name: 'world-writable file', build: () => tree('fw', { fileMode: 0o777 }), reason: 'world_writable', culprit: (f) => f, ka: true },
    { name: 'file owned by a user', build: () => tree('fu', { fileUid: 1000 }), reason: 'owner_not_root', culprit: (f) => f, ka: true },
    { name: 'group-writable file of a non-root group', build: () => tree('fg', { fileMode: 0o775, fileGid: 100 }), reason: 'group_writable', culprit: (f) => f },
    {
      name: 'a safe symlink to a script in a world-writable directory', ka: true, reason: 'world_writable',
      build: () => {
        const target = tree('lt', { dirMode: 0o777 });
        const dir = join(scratch.dir, 'lsafe');
        mkdirSync(dir, { mode: 0o755 });
        symlinkSync(target, join(dir, 'link.sh'));
        return join(dir, 'link.sh');
      },
      culprit: () => join(scratch.dir, 'lt'),
    },
    {
      name: 'a symlinked directory on the way (like /bin -> usr/bin)', ok: true, ka: true,
      build: () => {
        tree('real');
        symlinkSync('real', join(scratch.dir, 'alias'));
        return join(scratch.dir, 'alias', 's.sh');
      },
    },
    {
      name: 'a symlink in a world-writable directory, to a safe script', reason: 'world_writable',
      build: () => {
        const target = tree('safe2');
        const dir = join(scratch.dir, 'wwlink');
        mkdirSync(dir);
        chmodSync(dir, 0o777);
        symlinkSync(target, join(dir, 'link.sh'));
        return join(dir, 'link.sh');
      },
      culprit: () => join(scratch.dir, 'wwlink'),
    },
    {
      name: 'a relative symlink with .. resolved against its own directory', ok: true,
      build: () => {
        tree('rel');
        mkdirSync(join(scratch.dir, 'rel2'), { mode: 0o755 });
        symlinkSync('../rel/s.sh', join(scratch.dir, 'rel2', 'x.sh'));
        return join(scratch.dir, 'rel2', 'x.sh');
      },
    },
    { name: 'running as nobody: no protection needed, an unsafe path passes', build: () => tree('nb', { dirMode: 0o777, fileMode: 0o755 }), runAs: NOBODY, ok: true },
    {
      name: 'a set-uid root file run as nobody still needs protection', build: () => tree('suid', { dirMode: 0o777, fileMode: 0o4755 }),
      runAs: NOBODY, reason: 'world_writable', culprit: (f) => join(f, '..'),
    },
    { name: 'missing', build: () => join(scratch.dir, 'nothere', 's.sh'), reason: 'not_found' },
    { name: 'not executable', build: () => tree('nx', { fileMode: 0o644 }), reason: 'not_executable' },
    { name: 'not executable by nobody (owner-only x)', build: () => tree('nxn', { fileMode: 0o744 }), runAs: NOBODY, reason: 'not_executable' },
    { name: 'a directory, not a file', build: () => { tree('isdir'); return join(scratch.dir, 'isdir'); }, reason: 'wrong_file_type' },
    { name: 'a file used as a directory', build: () => join(tree('fd'), 'x'), reason: 'wrong_file_type', culprit: (f) => join(f, '..') },
    { name: 'relative path', build: () => 'bin/true', reason: 'not_absolute' },
    {
      name: 'a symlink loop', reason: 'symlink_loop',
      build: () => {
        const dir = join(scratch.dir, 'loop');
        mkdirSync(dir, { mode: 0o755 });
        symlinkSync('b', join(dir, 'a'));
        symlinkSync('a', join(dir, 'b'));
        return join(dir, 'a');
      },
    },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.ok ? 'allowed' : `refused (${c.reason})`}${c.ka ? ' (as keepalived 2.2.7)' : ''}`, () => {
      const program = c.build();
      const r = checkScriptSecurity(program, c.runAs ?? ROOT);
      if (c.ok) {
        assert.equal(r.ok, true, JSON.stringify(r));
      } else {
        assert.equal(r.ok, false, `expected refusal, got ${JSON.stringify(r)}`);
        if (!r.ok) {
          assert.equal(r.reason, c.reason, r.message);
          if (c.culprit) assert.equal(r.path, c.culprit(program));
        }
      }
    });
  }

  it('/bin/true (merged /usr) passes for root, as in keepalived', () => {
    const r = checkScriptSecurity('/bin/true', ROOT);
    assert.ok(r.ok, JSON.stringify(r));
    if (r.ok) assert.equal(r.needsProtection, true);
  });

  it('is_executable follows keepalived: root any x bit; owner u+x; group g+x; others o+x', () => {
    const st = (mode: number, uid = 0, gid = 0) => ({ mode: 0o100000 | mode, uid, gid });
    assert.equal(isExecutableBy(st(0o001), ROOT), true);
    assert.equal(isExecutableBy(st(0o644), ROOT), false);
    assert.equal(isExecutableBy(st(0o100, 65534), NOBODY), true);
    assert.equal(isExecutableBy(st(0o011, 65534), NOBODY), false, 'the owner needs u+x even if others have x');
    assert.equal(isExecutableBy(st(0o010, 0, 65534), NOBODY), true);
    assert.equal(isExecutableBy(st(0o001, 0, 0), NOBODY), true);
  });
});
