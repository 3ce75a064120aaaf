// The status API and metrics (issue 5 §2) against a real `tandem run` in a lab namespace: the
// unix socket (mode 0600, removed at stop), `tandem status --json` and the table, Prometheus
// /metrics on the TCP listener inside the namespace, and `tandem status` without a daemon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { Lab, run, waitFor } from '../lib/netns.js';
import { TANDEM_BIN, Tandem } from '../lib/tandem.js';

const TIMEOUT = { timeout: 120_000 };

function tandemCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run([process.execPath, TANDEM_BIN, ...args], { allowFail: true, timeoutMs: 15_000 });
}

test('status socket, tandem status (json and table), /metrics, socket removed at stop', TIMEOUT, async () => {
  const lab = await Lab.create({ prefix: 'tC', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }] });
  let tandem: Tandem | undefined;
  try {
    const node = lab.node('lb1');
    const socketPath = lab.path('tandem.sock');
    tandem = await Tandem.start(lab, node, {
      routerId: 'lb1',
      instances: [{ name: 'VI_1', vrid: 61, version: 3, priority: 100, advertInt: 1, vips: ['192.0.2.100/24'] }],
      tandemTop: { global: { status_socket: socketPath, metrics_listen: '127.0.0.1:9650' } },
    });
    const ctx = () => `\n--- log ---\n${tandem!.tail()}`;
    // Alone on the link: MASTER after Master_Down_Interval (~3 s).
    await tandem.waitForState('VI_1', 'MASTER', 20_000);
    await waitFor(() => existsSync(socketPath), { timeoutMs: 10_000, what: `status socket ${socketPath}` })
      .catch((e: Error) => { throw new Error(e.message + ctx()); });
    const st = statSync(socketPath);
    assert.ok(st.isSocket(), `${socketPath} is not a socket`);
    assert.equal(st.mode & 0o777, 0o600, `socket mode ${(st.mode & 0o777).toString(8)}`);

    const json = await tandemCli(['status', '--socket', socketPath, '--json']);
    assert.equal(json.code, 0, json.stderr + ctx());
    const doc = JSON.parse(json.stdout) as {
      pid: number; instances: Array<{ name: string; state: string; effective_priority: number; last_transition: { from: string; to: string; reason: string; at: string } | null }>;
      rx: { accepted: number; drops: Record<string, number> }; alerts: unknown; trackers: unknown;
      event_loop?: { delay: { count: number; window_s: number } };
    };
    assert.equal(doc.pid, tandem.proc.pid);
    const vi = doc.instances.find((i) => i.name === 'VI_1');
    assert.ok(vi, json.stdout);
    assert.equal(vi.state, 'MASTER');
    assert.equal(vi.effective_priority, 100);
    assert.deepEqual(vi.last_transition && { from: vi.last_transition.from, to: vi.last_transition.to, reason: vi.last_transition.reason },
      { from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer' });
    assert.ok(Math.abs(Date.now() - Date.parse(vi.last_transition!.at)) < 60_000, vi.last_transition!.at);
    assert.equal(typeof doc.rx.drops.bad_ttl, 'number');
    assert.ok(doc.alerts && doc.trackers);
    assert.ok((doc.event_loop?.delay.count ?? 0) > 0, JSON.stringify(doc.event_loop));

    const tableOut = await tandemCli(['status', '--socket', socketPath]);
    assert.equal(tableOut.code, 0, tableOut.stderr + ctx());
    assert.match(tableOut.stdout, /^ {2}VI_1 +MASTER +100\/100 +61 +eth0 /m, tableOut.stdout);
    assert.match(tableOut.stdout, /BACKUP -> MASTER \(master_down_timer\)/, tableOut.stdout);
    assert.match(tableOut.stdout, /^event loop delay: p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms \(last [\d.]+ s\)$/m, tableOut.stdout);

    // /metrics on the TCP listener, from inside the daemon's namespace.
    const script = `require('http').get('http://127.0.0.1:9650/metrics', (r) => { let b = ''; r.on('data', (c) => b += c); ` +
      `r.on('end', () => { process.stdout.write(r.headers['content-type'] + '\\n' + b); }); }).on('error', (e) => { console.error(e.message); process.exit(3); });`;
    const m = await lab.exec(node, [process.execPath, '-e', script], { timeoutMs: 15_000 });
    const [contentType, ...body] = m.stdout.split('\n');
    assert.equal(contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const metrics = body.join('\n');
    assert.match(metrics, /^tandem_vrrp_state\{instance="VI_1",state="MASTER"\} 1$/m, metrics);
    assert.match(metrics, /^tandem_vrrp_state\{instance="VI_1",state="BACKUP"\} 0$/m);
    assert.match(metrics, /^tandem_vrrp_effective_priority\{instance="VI_1"\} 100$/m);
    assert.match(metrics, /^tandem_vrrp_transitions_total\{instance="VI_1"\} [1-9]\d*$/m);
    assert.match(metrics, /^process_resident_memory_bytes [1-9]\d*$/m);
    assert.match(metrics, /^process_open_fds [1-9]\d*$/m);
    // The daemon's own event loop is measured (api/loopDelay.ts): samples since start.
    assert.match(metrics, /^tandem_event_loop_delay_seconds_count [1-9]\d*$/m);
    assert.match(metrics, /^tandem_event_loop_delay_seconds\{quantile="0.99"\} [0-9.e-]+$/m);
    // /status is only on the 0600 socket, not on the TCP listener.
    const s404 = await lab.exec(node, [process.execPath, '-e',
      `require('http').get('http://127.0.0.1:9650/status', (r) => { console.log(r.statusCode); r.resume(); }).on('error', () => process.exit(3));`]);
    assert.equal(s404.stdout.trim(), '404');

    assert.equal(await tandem.stop(), 0, ctx());
    tandem = undefined;
    assert.ok(!existsSync(socketPath), `${socketPath} still exists after stop`);

    const none = await tandemCli(['status', '--socket', socketPath]);
    assert.equal(none.code, 1);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^tandem status: no status socket at .*tandem\.sock: is tandem running\?/);
  } finally {
    if (tandem?.running) await tandem.kill9();
    await lab.destroy();
  }
});

