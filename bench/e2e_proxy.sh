#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Proxy mode against its peers, same lab run, same three real servers, two
# workers each, every peer configured as its own docs advise for throughput:
# HAProxy 2.6 (mode tcp, `option splice-auto`, `tune.maxpollevents`), nginx
# stream as shipped, dnsdist 1.7 (`setUDPMultipleMessagesVectorSize`, query
# rings off). Rows (xlb / best peer, with CPU per request or query and RSS):
#   ka16, ka256, ka1000  HTTP keep-alive, wrk with 16 / 256 / 1000 connections
#   close                a new connection per request (64 connections)
#   bulk                 10 MiB responses, 8 connections (MiB/s)
#   idle                 keep-alive (64) beside IDLE connections that say
#                        nothing; RSS added per 10 000 of them
#   dns                  DNS over UDP at max rate (dnsperf, 8 clients)
#   dnstcp               DNS over TCP, 8 pipelined connections (dnsperf -m tcp)
#
#   ns cl (wrk, dnsperf, idle holder) -- ns lb (VIP on lo: xlbd | haproxy |
#                                 nginx | dnsdist) -- ns rs1..3 (nginx, unbound)
#
# All four balancers run side by side (an idle one costs nothing), each on
# its own ports of the VIP, so a round measures them one after the other
# within seconds: ROUNDS rounds (a later one starts with another balancer),
# BENCH_PROXY_DUR seconds per measurement. This VM is shared and its load
# swings from one minute to the next: a row's ratio is the median of the
# per-round ratios xlb / best peer of that round, with their range; rates,
# p99, CPU and RSS are medians. CPU: utime+stime of the balancer's own
# processes (/proc/PID/stat before/after, threads and nginx's workers
# included), per unit of the row (request, MiB or query).
#
# Target (issue 14): xlb / best peer >= 1.2 at no more CPU per unit.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH_NAME=e2e_proxy
WORKERS=2
ROUNDS=${ROUNDS:-3}
DUR=${BENCH_PROXY_DUR:-5}
IDLE=${BENCH_IDLE:-2400}        # the real servers' nginx takes 1024 each
TESTS=${BENCH_PROXY_TESTS:-ka16 ka256 ka1000 close bulk idle dns dnstcp}
if [ -n "${QUICK:-}" ] && [ "$QUICK" != 0 ]; then ROUNDS=${QUICK_ROUNDS:-1}; DUR=3; fi

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
# Bulk: a second nginx per real server on :8090, 10 MiB unpaced (the lab's
# /big is paced by the server for long transfers).
head -c $((10 << 20)) /dev/urandom >"$LAB_DIR/10m"
for rs in "${RS_NAMES[@]}"; do
	mkdir -p "$LAB_DIR/$rs/bulk/www"
	ln -f "$LAB_DIR/10m" "$LAB_DIR/$rs/bulk/www/10m"
	nginx_start "$(rs_ns "$rs")" "$LAB_DIR/$rs/bulk" 256 <<EON
	access_log off;
	server { listen 8090; location = /10m { root $LAB_DIR/$rs/bulk/www; } }
EON
done

# --- the four balancers ------------------------------------------------------
declare -A HTTP_PORT BULK_PORT DNS_PORT DNST_PORT PID
HTTP_PORT=([xlb]=80 [haproxy]=8080 [nginx]=8081)
BULK_PORT=([xlb]=8090 [haproxy]=8091 [nginx]=8092)
DNS_PORT=([xlb]=53 [nginx]=5301 [dnsdist]=5302)
DNST_PORT=([xlb]=53 [haproxy]=5303 [nginx]=5301 [dnsdist]=5302)
svc() { echo "  - { name: $1, vip: $VIP_V4, port: $2, protocol: $3, mode: proxy, scheduler: rr,$5
      backends: [ ${BE[0]}:$4, ${BE[1]}:$4, ${BE[2]}:$4 ] }"; }
cat >"$LAB_DIR/xlb.yaml" <<EOC
interfaces: [elb]
proxy_workers: $WORKERS
services:
$(svc http 80 tcp 80 " header_timeout: 5m,")
$(svc bulk 8090 tcp 8090)
$(svc dns 53 udp 53)
$(svc dnstcp 53 tcp 53)
EOC
hp_fe() { printf 'frontend %s\n\tbind %s:%s\n\tdefault_backend %s\nbackend %s\n\tbalance roundrobin\n' \
	"$1" "$VIP_V4" "$2" "$1" "$1"
	for i in 0 1 2; do printf '\tserver rs%d %s:%s\n' $((i + 1)) "${BE[$i]}" "$3"; done; }
cat >"$LAB_DIR/haproxy.cfg" <<EOC
global
	nbthread $WORKERS
	maxconn 7000
	tune.maxpollevents 256
