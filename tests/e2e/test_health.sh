#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End-to-end test of health checks in the namespace lab of lib.sh (mode dr):
# an http check on the HTTP service and a dns check on the DNS service, both
# every 500 ms with rise 2 / fall 2. Stopping nginx on rs2 must mark it down
# within fall x interval + timeout (plus slack), with a reason, and no new
# request may reach it (none fails either); starting it again brings it
# back. The same for unbound on rs3 and the dns check. `xlb save` keeps the
# check and the configured weights.
#
#   cl 198.18.0.1 --- br0 --- lb 198.18.0.2 (XDP, checks from here)
#                      |
#                      +----- rs1..rs3 198.18.0.11-13 (nginx :80, unbound :53)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

INTERVAL_MS=500
TIMEOUT_MS=300
RISE=2
FALL=2

health_config() {
	cat >"$1" <<EOF2
interfaces: [elb]
manage_addresses: true
services:
  - name: http
    vip: $VIP_V4
    port: 80
    protocol: tcp
    mode: dr
    health_check: { type: http, path: /, expect_status: 200-299, interval: ${INTERVAL_MS}ms,
                    timeout: ${TIMEOUT_MS}ms, rise: $RISE, fall: $FALL }
    backends:
      - { address: ${RS_V4[0]}, weight: 100 }
      - { address: ${RS_V4[1]}, weight: 100 }
      - { address: ${RS_V4[2]}, weight: 100 }
  - name: dns
    vip: $VIP_V4
    port: 53
    protocol: udp
    mode: dr
    health_check: { type: dns, query: who.xlb.test, query_type: TXT, interval: ${INTERVAL_MS}ms,
                    timeout: ${TIMEOUT_MS}ms, rise: $RISE, fall: $FALL }
    backends:
      - { address: ${RS_V4[0]}, weight: 100 }
      - { address: ${RS_V4[1]}, weight: 100 }
      - { address: ${RS_V4[2]}, weight: 100 }
EOF2
}

