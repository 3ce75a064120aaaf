// Issue 12 §1 on real directors in namespaces: more VIPs than an advert can carry, and a file
// nested past the limit. `tandem run` refuses them at load (exit 2, located, no stack trace), with
// the MTU of the namespace's real eth0; a running MASTER's reload to 300 VIPs is refused (it used
// to be accepted, after which the master's adverts failed while it kept the VIPs and the backup
// became MASTER too: a lasting split brain). The master stays MASTER, keeps advertising (the
// backup's accepted-advert counter keeps rising and it stays BACKUP), and nothing changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Lab, run, sleep, type LabNode } from '../lib/netns.js';
import { TANDEM_BIN, Tandem, requireTandemBuilt } from '../lib/tandem.js';
import type { VrrpInstanceSpec } from '../lib/director-spec.js';

const TIMEOUT = { timeout: 150_000 };

const v4 = (n: number) => Array.from({ length: n }, (_, i) => `198.51.${100 + (i >> 8)}.${i & 255}/32`);
const v6 = (n: number) => Array.from({ length: n }, (_, i) => `2001:db8::${(i + 1).toString(16)}/128`);
const vi = (priority: number, vips: string[]): VrrpInstanceSpec => ({ name: 'VI_1', vrid: 51, version: 3, priority, advertInt: 0.5, vips });

/** `tandem run -f FILE` in `node`'s namespace, to its exit (bounded). */
async function runOnce(lab: Lab, node: LabNode, file: string) {
  return lab.exec(node, [process.execPath, TANDEM_BIN, 'run', '-f', file], { allowFail: true, timeoutMs: 20_000 });
}

