#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Scale-out (docs/scale-out.md): two xlbd nodes behind an FRR router that
# spreads the VIPs over them by ECMP, each node announcing them over BGP
# through its own BIRD, which includes the file xlbd writes (`announce:`).
#
#   ns cl 198.18.1.1 --- ns rt (FRR: zebra, bgpd, bfdd; AS 65000, multipath,
#                        |  BFD 150 ms x 5; ECMP hash on addresses+ports)
#                        | 198.18.0.254
#   +--------------------+---------------+---------------+---------------+
#   | ns sw: bridge br0, ports prt, pn1, pn2 (XDP_PASS), prs1, prs2       |
#   +---------------+-----------+-----------+-----------+-----------------+
#              n1 198.18.0.2  n2 198.18.0.3  rs1 .11      rs2 .12
#              xlbd + BIRD    xlbd + BIRD    echo :7000, VIPs on lo
#              (AS 65001)     (AS 65001)     (dr) and decap (tun)
#
# VIP 198.18.2.100:7000 is dr, 198.18.2.101:7000 tun, [2001:db8:2::100]:7000
# dr over IPv6 (every address above has its 2001:db8:: twin: cl 2001:db8:1::1,
# rt 2001:db8:1::fe and 2001:db8::fe, n1/n2 ::2/::3, rs ::11/::12; a BGP
# session per family). A node fails by
# taking its switch port down (LAB.md trap 2), only once BFD is Up (trap 4);
# the router hashes on addresses and ports (trap 1). One node's view of a
# backend is cut with a `prohibit` route to that node on the real server:
# only that node's health checks fail.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RT_LAN=198.18.0.254
RT_CL=198.18.1.254
CL=198.18.1.1
NODES=(n1 n2)
NODE_IP=(198.18.0.2 198.18.0.3)
RS_NAMES=(rs1 rs2)
RS_V4=(198.18.0.11 198.18.0.12)
VIP_DR=198.18.2.100
VIP_TUN=198.18.2.101
RT_LAN6=2001:db8::fe
RT_CL6=2001:db8:1::fe
CL6=2001:db8:1::1
NODE_IP6=(2001:db8::2 2001:db8::3)
RS_V6=(2001:db8::11 2001:db8::12)
VIP_DR6=2001:db8:2::100
PORT=7000
CONNS=40
NS_RT=$LAB_ID-rt
FRR_NAME=$LAB_ID

node_ns() { echo "$LAB_ID-$1"; }
node_idx() { [ "$1" = n1 ] && echo 0 || echo 1; }

# --- the lab ------------------------------------------------------------------

scale_require() {
	lab_require || return 1
	local t
	for t in bird birdc vtysh python3; do
		command -v "$t" >/dev/null 2>&1 ||
			{ LAB_SKIP_WHY="missing $t (run tools/deps.sh: bird2, frr)"; return 1; }
	done
	[ -x /usr/lib/frr/zebra ] && [ -x /usr/lib/frr/bgpd ] && [ -x /usr/lib/frr/bfdd ] ||
		{ LAB_SKIP_WHY="missing /usr/lib/frr/{zebra,bgpd,bfdd} (frr)"; return 1; }
}

scale_cleanup() {
	local rc=$? n
	for n in "${NODES[@]}"; do
		rm -f /run/xlb/xlbd-"$LAB_ID-$n".*
	done
	rm -rf "/var/run/frr/$FRR_NAME" "/etc/frr/$FRR_NAME"
	(exit $rc)
	lab_cleanup
}

