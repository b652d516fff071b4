#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End-to-end test of mode proxy in the namespace lab of lib.sh (topology
# drawn there). The real servers need no setup at all: xlbd terminates the
# client's connection on the VIP and opens its own to them.
#
#   cl 198.18.0.1 --> VIP 198.18.0.100 / 2001:db8::100 on elb (ns lb, xlbd)
#                       :80  tcp  wrr 1:1:2 -> rs1..3:80   (nginx)
#                       :53  udp  wrr 1:1:2 -> rs1..3:53   (unbound)
#                       :7000 tcp           -> rs1:7000    (echo, python)
#                       :8080 tcp send_proxy v2 -> rs1..3:8081 (nginx proxy_protocol)
#                     [2001:db8::100]:80 tcp -> rs1..3:80 over IPv4
#                       :7002 tcp max_connections 200 -> rs1..3:80 (slowloris)
#
# Checks: HTTP and DNS counts and shares, v6 VIP to v4 backends, half-close,
# 100 MB intact through the proxy (sha256) and spliced, PROXY v2 gives nginx
# the real client address, a killed backend makes new connections go elsewhere,
# 1500 silent (slowloris) clients against max_connections 200 neither get
# backend connections nor keep legitimate clients out.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

P_WEIGHTS="rs1=100 rs2=100 rs3=200"

proxy_config() {
	cat >"$1" <<EOF
interfaces: [elb]
proxy_workers: 2
services:
  - name: http
    vip: $VIP_V4
    port: 80
    protocol: tcp
    mode: proxy
    scheduler: wrr
    connect_timeout: 1s
    backends:
      - { address: ${RS_V4[0]}, weight: 100 }
      - { address: ${RS_V4[1]}, weight: 100 }
      - { address: ${RS_V4[2]}, weight: 200 }
  - name: dns
    vip: $VIP_V4
    port: 53
    protocol: udp
    mode: proxy
    scheduler: wrr
    client_timeout: 5s
    backends:
      - { address: ${RS_V4[0]}, weight: 100 }
      - { address: ${RS_V4[1]}, weight: 100 }
      - { address: ${RS_V4[2]}, weight: 200 }
  - name: http6
    vip: $VIP_V6
    port: 80
    protocol: tcp
    mode: proxy
    scheduler: random2
    backends: [${RS_V4[0]}, ${RS_V4[1]}, ${RS_V4[2]}]
  - name: echo
    vip: $VIP_V4
    port: 7000
    protocol: tcp
    mode: proxy
    backends: [${RS_V4[0]}]
  - name: pp
    vip: $VIP_V4
    port: 8080
    protocol: tcp
    mode: proxy
    scheduler: rr
    send_proxy: v2
    backends: ["${RS_V4[0]}:8081", "${RS_V4[1]}:8081", "${RS_V4[2]}:8081"]
  - name: front
    vip: $VIP_V4
    port: 8082
    protocol: tcp
    mode: proxy
    accept_proxy: true
    send_proxy: v1
    backends: ["${RS_V4[0]}:8081"]
  - name: capped
    vip: $VIP_V4
    port: 7001
    protocol: tcp
    mode: proxy
    max_connections: 50
    client_timeout: 5s
    backends: ["${RS_V4[0]}:7000"]
  - name: guarded
    vip: $VIP_V4
    port: 7002
    protocol: tcp
    mode: proxy
    max_connections: 200
    header_timeout: 60s
    backends: ["${RS_V4[0]}:80", "${RS_V4[1]}:80", "${RS_V4[2]}:80"]
EOF
}

# raw_exchange HOST PORT DATA: sends DATA (backslash escapes), half-closes,
# prints the body of what comes back (empty when the proxy closes on us).
raw_exchange() {
	timeout 10 ip netns exec "$NS_CL" python3 - "$@" <<'EOF'
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.sendall(sys.argv[3].encode().decode("unicode_escape").encode("latin1"))
c.shutdown(socket.SHUT_WR)
out = b""
try:
    while True:
        d = c.recv(65536)
        if not d:
            break
        out += d
except OSError:
    pass
sys.stdout.write(out.decode("latin1").split("\r\n\r\n", 1)[-1])
EOF
}

