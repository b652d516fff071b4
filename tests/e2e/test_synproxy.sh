#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End-to-end test of the SYN proxy (bpf/nat.h): xlbd with flood_guard_rate 1,
# so that ordinary traffic engages the flood guard and nat/fullnat TCP SYNs
# are answered with SYN cookies. Two-armed lab as test_nat.sh: nat on VIP
# (v4 and v6), fullnat on VIP2 (v4 and v6, LIPs on the server side). Per
# service: 50 HTTP connections (curl to nginx) must all succeed and the
# lab's 6 MiB /big (paced by nginx, about 6 s) must arrive intact (cmp),
# while the flood guard's syn_cookie_sent and syn_cookie_ok rise.
#
#   cl 198.18.0.1     --- br0 --- elb 198.18.0.2    lb (XDP on elb, elb2)
#      2001:db8::1                    2001:db8::2
#                                 elb2 198.18.1.1     --- br1 --- rs1..rs3 198.18.1.11-13
#                                      2001:db8:1::1              2001:db8:1::11-13
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RS_V4=(198.18.1.11 198.18.1.12 198.18.1.13)
RS_V6=(2001:db8:1::11 2001:db8:1::12 2001:db8:1::13)

sp_config() {
	local svc
	{
		cat <<EOF2
interfaces: [elb, elb2]
manage_addresses: true
local_addresses: [$LB2_V4, $LB2_V6]
flood_guard_rate: 1
services:
EOF2
		for svc in "nat $VIP_V4 RS_V4" "nat $VIP_V6 RS_V6" \
			   "fullnat $VIP2_V4 RS_V4" "fullnat $VIP2_V6 RS_V6"; do
			set -- $svc
			local -n rs=$3
			cat <<EOF2
  - { vip: $2, port: 80, protocol: tcp, mode: $1,
      backends: [ { address: ${rs[0]} }, { address: ${rs[1]} }, { address: ${rs[2]} } ] }
EOF2
		done
	} >"$1"
}

# guard_count NAME: the flood guard counter NAME of `xlb list --json`
# (empty when there is none).
guard_count() { xlb_json | jq -r --arg n "$1" '.flood_guard[$n] // empty'; }

# rose A0 A1 B0 B1: both counters exist and went up.
rose() { [ -n "$2" ] && [ -n "$4" ] && [ "$2" -gt "${1:-0}" ] && [ "$4" -gt "${3:-0}" ]; }

main() {
	local url urls=() i n s0 o0 s1 o1 pids=() rc
	if ! lab_require; then skip "e2e-synproxy" "$LAB_SKIP_WHY"; summary; return; fi
	if ! have_xlb; then skip "synproxy: xlb" "$XLBD_BIN or $XLB_BIN not built (make)"; summary; return; fi
	lab_start synproxy lab_two_arm_up || { summary; return; }
	sp_config "$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "synproxy: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	pass "synproxy: xlbd starts (flood_guard_rate 1)"
	s0=$(guard_count syn_cookie_sent)
	o0=$(guard_count syn_cookie_ok)
	urls=("http://$VIP_V4/" "http://[$VIP_V6]/" "http://$VIP2_V4/" "http://[$VIP2_V6]/")
	# The four 6 MiB downloads (about 6 s each, paced) run together,
	# alongside the bursts.
	for i in "${!urls[@]}"; do
		timeout 60 ip netns exec "$NS_CL" curl -s -g --max-time 50 \
			-o "$LAB_DIR/big.$i" "${urls[$i]}big" &
		pids+=($!)
	done
	for url in "${urls[@]}"; do
		n=$(http_burst 50 "$url" -g | grep -c '^rs')
		check "synproxy: 50 HTTP connections to $url" "$n of 50 succeeded" [ "$n" = 50 ]
	done
	for i in "${!urls[@]}"; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		check "synproxy: 6 MiB from ${urls[$i]}big intact" \
			"curl exit $rc, $(stat -c %s "$LAB_DIR/big.$i" 2>/dev/null) of $BIG_SIZE bytes" \
			cmp -s "$LAB_DIR/big.$i" "$LAB_DIR/big"
	done
	s1=$(guard_count syn_cookie_sent)
	o1=$(guard_count syn_cookie_ok)
	check "synproxy: SYNs answered with cookies ($s0 -> $s1) and cookies accepted ($o0 -> $o1)" \
		"syn_cookie_sent ${s0:-absent} -> ${s1:-absent}, syn_cookie_ok ${o0:-absent} -> ${o1:-absent}" \
		rose "$s0" "$s1" "$o0" "$o1"
	if xlbd_stop; then pass "synproxy: xlbd stops cleanly"
	else fail "synproxy: xlbd stops cleanly" "see $LAB_DIR/xlbd.log"; fi
	summary
}

main "$@"
