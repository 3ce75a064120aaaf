// ipvsadm batch rendering and `ipvsadm-save -n` parsing against golden output captured from the
// real ipvsadm 1.31 on a real IPVS kernel (test/fixtures/ipvs/README.md, capture.sh).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseIpvsSave } from '../../src/lb/ipvs/parse.js';
import { renderOp, renderOps } from '../../src/lb/ipvs/render.js';
import { opServiceId, reconcile, type TableOp } from '../../src/lb/reconcile.js';
import {
  type RealServer, SCHEDULERS, type ServiceAddress, serviceKey, type VirtualService,
} from '../../src/config/lbModel.js';
import type { LbTable } from '../../src/lb/model.js';

const fixture = (f: string) => readFileSync(new URL(`../../../test/fixtures/ipvs/${f}`, import.meta.url), 'utf8');
function parsed(f: string): LbTable {
  const r = parseIpvsSave(fixture(f));
  assert.deepEqual(r.problems, [], `${f} parses without problems`);
  return r.table;
}
/** A table as plain sorted data, so deepEqual compares content, not Map insertion order. */
function plain(t: LbTable) {
  return [...t.entries()].sort(([a], [b]) => a.localeCompare(b))
    .map(([k, e]) => ({ k, service: e.service, dests: [...e.dests.entries()].sort(([a], [b]) => a.localeCompare(b)) }));
}
const keysOf = (...ts: LbTable[]) => new Set(ts.flatMap((t) => [...t.keys()]));

const tcp = (address: string, port: number): ServiceAddress => ({ kind: 'inet', family: address.includes(':') ? 6 : 4, protocol: 'TCP', address, port });
const svc = (id: ServiceAddress, o: Partial<VirtualService> = {}): VirtualService =>
  ({ id, scheduler: 'wrr', persistence: null, pe: null, ops: false, schedFlags: [], ...o });
const dest = (address: string, port: number, o: Partial<RealServer> = {}): RealServer =>
  ({ family: address.includes(':') ? 6 : 4, address, port, forwarding: 'NAT', weight: 1, tunnel: null, ...o });

