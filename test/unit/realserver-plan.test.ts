// realserver/plan.ts on a simulated host: setup converges and a second run changes nothing,
// --check's view is the plan, --remove restores exactly what was there (and only what tandem
// changed: a value someone set since is left), the sysctl rules (max(all, dev) semantics).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadRealServerText, type RealServerConfig } from '../../src/config/realServerConfig.js';
import {
  MAX_ROUNDS, planRemove, planSetup, recordSteps, recordUndos, sideEffectUndos,
  type HostState, type RemoveStep, type Step, type Undo,
} from '../../src/realserver/plan.js';

function config(yaml: string): RealServerConfig {
  const r = loadRealServerText(yaml, 'rs.yaml');
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => e.message).join('\n'));
  return r.config;
}

/** A host the steps act on as the kernel would (lo up adds 127.0.0.1/8 and ::1; a tunnel gets a conf dir). */
class FakeHost {
  state: HostState;
  constructor(initial: HostState) { this.state = structuredClone(initial); }
  apply(s: Step | RemoveStep): void {
    const st = this.state;
    switch (s.kind) {
      case 'create_tunnel':
        st.links[s.name] = { up: false, kind: s.type };
        st.addresses[s.name] = [];
        for (const k of ['rp_filter', 'arp_ignore', 'arp_announce']) st.sysctls[`${s.name}/${k}`] = k === 'rp_filter' ? st.sysctls['default/rp_filter'] ?? 1 : 0;
        return;
      case 'delete_tunnel':
        delete st.links[s.name]; delete st.addresses[s.name];
        for (const k of Object.keys(st.sysctls)) if (k.startsWith(`${s.name}/`)) delete st.sysctls[k];
        return;
      case 'link_up':
        st.links[s.ifname] = { ...st.links[s.ifname]!, up: true };
        if (s.ifname === 'lo') st.addresses.lo = [...new Set([...(st.addresses.lo ?? []), '127.0.0.1/8', '::1/128'])];
        return;
      case 'link_down':
        st.links[s.ifname] = { ...st.links[s.ifname]!, up: false };
        st.addresses[s.ifname] = (st.addresses[s.ifname] ?? []).filter((a) => !a.includes(':'));
        return;
      case 'add_address': st.addresses[s.ifname] = [...(st.addresses[s.ifname] ?? []), `${s.address}/${s.prefixLen}`]; return;
      case 'delete_address': st.addresses[s.ifname] = (st.addresses[s.ifname] ?? []).filter((a) => a !== `${s.address}/${s.prefixLen}`); return;
      case 'set_sysctl': st.sysctls[s.key] = s.to; return;
    }
  }
  /** As `tandem realserver` does (command.ts setup): rounds of plan and apply, recording undos. */
  setup(c: RealServerConfig, record: Undo[] = []): { taken: Step[]; record: Undo[] } {
    const taken: Step[] = [];
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const plan = planSetup(c, this.state);
      assert.deepEqual(plan.blockers, []);
      if (plan.steps.length === 0) return { taken, record };
      for (const s of plan.steps) {
        const before = [...(this.state.addresses[(s as { ifname?: string }).ifname ?? ''] ?? [])];
        this.apply(s);
        taken.push(s);
        record = recordSteps(record, [s]);
        if (s.kind === 'link_up') record = recordUndos(record, sideEffectUndos(s, before, this.state.addresses[s.ifname] ?? []));
      }
    }
    assert.fail('did not converge');
  }
  remove(record: Undo[]): ReturnType<typeof planRemove> {
    const plan = planRemove(record, this.state);
    for (const s of plan.steps) this.apply(s);
    return plan;
  }
}

const FRESH_NETNS: HostState = {
  links: { lo: { up: false, kind: '' }, eth0: { up: true, kind: 'veth' } },
  addresses: { lo: [], eth0: ['198.51.100.11/24'] },
  sysctls: { 'all/arp_ignore': 0, 'all/arp_announce': 0, 'eth0/arp_ignore': 0, 'eth0/arp_announce': 0, 'all/rp_filter': 1, 'default/rp_filter': 1 },
};

const DR = 'mode: DR\ninterface: eth0\nvips: [192.0.2.10, 2001:db8::10]\n';
const TUN_FALLBACK = 'mode: TUN\ninterface: eth0\nvips: [192.0.2.10]\n';
const TUN_CREATED = 'mode: TUN\ninterface: eth0\nvips: [192.0.2.10, 2001:db8::10]\ntunnel: { name: rs6, family: 6, local: "2001:db8:1::11" }\n';

