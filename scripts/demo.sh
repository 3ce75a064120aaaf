#!/bin/bash
# Two-director demo in network namespaces: lb1 and lb2 (conf/lb1.yaml, conf/lb2.yaml) and a
# client on one bridge. Shows the VIP on the master, a kill -9 failover seen from the client's
# ARP table, and preemption when lb1 returns. Everything it creates is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }

P=tdemo$$
NS_SW=$P-sw; NS1=$P-lb1; NS2=$P-lb2; NSC=$P-cl
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for n in $NS1 $NS2 $NSC $NS_SW; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
state_of() { node -e "try{const s=require('$WORK/'+process.argv[1]+'.json');console.log(s.instances.map(i=>i.name+'='+i.state).join(' '))}catch{console.log('(not running)')}" "$1"; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local t=$1 what=$2; shift 2
  for _ in $(seq $((t * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "demo: timed out waiting for $what" >&2; return 1
}
vip_on() { ip -n "$1" -o addr show dev eth0 | grep -q ' 192.0.2.100/'; }
vip_gone() { ! vip_on "$1"; }
arp_is() { ip -n "$NSC" neigh show 192.0.2.100 | grep -q "$1"; }
master() { node -e "const s=require('$WORK/'+process.argv[1]+'.json');process.exit(s.instances.every(i=>i.state==='MASTER')?0:1)" "$1"; }

ip netns add $NS_SW
ip -n $NS_SW link add br0 type bridge
ip -n $NS_SW link set br0 up
i=0
for n in $NS1 $NS2 $NSC; do
  i=$((i + 1))
  ip netns add "$n"
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip link add "$P-v$i" netns $NS_SW type veth peer name eth0 netns "$n"
  ip -n $NS_SW link set "$P-v$i" master br0 up
  ip -n "$n" link set lo up
  ip -n "$n" link set eth0 up
done
ip -n $NS1 addr add 192.0.2.1/24 dev eth0; ip -n $NS1 addr add 2001:db8::1/64 dev eth0 nodad
ip -n $NS2 addr add 192.0.2.2/24 dev eth0; ip -n $NS2 addr add 2001:db8::2/64 dev eth0 nodad
ip -n $NSC addr add 192.0.2.50/24 dev eth0
mac() { ip -n "$1" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
echo "lb1 eth0 $(mac $NS1)   lb2 eth0 $(mac $NS2)   client 192.0.2.50"

start() { # start lb1|lb2
  local ns=$P-$1
  ip netns exec "$ns" node bin/tandem run -f "conf/$1.yaml" --state-file "$WORK/$1.json" > "$WORK/$1.log" 2>&1 &
  PIDS+=($!); eval "PID_$1=$!"
}

say "starting tandem on lb1 (priority 150) and lb2 (priority 100)"
start lb1; start lb2
wait_for 10 "lb1 to become MASTER" master lb1
echo "lb1: $(state_of lb1)"; echo "lb2: $(state_of lb2)"
vip_on $NS1 && echo "VIP 192.0.2.100 is on lb1"
ip netns exec $NSC ping -c1 -W1 192.0.2.100 >/dev/null && echo "client reaches the VIP; its ARP entry: $(ip -n $NSC neigh show 192.0.2.100)"

say "kill -9 lb1's tandem: lb2 takes over after Master_Down_Interval (3 x 1 s + skew 0.61 s)"
kill -9 "$PID_lb1"; wait "$PID_lb1" 2>/dev/null || true
# A killed daemon leaves its VIP behind (as keepalived does); a real crash usually takes the
# host with it. Remove it so the demo shows the client following the new master's GARP.
ip -n $NS1 addr del 192.0.2.100/24 dev eth0 2>/dev/null || true
t0=$(date +%s%N)
wait_for 10 "lb2 to become MASTER" master lb2
echo "lb2 became MASTER about $(( ($(date +%s%N) - t0) / 1000000 )) ms later (polled every 100 ms)"
echo "lb2: $(state_of lb2)"
wait_for 5 "the client's ARP entry to follow" arp_is "$(mac $NS2)"
echo "client's ARP entry now: $(ip -n $NSC neigh show 192.0.2.100) (lb2 is $(mac $NS2))"

say "restart lb1: it preempts (priority 150 > 100)"
start lb1
wait_for 10 "lb1 to become MASTER again" master lb1
wait_for 5 "lb2 to remove the VIP" vip_gone $NS2
echo "lb1: $(state_of lb1)"; echo "lb2: $(state_of lb2)"

say "graceful stop (SIGTERM) of lb1: priority 0 advert, lb2 takes over after Skew_Time"
kill -TERM "$PID_lb1"
wait_for 5 "lb2 to become MASTER" master lb2
echo "lb2: $(state_of lb2)"

say "lb1's log"
cat "$WORK/lb1.log"
say "lb2's log"
cat "$WORK/lb2.log"
kill -TERM "$PID_lb2" 2>/dev/null || true
wait "$PID_lb2" 2>/dev/null || true
say "done: namespaces removed"