describe('parse ipvsadm-save -n (golden, ipvsadm 1.31 on Linux 6.1)', () => {
  const t = parsed('rules.save');
  it('reads every service the capture made, keyed like ipvsadm -Ln names them', () => {
    assert.deepEqual([...t.keys()].sort(), [
      'FWM 1', 'FWM 2 IPv6', 'SCTP 192.0.2.104:3868',
      'TCP 192.0.2.100:80', 'TCP 192.0.2.101:443', 'TCP 192.0.2.102:80', 'TCP 192.0.2.105:80',
      'TCP 192.0.2.106:1', 'TCP 192.0.2.106:2', 'TCP 192.0.2.106:3', 'TCP 192.0.2.106:4', 'TCP 192.0.2.106:5',
      'TCP 192.0.2.106:6', 'TCP 192.0.2.106:7', 'TCP 192.0.2.106:8', 'TCP 192.0.2.106:9',
      'TCP [2001:db8::100]:80', 'UDP 192.0.2.100:53', 'UDP 192.0.2.103:5060', 'UDP [2001:db8::100]:53',
    ].sort());
    // Every scheduler of the 6.1 kernel appears (twos is not built: see README).
    const scheds = new Set([...t.values()].map((e) => e.service.scheduler));
    assert.deepEqual([...scheds].sort(), SCHEDULERS.filter((s) => s !== 'twos').sort());
  });
  it('NAT real servers keep their own port and weight (0 included)', () => {
    const e = t.get('TCP 192.0.2.100:80')!;
    assert.deepEqual(e.service, svc(tcp('192.0.2.100', 80)));
    assert.deepEqual([...e.dests.values()], [
      dest('198.51.100.11', 80), dest('198.51.100.12', 8080, { weight: 3 }), dest('198.51.100.13', 80, { weight: 0 }),
    ]);
  });
  it('persistence, IPv4 netmask, DR with the service port', () => {
    const e = t.get('TCP 192.0.2.101:443')!;
    assert.deepEqual(e.service.persistence, { timeoutS: 300, netmaskPrefix: 32 });
    assert.deepEqual([...e.dests.keys()], ['198.51.100.21:443', '198.51.100.22:443']);
    assert.equal(e.dests.get('198.51.100.22:443')!.forwarding, 'DR');
    assert.deepEqual(t.get('TCP 192.0.2.102:80')!.service.persistence, { timeoutS: 600, netmaskPrefix: 24 });
  });
  it('TUN real servers with their tunnel type (ipip, gue port + checksum, gre)', () => {
    const d = t.get('TCP 192.0.2.102:80')!.dests;
    assert.deepEqual(d.get('198.51.100.31:80'), dest('198.51.100.31', 80, { forwarding: 'TUN', weight: 2, tunnel: { type: 'ipip' } }));
    assert.deepEqual(d.get('198.51.100.32:80')!.tunnel, { type: 'gue', port: 6080, csum: 'csum' });
    assert.deepEqual(d.get('198.51.100.33:80')!.tunnel, { type: 'gre', csum: 'nocsum' });
  });
  it('UDP with -o and with --pe sip; SCTP with scheduler flags; mh flags; weight 65535', () => {
    assert.equal(t.get('UDP 192.0.2.100:53')!.service.ops, true);
    assert.deepEqual(t.get('UDP 192.0.2.103:5060')!.service, svc(
      { kind: 'inet', family: 4, protocol: 'UDP', address: '192.0.2.103', port: 5060 },
      { scheduler: 'rr', persistence: { timeoutS: 60, netmaskPrefix: 32 }, pe: 'sip' }));
    const sctp = t.get('SCTP 192.0.2.104:3868')!;
    assert.deepEqual(sctp.service.schedFlags, ['sh-fallback', 'sh-port']);
    assert.equal(sctp.service.id.kind === 'inet' && sctp.service.id.protocol, 'SCTP');
    assert.deepEqual(t.get('TCP 192.0.2.105:80')!.service.schedFlags, ['mh-port']);
    assert.equal(t.get('TCP 192.0.2.105:80')!.dests.get('198.51.100.42:80')!.weight, 65535);
  });
  it('fwmark services, IPv4 and IPv6 (-6, prefix netmask, [addr]:0)', () => {
    const f1 = t.get('FWM 1')!;
    assert.deepEqual(f1.service.id, { kind: 'fwmark', family: 4, fwmark: 1 });
    assert.deepEqual([...f1.dests.values()], [dest('198.51.100.51', 0, { forwarding: 'DR' }), dest('198.51.100.52', 8080, { weight: 2 })]);
    const f2 = t.get('FWM 2 IPv6')!;
    assert.deepEqual(f2.service.persistence, { timeoutS: 120, netmaskPrefix: 64 });
    assert.deepEqual([...f2.dests.values()], [dest('2001:db8:1::11', 0, { forwarding: 'DR' })]);
  });
  it('IPv6 services', () => {
    const e = t.get('TCP [2001:db8::100]:80')!;
    assert.deepEqual([...e.dests.keys()], ['[2001:db8:1::11]:80', '[2001:db8:1::12]:8080']);
    assert.deepEqual(t.get('UDP [2001:db8::100]:53')!.service.persistence, { timeoutS: 30, netmaskPrefix: 64 });
  });
  it('a hand-written rule file (ipvsadm -R input, ipvsadm defaults) reads as the table the kernel saved', () => {
    // rules.restore leaves out -s (wlc), gives a DR server another port (ipvsadm rewrites it),
    // a fwmark server without a port, TUN without --tun-type: the saved table is the same.
    assert.deepEqual(plain(parsed('rules.restore')), plain(t));
  });
  it('a public sample (Debian /etc/ipvsadm.rules shape, with its comment line)', () => {
    const p = parsed('public-sample.save');
    assert.equal(p.size, 2);
    assert.equal(p.get('TCP 203.0.113.10:8080')!.dests.size, 3);
  });
  it('reports what it cannot read, with the line, and keeps the rest', () => {
    const r = parseIpvsSave([
      '-A -t 192.0.2.1:80 -s rr',
      '-a -t 192.0.2.9:80 -r 198.51.100.1:80 -m -w 1',
      '-A -t 192.0.2.2:80 -s rr --bogus',
      '-a -t 192.0.2.1:80 -r 198.51.100.999:80 -m -w 1',
      'IP Virtual Server version 1.2.1 (size=4096)',
      '-A -t 192.0.2.1:80 -s wlc',
      '-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1',
    ].join('\n'));
    assert.deepEqual(r.problems.map((p) => [p.line, p.reason]), [
      [2, 'real server of TCP 192.0.2.9:80, which is not defined before it'],
      [3, 'unknown option "--bogus"'],
      [4, 'bad real server address "198.51.100.999:80"'],
      [5, 'unknown option "IP"'],
      [6, 'TCP 192.0.2.1:80 appears twice'],
    ]);
    assert.deepEqual([...r.table.keys()], ['TCP 192.0.2.1:80']);
    assert.equal(r.table.get('TCP 192.0.2.1:80')!.dests.size, 1);
  });
  it('canonicalises addresses so they compare equal to the config\'s', () => {
    const r = parseIpvsSave('-A -t [2001:DB8:0::0100]:80 -s rr\n-a -t [2001:db8::100]:80 -r [2001:0db8:1:0:0:0:0:11]:80 -m -w 1\n');
    assert.deepEqual(r.problems, []);
    assert.deepEqual([...r.table.keys()], ['TCP [2001:db8::100]:80']);
    assert.deepEqual([...r.table.get('TCP [2001:db8::100]:80')!.dests.keys()], ['[2001:db8:1::11]:80']);
  });
});

