#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End-to-end request rate through the lab in dr mode (real clients and
# servers: wrk to nginx, dnsperf to unbound): xlb's XDP program against the
# same lab where the balancer namespace load-balances with nftables DNAT
# (numgen inc mod 3), same three real servers, same run, alternating phases.
# The packet rate with a fast generator is bench/e2e_packet.sh.
#
#   ns cl (wrk, dnsperf)     ns lb (xlbd+XDP | nft DNAT)     ns rs1..3 (nginx, unbound)
#   198.18.0.1  --- bridge in ns sw ---  198.18.0.2  ---  198.18.0.11-13
#
# dr phase: real servers hold the VIP on lo and answer the client directly.
# nft phase: xlbd is stopped; real servers route the client via the balancer
# (a /32 route, removed afterwards) so conntrack can undo the DNAT on replies.
# Rows: wrk requests/s (keep-alive, BENCH_CONNS connections, BENCH_DUR s) and
# dnsperf queries/s, each the median of ROUNDS alternating runs, as a ratio
# xlb/nftables. Target (issue 6): >= 3x nftables.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH_NAME=e2e_request
ROUNDS=${ROUNDS:-2}
[ -n "${QUICK:-}" ] && [ "$QUICK" != 0 ] && ROUNDS=1

if ! lab_require; then echo "SKIP e2e_request: $LAB_SKIP_WHY"; exit 0; fi
if ! have_xlb; then echo "SKIP e2e_request: build/xlbd missing (make)"; exit 0; fi
bench_install wrk dnsperf nftables || true
lab_init
lab_up 2>"$LAB_DIR/up.err" || { echo "FAIL e2e_request: lab: $(cat "$LAB_DIR/up.err")"; exit 1; }
lab_start_servers 2>"$LAB_DIR/up.err" || { echo "FAIL e2e_request: servers: $(cat "$LAB_DIR/up.err")"; exit 1; }
in_ns "$NS_LB" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
	net.ipv4.conf.elb.send_redirects=0
for rs in "${RS_NAMES[@]}"; do
	xlb_rs "$rs" realserver setup --mode dr --vip "$VIP_V4" >/dev/null 2>&1 ||
		rs_setup_by_hand "$rs" "$VIP_V4"
done

cat >"$LAB_DIR/xlb.yaml" <<EOC
interfaces: [elb]
manage_addresses: true
services:
  - { name: http, vip: $VIP_V4, port: 80, protocol: tcp, mode: dr, scheduler: maglev,
      backends: [ { address: ${RS_V4[0]} }, { address: ${RS_V4[1]} }, { address: ${RS_V4[2]} } ] }
  - { name: dns, vip: $VIP_V4, port: 53, protocol: udp, mode: dr, scheduler: maglev,
      backends: [ { address: ${RS_V4[0]} }, { address: ${RS_V4[1]} }, { address: ${RS_V4[2]} } ] }
EOC
BE_MAP="0 : ${RS_V4[0]}, 1 : ${RS_V4[1]}, 2 : ${RS_V4[2]}"
cat >"$LAB_DIR/lb.nft" <<EOC
table ip xlbbench {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr $VIP_V4 tcp dport 80 dnat to numgen inc mod 3 map { $BE_MAP }
		ip daddr $VIP_V4 udp dport 53 dnat to numgen inc mod 3 map { $BE_MAP }
	}
}
EOC

phase_xlb_on() { xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/xlbd.err"; }
phase_xlb_off() { xlbd_stop; }
phase_nft_on() {
	in_ns "$NS_LB" nft -f "$LAB_DIR/lb.nft" || return 1
	ip -n "$NS_LB" addr del "$VIP_V4/32" dev lo 2>/dev/null
	for rs in "${RS_NAMES[@]}"; do ip -n "$(rs_ns "$rs")" route replace "$CL_V4/32" via "$LB_V4"; done
}
phase_nft_off() {
	in_ns "$NS_LB" nft delete table ip xlbbench 2>/dev/null
	for rs in "${RS_NAMES[@]}"; do ip -n "$(rs_ns "$rs")" route del "$CL_V4/32" 2>/dev/null; done
}
# Is the path up? One HTTP request and one DNS query through the VIP.
path_ok() {
	timeout 5 ip netns exec "$NS_CL" curl -sf --max-time 2 -o /dev/null "http://$VIP_V4/" &&
		timeout 5 ip netns exec "$NS_CL" dig +short +tries=2 +time=1 "@$VIP_V4" who.xlb.test TXT | grep -q rs
}

declare -A R
have_dnsperf=1
command -v dnsperf >/dev/null || have_dnsperf=0
for ((r = 0; r < ROUNDS; r++)); do
	for side in xlb nft; do
		if ! phase_${side}_on || ! wait_for 5 path_ok; then
			echo "# e2e_request: $side path not working, round $r" >&2
			phase_${side}_off; continue
		fi
		read -r rps p99 err < <(wrk_rps "http://$VIP_V4/")
		R[$side.http]+="$rps "
		R[$side.p99]+="$p99 "
		if [ $have_dnsperf = 1 ]; then
			read -r qps lost < <(dnsperf_qps "$VIP_V4")
			R[$side.dns]+="$qps "
		fi
		phase_${side}_off
	done
done

med() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bench_header "e2e_request (dr, ${BENCH_DUR}s x $ROUNDS rounds, median)"
xh=$(med <<<"${R[xlb.http]:-}") nh=$(med <<<"${R[nft.http]:-}")
rt=$(ratio "$xh" "$nh")
st="SHORT of target (request-bound: nginx, not the balancer, sets the rate)"
[ "$rt" != - ] && ge "$rt" 3 && st=ok
[ "$rt" = - ] && st="FAIL: no measurement"
bench_row "HTTP keep-alive req/s, xlb dr / nftables DNAT" "${rt}x ($xh / $nh req/s; p99 $(med <<<"${R[xlb.p99]:-}") / $(med <<<"${R[nft.p99]:-}") ms)" ">= 3x" "$st" \
	"\"ratio\":\"$rt\",\"xlb\":$xh,\"nft\":$nh"
if [ $have_dnsperf = 1 ]; then
	xd=$(med <<<"${R[xlb.dns]:-}") nd=$(med <<<"${R[nft.dns]:-}")
	rt=$(ratio "$xd" "$nd")
	st="SHORT of target (unbound on 3 servers sharing 2 cores sets the rate)"
	[ "$rt" != - ] && ge "$rt" 3 && st=ok
	[ "$rt" = - ] && st="FAIL: no measurement"
	bench_row "DNS UDP queries/s, xlb dr / nftables DNAT" "${rt}x ($xd / $nd q/s)" ">= 3x" "$st" \
		"\"ratio\":\"$rt\",\"xlb\":$xd,\"nft\":$nd"
else
	bench_row "DNS UDP queries/s, xlb dr / nftables DNAT" "SKIP" ">= 3x" "SKIP: dnsperf not installable"
fi
