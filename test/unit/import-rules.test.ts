// `tandem import` means what keepalived runs (issue 13 §1): one test per keepalived rule, each
// on a small keepalived.conf written here. Every conversion is also loaded as `tandem check`
// loads it (loadConfigText) unless the test says why not. The keepalived source each rule
// comes from is cited where the rule is implemented (src/config/import/*.ts); the fixtures in
// test/fixtures/keepalived/rules/ show keepalived -t accepting (and warning about) the same input.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { defaultConfigId, importKeepalived, type ImportOptions, type Unconverted } from '../../src/config/import/convert.js';
import { loadConfigText } from '../../src/config/load.js';
import { backendConfigErrors } from '../../src/config/lbBackend.js';
import type { Config } from '../../src/config/model.js';
import { spawnSync } from 'node:child_process';

let dir = '';
let n = 0;
before(() => { dir = mkdtempSync(join(tmpdir(), 'tandem-import-rules-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

interface Converted { data: any; yaml: string; notes: Unconverted[]; where: string[]; model: Config | undefined }

/** Converts `text` (joined lines); asserts tandem check accepts the result unless `check: false`. */
function convert(lines: string[], opts: ImportOptions & { check?: boolean } = {}): Converted {
  const file = join(dir, `t${n++}.conf`);
  writeFileSync(file, lines.join('\n') + '\n');
  const r = importKeepalived(file, opts);
  if (!r.ok) assert.fail(`${r.error.file}:${r.error.line}: ${r.error.message}`);
  let model: Config | undefined;
  if (opts.check !== false) {
    const loaded = loadConfigText(r.yaml, 'converted.yaml', { hostname: 'lb-test' });
    assert.ok(loaded.ok, `tandem check refuses the conversion:\n${loaded.ok ? '' : loaded.errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`).join('\n')}\n---\n${r.yaml}`);
    model = loaded.config;
  }
  return {
    model, data: parseYaml(r.yaml), yaml: r.yaml, notes: r.unconverted,
    where: r.unconverted.map((u) => `${u.line} ${u.keyword} ${u.kind}`),
  };
}

/** A vrrp_instance block with the given extra lines (interface eth0, VRID 51, one VIP). */
const instance = (name: string, extra: string[], vrid = 51, vip = '192.0.2.100/24') => [
  `vrrp_instance ${name} {`,
  '  interface eth0',
  `  virtual_router_id ${vrid}`,
  ...extra.map((l) => `  ${l}`),
  '  virtual_ipaddress {',
  `    ${vip}`,
  '  }',
  '}',
];

describe('unicast_src_ip / unicast_peer with a prefix (lib/utils.c inet_stosockaddr)', () => {
  it('the prefix is ignored and the peer kept: the instance stays unicast', () => {
    const { data, notes } = convert(instance('VI_1', [
      'unicast_src_ip 192.0.2.1/24',
      'unicast_peer {',
      '  192.0.2.2/24',
      '  192.0.2.3',
      '}',
    ]));
    const vi = data.vrrp_instances[0];
    assert.equal(vi.unicast_src_ip, '192.0.2.1');
    assert.deepEqual(vi.unicast_peers, ['192.0.2.2', '192.0.2.3']);
    assert.deepEqual(notes, [], 'keepalived says nothing about the prefix: neither does the import');
  });

  it('a range suffix is cut the same way (the first "-", else the first "/"), IPv6 too', () => {
    const { data } = convert(instance('VI_6', [
      'unicast_peer {',
      '  2001:db8::2/64',
      '}',
    ], 61, '2001:db8::100/64'));
    assert.deepEqual(data.vrrp_instances[0].unicast_peers, ['2001:db8::2']);
    const r = convert(instance('VI_2', ['unicast_peer {', '  192.0.2.7-9', '}']));
    assert.deepEqual(r.data.vrrp_instances[0].unicast_peers, ['192.0.2.7']);
  });

  it('a real server written with a prefix is that address (check_data.c alloc_rs)', () => {
    const { data } = convert([
      ...instance('VI_1', []),
      'virtual_server 192.0.2.100 80 {',
      '  protocol TCP',
      '  real_server 198.51.100.11/32 80 {',
      '  }',
      '}',
    ]);
    assert.equal(data.virtual_servers[0].real_servers[0].address, '198.51.100.11');
  });

  it('what is not an address is still noted and dropped', () => {
    const { data, where } = convert(instance('VI_1', ['unicast_peer {', '  lb2.example.com', '}']));
    assert.deepEqual(data.vrrp_instances[0].unicast_peers, []);
    assert.deepEqual(where, ['5 lb2.example.com not-converted']);
  });
});

describe('lb_kind / lb_algo compared as keepalived compares them (check_parser.c, strcmp)', () => {
  const vs = (lines: string[]) => [
    ...instance('VI_1', []),
    'virtual_server 192.0.2.100 80 {',
    '  protocol TCP',
    ...lines.map((l) => `  ${l}`),
    '  real_server 198.51.100.11 80 {',
    '  }',
    '}',
  ];

  it('`lb_kind dr` is not DR: keepalived ignores it and runs NAT; the import says so', () => {
    const { data, notes } = convert(vs(['lb_kind dr']));
    assert.equal(data.virtual_servers[0].lb_kind, undefined, 'no lb_kind: NAT, the default, as keepalived runs it');
    assert.deepEqual(notes.map((u) => [u.line, u.keyword, u.kind]), [[10, 'lb_kind', 'changed']]);
    assert.match(notes[0]!.reason, /"dr" is not NAT, DR or TUN; it ignores the line and the server runs NAT, the default/);
  });

  it('NAT, DR and TUN in capitals convert as they are, with no note', () => {
    for (const k of ['NAT', 'DR', 'TUN']) {
      const { data, notes } = convert(vs([`lb_kind ${k}`]));
      assert.equal(data.virtual_servers[0].lb_kind, k);
      assert.deepEqual(notes, []);
    }
  });

  it('an ignored lb_kind keeps the one given before it; lvs_method is the same keyword', () => {
    const { data, notes } = convert(vs(['lvs_method DR', 'lb_kind Tun']));
    assert.equal(data.virtual_servers[0].lb_kind, 'DR');
    assert.match(notes.find((u) => u.keyword === 'lb_kind')!.reason, /keeps DR from the line before/);
  });

  it('a real server with `lb_kind tun` keeps its virtual server\'s method', () => {
    const { data, notes } = convert([
      ...instance('VI_1', []),
      'virtual_server 192.0.2.100 80 {',
      '  protocol TCP',
      '  lb_kind DR',
      '  real_server 198.51.100.11 80 {',
      '    lb_kind tun',
      '  }',
      '}',
    ]);
    assert.equal(data.virtual_servers[0].real_servers[0].lb_kind, undefined);
    assert.equal(data.virtual_servers[0].lb_kind, 'DR');
    assert.match(notes[0]!.reason, /the server runs its virtual server's method/);
  });

  it('`lb_algo WRR` is not wrr: keepalived runs wlc; twos (tandem has it) is not in keepalived 2.2.7\'s list either', () => {
    const a = convert(vs(['lb_algo WRR']));
    assert.equal(a.data.virtual_servers[0].lb_algo, undefined, 'wlc, the default');
    assert.deepEqual(a.notes.map((u) => [u.keyword, u.kind]), [['lb_algo', 'changed']]);
    assert.match(a.notes[0]!.reason, /it ignores "WRR" and the service runs with wlc, the default/);
    const b = convert(vs(['lvs_sched twos']));
    assert.equal(b.data.virtual_servers[0].lb_algo, undefined);
    assert.match(b.notes[0]!.reason, /accepts only rr wrr lc wlc lblc sh mh dh fo ovf lblcr sed nq/);
    const c = convert(vs(['lb_algo sh']));
    assert.equal(c.data.virtual_servers[0].lb_algo, 'sh');
    assert.deepEqual(c.notes, []);
  });
});

describe('a keyword given twice: the one keepalived uses is kept, the other noted', () => {
  it('two notify_master lines: keepalived keeps the first (vrrp_parser.c vrrp_notify_master_handler)', () => {
    const { data, notes } = convert(instance('VI_1', ['notify_master /usr/local/bin/first.sh', 'notify_master /usr/local/bin/second.sh']));
    assert.equal(data.vrrp_instances[0].notify_master, '/usr/local/bin/first.sh');
    assert.deepEqual(notes.map((u) => [u.line, u.keyword]), [[5, 'notify_master']]);
    assert.match(notes[0]!.reason, /given already at line 4: keepalived keeps the first one and ignores this one \(vrrp_parser\.c vrrp_notify_master_handler\(\)/);
  });

  it('two priority lines: the last one (a plain assignment); the first is noted', () => {
    const { data, notes } = convert(instance('VI_1', ['priority 100', 'priority 150']));
    assert.equal(data.vrrp_instances[0].priority, 150);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword, u.reason]), [[4, 'priority', 'given again at line 5: keepalived uses the last value it accepts, and so does the conversion']]);
  });

  it('nopreempt then preempt set the same thing: the last wins', () => {
    const { data, notes } = convert(instance('VI_1', ['nopreempt', 'preempt']));
    assert.equal(data.vrrp_instances[0].preempt, true);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword]), [[4, 'nopreempt']]);
  });

  it('two virtual_ipaddress and two unicast_peer blocks add up, as keepalived appends them; no note', () => {
    const { data, notes } = convert([
      ...instance('VI_1', ['unicast_peer {', '  192.0.2.2', '}', 'unicast_peer {', '  192.0.2.3', '}', 'virtual_ipaddress {', '  192.0.2.101/24', '}']),
    ]);
    assert.deepEqual(data.vrrp_instances[0].unicast_peers, ['192.0.2.2', '192.0.2.3']);
    assert.deepEqual(data.vrrp_instances[0].virtual_ipaddresses, ['192.0.2.101/24', '192.0.2.100/24']);
    assert.deepEqual(notes, []);
  });

  it('state MASTER then BACKUP stays MASTER (vrrp_state_handler); BACKUP then MASTER is MASTER', () => {
    const a = convert(instance('VI_1', ['priority 255', 'state MASTER', 'state BACKUP']));
    assert.equal(a.data.vrrp_instances[0].state, 'MASTER');
    assert.deepEqual(a.notes.map((u) => [u.line, u.keyword]), [[6, 'state']]);
    assert.match(a.notes[0]!.reason, /keeps MASTER from line 5 and ignores BACKUP after it/);
    const b = convert(instance('VI_1', ['priority 255', 'state BACKUP', 'state MASTER']));
    assert.equal(b.data.vrrp_instances[0].state, 'MASTER');
    assert.deepEqual(b.notes.map((u) => [u.line, u.keyword]), [[5, 'state']]);
  });

  it('two authentication blocks merge: auth_type from one, the last auth_pass', () => {
    const { data, notes } = convert(instance('VI_1', [
      'authentication {', '  auth_type PASS', '  auth_pass first1', '}',
      'authentication {', '  auth_pass second2', '}',
    ]));
    assert.deepEqual(data.vrrp_instances[0].authentication, { auth_type: 'PASS', auth_pass: 'second2' });
    assert.deepEqual(notes.map((u) => [u.line, u.keyword]), [[6, 'auth_pass']]);
  });

  it('global_defs: notify_fifo keeps the first; notification_email blocks add up', () => {
    const { data, notes } = convert([
      'global_defs {',
      '  smtp_server 192.0.2.25',
      '  notify_fifo /run/keepalived/a.fifo',
      '  notify_fifo /run/keepalived/b.fifo',
      '  notification_email {', '    ops@example.com', '  }',
      '  notification_email {', '    noc@example.com', '  }',
      '}',
      ...instance('VI_1', []),
    ]);
    assert.equal(data.global.notify_fifo, '/run/keepalived/a.fifo');
    assert.deepEqual(data.global.notification_email, ['ops@example.com', 'noc@example.com']);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword]), [[4, 'notify_fifo']]);
  });

  it('trackers: a track file\'s file and a track process\'s weight keep the first; a script\'s weight the last', () => {
    const { data, notes } = convert([
      'vrrp_script chk {', '  script /usr/local/bin/chk', '  weight 5', '  weight -7', '}',
      'vrrp_track_file tf {', '  file /run/a', '  file /run/b', '}',
      'vrrp_track_process tp {', '  process nginx', '  weight 5', '  weight 6', '}',
      ...instance('VI_1', ['track_script {', '  chk', '}', 'track_file {', '  tf', '}', 'track_process {', '  tp', '}']),
    ]);
    assert.equal(data.vrrp_scripts[0].weight, -7);
    assert.equal(data.vrrp_track_files[0].file, '/run/a');
    assert.equal(data.vrrp_track_processes[0].weight, 5);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword]), [[3, 'weight'], [8, 'file'], [13, 'weight']]);
    assert.match(notes[1]!.reason, /vrrp_tfile_file_handler/);
    assert.match(notes[2]!.reason, /vrrp_tprocess_weight_handler/);
  });

  it('a second vrrp_instance (or vrrp_script) of the same name is not converted: keepalived uses the first', () => {
    const { data, notes } = convert([
      'vrrp_script chk {', '  script /usr/local/bin/one', '}',
      'vrrp_script chk {', '  script /usr/local/bin/two', '}',
      ...instance('VI_1', ['track_script {', '  chk', '}']),
      ...instance('VI_1', [], 52, '192.0.2.101/24'),
    ]);
    assert.deepEqual(data.vrrp_scripts.map((x: any) => x.script), ['/usr/local/bin/one']);
    assert.deepEqual(data.vrrp_instances.map((x: any) => x.virtual_router_id), [51]);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword]), [[4, 'vrrp_script'], [17, 'vrrp_instance']]);
    assert.match(notes[1]!.reason, /VI_1 is defined already at line 7: keepalived uses that one \(vrrp_parser\.c vrrp_handler\(\)/);
  });

  it('a sync group\'s second group block is ignored (vrrp_group_handler)', () => {
    const { data, notes } = convert([
      ...instance('VI_1', []), ...instance('VI_2', [], 52, '192.0.2.101/24'), ...instance('VI_3', [], 53, '192.0.2.102/24'),
      'vrrp_sync_group G1 {', '  group {', '    VI_1', '    VI_2', '  }', '  group {', '    VI_3', '  }', '}',
    ]);
    assert.deepEqual(data.vrrp_sync_groups[0].group, ['VI_1', 'VI_2']);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword]), [[27, 'group']]);
  });

  it('virtual servers: quorum_up and notify_up keep the first, a repeated real server is removed, digest the first, status codes add up, path the last', () => {
    const { data, notes } = convert([
      ...instance('VI_1', []),
      'virtual_server 192.0.2.100 80 {',
      '  protocol TCP',
      '  quorum_up /usr/local/bin/up1',
      '  quorum_up /usr/local/bin/up2',
      '  sorry_server 198.51.100.90 80',
      '  sorry_server 198.51.100.91 80',
      '  real_server 198.51.100.11 80 {',
      '    notify_up /usr/local/bin/a',
      '    notify_up /usr/local/bin/b',
      '    HTTP_GET {',
      '      url {',
      '        path /a',
      '        path /b',
      '        digest 00000000000000000000000000000001',
      '        digest 00000000000000000000000000000002',
      '        status_code 200',
      '        status_code 204',
      '      }',
      '    }',
      '  }',
      '  real_server 198.51.100.11 80 {',
      '    weight 9',
      '  }',
      '}',
    ]);
    const vs = data.virtual_servers[0];
    assert.equal(vs.quorum_up, '/usr/local/bin/up1');
    assert.equal(vs.sorry_server.address, '198.51.100.91');
    assert.equal(vs.real_servers.length, 1);
    assert.equal(vs.real_servers[0].notify_up, '/usr/local/bin/a');
    assert.deepEqual(vs.real_servers[0].checks[0].http_get.urls, [{ path: '/b', digest: '00000000000000000000000000000001', status_code: [200, 204] }]);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword]), [
      [11, 'quorum_up'], [12, 'sorry_server'], [16, 'notify_up'], [19, 'path'], [22, 'digest'], [28, 'real_server'],
    ]);
  });
});

describe('state, priority and preemption as vrrp.c vrrp_complete_instance() settles them', () => {
  it('state MASTER with nopreempt: keepalived clears nopreempt; the import converts preempt (the default) and says so', () => {
    const { data, notes } = convert(instance('VI_1', ['state MASTER', 'priority 150', 'nopreempt']));
    const vi = data.vrrp_instances[0];
    assert.equal(vi.preempt, undefined, 'preempt: true, the default');
    assert.equal(vi.state, 'MASTER');
    assert.deepEqual(notes.map((u) => [u.line, u.keyword, u.kind]), [[6, 'nopreempt', 'changed']]);
    assert.match(notes[0]!.reason, /nopreempt will not work with initial state MASTER - clearing/);
  });

  it('state BACKUP with nopreempt stays nopreempt, with no note', () => {
    const { data, notes } = convert(instance('VI_1', ['state BACKUP', 'priority 150', 'nopreempt']));
    assert.equal(data.vrrp_instances[0].preempt, false);
    assert.deepEqual(notes, []);
  });

  it('priority 255 with nopreempt: keepalived resets nopreempt', () => {
    const { data, notes } = convert(instance('VI_1', ['priority 255', 'nopreempt']));
    assert.equal(data.vrrp_instances[0].preempt, undefined);
    assert.match(notes[0]!.reason, /nopreempt is incompatible with priority 255/);
  });

  it('state MASTER without a priority is priority 255 (the address owner), written out with a comment', () => {
    const { data, notes, yaml } = convert(instance('VI_1', ['state MASTER']));
    assert.equal(data.vrrp_instances[0].priority, 255, 'tandem would have run it at 100');
    assert.deepEqual(notes, [], 'keepalived derives it silently: not a loss');
    assert.match(yaml, /# keepalived: state MASTER without a priority is priority 255, the address owner \(vrrp\.c vrrp_complete_instance\)\n {4}priority: 255/);
  });

  it('priority 255 without a state starts as MASTER', () => {
    const { data } = convert(instance('VI_1', ['priority 255']));
    assert.equal(data.vrrp_instances[0].state, 'MASTER');
  });

  it('preempt_delay with state MASTER, or with nopreempt, is reset by keepalived', () => {
    const a = convert(instance('VI_1', ['state MASTER', 'priority 100', 'preempt_delay 5']));
    assert.equal(a.data.vrrp_instances[0].preempt_delay, undefined);
    assert.match(a.notes[0]!.reason, /preempt delay will not work with initial state MASTER - clearing/);
    const b = convert(instance('VI_2', ['nopreempt', 'preempt_delay 5']));
    assert.equal(b.data.vrrp_instances[0].preempt_delay, undefined);
    assert.equal(b.data.vrrp_instances[0].preempt, false);
    assert.deepEqual(b.notes.map((u) => [u.line, u.keyword]), [[5, 'preempt_delay']]);
    assert.match(b.notes[0]!.reason, /preempt_delay is incompatible with nopreempt mode - resetting/);
  });
});

describe('vrrp_strict / strict_mode: what keepalived applies in strict mode (vrrp.c vrrp_complete_instance)', () => {
  const strictFile = (extra: string[], global = ['  vrrp_strict']) => [
    'global_defs {', ...global, '}',
    ...instance('VI_1', extra),
  ];

  it('PASS authentication is dropped (it would no longer match a strict keepalived peer)', () => {
    const { data, notes } = convert(strictFile(['priority 150', 'authentication {', '  auth_type PASS', '  auth_pass s3cret', '}']));
    assert.equal(data.vrrp_instances[0].authentication, undefined);
    const auth = notes.find((u) => u.keyword === 'authentication')!;
    assert.equal(auth.line, 8);
    assert.equal(auth.kind, 'changed');
    assert.match(auth.reason, /Strict mode does not support authentication/);
  });

  it('state follows the priority; preempt_delay and GARP repeats on a lower priority are reset', () => {
    const { data, notes } = convert(strictFile(['state MASTER', 'priority 150', 'preempt_delay 5', 'garp_lower_prio_repeat 3']));
    const vi = data.vrrp_instances[0];
    assert.equal(vi.state, undefined, 'BACKUP: not the address owner');
    assert.equal(vi.preempt_delay, undefined);
    assert.equal(vi.garp_lower_prio_repeat, 0);
    assert.deepEqual(notes.filter((u) => u.kind === 'changed').map((u) => [u.line, u.keyword]), [[7, 'state'], [9, 'preempt_delay'], [10, 'garp_lower_prio_repeat']]);
  });

  it('what tandem cannot do in strict mode (no advert to a lower priority, no accept mode) is noted once, at vrrp_strict', () => {
    const { data, notes } = convert([
      'global_defs {', '  vrrp_strict', '}',
      ...instance('VI_1', ['priority 150']),
      ...instance('VI_2', ['priority 100'], 52, '192.0.2.101/24'),
    ]);
    assert.equal(data.vrrp_instances[1].garp_lower_prio_repeat, 0, 'strict mode\'s default');
    assert.deepEqual(notes.map((u) => [u.line, u.keyword, u.kind]), [[2, 'vrrp_strict', 'not-converted'], [2, 'vrrp_strict', 'not-converted']]);
    assert.match(notes.map((u) => u.reason).join('\n'), /lower_prio_no_advert[\s\S]*accept mode/);
  });

  it('an address owner needs no accept mode; strict_mode off in an instance overrides vrrp_strict', () => {
    const a = convert(strictFile(['priority 255']));
    assert.equal(a.data.vrrp_instances[0].state, 'MASTER');
    assert.deepEqual(a.notes.map((u) => u.reason.slice(0, 40)), ['strict mode: keepalived does not answer ']);
    const b = convert(strictFile(['strict_mode off', 'priority 150', 'authentication {', '  auth_type PASS', '  auth_pass s3cret', '}']));
    assert.deepEqual(b.data.vrrp_instances[0].authentication, { auth_type: 'PASS', auth_pass: 's3cret' });
    assert.deepEqual(b.notes, []);
  });

  it('strict_mode on one instance is strict mode for that instance only', () => {
    const { data } = convert([
      ...instance('VI_1', ['strict_mode', 'priority 150', 'preempt_delay 4']),
      ...instance('VI_2', ['priority 150', 'preempt_delay 4'], 52, '192.0.2.101/24'),
    ]);
    assert.equal(data.vrrp_instances[0].preempt_delay, undefined);
    assert.equal(data.vrrp_instances[1].preempt_delay, 4);
  });

  it('IPv6 with version 2 is version 3 in strict mode', () => {
    const { data, notes } = convert(strictFile(['version 2', 'priority 150'], ['  vrrp_strict']).map((l) => l.replace('192.0.2.100/24', '2001:db8::100/64')));
    assert.equal(data.vrrp_instances[0].version, 3);
    assert.match(notes.find((u) => u.keyword === 'version')!.reason, /cannot use IPv6 with VRRP version 2; setting version 3/);
  });
});

describe('nb_get_retry: HTTP_GET and SSL_GET only (check_http.c http_get_retry_handler, 2.2.7)', () => {
  const rs = (check: string[]) => [
    ...instance('VI_1', []),
    'virtual_server 192.0.2.100 80 {',
    '  protocol TCP',
    '  real_server 198.51.100.11 80 {',
    ...check.map((l) => `    ${l}`),
    '  }',
    '}',
  ];

  it('in TCP_CHECK keepalived ignores it (an unknown keyword): no retry count, and a note', () => {
    const { data, notes } = convert(rs(['TCP_CHECK {', '  connect_timeout 3', '  nb_get_retry 3', '}']));
    assert.deepEqual(data.virtual_servers[0].real_servers[0].checks, [{ tcp_check: { connect_timeout: 3 } }]);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword, u.kind]), [[13, 'nb_get_retry', 'changed']]);
    assert.match(notes[0]!.reason, /only in HTTP_GET and SSL_GET/);
  });

  it('in HTTP_GET it is retry, as keepalived reads it; a later retry replaces it', () => {
    const a = convert(rs(['HTTP_GET {', '  url {', '    path /', '  }', '  nb_get_retry 3', '}']));
    assert.equal(a.data.virtual_servers[0].real_servers[0].checks[0].http_get.retry, 3);
    assert.deepEqual(a.notes, []);
    const b = convert(rs(['SSL_GET {', '  url {', '    path /', '  }', '  nb_get_retry 3', '  retry 5', '}']));
    assert.equal(b.data.virtual_servers[0].real_servers[0].checks[0].ssl_get.retry, 5);
    assert.deepEqual(b.notes.map((u) => [u.line, u.keyword]), [[15, 'nb_get_retry']]);
  });

  it('on a real server or a virtual server it is no keyword either', () => {
    const { data, notes } = convert([
      ...instance('VI_1', []),
      'virtual_server 192.0.2.100 80 {', '  protocol TCP', '  nb_get_retry 2',
      '  real_server 198.51.100.11 80 {', '    nb_get_retry 2', '    MISC_CHECK {', '      misc_path /usr/local/bin/chk', '      nb_get_retry 2', '    }', '  }', '}',
    ]);
    assert.equal(data.virtual_servers[0].retry, undefined);
    assert.equal(data.virtual_servers[0].real_servers[0].retry, undefined);
    assert.equal(data.virtual_servers[0].real_servers[0].checks[0].misc_check.retry, undefined);
    assert.deepEqual(notes.map((u) => u.line), [10, 12, 15]);
  });
});

describe('a virtual_server with no protocol is UDP (check_data.c validate_check_config)', () => {
  it('converted as protocol: UDP with a note, not tandem\'s default TCP', () => {
    const { data, notes, yaml } = convert([
      ...instance('VI_1', []),
      'virtual_server 192.0.2.100 53 {',
      '  real_server 198.51.100.11 53 {',
      '  }',
      '}',
    ]);
    assert.equal(data.virtual_servers[0].protocol, 'UDP');
    assert.match(yaml, /port: 53\n {4}protocol: UDP\n/);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword, u.kind]), [[8, 'virtual_server', 'changed']]);
    assert.match(notes[0]!.reason, /no protocol set - defaulting to UDP/);
  });

  it('an unknown protocol is ignored by keepalived, so the service is UDP too; lower case is fine (strcasecmp)', () => {
    const a = convert([...instance('VI_1', []), 'virtual_server 192.0.2.100 80 {', '  protocol HTTP', '  real_server 198.51.100.11 80 {', '  }', '}']);
    assert.equal(a.data.virtual_servers[0].protocol, 'UDP');
    assert.deepEqual(a.notes.map((u) => u.keyword), ['virtual_server', 'protocol']);
    const b = convert([...instance('VI_1', []), 'virtual_server 192.0.2.100 80 {', '  protocol tcp', '  real_server 198.51.100.11 80 {', '  }', '}']);
    assert.equal(b.data.virtual_servers[0].protocol, 'TCP');
    assert.deepEqual(b.notes, []);
  });

  it('a fwmark service has no protocol: nothing is added', () => {
    const { data, notes } = convert([...instance('VI_1', []), 'virtual_server fwmark 7 {', '  real_server 198.51.100.11 80 {', '  }', '}']);
    assert.equal(data.virtual_servers[0].protocol, undefined);
    assert.deepEqual(notes, []);
  });
});

describe('what keepalived drops with a warning, the import drops with a note', () => {
  it('a track_script naming no vrrp_script, and a repeated one (vrrp_track.c alloc_track_script)', () => {
    const { data, notes } = convert([
      'vrrp_script chk_a {', '  script /usr/local/bin/a', '}',
      ...instance('VI_1', ['track_script {', '  chk_a', '  chk_missing', '}', 'track_script {', '  chk_a weight 10', '}']),
    ]);
    assert.deepEqual(data.vrrp_instances[0].track_scripts, ['chk_a']);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword]), [[9, 'track_script'], [12, 'track_script']]);
    assert.match(notes[0]!.reason, /chk_missing: no vrrp_script is named so: keepalived ignores the entry \(vrrp_track\.c alloc_track_script: "track script chk_missing not found, ignoring\.\.\."\)/);
    assert.match(notes[1]!.reason, /duplicate track_script chk_a - ignoring/);
  });

  it('a vrrp_script without a script is removed by keepalived, so tracking it is a missing script too', () => {
    const { data, notes } = convert([
      'vrrp_script chk_a {', '  interval 2', '}',
      ...instance('VI_1', ['track_script {', '  chk_a', '}']),
    ]);
    assert.equal(data.vrrp_scripts, undefined);
    assert.deepEqual(data.vrrp_instances[0].track_scripts, []);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword]), [[1, 'vrrp_script'], [8, 'track_script']]);
  });

  it('track_file and track_process entries naming nothing are dropped the same way', () => {
    const { data, notes } = convert(instance('VI_1', ['track_file {', '  nofile', '}', 'track_process {', '  noproc', '}']));
    assert.deepEqual([data.vrrp_instances[0].track_files, data.vrrp_instances[0].track_processes], [[], []]);
    assert.deepEqual(notes.map((u) => u.keyword), ['track_file', 'track_process']);
  });

  it('a sync group with no members, or none that exist, is removed; missing members are left out', () => {
    const { data, notes } = convert([
      ...instance('VI_1', []), ...instance('VI_2', [], 52, '192.0.2.101/24'), ...instance('VI_3', [], 53, '192.0.2.102/24'),
      'vrrp_sync_group G_EMPTY {', '  group {', '  }', '}',
      'vrrp_sync_group G_NOGROUP {', '  notify_master /usr/local/bin/m', '}',
      'vrrp_sync_group G_GHOSTS {', '  group {', '    VI_X', '  }', '}',
      'vrrp_sync_group G_REAL {', '  group {', '    VI_1', '    VI_2', '    VI_Y', '    VI_3', '  }', '}',
    ]);
    assert.deepEqual(data.vrrp_sync_groups, [{ name: 'G_REAL', group: ['VI_1', 'VI_2', 'VI_3'] }]);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword]), [[22, 'vrrp_sync_group'], [26, 'vrrp_sync_group'], [29, 'vrrp_sync_group'], [31, 'group'], [38, 'group']]);
    assert.match(notes[4]!.reason, /Virtual router VI_Y specified in sync group G_REAL doesn't exist - ignoring/);
  });

  it('an instance in two sync groups stays in the first (vrrp_sync_set_group)', () => {
    const { data, notes } = convert([
      ...instance('VI_1', []), ...instance('VI_2', [], 52, '192.0.2.101/24'), ...instance('VI_3', [], 53, '192.0.2.102/24'),
      'vrrp_sync_group G1 {', '  group {', '    VI_1 VI_2', '  }', '}',
      'vrrp_sync_group G2 {', '  group {', '    VI_2', '    VI_3', '    VI_1', '  }', '}',
    ], { check: false }); // G2 keeps one member: a warning of tandem check since issue 13 §2, an error before
    assert.deepEqual(data.vrrp_sync_groups.map((g: any) => g.group), [['VI_1', 'VI_2'], ['VI_3']]);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword]), [[29, 'group'], [31, 'group']]);
    assert.match(notes[0]!.reason, /cannot exist in more than one sync group; ignoring G2/);
  });

  it('a virtual_server with no real_server is ignored by keepalived (check_data.c validate_check_config)', () => {
    const { data, notes } = convert([
      ...instance('VI_1', []),
      'virtual_server 192.0.2.100 80 {', '  protocol TCP', '  sorry_server 198.51.100.99 80', '}',
      'virtual_server 192.0.2.100 443 {', '  protocol TCP', '  real_server 198.51.100.11 443 {', '  }', '}',
    ]);
    assert.deepEqual(data.virtual_servers.map((v: any) => v.port), [443]);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword]), [[8, 'virtual_server']]);
    assert.match(notes[0]!.reason, /has no real servers - ignoring/);
  });
});

describe('conditional lines (@ID, @^ID) read for the config id (lib/parser.c read_line, core/main.c)', () => {
  const file = () => {
    writeFileSync(join(dir, 'inc-lb1.conf'), instance('VI_INC', [], 60, '192.0.2.160/24').join('\n') + '\n');
    return [
      'global_defs {',
      '  @lb1 router_id lb-one',
      '  @^lb1 router_id not-one',
      '  @lb2',
      '  @lb1# a comment router_id never',
      '}',
      `@lb1 include ${join(dir, 'inc-lb1.conf')}`,
      'vrrp_instance VI_1 {',
      '  interface eth0',
      '  virtual_router_id 51',
      '  @lb1 priority 150',
      '  @lb2 priority 100',
      '  virtual_ipaddress {',
      '    192.0.2.100/24',
      '    @lb2 192.0.2.102/24',
      '  }',
      '}',
    ];
  };

  it('--config-id lb1 reads the @lb1 lines and not the @^lb1 ones; @lb1 include includes; no note', () => {
    const { data, notes, yaml } = convert(file(), { configId: 'lb1' });
    assert.equal(data.global.router_id, 'lb-one');
    assert.deepEqual(data.vrrp_instances.map((i: any) => [i.name, i.priority]), [['VI_INC', undefined], ['VI_1', 150]]);
    assert.deepEqual(data.vrrp_instances[1].virtual_ipaddresses, ['192.0.2.100/24']);
    assert.deepEqual(notes, []);
    assert.match(yaml, /^# Conditional lines \(@ID, @\^ID\) read for config id lb1\.$/m);
  });

  it('--config-id lb2 reads the others: a line with only the id, or an id running into a comment, is nothing', () => {
    const { data, notes } = convert(file(), { configId: 'lb2' });
    assert.equal(data.global.router_id, 'not-one');
    assert.deepEqual(data.vrrp_instances.map((i: any) => [i.name, i.priority]), [['VI_1', 100]]);
    assert.deepEqual(data.vrrp_instances[0].virtual_ipaddresses, ['192.0.2.100/24', '192.0.2.102/24']);
    assert.deepEqual(notes, []);
  });

  it('the id is compared whole (lb10 is not lb1)', () => {
    const { data } = convert(file(), { configId: 'lb10' });
    assert.equal(data.global.router_id, 'not-one');
    assert.equal(data.vrrp_instances[0].priority, undefined);
  });

  it('without --config-id: this host\'s name up to its first dot, as keepalived defaults, and a note that says so', () => {
    const id = defaultConfigId();
    assert.ok(id.length > 0 && !id.includes('.'));
    const { data, notes } = convert(instance('VI_1', [`@${id} priority 150`, `@^${id} priority 90`]));
    assert.equal(data.vrrp_instances[0].priority, 150);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword, u.kind]), [[4, 'config id', 'changed']]);
    assert.match(notes[0]!.reason, new RegExp(`read for config id "${id}", this host's name up to its first dot, as keepalived defaults \\(core/main\\.c\\); give --config-id`));
  });

  it('a file without conditional lines gets no such note', () => {
    assert.deepEqual(convert(instance('VI_1', [])).notes, []);
  });
});

describe('virtual_server_group: the virtual servers it stands for (check_data.c alloc_vsg_entry, ipvswrapper.c ipvs_group_range_cmd)', () => {
  const body = (lines: string[]) => [
    ...instance('VI_1', []),
    ...lines,
    'virtual_server group G1 {',
    '  protocol TCP',
    '  lb_algo rr',
    '  real_server 198.51.100.11 80 {',
    '    TCP_CHECK {',
    '      connect_timeout 2',
    '    }',
    '  }',
    '}',
  ];
  /** What tandem runs from the conversion: each virtual service, as `ipvsadm -Ln` names it. */
  const services = (c: Converted) => c.model!.virtualServers.map((v) => `${v.key}${v.group ? ` <${v.group}>` : ''}`);

  it('a range `192.0.2.10-12 80` is the group\'s entry, and the block one virtual server naming the group: tandem runs three services with its settings', () => {
    const c = convert(body(['virtual_server_group G1 {', '  192.0.2.10-12 80', '}']));
    assert.deepEqual(c.data.virtual_server_groups, [{ name: 'G1', members: ['192.0.2.10-12 80'] }]);
    assert.equal(c.data.virtual_servers.length, 1);
    assert.equal(c.data.virtual_servers[0].group, 'G1');
    assert.equal(c.data.virtual_servers[0].address, undefined);
    assert.deepEqual(services(c), ['TCP 192.0.2.10:80 <G1>', 'TCP 192.0.2.11:80 <G1>', 'TCP 192.0.2.12:80 <G1>']);
    assert.deepEqual(c.model!.virtualServers.map((v) => [v.service.scheduler, v.realServers[0]!.dest.address, v.realServers[0]!.checks[0]!.timeoutMs]),
      [['rr', '198.51.100.11', 2000], ['rr', '198.51.100.11', 2000], ['rr', '198.51.100.11', 2000]]);
    assert.deepEqual(c.notes, []);
  });

  it('whole-address ranges, networks, single addresses, IPv6 ranges in hex, and fwmarks', () => {
    const c = convert([
      ...instance('VI_1', []),
      'virtual_server_group G4 {', '  192.0.2.20-192.0.2.21 443', '  192.0.2.32/31 443', '  192.0.2.50 8443', '  fwmark 7', '}',
      'virtual_server group G4 {', '  protocol TCP', '  real_server 198.51.100.11 443 {', '  }', '}',
      'virtual_server_group G6 {', '  2001:db8::a-c 443', '  fwmark 9 inet6', '}',
      'virtual_server group G6 {', '  protocol TCP', '  real_server 2001:db8:1::11 443 {', '  }', '}',
    ]);
    assert.deepEqual(services(c), [
      'TCP 192.0.2.20:443 <G4>', 'TCP 192.0.2.21:443 <G4>', 'TCP 192.0.2.32:443 <G4>', 'TCP 192.0.2.33:443 <G4>', 'TCP 192.0.2.50:8443 <G4>', 'FWM 7 <G4>',
      'TCP [2001:db8::a]:443 <G6>', 'TCP [2001:db8::b]:443 <G6>', 'TCP [2001:db8::c]:443 <G6>', 'FWM 9 IPv6 <G6>',
    ]);
  });

  it('entries keepalived skips (range end not above its start, host bits, no port) are noted and left out', () => {
    const c = convert(body(['virtual_server_group G1 {', '  192.0.2.60-50 80', '  192.0.2.33/30 80', '  192.0.2.70', '  192.0.2.80 80', '}']));
    assert.deepEqual(c.data.virtual_server_groups[0].members, ['192.0.2.80 80']);
    assert.deepEqual(services(c), ['TCP 192.0.2.80:80 <G1>']);
    assert.deepEqual(c.notes.map((u) => [u.line, u.keyword]), [[9, '192.0.2.60-50'], [10, '192.0.2.33/30'], [11, '192.0.2.70']]);
    assert.match(c.notes[0]!.reason, /the range end is not greater than its start: keepalived skips the entry/);
    assert.match(c.notes[2]!.reason, /no port: keepalived makes it a service of every port/);
  });

  it('a range end with characters after the number: keepalived reads the number (inet_stor), and so does the conversion', () => {
    const c = convert(body(['virtual_server_group G1 {', '  192.0.2.10-11x 80', '}']));
    assert.deepEqual(c.data.virtual_server_groups[0].members, ['192.0.2.10-11 80']);
    assert.deepEqual(services(c), ['TCP 192.0.2.10:80 <G1>', 'TCP 192.0.2.11:80 <G1>']);
    assert.match(c.notes[0]!.reason, /extra characters "x" after the range end and reads it as 11/);
  });

  it('DR with a real server port that differs from an entry\'s: no port (the kernel uses each service\'s), checks keep probing it', () => {
    const c = convert([
      ...instance('VI_1', []),
      'virtual_server_group G1 {', '  192.0.2.10 80', '  192.0.2.10 8080', '}',
      'virtual_server group G1 {', '  protocol TCP', '  lb_kind DR',
      '  real_server 198.51.100.11 80 {', '    TCP_CHECK {', '    }', '  }', '}',
    ]);
    assert.deepEqual(c.data.virtual_servers[0].real_servers[0], { address: '198.51.100.11', checks: [{ tcp_check: { connect_port: 80 } }] });
    assert.deepEqual(c.model!.virtualServers.map((v) => [v.key, v.realServers[0]!.dest.port, v.realServers[0]!.checks[0]!.connectPort]),
      [['TCP 192.0.2.10:80', 80, 80], ['TCP 192.0.2.10:8080', 8080, 80]]);
    assert.deepEqual(c.notes.map((u) => [u.line, u.keyword]), [[12, 'virtual_server']]);
    assert.match(c.notes[0]!.reason, /ports don't match/);
  });

  it('a group with no protocol is UDP for its addresses; an unknown group, or one with no entries, is noted', () => {
    const a = convert([...instance('VI_1', []), 'virtual_server_group G1 {', '  192.0.2.10 53', '}', 'virtual_server group G1 {', '  real_server 198.51.100.11 53 {', '  }', '}']);
    assert.equal(a.data.virtual_servers[0].protocol, 'UDP');
    assert.deepEqual(services(a), ['UDP 192.0.2.10:53 <G1>']);
    const b = convert([...instance('VI_1', []), 'virtual_server_group G0 {', '}', 'virtual_server group G0 {', '  protocol TCP', '  real_server 198.51.100.11 53 {', '  }', '}', 'virtual_server group NOPE {', '  protocol TCP', '}']);
    assert.equal(b.data.virtual_servers, undefined);
    assert.equal(b.data.virtual_server_groups, undefined);
    assert.deepEqual(b.notes.map((u) => [u.line, u.keyword]), [[8, 'virtual_server_group'], [10, 'virtual_server'], [15, 'virtual_server']]);
    assert.match(b.notes[0]!.reason, /has no entries - removing/);
  });

  it('two blocks naming one group: the group is written once', () => {
    const c = convert([...instance('VI_1', []), 'virtual_server_group G1 {', '  192.0.2.10 80', '}',
      'virtual_server group G1 {', '  protocol TCP', '  real_server 198.51.100.11 80 {', '  }', '}',
      'virtual_server group G1 {', '  protocol UDP', '  real_server 198.51.100.11 80 {', '  }', '}']);
    assert.equal(c.data.virtual_server_groups.length, 1);
    assert.deepEqual(services(c), ['TCP 192.0.2.10:80 <G1>', 'UDP 192.0.2.10:80 <G1>']);
  });

  it('a group standing for more than 1024 services is noted, not expanded', () => {
    const { data, notes } = convert([...instance('VI_1', []), 'virtual_server_group G1 {', '  2001:db8::/64 80', '}', 'virtual_server group G1 {', '  protocol TCP', '  real_server 2001:db8:1::11 80 {', '  }', '}']);
    assert.equal(data.virtual_servers, undefined);
    assert.match(notes[0]!.reason, /more than 1024 virtual servers/);
  });
});

describe('SMTP_CHECK host { } blocks: each its own checker (check_smtp.c smtp_check_end_handler, 2.2.7 -d dump)', () => {
  const smtp = (lines: string[]) => convert([
    ...instance('VI_1', []),
    'virtual_server 192.0.2.100 25 {', '  protocol TCP', '  real_server 198.51.100.1 25 {', '    SMTP_CHECK {',
    ...lines.map((l) => `      ${l}`),
    '    }', '  }', '}',
  ]);

  it('the SMTP_CHECK\'s own connection and two hosts: three checks sharing helo_name and retry', () => {
    const { data, notes } = smtp([
      'helo_name lb1.example.com', 'connect_timeout 5', 'retry 2',
      'host {', '  connect_ip 198.51.100.1', '  connect_port 25', '  connect_timeout 3', '}',
      'host {', '  connect_ip 198.51.100.2', '  connect_port 587', '  bindto 192.0.2.1', '  connect_timeout 4', '}',
    ]);
    assert.deepEqual(data.virtual_servers[0].real_servers[0].checks, [
      { smtp_check: { helo_name: 'lb1.example.com', connect_timeout: 5, retry: 2 } },
      { smtp_check: { connect_ip: '198.51.100.1', connect_port: 25, connect_timeout: 3, helo_name: 'lb1.example.com', retry: 2 } },
      { smtp_check: { connect_ip: '198.51.100.2', connect_port: 587, bindto: '192.0.2.1', connect_timeout: 4, helo_name: 'lb1.example.com', retry: 2 } },
    ]);
    assert.deepEqual(notes, []);
  });

  it('hosts only: the hosts are the checks (no check of the real server\'s own address); helo_name after them still applies', () => {
    const { data } = smtp(['host {', '  connect_ip 198.51.100.3', '  connect_port 2525', '  connect_timeout 7', '}', 'helo_name late.example.com']);
    assert.deepEqual(data.virtual_servers[0].real_servers[0].checks, [
      { smtp_check: { connect_ip: '198.51.100.3', connect_port: 2525, connect_timeout: 7, helo_name: 'late.example.com' } },
    ]);
  });

  it('a host takes nothing of the SMTP_CHECK\'s connection; without its own connect_timeout keepalived runs it with 0 (noted)', () => {
    const { data, notes } = smtp(['connect_port 2526', 'host {', '  connect_ip 198.51.100.3', '}']);
    assert.deepEqual(data.virtual_servers[0].real_servers[0].checks, [
      { smtp_check: { connect_port: 2526 } },
      { smtp_check: { connect_ip: '198.51.100.3' } },
    ]);
    assert.deepEqual(notes.map((u) => [u.line, u.keyword, u.kind]), [[13, 'host', 'changed']]);
    assert.match(notes[0]!.reason, /Timeout = 0\.000000/);
  });
});

describe('a keepalived.conf with virtual servers means IPVS: backend: ipvs', () => {
  const dr = [
    ...instance('VI_1', []),
    'virtual_server 192.0.2.100 80 {', '  protocol TCP', '  lb_kind DR', '  lb_algo wlc',
    '  real_server 198.51.100.11 80 {', '  }', '}',
  ];

  it('the output says backend: ipvs, so check judges it as the director runs it, not as this machine would', () => {
    const { data, yaml } = convert(dr);
    assert.equal(data.global.backend, 'ipvs');
    const loaded = loadConfigText(yaml, 'x.yaml', { hostname: 'h' });
    assert.ok(loaded.ok);
    assert.deepEqual(backendConfigErrors(loaded, 'nft'), [], 'not judged against nftables');
    // The same file with backend auto, on a machine whose kernel has no IPVS (nft), is refused:
    const auto = loadConfigText(yaml.replace(/^ {2}# keepalived programs.*\n {2}backend: ipvs\n/m, ''), 'x.yaml', { hostname: 'h' });
    assert.ok(auto.ok);
    assert.equal(auto.config.global.backend, 'auto');
    assert.match(backendConfigErrors(auto, 'nft').map((e) => e.message).join('\n'), /DR|nft backend/);
  });

  it('tandem check accepts the converted DR file on this machine (which has no IPVS)', () => {
    const file = join(dir, 'dr.yaml');
    writeFileSync(file, convert(dr).yaml);
    const r = spawnSync(process.execPath, [join(new URL('../../../', import.meta.url).pathname, 'bin/tandem'), 'check', '-f', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
  });

  it('no virtual servers: no backend key', () => {
    assert.equal(convert(instance('VI_1', [])).data.global, undefined);
  });
});

describe('virtual_routes, virtual_rules and the static_* blocks (vrrp_iproute.c alloc_route(), vrrp_iprule.c alloc_rule())', () => {
  const conf = [
    'vrrp_instance VI_1 {', '  interface eth0', '  virtual_router_id 1', '  virtual_ipaddress {', '    192.0.2.100/24', '  }',
    '  virtual_routes {', '    198.51.100.0/24 via 192.0.2.1 dev eth0 table 100', '    198.51.100.32/27 via 192.0.2.1 dev eth0 rtt 10', '  }',
    '  virtual_rules {', '    from 192.0.2.100 table 100', '    from 2001:db8::100 table 100', '  }', '}',
    'static_rules {', '  from 203.0.113.5 table 7', '}',
    'static_routes {', '  198.51.100.96/27 via 192.0.2.1 dev eth0', '}',
  ];

  it('lines tandem takes are kept as written; a rule without a preference gets keepalived\'s, counted in the file\'s order', () => {
    const c = convert(conf);
    const inst = c.data.vrrp_instances[0];
    assert.deepEqual(inst.virtual_routes, ['198.51.100.0/24 via 192.0.2.1 dev eth0 table 100']);
    // keepalived reads VI_1's rules first (16384 IPv4, 16384 IPv6), then static_rules (16383):
    // tandem's output has global first, so its own count would swap them.
    assert.deepEqual(inst.virtual_rules, ['from 192.0.2.100 table 100 priority 16384', 'from 2001:db8::100 table 100 priority 16384']);
    assert.deepEqual(c.data.global.static_rules, ['from 203.0.113.5 table 7 priority 16383']);
    assert.deepEqual(c.data.global.static_routes, ['198.51.100.96/27 via 192.0.2.1 dev eth0']);
    assert.deepEqual(c.model!.global.staticRules.map((r) => r.spec.priority), [16383]);
    assert.deepEqual(c.model!.vrrpInstances[0]!.virtualRules.map((r) => r.spec.priority), [16384, 16384]);
  });

  it('a line tandem\'s parser refuses is a note with its message, not a silent drop', () => {
    const c = convert(conf);
    const n = c.notes.find((x) => x.line === 9)!;
    assert.equal(n.kind, 'not-converted');
    assert.equal(n.keyword, 'virtual_routes');
    assert.match(n.reason, /^rtt: keepalived's route option is not supported by tandem .*: entry not converted$/);
    assert.deepEqual(c.where.filter((w) => w.startsWith('12 ') || w.startsWith('17 ')), ['12 virtual_rules changed', '17 static_rules changed']);
  });
});