describe('render ipvsadm -R lines', () => {
  const v4 = tcp('192.0.2.10', 80);
  const table: Array<[TableOp, string]> = [
    [{ op: 'add_service', service: svc(v4, { scheduler: 'rr' }), reason: 'missing' }, '-A -t 192.0.2.10:80 -s rr'],
    [{ op: 'edit_service', service: svc(v4, { scheduler: 'wlc', persistence: { timeoutS: 300, netmaskPrefix: 32 } }), was: svc(v4), reason: 'differs' },
      '-E -t 192.0.2.10:80 -s wlc -p 300'],
    [{ op: 'add_service', service: svc(v4, { persistence: { timeoutS: 60, netmaskPrefix: 24 } }), reason: 'missing' },
      '-A -t 192.0.2.10:80 -s wrr -p 60 -M 255.255.255.0'],
    [{ op: 'add_service', service: svc({ kind: 'inet', family: 6, protocol: 'UDP', address: '2001:db8::10', port: 53 }, { persistence: { timeoutS: 30, netmaskPrefix: 64 }, ops: true }), reason: 'missing' },
      '-A -u [2001:db8::10]:53 -s wrr -p 30 -M 64 -o'],
    [{ op: 'add_service', service: svc({ kind: 'inet', family: 4, protocol: 'SCTP', address: '192.0.2.10', port: 3868 }, { scheduler: 'sh', schedFlags: ['sh-fallback', 'sh-port'] }), reason: 'missing' },
      '-A --sctp-service 192.0.2.10:3868 -s sh -b sh-fallback,sh-port'],
    [{ op: 'add_service', service: svc({ kind: 'inet', family: 4, protocol: 'UDP', address: '192.0.2.10', port: 5060 }, { pe: 'sip', persistence: { timeoutS: 60, netmaskPrefix: 32 } }), reason: 'missing' },
      '-A -u 192.0.2.10:5060 -s wrr -p 60 --pe sip'],
    [{ op: 'add_service', service: svc({ kind: 'fwmark', family: 4, fwmark: 7 }), reason: 'missing' }, '-A -f 7 -s wrr'],
    [{ op: 'delete_service', service: svc({ kind: 'fwmark', family: 6, fwmark: 7 }), reason: 'not_desired' }, '-D -f 7 -6'],
    [{ op: 'add_dest', service: v4, dest: dest('198.51.100.1', 8080, { weight: 3 }), reason: 'missing' },
      '-a -t 192.0.2.10:80 -r 198.51.100.1:8080 -m -w 3'],
    [{ op: 'add_dest', service: v4, dest: dest('198.51.100.1', 80, { forwarding: 'DR' }), reason: 'missing' },
      '-a -t 192.0.2.10:80 -r 198.51.100.1:80 -g -w 1'],
    [{ op: 'edit_dest', service: v4, dest: dest('198.51.100.1', 80, { forwarding: 'TUN', weight: 0, tunnel: { type: 'ipip' } }), was: dest('198.51.100.1', 80), reason: 'differs' },
      '-e -t 192.0.2.10:80 -r 198.51.100.1:80 -i -w 0'],
    [{ op: 'add_dest', service: v4, dest: dest('198.51.100.1', 80, { forwarding: 'TUN', tunnel: { type: 'gue', port: 6080, csum: 'remcsum' } }), reason: 'missing' },
      '-a -t 192.0.2.10:80 -r 198.51.100.1:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum'],
    [{ op: 'delete_dest', service: v4, dest: dest('198.51.100.1', 80), reason: 'not_desired' }, '-d -t 192.0.2.10:80 -r 198.51.100.1:80'],
    [{ op: 'add_dest', service: { kind: 'fwmark', family: 6, fwmark: 2 }, dest: dest('2001:db8:1::1', 0, { forwarding: 'DR' }), reason: 'missing' },
      '-a -f 2 -6 -r [2001:db8:1::1]:0 -g -w 1'],
  ];
  for (const [op, line] of table) {
    it(line, () => assert.equal(renderOp(op), line));
  }
  it('every scheduler renders as -s <name>', () => {
    for (const s of SCHEDULERS) {
      assert.equal(renderOp({ op: 'add_service', service: svc(v4, { scheduler: s }), reason: 'missing' }), `-A -t 192.0.2.10:80 -s ${s}`);
    }
  });
  it('refuses what ipvsadm could not parse (a parse error stops the whole batch)', () => {
    const bad: TableOp[] = [
      { op: 'add_service', service: svc(v4, { ops: true }), reason: 'missing' },
      { op: 'add_service', service: svc(v4, { scheduler: 'rr; ipvsadm -C' }), reason: 'missing' },
      { op: 'add_service', service: svc(v4, { persistence: { timeoutS: 0, netmaskPrefix: 32 } }), reason: 'missing' },
      { op: 'add_service', service: svc(tcp('192.0.2.10', 0)), reason: 'missing' },
      { op: 'add_dest', service: v4, dest: dest('198.51.100.1', 70000), reason: 'missing' },
      { op: 'add_dest', service: v4, dest: dest('198.51.100.1', 80, { weight: -1 }), reason: 'missing' },
      { op: 'add_dest', service: v4, dest: dest('2001:db8::1', 80), reason: 'missing' },
    ];
    for (const op of bad) assert.throws(() => renderOp(op), RangeError, JSON.stringify(op));
  });
});

