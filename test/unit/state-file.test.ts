// The state file writer (issue 12 §3): written through a private temporary file, never through a
// name someone else could have planted, mode 0600, with warnings about a directory others can
// write; failures logged once, then rate-limited under an injected clock; only a file tandem
// could have written is trusted for lb.owned at the next start.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStateFileWriter, writeStateFile, directoryExposure, readOwnedServices, writeFileReplacing } from '../../src/daemon/stateFile.js';
import type { Logger } from '../../src/log.js';
import { ManualTimers } from '../lib/manualTimers.js';

interface Captured { log: Logger; lines: string[] }
function capture(): Captured {
  const lines: string[] = [];
  const log: Logger = {
    debug: () => undefined,
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARN ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
    child: () => log,
  };
  return { log, lines };
}

describe('state file', () => {
  let root = '';
  before(() => { root = mkdtempSync(join(tmpdir(), 'tandem-state-')); });
  after(() => { if (root) rmSync(root, { recursive: true, force: true }); });

  it('a symlink planted at the old temporary name and at the target in a 1777 directory: the victim is untouched', async () => {
    // The victim: a private file elsewhere (root-owned when the tests run as root).
    const safe = join(root, 'safe');
    mkdirSync(safe, { mode: 0o700 });
    const victim = join(safe, 'shadow');
    writeFileSync(victim, 'root:secret\n', { mode: 0o600 });
    const shared = join(root, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const target = join(shared, 'state.json');
    // Every name the old writer used (`<path>.<pid>.tmp`, this process's pid) and the target.
    const oldTmp = `${target}.${process.pid}.tmp`;
    symlinkSync(victim, oldTmp);
    symlinkSync(victim, target);

    const { log, lines } = capture();
    const w = createStateFileWriter(target, () => ({ pid: process.pid, hello: 'world' }), log, { timers: new ManualTimers(), write: writeStateFile });
    await w.flush();
    w.close();

    assert.equal(readFileSync(victim, 'utf8'), 'root:secret\n', 'the victim was overwritten');
    assert.equal(statSync(victim).mode & 0o7777, 0o600);
    const st = lstatSync(target);
    assert.ok(st.isFile(), 'the state file is not a regular file');
    assert.equal(st.mode & 0o7777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(target, 'utf8')), { pid: process.pid, hello: 'world' });
    // The planted link is left alone (not written through, not removed); no temporary file left.
    assert.equal(readlinkSync(oldTmp), victim);
    assert.deepEqual(readdirSync(shared).sort(), ['state.json', `state.json.${process.pid}.tmp`]);
    assert.equal(lines.filter((l) => l.startsWith('WARN')).length, 2, lines.join('\n'));
    assert.match(lines.join('\n'), /WARN state file .*state\.json: the directory .*shared is world-writable \(sticky\): other users can create names in it;/);
    assert.match(lines.join('\n'), /WARN state file .*state\.json: is a symbolic link; it will be replaced by a regular file/);
  });

  it('a private directory: no warning; the file is replaced whole, mode 0600 whatever the umask', async () => {
    const dir = join(root, 'private');
    mkdirSync(dir, { mode: 0o700 });
    const target = join(dir, 'state.json');
    writeFileSync(target, 'old', { mode: 0o644 });
    const { log, lines } = capture();
    let n = 0;
    const old = process.umask(0o000);
    try {
      const w = createStateFileWriter(target, () => ({ n: ++n }), log, { timers: new ManualTimers(), write: writeStateFile });
      await w.flush();
      await w.flush();
      w.close();
    } finally {
      process.umask(old);
    }
    assert.deepEqual(lines, []);
    assert.equal(statSync(target).mode & 0o7777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(target, 'utf8')), { n: 2 });
    assert.deepEqual(readdirSync(dir), ['state.json']);
  });

  it('a failed write removes its temporary file and leaves the target as it was', async () => {
    const dir = join(root, 'clash');
    mkdirSync(dir, { mode: 0o700 });
    // A directory where the file should be: rename(2) fails (EISDIR) after the file was written.
    const target = join(dir, 'state.json');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    await assert.rejects(writeFileReplacing(target, '{}\n', 0o600), /EISDIR|ENOTEMPTY|EEXIST/);
    assert.deepEqual(readdirSync(dir), ['state.json']);
    assert.deepEqual(readdirSync(target), ['keep']);
  });

  it('who else can write a directory: world, a non-root group, another owner; sticky or not', () => {
    const me = 1000;
    assert.equal(directoryExposure({ mode: 0o40755, uid: 0, gid: 0 }, me), null);
    assert.equal(directoryExposure({ mode: 0o40775, uid: 0, gid: 0 }, me), null);
    assert.equal(directoryExposure({ mode: 0o40700, uid: me, gid: me }, me), null);
    assert.equal(directoryExposure({ mode: 0o41777, uid: 0, gid: 0 }, me), 'is world-writable (sticky)');
    assert.equal(directoryExposure({ mode: 0o40777, uid: 0, gid: 0 }, me), 'is world-writable');
    assert.equal(directoryExposure({ mode: 0o40775, uid: 0, gid: 50 }, me), 'is writable by group 50');
    assert.equal(directoryExposure({ mode: 0o40755, uid: 33, gid: 33 }, me), 'is owned by uid 33');
  });

  it('a write that keeps failing (read-only directory): one warning, then one line per interval with the count', async () => {
    const { log, lines } = capture();
    let now = 0;
    let fail = true;
    const writes: string[] = [];
    // The directory exists and is private (no start-up warning); every write fails as on a
    // read-only mount (test/integration/state-file.test.ts has a real one).
    const dir = join(root, 'ro');
    mkdirSync(dir, { mode: 0o700 });
    const target = join(dir, 'state.json');
    const w = createStateFileWriter(target, () => ({ now }), log, {
      timers: Object.assign(new ManualTimers(), { now: () => now }),
      failureLogIntervalMs: 60_000,
      write: async (_p, data) => {
        if (fail) throw Object.assign(new Error(`EROFS: read-only file system, open '${dir}/.state.json.0123.tmp'`), { code: 'EROFS' });
        writes.push(data);
      },
    });
    for (let i = 0; i < 100; i++) { now = i * 500; await w.flush(); } // 0 .. 49.5 s
    assert.deepEqual(lines, [`WARN state file ${target}: EROFS: read-only file system, open '${dir}/.state.json.0123.tmp'`]);
    now = 60_000;
    await w.flush();
    assert.equal(lines.length, 2);
    assert.equal(lines[1], `${lines[0]} (99 similar suppressed)`);
    fail = false;
    now = 61_000;
    await w.flush();
    assert.equal(lines[2], `INFO state file ${target}: written again after 101 failed write(s)`);
    assert.equal(lines.length, 3);
    assert.deepEqual(writes.map((d) => JSON.parse(d) as unknown), [{ now: 61_000 }]);
    w.close();
  });

  it('one write at a time: flushes during a write share the next one, which takes the newest snapshot', async () => {
    const { log } = capture();
    let version = 0;
    const started: string[] = [];
    const pending: Array<() => void> = [];
    const w = createStateFileWriter(join(root, 'slow-state.json'), () => ({ version }), log, {
      timers: new ManualTimers(),
      write: (_p, data) => { started.push(data); return new Promise<void>((resolve) => pending.push(resolve)); },
    });
    version = 1;
    const first = w.flush();
    version = 2;
    const second = w.flush();
    version = 3;
    const third = w.flush();
    assert.equal(started.length, 1);
    pending.shift()!();
    await first;
    // The queued write starts once the first has ended, with the snapshot of then.
    await new Promise((r) => setImmediate(r));
    assert.equal(started.length, 2);
    pending.shift()!();
    await Promise.all([second, third]);
    assert.deepEqual(started.map((d) => (JSON.parse(d) as { version: number }).version), [1, 3]);
    w.close();
  });

  it('lb.owned is read only from a file tandem could have written', () => {
    const dir = join(root, 'owned');
    mkdirSync(dir, { mode: 0o700 });
    const doc = JSON.stringify({ lb: { owned: ['TCP 192.0.2.100:80'] } });
    const good = join(dir, 'good.json');
    writeFileSync(good, doc, { mode: 0o600 });
    const warnings: string[] = [];
    assert.deepEqual(readOwnedServices(good, (m) => warnings.push(m)), ['TCP 192.0.2.100:80']);
    assert.equal(warnings.length, 0, warnings.join('\n'));

    // Writable by others: anyone could have put a list of services there for tandem to delete.
    const open = join(dir, 'open.json');
    writeFileSync(open, doc);
    chmodSync(open, 0o666);
    assert.deepEqual(readOwnedServices(open, (m) => warnings.push(m)), []);
    assert.match(warnings.pop()!, /open\.json: writable by others \(mode 666\): not written by tandem, so its owned services \(lb\.owned\) are ignored/);

    // A link, even to a good file.
    const link = join(dir, 'link.json');
    symlinkSync(good, link);
    assert.deepEqual(readOwnedServices(link, (m) => warnings.push(m)), []);
    assert.match(warnings.pop()!, /link\.json: is a symbolic link: not written by tandem/);

    // No file: nothing to say.
    assert.deepEqual(readOwnedServices(join(dir, 'none.json'), (m) => warnings.push(m)), []);
    assert.equal(warnings.length, 0, warnings.join('\n'));
  });
});
