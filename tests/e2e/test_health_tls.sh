#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End-to-end test of the https check, expect_body and the notify hook in the
# namespace lab of lib.sh: every real server runs a second nginx with a
# self-signed certificate on :8443. Service tls checks https://RS:8443/health
# for a status in "200,204" and the body "healthy": all three come up. Service body expects a text the
# page does not hold: all three go down, with the reason. The notify hook of
# tls writes every transition; stopping the TLS nginx of rs2 marks it down and
# the hook records "unknown up" for each backend, then "up down" for rs2.
# The metrics carry vip/port/protocol labels and the age of the last change.
# Service script runs a command per backend that passes (exit 0) only when a
# file named after the backend exists (rs1, rs3): rs2 is down with "exit 1";
# service slow's command outlives its timeout: down, killed.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

METRICS=127.0.0.1:9150

# tls_servers: the TLS nginx of every real server (one self-signed pair).
tls_servers() {
	local rs d
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$LAB_DIR/tls.key" -out "$LAB_DIR/tls.crt" -days 1 \
		-subj /CN=xlb-test >/dev/null 2>&1 || return 1
	for rs in "${RS_NAMES[@]}"; do
		d=$LAB_DIR/$rs-tls
		mkdir -p "$d"
		nginx_start "$(rs_ns "$rs")" "$d" 64 <<EOF
	access_log off;
	server {
		listen 8443 ssl;
		ssl_certificate $LAB_DIR/tls.crt;
		ssl_certificate_key $LAB_DIR/tls.key;
		location = /health { return 200 "$rs is healthy\n"; }
	}
EOF
	done
	for rs in "${RS_NAMES[@]}"; do
		wait_for 10 in_ns "$(rs_ns "$rs")" curl -skf --max-time 1 -o /dev/null \
			"https://127.0.0.1:8443/health" || return 1
	done
}

tls_config() {
	cat >"$1" <<EOF2
interfaces: [elb]
manage_addresses: true
metrics: { listen: "$METRICS" }
services:
  - name: tls
    vip: $VIP_V4
    port: 8443
    protocol: tcp
    mode: dr
    health_check: { type: https, path: /health, expect_status: "200,204",
                    expect_body: healthy, interval: 300ms,
                    timeout: 250ms, rise: 1, fall: 2 }
    notify: 'echo "\$XLB_SERVICE \$XLB_BACKEND \$XLB_OLD \$XLB_NEW" >> $LAB_DIR/notify.log'
    backends: [${RS_V4[0]}, ${RS_V4[1]}, ${RS_V4[2]}]
  - name: body
    vip: $VIP_V4
    port: 8444
    protocol: tcp
    mode: dr
    health_check: { type: https, port: 8443, path: /health, expect_body: no-such-text,
                    interval: 300ms, timeout: 250ms, rise: 1, fall: 1 }
    backends: [${RS_V4[0]}, ${RS_V4[1]}, ${RS_V4[2]}]
  - name: script
    vip: $VIP_V4
    port: 8445
    protocol: tcp
    mode: dr
    health_check: { type: script, command: 'test -e "$LAB_DIR/ok-\$XLB_BACKEND-\$XLB_PORT"',
                    interval: 300ms, timeout: 250ms, rise: 1, fall: 1 }
    backends: [${RS_V4[0]}, ${RS_V4[1]}, ${RS_V4[2]}]
  - name: slow
    vip: $VIP_V4
    port: 8446
    protocol: tcp
    mode: dr
    health_check: { type: script, command: 'sleep 5; true', interval: 300ms, timeout: 200ms,
                    rise: 1, fall: 1 }
    backends: [${RS_V4[0]}]
EOF2
}

# all_health SERVICE STATE: every backend of SERVICE shows STATE.
all_health() {
	local i
	for i in "${!RS_V4[@]}"; do
		[ "$(health_of "$1" "${RS_V4[$i]}")" = "$2" ] || return 1
	done
}

# first_results SERVICE: the notify log has "SERVICE RS unknown up" for all.
first_results() {
	local i
	for i in "${!RS_V4[@]}"; do
		grep -q "^$1 ${RS_V4[$i]} unknown up$" "$LAB_DIR/notify.log" || return 1
	done
}

# both_up SERVICE: rs1 and rs3 up, rs2 down.
both_up() {
	[ "$(health_of "$1" "${RS_V4[0]}")" = up ] && [ "$(health_of "$1" "${RS_V4[2]}")" = up ] &&
		[ "$(health_of "$1" "${RS_V4[1]}")" = down ]
}

