// The status page (issue 5 §2) in a real headless browser: Debian's chromium driven by
// playwright-core, inside the daemon's lab namespace (status-page-browser.ts does the browsing and
// prints what the page shows; this file starts everything, kills the real server, and asserts).
// The page must show the instance MASTER and the real server up, then, without a reload, show the
// real server down within ~10 s while "last updated" keeps advancing; strings from the daemon are
// text, never markup; a failed fetch shows the error banner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Lab, requireLabTools, waitFor, type NsProcess } from '../lib/netns.js';
import { Tandem } from '../lib/tandem.js';

const TIMEOUT = { timeout: 180_000 };
const BROWSER_SCRIPT = fileURLToPath(new URL('./status-page-browser.js', import.meta.url));

interface Observation {
  marker: unknown; instanceState: string | null; instanceClass: string | null; instanceText: string | null;
  rsRole: string | null; rsClass: string | null; updatedMs: number; updatedText: string | null;
  errorShown: boolean; errorText: string | null; hostileNameText: boolean; imgCount: number; xss: unknown; configText: string | null;
}
interface Phase { phase: string; obs: Observation; waitedMs: number; ok: boolean; [k: string]: unknown }

test('status page: MASTER and the real server up, then the real server down without a reload', TIMEOUT, async () => {
  requireLabTools();
  // Fail loudly, naming the fix, when the browser or its driver is missing.
  assert.ok(existsSync('/usr/bin/chromium'), 'needs Debian chromium: apt-get install --no-install-recommends chromium');
  createRequire(import.meta.url).resolve('playwright-core'); // throws if npm ci did not install it

  const lab = await Lab.create({ prefix: 'tP', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }] });
  const node = lab.node('lb1');
  let server: NsProcess | undefined;
  let browser: NsProcess | undefined;
  let tandem: Tandem | undefined;
  try {
    server = lab.spawn(node, [process.execPath, '-e',
      "require('net').createServer((s) => s.on('error', () => {})).listen(8080, '192.0.2.1')"]);
    tandem = await Tandem.start(lab, node, {
      routerId: 'lb1',
      instances: [{ name: 'VI_1', vrid: 71, version: 3, priority: 100, advertInt: 1, vips: ['192.0.2.100/24'] }],
      tandemTop: {
        global: { status_socket: lab.path('tandem.sock'), metrics_listen: '127.0.0.1:9651' },
        // No IPVS in this kernel: the backend fails and retries; the checker runs regardless.
        virtual_servers: [{
          address: '192.0.2.100', port: 80, protocol: 'TCP', lb_algo: 'rr', lb_kind: 'NAT', delay_loop: 1,
          real_servers: [{ address: '192.0.2.1', port: 8080, weight: 3, checks: [{ tcp_check: { connect_timeout: 1, retry: 0, delay_before_retry: 1 } }] }],
        }],
      },
    });
    const ctx = () => `\n--- browser ---\n${browser?.lines.join('\n') ?? ''}\n--- tandem ---\n${tandem!.tail(30)}`;

    const goFile = lab.path('go');
    browser = lab.spawn(node, [process.execPath, BROWSER_SCRIPT, 'http://127.0.0.1:9651/', 'VI_1', '192.0.2.1:8080', goFile]);
    const phase = async (name: string, timeoutMs: number): Promise<Phase> => {
      const line = await waitFor(() => browser!.lines.find((l) => l.startsWith(`{"phase":"${name}"`)) ?? (browser!.running ? undefined : 'exited'),
        { timeoutMs, what: `browser phase ${name}` }).catch((e: Error) => assert.fail(e.message + ctx()));
      if (line === 'exited') assert.fail(`the browser driver exited (${browser!.exitCode ?? browser!.exitSignal}) before phase ${name}${ctx()}`);
      return JSON.parse(line) as Phase;
    };

    const before = await phase('before', 90_000);
    assert.ok(before.ok, `page never showed MASTER and the real server up: ${JSON.stringify(before.obs)}${ctx()}`);
    assert.equal(before.contentType, 'text/html; charset=utf-8');
    assert.match(String(before.csp), /script-src 'sha256-/);
    assert.equal(before.obs.instanceState, 'MASTER');
    assert.match(String(before.obs.instanceClass), /\bst-master\b/);
    assert.match(String(before.obs.instanceText), /BACKUP → MASTER/);
    assert.match(String(before.obs.instanceText), /master_down_timer/);
    assert.match(String(before.obs.rsClass), /\brs-up\b/);
    assert.equal(before.obs.errorShown, false);
    assert.ok(before.obs.updatedMs > 0, `never updated: ${JSON.stringify(before.obs)}`);

    assert.match(String(before.obs.configText), /^config \S+tandem-\S+\.yaml, loaded \d+s ago$/, JSON.stringify(before.obs));
    // A broken file: the reload is refused, and the page says so (in red) on its next refresh.
    // Three errors: interface and virtual_router_id missing, priority out of range (an instance
    // without VIPs is valid since issue 16 §1).
    tandem.writeConfig('vrrp_instances: [{ name: VI_1, priority: 300 }]\n');
    const refused = await tandem.reload();
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);

    await server.kill9();
    server = undefined;
    writeFileSync(goFile, 'go\n');
    const after = await phase('after', 40_000);
    assert.ok(after.ok, `the real server's row never showed DOWN: ${JSON.stringify(after.obs)}${ctx()}`);
    assert.ok(after.waitedMs < 12_000, `DOWN shown only after ${after.waitedMs} ms`);
    assert.match(String(after.obs.rsClass), /\brs-down\b/);
    assert.match(String(after.obs.configText), /LAST RELOAD REFUSED \d+s ago \(3 error\(s\): \S+\.yaml:1:\d+ vrrp_instances\[0\]\.\w+: .*\); still running the config loaded before/, JSON.stringify(after.obs));
    assert.equal(after.obs.marker, 42, 'the page was reloaded (the marker set after the first load is gone)');
    assert.equal(after.navigations, 1, 'the page navigated again');
    const later = after.later as Observation;
    assert.ok(after.obs.updatedMs > before.obs.updatedMs, `"last updated" did not advance: ${before.obs.updatedMs} -> ${after.obs.updatedMs}`);
    assert.ok(later.updatedMs > after.obs.updatedMs, `"last updated" stopped: ${after.obs.updatedMs} -> ${later.updatedMs}`);
    assert.equal(later.errorShown, false);
    assert.deepEqual(after.consoleErrors, [], 'console errors (a CSP violation would show here)');

    const xss = await phase('xss', 30_000);
    assert.ok(xss.ok, `the hostile instance name was not shown as text: ${JSON.stringify(xss.obs)}${ctx()}`);
    assert.equal(xss.obs.imgCount, 0, 'markup from the status document became elements');
    assert.equal(xss.obs.xss, undefined, 'script from the status document ran');

    const failed = await phase('error', 30_000);
    assert.ok(failed.ok, `no error banner after a failed fetch: ${JSON.stringify(failed.obs)}${ctx()}`);
    assert.match(String(failed.obs.errorText), /status fetch failed/);
    assert.equal(failed.obs.rsRole, 'DOWN', 'the last good data is kept on a failed fetch');
    assert.ok(await browser.waitExit(20_000), `the browser driver did not exit${ctx()}`);
    assert.equal(browser.exitCode, 0, ctx());
    browser = undefined;

    assert.equal(await tandem.stop(), 0, ctx());
    tandem = undefined;
  } finally {
    await browser?.kill9().catch(() => undefined); // the driver's group: Chromium's processes too
    if (tandem?.running) await tandem.kill9();
    await server?.kill9().catch(() => undefined);
    await lab.destroy();
  }
});
