// `virtual_servers` config: keepalived's defaults, inheritance, and every error located at
// file:line:col with its key path (as test/unit/config.test.ts does for vrrp_instances).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LineCounter, parseDocument, type Node } from 'yaml';
import { object, type Ctx } from '../../src/config/fields.js';
import { formatConfigError, inFileOrder } from '../../src/config/errors.js';
import {
  crossCheckVirtualServers, toVirtualServerModel, virtualServersField,
} from '../../src/config/virtualServers.js';
import type { CheckConfig, VirtualServerConfig } from '../../src/config/lbModel.js';
import { deepFreeze } from '../../src/config/model.js';

/** What load.ts does with the virtual_servers part (build.ts crossCheck() applies the corrections). */
function load(text: string): { model: VirtualServerConfig[] | undefined; errors: string[]; warnings: string[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  assert.deepEqual(doc.errors, [], 'YAML syntax');
  const ctx: Ctx = { file: 'lb.yaml', lineCounter, issues: [] };
  const root = doc.contents as Node;
  const raw = object({ virtual_servers: virtualServersField })({ node: root, path: '' }, ctx);
  const model = raw ? toVirtualServerModel(raw.virtual_servers ?? []) : undefined;
  const fixes: Array<() => void> = [];
  if (model) crossCheckVirtualServers(model, root, ctx, fixes);
  for (const f of fixes) f();
  const issues = inFileOrder(ctx.issues);
  const errors = issues.filter((i) => i.severity === 'error').map(formatConfigError);
  return { model: errors.length ? undefined : model, errors, warnings: issues.filter((i) => i.severity === 'warning').map(formatConfigError) };
}
function ok(text: string): VirtualServerConfig[] {
  const r = load(text);
  assert.deepEqual(r.errors, []);
  return r.model!;
}
function errorsOf(text: string): string[] {
  const r = load(text);
  assert.notEqual(r.errors.length, 0, 'config should be invalid');
  return r.errors;
}
/** The timing part of a check, for compact comparisons. */
const timing = (c: CheckConfig) => ({
  kind: c.kind, port: c.connectPort, timeoutMs: c.timeoutMs, retry: c.retry, delayBeforeRetryMs: c.delayBeforeRetryMs,
  delayLoopMs: c.delayLoopMs, warmupMs: c.warmupMs, alpha: c.alpha, rise: c.rise,
});

// The example of issue 3 §1, verbatim.
const issueExample = `virtual_servers:
  - address: 192.0.2.100      # or fwmark: 1
    port: 80
    protocol: TCP             # TCP | UDP | SCTP
    lb_algo: wrr              # every scheduler the kernel has: rr wrr lc wlc lblc lblcr dh sh mh sed nq fo ovf twos
    lb_kind: NAT              # NAT | DR | TUN; also per real server
    persistence_timeout: 0
    delay_loop: 2
    quorum: 1
    hysteresis: 0
    sorry_server: { address: 198.51.100.9, port: 80 }
    real_servers:
      - address: 198.51.100.11
        port: 80
        weight: 1
        inhibit_on_failure: false
        checks:
          - http_get: { urls: [{ path: /health, status_code: 200 }], connect_timeout: 2, retry: 2, delay_before_retry: 1 }
`;

describe('virtual_servers: the model', () => {
  it('the issue example builds the service, its servers and its check', () => {
    const [vs] = ok(issueExample);
    assert.equal(vs!.key, 'TCP 192.0.2.100:80');
    assert.deepEqual(vs!.service, {
      id: { kind: 'inet', family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 },
      scheduler: 'wrr', persistence: null, pe: null, ops: false, schedFlags: [],
    });
    assert.deepEqual([vs!.quorum, vs!.hysteresis], [1, 0]);
    assert.deepEqual(vs!.sorryServer, {
      dest: { family: 4, address: '198.51.100.9', port: 80, forwarding: 'NAT', weight: 1, tunnel: null }, inhibit: false,
    });
    const rs = vs!.realServers[0]!;
    assert.equal(rs.id, 'TCP 192.0.2.100:80 -> 198.51.100.11:80');
    assert.deepEqual(rs.dest, { family: 4, address: '198.51.100.11', port: 80, forwarding: 'NAT', weight: 1, tunnel: null });
    const c = rs.checks[0]!;
    assert.equal(c.kind, 'http_get');
    // delay_loop comes from the virtual server; warmup defaults to "up to delay_loop".
    assert.deepEqual(timing(c), {
      kind: 'http_get', port: 80, timeoutMs: 2000, retry: 2, delayBeforeRetryMs: 1000, delayLoopMs: 2000, warmupMs: 2000, alpha: false, rise: 1,
    });
    assert.equal(c.connectIp, '198.51.100.11');
    if (c.kind === 'http_get') {
      assert.deepEqual(c.urls, [{ path: '/health', statusCodes: [[200, 200]], digest: undefined, virtualhost: undefined }]);
      assert.equal(c.httpProtocol, '1.0');
    }
  });
  it("keepalived's defaults where keys are absent (REFERENCE.md: health checker defaults)", () => {
    const [vs] = ok(`virtual_servers:
  - address: 192.0.2.100
    port: 80
    real_servers:
      - address: 198.51.100.11
        port: 80
        checks:
          - tcp_check:
          - http_get: { urls: [{ path: / }] }
          - ssl_get: { urls: [{ path: / }] }
          - dns_check: {}
          - smtp_check: {}
          - misc_check: { misc_path: [/usr/local/bin/check, --fast] }
          - ping_check: {}
          - udp_check: { payload: 0a0b }
`);
    assert.equal(vs!.service.scheduler, 'wlc');
    assert.deepEqual([vs!.quorum, vs!.hysteresis, vs!.sorryServer], [1, 0, null]);
    const t = vs!.realServers[0]!.checks.map(timing);
    const base = { port: 80, timeoutMs: 5000, delayLoopMs: 60_000, warmupMs: 60_000, alpha: false, rise: 1 };
    assert.deepEqual(t, [
      { ...base, kind: 'tcp_check', retry: 1, delayBeforeRetryMs: 1000 },
      { ...base, kind: 'http_get', retry: 1, delayBeforeRetryMs: 3000 },
      { ...base, kind: 'ssl_get', retry: 1, delayBeforeRetryMs: 3000 },
      { ...base, kind: 'dns_check', retry: 3, delayBeforeRetryMs: 1000 },
      { ...base, kind: 'smtp_check', retry: 1, delayBeforeRetryMs: 1000 },
      // misc: no connect target; misc_timeout defaults to delay_loop.
      { ...base, kind: 'misc_check', port: 0, timeoutMs: 60_000, retry: 0, delayBeforeRetryMs: 1000 },
      { ...base, kind: 'ping_check', retry: 1, delayBeforeRetryMs: 1000 },
      { ...base, kind: 'udp_check', retry: 1, delayBeforeRetryMs: 1000 },
    ]);
    const [, http, ssl, dns, smtp, misc, , udp] = vs!.realServers[0]!.checks;
    assert.ok(http!.kind === 'http_get' && http.urls[0]!.statusCodes[0]![0] === 200 && http.urls[0]!.statusCodes[0]![1] === 299);
    assert.ok(ssl!.kind === 'ssl_get' && !ssl.enableSni && !ssl.verifyCertificate);
    assert.ok(dns!.kind === 'dns_check' && dns.queryType === 'SOA' && dns.queryName === '.');
    assert.ok(smtp!.kind === 'smtp_check' && smtp.heloName === 'smtpchecker.keepalived.org');
    assert.ok(misc!.kind === 'misc_check' && !misc.dynamic);
    assert.deepEqual(misc!.kind === 'misc_check' && misc.argv, ['/usr/local/bin/check', '--fast']);
    assert.deepEqual(udp!.kind === 'udp_check' && [udp.payloadHex, udp.requireReply, udp.replyPrefixHex], ['0a0b', false, undefined]);
  });
  it('the model survives deepFreeze (load.ts freezes the whole config)', () => {
    const vss = ok(`virtual_servers:
  - address: 192.0.2.100
    port: 53
    protocol: UDP
    real_servers:
      - address: 198.51.100.11
        port: 53
        checks:
          - udp_check: { payload: 0A0B, require_reply: FF }
          - udp_check: { require_reply: true }
`);
    const frozen = deepFreeze(vss);
    const [a, b] = frozen[0]!.realServers[0]!.checks;
    assert.deepEqual(a!.kind === 'udp_check' && [a.payloadHex, a.requireReply, a.replyPrefixHex], ['0a0b', true, 'ff']);
    assert.deepEqual(b!.kind === 'udp_check' && [b.payloadHex, b.requireReply, b.replyPrefixHex], ['', true, undefined]);
    assert.ok(Object.isFrozen(frozen[0]!.realServers[0]!.dest));
  });
  it('misc_path must name an absolute program', () => {
    assert.deepEqual(errorsOf(`virtual_servers:
  - address: 192.0.2.100
    port: 80
    real_servers:
      - address: 198.51.100.11
        port: 80
        checks:
          - misc_check: { misc_path: [check.sh, --x] }
          - misc_check: { misc_path: check.sh --x }
`), [
      'lb.yaml:8:38 virtual_servers[0].real_servers[0].checks[0].misc_check.misc_path: expected an absolute program path, got "check.sh"',
      'lb.yaml:9:38 virtual_servers[0].real_servers[0].checks[1].misc_check.misc_path: expected an absolute program path, got "check.sh"',
    ]);
  });
  it('timing keys are inherited virtual server -> real server -> check, the nearest winning', () => {
    const [vs] = ok(`virtual_servers:
  - address: 192.0.2.100
    port: 80
    delay_loop: 10
    alpha: true
    retry: 4
    warmup: false
    real_servers:
      - address: 198.51.100.11
        port: 80
        connect_timeout: 3
        retry: 0
        checks:
          - tcp_check: { delay_loop: 1, warmup: 0.5, rise: 2 }
          - tcp_check: { alpha: false }
      - address: 198.51.100.12
        port: 80
        checks: [{ tcp_check: {} }]
`);
    const [a, b] = vs!.realServers[0]!.checks.map(timing);
    assert.deepEqual(a, { kind: 'tcp_check', port: 80, timeoutMs: 3000, retry: 0, delayBeforeRetryMs: 1000, delayLoopMs: 1000, warmupMs: 500, alpha: true, rise: 2 });
    assert.deepEqual(b, { kind: 'tcp_check', port: 80, timeoutMs: 3000, retry: 0, delayBeforeRetryMs: 1000, delayLoopMs: 10_000, warmupMs: 0, alpha: false, rise: 1 });
    assert.deepEqual(timing(vs!.realServers[1]!.checks[0]!), {
      kind: 'tcp_check', port: 80, timeoutMs: 5000, retry: 4, delayBeforeRetryMs: 1000, delayLoopMs: 10_000, warmupMs: 0, alpha: true, rise: 1,
    });
  });
  it('fwmark services, IPv6, DR/TUN, persistence, sorry server options, per-server lb_kind', () => {
    const vss = ok(`virtual_servers:
  - fwmark: 7
    ip_family: inet6
    lb_kind: DR
    persistence_timeout: 300
    persistence_granularity: 64
    real_servers:
      - address: "2001:DB8:1::0011"
        checks:
          - http_get: { urls: [{ path: /, status_code: ["200-204", 301] }], connect_port: 8080 }
          - dns_check: { type: AAAA, name: example.org }
  - address: 192.0.2.101
    port: 53
    protocol: UDP
    lb_algo: sh
    ops: true
    persistence_timeout: 60
    persistence_granularity: 255.255.255.0
    persistence_engine: sip
    sorry_server: { address: 198.51.100.9, port: 5353, weight: 3, inhibit_on_failure: true }
    real_servers:
      - { address: 198.51.100.11, port: 53, lb_kind: TUN, weight: 0, inhibit_on_failure: true }
`);
    const [fw, udp] = vss;
    assert.equal(fw!.key, 'FWM 7 IPv6');
    assert.deepEqual(fw!.service.persistence, { timeoutS: 300, netmaskPrefix: 64 });
    const rs = fw!.realServers[0]!;
    assert.deepEqual(rs.dest, { family: 6, address: '2001:db8:1::11', port: 0, forwarding: 'DR', weight: 1, tunnel: null });
    assert.equal(rs.id, 'FWM 7 IPv6 -> [2001:db8:1::11]:0');
    assert.deepEqual(rs.checks.map((c) => [c.kind, c.connectIp, c.connectPort]), [
      ['http_get', '2001:db8:1::11', 8080], ['dns_check', '2001:db8:1::11', 53]]);
    const http = rs.checks[0]!;
    assert.deepEqual(http.kind === 'http_get' && http.urls[0]!.statusCodes, [[200, 204], [301, 301]]);
    assert.equal(udp!.key, 'UDP 192.0.2.101:53');
    assert.deepEqual(udp!.service, {
      id: { kind: 'inet', family: 4, protocol: 'UDP', address: '192.0.2.101', port: 53 },
      scheduler: 'sh', persistence: { timeoutS: 60, netmaskPrefix: 24 }, pe: 'sip', ops: true, schedFlags: [],
    });
    assert.deepEqual(udp!.sorryServer, {
      dest: { family: 4, address: '198.51.100.9', port: 5353, forwarding: 'NAT', weight: 3, tunnel: null }, inhibit: true,
    });
    assert.deepEqual(udp!.realServers[0]!.dest, { family: 4, address: '198.51.100.11', port: 53, forwarding: 'TUN', weight: 0, tunnel: { type: 'ipip' } });
    assert.equal(udp!.realServers[0]!.inhibitOnFailure, true);
  });
  it('an absent virtual_servers is an empty list', () => {
    assert.deepEqual(ok('{}\n'), []);
  });
});

describe('virtual_servers: errors at file:line:col', () => {
  it('points at the bad value with its key path', () => {
    assert.deepEqual(errorsOf(issueExample.replace('weight: 1', 'weight: 70000')), [
      'lb.yaml:15:17 virtual_servers[0].real_servers[0].weight: expected an integer 0..65535, got 70000',
    ]);
    assert.deepEqual(errorsOf(issueExample.replace('lb_algo: wrr ', 'lb_algo: wrrr')), [
      'lb.yaml:5:14 virtual_servers[0].lb_algo: expected one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, mh, sed, nq, fo, ovf, twos, got "wrrr" (did you mean wrr?)',
    ]);
    assert.deepEqual(errorsOf(issueExample.replace('lb_kind: NAT ', 'lb_kind: LVS ').replace('port: 80\n    protocol', 'portt: 80\n    protocol')), [
      'lb.yaml:3:5 virtual_servers[0].portt: unknown key (did you mean port?)',
      'lb.yaml:6:14 virtual_servers[0].lb_kind: expected one of NAT, DR, TUN, got "LVS"',
    ]);
  });
  it('reports every check error at once, with suggestions', () => {
    assert.deepEqual(errorsOf(`virtual_servers:
  - address: 192.0.2.100
    port: 80
    real_servers:
      - address: 198.51.100.11
        port: 80
        checks:
          - htp_get: { urls: [{ path: /x }] }
          - tcp_check: {}
            http_get: {}
          - http_get:
          - http_get: { urls: [{ path: /x, status_code: "300-200", digest: xyz }] }
          - misc_check: { misc_path: "/bin/check $HOST" }
          - tcp_check: { conect_timeout: 3 }
          - dns_check: { type: SRV }
          - udp_check: { payload: abc }
`), [
      'lb.yaml:8:13 virtual_servers[0].real_servers[0].checks[0].htp_get: unknown checker (did you mean http_get?); expected one of tcp_check, http_get, ssl_get, dns_check, smtp_check, misc_check, ping_check, udp_check',
      'lb.yaml:9:13 virtual_servers[0].real_servers[0].checks[1]: expected a mapping with exactly one checker key (tcp_check, http_get, ssl_get, dns_check, smtp_check, misc_check, ping_check, udp_check), got 2 keys (tcp_check, http_get)',
      'lb.yaml:11:13 virtual_servers[0].real_servers[0].checks[2].http_get.urls: required key is missing',
      'lb.yaml:12:57 virtual_servers[0].real_servers[0].checks[3].http_get.urls[0].status_code: expected a status code 100..599 or a range like "200-299", got "300-200"',
      'lb.yaml:12:76 virtual_servers[0].real_servers[0].checks[3].http_get.urls[0].digest: expected an MD5 digest (32 hex digits), got "xyz"',
      'lb.yaml:13:38 virtual_servers[0].real_servers[0].checks[4].misc_check.misc_path: is run without a shell: quotes, $, |, ;, & and redirections do not work here; give a list of arguments',
      'lb.yaml:14:26 virtual_servers[0].real_servers[0].checks[5].tcp_check.conect_timeout: unknown key (did you mean connect_timeout?)',
      'lb.yaml:15:32 virtual_servers[0].real_servers[0].checks[6].dns_check.type: expected one of A, NS, CNAME, SOA, MX, TXT, AAAA, got "SRV"',
      'lb.yaml:16:35 virtual_servers[0].real_servers[0].checks[7].udp_check.payload: expected hex bytes (e.g. 0a1b), got "abc"',
    ]);
  });
  it('how the service is named: address + port, or fwmark alone', () => {
    assert.deepEqual(errorsOf(`virtual_servers:
  - address: 192.0.2.100
    port: 80
    fwmark: 3
  - port: 80
  - address: 192.0.2.100
    ip_family: inet
    port: 0
`), [
      'lb.yaml:2:14 virtual_servers[0].address: a fwmark virtual server has no address or port (the mark selects the packets)',
      'lb.yaml:3:11 virtual_servers[0].port: a fwmark virtual server has no address or port (the mark selects the packets)',
      'lb.yaml:5:5 virtual_servers[1].address: required key is missing (or give fwmark)',
      'lb.yaml:7:16 virtual_servers[2].ip_family: only for fwmark virtual servers; the address gives the family',
      'lb.yaml:8:11 virtual_servers[2].port: expected an integer 1..65535, got 0',
    ]);
  });
  it('cross-checks: families, duplicates, sorry server, granularity are errors; ports, ops, hysteresis, misc_timeout warnings', () => {
    const r = load(`virtual_servers:
  - address: 192.0.2.100
    port: 80
    lb_kind: DR
    ops: true
    quorum: 2
    hysteresis: 2
    persistence_granularity: 255.255.255.0
    sorry_server: { address: 198.51.100.11, port: 80 }
    real_servers:
      - address: 198.51.100.10
        port: 8080
      - address: "2001:db8::11"
        port: 80
      - address: 198.51.100.11
        port: 80
        lb_kind: NAT
        checks:
          - misc_check: { misc_path: /bin/true, misc_timeout: 90 }
      - address: 198.51.100.11
        port: 80
  - address: 192.0.2.100
    port: 80
    protocol: TCP
  - fwmark: 1
    persistence_timeout: 60
    persistence_granularity: 64
    real_servers:
      - address: 198.51.100.20
        checks:
          - tcp_check:
          - dns_check: { type: SOA }
          - ping_check: {}
          - http_get: { urls: [{ path: / }], connect_port: 8080 }
`);
    assert.deepEqual(r.errors, [
      'lb.yaml:8:30 virtual_servers[0].persistence_granularity: needs persistence_timeout > 0',
      'lb.yaml:9:30 virtual_servers[0].sorry_server.address: 198.51.100.11:80 is also real_servers[2]; the sorry server must be another server',
      'lb.yaml:13:18 virtual_servers[0].real_servers[1].address: must be IPv4 like TCP 192.0.2.100:80, got 2001:db8::11',
      'lb.yaml:22:14 virtual_servers[1].address: TCP 192.0.2.100:80 is already defined by virtual_servers[0]',
      'lb.yaml:27:30 virtual_servers[2].persistence_granularity: an IPv4 virtual server takes a netmask like 255.255.255.0, got 64',
      'lb.yaml:31:13 virtual_servers[2].real_servers[0].checks[0].tcp_check.connect_port: required: the real server has no port (fwmark service)',
    ]);
    // keepalived check_data.c validate_check_config() corrects these and carries on.
    assert.deepEqual(r.warnings, [
      'lb.yaml:5:10 warning: virtual_servers[0].ops: one-packet scheduling (ops) is only for UDP virtual servers: turned off, as keepalived does',
      'lb.yaml:7:17 warning: virtual_servers[0].hysteresis: 2 is not less than quorum 2: set to 1, as keepalived does',
      'lb.yaml:12:15 warning: virtual_servers[0].real_servers[0].port: DR cannot change the port: the table entry takes 80 like the virtual server, as keepalived resets it (checks still connect to 8080; use lb_kind NAT to change ports)',
      'lb.yaml:19:63 warning: virtual_servers[0].real_servers[2].checks[0].misc_check.misc_timeout: is longer than delay_loop (60 s): a slow run delays the next one',
      'lb.yaml:20:18 warning: virtual_servers[0].real_servers[3].address: 198.51.100.11:80 is already real_servers[2] of this virtual server: this one is ignored, as keepalived removes the second',
    ]);
  });

  it('keepalived\'s corrections are what runs: ops off, quorum down to the total weight, hysteresis below it, DR port reset, the duplicate gone', () => {
    const r = load(`virtual_servers:
  - address: 192.0.2.100
    port: 80
    lb_kind: DR
    ops: true
    quorum: 9
    hysteresis: 3
    real_servers:
      - { address: 198.51.100.10, port: 8080, weight: 2 }
      - { address: 198.51.100.11, port: 80, weight: 3 }
      - { address: 198.51.100.11, port: 80, weight: 7 }
`);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, [
      'lb.yaml:5:10 warning: virtual_servers[0].ops: one-packet scheduling (ops) is only for UDP virtual servers: turned off, as keepalived does',
      // keepalived removes the duplicate first, then sums: 2 + 3 (observed with keepalived -t 2.2.7).
      'lb.yaml:6:13 warning: virtual_servers[0].quorum: 9 is more than the real servers\' total weight 5: reduced to 5, as keepalived reduces it (a quorum above the total could never be met)',
      'lb.yaml:9:41 warning: virtual_servers[0].real_servers[0].port: DR cannot change the port: the table entry takes 80 like the virtual server, as keepalived resets it (checks still connect to 8080; use lb_kind NAT to change ports)',
      'lb.yaml:11:20 warning: virtual_servers[0].real_servers[2].address: 198.51.100.11:80 is already real_servers[1] of this virtual server: this one is ignored, as keepalived removes the second',
    ]);
    const vs = r.model![0]!;
    // hysteresis 3 < the reduced quorum 5: unchanged.
    assert.deepEqual({ ops: vs.service.ops, quorum: vs.quorum, hysteresis: vs.hysteresis }, { ops: false, quorum: 5, hysteresis: 3 });
    assert.deepEqual(vs.realServers.map((rs) => [rs.id, rs.dest.port, rs.dest.weight]), [
      ['TCP 192.0.2.100:80 -> 198.51.100.10:80', 80, 2],
      ['TCP 192.0.2.100:80 -> 198.51.100.11:80', 80, 3],
    ]);
  });

  it('a DR port reset that makes two real servers one table entry is an error (keepalived runs both; tandem cannot)', () => {
    assert.deepEqual(errorsOf(`virtual_servers:
  - address: 192.0.2.100
    port: 80
    lb_kind: DR
    real_servers:
      - { address: 198.51.100.10, port: 8080 }
      - { address: 198.51.100.10, port: 80 }
`), ['lb.yaml:7:41 virtual_servers[0].real_servers[1].port: with DR/TUN ports reset to 80, this is real_servers[0] again: one server cannot be two table entries (keepalived runs both; tandem refuses it)']);
  });

});