# reason_has SERVICE ADDR TEXT: the backend is down and its reason has TEXT.
reason_has() {
	[ "$(health_of "$1" "$2")" = down ] && reason_of "$1" "$2" | grep -qF "$3"
}

# down_within SECONDS SERVICE ADDR: the backend shows down in time.
down_within() { wait_health "$1" "$2" "$3" down >/dev/null; }

# one_line TEXT: the notify log holds the line TEXT exactly once.
one_line() { [ "$(grep -c "^$1$" "$LAB_DIR/notify.log")" = 1 ]; }

main() {
	local out svc="tcp/$VIP_V4:8443" body="tcp/$VIP_V4:8444" i
	if ! lab_require; then skip "e2e-health-tls" "$LAB_SKIP_WHY"; summary; return; fi
	if ! command -v openssl >/dev/null; then
		skip "e2e-health-tls" "missing openssl (run tools/deps.sh)"; summary; return
	fi
	lab_start health-tls || { summary; return; }
	if ! have_xlb; then skip "health-tls: xlb" "xlb not built"; summary; return; fi
	if ! tls_servers 2>"$LAB_DIR/tls.err"; then
		fail "health-tls: TLS nginx on the real servers" "$(cat "$LAB_DIR/tls.err")"
		summary
		return
	fi
	touch "$LAB_DIR/ok-${RS_V4[0]}-8445" "$LAB_DIR/ok-${RS_V4[2]}-8445"
	tls_config "$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "health-tls: xlbd starts" "$(cat "$LAB_DIR/start.err")"
		summary
		return
	fi
	check "https check: all three backends up (self-signed certificate)" \
		"$(xlb_cli list 2>&1 | grep -A3 8443)" wait_for 10 all_health "$svc" up
	check "expect_body: a body without the text marks all three down" \
		"$(xlb_cli list 2>&1 | grep -A3 8444)" wait_for 10 all_health "$body" down
	out=$(reason_of "$body" "${RS_V4[0]}")
	check "expect_body: the reason names the text ($out)" "reason: $out" \
		grep -q "without 'no-such-text'" <<<"$out"

	check "script: backends whose command exits 0 are up" "$(xlb_cli list 2>&1 | grep -A3 8445)" \
		wait_for 10 both_up "tcp/$VIP_V4:8445"
	check "script: exit 1 marks rs2 down, with the exit status" \
		"reason: $(reason_of "tcp/$VIP_V4:8445" "${RS_V4[1]}")" \
		wait_for 10 reason_has "tcp/$VIP_V4:8445" "${RS_V4[1]}" "exit 1"
	check "script: a command still running at the timeout is killed: down" \
		"reason: $(reason_of "tcp/$VIP_V4:8446" "${RS_V4[0]}")" \
		wait_for 10 reason_has "tcp/$VIP_V4:8446" "${RS_V4[0]}" "still running after 200 ms"

	in_ns "$(rs_ns rs2)" kill "$(cat "$LAB_DIR/rs2-tls/nginx.pid")"
	check "https check: rs2 down once its TLS server stops" \
		"health: $(health_of "$svc" "${RS_V4[1]}")" \
		down_within 10 "$svc" "${RS_V4[1]}"
	check "notify: each backend's first result, 'unknown up'" \
		"$(cat "$LAB_DIR/notify.log" 2>&1)" first_results "$svc"
	check "notify: rs2's transition, 'up down', exactly once" \
		"$(cat "$LAB_DIR/notify.log" 2>&1)" wait_for 5 one_line "$svc ${RS_V4[1]} up down"

	out=$(in_ns "$NS_LB" curl -sf --max-time 2 "http://$METRICS/metrics")
	check "metrics: xlb_backend_up of rs2 is 0, with vip/port/protocol labels" \
		"$(grep '^xlb_backend_up' <<<"$out")" grep -q \
		"^xlb_backend_up{service=\"$svc\",vip=\"$VIP_V4\",port=\"8443\",protocol=\"tcp\",backend=\"${RS_V4[1]}\"} 0$" \
		<<<"$out"
	check "metrics: seconds since rs2's health changed" \
		"$(grep '^xlb_backend_health_change_age' <<<"$out")" grep -Eq \
		"^xlb_backend_health_change_age_seconds\{service=\"$svc\",.*backend=\"${RS_V4[1]}\"\} [0-9]+\.[0-9]{3}$" \
		<<<"$out"
	check "health-tls: xlbd stops cleanly" "$(tail -n 5 "$LAB_DIR/xlbd.log")" xlbd_stop
	summary
}

main
