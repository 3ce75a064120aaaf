// The status API listeners under connection floods (issue 12 §3), against a real `tandem run` in
// a lab namespace, with metrics_listen on the namespace's own address and the flood coming from a
// second namespace over the bridge (listener-flood-client.ts):
//  1. the documented defaults are what the daemon uses: a connection that sends nothing or half
//     its headers is closed after headersTimeout (+ the check interval), an idle keep-alive after
//     keepAliveTimeout (+ Node's 1 s), and each is counted;
//  2. under a low open file limit (prlimit --nofile=64, caps 4 TCP / 2 unix), a flood of silent and
//     half-sent connections, reopened as fast as they are closed, keeps the daemon's descriptors
//     within its caps while `tandem status` answers, `tandem reload` applies, the state file is
//     rewritten and a Prometheus scrape still gets through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab, requireTools, run, sleep, waitFor, type LabNode } from '../lib/netns.js';
import { TANDEM_BIN, Tandem } from '../lib/tandem.js';
import type { DirectorSpec } from '../lib/director-spec.js';
import { connectionCaps, LISTENER_TIMEOUTS } from '../../src/api/listenerLimits.js';
import type { DaemonStatus } from '../../src/api/status.js';

const TIMEOUT = { timeout: 180_000 };
const CLIENT = fileURLToPath(new URL('./listener-flood-client.js', import.meta.url));
const LISTEN = { host: '192.0.2.1', port: 9650 };

function spec(socketPath: string, priority = 100): DirectorSpec {
  return {
    routerId: 'lb1',
    instances: [{ name: 'VI_1', vrid: 71, version: 3, priority, advertInt: 1, vips: ['192.0.2.100/24'] }],
    tandemTop: { global: { status_socket: socketPath, metrics_listen: `${LISTEN.host}:${LISTEN.port}` } },
  };
}