describe('render and reconcile against the real ipvsadm (batches applied in the VM by capture.sh)', () => {
  const rules = parsed('rules.save');
  const edits = parsed('edits.save');
  it('the full table renders to rendered.restore, which ipvsadm -R turned back into the same table', () => {
    assert.equal(renderOps(reconcile(rules, new Map(), keysOf(rules))), fixture('rendered.restore'));
    assert.match(fixture('rendered.save'), /^# ipvsadm -R exit status: 0$/m);
    assert.deepEqual(plain(parsed('rendered.save')), plain(rules));
  });
  it('the plan from rules.save to edits.save is plan.restore, and applying it gave edits.save', () => {
    const ops = reconcile(edits, rules, keysOf(rules, edits));
    assert.equal(renderOps(ops), fixture('plan.restore'));
    assert.deepEqual(ops.map((o) => `${o.op} ${serviceKey(opServiceId(o))}`), [
      'delete_service FWM 2 IPv6',
      'delete_service TCP 192.0.2.106:1',
      'edit_service TCP 192.0.2.100:80',
      'edit_dest TCP 192.0.2.100:80',
      'delete_dest TCP 192.0.2.100:80',
      'edit_service TCP 192.0.2.101:443',
      'edit_dest TCP 192.0.2.102:80',
    ]);
    assert.match(fixture('plan.save'), /^# ipvsadm -R exit status: 0$/m);
    assert.deepEqual(plain(parsed('plan.save')), plain(edits));
  });
  it('a second reconcile after the plan has nothing to do', () => {
    assert.deepEqual(reconcile(edits, parsed('plan.save'), keysOf(rules, edits)), []);
  });
});
