// `tandem realserver` end to end on a real kernel (issue 16 §5): a director whose IPVS table is
// filled by `tandem run` (lb_kind DR and TUN, IPv4 and IPv6), two real servers prepared only by
// `tandem realserver -f FILE`, and a client whose requests through the VIPs reach both servers,
// answered from the VIP and not through the director; `--remove` leaves each server as it was.
// TUN's tunnel devices (ipip, ip6tnl) cannot exist on the host kernel (no ipip module): this is
// where they run. Inside Debian's kernel under QEMU (test/kernel/vm.ts), one boot for everything.
//
// Topology inside the VM (every node its own namespace; the LAN is a bridge in the VM's root):
//   tVc client 203.0.113.2, 2001:db8:c::2
//     | veth
//   tVr router 203.0.113.1 / 198.51.100.1, 2001:db8:c::1 / 2001:db8:5::1; routes the VIPs
//     | LAN   (192.0.2.0/24, 2001:db8:f::/64) via the director
//   bridge tVbr -- tVd director 198.51.100.2, 2001:db8:5::2, VIPs on lo, IPVS, `tandem run`
//               -- tVs11, tVs12 real servers 198.51.100.11/.12, 2001:db8:5::11/::12; their
//                  default routes go to the router, never the director
// VIPs: 192.0.2.80 (DR), 192.0.2.81 (TUN), 2001:db8:f::80 (DR), 2001:db8:f::81 (TUN), port 80.
//
// Three phases, one after the other on the same servers: DR (both families in one file), TUN
// over IPv4 (ipip: .11 the kernel's fallback tunl0, .12 a device tandem creates with local:),
// TUN over IPv6 (ip6tnl: .11 the fallback ip6tnl0, .12 a created one). Each phase: snapshot,
// --check (exit 1), the run, --check (exit 0), the tunnel state, 20 requests per VIP, IPVS's
// connection table, --remove, snapshot again. Before any phase, 2 requests per VIP must fail:
// without `tandem realserver` nothing answers (the proof that the run is what makes it work).
// The servers start like a strict host (rp_filter 1 on all, default, eth0, tunl0), so TUN's
// rp_filter relaxation is needed and visible. "As it was" is compared line by line (links with
// their tunnel details, addresses, routes, every net.ipv4/ipv6.conf value), less only what the
// kernel keeps of a link having been up once (withoutFirstUpTraces below), which is logged.
// Everything the script starts (servers, daemon, namespaces, bridge) goes in its EXIT trap.
//
// "Not through the director": the router counts the replies from each VIP by source MAC (the
// director's must stay 0, each server's grows), the director counts every packet from a VIP it
// receives (0) and to it (> 0), and IPVS's own stats show InPkts and no OutPkts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { killAllVmsNow, runInVm, vmAvailable } from './vm.js';

after(() => killAllVmsNow());

