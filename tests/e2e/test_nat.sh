#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End-to-end test of nat mode, two-armed: the client and the real servers
# are on different bridges, and the real servers' default route is the
# balancer's server-side address, so every reply passes through it. 300 HTTP
# connections (curl to nginx) and 300 DNS/UDP queries (dig to unbound) must
# all succeed and spread by weight, nginx must see the client's own address,
# and 100 MB through a port-mapped service (VIP:8080 -> rs1:8081) must
# arrive intact (sha256). On a second VIP, wrr must split 300 connections
# 1:1:2 almost exactly (each CPU walks the sequence), sh must send every
# query of one client to one backend, and lc must serve 300 connections on
# every backend. The same over IPv6 (curl -6, dig over v6): 300 HTTP
# connections and 300 DNS queries, backends seeing the client's v6 address.
#
#   cl 198.18.0.1     --- br0 --- elb 198.18.0.2    lb (XDP on elb, elb2)
#      2001:db8::1                    2001:db8::2
#                                 elb2 198.18.1.1     --- br1 --- rs1..rs3 198.18.1.11-13
#                                      2001:db8:1::1              2001:db8:1::11-13
#                                                          (default via 198.18.1.1 and
#                                                           2001:db8:1::1)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RS_V4=(198.18.1.11 198.18.1.12 198.18.1.13)
RS_V6=(2001:db8:1::11 2001:db8:1::12 2001:db8:1::13)
NAT_BIG_MB=100

nat_config() {
	cat >"$1" <<EOF2
interfaces: [elb, elb2]
manage_addresses: true
services:
  - name: http
    vip: $VIP_V4
    port: 80
    protocol: tcp
    mode: nat
    backends:
      - { address: ${RS_V4[0]}, weight: 100 }
      - { address: ${RS_V4[1]}, weight: 100 }
      - { address: ${RS_V4[2]}, weight: 200 }
  - name: dns
    vip: $VIP_V4
    port: 53
    protocol: udp
    mode: nat
    backends:
      - { address: ${RS_V4[0]}, weight: 100 }
      - { address: ${RS_V4[1]}, weight: 100 }
      - { address: ${RS_V4[2]}, weight: 200 }
  - name: big
    vip: $VIP_V4
    port: 8080
    protocol: tcp
    mode: nat
    backends:
      - { address: ${RS_V4[0]}, port: 8081, weight: 100 }
  - name: http-wrr
    vip: $VIP2_V4
    port: 80
    protocol: tcp
    mode: nat
    scheduler: wrr
    backends:
      - { address: ${RS_V4[0]}, weight: 1 }
      - { address: ${RS_V4[1]}, weight: 1 }
      - { address: ${RS_V4[2]}, weight: 2 }
  - name: dns-sh
    vip: $VIP2_V4
    port: 53
    protocol: udp
    mode: nat
    scheduler: sh
    backends:
      - { address: ${RS_V4[0]}, weight: 100 }
      - { address: ${RS_V4[1]}, weight: 100 }
      - { address: ${RS_V4[2]}, weight: 200 }
  - name: http-lc
    vip: $VIP2_V4
    port: 81
    protocol: tcp
    mode: nat
    scheduler: lc
    backends:
      - { address: ${RS_V4[0]}, port: 80 }
      - { address: ${RS_V4[1]}, port: 80 }
      - { address: ${RS_V4[2]}, port: 80 }
  - name: http6
    vip: $VIP_V6
    port: 80
    protocol: tcp
    mode: nat
    backends:
      - { address: ${RS_V6[0]}, weight: 100 }
      - { address: ${RS_V6[1]}, weight: 100 }
      - { address: ${RS_V6[2]}, weight: 200 }
  - name: dns6
    vip: $VIP_V6
    port: 53
    protocol: udp
    mode: nat
    backends:
      - { address: ${RS_V6[0]}, weight: 100 }
      - { address: ${RS_V6[1]}, weight: 100 }
      - { address: ${RS_V6[2]}, weight: 200 }
  - name: dns6-tcp
    vip: $VIP_V6
    port: 53
    protocol: tcp
    mode: nat
    backends: [${RS_V6[0]}, ${RS_V6[1]}, ${RS_V6[2]}]
EOF2
}