scale_topology() {
	local i ns
	lab_build_xdp_pass || return 1
	for ns in "$NS_SW" "$NS_CL" "$NS_RT"; do lab_add_ns "$ns" || return 1; done
	ip -n "$NS_SW" link add br0 type bridge forward_delay 0 mcast_snooping 0 || return 1
	ip -n "$NS_SW" link set br0 up

	ip link add ecl netns "$NS_CL" type veth peer name ertc netns "$NS_RT" || return 1
	ip -n "$NS_CL" link set ecl up
	ip -n "$NS_RT" link set ertc up
	ip -n "$NS_CL" addr add "$CL/24" dev ecl
	ip -n "$NS_CL" addr add "$CL6/64" dev ecl nodad
	ip -n "$NS_CL" route add default via "$RT_CL"
	ip -n "$NS_CL" -6 route add default via "$RT_CL6"
	ip -n "$NS_RT" addr add "$RT_CL/24" dev ertc
	ip -n "$NS_RT" addr add "$RT_CL6/64" dev ertc nodad
	lab_veth "$NS_RT" ert prt || return 1
	ip -n "$NS_RT" addr add "$RT_LAN/24" dev ert
	ip -n "$NS_RT" addr add "$RT_LAN6/64" dev ert nodad
	# LAB.md trap 1: hash on addresses, protocol and ports, not skb->hash.
	in_ns "$NS_RT" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.fib_multipath_hash_policy=3 \
		net.ipv4.fib_multipath_hash_fields=0x0037 \
		net.ipv6.conf.all.forwarding=1 \
		net.ipv6.fib_multipath_hash_policy=3 \
		net.ipv6.fib_multipath_hash_fields=0x0037 || return 1

	for i in 0 1; do
		ns=$(node_ns "${NODES[$i]}")
		lab_add_ns "$ns" || return 1
		lab_veth "$ns" en "p${NODES[$i]}" || return 1
		ip -n "$ns" addr add "${NODE_IP[$i]}/24" dev en
		ip -n "$ns" addr add "${NODE_IP6[$i]}/64" dev en nodad
		ip -n "$ns" route add default via "$RT_LAN"
		ip -n "$ns" -6 route add default via "$RT_LAN6"
		lab_xdp_pass "p${NODES[$i]}" || return 1
		mkdir -p "$LAB_DIR/${NODES[$i]}"
	done
	for i in 0 1; do
		ns=$(rs_ns "${RS_NAMES[$i]}")
		lab_add_ns "$ns" || return 1
		lab_veth "$ns" ers "p${RS_NAMES[$i]}" || return 1
		ip -n "$ns" addr add "${RS_V4[$i]}/24" dev ers
		ip -n "$ns" addr add "${RS_V6[$i]}/64" dev ers nodad
		ip -n "$ns" route add default via "$RT_LAN"
		ip -n "$ns" -6 route add default via "$RT_LAN6"
	done
}

# A line-echo server (IPv4 and IPv6): every line it reads gets the server's
# name back.
ECHO_PY='
import socket, sys, threading
name = sys.argv[1].encode() + b"\n"
ls = socket.socket(socket.AF_INET6); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
ls.bind(("::", int(sys.argv[2]))); ls.listen(256)
def serve(c):
    f = c.makefile("rb")
    try:
        for _ in f:
            c.sendall(name)
    except OSError:
        pass
    c.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'

# The client: N connections, each asked for its server every 0.2 s for
# DURATION seconds; prints "ready" once all are open, then one result line:
# "result ok=A broken=B moved=C" (moved: answered by another server).
CLIENT_PY='
import socket, sys, time
vip, port, n, dur = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
conns = []
for i in range(n):
    s = socket.create_connection((vip, port), timeout=5)
    s.settimeout(15)
    f = s.makefile("rb")
    s.sendall(b"hi\n")
    conns.append([s, f, f.readline().strip(), "ok"])
names = {}
for c in conns:
    names[c[2]] = names.get(c[2], 0) + 1
print("ready", " ".join("%s=%d" % (k.decode(), v) for k, v in sorted(names.items())), flush=True)
end = time.time() + dur
while time.time() < end:
    for c in conns:
        if c[3] != "ok":
            continue
        try:
            c[0].sendall(b"ping\n")
            got = c[1].readline().strip()
            if not got:
                c[3] = "broken"
            elif got != c[2]:
                c[3] = "moved"
        except OSError as e:
            c[3] = "broken"
            print("# %s" % e, flush=True)
    time.sleep(0.2)
count = lambda st: sum(1 for c in conns if c[3] == st)
print("result ok=%d broken=%d moved=%d" % (count("ok"), count("broken"), count("moved")), flush=True)
'

start_servers() {
	local i ns
	for i in 0 1; do
		ns=$(rs_ns "${RS_NAMES[$i]}")
		rs_setup_by_hand "${RS_NAMES[$i]}" "$VIP_DR" "$VIP_DR6"
		bg_ns "$ns" "$LAB_DIR/echo-${RS_NAMES[$i]}.log" python3 -c "$ECHO_PY" \
			"${RS_NAMES[$i]}" "$PORT"
		xlb_rs "${RS_NAMES[$i]}" realserver setup --mode tun --vip "$VIP_TUN" \
			>"$LAB_DIR/rs-setup-$i.log" 2>&1 || return 1
	done
	for i in 0 1; do
		wait_for 10 in_ns "$(rs_ns "${RS_NAMES[$i]}")" python3 -c \
			"import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" || return 1
	done
}

