// Secrets never leave the daemon (issue 12 §2), the pure tier: which keys are secret (one rule,
// src/config/secrets.ts), the URL masking, describe() and report() for secret nodes, every
// config error path with a marker planted in a secret key (no marker in any message, the key
// named), YAML syntax errors on a secret's line, `tandem import`'s notes, and the webhook
// channel's error details against a receiver on 127.0.0.1 that echoes the credentials back.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineCounter, parseDocument, type Node } from 'yaml';
import {
  isSecretKey, maskSecretText, maskUrlCredentials, MASK, redactValues, sharesRun, yamlSecretSpans,
} from '../../src/config/secrets.js';
import { describe as describeNode, field, integer, markSecret, nodeOf, object, report, schemaKeyNames, string, warn, type Ctx } from '../../src/config/fields.js';
import '../../src/config/schema.js';
import { loadConfigText } from '../../src/config/load.js';
import { formatConfigError } from '../../src/config/errors.js';
import { formatUnconverted, importKeepalived } from '../../src/config/import/convert.js';
import { WebhookNotifier } from '../../src/alert/webhook.js';
import { recordingLogger, waitFor } from './alert-net-servers.js';
import { CaseCount } from '../lib/cases.js';
import { mulberry32 } from '../lib/prng.js';
import { configText, keepalivedWithBadAuthPass, SECRET_CASES, SECRET_WARNING_CASES, UNIT_BASE } from '../lib/secretCases.js';
import { createSystemTimers } from '../../src/timers.js';

describe('secrets: which keys are secret (one rule)', () => {
  test('names with a pass / password / secret / token / credential word, or api/private/access/signing key', () => {
    for (const k of ['auth_pass', 'secret', 'smtp_password', 'api_token', 'apiKey', 'api_key', 'private_key', 'client_secret',
      'webhookSecret', 'passwd', 'bind_credentials', 'AUTH_PASS', 'auth-pass', 'access.key']) {
      assert.equal(isSecretKey(k), true, k);
    }
    for (const k of ['auth_type', 'authentication', 'passive', 'bypass', 'passes', 'key', 'keys', 'ca', 'url', 'secretary',
      'virtual_router_id', 'notify_master', 'smtp_server', 'tokenizer', 'monkey', '']) {
      assert.equal(isSecretKey(k), false, k);
    }
  });

  test("the schema's secret keys are exactly auth_pass and secret (a new one must be reviewed here)", () => {
    assert.ok(schemaKeyNames.size > 100, `the schema registered ${schemaKeyNames.size} key names`);
    assert.deepEqual([...schemaKeyNames].filter(isSecretKey).sort(), ['auth_pass', 'secret']);
  });
});

