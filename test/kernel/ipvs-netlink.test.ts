// The generic netlink IPVS backend (src/lb/ipvs/netlinkBackend.ts) against a real IPVS kernel
// (Debian's kernel under QEMU, test/kernel/vm.ts), with the real ipvsadm as the judge of what
// the kernel holds. The agent (agents/netlink-agent.ts, compiled to dist) runs inside the VM and
// reports what it saw as one JSON line; the assertions are here. Booting the VM and running the
// agent is setup (a before hook: if it fails, every test below fails with its error); each test
// asserts one claim of the agent's report. How fast the netlink backend applies and reads is a
// benchmark's claim, not a test's: bench/table.ts (npm run bench:table) measures it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertUndoneByNextPeriodicPass, type PassSeen } from './passes.js';
import { killAllVmsNow, runAgentInVm } from './vm.js';

after(() => killAllVmsNow());

const AGENT = new URL('./agents/netlink-agent.js', import.meta.url).pathname;

const SCRIPT = String.raw`
set -eu
# Routes for the real servers' documentation subnets: IPVS refuses a real server without one.
ip link add tNbd type dummy
ip addr add 198.51.100.254/24 dev tNbd
ip -6 addr add 2001:db8:1::254/64 dev tNbd nodad
ip link set tNbd up
# The golden table has a service with --pe sip; the VM's init does not load that module, and
# the kernel cannot autoload it (its modprobe path is the initramfs's), so load it here.
modprobe ip_vs_pe_sip
# A service tandem does not own, added by hand: it must survive everything.
ipvsadm -A -t 203.0.113.50:80 -s rr
ipvsadm -a -t 203.0.113.50:80 -r 198.51.100.200:80 -m -w 1
node "$AGENT"
`;

interface Refused { op: string; reason: string; message: string; errno?: number }
interface Flip { ops: string[]; up: boolean; inKernel: boolean; read: boolean; cause: string; passes: number }
interface AgentResult {
  foreignSave: string;
  golden: { ops: number; sent: number; applied: number; refused: Refused[]; save: string; expected: string };
  readGolden: { netlink: unknown; ipvsadm: unknown };
  readEdits: { netlink: unknown; ipvsadm: unknown; netlinkProblems: Array<{ entry: string; reason: string }>; parseProblems: string[] };
  edits: { backOps: string[]; backRefused: Refused[]; toEditsOps: string[]; toEditsRefused: Refused[]; save: string; expected: string };
  refusal: { sent: number; applied: number; refused: Refused[]; save: string };
  reconciler: {
    firstOps: string[]; firstRefused: Refused[]; afterFirst: string; drifted: string; fixOps: string[]; afterFix: string;
    loopPasses: PassSeen[]; loopOps: string[]; afterLoop: string; errors: string[];
  };
  scale: {
    ops: number; refused: number; procDests: number; readDests: number;
    services: number; sameAsIpvsadm: boolean; flips: Flip[]; errors: string[];
  };
  foreignAtEnd: string[];
}

const FOREIGN = ['-A -t 203.0.113.50:80 -s rr', '-a -t 203.0.113.50:80 -r 198.51.100.200:80 -m -w 1'];
const lines = (save: string): string[] => save.split('\n').filter((l) => l !== '').sort();