start_router() {
	local d=$LAB_DIR/rt
	mkdir -p "$d" "/var/run/frr/$FRR_NAME" "/etc/frr/$FRR_NAME"
	chown frr:frr "/var/run/frr/$FRR_NAME"
	touch "/etc/frr/$FRR_NAME/vtysh.conf"
	cat >"$d/frr.conf" <<EOF
frr defaults traditional
hostname rt
!
bfd
 profile fast
  detect-multiplier 5
  receive-interval 150
  transmit-interval 150
 !
!
router bgp 65000
 bgp router-id $RT_LAN
 no bgp ebgp-requires-policy
 neighbor NODES peer-group
 neighbor NODES remote-as 65001
 neighbor NODES timers 1 3
 neighbor NODES timers connect 1
 neighbor NODES advertisement-interval 0
 neighbor NODES bfd
 neighbor NODES bfd profile fast
 neighbor ${NODE_IP[0]} peer-group NODES
 neighbor ${NODE_IP[1]} peer-group NODES
 neighbor NODES6 peer-group
 neighbor NODES6 remote-as 65001
 neighbor NODES6 timers 1 3
 neighbor NODES6 timers connect 1
 neighbor NODES6 advertisement-interval 0
 neighbor ${NODE_IP6[0]} peer-group NODES6
 neighbor ${NODE_IP6[1]} peer-group NODES6
 address-family ipv4 unicast
  maximum-paths 16
  no neighbor NODES6 activate
 exit-address-family
 address-family ipv6 unicast
  neighbor NODES6 activate
  maximum-paths 16
 exit-address-family
!
EOF
	# FRR drops to user frr: it must reach its pid and log files.
	chmod 711 "$LAB_DIR"
	chmod 755 "$d"
	chown -R frr:frr "$d"
	local dmn
	for dmn in zebra bfdd bgpd; do
		bg_ns "$NS_RT" "$d/$dmn.out" "/usr/lib/frr/$dmn" -N "$FRR_NAME" -f "$d/frr.conf" \
			-u frr -g frr -i "$d/$dmn.pid" --log "file:$d/$dmn.log"
		# bgpd and bfdd register with zebra.
		[ $dmn = zebra ] && wait_for 5 test -S "/var/run/frr/$FRR_NAME/zserv.api"
	done
	wait_for 10 vtysh_rt -c "show bgp summary"
}

vtysh_rt() { in_ns "$NS_RT" vtysh -N "$FRR_NAME" "$@"; }

start_bird() {
	local n=$1 i d
	i=$(node_idx "$n")
	d=$LAB_DIR/$n
	# BIRD refuses a config whose include is missing: start it empty.
	[ -e "$d/vips.conf" ] || : >"$d/vips.conf"
	cat >"$d/bird.conf" <<EOF
router id ${NODE_IP[$i]};
log "$d/bird.log" all;
protocol device { scan time 10; }
protocol bfd {
	interface "en" {
		min rx interval 150 ms;
		min tx interval 150 ms;
		multiplier 5;
	};
}
include "$d/vips.conf";
protocol bgp uplink {
	local ${NODE_IP[$i]} as 65001;
	neighbor $RT_LAN as 65000;
	hold time 3;
	keepalive time 1;
	connect retry time 1;
	# After BFD took the session down, reconnect at once (default 60 s).
	error wait time 1, 5;
	bfd on;
	ipv4 {
		import none;
		export where proto ~ "xlb_*";
		next hop self;
	};
}
# The IPv6 VIPs over a session of their own (no BFD: the failure
# scenarios run over IPv4).
protocol bgp uplink6 {
	local ${NODE_IP6[$i]} as 65001;
	neighbor $RT_LAN6 as 65000;
	hold time 3;
	keepalive time 1;
	connect retry time 1;
	ipv6 {
		import none;
		export where proto ~ "xlb_*";
		next hop self;
	};
}
EOF
	bg_ns "$(node_ns "$n")" "$d/bird.out" bird -f -c "$d/bird.conf" -s "$d/bird.ctl" \
		-P "$d/bird.pid"
	wait_for 10 birdc_n "$n" show status
}

