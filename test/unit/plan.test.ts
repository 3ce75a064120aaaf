// `tandem plan`: the batch it prints is what reconcile would apply, foreign services are left
// alone, and a table that already matches prints "no changes". The backend is a stand-in here;
// the real ipvsadm backend is exercised in the kernel tier.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load.js';
import { planTable } from '../../src/daemon/plan.js';
import { desiredTable } from '../../src/lb/desired.js';
import type { LbBackend } from '../../src/lb/backend.js';
import { parseIpvsSave } from '../../src/lb/ipvs/parse.js';
import type { LbTable } from '../../src/lb/model.js';
import type { TableOp } from '../../src/lb/reconcile.js';
import { NftBackend } from '../../src/lb/nft/backend.js';

const yaml = `virtual_servers:
  - address: 192.0.2.100
    port: 80
    protocol: TCP
    lb_algo: wrr
    lb_kind: NAT
    real_servers:
      - { address: 198.51.100.11, port: 80, weight: 2, checks: [{ tcp_check: {} }] }
      - { address: 198.51.100.12, port: 80, checks: [{ tcp_check: {} }] }
`;

function backendWith(table: LbTable | Error): LbBackend {
  return {
    readTable: async () => { if (table instanceof Error) throw table; return table; },
    apply: async () => { throw new Error('plan must not apply anything'); },
  };
}

describe('tandem plan', () => {
  const r = loadConfigText(yaml, 'lb.yaml', { hostname: 'h' });
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  const config = r.config;

  it('prints the ipvsadm batch for an empty kernel table, and leaves a foreign service alone', async () => {
    const foreign = parseIpvsSave('-A -t 203.0.113.5:443 -s rr\n-a -t 203.0.113.5:443 -r 198.51.100.99:443 -m -w 1\n');
    assert.deepEqual(foreign.problems, []);
    let out = '';
    const code = await planTable(config, backendWith(foreign.table), (s) => { out += s; });
    assert.equal(code, 0);
    const lines = out.trim().split('\n');
    assert.match(lines[0]!, /^# 3 change\(s\) to apply lb\.yaml/);
    assert.match(lines[1]!, /^-A -t 192\.0\.2\.100:80 -s wrr\s+# add_service/);
    assert.match(lines[2]!, /^-a -t 192\.0\.2\.100:80 -r 198\.51\.100\.11:80 -m -w 2\s+#/);
    assert.match(lines[3]!, /^-a -t 192\.0\.2\.100:80 -r 198\.51\.100\.12:80 -m -w 1\s+#/);
    assert.ok(!out.includes('203.0.113.5'), 'the foreign service is not touched');
  });
  it('says so when the kernel already matches', async () => {
    const desired = desiredTable(config.virtualServers, new Map(), new Map()).table;
    let out = '';
    assert.equal(await planTable(config, backendWith(desired), (s) => { out += s; }), 0);
    assert.match(out, /^# no changes: the IPVS table already matches lb\.yaml \(1 virtual service\(s\)\)/);
  });
  it('exits 1 when the table cannot be read', async () => {
    assert.equal(await planTable(config, backendWith(new Error('Protocol not available')), () => undefined), 1);
  });
  it('exits 2 when the nft backend refuses a change (issue 13 §3: it printed "# refused:" and exited 0)', async () => {
    // The real planScript() with nft stood in for: the first op is refused, the others planned.
    class RefusingNft extends NftBackend {
      override async readTable(): Promise<LbTable> { return parseIpvsSave('').table; }
      override async planScript(ops: readonly TableOp[]) {
        return { script: 'add table ip tandem\n', refused: [{ op: ops[0]!, reason: 'unrenderable' as const, message: 'the nft backend cannot express wlc' }] };
      }
    }
    let out = '';
    const code = await planTable(config, new RefusingNft(), (s) => { out += s; });
    assert.equal(code, 2, out);
    assert.match(out, /^# refused: .*: the nft backend cannot express wlc$/m);
    class PlanningNft extends RefusingNft {
      override async planScript() { return { script: 'add table ip tandem\n', refused: [] }; }
    }
    assert.equal(await planTable(config, new PlanningNft(), () => undefined), 0, 'nothing refused: 0');
  });
});