describe('realserver planner: DR', () => {
  it('puts the VIPs on lo as host addresses, lo up, arp_ignore 1 and arp_announce 2 on all and the interface', () => {
    const plan = planSetup(config(DR), FRESH_NETNS);
    assert.deepEqual(plan.blockers, []);
    assert.deepEqual(plan.steps, [
      { kind: 'link_up', ifname: 'lo' },
      { kind: 'add_address', ifname: 'lo', address: '192.0.2.10', prefixLen: 32 },
      { kind: 'add_address', ifname: 'lo', address: '2001:db8::10', prefixLen: 128 },
      { kind: 'set_sysctl', key: 'all/arp_ignore', from: 0, to: 1 },
      { kind: 'set_sysctl', key: 'all/arp_announce', from: 0, to: 2 },
      { kind: 'set_sysctl', key: 'eth0/arp_ignore', from: 0, to: 1 },
      { kind: 'set_sysctl', key: 'eth0/arp_announce', from: 0, to: 2 },
    ]);
  });
  it('is idempotent: after one run the plan is empty, a second run takes no step', () => {
    const host = new FakeHost(FRESH_NETNS);
    const first = host.setup(config(DR));
    assert.equal(first.taken.length, 7);
    const second = host.setup(config(DR), first.record);
    assert.deepEqual(second.taken, []);
    assert.deepEqual(second.record, first.record);
  });
  it('keeps stricter arp values (arp_ignore 2 or 8) and replaces 3, which still answers for lo\'s VIPs', () => {
    const s = structuredClone(FRESH_NETNS);
    Object.assign(s.sysctls, { 'all/arp_ignore': 2, 'eth0/arp_ignore': 3, 'all/arp_announce': 2, 'eth0/arp_announce': 1 });
    const keys = planSetup(config(DR), s).steps.filter((x) => x.kind === 'set_sysctl');
    assert.deepEqual(keys, [
      { kind: 'set_sysctl', key: 'eth0/arp_ignore', from: 3, to: 1 },
      { kind: 'set_sysctl', key: 'eth0/arp_announce', from: 1, to: 2 },
    ]);
    s.sysctls['eth0/arp_ignore'] = 8;
    assert.equal(planSetup(config(DR), s).steps.filter((x) => x.kind === 'set_sysctl' && x.key.endsWith('arp_ignore')).length, 0);
  });
  it('an IPv6-only server sets no arp sysctl (neighbour discovery answers only on the address\'s own interface)', () => {
    const plan = planSetup(config('mode: DR\ninterface: eth0\nvips: ["2001:db8::10/128"]\n'), FRESH_NETNS);
    assert.deepEqual(plan.steps.map((s) => s.kind), ['link_up', 'add_address']);
  });
  it('a VIP already on lo before tandem is not recorded, so --remove leaves it', () => {
    const s = structuredClone(FRESH_NETNS);
    s.links.lo = { up: true, kind: '' };
    s.addresses.lo = ['127.0.0.1/8', '192.0.2.10/32'];
    const host = new FakeHost(s);
    const { record } = host.setup(config(DR));
    assert.ok(!record.some((u) => u.kind === 'delete_address' && u.address === '192.0.2.10'));
    assert.ok(!record.some((u) => u.kind === 'link_down'), 'lo was up: not set down by --remove');
    host.remove(record);
    assert.deepEqual(host.state, s);
  });
  it('--remove restores exactly the state before (lo down again, without the 127.0.0.1 its going up added)', () => {
    const host = new FakeHost(FRESH_NETNS);
    const { record } = host.setup(config(DR));
    const plan = host.remove(record);
    assert.deepEqual(plan.left, []);
    assert.deepEqual(host.state, FRESH_NETNS);
  });
  it('--remove leaves a sysctl someone changed since, and says why', () => {
    const host = new FakeHost(FRESH_NETNS);
    const { record } = host.setup(config(DR));
    host.state.sysctls['eth0/arp_announce'] = 1;
    const plan = host.remove(record);
    assert.equal(host.state.sysctls['eth0/arp_announce'], 1);
    assert.equal(host.state.sysctls['all/arp_announce'], 0);
    assert.equal(plan.left.length, 1);
    assert.match(plan.left[0]!.why, /now 1, not the 2 tandem set/);
  });
  it('a second run keeps the value from before the first (not tandem\'s own) for --remove', () => {
    const host = new FakeHost(FRESH_NETNS);
    const first = host.setup(config(DR));
    host.state.addresses.lo = host.state.addresses.lo!.filter((a) => a !== '192.0.2.10/32'); // someone deleted a VIP
    host.state.sysctls['all/arp_ignore'] = 0; // and reset a sysctl
    const second = host.setup(config(DR), first.record);
    assert.equal(second.taken.length, 2);
    assert.deepEqual(second.record, first.record, 'no duplicate undo; the original value 0 kept');
    host.remove(second.record);
    assert.deepEqual(host.state, FRESH_NETNS);
  });
  it('a missing interface blocks the whole plan', () => {
    const plan = planSetup(config('mode: DR\ninterface: eth9\nvips: [192.0.2.10]\n'), FRESH_NETNS);
    assert.deepEqual(plan.blockers, [{ what: 'interface eth9', why: 'no such interface' }]);
  });
});