# silent_clients HOST PORT N HOLD [STOPFILE]: opens N connections (100 at
# once, then 0.1 s), sends nothing, holds them HOLD seconds or until
# STOPFILE exists; prints "CONNECTED CLOSED": how many got connected, how
# many of those the proxy closed meanwhile.
silent_clients() {
	timeout 60 ip netns exec "$NS_CL" python3 - "$@" <<'EOF'
import os, resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hold, stop = float(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else ""
socks = []
for i in range(n):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect((host, port))
    except BlockingIOError:
        pass
    socks.append(s)
    if i % 100 == 99:
        time.sleep(0.1)
end = time.time() + hold
while time.time() < end and not (stop and os.path.exists(stop)):
    time.sleep(0.2)
connected = closed = 0
for s in socks:
    try:
        s.getpeername()
        connected += 1
        if s.recv(1) == b"":
            closed += 1     # EOF
    except BlockingIOError:
        pass                # still open, silent
    except OSError:
        closed += 1         # reset, or never connected
    s.close()
print(connected, closed)
EOF
}

# backend_conns PORT: established connections to PORT on rs1..3.
backend_conns() {
	local rs n=0
	for rs in "${RS_NAMES[@]}"; do
		n=$((n + $(in_ns "$(rs_ns "$rs")" ss -Htn state established "( sport = :$1 )" | wc -l)))
	done
	echo "$n"
}

fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# nginx with proxy_protocol on :8081, logging $proxy_protocol_addr.
pp_nginx_start() {
	local rs=$1 d=$LAB_DIR/$1/pp
	nginx_start "$(rs_ns "$rs")" "$d" 256 <<EOF
	log_format pp '\$proxy_protocol_addr \$remote_addr';
	access_log $d/access.log pp;
	default_type text/plain;
	server {
		listen 8081 proxy_protocol;
		location = / { return 200 "$rs \$proxy_protocol_addr \$remote_addr\n"; }
	}
EOF
}

echo_start() {
	cat >"$LAB_DIR/echo.py" <<'EOF'
import socket, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7000))
s.listen(64)
def serve(c):
    while True:
        d = c.recv(262144)
        if not d:
            break
        c.sendall(d)
    c.shutdown(socket.SHUT_WR)
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
	bg_ns "$(rs_ns rs1)" "$LAB_DIR/echo.out" python3 "$LAB_DIR/echo.py"
}

# echo_client HOST PORT BYTES: sends BYTES random bytes, shuts its write
# side, reads until EOF; prints "sent-sha256 received-sha256 received-bytes".
echo_client() {
	timeout 120 ip netns exec "$NS_CL" python3 - "$@" <<'EOF'
import hashlib, os, socket, sys, threading
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = socket.create_connection((host, port), timeout=30)
hs, hr, got = hashlib.sha256(), hashlib.sha256(), 0
def send():
    left, chunk = n, os.urandom(1 << 20)
    while left:
        b = chunk[: min(left, len(chunk))]
        hs.update(b)
        c.sendall(b)
        left -= len(b)
    c.shutdown(socket.SHUT_WR)   # half-close: we still read the rest
t = threading.Thread(target=send)
t.start()
while True:
    d = c.recv(1 << 20)
    if not d:
        break
    hr.update(d)
    got += len(d)
t.join()
print(hs.hexdigest(), hr.hexdigest(), got)
EOF
}

# conns_all JSON TEST...: `xlb conns --json` lists at least one connection,
# counts as many as it lists, and every one passes every jq TEST ($cl is the
# client's address, $vip the VIP).
conns_all() {
	local json=$1 t
	shift
	[ "$(jq '.total > 0 and .total == (.conns | length)' <<<"$json")" = true ] || return 1
	for t in "$@"; do
		[ "$(jq --arg cl "$CL_V4" --arg vip "$VIP_V4" "[.conns[] | $t] | all" \
			<<<"$json")" = true ] || return 1
	done
}

# sums_match SENT RECEIVED BYTES WANT: both digests equal, all bytes back.
sums_match() { [ -n "$1" ] && [ "$1" = "$2" ] && [ "$3" = "$4" ]; }
pp_body_ok() { [[ $1 == rs?" $CL_V4 $LB_V4" ]]; }

