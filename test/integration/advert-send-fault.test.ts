// A master whose adverts cannot leave (issue 12 §1: "its adverts fail, it stays MASTER, the
// backup becomes MASTER too: a lasting split brain"). Two tandems, lb1 (priority 200) master and
// lb2 (100) backup, VRRPv3 at 0.5 s. A firewall rule in lb1's namespace drops its outgoing VRRP,
// so each sendmsg fails with EPERM. lb1 must go to FAULT at its 3rd failed advert and remove the
// VIP before lb2 (hearing nothing) takes it: the VIP is never on both. lb1 says why in its log,
// status and metrics; once the rule is gone it comes back by itself after the hold (10 s) and,
// being the higher priority, takes the role back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, requireLabTools, run, sleep, waitFor, type LabNode } from '../lib/netns.js';
import { TANDEM_BIN, Tandem, requireTandemBuilt } from '../lib/tandem.js';
import type { DirectorSpec } from '../lib/director-spec.js';
import { fetchFromSocket } from '../../src/api/statusCli.js';

const VIP = '192.0.2.100';
const ADVERT_S = 0.5;

let lab: Lab;
let lb1: LabNode, lb2: LabNode;
let t1: Tandem, t2: Tandem;

const spec = (node: LabNode, priority: number): DirectorSpec => ({
  routerId: node.name,
  instances: [{ name: 'VI_1', vrid: 51, version: 3, priority, advertInt: ADVERT_S, vips: [`${VIP}/24`] }],
});

before(async () => {
  requireLabTools('nft');
  requireTandemBuilt();
  lab = await Lab.create({ prefix: 'tC', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }, { name: 'lb2', ipv4: ['192.0.2.2/24'] }] });
  lb1 = lab.node('lb1');
  lb2 = lab.node('lb2');
  t1 = await Tandem.start(lab, lb1, spec(lb1, 200));
  await t1.waitForState('VI_1', 'MASTER', 15_000);
  t2 = await Tandem.start(lab, lb2, spec(lb2, 100));
  await t2.waitForState('VI_1', 'BACKUP', 15_000);
});

after(async () => { await lab?.destroy(); });

interface AdvertSend { failures: number; consecutive_failed: number; last_error: string | null; fault: { reason: string; detail: string; since: string; retry_at: string | null } | null }
const advertSend = (t: Tandem) => (t.readState()?.instances[0] as unknown as { advert_send?: AdvertSend } | undefined)?.advert_send;

async function holders(): Promise<string> {
  return (await lab.holders(VIP, [lb1, lb2])).join(',') || 'none';
}

test('a master whose adverts fail (EPERM from a firewall) goes to FAULT before its backup takes over, says why, and comes back after the hold', { timeout: 90_000 }, async () => {
  assert.equal(await holders(), 'lb1');
  // Drop lb1's own outgoing VRRP: netfilter's verdict reaches sendmsg as EPERM.
  await lab.exec(lb1, ['nft', '-f', '-'], {
    input: 'table inet sendfault {\n  chain out {\n    type filter hook output priority 0;\n    meta l4proto 112 drop\n  }\n}\n',
  });
  const cut = Date.now();
  const seen: string[] = [];
  let lb2MasterAt = 0;
  for (let i = 0; i < 200 && Date.now() - cut < 8000; i++) {
    seen.push(await holders());
    if (!lb2MasterAt && t2.state('VI_1') === 'MASTER') lb2MasterAt = Date.now() - cut;
    if (lb2MasterAt && t1.state('VI_1') === 'FAULT' && seen.at(-1) === 'lb2' && seen.length > 10) break;
    await sleep(25);
  }
  assert.ok(!seen.includes('lb1,lb2'), `the VIP was on both: ${seen.join(' ')}`);
  assert.equal(t1.state('VI_1'), 'FAULT');
  assert.equal(t2.state('VI_1'), 'MASTER');
  assert.equal(await holders(), 'lb2');
  // lb2 takes over one Master_Down_Interval (3 x 0.5 s + skew) after lb1's last advert.
  assert.ok(lb2MasterAt > 0 && lb2MasterAt < 5000, `lb2 master after ${lb2MasterAt} ms`);

  // Why, in the state file, `tandem status`, the metrics and the log.
  const a = advertSend(t1);
  assert.ok(a?.fault, `no send fault in the status: ${JSON.stringify(t1.readState()?.instances)}`);
  assert.equal(a.fault.reason, 'advert_send_failed');
  assert.match(a.fault.detail, /3 adverts in a row left on none of their 1 destination\(s\) \(224\.0\.0\.18: sendmsg EPERM/);
  assert.ok(a.failures >= 3);
  const retryIn = Date.parse(a.fault.retry_at!) - Date.parse(a.fault.since);
  assert.ok(Math.abs(retryIn - 10_000) < 50, `hold ${retryIn} ms`);
  const table = (await run([process.execPath, TANDEM_BIN, 'status', '--socket', t1.socketPath])).stdout;
  assert.match(table, /VI_1 +FAULT /);
  assert.match(table, /VI_1: ADVERTS CANNOT BE SENT \(advert_send_failed\), held in FAULT since \d+s ago: 3 adverts in a row/);
  const metrics = await fetchFromSocket(t1.socketPath, '/metrics');
  assert.match(metrics, /^tandem_vrrp_advert_send_fault\{instance="VI_1"\} 1$/m);
  assert.match(metrics, new RegExp(`^tandem_vrrp_advert_send_failures_total\\{instance="VI_1"\\} ${a.failures}$`, 'm'));
  assert.match(metrics, /^tandem_vrrp_state\{instance="VI_1",state="FAULT"\} 1$/m);
  const log = t1.proc.lines.join('\n');
  assert.match(log, /ERROR.*3 adverts in a row left on none of their 1 destination\(s\).*advert_send_failed, going to FAULT \(VIPs removed, the role left to the backup\); trying again in 10 s/);

  // The firewall rule goes; after the hold lb1 leaves FAULT, preempts lb2 and is master again.
  await lab.exec(lb1, ['nft', 'delete', 'table', 'inet', 'sendfault']);
  await t1.waitForState('VI_1', 'BACKUP', 15_000);
  await t1.waitForState('VI_1', 'MASTER', 10_000);
  await t2.waitForState('VI_1', 'BACKUP', 5000);
  await waitFor(async () => (await holders()) === 'lb1', { timeoutMs: 5000, what: 'the VIP back on lb1 alone' });
  assert.equal(advertSend(t1)?.fault, null);
  assert.equal(advertSend(t1)?.consecutive_failed, 0);
  const after = await fetchFromSocket(t1.socketPath, '/metrics');
  assert.match(after, /^tandem_vrrp_advert_send_fault\{instance="VI_1"\} 0$/m);
});