async function status(socketPath: string): Promise<{ code: number; doc: DaemonStatus | null; stderr: string }> {
  const r = await run([process.execPath, TANDEM_BIN, 'status', '--socket', socketPath, '--json'], { allowFail: true, timeoutMs: 15_000 });
  let doc: DaemonStatus | null = null;
  try { doc = r.code === 0 ? JSON.parse(r.stdout) as DaemonStatus : null; } catch { doc = null; }
  return { code: r.code, doc, stderr: r.stderr };
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** How many of the daemon's descriptors are TCP connections accepted on the metrics listener:
 *  the socket inodes of /proc/PID/net/tcp (the daemon's namespace) with local port LISTEN.port
 *  that are not the listening socket, matched against its fd links. */
function metricsConnectionFds(pid: number): number {
  const inodes = new Set<string>();
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    if (f.length < 10 || f[3] === '0A') continue;
    if (parseInt(f[1]!.split(':')[1]!, 16) === LISTEN.port) inodes.add(f[9]!);
  }
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

/** GET /metrics from the client namespace: status code and body, or the error. */
async function scrape(lab: Lab, client: LabNode): Promise<{ ok: boolean; body: string }> {
  const script = `const r = require('http').get({ host: ${JSON.stringify(LISTEN.host)}, port: ${LISTEN.port}, path: '/metrics', agent: false, timeout: 3000 }, (res) => {` +
    ` let b = ''; res.on('data', (c) => b += c); res.on('end', () => { process.stdout.write(res.statusCode + '\\n' + b); }); });` +
    ` r.on('timeout', () => r.destroy(new Error('timeout'))); r.on('error', (e) => { console.log('ERR ' + e.message); });`;
  const r = await lab.exec(client, [process.execPath, '-e', script], { allowFail: true, timeoutMs: 10_000 });
  const [first, ...rest] = r.stdout.split('\n');
  return { ok: first === '200', body: first === '200' ? rest.join('\n') : r.stdout.trim() };
}

interface Closed { kind: 'silent' | 'halfSent' | 'keepAlive'; lifetimeMs: number; gotResponse: boolean }

function parseClient(lines: string[]): { closed: Closed[]; done: Record<string, number> | null } {
  const closed: Closed[] = [];
  let done: Record<string, number> | null = null;
  for (const l of lines) {
    if (l.startsWith('DONE ')) done = JSON.parse(l.slice(5)) as Record<string, number>;
    else if (l.startsWith('{')) closed.push(JSON.parse(l) as Closed);
  }
  return { closed, done };
}

test('silent, half-sent and idle keep-alive connections are closed after the documented timeouts', TIMEOUT, async () => {
  const lab = await Lab.create({ prefix: 'tL', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }, { name: 'cl', ipv4: ['192.0.2.2/24'] }] });
  let tandem: Tandem | undefined;
  try {
    const socketPath = lab.path('tandem.sock');
    tandem = await Tandem.start(lab, lab.node('lb1'), spec(socketPath));
    await waitFor(async () => (await scrape(lab, lab.node('cl'))).ok, { timeoutMs: 10_000, what: 'the metrics listener' });
    const client = lab.spawn(lab.node('cl'), [process.execPath, CLIENT, JSON.stringify({
      ...LISTEN, silent: 2, halfSent: 2, keepAlive: 2, reconnect: false, maxMs: 30_000,
    })], { logPath: lab.path('client.log') });
    assert.ok(await client.waitExit(40_000), `the client did not finish:\n${client.tail()}`);
    const { closed, done } = parseClient(client.lines);
    assert.ok(done, client.tail());
    assert.equal(done.stillOpen, 0, `connections the daemon never closed: ${client.tail()}`);
    assert.equal(closed.length, 6, client.tail());
    const t = LISTENER_TIMEOUTS;
    // Slack for a loaded machine: the client's clock starts at its connect, the server's a little
    // later, and the close has to travel back.
    const slack = 1500;
    for (const c of closed) {
      if (c.kind === 'keepAlive') {
        assert.ok(c.gotResponse, JSON.stringify(c));
        // Node 20 adds a fixed 1 s to the keep-alive timeout of the socket.
        assert.ok(c.lifetimeMs >= t.keepAliveTimeoutMs && c.lifetimeMs <= t.keepAliveTimeoutMs + 1000 + slack, JSON.stringify(c));
      } else {
        assert.ok(c.lifetimeMs >= t.headersTimeoutMs - 100 && c.lifetimeMs <= t.headersTimeoutMs + t.checkIntervalMs + slack, JSON.stringify(c));
      }
    }
    console.log(`closed by the daemon after (ms): ${closed.map((c) => `${c.kind} ${c.lifetimeMs}`).join(', ')}`);
    const s = await status(socketPath);
    assert.equal(s.code, 0, s.stderr);
    const tcp = s.doc!.api!.tcp!;
    assert.equal(tcp.timed_out.request, 4, JSON.stringify(tcp));
    assert.ok(tcp.timed_out.idle >= 2, JSON.stringify(tcp));
    assert.equal(tcp.refused + tcp.evicted, 0, JSON.stringify(tcp));
    assert.equal(await tandem.stop(), 0);
    tandem = undefined;
  } finally {
    if (tandem?.running) await tandem.kill9();
    await lab.destroy();
  }
});

