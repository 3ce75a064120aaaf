// global.backend and what the nft backend can express, as config errors located at
// file:line:col (src/config/lbBackend.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configErrors, loadOk, loadResult, loadWithWarnings } from '../lib/config.js';
import { backendConfigErrors } from '../../src/config/lbBackend.js';
import { formatConfigError } from '../../src/config/errors.js';
import { loadConfigFile } from '../../src/config/load.js';
import { loadConfigFileOffThread } from '../../src/config/loadOffThread.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBackendKind, kernelHasIpvs } from '../../src/lb/select.js';
import { lbBackendFor } from '../../src/daemon/composeLate.js';
import { NftBackend } from '../../src/lb/nft/backend.js';

const vs = (backend: string, body: string) => `global:
  backend: ${backend}
virtual_servers:
  - address: 192.0.2.10
    port: 80
${body}`;

describe('global.backend', () => {
  it('defaults to auto and accepts ipvs, nft', () => {
    assert.equal(loadOk('global: {}\n').global.backend, 'auto');
    assert.equal(loadOk('global:\n  backend: nft\n').global.backend, 'nft');
    assert.equal(loadOk('global:\n  backend: ipvs\n').global.backend, 'ipvs');
    assert.match(configErrors('global:\n  backend: iptables\n')[0]!, /^lb\.yaml:2:12 global\.backend: /);
  });

  it('auto resolves by the kernel; the selector names the backend', () => {
    assert.equal(resolveBackendKind({ backend: 'auto' }, () => false), 'nft');
    assert.equal(resolveBackendKind({ backend: 'auto' }, () => true), 'ipvs');
    assert.equal(resolveBackendKind({ backend: 'nft' }, () => true), 'nft');
    const sel = lbBackendFor({ backend: 'auto', ipvsBackend: 'netlink' }, () => false);
    assert.equal(sel.name, 'nft');
    assert.ok(sel.backend instanceof NftBackend);
    assert.equal(lbBackendFor({ backend: 'auto', ipvsBackend: 'ipvsadm' }, () => true).name, 'ipvsadm');
  });

  it('detects IPVS from /proc/net/ip_vs or an ip_vs module, else not', () => {
    const probe = (files: Record<string, string>) => ({ exists: (p: string) => p in files, read: (p: string) => Object.entries(files).find(([k]) => p.endsWith(k))?.[1] });
    assert.equal(kernelHasIpvs(probe({ '/proc/net/ip_vs': '' })), true);
    assert.equal(kernelHasIpvs(probe({ 'modules.dep': 'kernel/net/netfilter/ipvs/ip_vs.ko.xz: kernel/net/netfilter/nf_conntrack.ko.xz\n' })), true);
    assert.equal(kernelHasIpvs(probe({ 'modules.dep': 'kernel/net/netfilter/nf_tables.ko:\n' })), false);
  });
});

