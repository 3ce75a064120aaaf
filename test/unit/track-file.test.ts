// track_file: keepalived's strtol(buf, NULL, 0) reading of the value, and a FileTracker on real
// files in a temp directory: written, replaced by rename, deleted, garbage, out of range, the
// directory removed and recreated (the poll re-arms the watch), and init_file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { FileTracker, parseTrackFileValue } from '../../src/track/fileTracker.js';

const quiet = createLogger({ write: () => undefined });

describe('parseTrackFileValue (strtol base 0, keepalived limits)', () => {
  const table: Array<[string, number | undefined]> = [
    ['5', 5], ['42\n', 42], ['  \t\n-7', -7], ['+3', 3], ['-0', 0],
    ['0x1f', 31], ['0X1F\n', 31], ['-0x10', -16], ['010', 8], ['08', 0], ['0x', 0], ['0xg', 0],
    ['12abc', 12], ['abc', 0], ['', 0], ['-', 0], [' + 4', 0], ['3 4', 3],
    ['2147483647', 2147483647], ['2147483648', 2147483648], ['2147483649', undefined],
    ['-2147483648', -2147483648], ['-2147483649', undefined],
    ['9223372036854775807', undefined], ['99999999999999999999999', undefined],
  ];
  for (const [text, want] of table) {
    it(`${JSON.stringify(text)} -> ${want}`, () => assert.equal(parseTrackFileValue(text), want));
  }
});

describe('FileTracker on real files', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tandem-trackfile-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A tracker with a slow poll, so changes must come through the directory watch. */
  function tracked(path: string, opts: { pollMs?: number; init?: { value: number; overwrite: boolean } } = {}) {
    const seen: number[] = [];
    const t = new FileTracker({ name: 'f', path, init: opts.init }, { log: quiet, onChange: (v) => seen.push(v), pollMs: opts.pollMs ?? 60_000 });
    return { t, seen };
  }
  async function until(cond: () => boolean, what: string, ms = 3000) {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cond(), `timed out waiting for ${what}`);
  }

  it('reads at start, then follows writes, rename-over, garbage and deletion through the watch', async () => {
    const path = join(dir, 'prio');
    writeFileSync(path, '5\n');
    const { t, seen } = tracked(path);
    try {
      t.start();
      assert.equal(t.current, 5, 'read synchronously at start');
      writeFileSync(path, '-20\n');
      await until(() => t.current === -20, 'the write');
      const tmp = join(dir, '.prio.tmp');
      writeFileSync(tmp, '0x10');
      renameSync(tmp, path); // how deploy tools replace files
      await until(() => t.current === 16, 'the rename-over');
      writeFileSync(path, 'not a number');
      await until(() => t.current === 0, 'garbage reads as 0');
      writeFileSync(path, '7');
      await until(() => t.current === 7, 'a new value');
      const readsBefore = t.snapshot().reads;
      writeFileSync(path, '99999999999'); // out of range: ignored, the last value stays
      await until(() => t.snapshot().reads > readsBefore, 'the file to be read again');
      assert.equal(t.current, 7);
      unlinkSync(path);
      await until(() => t.current === 0, 'a deleted file reads as 0');
      assert.deepEqual(seen, [-20, 16, 0, 7, 0], 'each change reported once, in order');
    } finally {
      t.stop();
    }
  });

  it('a missing file is 0 at start and is seen when it appears', async () => {
    const path = join(dir, 'later');
    const { t, seen } = tracked(path);
    try {
      t.start();
      assert.equal(t.current, 0);
      writeFileSync(path, '3');
      await until(() => t.current === 3, 'the new file');
      assert.deepEqual(seen, [3]);
    } finally {
      t.stop();
    }
  });

  it('the poll re-arms the watch after the directory is removed and recreated', async () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const path = join(sub, 'v');
    writeFileSync(path, '4');
    const { t } = tracked(path, { pollMs: 100 });
    try {
      t.start();
      assert.equal(t.current, 4);
      assert.equal(t.snapshot().watchesArmed, 1);
      rmSync(sub, { recursive: true });
      await until(() => t.current === 0, 'the value of a vanished file');
      mkdirSync(sub);
      writeFileSync(path, '9');
      await until(() => t.current === 9, 'the value in the recreated directory');
      await until(() => t.snapshot().watchesArmed === 2, `the poll to watch the new directory: ${JSON.stringify(t.snapshot())}`);
      assert.equal(t.snapshot().watchError, null);
      writeFileSync(path, '11');
      await until(() => t.current === 11, 'a write after the re-arm');
    } finally {
      t.stop();
    }
  });

  it('init_file creates a missing file, leaves an existing one, and rewrites it with overwrite', () => {
    const a = join(dir, 'init-a');
    const one = tracked(a, { init: { value: -30, overwrite: false } });
    one.t.start(); one.t.stop();
    assert.equal(readFileSync(a, 'utf8'), '-30\n');
    assert.equal(one.t.current, -30);

    writeFileSync(a, '12\n');
    const two = tracked(a, { init: { value: 0, overwrite: false } });
    two.t.start(); two.t.stop();
    assert.equal(readFileSync(a, 'utf8'), '12\n', 'not overwritten without overwrite');

    const three = tracked(a, { init: { value: 2, overwrite: true } });
    three.t.start(); three.t.stop();
    assert.equal(readFileSync(a, 'utf8'), '2\n');

    const four = tracked(a, { init: { value: 5, overwrite: true } });
    four.t.start({ reload: true }); four.t.stop();
    assert.equal(readFileSync(a, 'utf8'), '2\n', 'never overwritten on reload');

    const d = join(dir, 'a-directory');
    mkdirSync(d);
    const five = tracked(d, { init: { value: 1, overwrite: true } });
    five.t.start(); five.t.stop();
    assert.equal(five.t.current, 0, 'a directory is not a track file');
  });
});