/** A raw template for bash: `\${` stays bash's own `${`, a plain `${x}` interpolates x. */
function bash(strings: TemplateStringsArray, ...values: unknown[]): string {
  return String.raw(strings, ...values).replace(/\\\$\{/g, '${');
}

const CLIENT4 = '203.0.113.2';
const CLIENT6 = '2001:db8:c::2';
const VIPS = { dr4: '192.0.2.80', tun4: '192.0.2.81', dr6: '2001:db8:f::80', tun6: '2001:db8:f::81' } as const;
type VipKey = keyof typeof VIPS;
const SERVERS = [11, 12] as const;
const REQUESTS = 20;
const MAC = { router: '02:00:00:00:00:01', director: '02:00:00:00:00:02', 11: '02:00:00:00:00:11', 12: '02:00:00:00:00:12' } as const;

/** The phases: which VIPs each serves and each server's `tandem realserver` file. */
const PHASES = {
  dr: { vips: ['dr4', 'dr6'] as VipKey[], device: { 11: 'lo', 12: 'lo' } },
  tun4: { vips: ['tun4'] as VipKey[], device: { 11: 'tunl0', 12: 'tnl12' } },
  tun6: { vips: ['tun6'] as VipKey[], device: { 11: 'ip6tnl0', 12: 'tnl6x12' } },
} as const;
type Phase = keyof typeof PHASES;

function realServerYaml(phase: Phase, n: 11 | 12): string {
  const record = `record_file: /tmp/rs${n}-${phase}.json\n`;
  switch (phase) {
    case 'dr': return `mode: DR\ninterface: eth0\nvips: [${VIPS.dr4}, "${VIPS.dr6}"]\n${record}`;
    case 'tun4': return `mode: TUN\ninterface: eth0\nvips: [${VIPS.tun4}]\n` +
      (n === 12 ? 'tunnel: { name: tnl12, local: 198.51.100.12 }\n' : '') + record;
    case 'tun6': return `mode: TUN\ninterface: eth0\nvips: ["${VIPS.tun6}"]\n` +
      (n === 12 ? 'tunnel: { name: tnl6x12, local: "2001:db8:5::12" }\n' : 'tunnel: { family: 6 }\n') + record;
  }
}

function virtualServerYaml(vip: string, kind: 'DR' | 'TUN', v6: boolean): string {
  const rs = SERVERS.map((n) => `      - address: "${v6 ? `2001:db8:5::${n}` : `198.51.100.${n}`}"
        port: 80
        checks:
          - tcp_check: { connect_timeout: 1, retry: 1, delay_before_retry: 1 }
`).join('');
  return `  - address: "${vip}"
    port: 80
    protocol: TCP
    lb_algo: rr
    lb_kind: ${kind}
    delay_loop: 1
    real_servers:
${rs}`;
}

const DIRECTOR_CONFIG = 'virtual_servers:\n' +
  virtualServerYaml(VIPS.dr4, 'DR', false) + virtualServerYaml(VIPS.tun4, 'TUN', false) +
  virtualServerYaml(VIPS.dr6, 'DR', true) + virtualServerYaml(VIPS.tun6, 'TUN', true);

/** Each real server's HTTP server: answers its name, the address the connection came to, and the
 *  client's address, so the answer shows the server took the VIP's connection itself, unNATed. */
const SERVER_JS = `
const net = require('net');
const fs = require('fs');
const [name, ready] = process.argv.slice(2);
const plain = (a) => String(a).replace(/^::ffff:/, '');
const srv = net.createServer((s) => {
  s.on('error', () => {});
  s.setTimeout(5000, () => s.destroy());
  let got = '';
  s.on('data', (d) => {
    got += d;
    if (got.includes('\\r\\n\\r\\n')) {
      s.end('HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nConnection: close\\r\\n\\r\\n' +
        name + ' local=' + plain(s.localAddress) + ' remote=' + plain(s.remoteAddress) + '\\n');
    }
  });
});
srv.listen({ host: '::', port: 80, ipv6Only: false }, () => fs.writeFileSync(ready, 'ok'));
setTimeout(() => process.exit(0), 900000).unref();
`;

/** The client: COUNT requests to HOST:PORT, one new connection each; prints each answer's count. */
const CLIENT = bash`
host=$1 port=$2 count=$3
declare -A bodies
fail=0 total=0
while (( total < count && total < 1000 )); do
  total=$((total + 1))
  body=""
  if exec 3<>/dev/tcp/$host/$port; then
    printf 'GET / HTTP/1.0\r\nHost: tandem-test\r\n\r\n' >&3
    while IFS= read -r -t 2 -u 3 line; do line=\${line%$'\r'}; [ -n "$line" ] && body=$line; done
    exec 3<&-
  fi 2>/dev/null
  case $body in
    srv*) bodies[$body]=$(( \${bodies[$body]:-0} + 1 )) ;;
    *) fail=$((fail + 1)) ;;
  esac
done
echo "total=$total fail=$fail"
for k in "\${!bodies[@]}"; do echo "\${bodies[$k]} $k"; done | sort -k2
`;

const NFT_ROUTER = (() => {
  const lines = ['table inet tv {'];
  const rules: string[] = [];
  for (const [key, vip] of Object.entries(VIPS)) {
    const ip = vip.includes(':') ? 'ip6' : 'ip';
    for (const [who, mac] of [['d', MAC.director], ['s11', MAC[11]], ['s12', MAC[12]]] as const) {
      rules.push(`    iifname "eth0" ether saddr ${mac} ${ip} saddr ${vip} tcp sport 80 counter comment "${key}_${who}"`);
    }
    rules.push(`    iifname "eth0" ${ip} saddr ${vip} tcp sport 80 counter comment "${key}_all"`);
  }
  lines.push('  chain pre {', '    type filter hook prerouting priority -300; policy accept;', ...rules, '  }', '}');
  return lines.join('\n');
})();

const NFT_DIRECTOR = (() => {
  const lines = ['table inet tv {'];
  const rules: string[] = [];
  for (const [key, vip] of Object.entries(VIPS)) {
    const ip = vip.includes(':') ? 'ip6' : 'ip';
    rules.push(`    ${ip} daddr ${vip} tcp dport 80 counter comment "req_${key}"`);
    rules.push(`    ${ip} saddr ${vip} tcp sport 80 counter comment "rep_${key}"`);
  }
  lines.push('  chain pre {', '    type filter hook prerouting priority -300; policy accept;', ...rules, '  }', '}');
  return lines.join('\n');
})();

/** Writes every server's `tandem realserver` file, /tmp/rsN-PHASE.yaml. */
const RS_FILES = (Object.keys(PHASES) as Phase[]).flatMap((ph) => SERVERS.map((n) =>
  `cat > /tmp/rs${n}-${ph}.yaml <<'RS_EOF'\n${realServerYaml(ph, n)}RS_EOF`)).join('\n');

const SCRIPT = bash`
set -u
TANDEM="$PWD/bin/tandem"
NSS="tVc tVr tVd tVs11 tVs12"
PIDS=()
DPID=""
cleanup() {
  [ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
  for p in "\${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  for n in $NSS; do ip netns del $n 2>/dev/null; done
  ip link del tVbr 2>/dev/null
}
trap cleanup EXIT
die() { echo "MARK fatal $*"; echo "--- daemon-log"; tail -80 /tmp/daemon.log 2>/dev/null; echo "--- end"; exit 1; }
mkfifo /tmp/tick && exec 9<>/tmp/tick
nap() { read -t "$1" -u 9 || true; }
now() { local t=\${EPOCHREALTIME/./}; NOW=$((t / 1000)); }
now; T0=$NOW

# --- Modules. The VM's init loads ipip with IPVS (vm.ts VM_BASE_MODULES); ip6_tunnel and
# nf_tables come from the host's /lib/modules (the kernel cannot autoload: its modprobe path is
# the initramfs's). A missing one fails the run: TUN over IPv6 or the counters could not be shown.
mods() { local out="" m; for m in ip_vs ip_vs_rr ipip ip6_tunnel nf_tables; do
  if grep -q "^$m " /proc/modules; then out+=" $m=loaded"; else out+=" $m=absent"; fi; done; echo "$out"; }
echo "MARK modules-at-boot$(mods)"
for m in ip6_tunnel nf_tables; do
  modprobe "$m" 2>/tmp/modprobe.err || die "kernel module $m is missing from the VM kernel $(uname -r): $(cat /tmp/modprobe.err)"
done
for m in ip_vs ip_vs_rr ipip ip6_tunnel nf_tables; do
  grep -q "^$m " /proc/modules || die "kernel module $m is not loaded in the VM kernel $(uname -r)"
done
echo "MARK modules$(mods) kernel=$(uname -r)"

# --- Topology.
{
  for n in $NSS; do echo "netns add $n"; done
  echo "link add tVbr type bridge mcast_snooping 0"
  echo "link set tVbr up"
  for p in r d s11 s12; do
    case $p in r) ns=tVr ;; d) ns=tVd ;; *) ns=tV$p ;; esac
    echo "link add tVp$p type veth peer name eth0 netns $ns"
    echo "link set tVp$p master tVbr"
    echo "link set tVp$p up"
  done
  echo "link add tVcx type veth peer name eth0 netns tVc"
  echo "link set tVcx netns tVr"
} | ip -batch - || die "links"
ip -n tVr -batch - <<EOF || die "router"
link set lo up
link set eth0 address ${MAC.router}
link set eth0 up
link set tVcx up
addr add 198.51.100.1/24 dev eth0
addr add 2001:db8:5::1/64 dev eth0 nodad
addr add 203.0.113.1/24 dev tVcx
addr add 2001:db8:c::1/64 dev tVcx nodad
EOF
ip -n tVc -batch - <<EOF || die "client"
link set lo up
link set eth0 up
addr add ${CLIENT4}/24 dev eth0
addr add ${CLIENT6}/64 dev eth0 nodad
EOF
ip -n tVd -batch - <<EOF || die "director"
link set lo up
link set eth0 address ${MAC.director}
link set eth0 up
addr add 198.51.100.2/24 dev eth0
addr add 2001:db8:5::2/64 dev eth0 nodad
addr add ${VIPS.dr4}/32 dev lo
addr add ${VIPS.tun4}/32 dev lo
addr add ${VIPS.dr6}/128 dev lo
addr add ${VIPS.tun6}/128 dev lo
EOF
for n in 11 12; do
  ip -n tVs$n -batch - <<EOF || die "server $n"
link set lo up
link set eth0 address 02:00:00:00:00:$n
link set eth0 up
addr add 198.51.100.$n/24 dev eth0
addr add 2001:db8:5::$n/64 dev eth0 nodad
EOF
done
ip -n tVr -batch - <<EOF || die "router routes"
route add 192.0.2.0/24 via 198.51.100.2
route add 2001:db8:f::/64 via 2001:db8:5::2
EOF
ip -n tVc -batch - <<EOF || die "client routes"
route add default via 203.0.113.1
route add default via 2001:db8:c::1
EOF
ip -n tVd -batch - <<EOF || die "director routes"
route add default via 198.51.100.1
route add default via 2001:db8:5::1
EOF
for n in 11 12; do
  # The servers' way back to the client is the router, never the director.
  ip -n tVs$n -batch - <<EOF || die "server $n routes"
route add default via 198.51.100.1
route add default via 2001:db8:5::1
EOF
  # A strict host (as several distributions ship): reverse-path filtering 1 everywhere.
  ip netns exec tVs$n sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1 \
    net.ipv4.conf.eth0.rp_filter=1 net.ipv4.conf.tunl0.rp_filter=1 || die "server $n sysctls"
done
ip netns exec tVr sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || die "router forwarding"
# A SYN that gets no answer must not hold the client for two minutes.
ip netns exec tVc sysctl -qw net.ipv4.tcp_syn_retries=1 || die "client sysctl"
ip netns exec tVr nft -f - <<'NFT_EOF' || die "router nft"
${NFT_ROUTER}
NFT_EOF
ip netns exec tVd nft -f - <<'NFT_EOF' || die "director nft"
${NFT_DIRECTOR}
NFT_EOF
ip netns exec tVc ping -c 1 -W 5 198.51.100.11 > /dev/null || die "client cannot reach 198.51.100.11 through the router"
ip netns exec tVc ping -c 1 -W 5 2001:db8:5::12 > /dev/null || die "client cannot reach 2001:db8:5::12 through the router"

cat > /tmp/srv.cjs <<'JS_EOF'
${SERVER_JS}
JS_EOF
${RS_FILES}
cat > /tmp/client.sh <<'CLIENT_EOF'
${CLIENT}
CLIENT_EOF
client() { ip netns exec tVc timeout 90 bash /tmp/client.sh "$@"; }
for n in 11 12; do
  ip netns exec tVs$n node /tmp/srv.cjs srv$n /tmp/srv$n.ready > /tmp/srv$n.log 2>&1 &
  PIDS+=($!)
done
for i in $(seq 1 600); do [ -s /tmp/srv11.ready ] && [ -s /tmp/srv12.ready ] && break; nap 0.1; done
[ -s /tmp/srv11.ready ] && [ -s /tmp/srv12.ready ] || die "the real servers' HTTP servers did not start: $(cat /tmp/srv11.log /tmp/srv12.log)"
now; echo "MARK topology ms=$((NOW - T0))"

# --- The director: tandem run fills the IPVS table.
cat > /tmp/lb.yaml <<'YAML_EOF'
${DIRECTOR_CONFIG}
YAML_EOF
ip netns exec tVd node "$TANDEM" run -f /tmp/lb.yaml --state-file /tmp/state.json > /tmp/daemon.log 2>&1 &
DPID=$!
now; T_D=$NOW
filled=""
for i in $(seq 1 180); do
  if [ "$(ip netns exec tVd ipvsadm -Ln 2>/dev/null | grep -cE -- '-> .* (Route|Tunnel) +1 ')" = 8 ]; then filled=yes; break; fi
  kill -0 "$DPID" 2>/dev/null || die "the daemon exited"
  nap 0.5
done
echo "--- table"; ip netns exec tVd ipvsadm -Ln; echo "--- end"
[ -n "$filled" ] || die "the daemon did not fill the table (8 real servers) in 90 s"
now; echo "MARK converged ms=$((NOW - T_D))"

# --- Before any preparation: nothing answers through the VIPs (2 requests each, all at once).
declare -A CPID
for v in dr4 dr6 tun4 tun6; do
  case $v in dr4) a=${VIPS.dr4} ;; dr6) a=${VIPS.dr6} ;; tun4) a=${VIPS.tun4} ;; tun6) a=${VIPS.tun6} ;; esac
  client "$a" 80 2 > /tmp/pre-$v.out 2>&1 &
  CPID[$v]=$!
done
for v in dr4 dr6 tun4 tun6; do wait "\${CPID[$v]}"; echo "--- traffic pre-$v"; cat /tmp/pre-$v.out; echo "--- end"; done

# --- tandem realserver on both servers at once: MARK rs-PHASE-STEP-N rc=..., its output a section.
rs_all() {
  local ph=$1 step=$2 n; shift 2
  declare -A P
  for n in 11 12; do
    ( ip netns exec tVs$n timeout 120 node "$TANDEM" realserver -f /tmp/rs$n-$ph.yaml "$@" > /tmp/out-$ph-$step-$n 2>&1
      echo $? > /tmp/rc-$ph-$step-$n ) &
    P[$n]=$!
  done
  for n in 11 12; do
    wait "\${P[$n]}"
    echo "MARK rs-$ph-$step-$n rc=$(cat /tmp/rc-$ph-$step-$n)"
    echo "--- rsout $ph-$step-$n"; cat /tmp/out-$ph-$step-$n; echo "--- end"
  done
}
# What a server looks like: links (with kind and tunnel details), addresses, routes, every
# net.ipv4.conf / net.ipv6.conf value.
snap() {
  local ns=$1
  echo "# links"; ip -n $ns -d -o link show
  echo "# addresses"; ip -n $ns -o addr show
  echo "# routes"; ip -n $ns -4 route show table all; ip -n $ns -6 route show table all
  echo "# sysctls"; ip netns exec $ns grep -r . /proc/sys/net/ipv4/conf /proc/sys/net/ipv6/conf 2>/dev/null | sort
}
SYSCTL_KEYS="all/arp_ignore all/arp_announce eth0/arp_ignore eth0/arp_announce all/rp_filter default/rp_filter eth0/rp_filter"
ready_state() {
  local ns=$1 dev=$2 k
  echo "link $(ip -n $ns -d -o link show dev $dev 2>&1)"
  ip -n $ns -o addr show dev $dev | sed 's/^/addr /'
  for k in $SYSCTL_KEYS $dev/rp_filter; do echo "sysctl $k=$(ip netns exec $ns cat /proc/sys/net/ipv4/conf/$k 2>&1)"; done
}

# IPVS's stats and both nft rule sets, before and after a phase's traffic (the tests take the
# difference: the requests before any preparation count too, e.g. the ICMP errors an unprepared
# TUN server sends back, which IPVS relays to the client as OutPkts). IPVS shows the copy of its
# per-CPU counters that the estimator makes every 2 s (net/netfilter/ipvs/ip_vs_est.c), so wait
# for one first.
counts() {
  nap 2.5
  echo "--- stats $1"; ip netns exec tVd ipvsadm -Ln --stats --exact; echo "--- end"
  echo "--- router-counters $1"; ip netns exec tVr nft list ruleset; echo "--- end"
  echo "--- director-counters $1"; ip netns exec tVd nft list ruleset; echo "--- end"
}

phase() {
  local ph=$1 n v a; shift
  for n in 11 12; do echo "--- snap $ph-before-$n"; snap tVs$n; echo "--- end"; done
  rs_all $ph check0 --check
  now; local t=$NOW
  rs_all $ph setup
  now; echo "MARK setup-$ph ms=$((NOW - t))"
  rs_all $ph check1 --check
  for n in 11 12; do
    case "$ph $n" in "dr "*) dev=lo ;; "tun4 11") dev=tunl0 ;; "tun4 12") dev=tnl12 ;; "tun6 11") dev=ip6tnl0 ;; "tun6 12") dev=tnl6x12 ;; esac
    echo "--- ready $ph-$n"; ready_state tVs$n $dev; echo "--- end"
    [ -s /tmp/rs$n-$ph.json ] && echo "MARK record-$ph-$n present" || echo "MARK record-$ph-$n absent"
  done
  counts $ph-0
  for v in "$@"; do
    case $v in dr4) a=${VIPS.dr4} ;; dr6) a=${VIPS.dr6} ;; tun4) a=${VIPS.tun4} ;; tun6) a=${VIPS.tun6} ;; esac
    echo "--- traffic $v"; client "$a" 80 ${REQUESTS}; echo "--- end"
  done
  counts $ph-1
  # IPVS keeps the closed connections (FIN_WAIT / TIME_WAIT) for a while: read them now.
  echo "--- conns $ph"; ip netns exec tVd ipvsadm -Lnc; echo "--- end"
  rs_all $ph remove --remove
  for n in 11 12; do
    echo "--- snap $ph-after-$n"; snap tVs$n; echo "--- end"
    [ -e /tmp/rs$n-$ph.json ] && echo "MARK record-after-$ph-$n present" || echo "MARK record-after-$ph-$n absent"
  done
}

phase dr dr4 dr6
phase tun4 tun4
phase tun6 tun6


kill -TERM "$DPID"
for i in $(seq 1 200); do kill -0 "$DPID" 2>/dev/null || break; nap 0.05; done
kill -0 "$DPID" 2>/dev/null && echo "MARK daemon-term alive" || { wait "$DPID"; echo "MARK daemon-term rc=$?"; }
DPID=""
echo "--- daemon-log"; tail -40 /tmp/daemon.log; echo "--- end"
now; echo "MARK done ms=$((NOW - T0))"
`;

// ---------------------------------------------------------------------------------------------
// Reading the run's output.

interface Run { stdout: string; marks: Map<string, string> }

function parseMarks(stdout: string): Map<string, string> {
  const marks = new Map<string, string>();
  for (const m of stdout.matchAll(/^MARK (\S+) ?(.*)$/gm)) marks.set(m[1]!, m[2]!);
  return marks;
}

/** `total=20 fail=0` then `N body` lines -> totals and body -> count. */
function traffic(text: string): { total: number; fail: number; bodies: Map<string, number> } {
  const lines = text.split('\n').filter((l) => l !== '');
  const head = /^total=(\d+) fail=(\d+)$/.exec(lines[0] ?? '');
  if (!head) throw new Error(`no client summary in:\n${text}`);
  const bodies = new Map<string, number>();
  for (const l of lines.slice(1)) {
    const m = /^(\d+) (.*)$/.exec(l);
    if (m) bodies.set(m[2]!, Number(m[1]));
  }
  return { total: Number(head[1]), fail: Number(head[2]), bodies };
}

/** `nft list ruleset`: each anonymous counter by its rule's comment -> packets. (Anonymous, not
 *  named counters: a named one needs nft_objref, which the VM kernel cannot autoload.) */
function counters(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/counter packets (\d+) bytes \d+ comment "(\w+)"/g)) out.set(m[2]!, Number(m[1]));
  return out;
}

