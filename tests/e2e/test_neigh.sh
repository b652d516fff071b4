#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End-to-end test of the client-side neighbour of nat/fullnat replies. The
# replies leave the balancer by XDP, so once its neighbour entry for the
# next hop toward the client is gone nothing of the balancer's own stack
# asks for it again: xlbd must notice the drops (drop_no_neighbour) and
# have the kernel resolve that neighbour (a managed entry). Per case the
# balancer's entry for the next hop is deleted, the client never ARPs/NDs
# for the balancer (permanent entries), and one HTTP request through the
# VIP must still succeed within 6 s (TCP sends its SYN again after 1 and
# 3 s), after drop_no_neighbour rose. Cases: nat over IPv4 and IPv6 with
# the client behind a gateway (the next hop is the gateway, the client
# namespace's ecl address), fullnat over IPv4 and IPv6 with the client on
# the balancer's link (the next hop is the client). Then one DNS query to
# a fullnat service from a spoofed source on the balancer's link: its
# reply's next hop is managed, never resolves and is given up within 15 s.
# Its entries are tagged (proto 176): stopped, none is left, and an
# operator's managed entry for the same next hop is never removed; those a
# killed xlbd left are adopted by the next one, or removed by
# `xlbd --cleanup`.
#
#   cl 198.18.0.1, 2001:db8::1 (gateway of 198.18.5.0/24, 2001:db8:5::/64)
#      198.18.5.1, 2001:db8:5::1 on ecl (the nat client)
#        |            lb elb 198.18.0.2, 2001:db8::2 (XDP)
#        |             |           rs1..rs3 198.18.0.11-13 (198.18.5.0/24
#        |             |             |  and 2001:db8:5::/64 via the balancer)
#   -----+------ br0 --+-------------+-----
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAT_CL=198.18.5.1
NAT_CL6=2001:db8:5::1

neigh_lab_up() {
	local rs ns
	lab_up || return 1
	ip -n "$NS_CL" addr add "$NAT_CL/32" dev ecl
	ip -n "$NS_CL" addr add "$NAT_CL6/128" dev ecl nodad
	ip -n "$NS_LB" route add 198.18.5.0/24 via "$CL_V4"
	ip -n "$NS_LB" -6 route add 2001:db8:5::/64 via "$CL_V6"
	for rs in "${RS_NAMES[@]}"; do
		ns=$(rs_ns "$rs")
		ip -n "$ns" route add 198.18.5.0/24 via "$LB_V4"
		ip -n "$ns" -6 route add 2001:db8:5::/64 via "$LB_V6"
	done
	in_ns "$NS_LB" sysctl -qw net.ipv4.ip_forward=1
	in_ns "$NS_LB" sysctl -qw net.ipv6.conf.all.forwarding=1
}

neigh_config() {
	cat <<EOF
interfaces: [elb]
manage_addresses: true
local_addresses: [$LB_V4, $LB_V6]
services:
  - { name: nat, vip: $VIP_V4, port: 80, protocol: tcp, mode: nat, backends: [${RS_V4[0]}, ${RS_V4[1]}] }
  - { name: nat6, vip: $VIP_V6, port: 80, protocol: tcp, mode: nat, backends: [${RS_V6[0]}, ${RS_V6[1]}] }
  - { name: fullnat, vip: $VIP2_V4, port: 80, protocol: tcp, mode: fullnat, backends: [${RS_V4[2]}] }
  - { name: fullnat-dns, vip: $VIP2_V4, port: 53, protocol: udp, mode: fullnat, backends: [${RS_V4[2]}] }
  - { name: fullnat6, vip: $VIP2_V6, port: 80, protocol: tcp, mode: fullnat, backends: [${RS_V6[2]}] }
EOF
}

# get URL SRC SECONDS: one HTTP request from SRC; prints the backend's line.
get() {
	timeout $(($3 + 2)) ip netns exec "$NS_CL" curl -s --interface "$2" \
		--max-time "$3" "$1" 2>/dev/null
}

# lb_neigh ADDR: the balancer's neighbour entry for ADDR on elb ("" if none).
lb_neigh() { ip -n "$NS_LB" neigh show "$1" dev elb; }

# The cases: name, URL, client address, next hop from the balancer.
CASES=(
	"nat via a gateway|http://$VIP_V4/|$NAT_CL|$CL_V4"
	"nat v6 via a gateway|http://[$VIP_V6]/|$NAT_CL6|$CL_V6"
	"fullnat on-link|http://$VIP2_V4/|$CL_V4|$CL_V4"
	"fullnat v6 on-link|http://[$VIP2_V6]/|$CL_V6|$CL_V6"
)