describe('nft backend limits are located config errors', () => {
  it('a scheduler nft cannot express, naming the backend', () => {
    const errs = configErrors(vs('nft', '    lb_algo: lc\n'));
    assert.deepEqual(errs, ['lb.yaml:6:14 virtual_servers[0].lb_algo: the nft backend cannot express lc (it can: rr, wrr, sh, dh)']);
  });

  it('the default scheduler (wlc) is refused too, at the virtual server', () => {
    const errs = configErrors(vs('nft', '    real_servers:\n      - address: 198.51.100.1\n'));
    assert.deepEqual(errs, ['lb.yaml:4:5 virtual_servers[0].lb_algo: the nft backend cannot express wlc (it can: rr, wrr, sh, dh)']);
  });

  it('DR and TUN forwarding, at the lb_kind that says so', () => {
    const errs = configErrors(vs('nft', `    lb_algo: rr
    lb_kind: DR
    real_servers:
      - address: 198.51.100.1
      - address: 198.51.100.2
        lb_kind: TUN
`));
    assert.deepEqual(errs, [
      'lb.yaml:7:14 virtual_servers[0].lb_kind: the nft backend forwards by NAT (DNAT) only, not DR (use lb_kind NAT, or global.backend: ipvs)',
      'lb.yaml:11:18 virtual_servers[0].real_servers[1].lb_kind: the nft backend forwards by NAT (DNAT) only, not TUN (use lb_kind NAT, or global.backend: ipvs)',
    ]);
  });

  it('ops, persistence_engine and a masked IPv6 persistence key', () => {
    assert.deepEqual(configErrors(`global:
  backend: nft
virtual_servers:
  - address: 2001:db8::10
    port: 53
    protocol: UDP
    lb_algo: rr
    ops: true
    persistence_timeout: 60
    persistence_granularity: 64
`), [
      'lb.yaml:8:10 virtual_servers[0].ops: the nft backend cannot do one-packet scheduling: conntrack NAT schedules per flow',
      'lb.yaml:10:30 virtual_servers[0].persistence_granularity: the nft backend cannot mask IPv6 persistence keys (nft 1.0.6 aborts on it): use 128 or leave it out',
    ]);
  });

  it('ops on a TCP service is turned off with a warning (as keepalived), so it is no nft error', () => {
    const { config, warnings } = loadWithWarnings(vs('nft', '    lb_algo: rr\n    ops: true\n'));
    assert.equal(config.virtualServers[0]!.service.ops, false);
    assert.deepEqual(warnings, ['lb.yaml:7:10 warning: virtual_servers[0].ops: one-packet scheduling (ops) is only for UDP virtual servers: turned off, as keepalived does']);
  });

  it('nft_masquerade is an error with backend ipvs', () => {
    assert.deepEqual(configErrors(vs('ipvs', '    lb_algo: rr\n    nft_masquerade: true\n')), [
      'lb.yaml:7:21 virtual_servers[0].nft_masquerade: only the nft backend can masquerade (global.backend: nft); IPVS NAT needs the real servers to route replies through the director',
    ]);
  });

  it('a config nft can express loads, with masquerade and persistence in the service', () => {
    const c = loadOk(vs('nft', '    lb_algo: wrr\n    nft_masquerade: true\n    persistence_timeout: 300\n    persistence_granularity: 255.255.255.0\n    real_servers:\n      - address: 198.51.100.1\n        weight: 3\n'));
    const s = c.virtualServers[0]!.service;
    assert.equal(s.masquerade, true);
    assert.deepEqual(s.persistence, { timeoutS: 300, netmaskPrefix: 24 });
  });

  it('auto: the backend errors are in the load result, also when a reload loads in the worker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-nft-config-'));
    try {
      const file = join(dir, 'lb.yaml');
      writeFileSync(file, vs('auto', '    lb_algo: lc\n'));
      const here = loadConfigFile(file);
      const there = await loadConfigFileOffThread(file);
      assert.ok(here.ok && there.ok);
      assert.equal(here.backendIssues.nft.length, 1);
      assert.deepEqual(there.backendIssues, here.backendIssues);
      assert.deepEqual(backendConfigErrors(there, 'nft').map((e) => e.message), ['the nft backend cannot express lc (it can: rr, wrr, sh, dh)']);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('auto: loads, and hands the daemon the located errors of the backend it resolved to', () => {
    const c = loadResult(vs('auto', '    lb_algo: lc\n    nft_masquerade: true\n'));
    assert.deepEqual(backendConfigErrors(c, 'nft').map(formatConfigError), ['lb.yaml:6:14 virtual_servers[0].lb_algo: the nft backend cannot express lc (it can: rr, wrr, sh, dh)']);
    assert.deepEqual(backendConfigErrors(c, 'ipvs').map(formatConfigError), [
      'lb.yaml:7:21 virtual_servers[0].nft_masquerade: only the nft backend can masquerade (global.backend: nft); IPVS NAT needs the real servers to route replies through the director',
    ]);
    assert.deepEqual(backendConfigErrors(loadResult(vs('auto', '    lb_algo: sh\n')), 'nft'), []);
  });
});
