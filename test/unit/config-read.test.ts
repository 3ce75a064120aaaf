// Issue 13 §3: what cannot be a config is refused in one line that says why, with no made-up
// position and no echo of its bytes (a directory, an unreadable, binary, non-UTF-8, empty or
// too big file); YAML syntax errors are at their real line and column; "alias bomb?" only when
// aliases made the document too big. Needs root for the unreadable case (it runs a child as
// nobody), like the other tests here that chown.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { parseDocument, type Node } from 'yaml';
import { estimateNodes, expandAliases } from '../../src/config/nesting.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, loadConfigText } from '../../src/config/load.js';
import { formatConfigError } from '../../src/config/errors.js';
import { decodeConfigBytes, firstInvalidUtf8, MAX_CONFIG_BYTES } from '../../src/config/readText.js';

const REPO = new URL('../../../', import.meta.url).pathname;

/**
 * A copy of the built CLI (bin, dist, the addon, the runtime dependencies) under `dir`, which is
 * mode 0755: nobody must be able to load tandem for this test, and a checkout under a 0700
 * directory (`mktemp -d`) is out of its reach. Only the config file is then unreadable to it.
 */
function cliCopyForNobody(dir: string): string {
  const root = join(dir, 'cli');
  const deps = Object.keys((JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
  for (const p of ['package.json', 'bin', 'dist', 'build/Release/tandem_net.node', ...deps.map((d) => `node_modules/${d}`)]) {
    cpSync(join(REPO, p), join(root, p), { recursive: true });
  }
  // cpSync keeps modes: make every directory on the way traversable and every file readable.
  spawnSync('chmod', ['-R', 'a+rX', root]);
  return root;
}

/** The lines `loadConfigFile` refuses `path` with. */
function refusal(path: string): string[] {
  const r = loadConfigFile(path);
  assert.equal(r.ok, false, `${path} must be refused`);
  return r.ok ? [] : r.errors.map(formatConfigError);
}

describe('config files that cannot be a config', () => {
  let dir = '';
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tandem-read-')); chmodSync(dir, 0o755); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a directory, a missing file, a path through a file: one line each, no position', () => {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'plain'), 'x: 1\n');
    assert.deepEqual(refusal(join(dir, 'conf.d')), [`${join(dir, 'conf.d')}: is a directory, not a config file`]);
    assert.deepEqual(refusal(join(dir, 'nope.yaml')), [`${join(dir, 'nope.yaml')}: cannot read the file: no such file (ENOENT)`]);
    assert.deepEqual(refusal(join(dir, 'plain', 'x.yaml')),
      [`${join(dir, 'plain', 'x.yaml')}: cannot read the file: a component of the path is not a directory (ENOTDIR)`]);
  });

  it('a file tandem may not read: permission denied (checked as nobody through the CLI)', () => {
    assert.equal(process.geteuid?.(), 0, 'this test runs tandem check as nobody and needs root');
    const f = join(dir, 'secret.yaml');
    writeFileSync(f, 'vrrp_instances: []\n', { mode: 0o600 });
    const r = spawnSync(process.execPath, [join(cliCopyForNobody(dir), 'bin/tandem'), 'check', '-f', f], { encoding: 'utf8', uid: 65534, gid: 65534, cwd: '/' });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.equal(r.stderr, `${f}: cannot read the file: permission denied (EACCES)\n${f}: 1 error\n`);
  });

  it('a binary file: what it is, never its bytes', () => {
    const f = join(dir, 'tandem.bin');
    writeFileSync(f, Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01'), Buffer.alloc(9), Buffer.from('vrrp_instances: [x]\n'), Buffer.from([0xff, 0xfe, 0x00])]));
    assert.deepEqual(refusal(f), [`${f}: is not a text file (a NUL byte at offset 7): is this the config file?`]);
    const u16 = join(dir, 'utf16.yaml');
    writeFileSync(u16, Buffer.from('\ufeffglobal: {}\n', 'utf16le'));
    assert.deepEqual(refusal(u16), [`${u16}: is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8`]);
  });

  it('text that is not UTF-8: at the line and column of the first byte that is not', () => {
    const f = join(dir, 'latin1.yaml');
    // "café" written by a Latin-1 editor: é is the single byte 0xE9.
    writeFileSync(f, Buffer.concat([Buffer.from('global:\n  router_id: lb1\n  # caf'), Buffer.from([0xe9]), Buffer.from(' au lait\n')]));
    assert.deepEqual(refusal(f), [`${f}:3:8 is not UTF-8 text: byte 0xe9 here is not part of a UTF-8 character (a Latin-1 or Windows-1252 editor?); save the file as UTF-8`]);
    // UTF-8 itself, non-ASCII included, loads.
    const good = join(dir, 'utf8.yaml');
    writeFileSync(good, 'global:\n  router_id: lb1   # café 😀\nvrrp_instances: []\n');
    assert.equal(loadConfigFile(good).ok, true);
  });

  it('firstInvalidUtf8 follows RFC 3629: overlong forms, surrogates and code points above U+10FFFF are not UTF-8', () => {
    const at = (...bytes: number[]) => firstInvalidUtf8(Uint8Array.from(bytes));
    assert.equal(at(0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80), -1, 'a é € 😀');
    assert.equal(at(0x61, 0xc0, 0xaf), 1, 'overlong /');
    assert.equal(at(0xe0, 0x80, 0xaf), 0, 'overlong 3-byte');
    assert.equal(at(0xed, 0xa0, 0x80), 0, 'a UTF-16 surrogate');
    assert.equal(at(0xf4, 0x90, 0x80, 0x80), 0, 'above U+10FFFF');
    assert.equal(at(0x61, 0x62, 0xe2, 0x82), 2, 'cut short at the end');
    assert.equal(at(0x80), 0, 'a lone continuation byte');
    assert.equal(decodeConfigBytes(Uint8Array.from([0x61, 0x0a, 0x62]), 'f').ok, true);
  });

  it('a file above the limit is refused by its size, before it is read; a pipe or device once it passes the limit', () => {
    const f = join(dir, 'huge.yaml');
    writeFileSync(f, '');
    truncateSync(f, MAX_CONFIG_BYTES + 1); // sparse: nothing is written, nothing needs to be read
    assert.deepEqual(refusal(f), [`${f}: is 8 MiB: a config may be at most 8 MiB (10,000 real servers with two checks each take about 3.4 MB): refusing`]);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, '');
    truncateSync(big, 20 * 1024 * 1024);
    assert.match(refusal(big)[0]!, /: is 20 MiB: a config may be at most 8 MiB/);
    // /dev/zero never ends: it is read up to the limit and one byte, then refused.
    assert.deepEqual(refusal('/dev/zero'), ['/dev/zero: has more than 8 MiB: a config may be at most 8 MiB (10,000 real servers with two checks each take about 3.4 MB): refusing']);
    const exact = join(dir, 'exact.yaml');
    writeFileSync(exact, Buffer.concat([Buffer.from('vrrp_instances: []\n'), Buffer.alloc(MAX_CONFIG_BYTES - 19, '#')]));
    const atLimit = loadConfigFile(exact);
    assert.ok(atLimit.ok, `exactly the limit is read and loads: ${atLimit.ok ? '' : atLimit.errors.map(formatConfigError).join('\n')}`);
  });

  it('an empty file and a file of comments: about the file, no position', () => {
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '\n\n');
    assert.deepEqual(refusal(empty), [`${empty}: the file is empty`]);
    const comments = join(dir, 'comments.yaml');
    writeFileSync(comments, '# vrrp_instances:\n#   - name: VI_1\n');
    assert.deepEqual(refusal(comments), [`${comments}: the file has only comments: nothing to run`]);
  });
});

