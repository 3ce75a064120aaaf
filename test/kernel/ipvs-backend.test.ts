// The ipvsadm backend and the reconciler against a real IPVS table (Debian's kernel under QEMU,
// test/kernel/vm.ts). The agent (agents/backend-agent.ts, compiled to dist) runs inside the VM and
// reports what it saw as one JSON line; the assertions are here. Booting the VM and running the
// agent is setup (a before hook: if it fails, every test below fails with its error). Timings
// (apply from empty vs ipvsadm-restore, verdict -> kernel) are bench/table.ts's (npm run bench:table).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertUndoneByNextPeriodicPass, type PassSeen } from './passes.js';
import { killAllVmsNow, runAgentInVm } from './vm.js';

after(() => killAllVmsNow());

const AGENT = new URL('./agents/backend-agent.js', import.meta.url).pathname;

const SCRIPT = String.raw`
set -eu
# A route for the real servers' documentation subnet: IPVS refuses a real server without one.
ip link add tQbd type dummy
ip addr add 198.51.100.254/24 dev tQbd
ip link set tQbd up
# A service tandem does not own, added by hand: it must survive every pass.
ipvsadm -A -t 203.0.113.50:80 -s rr
ipvsadm -a -t 203.0.113.50:80 -r 198.51.100.200:80 -m -w 1
node "$AGENT"
`;

interface AgentResult {
  initialOps: string[]; initialRefused: unknown[]; afterInitial: string; idleOps: number; drifted: string;
  driftOps: string[]; afterDrift: string; loopPasses: PassSeen[]; loopDriftOps: string[];
  healthOps: string[]; healthCauses: string[]; afterHealth: string; errors: string[];
  refusal: { sent: number; applied: number; exit: number | null; stderr: string[]; refused: Array<{ op: string; reason: string; message?: string }> };
  scale: {
    ops: number; refused: number; exit: number | null; dests: number; services: number;
    changeOps: string[]; changeRead: boolean; changeCause: string; errors: string[];
  };
  wrapperDests: number;
  victimLine: string[]; foreignAtEnd: string[];
}

const FOREIGN = ['-A -t 203.0.113.50:80 -s rr', '-a -t 203.0.113.50:80 -r 198.51.100.200:80 -m -w 1'];
const OWNED_WEB = [
  '-A -t 192.0.2.100:80 -s wrr',
  '-a -t 192.0.2.100:80 -r 198.51.100.11:8080 -m -w 1',
  '-a -t 192.0.2.100:80 -r 198.51.100.12:8080 -m -w 2',
  '-a -t 192.0.2.100:80 -r 198.51.100.13:8080 -m -w 3',
];

function lines(save: string): string[] {
  return save.split('\n').filter((l) => l !== '');
}

