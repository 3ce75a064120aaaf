// VMAC interfaces (src/net/vmac.ts over src/native/rtnetlink_link.cc) against a real kernel, in
// a namespace this test creates: the macvlan keepalived makes (private mode, RFC 5798 §7.3 MAC,
// up), the sysctls keepalived writes and puts back, adoption of a matching one, refusal of a
// conflicting one, IPv6 without an autoconfigured link-local, removal at release.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requireRoot, requireTools } from '../lib/netns.js';

const NS = `tVm${process.pid}`;
const vmacUrl = new URL('../../src/net/vmac.js', import.meta.url).href;

function sh(...argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const ns = (...argv: string[]) => sh('ip', 'netns', 'exec', NS, ...argv);

/** Runs `body` (module code with `vm` = net/vmac.js, `sh`, `sysctl`, `link`) in the namespace; returns what it prints as JSON. */
function inNs(body: string): any {
  const src = `
const vm = await import(${JSON.stringify(vmacUrl)});
const { execFileSync } = await import('node:child_process');
const { readFileSync } = await import('node:fs');
const sysctl = (p) => readFileSync('/proc/sys/' + p, 'utf8').trim();
const link = (n) => { try { return JSON.parse(execFileSync('ip', ['-j', '-d', 'link', 'show', 'dev', n], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))[0]; } catch { return null; } };
const addrs = (n) => JSON.parse(execFileSync('ip', ['-j', '-6', 'addr', 'show', 'dev', n], { encoding: 'utf8' }))[0]?.addr_info.map((a) => a.local) ?? [];
const out = {};
${body}
process.stdout.write(JSON.stringify(out));`;
  return JSON.parse(ns(process.execPath, '--input-type=module', '-e', src));
}

before(() => {
  requireRoot();
  requireTools('ip');
  sh('ip', 'netns', 'add', NS);
  sh('ip', '-n', NS, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
  sh('ip', '-n', NS, 'link', 'set', 'd0', 'up');
  sh('ip', '-n', NS, 'link', 'set', 'd1', 'up');
  sh('ip', '-n', NS, 'addr', 'add', 'fe80::1234/64', 'dev', 'd0');
});
after(() => { spawnSync('ip', ['netns', 'del', NS]); });

test('IPv4 VMAC: a private macvlan with 00:00:5e:00:01:VRID, up, keepalived\'s sysctls, base restored and link removed at release', () => {
  const o = inNs(`
    const m = new vm.VmacManager();
    const req = { name: 'vrrp.7', parent: 'd0', family: 4, vrid: 7 };
    const before = { ignore: sysctl('net/ipv4/conf/d0/arp_ignore'), filter: sysctl('net/ipv4/conf/d0/arp_filter') };
    const h = m.acquire(req);
    out.handle = h; out.before = before;
    out.link = link('vrrp.7');
    out.vmacSysctl = ['arp_ignore', 'accept_local', 'rp_filter', 'promote_secondaries'].map((k) => sysctl('net/ipv4/conf/vrrp.7/' + k));
    out.disableIpv6 = sysctl('net/ipv6/conf/vrrp.7/disable_ipv6');
    out.v6addrs = addrs('vrrp.7');
    out.baseSysctl = [sysctl('net/ipv4/conf/d0/arp_ignore'), sysctl('net/ipv4/conf/d0/arp_filter')];
    m.release(h, req);
    out.after = link('vrrp.7');
    out.baseAfter = [sysctl('net/ipv4/conf/d0/arp_ignore'), sysctl('net/ipv4/conf/d0/arp_filter')];
  `);
  assert.deepEqual(o.handle, { name: 'vrrp.7', mac: '00:00:5e:00:01:07', created: true });
  assert.equal(o.link.address, '00:00:5e:00:01:07');
  assert.equal(o.link.link, 'd0');
  assert.equal(o.link.linkinfo.info_kind, 'macvlan');
  assert.equal(o.link.linkinfo.info_data.mode, 'private');
  assert.ok(o.link.flags.includes('UP'), `not up: ${o.link.flags}`);
  assert.deepEqual(o.vmacSysctl, ['1', '1', '0', '1']);
  assert.equal(o.disableIpv6, '1', 'no IPv6 on an IPv4 VMAC, as keepalived');
  assert.deepEqual(o.v6addrs, []);
  assert.deepEqual(o.baseSysctl, ['1', '1']);
  assert.deepEqual(o.before, { ignore: '0', filter: '0' });
  assert.deepEqual(o.baseAfter, ['0', '0'], 'base sysctls put back');
  assert.equal(o.after, null, 'VMAC removed at release');
});

test('a matching VMAC is adopted (not deleted at release); a conflicting interface is refused by name', () => {
  ns('ip', 'link', 'add', 'vrrp.8', 'link', 'd0', 'address', '00:00:5e:00:01:08', 'type', 'macvlan', 'mode', 'private');
  ns('ip', 'link', 'add', 'vrrp.9', 'link', 'd0', 'address', '02:00:00:00:00:09', 'type', 'macvlan', 'mode', 'private');
  try {
    const o = inNs(`
      const m = new vm.VmacManager();
      const req = { name: 'vrrp.8', parent: 'd0', family: 4, vrid: 8 };
      const h = m.acquire(req);
      out.created = h.created;
      m.release(h, req);
      out.still = link('vrrp.8') !== null;
      try { m.acquire({ name: 'vrrp.9', parent: 'd0', family: 4, vrid: 9 }); out.refused = null; }
      catch (e) { out.refused = { vmacError: e instanceof vm.VmacError, message: e.message }; }
      try { m.acquire({ name: 'd1', parent: 'd0', family: 4, vrid: 10 }); out.refusedVeth = null; }
      catch (e) { out.refusedVeth = e.message; }
    `);
    assert.equal(o.created, false);
    assert.equal(o.still, true, 'an adopted VMAC stays');
    assert.equal(o.refused?.vmacError, true);
    assert.match(o.refused.message, /vrrp\.9 exists but is not a macvlan on d0 with MAC 00:00:5e:00:01:09/);
    assert.match(o.refusedVeth ?? '', /d1 exists but is not a macvlan/);
  } finally {
    spawnSync('ip', ['-n', NS, 'link', 'del', 'vrrp.8']);
    spawnSync('ip', ['-n', NS, 'link', 'del', 'vrrp.9']);
  }
});

test('IPv6 VMAC: 00:00:5e:00:02:VRID, addr_gen_mode none, the base\'s link-local and no other', () => {
  const o = inNs(`
    const m = new vm.VmacManager();
    const req = { name: 'vrrp6.5', parent: 'd0', family: 6, vrid: 5, linkLocal: 'fe80::1234' };
    const h = m.acquire(req);
    out.link = link('vrrp6.5');
    out.addrs = addrs('vrrp6.5');
    m.release(h, req);
    out.after = link('vrrp6.5');
  `);
  assert.equal(o.link.address, '00:00:5e:00:02:05');
  assert.equal(o.link.addr_gen_mode ?? o.link.inet6_addr_gen_mode, 'none');
  assert.deepEqual(o.addrs, ['fe80::1234']);
  assert.equal(o.after, null);
});

test('virtualMac follows RFC 5798 §7.3', async () => {
  const { virtualMac } = await import('../../src/net/vmac.js');
  assert.equal(virtualMac(4, 255), '00:00:5e:00:01:ff');
  assert.equal(virtualMac(6, 1), '00:00:5e:00:02:01');
});