/** after - before, per name present in both. */
function delta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) { const b = before.get(k); if (b !== undefined) out.set(k, v - b); }
  return out;
}

/**
 * What the kernel keeps of a link having been up once, which nothing in user space can undo (nor
 * is it tandem's doing): the default qdisc attached at the first up (net/sched/sch_generic.c
 * dev_activate -> attach_default_qdiscs: noop becomes noqueue and stays after the link goes down),
 * and the IPv6 per-device state addrconf creates at that up for a device that had none
 * (net/ipv6/addrconf.c addrconf_notify NETDEV_UP -> ipv6_add_dev: ipip's tunl0 gets
 * /proc/sys/net/ipv6/conf/tunl0/* and `ip -d link` shows its addrgenmode). Only for `dev`, the
 * device tandem set up and down; everything else is compared exactly.
 */
function withoutFirstUpTraces(snapshot: readonly string[], before: readonly string[], dev: string): { lines: string[]; traces: string[] } {
  const linkRe = new RegExp(`^\\d+: ${dev}[@:]`);
  const v6conf = `/proc/sys/net/ipv6/conf/${dev}/`;
  const hadV6 = before.some((l) => l.startsWith(v6conf));
  const traces: string[] = [];
  const lines: string[] = [];
  for (const l of snapshot) {
    if (!hadV6 && l.startsWith(v6conf)) { traces.push(l); continue; }
    if (linkRe.test(l)) {
      if (!before.includes(l)) traces.push(l);
      lines.push(l.replace(/ qdisc \S+/, ' qdisc (any)').replace(/ addrgenmode \S+/, ''));
      continue;
    }
    lines.push(l);
  }
  return { lines, traces };
}

