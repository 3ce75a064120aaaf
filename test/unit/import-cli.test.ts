// `tandem import`'s exit codes and options (issue 13 §1): 0 converted without loss, 3 converted
// with notes (each file:line, on stderr and atop the YAML), --strict makes a note a failure (exit
// 3, no YAML written), 2 for bad input and wrong usage. Run through bin/tandem, as an operator
// runs it, and through runImport() for the stream contents.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runImport } from '../../src/config/import/cli.js';
import { loadConfigText } from '../../src/config/load.js';
import { scratchDir } from '../lib/scratch.js';

const root = new URL('../../../', import.meta.url).pathname;
const tandem = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin/tandem'), ...args], { encoding: 'utf8', cwd: root, timeout: 60_000 });

/** runImport with its stdout and stderr captured. */
function run(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) => new Writable({ write(chunk, _enc, cb) { f(String(chunk)); cb(); } });
  const code = runImport(args, sink((s) => { out += s; }), sink((s) => { err += s; }));
  return { code, out, err };
}

const LOSSLESS = [
  'vrrp_instance VI_1 {',
  '  interface eth0',
  '  virtual_router_id 51',
  '  priority 150',
  '  virtual_ipaddress {',
  '    192.0.2.100/24',
  '  }',
  '}',
  '',
].join('\n');

describe('tandem import: exit codes', () => {
  const scratch = scratchDir('tandem-import-cli-');
  const { write } = scratch;

  it('0: converted without loss; nothing on stderr, the YAML says every keyword was converted', () => {
    const p = write('lossless.conf', LOSSLESS);
    const r = tandem('import', p);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^# Every keyword was converted\.$/m);
    assert.ok(loadConfigText(r.stdout, 'x.yaml', { hostname: 'h' }).ok);
  });

  it('3: converted with notes; each note on stderr with file:line, a count, and the YAML still written', () => {
    const p = write('notes.conf', LOSSLESS.replace('  priority 150\n', '  priority 150\n  dont_track_primary\n') + 'linkbeat_interfaces {\n  eth0\n}\n');
    const r = tandem('import', p);
    assert.equal(r.status, 3, r.stderr);
    assert.deepEqual(r.stderr.split('\n'), [
      `not converted: ${p}:5: dont_track_primary: no tandem equivalent`,
      `not converted: ${p}:10: linkbeat_interfaces: no tandem equivalent: block not converted`,
      `${p}: 2 notes (listed above and at the top of the output)`,
      '',
    ]);
    assert.match(r.stdout, /^# Notes \(2\): /m);
    assert.match(r.stdout, new RegExp(`^# {3}${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5: dont_track_primary: no tandem equivalent$`, 'm'));
    assert.ok(loadConfigText(r.stdout, 'x.yaml', { hostname: 'h' }).ok);
  });

  it('--strict: a note is a failure: exit 3, the notes on stderr, no YAML on stdout', () => {
    const p = write('strict.conf', LOSSLESS.replace('  priority 150\n', '  priority 150\n  dont_track_primary\n'));
    const r = tandem('import', '--strict', p);
    assert.equal(r.status, 3);
    assert.equal(r.stdout, '');
    assert.deepEqual(r.stderr.split('\n'), [
      `not converted: ${p}:5: dont_track_primary: no tandem equivalent`,
      `${p}: 1 note: not converted (--strict: any note is a failure; listed above)`,
      '',
    ]);
    // Without notes --strict changes nothing.
    const clean = run(['--strict', write('strict-clean.conf', LOSSLESS)]);
    assert.equal(clean.code, 0);
    assert.equal(clean.err, '');
    assert.match(clean.out, /virtual_router_id: 51/);
  });

  it('a note that keepalived runs the file differently is "note:" on stderr and counts the same', () => {
    // keepalived truncates auth_pass to 8 characters (vrrp_parser.c vrrp_auth_pass_handler).
    const p = write('changed.conf', LOSSLESS.replace('  priority 150\n', '  priority 150\n  authentication {\n    auth_type PASS\n    auth_pass 0123456789\n  }\n'));
    const r = run([p]);
    assert.equal(r.code, 3);
    assert.match(r.err, new RegExp(`^note: ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:7: auth_pass: longer than 8 characters: cut to 8, as keepalived does$`, 'm'));
  });

  it('2: bad input (unreadable, invalid syntax) and wrong usage, with nothing on stdout', () => {
    const missing = tandem('import', join(scratch.dir, 'missing.conf'));
    assert.equal(missing.status, 2);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /missing\.conf:1: cannot read .*ENOENT/);
    const open = tandem('import', write('open.conf', 'vrrp_instance VI_1 {\n'));
    assert.equal(open.status, 2);
    assert.equal(open.stdout, '');
    for (const args of [[], ['a.conf', 'b.conf'], ['--no-such-option', 'a.conf']]) {
      const r = run(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.out, '');
      assert.match(r.err, /usage: tandem import /);
    }
  });

  it('--config-id ID picks the conditional lines: exit 0 without a note when it is given', () => {
    const p = write('cond.conf', LOSSLESS.replace('  priority 150\n', '  @lb1 priority 150\n  @lb2 priority 100\n'));
    const r = tandem('import', '--config-id', 'lb2', p);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /priority: 100/);
    assert.doesNotMatch(r.stdout, /priority: 150/);
  });

  it('-f FILE works as the file argument; --help prints the usage and exits 0', () => {
    const p = write('f.conf', LOSSLESS);
    assert.equal(run(['-f', p]).code, 0);
    const h = run(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.out, /^usage: tandem import /);
  });

  it('tandem --help documents the exit codes of import', () => {
    const r = tandem('--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /tandem import \[--config-id ID\] \[--strict\] KEEPALIVED_CONF/);
    assert.match(r.stdout, /exit 0\s+without loss, 3 with notes/);
  });
});