birdc_n() { in_ns "$(node_ns "$1")" birdc -s "$LAB_DIR/$1/bird.ctl" "${@:2}"; }

node_config() {
	local n=$1 hold=${2:-30s} d be be6 i
	d=$LAB_DIR/$n
	be=$(for i in 0 1; do echo "      - { address: ${RS_V4[$i]}, weight: 100 }"; done)
	be6=$(for i in 0 1; do echo "      - { address: ${RS_V6[$i]}, weight: 100 }"; done)
	cat >"$d/xlb.yaml" <<EOF
instance: $LAB_ID-$n
interfaces: [en]
manage_addresses: false
announce: { bird_socket: $d/bird.ctl, file: $d/vips.conf, hold: $hold }
services:
  - name: dr
    vip: $VIP_DR
    port: $PORT
    protocol: tcp
    mode: dr
    health_check: { type: tcp, interval: 300ms, timeout: 300ms, rise: 2, fall: 2 }
    backends:
$be
  - name: tun
    vip: $VIP_TUN
    port: $PORT
    protocol: tcp
    mode: tun
    health_check: { type: tcp, interval: 300ms, timeout: 300ms, rise: 2, fall: 2 }
    backends:
$be
  - name: dr6
    vip: $VIP_DR6
    port: $PORT
    protocol: tcp
    mode: dr
    health_check: { type: tcp, interval: 300ms, timeout: 300ms, rise: 2, fall: 2 }
    backends:
$be6
EOF
}

declare -A XPID
xlbd_node_start() {
	local n=$1 d=$LAB_DIR/$1
	ns_bpf_prefix "$(node_ns "$n")"
	"${NS_BPF[@]}" "$XLBD_BIN" -c "$d/xlb.yaml" -f --socket "$d/xlb.sock" \
		>>"$d/xlbd.log" 2>&1 </dev/null &
	XPID[$n]=$!
	LAB_PIDS+=("${XPID[$n]}")
	wait_for 15 xlb_n "$n" list
}

xlb_n() {
	local n=$1
	shift
	ns_bpf_prefix "$(node_ns "$n")"
	timeout 20 "${NS_BPF[@]}" "$XLB_BIN" --socket "$LAB_DIR/$n/xlb.sock" "$@"
}