describe('realserver planner: TUN', () => {
  it('fallback tunl0: up, the VIPs on it, rp_filter relaxed to 2 where strict (all), arp as DR', () => {
    const s = structuredClone(FRESH_NETNS);
    s.links.tunl0 = { up: false, kind: 'ipip' };
    s.addresses.tunl0 = [];
    s.sysctls['tunl0/rp_filter'] = 0;
    const plan = planSetup(config(TUN_FALLBACK), s);
    assert.deepEqual(plan.blockers, []);
    assert.deepEqual(plan.steps, [
      { kind: 'link_up', ifname: 'tunl0' },
      { kind: 'add_address', ifname: 'tunl0', address: '192.0.2.10', prefixLen: 32 },
      { kind: 'set_sysctl', key: 'all/arp_ignore', from: 0, to: 1 },
      { kind: 'set_sysctl', key: 'all/arp_announce', from: 0, to: 2 },
      { kind: 'set_sysctl', key: 'eth0/arp_ignore', from: 0, to: 1 },
      { kind: 'set_sysctl', key: 'eth0/arp_announce', from: 0, to: 2 },
      { kind: 'set_sysctl', key: 'all/rp_filter', from: 1, to: 2 },
    ]);
    const host = new FakeHost(s);
    const { record } = host.setup(config(TUN_FALLBACK));
    host.remove(record);
    assert.deepEqual(host.state, s);
  });
  it('fallback device missing: a blocker naming the module, nothing done', () => {
    const plan = planSetup(config(TUN_FALLBACK), FRESH_NETNS);
    assert.deepEqual(plan.steps.filter((x) => x.kind !== 'set_sysctl'), []);
    assert.match(plan.blockers[0]!.why, /modprobe ipip/);
  });
  it('a named ip6tnl device is created, then (next round) set up with the VIPs and its rp_filter; --remove deletes it', () => {
    const host = new FakeHost(FRESH_NETNS);
    const round1 = planSetup(config(TUN_CREATED), FRESH_NETNS);
    assert.deepEqual(round1.steps[0], { kind: 'create_tunnel', name: 'rs6', type: 'ip6tnl', local: '2001:db8:1::11' });
    assert.ok(!round1.steps.some((x) => 'ifname' in x && x.ifname === 'rs6'), 'nothing on the device before it exists');
    const { taken, record } = host.setup(config(TUN_CREATED));
    assert.deepEqual(taken.filter((x) => x.kind !== 'set_sysctl' || x.key.startsWith('rs6')).map((x) => x.kind),
      ['create_tunnel', 'link_up', 'add_address', 'add_address', 'set_sysctl']);
    assert.equal(host.state.sysctls['rs6/rp_filter'], 2);
    assert.deepEqual(host.setup(config(TUN_CREATED), record).taken, []);
    const plan = host.remove(record);
    assert.deepEqual(plan.steps.filter((x) => 'ifname' in x && x.ifname === 'rs6'), [], 'what is on the device goes with it');
    assert.deepEqual(host.state, FRESH_NETNS);
  });
  it('an existing device of another kind blocks', () => {
    const s = structuredClone(FRESH_NETNS);
    s.links.rs6 = { up: true, kind: 'veth' };
    const plan = planSetup(config(TUN_CREATED), s);
    assert.match(plan.blockers.map((b) => b.why).join(), /not ip6tnl/);
  });
  it('rp_filter 0 stays 0 (never made stricter than it was)', () => {
    const s = structuredClone(FRESH_NETNS);
    s.links.tunl0 = { up: true, kind: 'ipip' };
    s.addresses.tunl0 = ['192.0.2.10/32'];
    Object.assign(s.sysctls, { 'all/rp_filter': 0, 'tunl0/rp_filter': 0, 'all/arp_ignore': 1, 'all/arp_announce': 2, 'eth0/arp_ignore': 1, 'eth0/arp_announce': 2 });
    assert.deepEqual(planSetup(config(TUN_FALLBACK), s), { steps: [], blockers: [] });
  });
});