describe('YAML syntax errors are at their real line and column', () => {
  const syntax = (text: string) => {
    const r = loadConfigText(text, 'lb.yaml', { hostname: 'h' });
    assert.equal(r.ok, false);
    return r.ok ? [] : r.errors.map(formatConfigError);
  };
  it('an unclosed flow list, a tab indent, a bad escape, a second document: each where it is', () => {
    assert.deepEqual(syntax('global:\n  router_id: lb1\nvrrp_instances:\n  - name: [unclosed\n'), [
      'lb.yaml:5:1 YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    assert.deepEqual(syntax('global:\n\trouter_id: lb1\n'), [
      'lb.yaml:2:1 YAML syntax: Tabs are not allowed as indentation',
    ]);
    assert.deepEqual(syntax('global:\n  router_id: "lb\\q1"\n'), [
      'lb.yaml:2:17 YAML syntax: Invalid escape sequence \\q',
    ]);
    assert.deepEqual(syntax('global: {}\n---\nvrrp_instances: []\n'), [
      'lb.yaml:2:1 YAML syntax: a config is one YAML document; this is the start of a second one',
    ]);
  });
  it('no syntax error is reported at 1:1 unless it is there', () => {
    const lines = syntax(`global:\n  router_id: lb1\n${'  # padding\n'.repeat(30)}  x: [1, 2\n`);
    assert.ok(lines.length > 0);
    for (const l of lines) assert.doesNotMatch(l, /^lb\.yaml:1:1 /, l);
  });
});

