// Secrets never leave the daemon (issue 12 §2), end to end: a distinct marker secret is planted
// in every secret-bearing key (auth_pass, webhooks[].secret, webhook URL userinfo and query,
// smtp_server written as a URL) and every error path is triggered: `tandem check` and
// `tandem run` on each broken config (test/lib/secretCases.ts: wrong type, too long, pattern,
// duplicate key, YAML syntax errors on the secret's line ...), `tandem import` of a keepalived.conf
// with bad auth_pass lines, and a running daemon (state file, status socket, metrics_listen on its
// namespace address, a VRRPv2 auth_pass and two signed webhooks with credentials in their URLs,
// one at a closed port, one at a receiver that answers 500 quoting the credentials it got) that
// is refused a reload of each broken file (SIGHUP and `tandem reload`, text and --json) and then
// accepts one that changes every secret. Every output is kept, and no marker may appear in any
// of them: stdout/stderr of every command, the daemon's log, the state file, GET /status.json,
// / and /metrics on the TCP listener, GET /status and /metrics on the unix socket, `tandem
// status`. Each error path also has to show its key named (so the test proves it was taken).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { Lab, run, waitFor } from '../lib/netns.js';
import { TANDEM_BIN, Tandem } from '../lib/tandem.js';
import { configText, keepalivedWithBadAuthPass, SECRET_CASES, SECRET_WARNING_CASES, type BaseConfig } from '../lib/secretCases.js';

const TIMEOUT = { timeout: 400_000 };

// The running daemon's own secrets (in use, not broken): never shown either.
const LIVE = {
  authPass: 'Lv3Auth',
  closedPw: 'Lw1UrlPw', closedToken: 'Lw1Token', closedSecret: 'Lw1-live-webhook-secret',
  rxPw: 'Lw2UrlPw', rxPathToken: 'Lw2PathTok', rxToken: 'Lw2Token', rxSecret: 'Lw2-live-webhook-secret',
};
// What an accepted reload changes every secret to.
const NEXT = { authPass: 'Nw4Auth', rxPw: 'Nw6UrlPw', rxSecret: 'Nw5-next-webhook-secret' };

/** One output of tandem, kept for the final grep. */
interface Output { where: string; text: string }

function unixGet(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve(`HTTP ${res.statusCode}\n${body}`));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on ${socketPath}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

