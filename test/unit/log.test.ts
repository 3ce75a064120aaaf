import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, heldLines, RateLimitedLog } from '../../src/log.js';

describe('logging', () => {
  it('formats scope and level, with syslog priorities under journald', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l), journald: true }).child('vrrp[VI_1]');
    log.info('BACKUP -> MASTER');
    log.debug('hidden at info level');
    log.error('boom');
    assert.deepEqual(lines, ['<6>INFO  vrrp[VI_1]: BACKUP -> MASTER', '<3>ERROR vrrp[VI_1]: boom']);
  });
  it('rate-limits per key and reports how many were suppressed', () => {
    const lines: string[] = [];
    let now = 0;
    const rl = new RateLimitedLog(createLogger({ write: (l) => lines.push(l), journald: true }), () => now, 10_000);
    for (let i = 0; i < 100; i++) { now = i * 10; rl.warn('bad_ttl', 'dropped: bad_ttl'); }
    rl.warn('bad_auth', 'dropped: bad_auth');
    now = 10_000;
    rl.warn('bad_ttl', 'dropped: bad_ttl');
    assert.deepEqual(lines, [
      '<4>WARN  dropped: bad_ttl',
      '<4>WARN  dropped: bad_auth',
      '<4>WARN  dropped: bad_ttl (99 similar suppressed)',
    ]);
  });
});

describe('held lines (the daemon\'s log before its first adverts)', () => {
  it('keeps lines until release(), then writes them in order, and later lines straight through', () => {
    const out: string[] = [];
    let opened = 0;
    const h = heldLines(() => { opened++; return (l) => out.push(l); });
    const log = createLogger({ write: h.write, journald: true });
    log.info('starting');
    log.child('vrrp[VI_1]').warn('no peer yet');
    assert.deepEqual(out, [], 'nothing written before release()');
    assert.equal(opened, 0, 'the writer is not even built before release()');
    h.release();
    assert.deepEqual(out, ['<6>INFO  starting', '<4>WARN  vrrp[VI_1]: no peer yet']);
    log.error('later');
    assert.deepEqual(out.slice(2), ['<3>ERROR later']);
    h.release();
    assert.equal(opened, 1, 'release() twice opens the writer once');
    assert.equal(out.length, 3, 'and writes nothing twice');
  });
});

