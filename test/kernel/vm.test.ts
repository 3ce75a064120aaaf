// Tests of the kernel tier's harness (vm.ts): that the VM really runs Debian's kernel with IPVS,
// that the host's tools and node run inside it, that namespaces, veth and every scheduler work,
// that an IPVS NAT service forwards a real TCP connection, and that the harness itself reports
// exit codes, output and environment faithfully and kills QEMU on timeout.
//
// Each VM boot costs a few seconds under TCG, so the facts about the VM are gathered in one boot
// (a script of delimited sections) and each test asserts on its own section.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  IPVS_SCHEDULERS, VmError, liveVmCount, killAllVmsNow, runInVm, schedulersBuilt, vmAvailable,
  type VmRunResult,
} from './vm.js';

after(() => killAllVmsNow());

/** The kernel the VM boots; throws (so the test fails, never skips) when the tier cannot run. */
function requireKernel(): string {
  const a = vmAvailable();
  if (!a.ok) throw new Error(`kernel test tier cannot run: ${a.why}`);
  return a.kernel;
}

// ---------------------------------------------------------------------------------------------
// One boot, many facts.

const SECTION_RE = /^@@@ begin (\S+)\n([\s\S]*?)^@@@ end \1 rc=(\d+)$/gm;

/** Runs named shell snippets in one VM; each section's output (stdout+stderr) and exit code. */
async function runSections(sections: Record<string, string>): Promise<{ run: VmRunResult; out: Map<string, { rc: number; text: string }> }> {
  const script = Object.entries(sections)
    .map(([name, body]) => `echo "@@@ begin ${name}"\n( ${body}\n) 2>&1\necho "@@@ end ${name} rc=$?"`)
    .join('\n');
  const run = await runInVm(script, { timeoutMs: 120_000 });
  const out = new Map<string, { rc: number; text: string }>();
  for (const m of run.stdout.matchAll(SECTION_RE)) out.set(m[1]!, { rc: Number(m[3]), text: m[2]! });
  return { run, out };
}