test('no output of tandem carries a planted secret: check, run, import, a daemon refused and granted reloads', TIMEOUT, async () => {
  const lab = await Lab.create({ prefix: 'tX', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }] });
  let tandem: Tandem | undefined;
  const outputs: Output[] = [];
  const keep = (where: string, text: string) => { outputs.push({ where, text }); return text; };
  // Each error path is checked twice: at once that it was taken (`taken`: true with or without
  // the masking), and after the grep that it reads as masked (`error`), so that without the
  // masking the test reports the leaks themselves.
  const masked: Array<{ what: string; text: string; error: RegExp }> = [];
  const expectMasked = (what: string, text: string, error: RegExp) => masked.push({ what, text, error });
  try {
    const node = lab.node('lb1');
    const socketPath = lab.path('tandem.sock');
    const cli = (args: string[], where = 'host') => (where === 'host'
      ? run([process.execPath, TANDEM_BIN, ...args], { allowFail: true, timeoutMs: 60_000 })
      : lab.exec(node, [process.execPath, TANDEM_BIN, ...args], { allowFail: true, timeoutMs: 60_000 }));

    // A receiver in the namespace that refuses with 500 and quotes what it got: the Basic
    // credentials decoded, the raw header and the request target (path token and query).
    const rxPort = 18080;
    const rxScript = lab.path('rx500.cjs');
    writeFileSync(rxScript, `require('http').createServer((req, res) => {
  const auth = req.headers.authorization || '';
  const decoded = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString('utf8');
  req.resume();
  req.on('end', () => { console.log('request ' + req.method); res.writeHead(500).end('denied ' + decoded + ' (' + auth + ') for ' + req.url); });
}).listen(${rxPort}, '127.0.0.1', () => console.log('listening'));\n`);
    const rx = lab.spawn(node, [process.execPath, rxScript]);
    await rx.waitForLine(/^listening$/, 10_000);

    const webhookLines = (rxPw: string, rxSecret: string) => [
      // Port 9 in a fresh namespace: nothing listens (connection refused).
      `    - { url: "http://hookuser:${LIVE.closedPw}@127.0.0.1:9/closed?token=${LIVE.closedToken}", secret: ${LIVE.closedSecret}, retries: 0, timeout: 2 }`,
      `    - { url: "http://hookuser:${rxPw}@127.0.0.1:${rxPort}/hook/${LIVE.rxPathToken}?token=${LIVE.rxToken}", secret: ${rxSecret}, retries: 0, timeout: 2 }`,
    ];
    const liveBase: BaseConfig = {
      global: ['  router_id: lb1', `  status_socket: ${socketPath}`, '  metrics_listen: 192.0.2.1:9650'],
      webhooks: webhookLines(LIVE.rxPw, LIVE.rxSecret),
      auth: `    authentication: { auth_type: PASS, auth_pass: ${LIVE.authPass} }`,
    };
    const markers = [
      ...SECRET_CASES.flatMap((c) => c.markers), ...SECRET_WARNING_CASES.flatMap((c) => c.markers), ...keepalivedWithBadAuthPass().markers, ...Object.values(LIVE), ...Object.values(NEXT),
      Buffer.from(`hookuser:${LIVE.rxPw}`).toString('base64'), Buffer.from(`hookuser:${LIVE.closedPw}`).toString('base64'),
    ];
    assert.equal(new Set(markers).size, markers.length, 'markers are distinct');

    // 1. tandem check and tandem run on every broken config: exit 2, the key named, no marker.
    const caseFiles = SECRET_CASES.map((c, i) => {
      const file = lab.path(`case-${i}.yaml`);
      writeFileSync(file, configText(liveBase, c.edit));
      return file;
    });
    for (const [i, c] of SECRET_CASES.entries()) {
      const chk = await cli(['check', '-f', caseFiles[i]!]);
      keep(`tandem check (${c.what})`, chk.stdout + chk.stderr);
      assert.equal(chk.code, 2, `${c.what}: tandem check exit ${chk.code}\n${chk.stdout}${chk.stderr}`);
      assert.match(chk.stderr, c.taken, `${c.what}\n${chk.stderr}`);
      expectMasked(`tandem check (${c.what})`, chk.stderr, c.error);
      const started = await cli(['run', '-f', caseFiles[i]!, '--state-file', lab.path(`run-${i}.json`)], 'ns');
      keep(`tandem run (${c.what})`, started.stdout + started.stderr);
      assert.equal(started.code, 2, `${c.what}: tandem run exit ${started.code}\n${started.stdout}${started.stderr}`);
      assert.match(started.stdout + started.stderr, c.taken, `${c.what}\n${started.stdout}${started.stderr}`);
      assert.match(started.stdout + started.stderr, /refusing to start/);
      expectMasked(`tandem run (${c.what})`, started.stdout + started.stderr, c.error);
    }

    // 1b. A config that loads with a warning at a secret-bearing key: tandem check says OK and
    // prints the warning masked; --strict refuses it, masked too.
    const warningFiles = SECRET_WARNING_CASES.map((c, i) => {
      const file = lab.path(`warning-${i}.yaml`);
      writeFileSync(file, configText(liveBase, c.edit));
      return file;
    });
    for (const [i, c] of SECRET_WARNING_CASES.entries()) {
      const chk = await cli(['check', '-f', warningFiles[i]!]);
      keep(`tandem check (${c.what})`, chk.stdout + chk.stderr);
      assert.equal(chk.code, 0, `${c.what}: tandem check exit ${chk.code}\n${chk.stdout}${chk.stderr}`);
      assert.match(chk.stdout, /: OK \(1 VRRP instance, 0 virtual servers; 1 warning, listed on stderr\)/, chk.stdout);
      expectMasked(`tandem check (${c.what})`, chk.stderr, c.error);
      const strict = await cli(['check', '--strict', '-f', warningFiles[i]!]);
      keep(`tandem check --strict (${c.what})`, strict.stdout + strict.stderr);
      assert.equal(strict.code, 2, `${c.what}: tandem check --strict exit ${strict.code}\n${strict.stdout}${strict.stderr}`);
      assert.match(strict.stderr, c.taken, strict.stderr);
    }

    // 2. tandem import of a keepalived.conf with bad auth_pass lines: the notes on stderr and in
    // the header comment name the keyword; the converted YAML below them is the import's output.
    const k = keepalivedWithBadAuthPass();
    const kfile = lab.path('keepalived.conf');
    writeFileSync(kfile, k.text);
    const imp = await cli(['import', kfile]);
    assert.equal(imp.code, 3, imp.stderr); // converted with notes
    const header = imp.stdout.split('\n').filter((l) => l.startsWith('#')).join('\n');
    keep('tandem import stderr', imp.stderr);
    keep('tandem import header comments', header);
    assert.match(imp.stderr, /auth_pass: longer than 8 characters: cut to 8/, imp.stderr);
    const literally = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    for (const n of k.notes) {
      expectMasked('tandem import stderr', imp.stderr, new RegExp(`^(?:not converted|note): ${literally(`${kfile}${n}`).source}$`, 'm'));
      expectMasked('tandem import header comments', header, literally(`#   ${kfile}${n}`));
    }
    assert.match(imp.stdout, /auth_pass: "62803571"/, 'the converted YAML keeps the password (its job)');

    // 3. A running daemon with secrets in use.
    tandem = await Tandem.start(lab, node, {
      routerId: 'lb1',
      instances: [{ name: 'VI_1', vrid: 51, version: 2, priority: 100, advertInt: 1, authPass: LIVE.authPass, vips: ['192.0.2.100/24'] }],
      tandemTop: {
        global: {
          status_socket: socketPath, metrics_listen: '192.0.2.1:9650',
          webhooks: [
            { url: `http://hookuser:${LIVE.closedPw}@127.0.0.1:9/closed?token=${LIVE.closedToken}`, secret: LIVE.closedSecret, retries: 0, timeout: 2 },
            { url: `http://hookuser:${LIVE.rxPw}@127.0.0.1:${rxPort}/hook/${LIVE.rxPathToken}?token=${LIVE.rxToken}`, secret: LIVE.rxSecret, retries: 0, timeout: 2 },
          ],
        },
      },
    });
    const t = tandem;
    const ctx = () => `\n--- log ---\n${t.tail(60)}`;
    await t.waitForState('VI_1', 'MASTER', 20_000);
    // The transitions' webhooks fail: refused, and HTTP 500 quoting our credentials.
    await t.proc.waitForLine(/webhooks\[0\] http:\/\/127\.0\.0\.1:9: vrrp_instance event \S+ not delivered after 1 attempt: refused/, 20_000);
    const rxFailure = await t.proc.waitForLine(/webhooks\[1\] http:\/\/127\.0\.0\.1:18080: vrrp_instance event \S+ not delivered after 1 attempt: http_status \(HTTP 500: denied hookuser:/, 20_000);
    expectMasked('the log: the 500 receiver\'s answer', rxFailure.line, /http_status \(HTTP 500: denied hookuser:\*\*\* \(Basic \*\*\*\) for \*\*\*\)$/);
    await waitFor(() => /request POST/.test(rx.tail()), { timeoutMs: 10_000, what: 'the receiver got a POST' });

    const fetchScript = `const urls = ['/status.json', '/', '/metrics']; const out = {}; let n = 0;
for (const u of urls) require('http').get('http://192.0.2.1:9650' + u, (r) => { let b = ''; r.setEncoding('utf8'); r.on('data', (c) => b += c);
  r.on('end', () => { out[u] = 'HTTP ' + r.statusCode + '\\n' + b; if (++n === urls.length) process.stdout.write(JSON.stringify(out)); }); })
  .on('error', (e) => { console.error(u + ': ' + e.message); process.exit(3); });`;
    /** Every status surface once; returns the status document. */
    const snapshot = async (when: string) => {
      const tcp = JSON.parse((await lab.exec(node, [process.execPath, '-e', fetchScript], { timeoutMs: 15_000 })).stdout) as Record<string, string>;
      for (const [u, body] of Object.entries(tcp)) keep(`${when}: TCP GET ${u}`, body);
      assert.match(tcp['/']!, /^HTTP 200\n<!doctype html>/i);
      keep(`${when}: unix GET /status`, await unixGet(socketPath, '/status'));
      keep(`${when}: unix GET /metrics`, await unixGet(socketPath, '/metrics'));
      keep(`${when}: state file`, readFileSync(t.statePath, 'utf8'));
      const doc = JSON.parse(tcp['/status.json']!.replace(/^HTTP 200\n/, '')) as {
        config: { reloads: { ok: number; refused: number }; last_reload: { ok: boolean; errors: string[]; changes: string[] } | null };
        alerts: { webhooks: Array<{ webhook: string; failed: number; lastError: { reason: string; detail: string } | null }> };
      };
      return { doc, metrics: tcp['/metrics']! };
    };
    const { doc: first, metrics: metricsNow } = await snapshot('after the webhook failures');
    assert.deepEqual(first.alerts.webhooks.map((w) => w.webhook), ['webhooks[0] http://127.0.0.1:9', 'webhooks[1] http://127.0.0.1:18080']);
    assert.match(first.alerts.webhooks[1]!.lastError?.detail ?? '', /^HTTP 500: denied hookuser:/);
    expectMasked('status: the 500 receiver\'s answer', first.alerts.webhooks[1]!.lastError?.detail ?? '', /^HTTP 500: denied hookuser:\*\*\* \(Basic \*\*\*\) for \*\*\*$/);
    assert.match(metricsNow, /tandem_webhook_deliveries_total\{webhook="webhooks\[1\] http:\/\/127\.0\.0\.1:18080",result="failed"\} [1-9]/, metricsNow);

    // 4. Each broken file is refused, alternately through `tandem reload` (text, then --json)
    // and SIGHUP; the refusal is in the response, the log and the status.
    for (const [i, c] of SECRET_CASES.entries()) {
      t.writeConfig(readFileSync(caseFiles[i]!, 'utf8'));
      const from = t.proc.lines.length;
      if (i % 3 === 2) {
        t.proc.signal('SIGHUP');
        await t.proc.waitForLine(/reload refused: \d+ error\(s\)/, 30_000, from);
      } else {
        const r = await t.reload(i % 3 === 1);
        keep(`tandem reload${i % 3 === 1 ? ' --json' : ''} (${c.what})`, r.stdout + r.stderr);
        assert.equal(r.code, 2, `${c.what}: tandem reload exit ${r.code}\n${r.stdout}${r.stderr}${ctx()}`);
        if (i % 3 === 1) {
          const o = JSON.parse(r.stdout) as { ok: boolean; errors: string[] };
          assert.equal(o.ok, false);
          assert.match(o.errors.join('\n'), c.taken, `${c.what}\n${r.stdout}`);
          expectMasked(`tandem reload --json (${c.what})`, o.errors.join('\n'), c.error);
        } else {
          assert.match(r.stdout + r.stderr, c.taken, `${c.what}\n${r.stdout}${r.stderr}`);
          expectMasked(`tandem reload (${c.what})`, r.stdout + r.stderr, c.error);
        }
      }
      const s = await waitFor(async () => {
        const { doc } = await snapshot(`refused reload (${c.what})`);
        return doc.config.reloads.refused === i + 1 ? doc : null;
      }, { timeoutMs: 15_000, what: `refused reload ${i + 1} in the status` });
      assert.equal(s.config.last_reload?.ok, false);
      assert.match(s.config.last_reload!.errors.join('\n'), c.taken, `${c.what}: status last_reload.errors`);
      assert.match(t.proc.lines.slice(from).join('\n'), c.taken, `${c.what}: the log`);
      expectMasked(`status last_reload.errors (${c.what})`, s.config.last_reload!.errors.join('\n'), c.error);
      expectMasked(`the log (${c.what})`, t.proc.lines.slice(from).join('\n'), c.error);
    }

    // 4b. A file with a warning at a secret-bearing key is applied, the warning (masked) in the
    // answer, the log and the status.
    for (const [i, c] of SECRET_WARNING_CASES.entries()) {
      t.writeConfig(readFileSync(warningFiles[i]!, 'utf8'));
      const from = t.proc.lines.length;
      const r = await t.reload(true);
      keep(`tandem reload --json (${c.what})`, r.stdout + r.stderr);
      assert.equal(r.code, 0, `${c.what}: tandem reload exit ${r.code}\n${r.stdout}${r.stderr}${ctx()}`);
      const o = JSON.parse(r.stdout) as { ok: boolean; warnings: string[] };
      expectMasked(`tandem reload --json warnings (${c.what})`, o.warnings.join('\n'), c.error);
      const s = await waitFor(async () => {
        const { doc } = await snapshot(`applied reload with a warning (${c.what})`);
        return (doc.config.last_reload as { warnings?: string[] } | null)?.warnings?.length ? doc : null;
      }, { timeoutMs: 15_000, what: `the reload's warning in the status (${c.what})` });
      expectMasked(`status last_reload.warnings (${c.what})`, (s.config.last_reload as unknown as { warnings: string[] }).warnings.join('\n'), c.error);
      expectMasked(`status config.warnings (${c.what})`, (s.config as unknown as { warnings: string[] }).warnings.join('\n'), c.error);
      expectMasked(`the log (${c.what})`, t.proc.lines.slice(from).join('\n'), c.error);
    }

    // 5. A reload that changes every secret is applied and says what changed, not to what.
    const next: BaseConfig = { ...liveBase, auth: `    authentication: { auth_type: PASS, auth_pass: ${NEXT.authPass} }`, webhooks: webhookLines(NEXT.rxPw, NEXT.rxSecret) };
    t.writeConfig(configText(next));
    const ok = await t.reload();
    keep('tandem reload (accepted)', ok.stdout + ok.stderr);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr + ctx());
    assert.match(ok.stdout, /vrrp VI_1 \(vrid 51 IPv4 eth0 multicast\): changed .*authentication.*; state kept/, ok.stdout);
    assert.match(ok.stdout, /alert channels \(mail, webhooks, notify_fifo\): changed/, ok.stdout);
    const { doc: last } = await snapshot('after the accepted reload');
    assert.equal(last.config.last_reload?.ok, true);
    const status = await cli(['status', '--socket', socketPath]);
    keep('tandem status', status.stdout + status.stderr);
    assert.equal(status.code, 0, status.stderr);
    const statusJson = await cli(['status', '--socket', socketPath, '--json']);
    keep('tandem status --json', statusJson.stdout + statusJson.stderr);

    assert.equal(await t.stop(), 0, ctx());
    tandem = undefined;
    keep('the daemon log', t.proc.lines.join('\n'));
    keep('the daemon log file', readFileSync(lab.path(readdirLog(lab.dir)), 'utf8'));

    // 6. The grep: no marker anywhere.
    const leaks = outputs.flatMap((o) => markers.filter((m) => o.text.includes(m))
      .map((m) => `${m} in ${o.where}: ...${o.text.slice(Math.max(0, o.text.indexOf(m) - 120), o.text.indexOf(m) + 40)}...`));
    assert.deepEqual(leaks, [], `${leaks.length} leak(s):\n${leaks.join('\n')}`);
    const unmasked = masked.filter((m) => !m.error.test(m.text)).map((m) => `${m.what}: ${m.error} not in\n${m.text}`);
    assert.deepEqual(unmasked, [], unmasked.join('\n'));
    assert.ok(outputs.length > 8 * SECRET_CASES.length, `${outputs.length} outputs checked`);
  } finally {
    if (tandem?.running) await tandem.kill9();
    await lab.destroy();
  }
});

/** The daemon's log file in the lab directory (Tandem.start names it tandem-<tag>-<ms>.log). */
function readdirLog(dir: string): string {
  const logs = readdirSync(dir).filter((f) => /^tandem-.*\.log$/.test(f));
  assert.equal(logs.length, 1, `one daemon log in ${dir}: ${logs.join(', ')}`);
  return logs[0]!;
}
