#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Health checks end to end, the cases test_health.sh leaves out (mode dr, in
# the namespace lab of lib.sh; checks every 500 ms, timeout 300 ms, rise 2,
# fall 2):
#
#   - an `http` check fails on a 500 while a `tcp` check of the same server
#     still passes (a second nginx per real server on :8080/:8081 whose
#     /health answers 500 while the file "sick" exists);
#   - `on_backend_down: reset` moves an existing connection off a backend
#     that went down (in dr the new backend answers it with a RST), `keep`
#     leaves it where it is;
#   - `all_down: keep_last` keeps serving when every check fails, `drop`
#     does not;
#   - a `dns` check fails on SERVFAIL (a second unbound per real server on
#     :5300 whose hc.xlb.test is forwarded to an address unbound refuses to
#     query, which answers SERVFAIL at once);
#   - a `udp` check (payload "ping", expect "pong") fails when the server
#     stops, and queries avoid the backend;
#   - after fall x interval + timeout from a server stop, no request fails.
#
#   cl 198.18.0.1 --- br0 --- lb 198.18.0.2 (XDP, checks from here)
#                      |
#                      +----- rs1..rs3 198.18.0.11-13: nginx :80 (lab),
#                             nginx :8080/:8081 (/health), unbound :53 (lab)
#                             and :5300 (hc.xlb.test), udp echo :7777;
#                             VIPs .100 and .101 on lo
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

INTERVAL_MS=500
TIMEOUT_MS=300
RISE=2
FALL=2
HC="interval: ${INTERVAL_MS}ms, timeout: ${TIMEOUT_MS}ms, rise: $RISE, fall: $FALL"

h2_config() {
	local be
	be=$(for a in "${RS_V4[@]}"; do echo "      - { address: $a, weight: 100 }"; done)
	cat >"$1" <<EOF2
interfaces: [elb]
manage_addresses: true
services:
  - name: web-http
    vip: $VIP_V4
    port: 8080
    protocol: tcp
    mode: dr
    on_backend_down: reset
    health_check: { type: http, path: /health, expect_status: 200-299, $HC }
    backends:
$be
  - name: web-tcp
    vip: $VIP2_V4
    port: 8080
    protocol: tcp
    mode: dr
    health_check: { type: tcp, $HC }
    backends:
$be
  - name: web-keep
    vip: $VIP_V4
    port: 8081
    protocol: tcp
    mode: dr
    on_backend_down: keep
    all_down: keep_last
    health_check: { type: http, path: /health, $HC }
    backends:
$be
  - name: dns
    vip: $VIP_V4
    port: 53
    protocol: udp
    mode: dr
    health_check: { type: dns, port: 5300, query: hc.xlb.test, query_type: TXT, $HC }
    backends:
$be
  - name: echo
    vip: $VIP_V4
    port: 7777
    protocol: udp
    mode: dr
    health_check: { type: udp, payload: ping, expect: pong, $HC }
    backends:
$be
EOF2
}

# h2_nginx RS: nginx on :8080 and :8081; / names the server, /health is 200
# unless $LAB_DIR/RS/sick exists, then 500.
h2_nginx() {
	local rs=$1 d=$LAB_DIR/$1/n2
	nginx_start "$(rs_ns "$rs")" "$d" 256 <<EOF
	access_log off;
	default_type text/plain;
	keepalive_requests 1000;
	server {
		listen 8080;
		listen 8081;
		location = / { return 200 "$rs \$remote_addr \$remote_port\n"; }
		location = /health {
			if (-f $LAB_DIR/$rs/sick) { return 500 "sick\n"; }
			return 200 "ok\n";
		}
	}
EOF
	wait_for 10 in_ns "$(rs_ns "$rs")" curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:8080/health"
}