test('a flood held on the metrics listener under a low fd limit: fds stay within the caps; status, reload, the state file and a scrape keep working', TIMEOUT, async () => {
  requireTools('prlimit');
  const FD_LIMIT = 64;
  const caps = connectionCaps(FD_LIMIT);
  const lab = await Lab.create({ prefix: 'tL', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }, { name: 'cl', ipv4: ['192.0.2.2/24'] }] });
  let tandem: Tandem | undefined;
  try {
    const socketPath = lab.path('tandem.sock');
    tandem = await Tandem.start(lab, lab.node('lb1'), spec(socketPath), 'lb1', { wrap: ['prlimit', `--nofile=${FD_LIMIT}`, '--'] });
    const pid = tandem.proc.pid;
    await tandem.waitForState('VI_1', 'MASTER', 20_000);
    await waitFor(async () => (await scrape(lab, lab.node('cl'))).ok, { timeoutMs: 10_000, what: 'the metrics listener' });
    const before = await status(socketPath);
    assert.equal(before.code, 0, before.stderr);
    const api = before.doc!.api!;
    assert.deepEqual([api.open_file_limit, api.unix.max_connections, api.tcp?.max_connections], [FD_LIMIT, caps.unix, caps.tcp], JSON.stringify(api));
    await sleep(500); // the status connection above closes
    const baseline = openFds(pid);

    // The flood: more connections than the whole fd limit, each reopened 100 ms after it is closed.
    const stopFile = lab.path('flood.stop');
    const flood = lab.spawn(lab.node('cl'), [process.execPath, CLIENT, JSON.stringify({
      ...LISTEN, silent: 40, halfSent: 40, reconnect: true, gapMs: 100, stopFile, maxMs: 90_000, maxAttempts: 200_000, reportMax: 0,
    })], { logPath: lab.path('flood.log') });
    let maxFds = baseline;
    let maxConnections = 0;
    let samples = 0;
    const sampler = setInterval(() => {
      try {
        maxFds = Math.max(maxFds, openFds(pid));
        maxConnections = Math.max(maxConnections, metricsConnectionFds(pid));
        samples++;
      } catch { /* exited */ }
    }, 20);
    const problems: string[] = [];
    try {
      await sleep(2000);
      for (let i = 0; i < 3; i++) {
        const s = await status(socketPath);
        if (s.code !== 0 || s.doc?.instances[0]?.state !== 'MASTER') problems.push(`tandem status #${i + 1}: exit ${s.code} ${s.stderr.trim()}`);
      }
      tandem.writeConfig(spec(socketPath, 150));
      const r = await tandem.reload();
      if (r.code !== 0 || !/changed priority/.test(r.stdout)) problems.push(`tandem reload: exit ${r.code} ${r.stdout.trim()} ${r.stderr.trim()}`);
      // The state file is rewritten after the reload with the new priority.
      await waitFor(() => tandem!.instance('VI_1')?.priority === 150, { timeoutMs: 5000, what: 'priority 150 in the state file' })
        .catch((e: Error) => problems.push(`state file: ${e.message}`));
      let scraped = false;
      for (let i = 0; i < 5 && !scraped; i++) scraped = (await scrape(lab, lab.node('cl'))).ok;
      if (!scraped) problems.push('no /metrics scrape got through in 5 attempts');
    } finally {
      clearInterval(sampler);
      writeFileSync(stopFile, '');
      await flood.waitExit(10_000);
    }
    const { done } = parseClient(flood.lines);
    // The listener's connections never exceed its cap (+1: a new one is accepted before the one it
    // replaces is closed, in the same tick); the reload worker, the status connections and the
    // state file write took what they needed beside them, and the limit was never reached.
    if (maxConnections > caps.tcp + 1) problems.push(`the daemon held ${maxConnections} connections of the metrics listener (cap ${caps.tcp})`);
    if (maxFds >= FD_LIMIT) problems.push(`daemon fds reached the limit: ${maxFds} of ${FD_LIMIT} (baseline ${baseline})`);
    assert.deepEqual(problems, [], `${problems.join('\n')}\nflood: ${JSON.stringify(done)}\n--- log ---\n${tandem.tail(30)}`);
    assert.ok(done && done.attempts > 80 + caps.tcp, `the flood did not flood: ${JSON.stringify(done)}`);

    const after = await status(socketPath);
    assert.equal(after.code, 0, after.stderr);
    const tcp = after.doc!.api!.tcp!;
    assert.ok(tcp.evicted > 0 && tcp.accepted > 80, JSON.stringify(tcp));
    assert.ok(tcp.open <= caps.tcp, JSON.stringify(tcp));
    const m = await scrape(lab, lab.node('cl'));
    assert.ok(m.ok, m.body);
    assert.match(m.body, new RegExp(`^tandem_api_connections_evicted_total\\{listener="tcp"\\} ${tcp.evicted}$`, 'm'));
    assert.match(m.body, /^tandem_api_connections_max\{listener="tcp"\} 4$/m);
    assert.match(m.body, /^process_max_fds 64$/m);
    assert.ok(samples > 100, `only ${samples} fd samples`);
    console.log(`fd limit ${FD_LIMIT}: baseline ${baseline} fds, peak ${maxFds} during the flood (reload included), at most ${maxConnections} ` +
      `metrics connections held (${samples} samples); ${done.attempts} connections opened, ${tcp.evicted} evicted, ${tcp.refused} refused`);
    assert.equal(await tandem.stop(), 0);
    tandem = undefined;
  } finally {
    if (tandem?.running) await tandem.kill9();
    await lab.destroy();
  }
});