main() {
	local out n tal want got
	if ! lab_require; then skip "e2e-nat" "$LAB_SKIP_WHY"; summary; return; fi
	if ! have_xlb; then skip "nat: xlb" "$XLBD_BIN or $XLB_BIN not built (make)"; summary; return; fi
	lab_start nat lab_two_arm_up || { summary; return; }
	if ! e2e_big_server "$NAT_BIG_MB" 2>"$LAB_DIR/up.err"; then
		fail "nat: 100 MB server" "$(cat "$LAB_DIR/up.err")"; summary; return
	fi
	# Without xlb the balancer is a plain router: prove the client cannot
	# reach the VIP any other way (nothing answers it yet).
	out=$(timeout 5 ip netns exec "$NS_CL" curl -s --max-time 1 "http://$VIP_V4/" 2>&1) &&
		{ fail "nat: nothing answers the VIP before xlbd" "$out"; summary; return; }
	pass "nat: nothing answers the VIP before xlbd"

	nat_config "$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "nat: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	pass "nat: xlbd starts (two-armed, elb and elb2)"

	e2e_http_checks nat "http://$VIP_V4/" "$CL_V4" "the client's own address"
	e2e_dns_checks nat "$VIP_V4"

	want=$(sha256sum <"$LAB_DIR/rs1big/www/big" | cut -d' ' -f1)
	timeout 120 ip netns exec "$NS_CL" curl -s --max-time 100 -o "$LAB_DIR/got.big" \
		"http://$VIP_V4:8080/big"
	got=$(sha256sum <"$LAB_DIR/got.big" 2>/dev/null | cut -d' ' -f1)
	check "nat: $NAT_BIG_MB MB through $VIP_V4:8080 -> rs1:8081 intact" \
		"sha256 $got, expected $want ($(stat -c %s "$LAB_DIR/got.big" 2>/dev/null) bytes)" \
		[ "$got" = "$want" ]
	rm -f "$LAB_DIR/got.big"

	out=$(http_burst 300 "http://$VIP2_V4/")
	n=$(grep -c '^rs' <<<"$out")
	tal=$(tally <<<"$out")
	# Per-CPU positions: each CPU may stop mid-sequence (at most 3 off
	# per CPU and backend).
	check "nat wrr: 300 connections split 75:75:150 ($(echo $tal))" \
		"$n of 300 succeeded" awk -v n="$n" \
		'{ want = ($1 == "rs3") ? 150 : 75; d = $2 - want; if (d < 0) d = -d;
		   if (d > 3 * 2) bad = 1 } END { exit bad || n != 300 }' <<<"$tal"
	out=$(dns_burst 100 "$VIP2_V4")
	n=$(grep -c '^rs' <<<"$out")
	tal=$(tally <<<"$out" | awk '$2 > 0' | tr '\n' ' ')
	check "nat sh: 100 queries of one client on one backend ($tal)" \
		"$n of 100 answered" [ "$n" = 100 -a "$(wc -w <<<"$tal")" = 2 ]

	# lc: a connection goes to the backend with the fewest; with curl's 10
	# in parallel every backend serves some.
	out=$(http_burst 300 "http://$VIP2_V4:81/")
	n=$(grep -c '^rs' <<<"$out")
	tal=$(tally <<<"$out")
	check "nat lc: 300 connections, every backend serves some ($(echo $tal))" \
		"$n of 300 succeeded" awk -v n="$n" '$2 == 0 { bad = 1 } END { exit bad || n != 300 }' \
		<<<"$tal"

	# IPv6: the same service shapes on the v6 VIP.
	e2e_http_checks "nat v6" "http://[$VIP_V6]/" "$CL_V6" "the client's own v6 address" -6
	e2e_dns_checks "nat v6" "$VIP_V6"
	out=$(dns_burst 20 "$VIP_V6" tcp)
	n=$(grep -c '^rs' <<<"$out")
	check "nat v6: 20 DNS/TCP queries over v6 to $VIP_V6" "$n of 20 answered" [ "$n" = 20 ]

	n=$(json_reason "$(xlb_json)" pass_nat_stale)
	check "nat: no reply without its translation" "pass_nat_stale = $n" [ "$n" = 0 ]

	# IPv4 options and IPv6 destination options, and fragments both ways
	# (the backends' answers too).
	e2e_odd_packets nat "$VIP_V4" 0.0.0.0 "${RS_V4[@]}"
	e2e_odd_packets nat "$VIP_V6" :: "${RS_V6[@]}"

	if xlbd_stop; then pass "nat: xlbd stops cleanly"
	else fail "nat: xlbd stops cleanly" "see $LAB_DIR/xlbd.log"; fi
	summary
}

main "$@"