/** `ipvsadm -Ln --stats --exact` -> "VIP:80" and "VIP:80 RS:80" -> [conns, inPkts, outPkts]. */
function ipvsStats(text: string): Map<string, [number, number, number]> {
  const out = new Map<string, [number, number, number]>();
  let svc = '';
  for (const line of text.split('\n')) {
    const s = /^TCP\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line);
    if (s) { svc = s[1]!; out.set(svc, [Number(s[2]), Number(s[3]), Number(s[4])]); continue; }
    const r = /^\s+->\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line);
    if (r && svc) out.set(`${svc} ${r[1]}`, [Number(r[2]), Number(r[3]), Number(r[4])]);
  }
  return out;
}

const hostPort = (a: string, port = 80): string => (a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`);
const rsAddr = (n: number, v6: boolean): string => (v6 ? `2001:db8:5::${n}` : `198.51.100.${n}`);

describe('tandem realserver on a real kernel: LVS-DR and LVS-TUN (ipip, ip6tnl) behind tandem run, IPv4 and IPv6', () => {
  let run: Run | undefined;

  before(async () => {
    const a = vmAvailable();
    if (!a.ok) throw new Error(`kernel test tier cannot run: ${a.why}`);
    const r = await runInVm(SCRIPT, { timeoutMs: 540_000 });
    run = { stdout: r.stdout, marks: parseMarks(r.stdout) };
    const fatal = run.marks.get('fatal');
    assert.ok(r.code === 0 && fatal === undefined && run.marks.has('done'),
      `exit ${r.code}${fatal ? ` (${fatal})` : ''}\nstdout:\n${r.stdout.slice(-8000)}\nstderr:\n${r.stderr.slice(-3000)}`);
    console.log(`# VM boot ${r.bootMs} ms, whole run ${r.totalMs} ms; ${run.marks.get('modules')}; ` +
      `table filled ${run.marks.get('converged')} after the daemon's start; setup dr ${run.marks.get('setup-dr')}, ` +
      `tun4 ${run.marks.get('setup-tun4')}, tun6 ${run.marks.get('setup-tun6')} (both servers at once)`);
  });

  function mark(name: string): string {
    if (!run) throw new Error('the VM run did not report (see the before hook)');
    const v = run.marks.get(name);
    if (v === undefined) throw new Error(`the VM script printed no MARK ${name}\n${run.stdout.slice(-4000)}`);
    return v;
  }
  function section(name: string): string {
    if (!run) throw new Error('the VM run did not report (see the before hook)');
    const at = run.stdout.indexOf(`--- ${name}\n`);
    if (at < 0) throw new Error(`the VM script printed no section ${name}\n${run.stdout.slice(-4000)}`);
    const from = at + name.length + 5;
    const end = run.stdout.indexOf('\n--- end', from - 1);
    return run.stdout.slice(from, end < 0 ? undefined : end + 1);
  }
  const rc = (ph: Phase, step: string, n: number): number => Number(/^rc=(\d+)/.exec(mark(`rs-${ph}-${step}-${n}`))?.[1] ?? NaN);
  const rsOut = (ph: Phase, step: string, n: number): string => section(`rsout ${ph}-${step}-${n}`);

  test('the VM kernel has what the test needs loaded: ip_vs, ip_vs_rr, ipip, ip6_tunnel, nf_tables', () => {
    const m = mark('modules');
    for (const mod of ['ip_vs', 'ip_vs_rr', 'ipip', 'ip6_tunnel', 'nf_tables']) assert.match(m, new RegExp(`(^| )${mod}=loaded( |$)`), m);
    console.log(`# at boot:${mark('modules-at-boot')}; after modprobe:${m}`);
  });

  test('the director: tandem run puts DR (Route) and TUN (Tunnel) services for both VIP families in the kernel', () => {
    const table = section('table');
    for (const [key, vip] of Object.entries(VIPS)) {
      const v6 = vip.includes(':');
      const method = key.startsWith('dr') ? 'Route' : 'Tunnel';
      for (const n of SERVERS) {
        const line = table.split('\n').find((l) => l.includes(`-> ${hostPort(rsAddr(n, v6))} `));
        assert.ok(line, `no ${rsAddr(n, v6)} in the table:\n${table}`);
      }
      const block = table.split(/\n(?=TCP)/).find((b) => b.startsWith(`TCP  ${hostPort(vip)} `));
      assert.ok(block, `no service ${hostPort(vip)}:\n${table}`);
      for (const n of SERVERS) assert.match(block, new RegExp(`-> ${hostPort(rsAddr(n, v6)).replace(/[.[\]]/g, '\\$&')}\\s+${method}\\s+1 `), block);
    }
  });

  test('before any tandem realserver run, no request through any VIP is answered', () => {
    for (const v of Object.keys(VIPS) as VipKey[]) {
      const t = traffic(section(`traffic pre-${v}`));
      assert.deepEqual([t.total, t.fail, t.bodies.size], [2, 2, 0], `${v} answered without preparation:\n${section(`traffic pre-${v}`)}`);
    }
  });

  for (const ph of Object.keys(PHASES) as Phase[]) {
    const spec = PHASES[ph];
    test(`${ph}: --check exits 1 before the run and 0 after it; the run exits 0 and says ready`, () => {
      for (const n of SERVERS) {
        assert.equal(rc(ph, 'check0', n), 1, `--check before, server ${n}:\n${rsOut(ph, 'check0', n)}`);
        assert.match(rsOut(ph, 'check0', n), /not ready/, rsOut(ph, 'check0', n));
        assert.equal(rc(ph, 'setup', n), 0, `the run, server ${n}:\n${rsOut(ph, 'setup', n)}`);
        assert.match(rsOut(ph, 'setup', n), new RegExp(`ready \\(${ph === 'dr' ? 'DR' : 'TUN'}\\): \\d+ changes?`), rsOut(ph, 'setup', n));
        assert.equal(rc(ph, 'check1', n), 0, `--check after, server ${n}:\n${rsOut(ph, 'check1', n)}`);
        assert.equal(mark(`record-${ph}-${n}`), 'present', `no record file after the run on server ${n}`);
      }
    });

    test(`${ph}: ${REQUESTS} requests per VIP reach both real servers, each answering from the VIP to the client's own address`, () => {
      for (const v of spec.vips) {
        const vip = VIPS[v];
        const client = vip.includes(':') ? CLIENT6 : CLIENT4;
        const text = section(`traffic ${v}`);
        const t = traffic(text);
        assert.deepEqual([t.total, t.fail], [REQUESTS, 0], `${v}:\n${text}`);
        for (const n of SERVERS) {
          const c = t.bodies.get(`srv${n} local=${vip} remote=${client}`) ?? 0;
          // rr over two servers: about half each.
          assert.ok(c >= REQUESTS / 4, `${v}: srv${n} answered ${c} of ${REQUESTS} from ${vip} to ${client}:\n${text}`);
        }
        const other = [...t.bodies.keys()].filter((b) => !/^srv1[12] local=\S+ remote=\S+$/.test(b) || !b.includes(` local=${vip} remote=${client}`));
        assert.deepEqual(other, [], `${v}: answers not from the VIP to the client:\n${text}`);
      }
    });

    test(`${ph}: IPVS has each client connection to each server, and sees only the client's direction`, () => {
      const conns = section(`conns ${ph}`);
      const s0 = ipvsStats(section(`stats ${ph}-0`));
      const s1 = ipvsStats(section(`stats ${ph}-1`));
      for (const v of spec.vips) {
        const vip = VIPS[v];
        const v6 = vip.includes(':');
        const client = v6 ? CLIENT6 : CLIENT4;
        for (const n of SERVERS) {
          const re = new RegExp(`^TCP\\s+\\S+\\s+\\S+\\s+${(v6 ? `\\[${client}\\]` : client).replace(/\./g, '\\.')}:\\d+\\s+` +
            `${hostPort(vip).replace(/[.[\]]/g, '\\$&')}\\s+${hostPort(rsAddr(n, v6)).replace(/[.[\]]/g, '\\$&')}\\s*$`, 'm');
          assert.match(conns, re, `no IPVS connection ${client} -> ${vip} -> ${rsAddr(n, v6)}:\n${conns}`);
          const key = `${hostPort(vip)} ${hostPort(rsAddr(n, v6))}`;
          const a = s0.get(key);
          const b = s1.get(key);
          assert.ok(a && b, `no stats for ${vip} -> ${rsAddr(n, v6)}:\n${section(`stats ${ph}-1`)}`);
          const [c, inPkts, outPkts] = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
          assert.ok(c >= REQUESTS / 4 && inPkts >= 3 * c, `${vip} -> ${rsAddr(n, v6)}: conns ${c}, InPkts ${inPkts}`);
          assert.equal(outPkts, 0, `${vip} -> ${rsAddr(n, v6)}: IPVS saw ${outPkts} reply packets (DR/TUN replies must bypass the director)`);
        }
      }
    });

    test(`${ph}: the replies leave each real server to the router directly; the director sends none and receives none`, () => {
      const router = delta(counters(section(`router-counters ${ph}-0`)), counters(section(`router-counters ${ph}-1`)));
      const director = delta(counters(section(`director-counters ${ph}-0`)), counters(section(`director-counters ${ph}-1`)));
      for (const v of spec.vips) {
        const get = (m: Map<string, number>, k: string): number => {
          const x = m.get(k);
          assert.ok(x !== undefined, `no counter ${k}:\n${[...m].join(' ')}`);
          return x;
        };
        const [d, s11, s12, all] = ['d', 's11', 's12', 'all'].map((w) => get(router, `${v}_${w}`));
        assert.equal(d, 0, `${v}: the router got ${d} reply packets from the director's MAC`);
        assert.ok(s11! > 0 && s12! > 0, `${v}: replies by server MAC: .11 ${s11}, .12 ${s12}`);
        assert.equal(all, s11! + s12!, `${v}: every reply from ${VIPS[v]} came from a server's MAC (all ${all}, .11 ${s11}, .12 ${s12})`);
        assert.equal(get(director, `rep_${v}`), 0, `${v}: a packet from the VIP reached the director`);
        assert.ok(get(director, `req_${v}`) > 0, `${v}: the director saw no request`);
        console.log(`# ${v}: replies at the router from .11 ${s11}, from .12 ${s12}, from the director ${d}; ` +
          `director received ${get(director, `req_${v}`)} request packets, 0 replies`);
      }
    });

    test(`${ph}: the VIP device holds the VIPs, is up, and the sysctls are what the mode needs`, () => {
      for (const n of SERVERS) {
        const dev = spec.device[n];
        const text = section(`ready ${ph}-${n}`);
        const lines = text.split('\n');
        const link = lines.find((l) => l.startsWith('link '));
        assert.ok(link && new RegExp(`^link \\d+: ${dev}(@\\S+)?: <[^>]*\\bUP\\b`).test(link), `server ${n}: ${dev} not up:\n${text}`);
        const sysctl = (k: string): string => lines.find((l) => l.startsWith(`sysctl ${k}=`))?.slice(`sysctl ${k}=`.length) ?? '?';
        for (const v of spec.vips) {
          const vip = VIPS[v];
          assert.ok(lines.some((l) => new RegExp(`^addr \\d+: ${dev}\\s+inet6? ${vip.replace(/\./g, '\\.')}/${vip.includes(':') ? 128 : 32} `).test(l)),
            `server ${n}: ${vip} not on ${dev}:\n${text}`);
        }
        const v4 = spec.vips.some((v) => !VIPS[v].includes(':'));
        // ARP sysctls for IPv4 VIPs; IPv6-only needs none, and they stay as the host had them (0).
        for (const k of ['all/arp_ignore', 'eth0/arp_ignore']) assert.equal(sysctl(k), v4 ? '1' : '0', `server ${n} ${k}:\n${text}`);
        for (const k of ['all/arp_announce', 'eth0/arp_announce']) assert.equal(sysctl(k), v4 ? '2' : '0', `server ${n} ${k}:\n${text}`);
        // rp_filter: TUN over IPv4 relaxes the strict 1 to loose 2 on all and on the tunnel;
        // eth0 and default stay 1 (the kernel uses max(all, dev)); DR and IPv6 leave it all.
        const tun4 = ph === 'tun4';
        assert.equal(sysctl('all/rp_filter'), tun4 ? '2' : '1', `server ${n} all/rp_filter:\n${text}`);
        assert.equal(sysctl('eth0/rp_filter'), '1', `server ${n} eth0/rp_filter:\n${text}`);
        assert.equal(sysctl('default/rp_filter'), '1', `server ${n} default/rp_filter:\n${text}`);
        if (tun4) assert.equal(sysctl(`${dev}/rp_filter`), '2', `server ${n} ${dev}/rp_filter:\n${text}`);
        if (ph !== 'dr') {
          const kind = ph === 'tun4' ? 'ipip' : 'ip6tnl';
          const local = n === 11 ? 'any' : rsAddr(12, ph === 'tun6');
          // The fallback ip6tnl0 is ip6ip6 (IPv6 in IPv6 only); a device tandem creates is "any".
          const proto = ph === 'tun4' ? '\\S+' : n === 11 ? 'ip6ip6' : 'any';
          assert.match(link, new RegExp(`\\b${kind} ${proto} remote any local ${local.replace(/\./g, '\\.')}\\b`), `server ${n}: ${dev}:\n${link}`);
        }
      }
    });

    test(`${ph}: --remove restores each real server exactly (links, addresses, routes, sysctls) and deletes its record`, () => {
      for (const n of SERVERS) {
        assert.equal(rc(ph, 'remove', n), 0, `--remove, server ${n}:\n${rsOut(ph, 'remove', n)}`);
        assert.match(rsOut(ph, 'remove', n), /removed \(\d+ changes? undone\)/, rsOut(ph, 'remove', n));
        const dev = spec.device[n];
        const rawBefore = section(`snap ${ph}-before-${n}`).split('\n');
        const rawAfter = section(`snap ${ph}-after-${n}`).split('\n');
        assert.ok(rawBefore.length > 50, `the snapshot is too small to mean anything:\n${rawBefore.join('\n')}`);
        const before = withoutFirstUpTraces(rawBefore, rawBefore, dev).lines;
        const after = withoutFirstUpTraces(rawAfter, rawBefore, dev);
        assert.deepEqual(after.lines, before, `server ${n}: the host after --remove differs from before the run`);
        if (after.traces.length > 0) {
          const v6 = after.traces.filter((l) => l.startsWith('/proc/')).length;
          const link = after.traces.find((l) => !l.startsWith('/proc/'));
          console.log(`# ${ph} server ${n}: ${dev} keeps the kernel's first-up traces:` +
            `${link ? ` ${rawBefore.find((l) => new RegExp(`^\\d+: ${dev}[@:]`).test(l))?.match(/qdisc \S+/)?.[0]} -> ${link.match(/qdisc \S+/)?.[0]}` : ''}` +
            `${link?.includes('addrgenmode') && !rawBefore.some((l) => l.includes(`${dev}@`) && l.includes('addrgenmode')) ? ', addrgenmode shown' : ''}` +
            `${v6 ? `, ${v6} new net.ipv6.conf.${dev}.* entries` : ''}`);
        }
        assert.equal(mark(`record-after-${ph}-${n}`), 'absent', `server ${n}: the record is still there after --remove`);
      }
    });
  }

  test('the daemon stopped on SIGTERM', () => {
    assert.equal(mark('daemon-term'), 'rc=0', section('daemon-log'));
  });
});
