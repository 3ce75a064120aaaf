// Reload on a real IPVS kernel (issue 5 §1), Debian's kernel under QEMU (test/kernel/vm.ts): a
// daemon with 10,000 real servers (100 services x 100) and a VRRP instance that is MASTER; a reload
// that changes one real server's weight changes exactly one line of /proc/net/ip_vs, does not
// touch the VIP (`ip monitor address` sees nothing) and makes no VRRP transition; a reload with a
// broken file is refused (exit 2) and changes nothing, and so does a SIGHUP with it. Then a
// restart whose config dropped a service removes it (the state file says tandem owned it).
//
// The real servers have no checks (keepalived: a real server without a checker is up), so the
// table is the config's and nothing but the reload can change it: 10,000 probes under TCG would
// be load, not evidence. Checkers keeping their verdicts is tested in test/integration/reload.test.ts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { killAllVmsNow, runInVm, vmAvailable } from './vm.js';

after(() => killAllVmsNow());

/** A raw template for bash: `\${` stays bash's own `${`. */
function bash(strings: TemplateStringsArray, ...values: unknown[]): string {
  return String.raw(strings, ...values).replace(/\\\$\{/g, '${');
}

const SCRIPT = bash`
set -u
TANDEM="$PWD/bin/tandem"
DPID="" MPID=""
cleanup() { [ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null; [ -n "$MPID" ] && kill -KILL "$MPID" 2>/dev/null; ip netns del tKp 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT
die() { echo "MARK fatal $*"; echo "--- daemon-log"; tail -50 /tmp/daemon.log 2>/dev/null; echo "--- end"; exit 1; }
mkfifo /tmp/tick && exec 9<>/tmp/tick
nap() { read -t "$1" -u 9 || true; }
now() { local t=\${EPOCHREALTIME/./}; NOW=$((t / 1000)); }

# The real servers' subnet is routed to a dummy (IPVS wants a route); the VRRP link is a veth
# whose peer sits in a namespace, so the interface has a carrier.
ip link add tKd type dummy && ip addr add 198.51.100.254/24 dev tKd && ip link set tKd up || die dummy
ip netns add tKp && ip link add tKv0 type veth peer name eth0 netns tKp || die veth
ip addr add 192.0.2.1/24 dev tKv0 && ip link set tKv0 up && ip -n tKp link set eth0 up || die veth-up

# weight W for service 1050's real server .42, 1 for every other.
write_config() {
  {
    echo "global: { router_id: lb1, status_socket: /tmp/tandem.sock }"
    echo "vrrp_instances:"
    echo "  - { name: VI_1, interface: tKv0, virtual_router_id: 51, priority: 150, advert_int: 1, virtual_ipaddresses: [192.0.2.100/24] }"
    echo "virtual_servers:"
    for s in $(seq 1000 \${2:-1099}); do
      echo "  - { address: 192.0.2.100, port: $s, protocol: TCP, lb_algo: wrr, lb_kind: NAT, real_servers: ["
      for d in $(seq 1 100); do
        w=1; [ "$s" = 1050 ] && [ "$d" = 42 ] && w=$1
        echo "      { address: 198.51.100.$d, port: 80, weight: $w },"
      done
      echo "    ] }"
    done
  } > /tmp/lb.yaml.new && mv /tmp/lb.yaml.new /tmp/lb.yaml
}
# grep, not a bash read loop: bash reads a /proc file a byte per syscall, 600 kB per poll here.
dests() { DESTS=$(grep -c '^  -> [0-9A-F]' /proc/net/ip_vs); }
snapshot() { sort /proc/net/ip_vs > "$1"; }
vip_here() { ip -o addr show dev tKv0 | grep -q ' 192.0.2.100/24 '; }
transitions() { grep -o '"transitions": *[0-9]*' /tmp/state.json | head -1 | grep -o '[0-9]*$'; }
master() { grep -q '"state": *"MASTER"' /tmp/state.json 2>/dev/null; }

write_config 1
now; T0=$NOW
node "$TANDEM" run -f /tmp/lb.yaml --state-file /tmp/state.json > /tmp/daemon.log 2>&1 &
DPID=$!
for i in $(seq 1 600); do dests; [ "$DESTS" = 10000 ] && master && vip_here && break; nap 0.5; done
dests; [ "$DESTS" = 10000 ] || die "table has $DESTS real servers"
master && vip_here || die "VI_1 not MASTER with its VIP"
now; echo "MARK converged ms=$((NOW - T0)) dests=$DESTS"
nap 2
snapshot /tmp/before
TR_BEFORE=$(transitions)
ip monitor address dev tKv0 > /tmp/monitor.log 2>&1 &
MPID=$!
nap 0.5

write_config 7
now; T1=$NOW
node "$TANDEM" reload --socket /tmp/tandem.sock > /tmp/reload.out 2>&1; RC=$?
now; echo "MARK reload rc=$RC ms=$((NOW - T1))"
sed 's/^/RELOAD-OUT /' /tmp/reload.out
for i in $(seq 1 100); do snapshot /tmp/after; cmp -s /tmp/before /tmp/after || break; nap 0.05; done
now; echo "MARK applied ms=$((NOW - T1))"
# Two more seconds: nothing else may follow.
nap 2
snapshot /tmp/after
diff /tmp/before /tmp/after | grep '^[<>]' | sed 's/^/DIFF /'
echo "MARK diff lines=$(diff /tmp/before /tmp/after | grep -c '^[<>]')"
vip_here && echo "MARK vip present=1" || echo "MARK vip present=0"
master && echo "MARK state master=1" || echo "MARK state master=0"
echo "MARK transitions before=$TR_BEFORE after=$(transitions)"

printf 'global:\n  router_id: lb1\nvrrp_instances:\n  - name: VI_1\n    priority: 300\n' > /tmp/lb.yaml
node "$TANDEM" reload --socket /tmp/tandem.sock > /tmp/broken.out 2>&1; RC=$?
echo "MARK broken rc=$RC"
sed 's/^/BROKEN-OUT /' /tmp/broken.out
kill -HUP $DPID
nap 2
snapshot /tmp/after-broken
echo "MARK broken-diff lines=$(diff /tmp/after /tmp/after-broken | grep -c '^[<>]')"
kill -0 $DPID 2>/dev/null && echo "MARK daemon alive=1" || echo "MARK daemon alive=0"
vip_here && echo "MARK vip-after-broken present=1" || echo "MARK vip-after-broken present=0"
kill $MPID 2>/dev/null; MPID=""
sed 's/^/MONITOR /' /tmp/monitor.log
echo "MARK refused count=$(grep -c 'reload refused' /tmp/daemon.log)"
kill -TERM $DPID; wait $DPID; echo "MARK exit code=$?"; DPID=""

# A restart with service 1099 dropped from the config while tandem was down: the state file says
# tandem owned it, so the new run removes it (and leaves the other 99 alone).
write_config 7 1098
now; T2=$NOW
node "$TANDEM" run -f /tmp/lb.yaml --state-file /tmp/state.json > /tmp/daemon2.log 2>&1 &
DPID=$!
services() { SERVICES=$(grep -c '^TCP ' /proc/net/ip_vs); }
for i in $(seq 1 600); do services; [ "$SERVICES" = 99 ] && break; nap 0.5; done
services; dests
now; echo "MARK restart services=$SERVICES dests=$DESTS ms=$((NOW - T2))"
grep -c 'owned by the previous run' /tmp/daemon2.log | sed 's/^/MARK previous owned=/'
kill -TERM $DPID; wait $DPID; DPID=""
`;

function marks(out: string): Map<string, Record<string, string>> {
  const m = new Map<string, Record<string, string>>();
  for (const line of out.split('\n')) {
    const r = /^MARK (\S+)(.*)$/.exec(line);
    if (!r) continue;
    m.set(r[1]!, Object.fromEntries([...r[2]!.matchAll(/(\S+)=(\S+)/g)].map((x) => [x[1]!, x[2]!])));
  }
  return m;
}

test('10,000 real servers: a reload changing one weight changes one kernel entry and moves no VIP; a broken file changes nothing', { timeout: 900_000 }, async () => {
  const a = vmAvailable();
  if (!a.ok) throw new Error(`kernel test tier cannot run: ${a.why}`);
  const run = await runInVm(SCRIPT, { timeoutMs: 840_000, memMb: 1536 });
  const out = run.stdout;
  const ctx = `\nexit ${run.code}\nstdout:\n${out.slice(-6000)}\nstderr:\n${run.stderr.slice(-2000)}`;
  const m = marks(out);
  assert.equal(m.get('fatal'), undefined, ctx);
  assert.equal(m.get('converged')?.dests, '10000', ctx);
  assert.equal(m.get('reload')?.rc, '0', ctx);
  assert.match(out, /RELOAD-OUT +real server TCP 192\.0\.2\.100:1050 -> 198\.51\.100\.42:80: weight 1 -> 7/, ctx);
  // Exactly one entry: its old line out, its new line in, with the new weight.
  assert.equal(m.get('diff')?.lines, '2', ctx);
  const diff = out.split('\n').filter((l) => l.startsWith('DIFF '));
  // /proc/net/ip_vs: 198.51.100.42:80 is C633642A:0050.
  assert.match(diff.find((l) => l.startsWith('DIFF >')) ?? '', /-> C633642A:0050\s+Masq\s+7\s/, ctx);
  assert.match(diff.find((l) => l.startsWith('DIFF <')) ?? '', /-> C633642A:0050\s+Masq\s+1\s/, ctx);
  assert.equal(m.get('vip')?.present, '1', ctx);
  assert.equal(m.get('state')?.master, '1', ctx);
  const t = m.get('transitions');
  assert.ok(t && t.before !== undefined && t.before === t.after, `VRRP transitions ${JSON.stringify(t)}${ctx}`);
  assert.doesNotMatch(out, /^MONITOR .*192\.0\.2\.100/m, `the VIP was touched by the reload:${ctx}`);
  // The broken file: refused by tandem reload (exit 2, located) and by SIGHUP; nothing changed.
  assert.equal(m.get('broken')?.rc, '2', ctx);
  assert.match(out, /BROKEN-OUT \/tmp\/lb\.yaml:5:15 vrrp_instances\[0\]\.priority: /, ctx);
  assert.equal(m.get('broken-diff')?.lines, '0', ctx);
  assert.equal(m.get('daemon')?.alive, '1', ctx);
  assert.equal(m.get('vip-after-broken')?.present, '1', ctx);
  assert.ok(Number(m.get('refused')?.count ?? 0) >= 2, `both refusals logged${ctx}`);
  assert.equal(m.get('exit')?.code, '0', ctx);
  assert.equal(m.get('restart')?.services, '99', `the dropped service was not removed after a restart${ctx}`);
  assert.equal(m.get('restart')?.dests, '9900', ctx);
  assert.equal(m.get('previous')?.owned, '1', ctx);
  console.log(`# converged in ${m.get('converged')?.ms} ms; reload answered in ${m.get('reload')?.ms} ms, kernel changed ${m.get('applied')?.ms} ms after it started`);
});