# neigh_case NAME URL SRC NEXTHOP: the balancer loses its entry for
# NEXTHOP, the request must work again.
neigh_case() {
	local name=$1 url=$2 src=$3 nh=$4 out before after t0
	before=$(json_reason "$(xlb_json)" drop_no_neighbour)
	ip -n "$NS_LB" neigh del "$nh" dev elb 2>/dev/null
	if [ -n "$(lb_neigh "$nh")" ]; then
		fail "neigh $name: the balancer's entry for $nh deleted" "$(lb_neigh "$nh")"
		return
	fi
	t0=$(date +%s%N)
	out=$(get "$url" "$src" 6)
	log "$name: answered after $((($(date +%s%N) - t0) / 1000000)) ms"
	after=$(json_reason "$(xlb_json)" drop_no_neighbour)
	# The rise shows the replies were dropped for want of that entry: the
	# case tested what it means to.
	check "neigh $name: a request works again after the balancer lost its entry for $nh" \
		"got '$out'; drop_no_neighbour $before -> $after; entry '$(lb_neigh "$nh")'" \
		test "${out:0:2}" = rs -a "$after" -gt "$before"
}

# A DNS query (who.xlb.test TXT) from a spoofed source: argv SRC DST.
SPOOF_PY='
import socket, struct, sys
src, dst = socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2])
dns = struct.pack("!6H", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x03who\x03xlb\x04test\x00" + struct.pack("!2H", 16, 1)
udp = struct.pack("!4H", 40053, 53, 8 + len(dns), 0) + dns
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(ip + udp, (sys.argv[2], 0))
'

# lb_managed ADDR: the balancer has a managed entry for ADDR on elb.
lb_managed() { lb_neigh "$1" | grep -q managed; }

# xlbd_logged TEXT: xlbd's log has a line with TEXT.
xlbd_logged() { grep -qF "$1" "$LAB_DIR/xlbd.log"; }

main() {
	local c name url src nh out mac
	if ! lab_require; then skip "e2e-neigh" "$LAB_SKIP_WHY"; summary; return; fi
	if ! have_xlb; then skip "neigh: xlb" "$XLBD_BIN or $XLB_BIN not built (make)"; summary; return; fi
	lab_start neigh neigh_lab_up || { summary; return; }

	neigh_config >"$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "neigh: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	pass "neigh: xlbd starts"

	# The balancer knows the next hops toward the clients, as a node that
	# served them before: every request works.
	# (A datagram from the balancer's stack has the kernel resolve them.)
	in_ns "$NS_LB" bash -c "echo >/dev/udp/$CL_V4/9; echo >/dev/udp/$CL_V6/9" 2>/dev/null
	wait_for 3 sh -c "ip -n '$NS_LB' neigh show dev elb | grep -q '^$CL_V6 .*lladdr'"
	for c in "${CASES[@]}"; do
		IFS='|' read -r name url src nh <<<"$c"
		out=$(get "$url" "$src" 3)
		check "neigh $name: a request through the VIP" "got '$out'" test "${out:0:2}" = rs
	done

	# The client never asks for the balancer's address again: the
	# balancer's stack never hears from it and cannot learn it back.
	mac=$(ip -n "$NS_LB" -j link show elb | jq -r '.[0].address')
	ip -n "$NS_CL" neigh replace "$LB_V4" lladdr "$mac" dev ecl nud permanent
	ip -n "$NS_CL" -6 neigh replace "$LB_V6" lladdr "$mac" dev ecl nud permanent
	out=$(ip -n "$NS_CL" neigh show "$LB_V4" dev ecl; ip -n "$NS_CL" -6 neigh show "$LB_V6" dev ecl)
	check "neigh: the client's entries for the balancer are permanent" "$out" \
		test "$(grep -c PERMANENT <<<"$out")" = 2

	for c in "${CASES[@]}"; do
		IFS='|' read -r name url src nh <<<"$c"
		neigh_case "$name" "$url" "$src" "$nh"
	done
	check "neigh: xlbd logged the neighbours it manages" "$(tail -n 20 "$LAB_DIR/xlbd.log")" \
		grep -q "managing neighbour" "$LAB_DIR/xlbd.log"

	# A spoofed source on the balancer's link: the reply's next hop is
	# managed, never resolves, and is given up (its place in the 256
	# freed).
	in_ns "$NS_CL" python3 -c "$SPOOF_PY" 198.18.0.77 "$VIP2_V4"
	check "neigh: a spoofed on-link source's next hop is managed" \
		"entry '$(lb_neigh 198.18.0.77)'" \
		wait_for 4 xlbd_logged "managing neighbour 198.18.0.77 on elb"
	check "neigh: ... and given up once it stayed unresolved" \
		"entry '$(lb_neigh 198.18.0.77)'" \
		wait_for 15 xlbd_logged "no longer managing neighbour 198.18.0.77 on elb"
	check "neigh: ... its entry removed" "entry '$(lb_neigh 198.18.0.77)'" \
		sh -c "! ip -n '$NS_LB' neigh show 198.18.0.77 dev elb | grep -q managed"
	grep "managing neighbour" "$LAB_DIR/xlbd.log" | sed 's/^/# /'
	owned_entries
	summary
}

# has / lacks REGEX TEXT: whether a line of TEXT matches.
has() { grep -q "$1" <<<"$2"; }
lacks() { ! grep -q "$1" <<<"$2"; }

# owned_entries: xlbd's entries are tagged (proto 176) and only those are
# ever removed: an operator's managed entry for a next hop xlbd manages too
# stays after xlbd stops. Entries a killed xlbd left (made here by hand,
# tagged) are adopted by the next xlbd, which removes them when it stops,
# and removed by `xlbd --cleanup` after it was killed in turn.
owned_entries() {
	local out
	out=$(ip -n "$NS_LB" neigh show dev elb)
	check "neigh: the entries xlbd made are tagged (proto 176)" "$out" \
		has "managed.* proto 176" "$out"
	# By hand, for the IPv4 nat client's gateway, which xlbd tracks.
	ip -n "$NS_LB" neigh del "$CL_V4" dev elb 2>/dev/null
	ip -n "$NS_LB" neigh add "$CL_V4" dev elb managed
	if xlbd_stop; then pass "neigh: xlbd stops cleanly"
	else fail "neigh: xlbd stops cleanly" "see $LAB_DIR/xlbd.log"; fi
	out=$(ip -n "$NS_LB" neigh show dev elb)
	check "neigh: no entry of xlbd's left on the balancer after it stopped" "$out" \
		lacks "proto 176" "$out"
	check "neigh: the operator's managed entry stays" "$out" \
		has "^$CL_V4 .*managed" "$out"

	# What a killed xlbd leaves: adopted by the next one, gone when it stops.
	ip -n "$NS_LB" -6 neigh replace "$CL_V6" dev elb managed proto 176
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start2.err"; then
		fail "neigh: xlbd starts again" "$(cat "$LAB_DIR/start2.err")"; return
	fi
	check "neigh: the next xlbd adopted the entry a killed one left" \
		"$(grep -i neighbour "$LAB_DIR/xlbd.log")" \
		grep -q "adopted 1 managed neighbour entry" "$LAB_DIR/xlbd.log"
	xlbd_stop
	out=$(ip -n "$NS_LB" neigh show dev elb)
	check "neigh: ... and removed it when it stopped" "$out" lacks "proto 176" "$out"

	# Killed: its entries (the backends' and the one it adopted) stay
	# until xlbd --cleanup.
	ip -n "$NS_LB" -6 neigh replace "$CL_V6" dev elb managed proto 176
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start3.err"; then
		fail "neigh: xlbd starts again" "$(cat "$LAB_DIR/start3.err")"; return
	fi
	kill -KILL "$XLBD_PID"
	wait "$XLBD_PID" 2>/dev/null
	XLBD_PID=
	ns_bpf_prefix "$NS_LB"
	out=$("${NS_BPF[@]}" "$XLBD_BIN" --cleanup -c "$LAB_DIR/xlb.yaml" 2>&1)
	check "neigh: xlbd --cleanup after a killed xlbd removes the entries it made" \
		"$out; left: $(ip -n "$NS_LB" neigh show dev elb | grep 'proto 176')" \
		lacks "proto 176" "$(ip -n "$NS_LB" neigh show dev elb)"
	check "neigh: ... and says so" "$out" has "removed [1-9][0-9]* managed neighbour entr" "$out"
	check "neigh: ... and leaves the operator's" "$(ip -n "$NS_LB" neigh show dev elb)" \
		has "^$CL_V4 .*managed" "$(ip -n "$NS_LB" neigh show dev elb)"
}

[ "${NEIGH_DEBUG:-}" ] || main "$@"
