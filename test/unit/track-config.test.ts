// Tracker config: vrrp_scripts, vrrp_track_files, vrrp_track_processes and each instance's
// track_scripts / track_files / track_processes. keepalived's defaults and overrides, and every
// error located at file:line:col with its key path.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configErrors, loadOk, loadWithWarnings } from '../lib/config.js';
import type { Config } from '../../src/config/model.js';

const ok = (text: string): Config => loadOk(text);
const errorsOf = (text: string): string[] => configErrors(text);
const warningsOf = (text: string): string[] => loadWithWarnings(text).warnings;

const base = `vrrp_scripts:
  - name: chk_haproxy
    script: "/usr/bin/killall -0 haproxy"
  - name: chk_web
    script: "/usr/local/bin/check 'a b' \\"c d\\" e\\\\tf"
    interval: 2
    timeout: 0.5
    weight: -20
    rise: 3
    fall: 2
    init_fail: true
    user: nobody nogroup
  - name: chk_list
    script: [/bin/sh, -c, "exit 0"]
    weight: 10
    reverse: true
vrrp_track_files:
  - name: force_down
    file: /run/tandem/down
  - name: prio
    file: /run/tandem/prio
    weight: -2
    reverse: true
    init_file: { value: 5, overwrite: true }
  - name: plain_init
    file: /run/tandem/x
    init_file: 3
vrrp_track_processes:
  - name: haproxy
    process: haproxy
  - name: nginx_master
    process: /usr/sbin/nginx
    args: [-g, daemon off;]
    weight: 15
    quorum: 1
    quorum_max: 1
    delay: 2
    terminate_delay: 0.5
  - name: no_foo
    process: foo
    quorum_max: 0
  - name: initial
    process: /usr/bin/python3
    args: [/srv/app]
    param_match: initial
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddresses: [192.0.2.100/24]
    track_scripts: [chk_haproxy, { name: chk_web, weight: 30 }, { name: chk_list, weight: 5 }]
    track_files: [force_down, { name: prio, weight: 4, reverse: false }]
    track_processes: [haproxy, { name: nginx_master }]
  - name: VI_2
    interface: eth0
    virtual_router_id: 52
    virtual_ipaddresses: [192.0.2.101/24]
    track_scripts: [chk_web]
`;

const instanceWith = (lines: string, prio = 100) => `vrrp_scripts:
  - name: chk
    script: /bin/true
    weight: -10
vrrp_track_files:
  - { name: f1, file: /tmp/f1 }
vrrp_track_processes:
  - { name: p1, process: haproxy }
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    priority: ${prio}
    virtual_ipaddresses: [192.0.2.100/24]
${lines}`;

