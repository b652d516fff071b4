#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End-to-end test of fullnat mode in the namespace lab of lib.sh (one-armed:
# the balancer's own address 198.18.0.2 is the LIP). The real servers get a
# "prohibit" route to the client, so they have no way to reach it: every
# answer must come back through the balancer. 300 HTTP connections (curl to
# nginx) and 300 DNS/UDP queries (dig to unbound) must all succeed, and
# nginx must see the LIP, never the client. Then 1000 TCP connections, all
# open at the same time through the one LIP, must all succeed, and once they
# closed and their (short, configured) timeouts passed no local port may
# stay allocated (nat_rev empty). Over IPv6 (LIP 2001:db8::2, VIP
# 2001:db8::100): 300 HTTP connections (curl -6) and 300 DNS queries, the
# backends seeing the v6 LIP and having no route to the v6 client. 100 MB
# through VIP:8080 -> rs1:8081 arrive intact (sha256). Per-service timeouts:
# the ports of service tw (VIP:81, tcp_time_wait 1s of its own) come back
# within seconds of the close, while those of service keep (VIP:82, 600 s
# closing timeouts of its own, over the top level's 2 s) stay held.
#
#   cl 198.18.0.1 --- br0 --- lb 198.18.0.2, 2001:db8::2 (XDP, LIPs)
#      2001:db8::1     |
#                      +----- rs1..rs3 198.18.0.11-13, 2001:db8::11-13
#                             (no route to .1 nor to 2001:db8::1)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FULLNAT_BIG_MB=100
SVC_CONNS=20

fullnat_config() {
	cat >"$1" <<EOF2
interfaces: [elb]
manage_addresses: true
local_addresses: [$LB_V4, $LB_V6]
# Short closing timeouts, so ports come back within seconds.
timeouts: { tcp_syn: 2s, tcp_fin: 2s, tcp_close: 2s, tcp_time_wait: 2s, udp: 3s }
services:
  - name: http
    vip: $VIP_V4
    port: 80
    protocol: tcp
    mode: fullnat
    backends:
      - { address: ${RS_V4[0]}, weight: 100 }
      - { address: ${RS_V4[1]}, weight: 100 }
      - { address: ${RS_V4[2]}, weight: 200 }
  - name: dns
    vip: $VIP_V4
    port: 53
    protocol: udp
    mode: fullnat
    backends:
      - { address: ${RS_V4[0]}, weight: 100 }
      - { address: ${RS_V4[1]}, weight: 100 }
      - { address: ${RS_V4[2]}, weight: 200 }
  - name: http6
    vip: $VIP_V6
    port: 80
    protocol: tcp
    mode: fullnat
    backends:
      - { address: ${RS_V6[0]}, weight: 100 }
      - { address: ${RS_V6[1]}, weight: 100 }
      - { address: ${RS_V6[2]}, weight: 200 }
  - name: dns6
    vip: $VIP_V6
    port: 53
    protocol: udp
    mode: fullnat
    backends:
      - { address: ${RS_V6[0]}, weight: 100 }
      - { address: ${RS_V6[1]}, weight: 100 }
      - { address: ${RS_V6[2]}, weight: 200 }
  - name: big
    vip: $VIP_V4
    port: 8080
    protocol: tcp
    mode: fullnat
    backends:
      - { address: ${RS_V4[0]}, port: 8081, weight: 100 }
  - name: tw
    vip: $VIP_V4
    port: 81
    protocol: tcp
    mode: fullnat
    timeouts: { tcp_time_wait: 1s }
    backends:
      - { address: ${RS_V4[0]}, port: 80, weight: 100 }
      - { address: ${RS_V4[1]}, port: 80, weight: 100 }
  - name: keep
    vip: $VIP_V4
    port: 82
    protocol: tcp
    mode: fullnat
    timeouts: { tcp_fin: 600s, tcp_close: 600s, tcp_time_wait: 600s }
    backends:
      - { address: ${RS_V4[0]}, port: 80, weight: 100 }
      - { address: ${RS_V4[1]}, port: 80, weight: 100 }
EOF2
}