describe('netlink IPVS backend on a real IPVS kernel', () => {
  let r: AgentResult | undefined;

  before(async () => {
    r = await runAgentInVm<AgentResult>(SCRIPT, { timeoutMs: 600_000, env: { AGENT } });
  });

  function result(): AgentResult {
    if (!r) throw new Error('the agent did not report (see the before hook)');
    return r;
  }

  test('the golden table (NAT/DR/TUN ipip gue gre, fwmark, IPv6, persistence + netmask, pe, -o, sched flags, weights) applied from empty: ipvsadm saves exactly it', () => {
    const g = result().golden;
    assert.deepEqual(lines(result().foreignSave), [...FOREIGN].sort());
    assert.deepEqual(g.refused, []);
    assert.equal(g.sent, g.ops);
    assert.equal(g.applied, g.ops);
    assert.ok(g.ops >= 38, `${g.ops} ops`);
    assert.deepEqual(lines(g.save), [...lines(g.expected), ...FOREIGN].sort());
  });

  test('readTable equals parseIpvsSave(ipvsadm -S -n), whole table, foreign service included', () => {
    const x = result();
    assert.deepEqual(x.readGolden.netlink, x.readGolden.ipvsadm);
    assert.ok(JSON.stringify(x.readGolden.netlink).includes('TCP 203.0.113.50:80'));
  });

  test('entries made and edited by ipvsadm read back the same; a foreign entry neither can represent is reported by both', () => {
    const x = result().readEdits;
    assert.deepEqual(x.netlink, x.ipvsadm);
    assert.deepEqual(x.netlinkProblems, [{ entry: 'TCP 203.0.113.60:80', reason: 'persistence netmask 255.0.255.0 is not a prefix' }]);
    assert.ok(x.parseProblems.some((p) => /netmask/.test(p)), x.parseProblems.join('; '));
  });

  test('edits through netlink (SET_SERVICE, SET_DEST, DEL_DEST, DEL_SERVICE as planned): ipvsadm saves exactly the edited golden table', () => {
    const e = result().edits;
    assert.deepEqual(e.backRefused, []);
    assert.deepEqual(e.toEditsRefused, []);
    assert.ok(e.backOps.length > 0 && e.toEditsOps.length > 0);
    for (const kind of ['edit_service', 'edit_dest', 'delete_dest', 'delete_service']) {
      assert.ok(e.toEditsOps.some((o) => o.startsWith(kind)), `${kind} in ${e.toEditsOps.join('; ')}`);
    }
    assert.deepEqual(lines(e.save), [...lines(e.expected), ...FOREIGN].sort());
  });

  test('refusals are exact (errno per request, ipvsadm\'s message) and the batch goes on past each', () => {
    const x = result().refusal;
    const S = 'TCP 192.0.2.201:80';
    assert.deepEqual(x.refused, [
      { op: 'add_service TCP 192.0.2.200:80 twos (missing)', reason: 'kernel_refused', message: 'Scheduler or persistence engine not found', errno: 2 },
      { op: 'add_dest TCP 192.0.2.200:80 -> 198.51.100.61:80 NAT w1 (missing)', reason: 'kernel_refused', message: 'Service not defined', errno: 3 },
      { op: `delete_dest ${S} -> 198.51.100.69:80 (not_desired)`, reason: 'kernel_refused', message: 'No such destination', errno: 2 },
      { op: `add_dest ${S} -> 198.51.100.62:80 NAT w5 (missing)`, reason: 'kernel_refused', message: 'Destination already exists', errno: 17 },
      { op: `edit_dest ${S} -> 198.51.100.68:80 NAT w1 (differs)`, reason: 'kernel_refused', message: 'No such destination', errno: 2 },
      { op: 'edit_service TCP 192.0.2.202:80 rr (differs)', reason: 'kernel_refused', message: 'No such service', errno: 3 },
      { op: 'delete_service TCP 192.0.2.202:80 (not_desired)', reason: 'kernel_refused', message: 'No such service', errno: 3 },
      { op: `add_service ${S} rr (missing)`, reason: 'kernel_refused', message: 'Service already exists', errno: 17 },
      { op: `add_dest ${S} -> 198.51.100.63:80 NAT w-1 (missing)`, reason: 'unrenderable', message: '' },
    ]);
    assert.equal(x.sent, 11);
    assert.equal(x.applied, 3);
    assert.deepEqual(lines(x.save), [
      ...FOREIGN, '-A -t 192.0.2.201:80 -s rr', '-a -t 192.0.2.201:80 -r 198.51.100.62:80 -m -w 1', '-a -t 192.0.2.201:80 -r 198.51.100.64:80 -m -w 7',
    ].sort());
  });

  test('the reconciler with the netlink backend: from empty, hand drift undone in one pass and by the running loop', () => {
    const x = result().reconciler;
    assert.deepEqual(x.errors, []);
    assert.deepEqual(x.firstRefused, []);
    assert.equal(x.firstOps.length, 2 + 4);
    assert.deepEqual(lines(x.afterFirst), [
      ...FOREIGN, '-A -f 7 -s sh', '-a -f 7 -r 198.51.100.31:0 -g -w 5', '-A -t 192.0.2.100:80 -s wrr',
      '-a -t 192.0.2.100:80 -r 198.51.100.11:8080 -m -w 1', '-a -t 192.0.2.100:80 -r 198.51.100.12:8080 -m -w 2',
      '-a -t 192.0.2.100:80 -r 198.51.100.13:8080 -m -w 3',
    ].sort());
    assert.notDeepEqual(lines(x.drifted), lines(x.afterFirst), 'the drift really happened');
    assert.deepEqual([...x.fixOps].sort(), [
      'add_dest TCP 192.0.2.100:80 -> 198.51.100.11:8080 NAT w1 (missing)',
      'delete_dest TCP 192.0.2.100:80 -> 198.51.100.19:8080 (not_desired)',
      'edit_dest TCP 192.0.2.100:80 -> 198.51.100.12:8080 NAT w2 (differs)',
    ]);
    assert.deepEqual(lines(x.afterFix), lines(x.afterFirst));
    assert.deepEqual(x.loopOps, ['edit_dest TCP 192.0.2.100:80 -> 198.51.100.13:8080 NAT w3 (differs)']);
    assertUndoneByNextPeriodicPass(x.loopPasses);
    assert.deepEqual(lines(x.afterLoop), lines(x.afterFirst));
  });

  test('10,000 real servers across 100 services in one pass; verdict -> kernel for 20 flips', () => {
    const x = result();
    const s = x.scale;
    assert.deepEqual(s.errors, []);
    assert.equal(s.ops, 100 + 10_000);
    assert.equal(s.refused, 0);
    assert.equal(s.procDests, 10_000 + 1, 'the 10,000 plus the foreign real server, in /proc/net/ip_vs');
    assert.equal(s.readDests, 10_000);
    assert.equal(s.services, 101);
    assert.ok(s.sameAsIpvsadm, 'readTable of 10,000 entries equals parseIpvsSave(ipvsadm -S -n)');
    assert.equal(s.flips.length, 20);
    for (const [i, f] of s.flips.entries()) {
      // Each verdict is one pass with one op, from the cached table: down deletes, up adds.
      assert.equal(f.up, i % 2 === 1);
      assert.equal(f.passes, 1, `flip ${i}: ${f.passes} passes`);
      assert.equal(f.ops.length, 1, `flip ${i}: ${f.ops.join('; ')}`);
      assert.match(f.ops[0]!, new RegExp(`^${f.up ? 'add' : 'delete'}_dest TCP 192\\.0\\.2\\.\\d+:80 -> 198\\.51\\.100\\.\\d+:\\d+`));
      assert.ok(f.inKernel, `${f.ops[0]}: not in /proc/net/ip_vs as expected`);
      assert.equal(f.cause, 'trigger');
      assert.equal(f.read, false);
    }
    // The verdict -> kernel time of these flips (medians, p95) is bench:table's §2.
    assert.deepEqual(x.foreignAtEnd, FOREIGN);
  });
});