describe('tracker config', () => {
  it('builds scripts with keepalived defaults and keepalived quoting', () => {
    const c = ok(base);
    assert.deepEqual(c.vrrpScripts[0], {
      name: 'chk_haproxy', argv: ['/usr/bin/killall', '-0', 'haproxy'], intervalMs: 1000, timeoutMs: 1000,
      weight: 0, reverse: false, rise: 1, fall: 1, initFail: false, user: undefined, group: undefined,
    });
    assert.deepEqual(c.vrrpScripts[1], {
      name: 'chk_web', argv: ['/usr/local/bin/check', 'a b', 'c d', 'e\tf'], intervalMs: 2000, timeoutMs: 500,
      weight: -20, reverse: false, rise: 3, fall: 2, initFail: true, user: 'nobody', group: 'nogroup',
    });
    assert.deepEqual(c.vrrpScripts[2]!.argv, ['/bin/sh', '-c', 'exit 0']);
    assert.equal(c.vrrpScripts[2]!.reverse, true);
  });

  it('builds track files (weight 1 by default) and init_file forms', () => {
    const c = ok(base);
    assert.deepEqual(c.trackFiles, [
      { name: 'force_down', path: '/run/tandem/down', weight: 1, reverse: false, init: undefined },
      { name: 'prio', path: '/run/tandem/prio', weight: -2, reverse: true, init: { value: 5, overwrite: true } },
      { name: 'plain_init', path: '/run/tandem/x', weight: 1, reverse: false, init: { value: 3, overwrite: false } },
    ]);
  });

  it('builds tracked processes: quorum 1..unbounded, args imply an exact command-line match, delay sets both', () => {
    const c = ok(base);
    assert.deepEqual(c.trackProcesses[0], {
      name: 'haproxy', process: 'haproxy', args: undefined, paramMatch: 'none', fullCommand: false,
      weight: 0, reverse: false, quorum: 1, quorumMax: null, forkDelayMs: 0, terminateDelayMs: 0,
    });
    assert.deepEqual(c.trackProcesses[1], {
      name: 'nginx_master', process: '/usr/sbin/nginx', args: ['-g', 'daemon off;'], paramMatch: 'exact', fullCommand: true,
      weight: 15, reverse: false, quorum: 1, quorumMax: 1, forkDelayMs: 2000, terminateDelayMs: 500,
    });
    assert.deepEqual([c.trackProcesses[2]!.quorum, c.trackProcesses[2]!.quorumMax], [0, 0], 'quorum_max 0: up while none runs');
    assert.equal(c.trackProcesses[3]!.paramMatch, 'initial');
  });

  it('resolves each instance\'s refs: the tracker\'s weight and reverse unless the instance overrides them', () => {
    const c = ok(base);
    const [vi1, vi2] = c.vrrpInstances;
    assert.deepEqual(vi1!.trackScripts, [
      { name: 'chk_haproxy', weight: 0, reverse: false },
      { name: 'chk_web', weight: 30, reverse: false },
      { name: 'chk_list', weight: 5, reverse: true },
    ]);
    assert.deepEqual(vi1!.trackFiles, [{ name: 'force_down', weight: 1, reverse: false }, { name: 'prio', weight: 4, reverse: false }]);
    assert.deepEqual(vi1!.trackProcesses, [{ name: 'haproxy', weight: 0, reverse: false }, { name: 'nginx_master', weight: 15, reverse: false }]);
    assert.deepEqual(vi2!.trackScripts, [{ name: 'chk_web', weight: -20, reverse: false }]);
    assert.deepEqual(vi2!.trackFiles, []);
    assert.ok(Object.isFrozen(c.vrrpScripts[0]!.argv));
  });

  it('an unknown tracker name is a located warning, with a suggestion, and is ignored as keepalived ignores it', () => {
    const w = loadWithWarnings(instanceWith('    track_scripts: [chk, chck]\n'));
    assert.deepEqual(w.warnings, [
      'lb.yaml:15:26 warning: vrrp_instances[0].track_scripts[1]: no vrrp_scripts entry is named chck (did you mean chk?): ignored, as keepalived ignores it',
    ]);
    assert.deepEqual(w.config.vrrpInstances[0]!.trackScripts.map((t) => t.name), ['chk']);
    assert.deepEqual(warningsOf(instanceWith('    track_files:\n      - { name: nope, weight: 2 }\n    track_processes: [p2]\n')), [
      'lb.yaml:16:17 warning: vrrp_instances[0].track_files[0]: no vrrp_track_files entry is named nope: ignored, as keepalived ignores it',
      'lb.yaml:17:23 warning: vrrp_instances[0].track_processes[0]: no vrrp_track_processes entry is named p2 (did you mean p1?): ignored, as keepalived ignores it',
    ]);
  });

  it('weights out of range are located, at the tracker and at the instance', () => {
    const errs = errorsOf(instanceWith('    track_scripts: [{ name: chk, weight: 300 }]\n').replace('weight: -10', 'weight: -255'));
    assert.deepEqual(errs, [
      'lb.yaml:4:13 vrrp_scripts[0].weight: expected an integer -254..254, got -255',
      'lb.yaml:15:42 vrrp_instances[0].track_scripts[0].weight: expected an integer -254..254, got 300',
    ]);
  });

  it('a tracker listed twice and weights on an address owner are warnings (as keepalived); duplicate tracker names are errors', () => {
    const twice = loadWithWarnings(instanceWith('    track_files: [f1, f1]\n'));
    assert.deepEqual(twice.warnings, [
      'lb.yaml:15:23 warning: vrrp_instances[0].track_files[1]: f1 is listed twice: the second is ignored, as keepalived ignores it',
    ]);
    assert.deepEqual(twice.config.vrrpInstances[0]!.trackFiles.map((t) => t.name), ['f1']);
    assert.deepEqual(errorsOf(instanceWith('    track_files: [f1]\n').replace('  - { name: f1, file: /tmp/f1 }', '  - { name: f1, file: /tmp/f1 }\n  - { name: f1, file: /tmp/f2 }')), [
      'lb.yaml:7:13 vrrp_track_files[1].name: duplicate name (also vrrp_track_files[0])',
    ]);
    const owner = loadWithWarnings(instanceWith('    track_scripts: [chk, { name: chk2 }]\n    track_processes: [{ name: p1, weight: 0 }]\n', 255)
      .replace('vrrp_track_files:', '  - { name: chk2, script: /bin/true }\nvrrp_track_files:'));
    assert.deepEqual(owner.warnings, [
      "lb.yaml:16:21 warning: vrrp_instances[0].track_scripts[0]: priority 255 (address owner) never changes: chk's weight -10 has no effect (keepalived ignores a weighted tracker on an address owner); weight 0 puts the instance in FAULT when it fails",
    ]);
  });

  it('process checks: quorum_max below quorum (ignored) and a name comm never holds are warnings; param_match without args an error', () => {
    const procs = (lines: string) => `vrrp_track_processes:\n${lines}`;
    const q = loadWithWarnings(procs('  - { name: a, process: x, quorum: 3, quorum_max: 2 }\n'));
    assert.deepEqual(q.warnings, [
      'lb.yaml:2:51 warning: vrrp_track_processes[0].quorum_max: quorum_max 2 is below quorum 3: quorum_max is ignored, as keepalived ignores it',
    ]);
    assert.deepEqual([q.config.trackProcesses[0]!.quorum, q.config.trackProcesses[0]!.quorumMax], [3, null]);
    assert.deepEqual(warningsOf(procs('  - { name: a, process: a-very-long-daemon }\n')), [
      'lb.yaml:2:25 warning: vrrp_track_processes[0].process: a process name (comm) has at most 15 characters, so "a-very-long-daemon" never matches (keepalived accepts it too): set full_command: true to match the command line\'s argv[0]',
    ]);
    assert.deepEqual(loadWithWarnings(procs('  - { name: a, process: a-very-long-daemon, full_command: true }\n')).warnings, []);
    assert.deepEqual(errorsOf(procs('  - { name: a, process: x, param_match: partial }\n')), [
      'lb.yaml:2:41 vrrp_track_processes[0].param_match: param_match partial needs args to match',
    ]);
  });


  it('script strings follow keepalived\'s quoting; a broken one is located', () => {
    assert.deepEqual(errorsOf('vrrp_scripts:\n  - name: s\n    script: "/bin/x \'unterminated"\n'), [
      'lb.yaml:3:13 vrrp_scripts[0].script: missing terminating \' in "/bin/x \'unterminated"',
    ]);
    assert.deepEqual(errorsOf('vrrp_scripts:\n  - name: s\n    script: "   "\n'), [
      'lb.yaml:3:13 vrrp_scripts[0].script: no program given',
    ]);
    assert.deepEqual(errorsOf('vrrp_scripts:\n  - name: s\n    script: /bin/true\n    rise: 0\n    user: "a b c"\n'), [
      'lb.yaml:4:11 vrrp_scripts[0].rise: expected an integer 1..1000000, got 0',
      'lb.yaml:5:11 vrrp_scripts[0].user: expected a user name, optionally followed by a group name, got "a b c"',
    ]);
  });
});
