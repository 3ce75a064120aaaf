// `tandem realserver` for LVS-DR in a namespace (issue 16 §5): the real kernel's addresses and
// sysctls, the exit codes of --check, idempotence, what a neighbour sees (no ARP answer for the
// VIP: the director owns it on the wire), and --remove leaving the node as it was.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab, requireLabTools, type LabNode } from '../lib/netns.js';

const TANDEM = fileURLToPath(new URL('../../../bin/tandem', import.meta.url));
const VIP4 = '192.0.2.200';
const VIP6 = '2001:db8::200';
const SYSCTLS = ['net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.all.arp_announce', 'net.ipv4.conf.eth0.arp_ignore', 'net.ipv4.conf.eth0.arp_announce'];

let lab: Lab;
let rs: LabNode;
let peer: LabNode;

before(async () => {
  requireLabTools('arping');
  lab = await Lab.create({
    prefix: 'tR',
    nodes: [
      { name: 'rs', ipv4: ['192.0.2.11/24'], ipv6: ['2001:db8::11/64'] },
      { name: 'peer', ipv4: ['192.0.2.2/24'], ipv6: ['2001:db8::2/64'] },
    ],
  });
  rs = lab.node('rs');
  peer = lab.node('peer');
  // A host's lo is up (a fresh namespace's is not); a VIP on a down lo is not local.
  await lab.exec(rs, ['ip', 'link', 'set', 'lo', 'up']);
});
after(async () => { await lab?.destroy(); });

const tandem = (file: string, ...args: string[]) => lab.exec(rs, [process.execPath, TANDEM, 'realserver', '-f', file, ...args], { allowFail: true });

/** What the node looks like: lo's and eth0's addresses and the arp sysctls. */
async function state(): Promise<{ lo: string[]; eth0: string[]; sysctls: string[] }> {
  const addrs = async (dev: string) => (await lab.addresses(rs, dev)).map((a) => `${a.local}/${a.prefixlen}`).sort();
  const sysctls: string[] = [];
  for (const k of SYSCTLS) sysctls.push(`${k}=${(await lab.exec(rs, ['sysctl', '-n', k])).stdout.trim()}`);
  return { lo: await addrs('lo'), eth0: await addrs('eth0'), sysctls };
}

/** Whether anyone answers ARP for the VIP on the link (one request, 2 s; arping exits 0 on a reply). */
async function arpAnswered(): Promise<boolean> {
  return (await lab.exec(peer, ['arping', '-c', '1', '-w', '2', '-I', 'eth0', VIP4], { allowFail: true })).code === 0;
}

test('DR: --check says what is missing (exit 1); the run puts the VIPs on lo and sets arp_ignore/arp_announce; a second run changes nothing; --remove restores the node exactly', { timeout: 60_000 }, async () => {
  const file = lab.path('rs.yaml');
  writeFileSync(file, `mode: DR\ninterface: eth0\nvips: [${VIP4}, ${VIP6}]\nrecord_file: ${lab.path('realserver.json')}\n`);
  const before = await state();

  const check1 = await tandem(file, '--check');
  assert.equal(check1.code, 1, `--check before the run: exit 1\n${check1.stdout}${check1.stderr}`);
  assert.match(check1.stdout + check1.stderr, new RegExp(VIP4.replace(/\./g, '\\.')));

  // Without the run, the VIP on lo alone would make this node answer ARP for it (arp_ignore 0):
  // the proof that the sysctls below are what keeps it off the wire.
  await lab.exec(rs, ['ip', 'addr', 'add', `${VIP4}/32`, 'dev', 'lo']);
  assert.equal(await arpAnswered(), true, 'with arp_ignore 0 a VIP on lo is answered on eth0');
  await lab.exec(rs, ['ip', 'addr', 'del', `${VIP4}/32`, 'dev', 'lo']);

  const run1 = await tandem(file);
  assert.equal(run1.code, 0, `the run: exit 0\n${run1.stdout}${run1.stderr}`);
  const ready = await state();
  assert.ok(ready.lo.includes(`${VIP4}/32`) && ready.lo.includes(`${VIP6}/128`), `VIPs on lo: ${ready.lo.join(' ')}`);
  assert.deepEqual(ready.eth0, before.eth0, 'eth0 untouched');
  assert.deepEqual(ready.sysctls, ['net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2', 'net.ipv4.conf.eth0.arp_ignore=1', 'net.ipv4.conf.eth0.arp_announce=2']);
  assert.equal(await arpAnswered(), false, 'nobody answers ARP for the VIP: the director owns it on the wire');

  const run2 = await tandem(file);
  assert.equal(run2.code, 0, `second run: exit 0\n${run2.stdout}${run2.stderr}`);
  assert.match(run2.stdout, /nothing to change/i);
  assert.deepEqual(await state(), ready, 'a second run changes nothing');
  const check2 = await tandem(file, '--check');
  assert.equal(check2.code, 0, `--check when ready: exit 0\n${check2.stdout}${check2.stderr}`);

  const removed = await tandem(file, '--remove');
  assert.equal(removed.code, 0, `--remove: exit 0\n${removed.stdout}${removed.stderr}`);
  assert.deepEqual(await state(), before, '--remove undoes exactly what the run did');
  assert.equal((await tandem(file, '--check')).code, 1, 'not ready after --remove');
});