main() {
	local out n tal http json

	if ! lab_require; then skip "proxy" "$LAB_SKIP_WHY"; summary; return; fi
	lab_start proxy || { summary; return; }
	if ! have_xlb; then skip "proxy: xlb" "not built (make)"; summary; return; fi
	for rs in "${RS_NAMES[@]}"; do pp_nginx_start "$rs"; done
	echo_start

	proxy_config "$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "proxy: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	pass "proxy: xlbd starts"
	wait_for 5 in_ns "$NS_CL" curl -sf --max-time 1 -o /dev/null "http://$VIP_V4/" ||
		log "first request through the VIP did not succeed within 5 s"

	http=$(http_burst 300 "http://$VIP_V4/")
	n=$(grep -c '^rs' <<<"$http")
	check "proxy: 300 HTTP connections through $VIP_V4" "$n of 300 succeeded" [ "$n" = 300 ]
	check "proxy: backends see the balancer's address" \
		"bodies: $(awk '{print $2}' <<<"$http" | sort | uniq -c | tr '\n' ' ')" \
		e2e_all_from "$http" "$LB_V4"
	tal=$(tally <<<"$http")
	out=$(shares_ok "$tal" "$P_WEIGHTS") &&
		pass "proxy: HTTP shares follow weights 1:1:2 ($(echo $tal))" ||
		fail "proxy: HTTP shares follow weights 1:1:2" "$out"

	out=$(dns_burst 300 "$VIP_V4")
	n=$(grep -c '^rs' <<<"$out")
	check "proxy: 300 DNS queries over UDP through $VIP_V4" "$n of 300 answered" [ "$n" = 300 ]
	# Their sessions live 5 s (client_timeout): xlb conns lists them.
	json=$(xlb_cli conns "udp/$VIP_V4:53" --json)
	check "proxy: xlb conns lists the DNS clients' udp sessions, each with its backend" \
		"$(head -c 400 <<<"$json")" conns_all "$json" \
		'.client | startswith($cl + ":")' '.state == "UDP"' \
		'.backend | test("^198[.]18[.][0-9.]+:53$")' '.expires_in_ms <= 5000'
	tal=$(tally <<<"$out")
	out=$(shares_ok "$tal" "$P_WEIGHTS") &&
		pass "proxy: DNS shares follow weights 1:1:2 ($(echo $tal))" ||
		fail "proxy: DNS shares follow weights 1:1:2" "$out"

	http=$(http_burst 100 "http://[$VIP_V6]/")
	n=$(grep -c '^rs' <<<"$http")
	check "proxy: 100 HTTP connections through [$VIP_V6] to IPv4 backends" \
		"$n of 100 succeeded" [ "$n" = 100 ]

	out=$(echo_client "$VIP_V4" 7000 65536)
	read -r s r n <<<"$out"
	check "proxy: half-close (write side shut, the whole answer still read)" \
		"got '$out'" sums_match "$s" "$r" "$n" 65536
	out=$(echo_client "$VIP_V4" 7000 $((100 * 1024 * 1024)))
	read -r s r n <<<"$out"
	check "proxy: 100 MB through the proxy arrive intact (sha256)" \
		"got '$out'" sums_match "$s" "$r" "$n" $((100 * 1024 * 1024))
	# Both directions are bulk: most of their bytes go through pipes.
	n=$(xlb_cli list --json | jq --arg s "tcp/$VIP_V4:7000" \
		'.services[] | select(.service == $s) | .proxy.spliced')
	check "proxy: bulk directions are spliced ($n bytes of 2 x 100 MiB by splice)" \
		"spliced '$n'" [ "${n:-0}" -ge $((100 * 1024 * 1024)) ]

	out=$(in_ns "$NS_CL" curl -s --max-time 3 "http://$VIP_V4:8080/")
	check "proxy: send_proxy v2: nginx sees the client address" "body '$out'" \
		pp_body_ok "$out"
	sleep 0.5
	check "proxy: send_proxy v2: nginx logs the client address" \
		"$(cat "$LAB_DIR"/rs*/pp/access.log 2>/dev/null | sort | uniq -c | tr '\n' ' ')" \
		grep -qs "^$CL_V4 $LB_V4\$" "$LAB_DIR"/rs1/pp/access.log \
			"$LAB_DIR"/rs2/pp/access.log "$LAB_DIR"/rs3/pp/access.log

	out=$(raw_exchange "$VIP_V4" 8082 'PROXY TCP4 198.18.9.9 198.18.0.100 1234 8082\r\nGET / HTTP/1.0\r\n\r\n')
	check "proxy: accept_proxy v1 in, send_proxy v1 out: nginx sees the header's address" \
		"body '$out'" [ "$out" = "rs1 198.18.9.9 $LB_V4" ]
	out=$(raw_exchange "$VIP_V4" 8082 'PROXY TCP4 198.18.9.9 198.18.0.100 99999 8082\r\nGET / HTTP/1.0\r\n\r\n')
	check "proxy: malformed PROXY header (port 99999) is rejected" "got '$out'" [ -z "$out" ]
	out=$(raw_exchange "$VIP_V4" 8082 'GET / HTTP/1.0\r\n\r\n')
	check "proxy: missing PROXY header is rejected" "got '$out'" [ -z "$out" ]

	# The cap holds under a burst; nothing crashes or leaks descriptors.
	local fds0 fds1
	fds0=$(fd_count "$XLBD_PID")
	read -r n _ <<<"$(silent_clients "$VIP_V4" 7001 2000 2)"
	log "burst of 2000 connection attempts to a service capped at 50: $n connected"
	check "proxy: xlbd survives 2000 connection attempts against max_connections 50" \
		"xlbd is gone" kill -0 "$XLBD_PID"
	# Closing 2000 connections takes a moment on a loaded machine: wait (up
	# to 15 s) for the count to come back rather than sampling once. A few
	# descriptors come and go on their own (health-check sockets, a control
	# or metrics connection in flight): a leak in the burst path would be
	# hundreds, so a slack of 8 keeps the check meaningful without flaking.
	fds_back() { [ "$(fd_count "$XLBD_PID")" -le $((fds0 + 8)) ]; }
	wait_for 15 fds_back
	fds1=$(fd_count "$XLBD_PID")
	check "proxy: no descriptor leaked after the burst ($fds0 before, $fds1 after)" \
		"$fds0 before, $fds1 after" [ "$fds1" -le $((fds0 + 8)) ]
	out=$(echo_client "$VIP_V4" 7001 1000)
	read -r s r n <<<"$out"
	check "proxy: capped service serves again after the burst" "got '$out'" \
		sums_match "$s" "$r" "$n" 1000

	# Slow clients: 1500 that connect and say nothing, against a cap of
	# 200 (header_timeout 60 s, so only shedding makes room).
	local stop=$LAB_DIR/slowloris.stop sl_out=$LAB_DIR/slowloris.out be_n sl_pid
	silent_clients "$VIP_V4" 7002 1500 30 "$stop" >"$sl_out" 2>&1 &
	sl_pid=$!
	sleep 3
	http=$(http_burst 100 "http://$VIP_V4:7002/")
	be_n=$(backend_conns 80)
	json=$(xlb_cli conns "tcp/$VIP_V4:7002" --json)
	touch "$stop"
	wait "$sl_pid"
	log "slowloris (connected, closed by the proxy): $(cat "$sl_out"); backend connections: $be_n"
	n=$(grep -c '^rs' <<<"$http")
	check "proxy: 1500 silent clients at max_connections 200: 100 legitimate requests served" \
		"$n of 100" [ "$n" = 100 ]
	check "proxy: silent clients get no backend connection" \
		"$be_n established to the backends" [ "$be_n" -le 10 ]
	read -r _ n <<<"$(cat "$sl_out")"
	check "proxy: the idlest silent clients were shed to make room" \
		"$(cat "$sl_out")" [ "${n:-0}" -ge 100 ]
	check "proxy: xlb conns shows the silent clients waiting for data, no backend" \
		"$(head -c 400 <<<"$json")" conns_all "$json" \
		'.state == "WAIT_DATA"' '.backend == "-"' '.vip == $vip + ":7002"'

	# Kill rs3's nginx (started by this lab; its pid file): new
	# connections must all land on rs1/rs2 (refused connects retried).
	kill -TERM "$(cat "$LAB_DIR/rs3/nginx.pid")" 2>/dev/null
	sleep 0.5
	http=$(http_burst 100 "http://$VIP_V4/")
	n=$(grep -c '^rs' <<<"$http")
	check "proxy: backend rs3 killed: 100 connections still succeed" "$n of 100" [ "$n" = 100 ]
	n=$(grep -c '^rs3' <<<"$http")
	check "proxy: backend rs3 killed: none goes to rs3" "$n went to rs3" [ "$n" = 0 ]

	check "proxy: xlbd stops cleanly" "exit status or timeout" xlbd_stop
	grep "proxy:" "$LAB_DIR/xlbd.log" | sed 's/^/# /'
	check "proxy: malformed PROXY headers are counted" \
		"$(grep 8082 "$LAB_DIR/xlbd.log")" \
		grep -q "tcp/$VIP_V4:8082: .* 2 bad PROXY headers" "$LAB_DIR/xlbd.log"
	summary
}

main
