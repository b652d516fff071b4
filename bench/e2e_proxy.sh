#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Proxy mode against its peers, same lab run, same three real servers, two
# workers each: TCP (HTTP through the proxy, wrk keep-alive and a new
# connection per request) against HAProxy 2.6 (mode tcp) and nginx stream;
# UDP DNS (dnsperf) against dnsdist 1.7 and nginx stream. Per row:
# requests/s, p99, and CPU seconds of every process in the balancer's
# namespace (utime+stime from /proc/PID/stat, before/after).
#
#   ns cl (wrk, dnsperf) -- ns lb (VIP on lo: xlbd | haproxy | nginx | dnsdist) -- ns rs1..3
#
# Target (issue 6): at least the best peer (ratio xlb / best peer >= 1).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH_NAME=e2e_proxy
WORKERS=2

if ! lab_require; then echo "SKIP e2e_proxy: $LAB_SKIP_WHY"; exit 0; fi
if ! have_xlb; then echo "SKIP e2e_proxy: build/xlbd missing (make)"; exit 0; fi
bench_install wrk dnsperf haproxy dnsdist libnginx-mod-stream || true
lab_init
lab_up 2>"$LAB_DIR/up.err" || { echo "FAIL e2e_proxy: lab: $(cat "$LAB_DIR/up.err")"; exit 1; }
lab_start_servers 2>"$LAB_DIR/up.err" || { echo "FAIL e2e_proxy: servers: $(cat "$LAB_DIR/up.err")"; exit 1; }
ip -n "$NS_LB" addr add "$VIP_V4/32" dev lo 2>/dev/null
for ns in "$NS_CL" "$NS_LB"; do
	in_ns "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"
done
BE=("${RS_V4[@]}")

# --- the four balancers ------------------------------------------------------
cat >"$LAB_DIR/xlb.yaml" <<EOC
interfaces: [elb]
proxy_workers: $WORKERS
services:
  - { name: http, vip: $VIP_V4, port: 80, protocol: tcp, mode: proxy, scheduler: rr,
      backends: [ ${BE[0]}, ${BE[1]}, ${BE[2]} ] }
  - { name: dns, vip: $VIP_V4, port: 53, protocol: udp, mode: proxy, scheduler: rr,
      backends: [ ${BE[0]}, ${BE[1]}, ${BE[2]} ] }
EOC
cat >"$LAB_DIR/haproxy.cfg" <<EOC
global
	nbthread $WORKERS
	maxconn 8000
defaults
	mode tcp
	timeout connect 2s
	timeout client 30s
	timeout server 30s
frontend http
	bind $VIP_V4:80
	default_backend web
backend web
	balance roundrobin
	server rs1 ${BE[0]}:80
	server rs2 ${BE[1]}:80
	server rs3 ${BE[2]}:80
EOC
mkdir -p "$LAB_DIR/ngx"
mod=/usr/lib/nginx/modules/ngx_stream_module.so
cat >"$LAB_DIR/ngx/nginx.conf" <<EOC
$([ -f $mod ] && echo "load_module $mod;")
daemon off;
user root;
worker_processes $WORKERS;
pid $LAB_DIR/ngx/nginx.pid;
error_log $LAB_DIR/ngx/error.log warn;
events { worker_connections 8192; }
stream {
	upstream web { server ${BE[0]}:80; server ${BE[1]}:80; server ${BE[2]}:80; }
	upstream dns { server ${BE[0]}:53; server ${BE[1]}:53; server ${BE[2]}:53; }
	server { listen $VIP_V4:80 reuseport; proxy_pass web; }
	server { listen $VIP_V4:53 udp reuseport; proxy_pass dns; proxy_responses 1; proxy_timeout 5s; }
}
EOC
cat >"$LAB_DIR/dnsdist.conf" <<EOC
setLocal("$VIP_V4:53", { reusePort=true })
addLocal("$VIP_V4:53", { reusePort=true })
setACL({ "0.0.0.0/0", "::/0" })
newServer({ address="${BE[0]}:53", checkName="who.xlb.test.", checkType="TXT" })
newServer({ address="${BE[1]}:53", checkName="who.xlb.test.", checkType="TXT" })
newServer({ address="${BE[2]}:53", checkName="who.xlb.test.", checkType="TXT" })
setServerPolicy(roundrobin)
EOC

