// Type=notify readiness (issue 5 §3) against a real tandem in a network namespace, with a python3
// NOTIFY_SOCKET standing in for systemd (Node cannot bind AF_UNIX datagram sockets):
// READY=1 arrives once, after the state file shows the instance started; STATUS= follows the
// instance to MASTER; SIGTERM gives STOPPING=1 and exit 0. Plus the addon's sdNotify() on its
// own: path and abstract ('@') sockets, unset NOTIFY_SOCKET, and errors as errno codes.
import { test, describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, requireTools, waitFor } from '../lib/netns.js';
import { NotifyListener } from '../lib/sdNotifyListener.js';
import { REPO_ROOT, TANDEM_BIN, renderTandemConfig, requireTandemBuilt, type TandemStateFile } from '../lib/tandem.js';
import { nativeAddon, isSystemError } from '../../src/net/native.js';

const TIMEOUT = { timeout: 120_000 };

test('Type=notify: READY=1 after the instance is up, STATUS follows state, STOPPING=1 on SIGTERM', TIMEOUT, async () => {
  requireTools('python3');
  requireTandemBuilt();
  const lab = await Lab.create({ prefix: 'tS', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }] });
  let listener: NotifyListener | undefined;
  try {
    const node = lab.node('lb1');
    const statePath = lab.path('state.json');
    const configPath = lab.path('tandem.yaml');
    const advertInt = 1;
    writeFileSync(configPath, renderTandemConfig({
      routerId: 'lb1',
      instances: [{ name: 'VI_1', vrid: 51, version: 3, priority: 100, advertInt, vips: ['192.0.2.100/24'] }],
      tandemTop: { global: { status_socket: lab.path('tandem.sock') } },
    }));
    // A path socket: unlike abstract ones, it is reachable from the daemon's network namespace.
    listener = await NotifyListener.start(lab.path('notify.sock'), { statePath });
    const proc = lab.spawn(node, [process.execPath, TANDEM_BIN, 'run', '-f', configPath, '--state-file', statePath], {
      logPath: lab.path('tandem.log'), cwd: REPO_ROOT, env: { ...process.env, NOTIFY_SOCKET: listener.socketPath },
    });
    const ctx = () => `\n--- notify ---\n${listener!.messages.map((m) => m.raw).join('\n---\n')}\n--- log ---\n${proc.tail()}`;

    const ready = await listener.waitFor((m) => m.fields.READY === '1', 20_000, 'READY=1').catch((e: Error) => {
      throw new Error(e.message + ctx());
    });
    const readyMsg = listener.messages[ready]!;
    // What the daemon had written when the datagram arrived: this process, with the instance.
    assert.ok(readyMsg.stateAtArrival, `no state file when READY=1 arrived${ctx()}`);
    const st = JSON.parse(readyMsg.stateAtArrival) as TandemStateFile;
    assert.equal(st.pid, proc.pid);
    const vi = st.instances.find((i) => i.name === 'VI_1');
    assert.ok(vi && vi.state !== 'INIT', `state file at READY=1: ${readyMsg.stateAtArrival}`);
    assert.match(readyMsg.fields.STATUS ?? '', /^1 VRRP instance: 1 (BACKUP|MASTER)$/);
    assert.equal(listener.messages.filter((m) => 'READY' in m.fields).length, 1, `READY sent more than once${ctx()}`);
    assert.ok(listener.messages.slice(0, ready).every((m) => !('STOPPING' in m.fields)), ctx());

    // Alone on the link, the instance becomes MASTER after Master_Down_Interval (~3 s here).
    await listener.waitFor((m) => m.fields.STATUS === '1 VRRP instance: 1 MASTER', 20_000, 'STATUS MASTER')
      .catch((e: Error) => { throw new Error(e.message + ctx()); });

    // `systemctl reload` (SIGHUP): RELOADING=1 with MONOTONIC_USEC, the file is re-read (unchanged:
    // nothing to apply), then READY=1 again; the daemon keeps running as MASTER.
    const beforeHup = listener.messages.length;
    proc.signal('SIGHUP');
    const reloading = await listener.waitFor((m) => m.fields.RELOADING === '1', 10_000, 'RELOADING=1', beforeHup)
      .catch((e: Error) => { throw new Error(e.message + ctx()); });
    assert.match(listener.messages[reloading]!.fields.MONOTONIC_USEC ?? '', /^[1-9]\d*$/, ctx());
    const readyAgain = await listener.waitFor((m) => m.fields.READY === '1', 10_000, 'READY=1 after the reload', reloading)
      .catch((e: Error) => { throw new Error(e.message + ctx()); });
    assert.ok(readyAgain > reloading);
    await waitFor(() => /reloaded .* in [\d.]+ ms/.test(proc.tail(20)), { timeoutMs: 5000, what: 'the reload log line' })
      .catch((e: Error) => { throw new Error(e.message + ctx()); });
    assert.match(proc.tail(20), /no changes/, ctx());
    assert.ok(proc.running, `SIGHUP ended the daemon${ctx()}`);
    assert.equal(listener.messages.filter((m) => 'STOPPING' in m.fields).length, 0, `SIGHUP started a stop${ctx()}`);

    const beforeStop = listener.messages.length;
    proc.signal('SIGTERM');
    const stopping = await listener.waitFor((m) => m.fields.STOPPING === '1', 10_000, 'STOPPING=1', beforeStop)
      .catch((e: Error) => { throw new Error(e.message + ctx()); });
    assert.ok(stopping > ready);
    assert.ok(await proc.waitExit(15_000), `tandem did not exit after SIGTERM${ctx()}`);
    assert.equal(proc.exitCode, 0, ctx());
    assert.equal(listener.messages.filter((m) => 'READY' in m.fields).length, 2, `READY=1 at start and after the reload only${ctx()}`);
  } finally {
    listener?.close();
    await lab.destroy();
  }
});

