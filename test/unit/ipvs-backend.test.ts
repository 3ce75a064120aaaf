// The ipvsadm backend's process handling without a kernel: a stand-in `ipvsadm` script (written
// by the test) records the batch it gets and answers with scripted output, so argv, stdin,
// stderr pairing, exit statuses, timeouts and spawn failures are checked here; the real ipvsadm
// on a real IPVS kernel is test/kernel/ipvs-backend.test.ts. The host's real ipvsadm (no IPVS in
// this kernel) gives the "Protocol not available" case.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { IpvsadmBackend, IpvsBackendError, attributeRefusals } from '../../src/lb/ipvs/backend.js';
import { parseIpvsSave } from '../../src/lb/ipvs/parse.js';
import { renderOps } from '../../src/lb/ipvs/render.js';
import type { RealServer, VirtualService } from '../../src/config/lbModel.js';
import type { TableOp } from '../../src/lb/reconcile.js';

const dir = mkdtempSync(join(tmpdir(), `tandem-ipvsadm-fake-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fake ipvsadm: `-S -n` prints `save`; `-R` copies stdin to a file, prints `stderr`, exits `rc`. */
function fake(name: string, o: { save?: string; stderr?: string[]; rc?: number; sleep?: number }): { bin: string; batch: () => string; argv: () => string } {
  const bin = join(dir, name);
  const saveFile = join(dir, `${name}.save`);
  writeFileSync(saveFile, o.save ?? '');
  writeFileSync(bin, [
    '#!/bin/sh',
    `echo "$@" >> ${join(dir, `${name}.argv`)}`,
    o.sleep ? `sleep ${o.sleep}` : '',
    `if [ "$1" = "-S" ]; then cat ${saveFile}; exit 0; fi`,
    `cat > ${join(dir, `${name}.batch`)}`,
    ...(o.stderr ?? []).map((l) => `echo '${l}' >&2`),
    `exit ${o.rc ?? 0}`,
    '',
  ].join('\n'));
  chmodSync(bin, 0o755);
  return {
    bin,
    batch: () => readFileSync(join(dir, `${name}.batch`), 'utf8'),
    argv: () => readFileSync(join(dir, `${name}.argv`), 'utf8'),
  };
}

const svc = (address: string, scheduler = 'rr'): VirtualService =>
  ({ id: { kind: 'inet', family: 4, protocol: 'TCP', address, port: 80 }, scheduler, persistence: null, pe: null, ops: false, schedFlags: [] });
const rs = (n: number, weight = 1): RealServer => ({ family: 4, address: `198.51.100.${n}`, port: 80, forwarding: 'NAT', weight, tunnel: null });
const A = svc('192.0.2.10');

describe('ipvsadm backend: reading', () => {
  test('readTable runs `ipvsadm -S -n` and parses it; lines it cannot parse are reported, not fatal', async () => {
    const save = '-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 2\n-Z what is this\n';
    const f = fake('read', { save });
    const problems: string[] = [];
    const table = await new IpvsadmBackend({ ipvsadm: f.bin, onParseProblems: (p) => problems.push(...p.map((x) => x.text)) }).readTable();
    assert.equal(f.argv().trim(), '-S -n');
    assert.deepEqual(table, parseIpvsSave(save).table);
    assert.deepEqual(problems, ['-Z what is this']);
  });

  test('no IPVS in the kernel: a typed exit_status error with ipvsadm\'s message (the real ipvsadm on this host)', async () => {
    if (spawnSync('sh', ['-c', 'command -v ipvsadm']).status !== 0) throw new Error('ipvsadm is not installed (apt-get install ipvsadm)');
    await assert.rejects(new IpvsadmBackend().readTable(), (e: unknown) => {
      assert.ok(e instanceof IpvsBackendError);
      assert.equal(e.code, 'exit_status');
      assert.match(e.message, /Protocol not available/);
      return true;
    });
  });

  test('a missing binary is spawn_failed; a hung one is killed at the timeout', async () => {
    await assert.rejects(new IpvsadmBackend({ ipvsadm: join(dir, 'nope') }).readTable(),
      (e: unknown) => e instanceof IpvsBackendError && e.code === 'spawn_failed');
    const slow = fake('slow', { sleep: 10 });
    await assert.rejects(new IpvsadmBackend({ ipvsadm: slow.bin, timeoutMs: 200 }).apply([{ op: 'add_service', service: A, reason: 'missing' }]),
      (e: unknown) => e instanceof IpvsBackendError && e.code === 'timeout');
    // It started, and the rejection came before it got past its sleep (it writes the batch
    // file after it): the timeout, not the binary's exit, ended the call.
    assert.match(slow.argv(), /^-R/m);
    assert.equal(existsSync(join(dir, 'slow.batch')), false, 'rejected before the hung binary finished');
  });
});

describe('ipvsadm backend: applying', () => {
  const ops: TableOp[] = [
    { op: 'add_service', service: A, reason: 'missing' },
    { op: 'add_dest', service: A.id, dest: rs(1), reason: 'missing' },
    { op: 'edit_dest', service: A.id, dest: rs(2, 5), was: rs(2), reason: 'differs' },
    { op: 'delete_dest', service: A.id, dest: rs(3), reason: 'not_desired' },
  ];

  test('one `ipvsadm -R` whose stdin is exactly the rendered batch; exit 0 = all applied, no read back', async () => {
    const f = fake('ok', {});
    const r = await new IpvsadmBackend({ ipvsadm: f.bin }).apply(ops);
    assert.equal(f.argv().trim(), '-R');
    assert.equal(f.batch(), renderOps(ops));
    assert.deepEqual({ sent: r.sent, applied: r.applied, refused: r.refused, exit: r.exitStatus }, { sent: 4, applied: 4, refused: [], exit: 0 });
  });

  test('refusals: the table is read back and each refused op gets its message; nothing throws', async () => {
    // The kernel kept rs(2) at weight 1 (edit refused) and never had rs(3) (delete refused).
    const f = fake('refuse', {
      rc: 255, stderr: ['No such destination', 'No such destination'],
      save: '-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 1\n',
    });
    const r = await new IpvsadmBackend({ ipvsadm: f.bin }).apply(ops);
    assert.deepEqual(f.argv().trim().split('\n'), ['-R', '-S -n']);
    assert.equal(r.applied, 2);
    assert.deepEqual(r.refused.map((x) => [x.op.op, x.reason, x.message]), [
      ['edit_dest', 'kernel_refused', 'No such destination'],
      ['delete_dest', 'kernel_refused', 'No such destination'],
    ]);
    assert.deepEqual(r.stderrLines, ['No such destination', 'No such destination']);
  });

  test('an op render.ts refuses is never sent and is reported unrenderable', async () => {
    const f = fake('unrenderable', {});
    const bad: TableOp = { op: 'add_dest', service: A.id, dest: rs(9, -1), reason: 'missing' };
    const r = await new IpvsadmBackend({ ipvsadm: f.bin }).apply([ops[0]!, bad]);
    assert.equal(f.batch(), renderOps([ops[0]!]));
    assert.equal(r.sent, 1);
    assert.equal(r.applied, 1);
    assert.deepEqual(r.refused.map((x) => [x.op, x.reason]), [[bad, 'unrenderable']]);
  });

  test('no IPVS at all while applying is a backend error (rejects), not a refusal', async () => {
    if (spawnSync('sh', ['-c', 'command -v ipvsadm']).status !== 0) throw new Error('ipvsadm is not installed (apt-get install ipvsadm)');
    await assert.rejects(new IpvsadmBackend().apply(ops), (e: unknown) => e instanceof IpvsBackendError && e.code === 'exit_status');
  });
});

describe('attributeRefusals', () => {
  const after = parseIpvsSave('-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 1\n').table;
  test('a missing effect takes the next message; a successful delete takes none', () => {
    const r = attributeRefusals([
      { op: 'add_service', service: svc('192.0.2.11', 'twos'), reason: 'missing' },
      { op: 'delete_dest', service: A.id, dest: rs(3), reason: 'not_desired' },
      { op: 'add_dest', service: A.id, dest: rs(1), reason: 'missing' },
    ], after, ['Scheduler or persistence engine not found'], 255);
    assert.deepEqual(r.map((x) => [x.op.op, x.message]), [['add_service', 'Scheduler or persistence engine not found']]);
  });
  test('a batch stopped by an unparseable line (exit 2): the rest is not_applied', () => {
    const r = attributeRefusals([
      { op: 'add_dest', service: A.id, dest: rs(1), reason: 'missing' },
      { op: 'add_dest', service: A.id, dest: rs(4), reason: 'missing' },
    ], after, ['illegal real server address[:port] specified'], 2);
    assert.deepEqual(r.map((x) => [x.op.op, x.reason]), [['add_dest', 'not_applied']]);
  });
});