describe('ipvsadm backend + reconciler on a real IPVS kernel', () => {
  let r: AgentResult | undefined;

  before(async () => {
    r = await runAgentInVm<AgentResult>(SCRIPT, { timeoutMs: 300_000, env: { AGENT } });
  });

  function result(): AgentResult {
    if (!r) throw new Error('the agent did not report (see the before hook)');
    return r;
  }

  test('applies the config from empty, leaving the foreign service alone', () => {
    const x = result();
    assert.deepEqual(x.initialRefused, []);
    assert.equal(x.initialOps.length, 3 + 6, x.initialOps.join('\n'));
    const saved = lines(x.afterInitial);
    for (const l of [...FOREIGN, ...OWNED_WEB]) assert.ok(saved.includes(l), `${l} missing from\n${x.afterInitial}`);
    assert.ok(saved.includes('-A -u 192.0.2.100:53 -s rr'));
    assert.ok(saved.includes('-a -u 192.0.2.100:53 -r 198.51.100.21:53 -g -w 1'));
    assert.ok(saved.includes('-A -f 7 -s sh'));
    assert.ok(saved.includes('-a -f 7 -r 198.51.100.31:0 -g -w 5'));
    assert.equal(saved.length, 2 + 4 + 3 + 2, x.afterInitial);
    assert.equal(x.idleOps, 0, 'a second pass right after has nothing to do');
  });

  test('hand drift (-d, -e, -a) is undone in one pass; the foreign service is untouched', () => {
    const x = result();
    assert.ok(!lines(x.drifted).includes(OWNED_WEB[1]!), 'the drift really happened');
    assert.deepEqual(x.driftOps.sort(), [
      'add_dest TCP 192.0.2.100:80 -> 198.51.100.11:8080 NAT w1 (missing)',
      'delete_dest TCP 192.0.2.100:80 -> 198.51.100.19:8080 (not_desired)',
      'edit_dest TCP 192.0.2.100:80 -> 198.51.100.12:8080 NAT w2 (differs)',
    ]);
    assert.deepEqual(lines(x.afterDrift).sort(), lines(x.afterInitial).sort());
  });

  test('the running loop undoes a drift at its next periodic pass, and a health change is one triggered pass with one op', () => {
    const x = result();
    assert.deepEqual(x.loopDriftOps, ['edit_dest TCP 192.0.2.100:80 -> 198.51.100.13:8080 NAT w3 (differs)']);
    assertUndoneByNextPeriodicPass(x.loopPasses);
    assert.deepEqual(x.healthOps, ['delete_dest TCP 192.0.2.100:80 -> 198.51.100.12:8080 (not_desired)']);
    assert.deepEqual(x.healthCauses.filter((c) => c !== 'interval'), ['trigger'], 'two trigger() calls, one pass');
    assert.ok(!lines(x.afterHealth).includes(OWNED_WEB[2]!));
    for (const l of FOREIGN) assert.ok(lines(x.afterHealth).includes(l));
    assert.deepEqual(x.errors, []);
  });

  test('kernel refusals come back as data: which ops, with ipvsadm\'s message; the rest is applied', () => {
    const x = result();
    assert.equal(x.refusal.sent, 5);
    assert.equal(x.refusal.applied, 2);
    assert.equal(x.refusal.exit, 255);
    assert.deepEqual(x.refusal.refused, [
      { op: 'add_dest TCP 192.0.2.201:80 -> 198.51.100.63:80 NAT w-1 (missing)', reason: 'unrenderable', message: '' },
      { op: 'add_service TCP 192.0.2.200:80 twos (missing)', reason: 'kernel_refused', message: 'Scheduler or persistence engine not found' },
      { op: 'add_dest TCP 192.0.2.200:80 -> 198.51.100.61:80 NAT w1 (missing)', reason: 'kernel_refused', message: 'Service not defined' },
      { op: 'delete_dest TCP 192.0.2.201:80 -> 198.51.100.69:80 (not_desired)', reason: 'kernel_refused', message: 'No such destination' },
    ]);
  });

  test('10,000 real servers across 100 services from empty, then one verdict is one op', () => {
    const x = result();
    const s = x.scale;
    assert.deepEqual(s.errors, []);
    assert.equal(s.ops, 100 + 10_000);
    assert.equal(s.refused, 0);
    assert.equal(s.exit, 0);
    assert.equal(s.dests, 10_000);
    assert.equal(s.services, 101, 'the 100 services plus the foreign one');
    assert.deepEqual(s.changeOps, ['edit_dest TCP 192.0.2.58:80 -> 198.51.100.43:10057 NAT w3 (differs)']);
    assert.equal(s.changeCause, 'trigger');
    assert.equal(s.changeRead, false, 'a triggered pass diffs against the last known table');
    assert.deepEqual(x.victimLine, ['-a -t 192.0.2.58:80 -r 198.51.100.43:10057 -m -w 3']);
    assert.deepEqual(x.foreignAtEnd, FOREIGN);
    assert.equal(x.wrapperDests, 10_000, 'ipvsadm-restore accepts the batch tandem renders, whole');
  });
});
