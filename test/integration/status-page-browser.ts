// The browser side of status-page.test.ts, run by it under `ip netns exec` so that Chromium shares
// the daemon's namespace (and its 127.0.0.1). Prints one JSON line per phase on stdout; the test
// makes the assertions. Between phases it waits for the test to create a file (the handshake: the
// test kills the real server, then says "go"). Every wait is bounded.
// Usage: node status-page-browser.js URL INSTANCE REAL_SERVER_KEY GO_FILE
import { existsSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';

const [url, instance, rsKey, goFile] = process.argv.slice(2) as [string, string, string, string];
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HOSTILE = '<img src=x onerror="window.__xss=1">VI_<b>evil</b>';

interface Observation {
  marker: unknown; // set once after the first load: still there means the page was never reloaded
  instanceState: string | null; instanceClass: string | null; instanceText: string | null;
  rsRole: string | null; rsClass: string | null; updatedMs: number; updatedText: string | null;
  errorShown: boolean; errorText: string | null; hostileNameText: boolean; imgCount: number; xss: unknown;
  configText: string | null;
}

// A string expression (the project compiles without the DOM lib, so no typed callbacks here).
const observeJs = `(() => {
  const inst = document.querySelector('tr[data-instance="' + CSS.escape(${JSON.stringify(instance)}) + '"]');
  const state = inst && inst.querySelector('td.state');
  const rs = document.querySelector('tr[data-rs="' + CSS.escape(${JSON.stringify(rsKey)}) + '"]');
  const role = rs && rs.querySelector('td.role');
  const upd = document.getElementById('updated');
  const err = document.getElementById('error');
  return {
    marker: window.__marker, instanceState: state && state.textContent, instanceClass: state && state.className,
    instanceText: inst && inst.textContent, rsRole: role && role.textContent, rsClass: rs && rs.className,
    updatedMs: Number(upd.getAttribute('data-ms')), updatedText: upd.textContent,
    errorShown: err.className === 'shown' && getComputedStyle(err).display !== 'none', errorText: err.textContent,
    hostileNameText: [...document.querySelectorAll('tr[data-instance] td:first-child')].some((td) => td.textContent === ${JSON.stringify(HOSTILE)}),
    imgCount: document.querySelectorAll('img, b').length, xss: window.__xss,
    configText: (document.querySelector('p.config') || {}).textContent || null,
  };
})()`;

async function observe(page: Page): Promise<Observation> {
  return page.evaluate(observeJs) as Promise<Observation>;
}

async function until(page: Page, ok: (o: Observation) => boolean, timeoutMs: number): Promise<{ obs: Observation; waitedMs: number; ok: boolean }> {
  const t0 = Date.now();
  let obs = await observe(page);
  while (!ok(obs) && Date.now() - t0 < timeoutMs) {
    await sleep(250);
    obs = await observe(page);
  }
  return { obs, waitedMs: Date.now() - t0, ok: ok(obs) };
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'], timeout: 60_000 });
try {
  const page = await browser.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
  const resp = await page.goto(url, { timeout: 20_000 });
  const headers = resp ? await resp.allHeaders() : {};
  await page.evaluate('window.__marker = 42');

  // Phase 1: the instance has taken over and the real server is shown up.
  const before = await until(page, (o) => o.instanceState === 'MASTER' && o.rsRole === 'UP', 30_000);
  out({ phase: 'before', ...before, csp: headers['content-security-policy'] ?? null, contentType: headers['content-type'] ?? null });
  if (!before.ok) throw new Error('phase 1 never reached');

  // Phase 2: the test killed the real server; without any reload the row turns DOWN.
  const t0 = Date.now();
  while (!existsSync(goFile) && Date.now() - t0 < 30_000) await sleep(100);
  if (!existsSync(goFile)) throw new Error('no go from the test');
  const after = await until(page, (o) => o.rsRole === 'DOWN', 15_000);
  await sleep(2500); // one more refresh: "last updated" must keep moving
  out({ phase: 'after', ...after, later: await observe(page), navigations, consoleErrors: [...consoleErrors] });

  // Phase 3: hostile strings from the daemon are shown as text, never run or parsed as markup.
  await page.route('**/status.json', async (route) => {
    const real = await route.fetch();
    const doc = (await real.json()) as { instances: Array<{ name: string }> };
    for (const i of doc.instances) i.name = HOSTILE;
    await route.fulfill({ response: real, json: doc });
  });
  const xss = await until(page, (o) => o.hostileNameText, 10_000);
  out({ phase: 'xss', ...xss });

  // Phase 4: a failed fetch shows the error banner (and keeps the page).
  await page.unroute('**/status.json');
  await page.route('**/status.json', (route) => route.abort('connectionrefused'));
  const failed = await until(page, (o) => o.errorShown, 10_000);
  out({ phase: 'error', ...failed, navigations, consoleErrors });
} finally {
  await browser.close();
}