defaults
	mode tcp
	option splice-auto
	timeout connect 2s
	timeout client 5m
	timeout server 5m
$(hp_fe web "${HTTP_PORT[haproxy]}" 80)
$(hp_fe bulk "${BULK_PORT[haproxy]}" 8090)
$(hp_fe dnstcp "${DNST_PORT[haproxy]}" 53)
EOC
mkdir -p "$LAB_DIR/ngx"
mod=/usr/lib/nginx/modules/ngx_stream_module.so
cat >"$LAB_DIR/ngx/nginx.conf" <<EOC
$([ -f $mod ] && echo "load_module $mod;")
daemon off;
user root;
worker_processes $WORKERS;
worker_rlimit_nofile 20000;
pid $LAB_DIR/ngx/nginx.pid;
error_log $LAB_DIR/ngx/error.log warn;
events { worker_connections 8192; }
stream {
	upstream web { server ${BE[0]}:80; server ${BE[1]}:80; server ${BE[2]}:80; }
	upstream bulk { server ${BE[0]}:8090; server ${BE[1]}:8090; server ${BE[2]}:8090; }
	upstream dns { server ${BE[0]}:53; server ${BE[1]}:53; server ${BE[2]}:53; }
	server { listen $VIP_V4:${HTTP_PORT[nginx]} reuseport; proxy_pass web; }
	server { listen $VIP_V4:${BULK_PORT[nginx]} reuseport; proxy_pass bulk; }
	server { listen $VIP_V4:${DNS_PORT[nginx]} udp reuseport; proxy_pass dns; proxy_responses 1; proxy_timeout 5s; }
	server { listen $VIP_V4:${DNST_PORT[nginx]} reuseport; proxy_pass dns; }
}
EOC
# dnsdist's tuning guide: one reuseport bind per thread, recvmmsg/sendmmsg
# vectors, and no query rings when nothing inspects live traffic.
cat >"$LAB_DIR/dnsdist.conf" <<EOC
setLocal("$VIP_V4:${DNS_PORT[dnsdist]}", { reusePort=true })
addLocal("$VIP_V4:${DNS_PORT[dnsdist]}", { reusePort=true })
setUDPMultipleMessagesVectorSize(32)
setRingBuffersSize(0)
setACL({ "0.0.0.0/0", "::/0" })
newServer({ address="${BE[0]}:53", checkName="who.xlb.test.", checkType="TXT" })
newServer({ address="${BE[1]}:53", checkName="who.xlb.test.", checkType="TXT" })
newServer({ address="${BE[2]}:53", checkName="who.xlb.test.", checkType="TXT" })
setServerPolicy(roundrobin)
EOC

start_bg() { bg_ns "$NS_LB" "$LAB_DIR/$1.out" "${@:2}"; PID[$1]=$BG_PID; }
if xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/xlbd.err"; then
	PID[xlb]=$XLBD_PID
else
	echo "# e2e_proxy: xlbd did not start: $(head -c 300 "$LAB_DIR/xlbd.err")" >&2
fi
start_bg haproxy haproxy -db -f "$LAB_DIR/haproxy.cfg"
start_bg nginx nginx -p "$LAB_DIR/ngx" -e "$LAB_DIR/ngx/error.log" -c "$LAB_DIR/ngx/nginx.conf"
start_bg dnsdist dnsdist --supervised --disable-syslog -C "$LAB_DIR/dnsdist.conf"

cl() { timeout 5 ip netns exec "$NS_CL" "$@"; }
http_ok() { cl curl -sf --max-time 2 -o /dev/null "http://$VIP_V4:$1/$2"; }
dns_ok() { cl dig +short +tries=1 +time=1 $2 -p "$1" "@$VIP_V4" who.xlb.test TXT | grep -q rs; }
# An implementation takes part in a test when it is up and answers there.
declare -A UP
for impl in xlb haproxy nginx dnsdist; do
	[ -n "${PID[$impl]:-}" ] && kill -0 "${PID[$impl]}" 2>/dev/null || continue
	if [ -n "${HTTP_PORT[$impl]:-}" ] && wait_for 8 http_ok "${HTTP_PORT[$impl]}"; then
		for t in ka16 ka256 ka1000 close idle; do UP[$impl.$t]=1; done
	fi
	[ -n "${BULK_PORT[$impl]:-}" ] && wait_for 8 http_ok "${BULK_PORT[$impl]}" 10m && UP[$impl.bulk]=1
	[ -n "${DNS_PORT[$impl]:-}" ] && wait_for 8 dns_ok "${DNS_PORT[$impl]}" && UP[$impl.dns]=1
	[ -n "${DNST_PORT[$impl]:-}" ] && wait_for 8 dns_ok "${DNST_PORT[$impl]}" +tcp && UP[$impl.dnstcp]=1
