// Reload (issue 5 §1) on a real tandem pair in namespaces: an instance with the same identity
// (VRID, family, interface, unicast/multicast) keeps its state through a change of priority,
// VIPs, advert_int and even its name; its VIPs are not deleted and re-added (watched with
// `ip monitor address`); an added instance starts, a removed one hands over with priority 0; a
// broken file and a restart-only change are refused with located errors and change nothing. Real
// servers: a checker whose checks are unchanged keeps its verdict (a down server stays down with
// no new warm-up), and a weight change reaches the status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, run, waitFor, type NsProcess } from '../lib/netns.js';
import { TANDEM_BIN, Tandem } from '../lib/tandem.js';
import type { DirectorSpec, VrrpInstanceSpec } from '../lib/director-spec.js';

const TIMEOUT = { timeout: 150_000 };

const vi = (name: string, vrid: number, priority: number, vips: string[], extra: Partial<VrrpInstanceSpec> = {}): VrrpInstanceSpec =>
  ({ name, vrid, version: 3, priority, advertInt: 0.5, vips, ...extra });

test('reload: same identity keeps state and VIPs, added starts, removed hands over; broken file changes nothing', TIMEOUT, async () => {
  const lab = await Lab.create({ prefix: 'tR', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }, { name: 'lb2', ipv4: ['192.0.2.2/24'] }] });
  let lb1: Tandem | undefined;
  let lb2: Tandem | undefined;
  let monitor: NsProcess | undefined;
  try {
    const spec1: DirectorSpec = { routerId: 'lb1', instances: [vi('VI_1', 51, 150, ['192.0.2.100/24']), vi('VI_2', 52, 150, ['192.0.2.101/24'])] };
    const spec2: DirectorSpec = { routerId: 'lb2', instances: [vi('VI_1', 51, 100, ['192.0.2.100/24']), vi('VI_2', 52, 100, ['192.0.2.101/24'])] };
    lb1 = await Tandem.start(lab, lab.node('lb1'), spec1);
    lb2 = await Tandem.start(lab, lab.node('lb2'), spec2);
    const ctx = () => `\n--- lb1 ---\n${lb1!.tail(40)}\n--- lb2 ---\n${lb2!.tail(20)}`;
    await lb1.waitForState('VI_1', 'MASTER', 20_000);
    await lb1.waitForState('VI_2', 'MASTER', 20_000);
    await lb2.waitForState('VI_1', 'BACKUP', 20_000);
    await lb2.waitForState('VI_2', 'BACKUP', 20_000);
    const before1 = lb1.readState()!;
    const before2 = lb2.readState()!;
    const transitions = (s: typeof before1, name: string) => s.instances.find((i) => i.name === name)!.transitions;
    monitor = lab.spawn(lab.node('lb1'), ['ip', '-o', 'monitor', 'address'], { logPath: lab.path('monitor.log') });

    // Same identities, new settings: VI_1 priority 200 and one more VIP; VI_2 renamed, advert_int 1;
    // VI_3 is new.
    lb1.writeConfig({
      routerId: 'lb1', instances: [
        vi('VI_1', 51, 200, ['192.0.2.100/24', '192.0.2.102/24']),
        vi('VI_2b', 52, 150, ['192.0.2.101/24'], { advertInt: 1 }),
        vi('VI_3', 53, 150, ['192.0.2.103/24']),
      ],
      // A warning (issue 13 §2): the reload is applied and says so, located, and the status keeps it.
      tandemTop: { global: { smtp_server: '192.0.2.25' } },
    });
    const r = await lb1.reload();
    assert.equal(r.code, 0, r.stderr + ctx());
    assert.match(r.stdout, /^reloaded \S+ in [\d.]+ ms: \d+ change\(s\), 1 warning\(s\)$/m, r.stdout);
    assert.match(r.stderr, /^\S+\.yaml:\d+:\d+ warning: global\.smtp_server: no mail is sent without global\.notification_email/m, r.stderr);
    await waitFor(() => ((lb1!.readState() as unknown as { config?: { warnings?: string[] } }).config?.warnings ?? []).length === 1,
      { timeoutMs: 5000, what: 'the running config\'s warning in the status' });
    assert.match(lb1.tail(40), /warning: global\.smtp_server: no mail is sent/, ctx());
    assert.match(r.stdout, /vrrp VI_1 \(vrid 51 IPv4 eth0 multicast\): changed priority, virtual_ipaddresses; state kept/, r.stdout);
    assert.match(r.stdout, /vrrp VI_2b \(vrid 52 IPv4 eth0 multicast\): renamed from VI_2, changed name, advert_int; state kept/, r.stdout);
    assert.match(r.stdout, /vrrp VI_3 \(vrid 53 IPv4 eth0 multicast\): added/, r.stdout);
    await waitFor(() => lb1!.instance('VI_1')?.effective_priority === 200, { timeoutMs: 5000, what: 'VI_1 effective priority 200' })
      .catch((e: Error) => assert.fail(e.message + ctx()));
    await lb1.waitForState('VI_3', 'MASTER', 20_000);
    await waitFor(async () => /192\.0\.2\.102\/24/.test((await lab.exec(lab.node('lb1'), ['ip', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout),
      { timeoutMs: 5000, what: 'the added VIP 192.0.2.102 on lb1' });
    // Adverts at the new interval keep lb2 a backup for a few of its Master_Down_Intervals.
    await new Promise((res) => setTimeout(res, 3000));
    const after1 = lb1.readState()!;
    const after2 = lb2.readState()!;
    assert.equal(lb1.state('VI_1'), 'MASTER');
    assert.equal(lb1.state('VI_2b'), 'MASTER');
    assert.equal(transitions(after1, 'VI_1'), transitions(before1, 'VI_1'), `VI_1 made a transition${ctx()}`);
    assert.equal(transitions(after1, 'VI_2b'), transitions(before1, 'VI_2'), `VI_2 (now VI_2b) made a transition${ctx()}`);
    assert.equal(transitions(after2, 'VI_1'), transitions(before2, 'VI_1'), `lb2 VI_1 moved${ctx()}`);
    assert.equal(transitions(after2, 'VI_2'), transitions(before2, 'VI_2'), `lb2 VI_2 moved${ctx()}`);
    const monitored = monitor.tail(200);
    assert.doesNotMatch(monitored, /Deleted.*192\.0\.2\.10[01]\//, `a kept VIP was deleted:\n${monitored}`);
    assert.match(monitored, /192\.0\.2\.102\/24/, `the added VIP was not seen being added:\n${monitored}`);

    // A broken file: refused with every error located, nothing changes.
    lb1.writeConfig('global:\n  router_id: lb1\nvrrp_instances:\n  - name: VI_1\n    interface: eth0\n    virtual_router_id: 51\n    priority: 300\n    preemt: true\n    virtual_ipaddresses: [192.0.2.100/24]\n');
    const bad = await lb1.reload();
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /:7:15 vrrp_instances\[0\]\.priority: /, bad.stderr);
    assert.match(bad.stderr, /:8:5 vrrp_instances\[0\]\.preemt: unknown key/, bad.stderr);
    assert.match(bad.stderr, /refused, 2 error\(s\); the daemon keeps running its previous config/, bad.stderr);
    // A restart-only key: refused and located.
    lb1.writeConfig({ routerId: 'lb1', instances: [vi('VI_1', 51, 200, ['192.0.2.100/24'])], tandemTop: { global: { ipvs_backend: 'ipvsadm' } } });
    const restart = await lb1.reload();
    assert.equal(restart.code, 2, restart.stdout + restart.stderr);
    assert.match(restart.stderr, /:\d+:\d+ global\.ipvs_backend: changed from netlink to ipvsadm: this needs a restart/, restart.stderr);
    // A scheduler the running table backend cannot express (this kernel has no IPVS, so auto is
    // nft): refused, located, though the file itself is valid YAML and valid config.
    lb1.writeConfig({ routerId: 'lb1', instances: [vi('VI_1', 51, 200, ['192.0.2.100/24'])], tandemTop: { virtual_servers: [{
      address: '192.0.2.100', port: 80, protocol: 'TCP', lb_algo: 'lc', lb_kind: 'NAT', real_servers: [{ address: '198.51.100.11', port: 80 }],
    }] } });
    const unfit = await lb1.reload();
    assert.equal(unfit.code, 2, unfit.stdout + unfit.stderr);
    assert.match(unfit.stderr, /:\d+:\d+ virtual_servers\[0\]\.lb_algo: the nft backend cannot express lc/, unfit.stderr);
    assert.doesNotMatch(unfit.stderr, /:1:1 /, `an error lost its location: ${unfit.stderr}`);
    const unchanged = lb1.readState()!;
    assert.deepEqual(unchanged.instances.map((i) => [i.name, i.state, i.effective_priority]).sort(),
      [['VI_1', 'MASTER', 200], ['VI_2b', 'MASTER', 150], ['VI_3', 'MASTER', 150]], JSON.stringify(unchanged.instances) + ctx());
    assert.match(lb1.tail(60), /reload refused: 2 error\(s\); still running the previous config/);
    // The status says so: the last reload was refused, and why.
    await waitFor(() => (lb1!.readState() as unknown as { config?: { last_reload?: { ok: boolean } } }).config?.last_reload?.ok === false,
      { timeoutMs: 5000, what: 'last_reload.ok false in the status' });
    const cfgStatus = (lb1.readState() as unknown as { config: { reloads: { ok: number; refused: number }; last_reload: { errors: string[] } } }).config;
    assert.deepEqual(cfgStatus.reloads, { ok: 1, refused: 3 });
    assert.match(cfgStatus.last_reload.errors[0] ?? '', /lb_algo: the nft backend cannot express lc/);
    const table = await run([process.execPath, TANDEM_BIN, 'status', '--socket', lb1.socketPath], { allowFail: true, timeoutMs: 15_000 });
    assert.match(table.stdout, /LAST RELOAD REFUSED \d+s ago \(1 error\(s\): .*lb_algo/, table.stdout + table.stderr);

    // SIGHUP with VI_1 removed: lb1 sends priority 0 and removes its VIPs; lb2 takes over after
    // Skew_Time, well before a Master_Down_Interval (3 x 0.5 s + skew).
    lb1.writeConfig({ routerId: 'lb1', instances: [vi('VI_2b', 52, 150, ['192.0.2.101/24'], { advertInt: 1 }), vi('VI_3', 53, 150, ['192.0.2.103/24'])] });
    const t0 = Date.now();
    lb1.proc.signal('SIGHUP');
    await lb2.waitForState('VI_1', 'MASTER', 5000);
    const takeoverMs = Date.now() - t0;
    assert.ok(takeoverMs < 1500, `lb2 took ${takeoverMs} ms to take VI_1 over after the reload removed it on lb1${ctx()}`);
    await waitFor(async () => !/192\.0\.2\.10[02]\//.test((await lab.exec(lab.node('lb1'), ['ip', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout),
      { timeoutMs: 5000, what: 'VI_1 VIPs gone from lb1' });
    assert.equal(lb1.state('VI_2b'), 'MASTER');
    assert.equal(lb1.readState()!.instances.some((i) => i.name === 'VI_1'), false);
    assert.ok(lb1.running, 'lb1 exited on SIGHUP');
  } finally {
    await monitor?.kill9();
    await lb1?.stop().catch(() => lb1?.kill9());
    await lb2?.stop().catch(() => lb2?.kill9());
    await lab.destroy();
  }
});

test('reload: unchanged checks keep their verdict, a weight change reaches the status', TIMEOUT, async () => {
  const lab = await Lab.create({ prefix: 'tR', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24', '198.51.100.11/24', '198.51.100.12/24'] }] });
  let d: Tandem | undefined;
  let server: NsProcess | undefined;
  try {
    const node = lab.node('lb1');
    // Only .11 answers; .12 is down from its first probe.
    server = lab.spawn(node, [process.execPath, '-e', "require('net').createServer((s) => s.on('error', () => {})).listen(8080, '198.51.100.11')"]);
    const rs = (address: string, weight: number) => ({
      address, port: 8080, weight, checks: [{ tcp_check: { connect_timeout: 1, retry: 0, delay_before_retry: 1 } }],
    });
    const vs = (weight11: number, extra: object[] = []) => ({
      routerId: 'lb1', instances: [],
      tandemTop: { virtual_servers: [{ address: '192.0.2.100', port: 80, protocol: 'TCP', lb_algo: 'wrr', lb_kind: 'NAT', delay_loop: 1,
        real_servers: [rs('198.51.100.11', weight11), rs('198.51.100.12', 1), ...extra] }] },
    });
    d = await Tandem.start(lab, node, vs(1));
    const ctx = () => `\n--- log ---\n${d!.tail(40)}`;
    type Lb = { virtual_servers: Array<{ real_servers: Record<string, string>; weights: Record<string, number> }> };
    const lbState = () => (d!.readState() as unknown as { lb: Lb | null }).lb;
    await waitFor(() => {
      const v = lbState()?.virtual_servers[0];
      return v && /down|inhibited|absent/.test(v.real_servers['198.51.100.12:8080'] ?? '') && v.real_servers['198.51.100.11:8080'] ? v : null;
    }, { timeoutMs: 15_000, what: 'the first verdicts' }).catch((e: Error) => assert.fail(e.message + JSON.stringify(lbState()) + ctx()));
    const downLines = () => (d!.tail(400).match(/real server TCP 192\.0\.2\.100:80 -> 198\.51\.100\.12:8080 down/g) ?? []).length;
    const downsBefore = downLines();
    assert.ok(downsBefore >= 1, ctx());

    d.writeConfig(vs(5, [rs('198.51.100.13', 2)]));
    const r = await d.reload();
    assert.equal(r.code, 0, r.stderr + ctx());
    assert.match(r.stdout, /real server TCP 192\.0\.2\.100:80 -> 198\.51\.100\.11:8080: weight 1 -> 5/, r.stdout);
    assert.match(r.stdout, /1 real server\(s\) added/, r.stdout);
    assert.match(d.tail(20), /checkers kept 2, started 1, stopped 0/, ctx());
    await waitFor(() => lbState()?.virtual_servers[0]?.weights['198.51.100.11:8080'] === 5, { timeoutMs: 5000, what: 'weight 5 in the status' })
      .catch((e: Error) => assert.fail(e.message + JSON.stringify(lbState()) + ctx()));
    // Two more check rounds: the down server's verdict carried over (no new "down" from a fresh
    // checker), and the new server got its own verdict.
    await new Promise((res) => setTimeout(res, 2500));
    assert.equal(downLines(), downsBefore, `the kept checker's verdict was re-announced${ctx()}`);
    assert.match(d.tail(400), /real server TCP 192\.0\.2\.100:80 -> 198\.51\.100\.13:8080 down/, ctx());
  } finally {
    await server?.kill9();
    await d?.stop().catch(() => d?.kill9());
    await lab.destroy();
  }
});

test('reload of 10,000 real servers does not hold back the adverts: a backup at advert_int 0.2 s never takes over', TIMEOUT, async () => {
  const lab = await Lab.create({ prefix: 'tR', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24', '198.51.100.254/24'] }, { name: 'lb2', ipv4: ['192.0.2.2/24'] }] });
  let lb1: Tandem | undefined;
  let lb2: Tandem | undefined;
  try {
    // advert_int 0.2 s: lb2 declares lb1 dead after 3 x 0.2 s + Skew_Time, about 0.64 s without an
    // advert. Reading and validating 10,000 real servers takes ~1.1 s of CPU here, so the reload
    // must not do it on the thread that sends the adverts.
    const vrrp = (p: number) => [vi('VI_1', 61, p, ['192.0.2.100/24'], { advertInt: 0.2 })];
    lb1 = await Tandem.start(lab, lab.node('lb1'), { routerId: 'lb1', instances: vrrp(150) });
    lb2 = await Tandem.start(lab, lab.node('lb2'), { routerId: 'lb2', instances: vrrp(100) });
    const ctx = () => `\n--- lb1 ---\n${lb1!.tail(30)}\n--- lb2 ---\n${lb2!.tail(20)}`;
    await lb1.waitForState('VI_1', 'MASTER', 20_000);
    await lb2.waitForState('VI_1', 'BACKUP', 20_000);
    await new Promise((res) => setTimeout(res, 1000));
    const before = lb2.instance('VI_1')!.transitions;
    const services = Array.from({ length: 100 }, (_, s) => ({
      address: '192.0.2.100', port: 1000 + s, protocol: 'TCP', lb_algo: 'wrr', lb_kind: 'NAT',
      real_servers: Array.from({ length: 100 }, (_, d) => ({ address: `198.51.100.${d + 1}`, port: 80, weight: 1 })),
    }));
    lb1.writeConfig({ routerId: 'lb1', instances: vrrp(150), tandemTop: { virtual_servers: services } });
    const r = await lb1.reload();
    assert.equal(r.code, 0, r.stderr + ctx());
    assert.match(r.stdout, /100 virtual server|virtual server TCP 192\.0\.2\.100:1099: added/, r.stdout);
    // Until the 10,000 entries are in tandem's nft table, then a little longer.
    await waitFor(async () => {
      const t = await lab.exec(lab.node('lb1'), ['nft', 'list', 'table', 'ip', 'tandem'], { allowFail: true });
      return (t.stdout.match(/198\.51\.100\.\d+ \. 80 : /g) ?? []).length >= 10_000;
    }, { timeoutMs: 60_000, intervalMs: 500, what: '10,000 real servers in table ip tandem' }).catch((e: Error) => assert.fail(e.message + ctx()));
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(lb2.state('VI_1'), 'BACKUP', ctx());
    assert.equal(lb2.instance('VI_1')!.transitions, before, `lb2 changed state during lb1's reload${ctx()}`);
    assert.equal(lb1.state('VI_1'), 'MASTER', ctx());
    const timing = /reloaded .* \(read and validated in a worker: (\d+) ms; planned and applied on the main thread: (\d+) ms\)/.exec(lb1.tail(200));
    assert.ok(timing, ctx());
    console.log(`# 10,000 real servers: read and validated in a worker ${timing[1]} ms, planned and applied on the main thread ${timing[2]} ms`);
  } finally {
    await lb1?.stop().catch(() => lb1?.kill9());
    await lb2?.stop().catch(() => lb2?.kill9());
    await lab.destroy();
  }
});
