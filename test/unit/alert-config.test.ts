// Config of notify scripts, the notify FIFO, script_user and enable_script_security: defaults,
// keepalived's quoting for script strings, lists as argv, and every error located at
// file:line:col with its key path. The security rows use real files in a temp dir (root).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { configErrors, loadOk } from '../lib/config.js';
import type { Config } from '../../src/config/model.js';
import { ScriptDir } from '../lib/scripts.js';

const load = (text: string): Config => loadOk(text);
const errorsOf = (text: string): string[] => configErrors(text);

const instance = (extra: string) => `vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddresses: [192.0.2.100/24]
${extra}`;


describe('alert config: notify scripts', () => {
  it('defaults: no scripts, no FIFO, tandem\'s own user, no script security, 30 s timeout', () => {
    const c = load(instance(''));
    assert.deepEqual(c.vrrpInstances[0]!.notify, { master: undefined, backup: undefined, fault: undefined, stop: undefined, notify: undefined });
    assert.equal(c.global.notifyFifo, undefined);
    assert.equal(c.global.scriptUser, undefined);
    assert.equal(c.global.enableScriptSecurity, false);
    assert.equal(c.global.notifyScriptTimeoutMs, 30_000);
  });

  it('a string is split by keepalived\'s rules; a list is the argv as given', () => {
    const c = load(instance(`    notify_master: "/etc/tandem/to.sh master 'VI 1' a\\\\tb"
    notify_backup: /etc/tandem/to.sh backup
    notify_fault: [/usr/bin/logger, -t, "two words", 80]
    notify_stop: /etc/tandem/stop.sh
    notify: '/etc/tandem/notify.sh "x y"'
`));
    assert.deepEqual(c.vrrpInstances[0]!.notify, {
      master: ['/etc/tandem/to.sh', 'master', 'VI 1', 'a\tb'],
      backup: ['/etc/tandem/to.sh', 'backup'],
      fault: ['/usr/bin/logger', '-t', 'two words', '80'],
      stop: ['/etc/tandem/stop.sh'],
      notify: ['/etc/tandem/notify.sh', 'x y'],
    });
    assert.ok(Object.isFrozen(c.vrrpInstances[0]!.notify.master));
  });

  it('virtual server quorum_up/quorum_down and real server notify_up/notify_down', () => {
    const c = load(`virtual_servers:
  - address: 192.0.2.10
    port: 80
    quorum_up: /etc/tandem/quorum.sh up
    quorum_down: [/etc/tandem/quorum.sh, down]
    real_servers:
      - address: 198.51.100.1
        notify_up: "/etc/tandem/rs.sh up '198.51.100.1'"
        notify_down: /etc/tandem/rs.sh down
      - address: 198.51.100.2
`);
    const vs = c.virtualServers[0]!;
    assert.deepEqual([vs.quorumUp, vs.quorumDown], [['/etc/tandem/quorum.sh', 'up'], ['/etc/tandem/quorum.sh', 'down']]);
    assert.deepEqual([vs.realServers[0]!.notifyUp, vs.realServers[0]!.notifyDown], [['/etc/tandem/rs.sh', 'up', '198.51.100.1'], ['/etc/tandem/rs.sh', 'down']]);
    assert.equal('notifyUp' in vs.realServers[1]!, false, 'absent keys stay absent');
  });

  it('errors are located: relative program, bad quoting, empty list, wrong type', () => {
    const errs = errorsOf(instance(`    notify_master: notify.sh master
    notify_backup: "/etc/tandem/x.sh 'unterminated"
    notify_fault: []
    notify_stop: { path: /x }
    notify: [/bin/x, [nested]]
`));
    assert.deepEqual(errs, [
      'lb.yaml:6:20 vrrp_instances[0].notify_master: expected an absolute program path, got "notify.sh" (tandem does not search PATH)',
      `lb.yaml:7:20 vrrp_instances[0].notify_backup: cannot split into arguments: missing terminating ' in "/etc/tandem/x.sh 'unterminated"`,
      'lb.yaml:8:19 vrrp_instances[0].notify_fault: expected a program and its arguments, got an empty list',
      'lb.yaml:9:18 vrrp_instances[0].notify_stop: expected a program path and its arguments (text or a list), got a mapping',
      'lb.yaml:10:22 vrrp_instances[0].notify[1]: expected an argument (text), got a list',
    ]);
  });

  it('real server and virtual server script errors carry their full path', () => {
    const errs = errorsOf(`virtual_servers:
  - address: 192.0.2.10
    port: 80
    quorum_down: quorum.sh
    real_servers:
      - address: 198.51.100.1
        notify_up: "/x \\\\"
`);
    assert.deepEqual(errs, [
      'lb.yaml:4:18 virtual_servers[0].quorum_down: expected an absolute program path, got "quorum.sh" (tandem does not search PATH)',
      'lb.yaml:7:20 virtual_servers[0].real_servers[0].notify_up: cannot split into arguments: a backslash at the end escapes nothing in "/x \\\\"',
    ]);
  });
});