describe('secrets: URL credentials', () => {
  const cases: Array<[string, string]> = [
    ['https://user:pw@host/', `https://user:${MASK}@host/`],
    ['http://alice:73914682@198.51.100.7:8080/hook?x=1', `http://alice:${MASK}@198.51.100.7:8080/hook?x=1`],
    ['https://ghp_Tok3nValue@example.com/x', `https://${MASK}@example.com/x`],
    ['https://u:p@ss@host/', `https://u:${MASK}@host/`],
    ['https://u:p%40ss@host/', `https://u:${MASK}@host/`],
    ['https://u:@host/', `https://u:${MASK}@host/`],
    ['https://host/path', 'https://host/path'],
    ['https://host/x?token=Qt5Tok&a=1', `https://host/x?token=${MASK}&a=1`],
    ['https://host/x?a=1&api_key=K9&password=', `https://host/x?a=1&api_key=${MASK}&password=`],
    ['request to https://u:s3cr3t@hooks.example.com/h failed, reason: connect ECONNREFUSED 192.0.2.1:443',
      `request to https://u:${MASK}@hooks.example.com/h failed, reason: connect ECONNREFUSED 192.0.2.1:443`],
    ['{"url":"https://a:b1@h/","other":"ftp://c:d2@i/"}', `{"url":"https://a:${MASK}@h/","other":"ftp://c:${MASK}@i/"}`],
    ['mail ops@example.com about host:80', 'mail ops@example.com about host:80'],
    ['no url here', 'no url here'],
  ];
  for (const [input, want] of cases) test(input, () => assert.equal(maskUrlCredentials(input), want));

  test('property: a random password in a URL inside a message never survives (seeded)', () => {
    const seed = 0x5ec12;
    const rand = mulberry32(seed);
    // Anything a password can hold in a URL's userinfo except the delimiters of an authority.
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&()*+,;=:@%';
    const cases = new CaseCount('random URL password', 500);
    for (let i = 0; i < 500; i++) {
      const len = 3 + Math.floor(rand() * 20);
      let pw = '';
      for (let j = 0; j < len; j++) pw += alphabet[Math.floor(rand() * alphabet.length)];
      const text = `POST https://user:${pw}@hooks.example.com/p failed: ECONNRESET`;
      const masked = maskUrlCredentials(text);
      assert.ok(!masked.includes(`:${pw}@`), `seed ${seed} case ${i}: ${masked}`);
      assert.ok(masked.includes(`user:${MASK}@hooks.example.com/p`), `seed ${seed} case ${i}: ${masked}`);
      // The hard ones: a password holding an authority delimiter (':' or '@') or an escape.
      cases.checked(...(/[:@%]/.test(pw) ? ['with : @ or %'] : []));
    }
    cases.done({ kinds: ['with : @ or %'], min: 50 });
  });

  test('a value with a keepalived-style `<secret key> <value>` inside is masked, other words kept', () => {
    assert.equal(maskSecretText('auth_pass 73914682'), `auth_pass ${MASK}`);
    assert.equal(maskSecretText('--password=abc --user bob'), `--password=${MASK} --user bob`);
    assert.equal(maskSecretText('token: "x y"'), `token: ${MASK}`);
    assert.equal(maskSecretText('/usr/bin/check --port 80'), '/usr/bin/check --port 80');
  });

  test('redactValues: longest first, values too short to tell from words left alone', () => {
    assert.equal(redactValues('got abc and abcdef', ['abc', 'abcdef']), `got ${MASK} and ${MASK}`);
    assert.equal(redactValues('expected a password', ['a']), 'expected a password');
    assert.equal(sharesRun('Invalid escape sequence \\xZZ', '"a\\xZZMarker"', 3), true);
    assert.equal(sharesRun('Missing , between items', 'Zq9', 3), false);
  });
});

function docCtx(text: string): { ctx: Ctx; root: Node } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  return { ctx: { file: 't.yaml', lineCounter, issues: [] }, root: doc.contents as Node };
}