describe('native sdNotify()', () => {
  let dir = '';
  const saved = process.env.NOTIFY_SOCKET;
  const listeners: NotifyListener[] = [];
  before(() => {
    requireTools('python3');
    dir = mkdtempSync(join(tmpdir(), 'tandem-sdnotify-'));
  });
  after(() => {
    for (const l of listeners) l.close();
    if (saved === undefined) delete process.env.NOTIFY_SOCKET; else process.env.NOTIFY_SOCKET = saved;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('returns false and sends nothing when NOTIFY_SOCKET is unset', () => {
    delete process.env.NOTIFY_SOCKET;
    assert.equal(nativeAddon().sdNotify('READY=1'), false);
  });

  it('sends one datagram to a path socket', TIMEOUT, async () => {
    const l = await NotifyListener.start(join(dir, 'notify.sock'));
    listeners.push(l);
    process.env.NOTIFY_SOCKET = l.socketPath;
    assert.equal(nativeAddon().sdNotify('READY=1\nSTATUS=path ok'), true);
    await l.waitFor((m) => m.raw === 'READY=1\nSTATUS=path ok', 5000, 'path datagram');
  });

  it("sends to an abstract socket ('@' prefix)", TIMEOUT, async () => {
    const l = await NotifyListener.start(`@tandem-test-${process.pid}-${Date.now()}`);
    listeners.push(l);
    process.env.NOTIFY_SOCKET = l.socketPath;
    assert.equal(nativeAddon().sdNotify('STATUS=abstract ok'), true);
    await l.waitFor((m) => m.raw === 'STATUS=abstract ok', 5000, 'abstract datagram');
  });

  it('throws errno errors: no listener (ENOENT), unusable address (EINVAL)', () => {
    process.env.NOTIFY_SOCKET = join(dir, 'nobody-listens.sock');
    assert.throws(() => nativeAddon().sdNotify('READY=1'), (e) => isSystemError(e, 'ENOENT'));
    process.env.NOTIFY_SOCKET = 'relative/path.sock';
    assert.throws(() => nativeAddon().sdNotify('READY=1'), (e) => isSystemError(e, 'EINVAL'));
    process.env.NOTIFY_SOCKET = `/${'x'.repeat(120)}`;
    assert.throws(() => nativeAddon().sdNotify('READY=1'), (e) => isSystemError(e, 'EINVAL'));
  });
});