test('tandem run refuses VIPs an advert cannot carry (eth0\'s real MTU) and a too-deep file: exit 2, located', TIMEOUT, async () => {
  requireTandemBuilt();
  const lab = await Lab.create({ prefix: 'tL', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'], ipv6: ['2001:db8::1/64'] }] });
  try {
    const node = lab.node('lb1');
    const write = (name: string, text: string) => { const p = lab.path(name); writeFileSync(p, text); return p; };
    // A socket in the lab's directory, in case a daemon got as far as binding one.
    const instance = (vips: string[]) => `global:\n  status_socket: ${lab.path('t.sock')}\nvrrp_instances:\n  - name: VI_1\n` +
      `    interface: eth0\n    virtual_router_id: 51\n    version: 3\n    priority: 150\n    advert_int: 0.5\n    virtual_ipaddresses: [${vips.join(', ')}]\n`;
    const noTrace = (out: string) => assert.doesNotMatch(out, /RangeError|encodeAdvert|\n\s+at /, out);

    const many = write('300.yaml', instance(v4(300)));
    const r = await runOnce(lab, node, many);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /ERROR \S*300\.yaml:10:26 vrrp_instances\[0\]\.virtual_ipaddresses: 300 addresses, but an advert carries at most 255 /);
    assert.match(r.stdout, /refusing to start: 1 config error/);
    noTrace(r.stdout + r.stderr);

    // IPv6 on an eth0 with MTU 1280: (1280 - 62) / 16 = 76 addresses, read from this namespace's eth0.
    await lab.exec(node, ['ip', 'link', 'set', 'eth0', 'mtu', '1280']);
    const fits = await lab.exec(node, [process.execPath, TANDEM_BIN, 'check', '-f', write('76.yaml', instance(v6(76)))], { allowFail: true });
    assert.equal(fits.code, 0, fits.stdout + fits.stderr);
    const six = await runOnce(lab, node, write('77.yaml', instance(v6(77))));
    assert.equal(six.code, 2, six.stdout + six.stderr);
    assert.match(six.stdout, /77\.yaml:10:26 vrrp_instances\[0\]\.virtual_ipaddresses: 77 addresses, but a VRRPv3 IPv6 advert on eth0 \(MTU 1280\) has room for 76 /);
    noTrace(six.stdout + six.stderr);

    const deep = write('deep.yaml', `router_id: ${'['.repeat(1000)}${']'.repeat(1000)}\n`);
    const d = await runOnce(lab, node, deep);
    assert.equal(d.code, 2, d.stdout + d.stderr);
    assert.match(d.stdout, /ERROR \S*deep\.yaml:1:75 router_id\S*: nested deeper than 64 levels/);
    noTrace(d.stdout + d.stderr);
  } finally {
    await lab.destroy();
  }
});

test('a MASTER\'s reload to 300 VIPs is refused: it stays MASTER, keeps advertising, the backup stays BACKUP', TIMEOUT, async () => {
  const lab = await Lab.create({ prefix: 'tL', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }, { name: 'lb2', ipv4: ['192.0.2.2/24'] }] });
  let lb1: Tandem | undefined;
  let lb2: Tandem | undefined;
  try {
    lb1 = await Tandem.start(lab, lab.node('lb1'), { routerId: 'lb1', instances: [vi(150, ['192.0.2.100/24'])] });
    lb2 = await Tandem.start(lab, lab.node('lb2'), { routerId: 'lb2', instances: [vi(100, ['192.0.2.100/24'])] });
    const ctx = () => `\n--- lb1 ---\n${lb1!.tail(30)}\n--- lb2 ---\n${lb2!.tail(20)}`;
    await lb1.waitForState('VI_1', 'MASTER', 20_000);
    await lb2.waitForState('VI_1', 'BACKUP', 20_000);
    const accepted = async (t: Tandem) => {
      const s = await run([process.execPath, TANDEM_BIN, 'status', '--json', '--socket', t.socketPath], { allowFail: true, timeoutMs: 15_000 });
      assert.equal(s.code, 0, s.stderr);
      return (JSON.parse(s.stdout) as { rx: { accepted: number } }).rx.accepted;
    };
    const vipsOn = async (node: LabNode) => (await lab.exec(node, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout.match(/inet \S+/g) ?? [];
    const transitions1 = lb1.instance()!.transitions;
    const transitions2 = lb2.instance()!.transitions;
    const addrsBefore = await vipsOn(lab.node('lb1'));

    lb1.writeConfig({ routerId: 'lb1', instances: [vi(150, v4(300))] });
    const r = await lb1.reload();
    assert.equal(r.code, 2, r.stdout + r.stderr + ctx());
    assert.match(r.stderr, /:\d+:\d+ vrrp_instances\[0\]\.virtual_ipaddresses: 300 addresses, but an advert carries at most 255 \(its address count is one byte/, r.stderr);
    assert.match(r.stderr, /refused, 1 error\(s\); the daemon keeps running its previous config/);
    assert.doesNotMatch(r.stderr, /:1:1 |cannot load/, r.stderr);

    // The same for a file nested past the limit: read in the reload's worker thread, refused located.
    writeFileSync(lb1.configPath, `router_id: ${'['.repeat(1000)}${']'.repeat(1000)}\n`);
    const deep = await lb1.reload();
    assert.equal(deep.code, 2, deep.stdout + deep.stderr + ctx());
    assert.match(deep.stderr, /:1:75 router_id\S*: nested deeper than 64 levels of mappings and lists/, deep.stderr);
    assert.doesNotMatch(deep.stderr, /RangeError|cannot load|YAML syntax/, deep.stderr);

    // Several Master_Down_Intervals (3 x 0.5 s + skew) later: still one master, still advertising.
    const before = await accepted(lb2);
    await sleep(4000);
    const after = await accepted(lb2);
    assert.ok(after - before >= 6, `lb2 accepted ${after - before} adverts from lb1 in 4 s (advert_int 0.5 s)${ctx()}`);
    assert.equal(lb1.state(), 'MASTER', ctx());
    assert.equal(lb2.state(), 'BACKUP', ctx());
    assert.equal(lb1.instance()!.transitions, transitions1, `lb1 changed state${ctx()}`);
    assert.equal(lb2.instance()!.transitions, transitions2, `lb2 changed state${ctx()}`);
    assert.deepEqual(await vipsOn(lab.node('lb1')), addrsBefore, 'lb1\'s addresses changed');
    assert.deepEqual(await vipsOn(lab.node('lb2')), ['inet 192.0.2.2/24'], 'lb2 holds a VIP');
    assert.ok(lb1.running && lb2.running, ctx());
  } finally {
    await lb1?.stop().catch(() => lb1?.kill9());
    await lb2?.stop().catch(() => lb2?.kill9());
    await lab.destroy();
  }
});