done
# CPU ticks and RSS (KiB) of a balancer: the process (all its threads) and
# its children.
impl_pids() { echo "${PID[$1]}" $(pgrep -P "${PID[$1]}"); }
impl_ticks() { cpu_ticks $(impl_pids "$1"); }
impl_rss() {
	local p s=0
	for p in $(impl_pids "$1"); do
		s=$((s + $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
	done
	echo $s
}

# dnsperf_port PORT [MODE]: queries/s over udp (default) or tcp.
dnsperf_port() {
	local q=$LAB_DIR/dnsperf.q out
	echo "who.xlb.test TXT" >"$q"
	out=$(timeout $((DUR + 20)) ip netns exec "$NS_CL" dnsperf -s "$VIP_V4" -p "$1" \
		-m "${2:-udp}" -d "$q" -l "$DUR" -c 8 -q 200 -t 2 2>&1)
	awk '/Queries per second:/ { qps = $4 } END { printf "%s\n", qps + 0 }' <<<"$out"
}

# idle_hold PORT N STOPFILE READYFILE: N connections that say nothing,
# held until STOPFILE exists (120 s at most); READYFILE once all connected.
idle_hold() {
	timeout 150 ip netns exec "$NS_CL" python3 - "$VIP_V4" "$@" <<'EOP'
import os, resource, socket, sys, time
host, port, n, stop, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, n + 100))
socks = []
for i in range(n):
    socks.append(socket.create_connection((host, port), timeout=5))
open(ready, "w").close()
end = time.time() + 120
while time.time() < end and not os.path.exists(stop):
    time.sleep(0.2)
EOP
}

# measure IMPL TEST: prints "RATE P99MS RSSKIB IDLEKIB" (rate per second:
# requests, MiB or queries; p99 "-" where the tool gives none; IDLEKIB the
# RSS the idle connections added, idle only).
measure() {
	local impl=$1 t=$2 rate p99 url="http://$VIP_V4:${HTTP_PORT[$1]:-0}/" idle=- rss0
	local stop=$LAB_DIR/idle.stop ready=$LAB_DIR/idle.ready hp
	case $t in
	ka16|ka256|ka1000)
		read -r rate p99 _ < <(BENCH_CONNS=${t#ka} BENCH_DUR=$DUR wrk_rps "$url") ;;
	close) read -r rate p99 _ < <(BENCH_CONNS=64 BENCH_DUR=$DUR wrk_rps "$url" -H "Connection: close") ;;
	bulk)
		read -r rate p99 _ < <(BENCH_CONNS=8 BENCH_DUR=$DUR wrk_rps \
			"http://$VIP_V4:${BULK_PORT[$impl]}/10m" --timeout 30s)
		rate=$(awk -v r="$rate" 'BEGIN { printf "%.1f", r * 10 }') ;;
	idle)
		rm -f "$stop" "$ready"
		rss0=$(impl_rss "$impl")
		idle_hold "${HTTP_PORT[$impl]}" "$IDLE" "$stop" "$ready" >"$LAB_DIR/idle.out" 2>&1 &
		hp=$!
		for ((i = 0; i < 300; i++)); do [ -e "$ready" ] && break; sleep 0.1; done
		sleep 1
		idle=$(( $(impl_rss "$impl") - rss0 ))
		read -r rate p99 _ < <(BENCH_CONNS=64 BENCH_DUR=$DUR wrk_rps "$url")
		touch "$stop"
		wait "$hp"
		[ -e "$ready" ] || idle=- ;;
	dns) rate=$(dnsperf_port "${DNS_PORT[$impl]}"); p99=- ;;
	dnstcp) rate=$(dnsperf_port "${DNST_PORT[$impl]}" tcp); p99=- ;;
	esac
	echo "$rate $p99 $(impl_rss "$impl") $idle"
}

declare -A RATE P99 CPU RSS IDLEKB     # RATE[impl.test] = "r1 r2 ...", same for the others
IMPLS=(xlb haproxy nginx dnsdist)
t_start=$(date +%s)
for ((r = 0; r < ROUNDS; r++)); do
	if [ $r -gt 0 ] && [ -n "${BENCH_DEADLINE:-}" ] &&
		[ $(( $(date +%s) + ($(date +%s) - t_start) / r + 10 )) -gt "$BENCH_DEADLINE" ]; then
		echo "# e2e_proxy: $r of $ROUNDS rounds (time budget)" >&2
		break
	fi
	for t in $TESTS; do
		for k in 0 1 2 3; do
			impl=${IMPLS[$(( (k + r) % 4 ))]}
			[ -n "${UP[$impl.$t]:-}" ] || continue
			t0=$(impl_ticks "$impl")
			read -r rate p99 rss idle < <(measure "$impl" "$t")
			t1=$(impl_ticks "$impl")
			RATE[$impl.$t]+=" $rate"
			P99[$impl.$t]+=" $p99"
			RSS[$impl.$t]+=" $rss"
			IDLEKB[$impl.$t]+=" $idle"
			# CPU per unit: seconds / (rate x duration), in µs
			CPU[$impl.$t]+=" $(awk -v d=$((t1 - t0)) -v h="$CLK_TCK" -v r="$rate" -v s="$DUR" \
				'BEGIN { if (r + 0 > 0) printf "%.1f", d / h / (r * s) * 1e6; else print "-" }')"
		done
	done