describe('secrets: describe() and report()', () => {
  test('describe() of a secret shows its kind only; of any other string, masks URL credentials', () => {
    const { root } = docCtx('a: 73914682\nb: Zx8Secret\nc: true\nd: "https://u:Pw9@h/"\n');
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((k) => (root as unknown as { get(k: string, keep: true): Node }).get(k, true));
    assert.equal(describeNode(d), `"https://u:${MASK}@h/"`);
    assert.equal(describeNode(a), '73914682', 'not marked yet: shown');
    for (const n of [a, b, c]) markSecret(n);
    assert.equal(describeNode(a), 'a number (not shown: a secret)');
    assert.equal(describeNode(b), 'a string (not shown: a secret)');
    assert.equal(describeNode(c), 'true or false (not shown: a secret)');
  });

  test('object() marks a secret key value before its validator runs, known or unknown key', () => {
    const shape = object({ name: field(string()), api_token: field(string({ maxLen: 4, what: 'a token' })) });
    const { ctx, root } = docCtx('name: x\napi_token: 73914682\n');
    shape({ node: root, path: 'svc' }, ctx);
    assert.deepEqual(ctx.issues.map(formatConfigError), ['t.yaml:2:12 svc.api_token: expected a token, got a number (not shown: a secret)']);
    const { ctx: ctx2, root: root2 } = docCtx('name: x\napi_tokn: 73914682\n"api_token Zk4Val": 1\n55512345: 2\n');
    shape({ node: root2, path: 'svc' }, ctx2);
    assert.deepEqual(ctx2.issues.map(formatConfigError), [
      't.yaml:2:1 svc.api_tokn: unknown key (did you mean api_token?)',
      `t.yaml:3:1 svc.api_token ${MASK}: unknown key`,
      't.yaml:4:1 svc.(not shown): unknown key',
    ]);
  });

  test('report() masks a secret value even when a validator formatted it itself', () => {
    const leaky = object({
      password: field((at, ctx) => { report(ctx, at.node, at.path, `bad value ${String((at.node as { value?: unknown }).value)} here`); return undefined; }),
      url: field((at, ctx) => { report(ctx, at.node, at.path, `cannot reach ${String((at.node as { value?: unknown }).value)}`); return undefined; }),
    });
    const { ctx, root } = docCtx('password: Lk7Leaky99\nurl: https://bob:Lk8Pw@198.51.100.9/\n');
    leaky({ node: root, path: '' }, ctx);
    assert.deepEqual(ctx.issues.map((e) => `${e.path}: ${e.message}`), [
      `password: bad value ${MASK} here`,
      `url: cannot reach https://bob:${MASK}@198.51.100.9/`,
    ]);
    // A real validator that quotes the source text itself (integer() shows a literal as written).
    const pin = object({ pin_token: field(integer(1, 9999)) });
    const { ctx: ctx2, root: root2 } = docCtx('pin_token: 0x1F2E\n');
    pin({ node: root2, path: '' }, ctx2);
    assert.equal(ctx2.issues.length, 1);
    assert.ok(!ctx2.issues[0]!.message.includes('0x1F2E'), ctx2.issues[0]!.message);
    assert.match(ctx2.issues[0]!.message, /^expected an integer literal 1\.\.9999, in decimal .*, got \*\*\*$/);
  });
});

describe('secrets: no config error shows a planted secret', () => {
  for (const c of SECRET_CASES) {
    test(c.what, () => {
      const r = loadConfigText(configText(UNIT_BASE, c.edit), 'c.yaml', { hostname: 'h' });
      assert.equal(r.ok, false, `${c.what}: the config was accepted`);
      const out = r.ok ? '' : r.errors.map(formatConfigError).join('\n');
      for (const m of c.markers) assert.ok(!out.includes(m), `${c.what}: marker ${m} in\n${out}`);
      assert.match(out, c.error);
      assert.match(out, c.taken, `${c.what}: the loose form matches the masked one too`);
      assert.match(out, new RegExp(`^c\\.yaml:${c.unitAt} ${c.error.source.replace(/\$$/, '')}`, 'm'), `${c.what}: location`);
    });
  }

  for (const c of SECRET_WARNING_CASES) {
    test(`${c.what}: the config loads, its warning shows no secret`, () => {
      const r = loadConfigText(configText(UNIT_BASE, c.edit), 'c.yaml', { hostname: 'h' });
      assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
      const out = r.warnings.map(formatConfigError).join('\n');
      for (const m of c.markers) assert.ok(!out.includes(m), `${c.what}: marker ${m} in\n${out}`);
      assert.match(out, c.error);
      assert.match(out, new RegExp(`^c\\.yaml:${c.unitAt} ${c.error.source.replace(/\$$/, '')}`, 'm'), `${c.what}: location`);
    });
  }

  test('a warning is masked by the same rule as an error: a secret value a message quotes is replaced', () => {
    const { ctx, root } = docCtx('auth_pass: s3cr3tV4\n');
    warn(ctx, nodeOf(root, 'auth_pass'), 'auth_pass', 'ignored: s3cr3tV4 (quoted by a careless check)');
    assert.deepEqual(ctx.issues.map(formatConfigError), ['t.yaml:1:12 warning: auth_pass: ignored: *** (quoted by a careless check)']);
  });

  test('the base config is valid (so each case fails for its own edit)', () => {
    const r = loadConfigText(configText(UNIT_BASE), 'c.yaml', { hostname: 'h' });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
  });

  test('a syntax error elsewhere keeps the parser message and is located at its line', () => {
    const text = configText(UNIT_BASE).replace('[192.0.2.100/24]', '[192.0.2.100/24');
    const r = loadConfigText(text, 'c.yaml', { hostname: 'h' });
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? [] : r.errors.map(formatConfigError),
      ['c.yaml:13:1 YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]']);
  });

  test('yamlSecretSpans: the value of each secret key, continuation lines included, none for other keys', () => {
    const text = 'a:\n  secret: |\n    line1\n    line2\n  url: x\n  - { auth_pass: "q w", b: 1 }\n# auth_pass: comment\n';
    assert.deepEqual(yamlSecretSpans(text).map((s) => [s.key, s.text]), [
      ['secret', '|\n    line1\n    line2'],
      ['auth_pass', '"q w", b: 1 }'],
    ]);
  });
});