# h2_unbound_conf RS good|servfail: unbound on :5300. good answers
# hc.xlb.test TXT RS; servfail forwards hc.xlb.test to 127.0.0.1, which
# do-not-query-localhost forbids: SERVFAIL at once.
h2_unbound_conf() {
	local rs=$1 d=$LAB_DIR/$1/u2
	mkdir -p "$d"
	cat >"$d/unbound.conf" <<EOF
server:
	verbosity: 0
	interface: 0.0.0.0
	interface-automatic: yes
	port: 5300
	do-daemonize: no
	chroot: ""
	username: ""
	directory: "$d"
	pidfile: "$d/unbound.pid"
	use-syslog: no
	logfile: ""
	num-threads: 1
	so-reuseport: no
	outgoing-range: 64
	access-control: 127.0.0.0/8 allow
	access-control: 198.18.0.0/15 allow
	module-config: "iterator"
	do-not-query-localhost: yes
EOF
	if [ "$2" = good ]; then
		printf '\tlocal-zone: "hc.xlb.test." static\n\tlocal-data: "hc.xlb.test. 0 IN TXT %s"\n' "$rs"
	else
		# test. is one of unbound's default static (NXDOMAIN) zones:
		# let this name through to the forward-zone.
		printf '\tlocal-zone: "hc.xlb.test." transparent\n'
		printf 'forward-zone:\n\tname: "hc.xlb.test."\n\tforward-addr: 127.0.0.1@5399\n'
	fi >>"$d/unbound.conf"
	printf 'remote-control:\n\tcontrol-enable: no\n' >>"$d/unbound.conf"
}
h2_unbound() {
	h2_unbound_conf "$1" good
	bg_ns "$(rs_ns "$1")" "$LAB_DIR/$1/u2/unbound.out" unbound -d -c "$LAB_DIR/$1/u2/unbound.conf"
	wait_for 10 bash -c "ip netns exec '$(rs_ns "$1")' dig +short +tries=1 +time=1 -p 5300 @127.0.0.1 hc.xlb.test TXT | grep -q '$1'"
}
# h2_rcode RS: the status unbound :5300 on RS gives for hc.xlb.test TXT.
h2_rcode() {
	in_ns "$(rs_ns "$1")" dig +tries=1 +time=1 -p 5300 @127.0.0.1 hc.xlb.test TXT |
		sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
}

# The udp echo server: answers "pong RS" from the address that was asked
# (one socket per address: its own and the VIP), at most 1 hour.
H2_ECHO_PY='
import selectors, socket, sys, time
name = sys.argv[1].encode()
sel = selectors.DefaultSelector()
for a in sys.argv[2:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a, 7777))
    sel.register(s, selectors.EVENT_READ)
end = time.monotonic() + 3600
while time.monotonic() < end:
    for k, _ in sel.select(1):
        d, peer = k.fileobj.recvfrom(2048)
        k.fileobj.sendto(b"pong " + name, peer)
'
h2_echo() {
	local i
	i=$(rs_index "$1")
	bg_ns "$(rs_ns "$1")" "$LAB_DIR/$1/echo.out" python3 -c "$H2_ECHO_PY" "$1" "${RS_V4[$i]}" "$VIP_V4"
	echo "$BG_PID" >"$LAB_DIR/$1/echo.pid"
}
# udp_burst N BASE: N datagrams to VIP:7777, each from a fresh socket bound
# to source port BASE+i; prints the answering server's name per answer and
# "err ..." per datagram unanswered. Each burst takes its own ports: a
# datagram whose 5-tuple repeats an earlier one is an existing flow and,
# under on_backend_down: keep, rightly stays on a backend that went down.
H2_UDP_PY='
import socket, sys
n, host, base = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    try:
        s.bind(("", base + i))
        s.sendto(b"ping", (host, 7777))
        print(s.recvfrom(2048)[0].decode().split()[1])
    except OSError as e:
        print("err port %d: %s" % (base + i, e))
    s.close()
'
udp_burst() { timeout 60 ip netns exec "$NS_CL" python3 -c "$H2_UDP_PY" "$1" "$VIP_V4" "$2"; }