done
ROUNDS=$r
kill -TERM "${PID[haproxy]}" "${PID[nginx]}" "${PID[dnsdist]}" 2>/dev/null
xlbd_stop

# --- table ------------------------------------------------------------------
med() { tr ' ' '\n' | awk 'NF && $1 != "-"' | sort -g | awk '{ v[NR] = $1 } END {
	if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bench_header "e2e_proxy ($WORKERS workers each, $ROUNDS rounds x ${DUR}s; medians of rate, p99, CPU per unit, RSS)"
# per_round_ratios TEST PEERS...: xlb / the best peer of each round.
per_round_ratios() {
	local t=$1 i p best
	local -a x=() pr=()
	shift
	read -ra x <<<"${RATE[xlb.$t]:-}"
	for i in "${!x[@]}"; do
		best=0
		for p in "$@"; do
			read -ra pr <<<"${RATE[$p.$t]:-}"
			[ -n "${pr[$i]:-}" ] && ! ge "$best" "${pr[$i]}" && best=${pr[$i]}
		done
		[ "$best" != 0 ] && echo "$(ratio "${x[$i]}" "$best")"
	done
}
row_for() {     # row_for TEST LABEL UNIT PEERS...
	local t=$1 label=$2 unit=$3 p desc st rm rmin rmax bestn= best=0 rate cpu bcpu=- xcpu=- v
	shift 3
	[[ " $TESTS " == *" $t "* ]] || return 0
	desc=
	for p in xlb "$@"; do
		if [ -z "${RATE[$p.$t]:-}" ]; then desc+="$p: no result; "; continue; fi
		rate=$(med <<<"${RATE[$p.$t]}")
		cpu=$(med <<<"${CPU[$p.$t]}")
		desc+="$p $(printf %.0f "$rate") $unit/s"
		v=$(med <<<"${P99[$p.$t]}")
		[ "$v" != - ] && desc+=" p99 ${v}ms"
		desc+=" cpu ${cpu}µs/$unit rss $(( $(printf %.0f "$(med <<<"${RSS[$p.$t]}")") / 1024 ))MiB"
		v=$(med <<<"${IDLEKB[$p.$t]}")
		[ "$v" != - ] && desc+=" (+$(awk -v k="$v" -v n="$IDLE" 'BEGIN { printf "%.0f", k / 1024 / n * 10000 }')MiB per 10k idle)"
		desc+="; "
		[ $p = xlb ] && xcpu=$cpu
		[ $p != xlb ] && ! ge "$best" "$rate" && { best=$rate; bestn=$p; bcpu=$cpu; }
	done
	mapfile -t ratios < <(per_round_ratios "$t" "$@")
	if [ ${#ratios[@]} = 0 ]; then
		rm=- rmin=- rmax=-
		st="FAIL: no measurement"
	else
		read -r rm rmin rmax < <(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ v[NR] = $1 } END {
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }')
		st=ok
		ge "$rm" 1.2 || st="SHORT of 1.2x (best peer: $bestn)"
		[ "$xcpu" != - ] && [ "$bcpu" != - ] && ! ge "$bcpu" "$xcpu" && st+="; more CPU per $unit than $bestn"
	fi
	bench_row "$label, xlb / best peer" "${rm}x (${rmin}-${rmax}; ${desc%; })" ">= 1.2x, <= its CPU" "$st" \
		"\"ratio\":\"$rm\",\"ratio_min\":\"$rmin\",\"ratio_max\":\"$rmax\",\"best_peer\":\"$bestn\",\"rounds\":$ROUNDS"
}
row_for ka16 "HTTP keep-alive, 16 connections" req haproxy nginx
row_for ka256 "HTTP keep-alive, 256 connections" req haproxy nginx
row_for ka1000 "HTTP keep-alive, 1000 connections" req haproxy nginx
row_for close "HTTP, new connection per request (64)" req haproxy nginx
row_for bulk "bulk 10 MiB responses, 8 connections" MiB haproxy nginx
row_for idle "HTTP keep-alive (64) beside $IDLE idle connections" req haproxy nginx
row_for dns "DNS over UDP, max rate" q dnsdist nginx
row_for dnstcp "DNS over TCP, 8 pipelined connections" q haproxy nginx dnsdist