PEER_PID=
start_xlb() { xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/xlbd.err"; }
stop_xlb() { xlbd_stop; }
start_bg() { bg_ns "$NS_LB" "$LAB_DIR/$1.out" "${@:2}"; PEER_PID=$BG_PID; }
stop_bg() {
	[ -n "$PEER_PID" ] || return 0
	kill -TERM "$PEER_PID" 2>/dev/null
	local i
	for i in $(seq 50); do kill -0 "$PEER_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$PEER_PID" 2>/dev/null
	wait "$PEER_PID" 2>/dev/null
	PEER_PID=
	sleep 0.3
}
start_haproxy() { start_bg haproxy haproxy -db -f "$LAB_DIR/haproxy.cfg"; }
start_nginx() { start_bg nginx nginx -p "$LAB_DIR/ngx" -e "$LAB_DIR/ngx/error.log" -c "$LAB_DIR/ngx/nginx.conf"; }
start_dnsdist() { start_bg dnsdist dnsdist --supervised --disable-syslog -C "$LAB_DIR/dnsdist.conf"; }

http_ok() { timeout 5 ip netns exec "$NS_CL" curl -sf --max-time 2 -o /dev/null "http://$VIP_V4/"; }
dns_ok() { timeout 5 ip netns exec "$NS_CL" dig +short +tries=1 +time=1 "@$VIP_V4" who.xlb.test TXT | grep -q rs; }
# CPU ticks of every process in the balancer's namespace.
lb_ticks() { cpu_ticks $(ip netns pids "$NS_LB"); }

declare -A V      # V[impl.test] = "rate p99 cpu_s"
measure() {     # measure IMPL TEST
	local t0 t1 rate p99 err lost
	t0=$(lb_ticks)
	case $2 in
	ka) read -r rate p99 err < <(wrk_rps "http://$VIP_V4/") ;;
	close) read -r rate p99 err < <(wrk_rps "http://$VIP_V4/" -H "Connection: close") ;;
	dns) read -r rate lost < <(dnsperf_qps "$VIP_V4"); p99=- ;;
	esac
	t1=$(lb_ticks)
	V[$1.$2]="$rate $p99 $(awk -v d=$((t1 - t0)) -v h="$CLK_TCK" 'BEGIN { printf "%.2f", d / h }')"
}

run_impl() {    # run_impl IMPL START STOP TESTS...
	local impl=$1 start=$2 stop=$3 t
	shift 3
	if ! $start; then echo "# e2e_proxy: $impl did not start" >&2; return; fi
	for t in "$@"; do
		case $t in
		dns) wait_for 8 dns_ok || { echo "# e2e_proxy: $impl: DNS path down" >&2; continue; } ;;
		*) wait_for 8 http_ok || { echo "# e2e_proxy: $impl: HTTP path down" >&2; continue; } ;;
		esac
		measure "$impl" "$t"
	done
	$stop
}

run_impl xlb start_xlb stop_xlb ka close dns
run_impl haproxy start_haproxy stop_bg ka close
run_impl nginx start_nginx stop_bg ka close dns
run_impl dnsdist start_dnsdist stop_bg dns

# --- table ------------------------------------------------------------------
bench_header "e2e_proxy ($WORKERS workers, ${BENCH_DUR}s each; rate, p99, balancer CPU s)"
row_for() {     # row_for TEST LABEL PEERS...
	local t=$1 label=$2 best=0 bestn= p x r st desc rate p99 cpu
	shift 2
	desc=
	for p in xlb "$@"; do
		if [ -z "${V[$p.$t]:-}" ]; then desc+="$p: no result; "; continue; fi
		read -r rate p99 cpu <<<"${V[$p.$t]}"
		desc+="$p $(printf %.0f "$rate")/s"
		[ "$p99" != - ] && desc+=" p99 ${p99}ms"
		desc+=" cpu ${cpu}s; "
		[ $p != xlb ] && ! ge "$best" "$rate" && { best=$rate; bestn=$p; }
	done
	x=$(awk '{ print $1 }' <<<"${V[xlb.$t]:-0}")
	r=$(ratio "$x" "$best")
	if [ "$r" = - ]; then st="FAIL: no measurement"
	elif ge "$r" 1; then st=ok
	else st="SHORT of target (best peer: $bestn)"; fi
	bench_row "$label, xlb / best peer" "${r}x (${desc%; })" ">= 1.0x" "$st" \
		"\"ratio\":\"$r\",\"best_peer\":\"$bestn\""
}
row_for ka "HTTP over TCP proxy, keep-alive req/s" haproxy nginx
row_for close "HTTP over TCP proxy, new connection per request req/s" haproxy nginx
row_for dns "DNS over UDP proxy q/s" dnsdist nginx