# The holder: one keep-alive connection to HOST:PORT that landed on RS
# (at most 60 tries), then a GET every 100 ms for SECS seconds; prints
# "ok RSx" or "err ..." per request and stops at the first error.
H2_HOLD_PY=$E2E_HTTP_PY'
import socket, sys, time
host, port, want, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
def get(s):
    return http_get(s)[1].decode().split()[0]
s = None
for i in range(60):
    s = socket.create_connection((host, port), timeout=2)
    if get(s) == want:
        break
    s.close()
    s = None
if s is None:
    print("err never landed on " + want, flush=True)
    sys.exit(1)
print("ready", flush=True)
end = time.monotonic() + secs
for i in range(int(secs * 10)):
    if time.monotonic() > end:
        break
    try:
        print("ok " + get(s), flush=True)
    except OSError as e:
        print("err %r" % e, flush=True)
        break
    time.sleep(0.1)
'
# hold_start PORT RS SECS OUT: start a holder in the background ($! in HOLD_PID),
# return once it is ready (or failed).
hold_start() {
	timeout $(($3 + 30)) ip netns exec "$NS_CL" python3 -c "$H2_HOLD_PY" "$VIP_V4" "$1" "$2" "$3" >"$4" 2>&1 &
	HOLD_PID=$!
	wait_for 15 grep -q '^ready\|^err' "$4"
}

# wait_reason SECONDS SERVICE ADDR TEXT: until the reason contains TEXT.
wait_reason() {
	local deadline=$((SECONDS + $1))
	while ! reason_of "$2" "$3" | grep -qi "$4"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
}

DOWN_LIMIT=$(((FALL * INTERVAL_MS + TIMEOUT_MS + 1000) / 1000 + 1))
UP_LIMIT=$(((RISE * INTERVAL_MS + TIMEOUT_MS + 1000) / 1000 + 2))