# wait_ports_free SECONDS [LEFT]: until nat_rev holds at most LEFT (default
# 0) entries; echoes the last count.
wait_ports_free() {
	local deadline=$((SECONDS + $1)) left=${2:-0} c
	while c=$(nat_rev_count) && [ "${c:-999999}" -gt "$left" ] &&
		[ $SECONDS -lt $deadline ]; do
		sleep 0.5
	done
	echo "${c:-?}"
}

# svc_conns SERVICE: active + inactive connections of one service in
# `xlb list` (what the sweeper counted).
svc_conns() {
	xlb_json | jq_xlb '[svc($s) | (.backends // [])[] |
		((.active_conns // 0) + (.inactive_conns // 0))] | add // 0' --arg s "$1"
}

# fullnat_big: 100 MB through the big service, checksum compared.
fullnat_big() {
	local want got
	want=$(sha256sum <"$LAB_DIR/rs1big/www/big" | cut -d' ' -f1)
	timeout 120 ip netns exec "$NS_CL" curl -s --max-time 100 -o "$LAB_DIR/got.big" \
		"http://$VIP_V4:8080/big"
	got=$(sha256sum <"$LAB_DIR/got.big" 2>/dev/null | cut -d' ' -f1)
	check "fullnat: $FULLNAT_BIG_MB MB through $VIP_V4:8080 -> rs1:8081 intact" \
		"sha256 $got, expected $want ($(stat -c %s "$LAB_DIR/got.big" 2>/dev/null) bytes)" \
		[ "$got" = "$want" ]
	rm -f "$LAB_DIR/got.big"
}

# fullnat_svc_timeouts: SVC_CONNS connections to each of tw and keep; once
# they closed, tw's ports come back within seconds (its own 1 s TIME_WAIT),
# keep's stay held past the top level's 2 s (its own 600 s).
fullnat_svc_timeouts() {
	local n1 n2 c t0 k tw
	c=$(wait_ports_free 30)
	[ "$c" = 0 ] || { fail "fullnat: per-service timeouts" "nat_rev still holds $c entries"; return; }
	n1=$(http_burst "$SVC_CONNS" "http://$VIP_V4:81/" | grep -c '^rs')
	n2=$(http_burst "$SVC_CONNS" "http://$VIP_V4:82/" | grep -c '^rs')
	check "fullnat: $SVC_CONNS connections each to tw (:81) and keep (:82)" \
		"tw $n1, keep $n2 succeeded" [ "$n1" = "$SVC_CONNS" -a "$n2" = "$SVC_CONNS" ]
	t0=$SECONDS
	c=$(wait_ports_free 15 "$SVC_CONNS")
	check "fullnat: tw (tcp_time_wait: 1s) frees its ports within seconds ($((SECONDS - t0)) s)" \
		"nat_rev still holds $c entries after 15 s (keep holds $SVC_CONNS)" \
		[ "$c" = "$SVC_CONNS" ]
	sleep 5         # past the top level's 2 s and two sweeps
	c=$(nat_rev_count)
	k=$(svc_conns "tcp/$VIP_V4:82")
	tw=$(svc_conns "tcp/$VIP_V4:81")
	check "fullnat: keep (600 s of its own) still holds its $SVC_CONNS ports" \
		"nat_rev $c, keep $k connections, tw $tw in xlb list" \
		[ "$c" = "$SVC_CONNS" -a "$k" = "$SVC_CONNS" -a "$tw" = 0 ]
}

main() {
	local out n i ns tal peak max c
	if ! lab_require; then skip "e2e-fullnat" "$LAB_SKIP_WHY"; summary; return; fi
	if ! have_xlb; then skip "fullnat: xlb" "$XLBD_BIN or $XLB_BIN not built (make)"; summary; return; fi
	lab_start fullnat || { summary; return; }
	if ! e2e_big_server "$FULLNAT_BIG_MB" 2>"$LAB_DIR/up.err"; then
		fail "fullnat: 100 MB server" "$(cat "$LAB_DIR/up.err")"; summary; return
	fi
	for i in "${!RS_NAMES[@]}"; do
		ns=$(rs_ns "${RS_NAMES[$i]}")
		ip -n "$ns" route add prohibit "$CL_V4/32"
		ip -n "$ns" -6 route add prohibit "$CL_V6/128"
	done
	out=$(in_ns "$(rs_ns rs1)" ping -c1 -W1 "$CL_V4" 2>&1) &&
		{ fail "fullnat: real servers have no route to the client" "$out"; summary; return; }
	out=$(in_ns "$(rs_ns rs1)" ping -6 -c1 -W1 "$CL_V6" 2>&1) &&
		{ fail "fullnat: real servers have no route to the client" "$out"; summary; return; }
	for i in "$CL_V6" "${RS_V6[@]}"; do
		in_ns "$NS_LB" ping -6 -c1 -W1 "$i" >/dev/null 2>&1 || true
	done
	pass "fullnat: real servers have no route to the client"

	fullnat_config "$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "fullnat: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	pass "fullnat: xlbd starts"

	e2e_http_checks fullnat "http://$VIP_V4/" "$LB_V4" "the LIP, not the client"
	e2e_dns_checks fullnat "$VIP_V4"
	e2e_http_checks "fullnat v6" "http://[$VIP_V6]/" "$LB_V6" "the v6 LIP, not the client" -6
	e2e_dns_checks "fullnat v6" "$VIP_V6"

	c=$(wait_ports_free 30)
	check "fullnat: ports of the HTTP and DNS flows come back" \
		"nat_rev still holds $c entries after 30 s" [ "$c" = 0 ]

	# 1000 at once through one LIP, held open 3 s while nat_rev is sampled.
	tcp_hold_burst 1000 "$VIP_V4" 80 3 >"$LAB_DIR/hold.out" 2>"$LAB_DIR/hold.err" &
	local hold_pid=$!
	max=0
	for ((i = 0; i < 40; i++)); do
		kill -0 "$hold_pid" 2>/dev/null || break
		c=$(nat_rev_count) || c=0
		[ "${c:-0}" -gt "$max" ] && max=$c
		sleep 0.25
	done
	wait "$hold_pid"
	n=$(grep -c '^rs' "$LAB_DIR/hold.out")
	peak=$(sed -n 's/^# peak //p' "$LAB_DIR/hold.err")
	check "fullnat: 1000 concurrent TCP connections through one LIP" \
		"$n of 1000 succeeded, ${peak:-?} open at once ($(grep -v '^#' "$LAB_DIR/hold.err" | tail -n 2 | tr '\n' ' '))" \
		[ "$n" = 1000 -a "${peak:-0}" = 1000 ]
	check "fullnat: nat_rev holds a port per open connection ($max seen)" \
		"at most $max entries seen while 1000 were open" [ "$max" -ge 1000 ]

	# Closed and timed out (2 s, swept every 2 s): every port is back.
	c=$(wait_ports_free 30)
	check "fullnat: no local port stays allocated after close and timeout" \
		"nat_rev still holds $c entries after 30 s" [ "$c" = 0 ]
	n=$(json_conns "$(xlb_json)")
	check "fullnat: no connection left in xlb list" "active + inactive = $n" [ "$n" = 0 ]

	n=$(json_reason "$(xlb_json)" drop_no_local_port)
	check "fullnat: no local-port exhaustion" "drop_no_local_port = $n" [ "$n" = 0 ]

	fullnat_big
	fullnat_svc_timeouts
	e2e_odd_packets fullnat "$VIP_V4" 0.0.0.0 "${RS_V4[@]}"
	e2e_odd_packets fullnat "$VIP_V6" :: "${RS_V6[@]}"

	if xlbd_stop; then pass "fullnat: xlbd stops cleanly"
	else fail "fullnat: xlbd stops cleanly" "see $LAB_DIR/xlbd.log"; fi
	summary
}

main "$@"