describe('the VM: Debian kernel with IPVS, host root chrooted', () => {
  let kernel = '';
  let built: string[] = [];
  let facts: Awaited<ReturnType<typeof runSections>> | undefined;

  before(async () => {
    kernel = requireKernel();
    built = schedulersBuilt(kernel);
    const schedulerLines = built.map((s, i) => `ipvsadm -A -t 192.0.2.100:${1000 + i} -s ${s} || echo "FAILED ${s}"`).join('\n');
    facts = await runSections({
      uname: 'uname -r',
      ipvs: [
        'ipvsadm -Ln',
        'ipvsadm -A -t 192.0.2.100:80 -s wrr',
        'echo "--- save"',
        'ipvsadm-save -n',
      ].join('\n'),
      node: 'node -e "console.log(process.version)"',
      schedulers: [
        schedulerLines,
        'echo "--- save"',
        'ipvsadm-save -n',
        'echo "--- modules"',
        "grep -o '^ip_vs[a-z_]*' /proc/modules",
      ].join('\n'),
      netns: [
        'set -e',
        'ip netns add tQa; ip netns add tQb',
        'ip link add tQva netns tQa type veth peer name tQvb netns tQb',
        'ip -n tQa addr add 198.51.100.1/24 dev tQva; ip -n tQb addr add 198.51.100.2/24 dev tQvb',
        'ip -n tQa link set tQva up; ip -n tQb link set tQvb up',
        'ip netns exec tQa ping -c 1 -W 3 198.51.100.2',
        'ip netns del tQa; ip netns del tQb',
      ].join('\n'),
      mounts: [
        'touch /tmp/w /run/w /var/tmp/w && echo writable-ok',
        'if touch /etc/tQ-should-fail 2>/dev/null; then echo root-WRITABLE; else echo root-readonly; fi',
        'ip -br link show lo',
        'test -r /proc/self/status && test -d /sys/class/net && test -c /dev/null && echo pseudo-ok',
        'pwd',
      ].join('\n'),
    });
  });

  function section(name: string): { rc: number; text: string } {
    const s = facts?.out.get(name);
    if (!s) throw new Error(`section ${name} missing from VM output:\n${facts?.run.stdout}\n${facts?.run.stderr}`);
    return s;
  }

  test('boots the Debian kernel chosen on the host, not the host kernel', () => {
    const s = section('uname');
    assert.equal(s.rc, 0);
    assert.equal(s.text.trim(), kernel);
    const hostKernel = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
    assert.notEqual(hostKernel, kernel, 'the VM must not merely report the host kernel');
    console.log(`# VM kernel ${kernel}; boot ${facts!.run.bootMs} ms, whole run ${facts!.run.totalMs} ms`);
  });

  test('ipvsadm works inside: an added wrr service shows in ipvsadm-save -n', () => {
    const s = section('ipvs');
    assert.equal(s.rc, 0, s.text);
    assert.match(s.text, /^IP Virtual Server version \d+\.\d+\.\d+/m);
    const saved = s.text.split('--- save\n')[1] ?? '';
    assert.match(saved, /^-A -t 192\.0\.2\.100:80 -s wrr$/m);
  });

  test('the host node runs inside the VM', () => {
    const s = section('node');
    assert.equal(s.rc, 0, s.text);
    assert.equal(s.text.trim(), process.version);
  });

  test('every scheduler the kernel builds loads and serves a virtual service', () => {
    const s = section('schedulers');
    assert.equal(s.rc, 0, s.text);
    assert.doesNotMatch(s.text, /FAILED/);
    const [, saved = '', modules = ''] = s.text.split(/--- (?:save|modules)\n/);
    for (const [i, sched] of built.entries()) {
      assert.match(saved, new RegExp(`^-A -t 192\\.0\\.2\\.100:${1000 + i} -s ${sched}$`, 'm'), `scheduler ${sched}`);
      assert.match(modules, new RegExp(`^ip_vs_${sched}$`, 'm'), `module ip_vs_${sched}`);
    }
    // Debian's 6.1 config leaves CONFIG_IP_VS_TWOS unset (the option exists, it is not built):
    // that is the only scheduler allowed to be missing. Any other gap fails here.
    const missing = IPVS_SCHEDULERS.filter((x) => !built.includes(x));
    assert.deepEqual(missing.filter((x) => x !== 'twos'), [], `kernel ${kernel} lacks schedulers`);
    const config = readFileSync(`/boot/config-${kernel}`, 'utf8');
    for (const m of missing) assert.match(config, new RegExp(`^# CONFIG_IP_VS_${m.toUpperCase()} is not set$`, 'm'));
    if (missing.length > 0) console.log(`# not built in ${kernel}: ${missing.join(' ')}`);
  });

  test('network namespaces and veth pairs work inside the VM', () => {
    const s = section('netns');
    assert.equal(s.rc, 0, s.text);
    assert.match(s.text, /1 packets transmitted, 1 received/);
  });

  test('the chroot has writable tmpfs /tmp /run /var/tmp, a read-only root, /proc /sys /dev, lo up, project cwd', () => {
    const s = section('mounts');
    assert.equal(s.rc, 0, s.text);
    assert.match(s.text, /^writable-ok$/m);
    assert.match(s.text, /^root-readonly$/m);
    assert.match(s.text, /^lo\s+UNKNOWN|^lo\s+UP/m);
    assert.match(s.text, /^pseudo-ok$/m);
    assert.match(s.text, new RegExp(`^${new URL('../../../', import.meta.url).pathname.replace(/\/$/, '')}$`, 'm'));
  });
});

// ---------------------------------------------------------------------------------------------
// A real connection through an IPVS NAT virtual service.

/**
 * Topology inside the VM (the VM's root namespace is the director):
 *   client ns 192.0.2.2 --veth-- 192.0.2.1 director (VIP 192.0.2.100 on lo-side dummy)
 *   director 198.51.100.1 --veth-- 198.51.100.11 real-server ns (node http server :80; python3's
 *   http.server took 2-6 s to import under TCG, node ~1 s)
 * NAT (masquerade, -m) needs the replies to pass the director: the real server's default route
 * points at it.
 */