main() {
	local out n rs ms i
	local s_http="tcp/$VIP_V4:8080" s_tcp="tcp/$VIP2_V4:8080" s_keep="tcp/$VIP_V4:8081"
	local s_dns="udp/$VIP_V4:53" s_echo="udp/$VIP_V4:7777"
	if ! lab_require; then skip "e2e-health2" "$LAB_SKIP_WHY"; summary; return; fi
	if ! have_xlb; then skip "health2: xlb" "$XLBD_BIN or $XLB_BIN not built (make)"; summary; return; fi
	command -v python3 >/dev/null || { skip "health2" "needs python3"; summary; return; }
	lab_start health2 || { summary; return; }
	for rs in "${RS_NAMES[@]}"; do
		for v in "$VIP_V4" "$VIP2_V4"; do
			out=$(xlb_rs "$rs" realserver setup --mode dr --vip "$v" 2>&1) ||
				{ fail "health2: realserver setup on $rs" "$out"; summary; return; }
		done
		h2_nginx "$rs" || { fail "health2: nginx :8080 on $rs" "$(cat "$LAB_DIR/$rs/n2/nginx.err")"; summary; return; }
		h2_unbound "$rs" || { fail "health2: unbound :5300 on $rs" "$(cat "$LAB_DIR/$rs/u2/unbound.out")"; summary; return; }
		h2_echo "$rs"
	done
	h2_config "$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "health2: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	pass "health2: xlbd starts (http, tcp, dns, udp checks)"
	local all_up=1 s
	for s in "$s_http" "$s_tcp" "$s_keep" "$s_dns" "$s_echo"; do
		for rs in "${RS_V4[@]}"; do wait_health 5 "$s" "$rs" up >/dev/null || all_up=0; done
	done
	check "health2: every backend up on every check type" "$(xlb_cli list 2>&1 | tr '\n' '|')" [ $all_up = 1 ]

	# --- http 500 vs tcp; reset vs keep --------------------------------
	local h_reset=$LAB_DIR/hold.reset h_keep=$LAB_DIR/hold.keep pid_reset pid_keep
	hold_start 8080 rs2 12 "$h_reset"
	pid_reset=$HOLD_PID
	hold_start 8081 rs2 12 "$h_keep"
	pid_keep=$HOLD_PID
	check "health2: keep-alive connections to rs2 opened (8080, 8081)" \
		"$(head -n 1 "$h_reset") / $(head -n 1 "$h_keep")" \
		grep -q '^ready' "$h_reset" "$h_keep"
	sleep 0.5
	touch "$LAB_DIR/rs2/sick"
	if ms=$(wait_health "$DOWN_LIMIT" "$s_http" "${RS_V4[1]}" down); then
		pass "health2: http check marks rs2 down on HTTP 500 (${ms} ms)"
	else
		fail "health2: http check marks rs2 down on HTTP 500" "not within ${DOWN_LIMIT}s: $(xlb_cli list 2>&1 | tr '\n' '|')"
	fi
	wait_reason 3 "$s_http" "${RS_V4[1]}" 500   # the reason is the last check's
	out=$(reason_of "$s_http" "${RS_V4[1]}")
	check "health2: the reason names the status ($out)" "reason '$out'" grep -q 500 <<<"$out"
	wait_health "$DOWN_LIMIT" "$s_keep" "${RS_V4[1]}" down >/dev/null
	sleep 1
	check "health2: tcp check of the same server still up" \
		"rs2 on $s_tcp: $(health_of "$s_tcp" "${RS_V4[1]}") ($(reason_of "$s_tcp" "${RS_V4[1]}"))" \
		[ "$(health_of "$s_tcp" "${RS_V4[1]}")" = up ]
	out=$(http_burst 90 "http://$VIP_V4:8080/")
	n=$(grep -c '^rs' <<<"$out")
	check "health2: 90 new connections to :8080 succeed, none on rs2 ($(tally <<<"$out" | tr '\n' ' '))" \
		"$n of 90, $(grep -c '^rs2 ' <<<"$out") on rs2" [ "$n" = 90 -a "$(grep -c '^rs2 ' <<<"$out")" = 0 ]
	out=$(http_burst 90 "http://$VIP2_V4:8080/")
	check "health2: the tcp-checked service still sends new connections to rs2" \
		"$(tally <<<"$out" | tr '\n' ' ')" [ "$(grep -c '^rs2 ' <<<"$out")" -gt 0 ]
	wait "$pid_reset" "$pid_keep" 2>/dev/null
	# reset: the connection was moved to another backend, which (dr: it has
	# no such connection) answers with a RST.
	check "health2: on_backend_down: reset moves the open connection off rs2" \
		"holder: $(grep -v '^ok rs2' "$h_reset" | tr '\n' ' ') ($(grep -c '^ok rs2' "$h_reset") ok on rs2)" \
		bash -c "grep -q '^err' '$h_reset' && [ \$(grep -c '^ok rs2' '$h_reset') -ge 3 ] && ! grep -q '^ok rs[13]' '$h_reset'"
	check "health2: on_backend_down: keep leaves the open connection on rs2 ($(grep -c '^ok rs2' "$h_keep") requests)" \
		"holder: $(grep -v '^ok rs2' "$h_keep" | tr '\n' ' ')" \
		bash -c "! grep -q '^err' '$h_keep' && [ \$(grep -c '^ok rs2' '$h_keep') -ge 50 ]"

	rm -f "$LAB_DIR/rs2/sick"
	if ms=$(wait_health "$UP_LIMIT" "$s_http" "${RS_V4[1]}" up); then
		pass "health2: rs2 back up ${ms} ms after /health answers 200 again"
	else
		fail "health2: rs2 back up after /health answers 200" "not within ${UP_LIMIT}s"
	fi
	wait_health "$UP_LIMIT" "$s_keep" "${RS_V4[1]}" up >/dev/null

	# --- all down: keep_last vs drop ------------------------------------
	for rs in "${RS_NAMES[@]}"; do touch "$LAB_DIR/$rs/sick"; done
	local alldown=1
	for rs in "${RS_V4[@]}"; do
		wait_health "$DOWN_LIMIT" "$s_keep" "$rs" down >/dev/null || alldown=0
		wait_health "$DOWN_LIMIT" "$s_http" "$rs" down >/dev/null || alldown=0
	done
	check "health2: every backend down when every /health is 500" "$(xlb_cli list 2>&1 | tr '\n' '|')" [ $alldown = 1 ]
	out=$(http_burst 30 "http://$VIP_V4:8081/")
	n=$(grep -c '^rs' <<<"$out")
	check "health2: all_down: keep_last keeps serving (30 new connections, $(tally <<<"$out" | awk '$2 > 0' | tr '\n' ' '))" \
		"$n of 30" [ "$n" = 30 ]
	out=$(http_burst 10 "http://$VIP_V4:8080/" --max-time 1 --connect-timeout 1)
	n=$(grep -c '^rs' <<<"$out")
	check "health2: all_down: drop (default) serves nothing" "$n of 10 succeeded" [ "$n" = 0 ]
	for rs in "${RS_NAMES[@]}"; do rm -f "$LAB_DIR/$rs/sick"; done
	local allup=1
	for rs in "${RS_V4[@]}"; do wait_health "$UP_LIMIT" "$s_http" "$rs" up >/dev/null || allup=0; done
	out=$(http_burst 30 "http://$VIP_V4:8080/")
	n=$(grep -c '^rs' <<<"$out")
	check "health2: all back: :8080 serves again" "$n of 30, all up: $allup" [ "$n" = 30 -a $allup = 1 ]

	# --- dns SERVFAIL --------------------------------------------------
	h2_unbound_conf rs3 servfail
	kill -HUP "$(cat "$LAB_DIR/rs3/u2/unbound.pid")" 2>/dev/null
	wait_for 5 bash -c "[ \"\$(ip netns exec '$(rs_ns rs3)' dig +tries=1 +time=1 -p 5300 @127.0.0.1 hc.xlb.test TXT | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')\" = SERVFAIL ]"
	out=$(h2_rcode rs3)
	check "health2: unbound :5300 on rs3 now answers SERVFAIL" "status '$out'" [ "$out" = SERVFAIL ]
	if ms=$(wait_health "$DOWN_LIMIT" "$s_dns" "${RS_V4[2]}" down); then
		pass "health2: dns check marks rs3 down on SERVFAIL (${ms} ms)"
	else
		fail "health2: dns check marks rs3 down on SERVFAIL" "not within ${DOWN_LIMIT}s: $(xlb_cli list 2>&1 | tr '\n' '|')"
	fi
	wait_reason 3 "$s_dns" "${RS_V4[2]}" SERVFAIL
	out=$(reason_of "$s_dns" "${RS_V4[2]}")
	check "health2: the reason says SERVFAIL ($out)" "reason '$out'" grep -q SERVFAIL <<<"$out"
	out=$(dns_burst 60 "$VIP_V4")
	n=$(grep -c '^rs' <<<"$out")
	check "health2: 60 DNS queries answered, none by rs3" "$n of 60, $(grep -c '^rs3$' <<<"$out") by rs3" \
		[ "$n" = 60 -a "$(grep -c '^rs3$' <<<"$out")" = 0 ]
	h2_unbound_conf rs3 good
	kill -HUP "$(cat "$LAB_DIR/rs3/u2/unbound.pid")" 2>/dev/null
	if ms=$(wait_health "$UP_LIMIT" "$s_dns" "${RS_V4[2]}" up); then
		pass "health2: rs3 dns back up ${ms} ms after NOERROR again"
	else
		fail "health2: rs3 dns back up after NOERROR again" "not within ${UP_LIMIT}s"
	fi

	# --- udp check ------------------------------------------------------
	out=$(udp_burst 30 41000)
	check "health2: 30 datagrams to $VIP_V4:7777 answered" "$(grep -c '^rs' <<<"$out") of 30: $(grep '^err' <<<"$out" | head -3 | tr '\n' ' ')" \
		[ "$(grep -c '^rs' <<<"$out")" = 30 ]
	kill -TERM "$(cat "$LAB_DIR/rs3/echo.pid")" 2>/dev/null
	if ms=$(wait_health "$DOWN_LIMIT" "$s_echo" "${RS_V4[2]}" down); then
		pass "health2: udp check marks rs3 down when its server stops (${ms} ms, $(reason_of "$s_echo" "${RS_V4[2]}"))"
	else
		fail "health2: udp check marks rs3 down when its server stops" "not within ${DOWN_LIMIT}s: $(xlb_cli list 2>&1 | tr '\n' '|')"
	fi
	out=$(udp_burst 40 42000)
	n=$(grep -c '^rs' <<<"$out")
	check "health2: 40 datagrams answered with rs3 down, none by rs3" "$n of 40, $(grep -c '^rs3' <<<"$out") by rs3: $(grep '^err' <<<"$out" | head -3 | tr '\n' ' ')" \
		[ "$n" = 40 -a "$(grep -c '^rs3' <<<"$out")" = 0 ]
	h2_echo rs3
	if ms=$(wait_health "$UP_LIMIT" "$s_echo" "${RS_V4[2]}" up); then
		pass "health2: rs3 udp back up ${ms} ms after its server restarted ($(reason_of "$s_echo" "${RS_V4[2]}"))"
	else
		fail "health2: rs3 udp back up after its server restarted" "not within ${UP_LIMIT}s"
	fi

	# --- no request fails after fall x interval + timeout -----------------
	# nginx :8080 on rs1 stops; once fall x interval + timeout (+500 ms for
	# the table update and a loaded machine's scheduling of the checker)
	# passed, 40 requests over 4 s on new connections to the tcp-checked
	# service all succeed.
	local pid wait_ms=$((FALL * INTERVAL_MS + TIMEOUT_MS + 500))
	pid=$(cat "$LAB_DIR/rs1/n2/nginx.pid")
	kill -TERM "$pid"
	for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
	sleep "$(awk -v m="$wait_ms" 'BEGIN { printf "%.3f", m / 1000 }')"
	local ok=0 bad=0 on1=0 body
	for ((i = 0; i < 40; i++)); do
		body=$(timeout 5 ip netns exec "$NS_CL" curl -s --max-time 2 "http://$VIP2_V4:8080/")
		case $body in rs1*) on1=$((on1 + 1)); ok=$((ok + 1)) ;; rs*) ok=$((ok + 1)) ;; *) bad=$((bad + 1)) ;; esac
		sleep 0.1
	done
	check "health2: ${wait_ms} ms after nginx on rs1 stopped, 40 of 40 requests succeed" \
		"$ok ok, $bad failed ($(health_of "$s_tcp" "${RS_V4[0]}"))" [ $bad = 0 -a $on1 = 0 ]
	h2_nginx rs1
	if ms=$(wait_health "$UP_LIMIT" "$s_tcp" "${RS_V4[0]}" up); then
		pass "health2: rs1 back up on the tcp check ${ms} ms after nginx restarted"
	else
		fail "health2: rs1 back up on the tcp check" "not within ${UP_LIMIT}s"
	fi

	if xlbd_stop; then pass "health2: xlbd stops cleanly"
	else fail "health2: xlbd stops cleanly" "$(tail -n 5 "$LAB_DIR/xlbd.log")"; fi
	if [ "$T_FAILED" -gt 0 ]; then
		log "xlbd log (last 30 lines):"
		tail -n 30 "$LAB_DIR/xlbd.log" | sed 's/^/#   /'
	fi
	summary
}

main