describe('a document with too many nodes is refused before it is parsed', () => {
  it('estimated from the text: one line about the file, no position', () => {
    const r = loadConfigText(`vrrp_instances: [${Array(1500).fill('1').join(', ')}]\n`, 'lb.yaml', { hostname: 'h', maxNodes: 1000 });
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? [] : r.errors.map(formatConfigError), [
      'lb.yaml: has about 1503 YAML nodes (estimated from its text before parsing), more than the 1000 a config may have (10,000 real servers with two checks each take about 300,000): refusing',
    ]);
  });
  it('the estimate is close to the real count, and not lower, for the repository\'s configs and the fixtures\' conversions', () => {
    const files = [...readdirSync(join(REPO, 'conf')).map((f) => join(REPO, 'conf', f)),
      ...readdirSync(join(REPO, 'test/fixtures/keepalived/shapes')).filter((f) => f.endsWith('.yaml')).map((f) => join(REPO, 'test/fixtures/keepalived/shapes', f))]
      .filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length > 20);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const written = expandAliases(parseDocument(text).contents as Node).written;
      const estimate = estimateNodes(text);
      assert.ok(estimate >= written && estimate <= 2 * written, `${f}: estimate ${estimate}, nodes ${written}`);
    }
  });
});

describe('a document too big: the alias message only when aliases did it', () => {
  const nodes = (text: string) => {
    const r = loadConfigText(text, 'lb.yaml', { hostname: 'h', maxNodes: 1000 });
    assert.equal(r.ok, false);
    return r.ok ? [] : r.errors.map(formatConfigError);
  };
  it('the estimate cannot be fooled low: a # inside quotes does not hide the items after it', () => {
    const items = Array(1500).fill('1').join(', ');
    const r = loadConfigText(`x: ["a #", ${items}]\n`, 'lb.yaml', { hostname: 'h', maxNodes: 1000 });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : formatConfigError(r.errors[0]!), /^lb\.yaml: has about 150\d YAML nodes \(estimated from its text before parsing\)/);
    // Whole comment lines are skipped: a banner of dashes costs nothing.
    assert.equal(estimateNodes(`# ${'-'.repeat(5000)}\n  # ${':'.repeat(5000)}\nx: 1\n`), 3);
  });

  it('a small document whose aliases expand past the limit: an alias bomb', () => {
    const text = 'a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n';
    assert.deepEqual(nodes(text), [
      'lb.yaml:1:1 the document expands to more than 1000 nodes through YAML aliases (37 as written): refusing (alias bomb?)',
    ]);
  });
});