const NAT_SCRIPT = String.raw`
set -eu
sysctl -qw net.ipv4.ip_forward=1
# One ip -batch per namespace: each process start costs ~0.15 s under TCG.
ip -batch - <<EOF
netns add tQc
netns add tQr
link add tQc0 type veth peer name eth0 netns tQc
link add tQr0 type veth peer name eth0 netns tQr
addr add 192.0.2.1/24 dev tQc0
link set tQc0 up
addr add 198.51.100.1/24 dev tQr0
link set tQr0 up
link add tQvip type dummy
addr add 192.0.2.100/32 dev tQvip
link set tQvip up
EOF
ip -n tQc -batch - <<EOF
addr add 192.0.2.2/24 dev eth0
link set eth0 up
link set lo up
route add default via 192.0.2.1
EOF
ip -n tQr -batch - <<EOF
addr add 198.51.100.11/24 dev eth0
link set eth0 up
link set lo up
route add default via 198.51.100.1
EOF
ip netns exec tQr node -e '
  require("node:http").createServer((req, res) => res.end("hello from real server tQ-198.51.100.11\n"))
    .listen(80, "198.51.100.11");' >/tmp/http.log 2>&1 &
# Readiness by bash's /dev/tcp: no process to start per try (a curl costs ~0.5 s under TCG).
ready=no
for i in $(seq 1 300); do
  if (exec 3<>/dev/tcp/198.51.100.11/80) 2>/dev/null; then ready=yes; break; fi
  sleep 0.05
done
[ "$ready" = yes ] || { echo "real server never answered"; cat /tmp/http.log; exit 1; }
ipvsadm -A -t 192.0.2.100:80 -s rr
ipvsadm -a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1
echo "--- body"
ip netns exec tQc curl -fsS --max-time 5 http://192.0.2.100/
echo "--- connections"
ipvsadm -Lnc
`;

describe('IPVS NAT in the VM', () => {
  test('a client namespace reaches a real server namespace through the VIP', async () => {
    requireKernel();
    const r = await runInVm(NAT_SCRIPT, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    const [, body = '', conns = ''] = r.stdout.split(/--- (?:body|connections)\n/);
    assert.equal(body.trim(), 'hello from real server tQ-198.51.100.11');
    // IPVS's connection table holds the client -> VIP -> real server entry: the connection went
    // through the virtual service. (`--stats` would not do: 6.1 sums its per-CPU counters only on
    // the 2 s estimator tick.)
    assert.match(conns, /^TCP\s+\S+\s+\S+\s+192\.0\.2\.2:\d+\s+192\.0\.2\.100:80\s+198\.51\.100\.11:80\s*$/m, conns);
  });
});

// ---------------------------------------------------------------------------------------------
// The harness's own contract.

describe('runInVm contract', () => {
  test('exit code, stdout, stderr and environment come back exactly', async () => {
    requireKernel();
    const tricky = `it's "quoted" $HOME \\ \`x\``;
    const r = await runInVm('printf "%s\\n" "$TQ_VALUE"; echo to-stderr >&2; printf "no newline"; exit 7', {
      env: { TQ_VALUE: tricky }, timeoutMs: 60_000,
    });
    assert.equal(r.code, 7);
    assert.equal(r.stdout, `${tricky}\nno newline`);
    assert.equal(r.stderr, 'to-stderr\n');
    assert.ok(r.bootMs > 0 && r.bootMs <= r.totalMs, `bootMs ${r.bootMs} totalMs ${r.totalMs}`);
    console.log(`# boot ${r.bootMs} ms, whole run ${r.totalMs} ms`);
  });

  test('a run past its timeout is killed and reported, leaving no QEMU behind', async () => {
    requireKernel();
    const t0 = Date.now();
    await assert.rejects(runInVm('sleep 600', { timeoutMs: 6_000 }), (e: unknown) => {
      assert.ok(e instanceof VmError, String(e));
      assert.match(e.message, /passed its 6000 ms limit and was killed/);
      return true;
    });
    // Killed, not run to its end: the run returned before `sleep 600` could have finished.
    assert.ok(Date.now() - t0 < 600_000, 'the timeout did not bound the run');
    assert.equal(liveVmCount(), 0);
    const left = spawnSync('pgrep', ['-P', String(process.pid), '-f', 'qemu-system'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(left, '', `QEMU children still running: ${left}`);
  });
});