test('a stale socket file is replaced; a live one is left alone and VRRP still runs', TIMEOUT, async () => {
  const { createServer } = await import('node:net');
  const lab = await Lab.create({ prefix: 'tC', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }] });
  let tandem: Tandem | undefined;
  const squatter = createServer();
  try {
    const node = lab.node('lb1');
    const socketPath = lab.path('busy.sock');
    // Another process holds the socket: tandem must not take it over, and must still run VRRP.
    await new Promise<void>((resolve) => squatter.listen(socketPath, resolve));
    const spec = {
      routerId: 'lb1',
      instances: [{ name: 'VI_1', vrid: 62, version: 3 as const, priority: 100, advertInt: 1, vips: ['192.0.2.101/24'] }],
      tandemTop: { global: { status_socket: socketPath } },
    };
    tandem = await Tandem.start(lab, node, spec);
    await tandem.waitForState('VI_1', 'MASTER', 20_000);
    await waitFor(() => /another process listens on it/.test(tandem!.tail(60)), { timeoutMs: 10_000, what: 'the busy-socket log line' });
    assert.equal(await tandem.stop(), 0);
    tandem = undefined;
    assert.ok(existsSync(socketPath), 'tandem removed a socket it did not own');
    await new Promise<void>((resolve) => squatter.close(() => resolve()));

    // A stale socket file (nobody listens): what a SIGKILLed daemon leaves (closing a net.Server
    // would unlink it). tandem removes it and binds again.
    const stalePath = lab.path('stale.sock');
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stalePath)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(statSync(stalePath).isSocket(), 'no stale socket to test with');
    const refused = await tandemCli(['status', '--socket', stalePath]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^tandem status: nothing listens on .*stale\.sock: tandem is not running/);
    tandem = await Tandem.start(lab, node, { ...spec, tandemTop: { global: { status_socket: stalePath } } });
    await waitFor(async () => (await tandemCli(['status', '--socket', stalePath, '--json'])).code === 0, { timeoutMs: 10_000, what: 'status over the replaced stale socket' })
      .catch((e: Error) => { throw new Error(e.message + `\n${tandem!.tail()}`); });
    assert.equal(await tandem.stop(), 0);
    tandem = undefined;
    assert.ok(!existsSync(stalePath));
  } finally {
    if (tandem?.running) await tandem.kill9();
    squatter.close();
    await lab.destroy();
  }
});