# The router's next hops for VIP, sorted: "198.18.0.2 198.18.0.3", "" if none.
rt_hops() {
	ip -n "$NS_RT" -4 route show "$1/32" 2>/dev/null |
		grep -o 'via [0-9.]*' | awk '{print $2}' | sort | tr '\n' ' ' | sed 's/ $//'
}
hops_are() { [ "$(rt_hops "$1")" = "$2" ]; }
# The router's IPv6 next hops for VIP: BGP gives each node's global
# address or its link-local one (either way one per node), as "N: HOPS".
rt_hops6() {
	local h
	h=$(ip -n "$NS_RT" -6 route show "$1/128" 2>/dev/null | grep -o 'via [0-9a-f:]*' |
		awk '{print $2}' | sort -u | tr '
' ' ' | sed 's/ $//')
	echo "$(wc -w <<<"$h"): $h"
}
hops6_are() { [[ "$(rt_hops6 "$1")" == "$2:"* ]]; }
BOTH="${NODE_IP[0]} ${NODE_IP[1]}"

table_hash() {
	xlb_n "$1" list --json 2>/dev/null |
		jq -r --arg s "$2" '.services[] | select(.name == $s) | .table_hash'
}
vip_state() {
	xlb_n "$1" list --json 2>/dev/null |
		jq -r --arg v "$2" '.vips[] | select(.vip == $v) | "\(.announced) \(.reason)"'
}
bgp_up() {
	local n p
	for n in n1 n2; do
		for p in uplink uplink6; do
			birdc_n "$n" show protocols "$p" | grep -q Established || return 1
		done
	done
}
bfd_up() {
	vtysh_rt -c "show bfd peers brief" 2>/dev/null | grep -c " up " | grep -qx 2
}
health_is() {   # NODE SERVICE RS_ADDR STATUS
	[ "$(xlb_n "$1" list --json 2>/dev/null | jq -r --arg s "$2" --arg a "$3" \
		'.services[] | select(.name == $s) | .backends[] | select(.address == $a) | .health')" = "$4" ]
}

# client_run VIP SECONDS: the long-lived connections in the background;
# waits until they are open. Output in $LAB_DIR/client.out.
client_run() {
	bg_ns "$NS_CL" "$LAB_DIR/client.out" python3 -c "$CLIENT_PY" "$1" "$PORT" "$CONNS" "$2"
	CLIENT_PID=$BG_PID
	wait_for 15 grep -q '^ready' "$LAB_DIR/client.out"
}
# client_result: wait for the client (not in a subshell: it is this shell's
# child) and set $res to its result line.
client_result() {
	wait "$CLIENT_PID" 2>/dev/null
	res=$(grep '^result' "$LAB_DIR/client.out") ||
		res="result none: $(tr '\n' '|' <"$LAB_DIR/client.out")"
}
all_ok() { [ "$1" = "result ok=$CONNS broken=0 moved=0" ]; }
# same_table H1 H2: two nodes' table hashes, equal and of a real table.
same_table() { [ -n "$1" ] && [ "$1" = "$2" ] && [ "$1" != none ]; }
# spread A B: both nodes took new flows.
spread() { [ "${1:-0}" -gt 0 ] && [ "${2:-0}" -gt 0 ]; }
starts_with() { [[ "$1" == "$2"* ]]; }

new_flows() {
	xlb_n "$1" list --stats --json 2>/dev/null |
		jq -r --arg s "$2" '.services[] | select(.name == $s) | .new_flows'
}

# --- the scenarios ------------------------------------------------------------------

# A node's switch port goes down for 3 s and comes back: every connection
# survives on the same real server.
node_failure() {
	local mode=$1 vip=$2 res
	wait_for 15 bfd_up
	check "$mode: BFD sessions from the router to both nodes are Up" \
		"$(vtysh_rt -c 'show bfd peers brief' 2>&1 | tr '\n' '|')" bfd_up
	client_run "$vip" 9 || { fail "$mode: $CONNS connections open" "$(cat "$LAB_DIR/client.out")"; return; }
	log "$mode: $(grep '^ready' "$LAB_DIR/client.out")"
	sleep 1
	ip -n "$NS_SW" link set pn1 down
	check "$mode: n1 down: the router drops it from the ECMP route" "hops: $(rt_hops "$vip")" \
		wait_for 5 hops_are "$vip" "${NODE_IP[1]}"
	sleep 2
	ip -n "$NS_SW" link set pn1 up
	check "$mode: n1 back: the router has both nodes again" "hops: $(rt_hops "$vip")" \
		wait_for 10 hops_are "$vip" "$BOTH"
	client_result
	log "$mode: n2 has passed $(xlb_n n2 list --stats --json | jq -r '.reasons.pass_other_mac // "?"') frames addressed to another MAC (LAB.md trap 3: flooded while n1 was away)"
	check "$mode: $CONNS connections survive n1 failing and coming back, each on its real server" \
		"$res" all_ok "$res"
}

scenario_announce() {
	check "no route to the VIPs before xlbd runs (BIRD includes an empty file)" \
		"hops: $(rt_hops "$VIP_DR")" [ -z "$(rt_hops "$VIP_DR")" ]
	local n
	for n in "${NODES[@]}"; do
		xlbd_node_start "$n" ||
			{ fail "xlbd starts on $n" "$(tail -n 5 "$LAB_DIR/$n/xlbd.log")"; return 1; }
	done
	check "router: ECMP route to the dr VIP over both nodes, learnt from xlbd's announcements" \
		"hops: $(rt_hops "$VIP_DR")" wait_for 15 hops_are "$VIP_DR" "$BOTH"
	check "router: ECMP route to the tun VIP over both nodes" \
		"hops: $(rt_hops "$VIP_TUN")" wait_for 5 hops_are "$VIP_TUN" "$BOTH"
	local st
	st=$(vip_state n1 "$VIP_DR")
	check "xlb list shows the VIP announced" "$st" [ "$st" = "true " ]
	local h1 h2
	h1=$(table_hash n1 dr)
	h2=$(table_hash n2 dr)
	check "both nodes build the same dr table (table_hash $h1)" "n1 $h1, n2 $h2" \
		same_table "$h1" "$h2"
}

scenario_spread() {
	local a b res
	client_run "$VIP_DR" 0.5 || { fail "spread: connections open" "$(cat "$LAB_DIR/client.out")"; return; }
	client_result
	a=$(new_flows n1 dr)
	b=$(new_flows n2 dr)
	check "new connections spread over both nodes (new flows n1 $a, n2 $b)" "$res" \
		spread "$a" "$b"
}

# The IPv6 VIP: announced by both nodes over the IPv6 sessions, the same
# table on both, connections spread over both and answered; a drained node
# is withdrawn.
scenario_ipv6() {
	local a b res h1 h2
	check "IPv6: the router has an ECMP route to the dr VIP over both nodes" \
		"hops: $(rt_hops6 "$VIP_DR6")" wait_for 15 hops6_are "$VIP_DR6" 2
	h1=$(table_hash n1 dr6)
	h2=$(table_hash n2 dr6)
	check "IPv6: both nodes build the same dr table (table_hash $h1)" "n1 $h1, n2 $h2" \
		same_table "$h1" "$h2"
	client_run "$VIP_DR6" 0.5 || { fail "IPv6: connections open" "$(cat "$LAB_DIR/client.out")"; return; }
	client_result
	a=$(new_flows n1 dr6)
	b=$(new_flows n2 dr6)
	check "IPv6: $CONNS connections answered, spread over both nodes (new flows n1 $a, n2 $b)" \
		"$res" eval 'all_ok "$res" && spread "$a" "$b"'
	xlb_n n1 node drain
	check "IPv6: xlb node drain withdraws n1's IPv6 VIP" "hops: $(rt_hops6 "$VIP_DR6")" \
		wait_for 5 hops6_are "$VIP_DR6" 1
	xlb_n n1 node undrain
	check "IPv6: undrained, both nodes again" "hops: $(rt_hops6 "$VIP_DR6")" \
		wait_for 5 hops6_are "$VIP_DR6" 2
}

# rs2 stops answering n1's health checks, then answers again: n1's table
# changes and comes back to n2's.
scenario_flap() {
	local h1 h2
	ip -n "$(rs_ns rs2)" route add prohibit "${NODE_IP[0]}/32"
	check "flap: n1 sees rs2 down" "$(xlb_n n1 list 2>&1 | tr '\n' '|')" \
		wait_for 10 health_is n1 dr "${RS_V4[1]}" down
	check "flap: n2 still sees rs2 up" "$(xlb_n n2 list 2>&1 | tr '\n' '|')" \
		health_is n2 dr "${RS_V4[1]}" up
	h1=$(table_hash n1 dr)
	h2=$(table_hash n2 dr)
	check "flap: meanwhile n1's table differs from n2's" "n1 $h1 n2 $h2" [ "$h1" != "$h2" ]
	ip -n "$(rs_ns rs2)" route del prohibit "${NODE_IP[0]}/32"
	wait_for 10 health_is n1 dr "${RS_V4[1]}" up
	h1=$(table_hash n1 dr)
	h2=$(table_hash n2 dr)
	check "flap: after rs2 recovers both nodes have equal table_hash again" "n1 $h1 n2 $h2" \
		same_table "$h1" "$h2"
}

scenario_drain() {
	local t0 t1 res st
	client_run "$VIP_DR" 6 || { fail "drain: connections open" "$(cat "$LAB_DIR/client.out")"; return; }
	t0=$(date +%s%N)
	xlb_n n1 node drain
	wait_for 3 hops_are "$VIP_DR" "${NODE_IP[1]}"
	t1=$(date +%s%N)
	check "xlb node drain: the router drops n1 within 3 s" \
		"hops after $(((t1 - t0) / 1000000)) ms: $(rt_hops "$VIP_DR")" hops_are "$VIP_DR" "${NODE_IP[1]}"
	st=$(vip_state n1 "$VIP_DR")
	check "xlb list: the VIP withdrawn because the node is drained" "$st" \
		starts_with "$st" "false node drained"
	client_result
	check "drain breaks no connection" "$res" all_ok "$res"
	xlb_n n1 node undrain
	check "xlb node undrain: the router has both nodes again" "hops: $(rt_hops "$VIP_DR")" \
		wait_for 5 hops_are "$VIP_DR" "$BOTH"
}

# n1 is cut off from every backend: it withdraws instead of announcing a
# VIP it cannot serve; back after ANNOUNCE_RISE_MS once they answer.
scenario_all_down() {
	local i st
	for i in 0 1; do ip -n "$(rs_ns "${RS_NAMES[$i]}")" route add prohibit "${NODE_IP[0]}/32"; done
	check "n1 sees every backend down: withdrawn, the router keeps n2 only" \
		"hops: $(rt_hops "$VIP_DR"); n1: $(vip_state n1 "$VIP_DR")" \
		wait_for 10 hops_are "$VIP_DR" "${NODE_IP[1]}"
	st=$(vip_state n1 "$VIP_DR")
	check "xlb list gives the reason (no usable backend)" "$st" \
		starts_with "$st" "false no usable backend"
	for i in 0 1; do ip -n "$(rs_ns "${RS_NAMES[$i]}")" route del prohibit "${NODE_IP[0]}/32"; done
	check "backends back: n1 announces again" "hops: $(rt_hops "$VIP_DR")" \
		wait_for 15 hops_are "$VIP_DR" "$BOTH"
}

# SIGKILL and restart of xlbd on n1 under traffic: nothing withdrawn,
# nothing reset.
scenario_restart() {
	local res gone=0 i
	client_run "$VIP_DR" 5 || { fail "restart: connections open" "$(cat "$LAB_DIR/client.out")"; return; }
	kill -KILL "${XPID[n1]}"
	wait "${XPID[n1]}" 2>/dev/null
	for ((i = 0; i < 10; i++)); do
		hops_are "$VIP_DR" "$BOTH" || gone=1
		sleep 0.1
	done
	xlbd_node_start n1 || fail "xlbd restarts on n1" "$(tail -n 5 "$LAB_DIR/n1/xlbd.log")"
	for ((i = 0; i < 20; i++)); do
		hops_are "$VIP_DR" "$BOTH" || gone=1
		sleep 0.1
	done
	check "SIGKILL + restart of xlbd on n1: its VIPs stay announced" "hops went: $(rt_hops "$VIP_DR")" \
		[ $gone = 0 ]
	check "the new xlbd took over the watchdog" "$(tail -n 20 "$LAB_DIR/n1/xlbd.log")" \
		grep -q "took over from the previous xlbd's watchdog" "$LAB_DIR/n1/xlbd.log"
	client_result
	check "SIGKILL + restart resets no connection" "$res" all_ok "$res"
}

# A dead xlbd with no successor: the watchdog withdraws after `hold` (3 s).
scenario_dead() {
	xlb_n n2 list >/dev/null
	kill -KILL "${XPID[n2]}"
	wait "${XPID[n2]}" 2>/dev/null
	check "xlbd dead on n2 for longer than hold (3s): the watchdog withdraws its VIPs" \
		"hops: $(rt_hops "$VIP_DR")" wait_for 10 hops_are "$VIP_DR" "${NODE_IP[0]}"
	xlbd_node_start n2 || fail "xlbd restarts on n2" "$(tail -n 5 "$LAB_DIR/n2/xlbd.log")"
	# No timing claim here (a loaded machine may have flapped a BGP or
	# BFD session meanwhile): the route gets n2 back.
	check "a new xlbd on n2 announces again" "hops: $(rt_hops "$VIP_DR")" \
		wait_for 30 hops_are "$VIP_DR" "$BOTH"
}

main() {
	if ! scale_require; then skip "scale" "$LAB_SKIP_WHY"; summary; return; fi
	if ! have_xlb; then skip "scale" "xlbd/xlb not built (make)"; summary; return; fi
	lab_init
	trap scale_cleanup EXIT
	scale_topology || { fail "scale: topology" "see above"; summary; return; }
	start_servers || { fail "scale: real servers" "$(cat "$LAB_DIR"/rs-setup-*.log)"; summary; return; }
	start_router || { fail "scale: FRR" "$(cat "$LAB_DIR"/rt/*.out)"; summary; return; }
	node_config n1
	node_config n2 3s
	start_bird n1 && start_bird n2 || { fail "scale: BIRD" "$(cat "$LAB_DIR"/n*/bird.out)"; summary; return; }
	check "BGP sessions from both nodes' BIRD to the router are Established" \
		"$(vtysh_rt -c 'show bgp summary' 2>&1 | tr '\n' '|')" wait_for 30 bgp_up

	scenario_announce || { summary; return; }
	scenario_spread
	scenario_ipv6
	node_failure dr "$VIP_DR"
	node_failure tun "$VIP_TUN"
	scenario_flap
	scenario_drain
	scenario_all_down
	scenario_restart
	scenario_dead
	summary
}
# bench/convergence.sh sources this file for its lab.
[ -n "${SCALE_LAB_ONLY:-}" ] || main