describe('secrets: tandem import notes', () => {
  test('notes about a bad auth_pass name the keyword, never its words; the YAML keeps the password', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-secrets-'));
    try {
      const file = join(dir, 'keepalived.conf');
      const k = keepalivedWithBadAuthPass();
      writeFileSync(file, k.text);
      const r = importKeepalived(file);
      assert.ok(r.ok);
      const notes = r.unconverted.map(formatUnconverted);
      const header = r.yaml.split('\n').filter((l) => l.startsWith('#')).join('\n');
      for (const m of k.markers) {
        assert.ok(!notes.join('\n').includes(m), `${m} in the notes:\n${notes.join('\n')}`);
        assert.ok(!header.includes(m), `${m} in the header:\n${header}`);
      }
      assert.deepEqual(notes.map((n) => n.slice(file.length)), k.notes);
      // The converted YAML is the import's output: the passwords are there, quoted as strings.
      assert.match(r.yaml, /auth_pass: "62803571"/);
      assert.match(r.yaml, /auth_pass: Lg5LongP\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('secrets: webhook delivery errors', () => {
  test('a receiver echoing the credentials, the path token and the secret: lastError and the log show none', async () => {
    const PASSWORD = 'Wp3Url-pw';
    const TOKEN = 'Wq4Query';
    const SECRET = 'Ws5-webhook-shared-secret';
    // A (badly behaved) receiver that quotes what it got: the Basic credentials decoded, the
    // raw Authorization header, the request target and a made-up "expected signature key".
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const auth = req.headers.authorization ?? '';
      const decoded = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString('utf8');
      req.resume();
      req.on('end', () => res.writeHead(500).end(`denied ${decoded} (${auth}) for ${req.url}; key ${SECRET}`));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const rec = recordingLogger();
    const n = new WebhookNotifier({
      routerId: 'lb1', log: rec.log, backoffBaseMs: 1, backoffCapMs: 2, timers: createSystemTimers(), random: Math.random,
      webhooks: [{
        url: `http://alice:${PASSWORD}@127.0.0.1:${port}/hooks/x?token=${TOKEN}`, secret: SECRET, timeoutMs: 2000, retries: 1,
        queueSize: 4, verifyCertificate: true, caFile: undefined, events: ['vrrp'],
      }],
    });
    try {
      n.start();
      n.handle({ type: 'vrrp_instance', instance: 'VI_1', state: 'MASTER', previous: 'BACKUP', priority: 100, reason: 'master_down_timer', time: 0 });
      await waitFor(() => n.counters()[0]!.failed === 1, 10_000, () => JSON.stringify(n.counters()));
      const c = n.counters()[0]!;
      const shown = [JSON.stringify(c), ...rec.lines].join('\n');
      assert.equal(c.webhook, `webhooks[0] http://127.0.0.1:${port}`);
      assert.match(c.lastError?.detail ?? '', /^HTTP 500: denied alice:\*\*\* \(Basic \*\*\*\) for \*\*\*; key \*\*\*$/);
      for (const m of [PASSWORD, TOKEN, SECRET, Buffer.from(`alice:${PASSWORD}`).toString('base64')]) {
        assert.ok(!shown.includes(m), `${m} shown:\n${shown}`);
      }
      assert.ok(rec.lines.some((l) => /not delivered after 2 attempts: http_status \(HTTP 500: denied alice:\*\*\*/.test(l)), rec.lines.join('\n'));
    } finally {
      await n.stop();
      await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
    }
  });
});
