// script_user resolution (src/alert/users.ts): the passwd/group parser and the lookup rules
// (keepalived set_uid_gid(): the user's own primary group unless a group is named).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { parseIdFile, resolveScriptUser, systemUserDb } from '../../src/process/users.js';
import { ScriptDir } from '../lib/scripts.js';

describe('alert script_user resolution', () => {
  let d: ScriptDir;
  before(() => {
    d = new ScriptDir('tandem-users-');
    writeFileSync(d.path('passwd'), [
      '# comment',
      'root:x:0:0:root:/root:/bin/bash',
      'ka_script:x:990:985::/nonexistent:/usr/sbin/nologin',
      'broken:x:notanumber',
      'ka_script:x:1:1:duplicate, first one wins:/:/bin/sh',
      '',
    ].join('\n'));
    writeFileSync(d.path('group'), 'root:x:0:\nka_group:x:984:ka_script\n');
  });
  after(() => d.remove());

  it('parses name -> ids, skipping comments, malformed and duplicate lines', () => {
    const m = parseIdFile('# x\nroot:x:0:0::/:/bin/sh\nbad\nweird:x:abc:def\nu:x:5:6:::\nu:x:7:8:::\n');
    assert.deepEqual([...m], [['root', [0, 0]], ['u', [5, 6]]]);
  });

  it('user alone: its uid and primary gid; user and group: the named group', () => {
    const db = systemUserDb({ passwd: d.path('passwd'), group: d.path('group') });
    assert.deepEqual(resolveScriptUser('ka_script', undefined, db), { ok: true, value: { user: 'ka_script', group: undefined, uid: 990, gid: 985 } });
    assert.deepEqual(resolveScriptUser('ka_script', 'ka_group', db), { ok: true, value: { user: 'ka_script', group: 'ka_group', uid: 990, gid: 984 } });
    const nu = resolveScriptUser('no_such_user_tandem', undefined, db);
    assert.equal(nu.ok, false);
    if (!nu.ok) assert.equal(nu.reason, 'unknown_user');
    const ng = resolveScriptUser('ka_script', 'no_such_group_tandem', db);
    assert.equal(ng.ok, false);
    if (!ng.ok) assert.equal(ng.reason, 'unknown_group');
  });
});
