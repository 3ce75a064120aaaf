// Which checks the native check engine runs (src/check/probes/httpEngineSpec.ts), one test per
// rule, and that the request it is given is probes/http.ts's byte for byte.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckCommon, CheckConfig, HttpUrl } from '../../src/config/lbModel.js';
import { nativeCheckSpec, nativeHttpSpec } from '../../src/check/probes/httpEngineSpec.js';
import { httpRequest } from '../../src/check/probes/http.js';

const common: Omit<CheckCommon, 'kind'> = {
  connectIp: '192.0.2.10', connectPort: 8080, bindTo: undefined, bindPort: undefined, timeoutMs: 3000,
  retry: 1, delayBeforeRetryMs: 1000, delayLoopMs: 1000, warmupMs: 0, alpha: false, rise: 1,
};

const url = (over: Partial<HttpUrl> = {}): HttpUrl => ({
  path: '/health', statusCodes: [[200, 299]], digest: undefined, virtualhost: undefined, ...over,
});

function http(over: Partial<Extract<CheckConfig, { kind: 'http_get' | 'ssl_get' }>> = {}): CheckConfig {
  return {
    ...common, kind: 'http_get', urls: [url()], virtualhost: undefined, httpProtocol: '1.0', enableSni: false,
    verifyCertificate: false, ...over,
  } as CheckConfig;
}

describe('nativeHttpSpec', () => {
  test('a plain HTTP_GET with one url goes native, with probes/http.ts request and its status codes', () => {
    const c = http({ urls: [url({ statusCodes: [[200, 200], [301, 302]] })] });
    const spec = nativeHttpSpec(c);
    assert.ok(spec);
    assert.equal(spec.family, 4);
    assert.equal(spec.address, '192.0.2.10');
    assert.equal(spec.port, 8080);
    assert.equal(spec.timeoutMs, 3000);
    assert.deepEqual(spec.http?.statusCodes, [[200, 200], [301, 302]]);
    assert.equal(spec.http?.request, 'GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 192.0.2.10:8080\r\n\r\n');
  });

  test('the request follows http_protocol, the virtualhosts and IPv6 exactly as the JS probe builds it', () => {
    const cases: CheckConfig[] = [
      http({ httpProtocol: '1.1' }),
      http({ httpProtocol: '1.0C' }),
      http({ virtualhost: 'www.example.org' }),
      http({ virtualhost: 'www.example.org', urls: [url({ virtualhost: 'api.example.org:8443' })] }),
      http({ connectIp: '2001:db8::10' }),
      http({ urls: [url({ path: '/a b?x=1' })] }),
    ];
    for (const c of cases) {
      if (c.kind !== 'http_get') throw new Error('http_get expected');
      const spec = nativeHttpSpec(c);
      assert.equal(spec?.http?.request, httpRequest(c, c.urls[0]!));
    }
    const v6 = nativeHttpSpec(http({ connectIp: '2001:db8::10' }));
    assert.equal(v6?.family, 6);
    assert.match(v6?.http?.request ?? '', /\r\nHost: \[2001:db8::10\]:8080\r\n/);
    assert.match(nativeHttpSpec(http({ httpProtocol: '1.1' }))?.http?.request ?? '', /^GET \/health HTTP\/1\.1\r\n.*Connection: close\r\n/s);
  });

  test('bindto / bind_port are passed on', () => {
    const spec = nativeHttpSpec(http({ bindTo: '192.0.2.1', bindPort: 4000 }));
    assert.equal(spec?.bindAddress, '192.0.2.1');
    assert.equal(spec?.bindPort, 4000);
  });

  test('SSL_GET stays in JS (the engine speaks no TLS)', () => {
    assert.equal(nativeHttpSpec(http({ kind: 'ssl_get' })), null);
    assert.equal(nativeCheckSpec(http({ kind: 'ssl_get' })), null);
  });

  test('a url with a digest stays in JS (the engine never reads the body)', () => {
    assert.equal(nativeHttpSpec(http({ urls: [url({ digest: '9b3a0c85a887a256d6939da88aabd8cd' })] })), null);
  });

  test('more than one url stays in JS (keepalived checks every url per probe)', () => {
    assert.equal(nativeHttpSpec(http({ urls: [url(), url({ path: '/other' })] })), null);
  });

  test('no url, or a url accepting no code at all, stays in JS', () => {
    assert.equal(nativeHttpSpec(http({ urls: [] })), null);
    assert.equal(nativeHttpSpec(http({ urls: [url({ statusCodes: [] })] })), null);
  });

  test('TCP_CHECK is always eligible, without an http part; other kinds never are', () => {
    const tcp = nativeCheckSpec({ ...common, kind: 'tcp_check' });
    assert.deepEqual(tcp, { family: 4, address: '192.0.2.10', port: 8080, bindAddress: undefined, bindPort: undefined, timeoutMs: 3000 });
    assert.equal(nativeHttpSpec({ ...common, kind: 'tcp_check' }), null);
    assert.equal(nativeCheckSpec({ ...common, kind: 'smtp_check', heloName: 'x' }), null);
    assert.equal(nativeCheckSpec({ ...common, kind: 'ping_check' }), null);
  });
});