main() {
	local out n rs ms json limit svc_http="tcp/$VIP_V4:80" svc_dns="udp/$VIP_V4:53"
	if ! lab_require; then skip "e2e-health" "$LAB_SKIP_WHY"; summary; return; fi
	if ! have_xlb; then skip "health: xlb" "$XLBD_BIN or $XLB_BIN not built (make)"; summary; return; fi
	lab_start health || { summary; return; }
	for rs in "${RS_NAMES[@]}"; do
		out=$(xlb_rs "$rs" realserver setup --mode dr --vip "$VIP_V4" 2>&1) ||
			{ fail "health: realserver setup on $rs" "$out"; summary; return; }
	done
	health_config "$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "health: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	pass "health: xlbd starts"

	# Every backend passes its first check.
	local all_up=1
	for rs in "${RS_V4[@]}"; do
		wait_health 5 "$svc_http" "$rs" up >/dev/null || all_up=0
		wait_health 5 "$svc_dns" "$rs" up >/dev/null || all_up=0
	done
	check "health: every backend up (http and dns checks)" \
		"$(xlb_cli list 2>&1 | tr '\n' '|')" [ $all_up = 1 ]

	# nginx on rs2 stops: down within fall x interval + timeout (+ 1 s slack
	# for the first failure to be scheduled and the CLI poll).
	limit=$(((FALL * INTERVAL_MS + TIMEOUT_MS + 1000) / 1000 + 1))
	stop_pidfile "$LAB_DIR/rs2/nginx.pid" || { fail "health: stop nginx on rs2" "still running"; summary; return; }
	if ms=$(wait_health "$limit" "$svc_http" "${RS_V4[1]}" down); then
		pass "health: rs2 marked down ${ms} ms after nginx stopped"
	else
		fail "health: rs2 marked down after nginx stopped" "not within ${limit}s: $(xlb_cli list 2>&1 | tr '\n' '|')"
	fi
	json=$(xlb_json)
	out=$(echo "$json" | jq_xlb '[be($s; $a) | .health_reason] | first // ""' --arg s "$svc_http" --arg a "${RS_V4[1]}")
	check "health: down reason names the failure ($out)" "reason '$out'" \
		grep -qi "http check failed" <<<"$out"
	check "health: transition logged by xlbd" "$(tail -n 5 "$LAB_DIR/xlbd.log")" \
		grep -q "backend ${RS_V4[1]}:\?[0-9]* is down" "$LAB_DIR/xlbd.log"
	check "health: dns service unaffected (rs2 dns up)" "$(health_of "$svc_dns" "${RS_V4[1]}")" \
		[ "$(health_of "$svc_dns" "${RS_V4[1]}")" = up ]
	out=$(http_burst 150 "http://$VIP_V4/")
	n=$(grep -c '^rs' <<<"$out")
	check "health: 150 HTTP requests succeed with rs2 down" "$n of 150" [ "$n" = 150 ]
	n=$(grep -c '^rs2 ' <<<"$out")
	check "health: no request reaches rs2 while down" "$n reached rs2" [ "$n" = 0 ]
	out=$(xlb_cli save 2>&1)
	check "health: save keeps the check and the configured weight" "$out" \
		bash -c 'grep -q "type: http" <<<"$1" && grep -q "${2}, weight: 100" <<<"$1"' _ "$out" "${RS_V4[1]}"

	# nginx back: up after rise x interval.
	rs_start_nginx rs2
	limit=$(((RISE * INTERVAL_MS + TIMEOUT_MS + 1000) / 1000 + 2))
	if ms=$(wait_health "$limit" "$svc_http" "${RS_V4[1]}" up); then
		pass "health: rs2 back up ${ms} ms after nginx restarted"
	else
		fail "health: rs2 back up after nginx restarted" "not within ${limit}s: $(xlb_cli list 2>&1 | tr '\n' '|')"
	fi
	out=$(http_burst 150 "http://$VIP_V4/")
	n=$(grep -c '^rs2 ' <<<"$out")
	check "health: rs2 gets new requests again" "$n of 150 reached rs2" [ "$n" -gt 0 ]

	# unbound on rs3 stops: the dns check marks it down, queries avoid it.
	limit=$(((FALL * INTERVAL_MS + TIMEOUT_MS + 1000) / 1000 + 1))
	stop_pidfile "$LAB_DIR/rs3/unbound.pid" || { fail "health: stop unbound on rs3" "still running"; summary; return; }
	if ms=$(wait_health "$limit" "$svc_dns" "${RS_V4[2]}" down); then
		pass "health: rs3 dns marked down ${ms} ms after unbound stopped"
	else
		fail "health: rs3 dns marked down after unbound stopped" "not within ${limit}s: $(xlb_cli list 2>&1 | tr '\n' '|')"
	fi
	out=$(dns_burst 100 "$VIP_V4")
	n=$(grep -c '^rs' <<<"$out")
	check "health: 100 DNS queries answered with rs3 down" "$n of 100" [ "$n" = 100 ]
	n=$(grep -c '^rs3$' <<<"$out")
	check "health: no query reaches rs3 while down" "$n reached rs3" [ "$n" = 0 ]
	rs_start_unbound rs3
	limit=$(((RISE * INTERVAL_MS + TIMEOUT_MS + 1000) / 1000 + 3))
	if ms=$(wait_health "$limit" "$svc_dns" "${RS_V4[2]}" up); then
		pass "health: rs3 dns back up ${ms} ms after unbound restarted"
	else
		fail "health: rs3 dns back up after unbound restarted" "not within ${limit}s"
	fi

	if xlbd_stop; then pass "health: xlbd stops cleanly"
	else fail "health: xlbd stops cleanly" "$(tail -n 5 "$LAB_DIR/xlbd.log")"; fi
	summary
}

main