describe('alert config: global notify_fifo, script_user, notify_script_timeout', () => {
  it('reads and resolves them', () => {
    const c = load(`global:
  notify_fifo: /run/tandem/notify.fifo
  script_user: nobody
  notify_script_timeout: 2.5
${instance('')}`);
    assert.equal(c.global.notifyFifo, '/run/tandem/notify.fifo');
    assert.deepEqual(c.global.scriptUser, { user: 'nobody', group: undefined, uid: 65534, gid: 65534 });
    assert.equal(c.global.notifyScriptTimeoutMs, 2500);
    const g = load(`global:\n  script_user: nobody root\n${instance('')}`);
    assert.deepEqual(g.global.scriptUser, { user: 'nobody', group: 'root', uid: 65534, gid: 0 });
  });

  it('errors are located: unknown user or group, bad words, relative FIFO, bad timeout', () => {
    const errs = errorsOf(`global:
  script_user: no_such_user_tandem
  notify_fifo: notify.fifo
  notify_script_timeout: 0
${instance('')}`);
    assert.deepEqual(errs, [
      'lb.yaml:2:16 global.script_user: no such user "no_such_user_tandem"',
      'lb.yaml:3:16 global.notify_fifo: expected an absolute file path, got "notify.fifo"',
      'lb.yaml:4:26 global.notify_script_timeout: expected a number 0.1..3600 seconds, got 0',
    ]);
    assert.deepEqual(errorsOf(`global:\n  script_user: nobody no_such_group_tandem\n${instance('')}`),
      ['lb.yaml:2:16 global.script_user: no such group "no_such_group_tandem"']);
    assert.deepEqual(errorsOf(`global:\n  script_user: a b c\n${instance('')}`),
      ['lb.yaml:2:16 global.script_user: expected "user" or "user group", got "a b c"']);
  });
});

describe('alert config: enable_script_security (real files, root)', () => {
  let d: ScriptDir;
  let safe: string;
  let unsafe: string;
  before(() => {
    assert.equal(process.geteuid?.(), 0, 'needs root: the check applies to scripts run as root');
    d = new ScriptDir('tandem-seccfg-');
    safe = d.script('safe.sh', 'exit 0');
    unsafe = d.script('unsafe.sh', 'exit 0', 0o777);
    chmodSync(unsafe, 0o777);
  });
  after(() => d.remove());

  const secure = (extra: string, user = '') => `global:
  enable_script_security: true
${user}${instance(extra)}`;

  it('a safe script passes', () => {
    const c = load(secure(`    notify_master: ${safe} master\n`));
    assert.equal(c.global.enableScriptSecurity, true);
    assert.deepEqual(c.vrrpInstances[0]!.notify.master, [safe, 'master']);
  });

  it('an insecure, a missing and a non-executable script are errors at their keys (tandem check fails)', () => {
    const noexec = d.script('noexec.sh', 'exit 0', 0o644);
    const errs = errorsOf(secure(`    notify_master: ${unsafe}
    notify_backup: ${d.path('missing.sh')} x
    notify: [${noexec}]
`));
    assert.deepEqual(errs, [
      `lb.yaml:8:20 vrrp_instances[0].notify_master: enable_script_security: refused (world_writable): ${unsafe} is writable by everyone (mode 777), so a non-root user could change what runs as root`,
      `lb.yaml:9:20 vrrp_instances[0].notify_backup: enable_script_security: refused (not_found): ${d.path('missing.sh')} does not exist`,
      `lb.yaml:10:13 vrrp_instances[0].notify: enable_script_security: refused (not_executable): ${noexec} is not executable by uid 0 gid 0 (mode 644)`,
    ]);
  });

  it('without enable_script_security the same scripts load (nothing is checked)', () => {
    const c = load(instance(`    notify_master: ${unsafe}\n    notify_backup: ${d.path('missing.sh')}\n`));
    assert.deepEqual(c.vrrpInstances[0]!.notify.master, [unsafe]);
  });

  it('scripts run as a non-root script_user need no protection', () => {
    const c = load(secure(`    notify_master: ${unsafe}\n`, '  script_user: nobody\n'));
    assert.deepEqual(c.vrrpInstances[0]!.notify.master, [unsafe]);
  });

  it('virtual server and real server scripts are checked too', () => {
    const errs = errorsOf(`global:
  enable_script_security: true
virtual_servers:
  - address: 192.0.2.10
    port: 80
    quorum_up: ${safe}
    quorum_down: ${unsafe}
    real_servers:
      - address: 198.51.100.1
        notify_down: [${unsafe}, x]
`);
    assert.equal(errs.length, 2, errs.join('\n'));
    assert.match(errs[0]!, /^lb\.yaml:7:18 virtual_servers\[0\]\.quorum_down: enable_script_security: refused \(world_writable\)/);
    assert.match(errs[1]!, /^lb\.yaml:10:22 virtual_servers\[0\]\.real_servers\[0\]\.notify_down: enable_script_security: refused \(world_writable\)/);
  });
});
