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
#   idle                 keep-alive (64) beside IDLE held connections, each
#                        with its backend connection (they sent the start of
#                        a request); the rate beside them / without them
#                        (measured just before), RSS added per 10 000 of
#                        them, and RSS left 3 s after they closed
#   dns                  DNS over UDP at max rate (dnsperf, 8 clients)
#   dnsrate              DNS over UDP at a fixed DNS_RATE q/s: p99 latency
#                        (dnsperf -Q, each query's latency from -v)
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
# included), per unit of the row (request, MiB or query), and in brackets
# the whole machine's busy time per unit (the rate is bounded by it: all of
# it shares 2 vCPUs, other people's jobs included); pkts: packets
# through the balancer's interface per unit (idle: with the held
# connections' handshakes); switches: the balancer's voluntary (sleeps)
# + involuntary (preemptions) context switches per unit; waiting: the time
# its threads spent runnable but waiting for a CPU per unit (schedstat);
# servers: the real servers' CPU per unit. On this loaded VM the rate
# follows the waiting more than the balancer's own CPU.
#
# Target (issue 14): xlb / best peer >= 1.2 at no more CPU per unit.
#
# XLBD_B=PATH: a second xlbd build (say, before a change) runs beside the
# first as implementation xlbB on ports of its own, measured in the same
# rounds, and each row adds xlb / xlbB: a before/after in one sitting.
# BENCH_PROXY_XLB_TCP / BENCH_PROXY_XLBB_TCP: keys added to the tcp services
# of xlb / of xlbB (e.g. " server_speaks_first: true,"): one binary in two
# settings, or a candidate's key that main's xlbd would refuse.
# BENCH_PROXY_PERF=DIR: while xlb is measured, `perf stat` (syscalls,
# context switches) and `perf record -g` of it into DIR/xlb.TEST.{stat,data}
# (BENCH_PROXY_PERF_ALL=1: every implementation, perf record system-wide;
# BENCH_PROXY_STRACE=1: `strace -c` syscall counts instead of perf record;
# BENCH_PROXY_PERF_OWN=1: perf record of each balancer's own processes,
# not system-wide; BENCH_PROXY_PERF_EVENTS: perf stat's events, e.g.
# syscalls:sys_enter_read,... for counts per syscall; BENCH_PROXY_STAT_ONLY=1:
# perf stat alone, no perf record; BENCH_PROXY_RECORD_EVENTS: perf record's
# events, e.g. sched:sched_switch for where the threads sleep).
# BENCH_PROXY_IMPLS limits the implementations measured (e.g. "xlb xlbB").
# BENCH_PROXY_HOG=N: N busy loops (`while :; do :; done`, a CPU's worth
# each) run beside the rounds, as another tenant's CPU-bound job would:
# what a change costs where the balancer's threads wait behind a task
# that never sleeps (they end with the rounds, or after a bound of their
# own if the bench dies).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH_NAME=e2e_proxy
WORKERS=2
ROUNDS=${ROUNDS:-3}
DUR=${BENCH_PROXY_DUR:-5}
# This sandbox caps RLIMIT_NOFILE at 20000 (no CAP_SYS_RESOURCE): 9000
# clients and their 9000 backend connections is about the most that fits.
IDLE=${BENCH_IDLE:-9000}
DNS_RATE=${BENCH_DNS_RATE:-10000}
TESTS=${BENCH_PROXY_TESTS:-ka16 ka256 ka1000 close bulk idle dns dnsrate dnstcp}
if [ -n "${QUICK:-}" ] && [ "$QUICK" != 0 ]; then ROUNDS=${QUICK_ROUNDS:-1}; DUR=3; fi

if ! lab_require; then echo "SKIP e2e_proxy: $LAB_SKIP_WHY"; exit 0; fi
if ! have_xlb; then echo "SKIP e2e_proxy: build/xlbd missing (make)"; exit 0; fi
bench_install wrk dnsperf haproxy dnsdist libnginx-mod-stream || true
lab_init
lab_up 2>"$LAB_DIR/up.err" || { echo "FAIL e2e_proxy: lab: $(cat "$LAB_DIR/up.err")"; exit 1; }
lab_start_servers 2>"$LAB_DIR/up.err" || { echo "FAIL e2e_proxy: servers: $(cat "$LAB_DIR/up.err")"; exit 1; }
ip -n "$NS_LB" addr add "$VIP_V4/32" dev lo 2>/dev/null
# No XDP here (BENCH_PROXY_OFFLOAD=0 keeps the lab as the XDP tests need
# it): the veths get their tx offloads back (the lab turns tx checksums,
# and so TSO/GSO, off for XDP rewrites) and plb loses its XDP_PASS, so
# packets travel as on a host whose NIC segments: one 64 KiB send is one
# trip through the stack, not 45.
veth_offload() {       # NS DEV PORT: tx offloads on, both ends
	in_ns "$1" ethtool -K "$2" tx on >/dev/null 2>&1
	in_ns "$NS_SW" ethtool -K "$3" tx on >/dev/null 2>&1
}
if [ "${BENCH_PROXY_OFFLOAD:-1}" != 0 ]; then
	ip -n "$NS_SW" link set dev plb xdpdrv off
	veth_offload "$NS_CL" ecl pcl
	veth_offload "$NS_LB" elb plb
	for rs in "${RS_NAMES[@]}"; do veth_offload "$(rs_ns "$rs")" ers "p$rs"; done
fi
for ns in "$NS_CL" "$NS_LB"; do
	in_ns "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"
done
BE=("${RS_V4[@]}")
# Bulk: a second nginx per real server on :8090, 10 MiB unpaced (the lab's
# /big is paced by the server for long transfers). Held connections: a
# third on :8070, room for IDLE connections and the load beside them.
head -c $((10 << 20)) /dev/urandom >"$LAB_DIR/10m"
for rs in "${RS_NAMES[@]}"; do
	mkdir -p "$LAB_DIR/$rs/bulk/www"
	ln -f "$LAB_DIR/10m" "$LAB_DIR/$rs/bulk/www/10m"
	nginx_start "$(rs_ns "$rs")" "$LAB_DIR/$rs/bulk" 256 <<EON
	access_log off;
	server { listen 8090; location = /10m { root $LAB_DIR/$rs/bulk/www; } }
EON
	nginx_start "$(rs_ns "$rs")" "$LAB_DIR/$rs/hold" $((IDLE / 3 + 512)) <<EON
	access_log off;
	keepalive_requests 1000;
	client_header_timeout 5m;
	server { listen 8070; location = / { return 200 "$rs\n"; } }
EON
done

# --- the four balancers ------------------------------------------------------
declare -A HTTP_PORT BULK_PORT DNS_PORT DNST_PORT HOLD_PORT PID
HTTP_PORT=([xlb]=80 [haproxy]=8080 [nginx]=8081 [xlbB]=8180)
BULK_PORT=([xlb]=8090 [haproxy]=8091 [nginx]=8092 [xlbB]=8190)
DNS_PORT=([xlb]=53 [nginx]=5301 [dnsdist]=5302 [xlbB]=5310)
DNST_PORT=([xlb]=53 [haproxy]=5303 [nginx]=5301 [dnsdist]=5302 [xlbB]=5310)
HOLD_PORT=([xlb]=8070 [haproxy]=8071 [nginx]=8072 [xlbB]=8170)
svc() { echo "  - { name: $1, vip: $VIP_V4, port: $2, protocol: $3, mode: proxy, scheduler: rr,$5
      backends: [ ${BE[0]}:$4, ${BE[1]}:$4, ${BE[2]}:$4 ] }"; }
# xlb_conf IMPL: the config of xlb (or of xlbB, on its own ports). Extra
# keys for the tcp services of each: BENCH_PROXY_XLB_TCP (xlb) and
# BENCH_PROXY_XLBB_TCP (xlbB), e.g. " proxy_forward: kernel,".
xlb_conf() {
	local i=$1 x
	[ "$i" = xlb ] && x=${BENCH_PROXY_XLB_TCP:-} || x=${BENCH_PROXY_XLBB_TCP:-}
	cat <<EOC
proxy_workers: $WORKERS
services:
$(svc http "${HTTP_PORT[$i]}" tcp 80 " header_timeout: 5m,$x")
$(svc bulk "${BULK_PORT[$i]}" tcp 8090 "$x")
$(svc hold "${HOLD_PORT[$i]}" tcp 8070 " header_timeout: 5m,$x")
$(svc dns "${DNS_PORT[$i]}" udp 53)
$(svc dnstcp "${DNST_PORT[$i]}" tcp 53 "$x")
EOC
}
{ [ "${BENCH_PROXY_OFFLOAD:-1}" != 0 ] || echo "interfaces: [elb]"; xlb_conf xlb; } >"$LAB_DIR/xlb.yaml"
{ echo "instance: xlbB"; echo "manage_addresses: false"; xlb_conf xlbB; } >"$LAB_DIR/xlbB.yaml"
hp_fe() { printf 'frontend %s\n\tbind %s:%s\n\tdefault_backend %s\nbackend %s\n\tbalance roundrobin\n' \
	"$1" "$VIP_V4" "$2" "$1" "$1"
	for i in 0 1 2; do printf '\tserver rs%d %s:%s\n' $((i + 1)) "${BE[$i]}" "$3"; done; }
cat >"$LAB_DIR/haproxy.cfg" <<EOC
global
	nbthread $WORKERS
	maxconn $((IDLE + 400))
	maxpipes 256
	tune.maxpollevents 256
defaults
	mode tcp
	option splice-auto
	timeout connect 2s
	timeout client 5m
	timeout server 5m
$(hp_fe web "${HTTP_PORT[haproxy]}" 80)
$(hp_fe bulk "${BULK_PORT[haproxy]}" 8090)
$(hp_fe hold "${HOLD_PORT[haproxy]}" 8070)
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
events { worker_connections $((IDLE + 1000)); }
stream {
	upstream web { server ${BE[0]}:80; server ${BE[1]}:80; server ${BE[2]}:80; }
	upstream bulk { server ${BE[0]}:8090; server ${BE[1]}:8090; server ${BE[2]}:8090; }
	upstream hold { server ${BE[0]}:8070; server ${BE[1]}:8070; server ${BE[2]}:8070; }
	upstream dns { server ${BE[0]}:53; server ${BE[1]}:53; server ${BE[2]}:53; }
	server { listen $VIP_V4:${HTTP_PORT[nginx]} reuseport; proxy_pass web; }
	server { listen $VIP_V4:${BULK_PORT[nginx]} reuseport; proxy_pass bulk; }
	server { listen $VIP_V4:${HOLD_PORT[nginx]} reuseport; proxy_pass hold; }
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
if [ -n "${XLBD_B:-}" ]; then
	ns_bpf_prefix "$NS_LB"
	"${NS_BPF[@]}" "$XLBD_B" -c "$LAB_DIR/xlbB.yaml" -f --socket "$LAB_DIR/xlbB.sock" \
		>"$LAB_DIR/xlbB.log" 2>&1 </dev/null &
	PID[xlbB]=$!
	LAB_PIDS+=("${PID[xlbB]}")
	# Up when it listens: verifying its XDP program takes 10 s or more
	# on a loaded VM, longer than the checks below wait.
	wait_for 60 grep -q "proxy: listening" "$LAB_DIR/xlbB.log" ||
		echo "# e2e_proxy: xlbB not listening after 60 s" >&2
fi
start_bg haproxy haproxy -db -f "$LAB_DIR/haproxy.cfg"
start_bg nginx nginx -p "$LAB_DIR/ngx" -e "$LAB_DIR/ngx/error.log" -c "$LAB_DIR/ngx/nginx.conf"
start_bg dnsdist dnsdist --supervised --disable-syslog -C "$LAB_DIR/dnsdist.conf"

cl() { timeout 5 ip netns exec "$NS_CL" "$@"; }
http_ok() { cl curl -sf --max-time 2 -o /dev/null "http://$VIP_V4:$1/$2"; }
dns_ok() { cl dig +short +tries=1 +time=1 $2 -p "$1" "@$VIP_V4" who.xlb.test TXT | grep -q rs; }
# An implementation takes part in a test when it is up and answers there.
declare -A UP
IMPLS=(${BENCH_PROXY_IMPLS:-xlb xlbB haproxy nginx dnsdist})
for impl in "${IMPLS[@]}"; do
	[ -n "${PID[$impl]:-}" ] && kill -0 "${PID[$impl]}" 2>/dev/null || continue
	if [ -n "${HTTP_PORT[$impl]:-}" ] && wait_for 8 http_ok "${HTTP_PORT[$impl]}"; then
		for t in ka16 ka256 ka1000 close; do UP[$impl.$t]=1; done
	fi
	[ -n "${HOLD_PORT[$impl]:-}" ] && wait_for 8 http_ok "${HOLD_PORT[$impl]}" && UP[$impl.idle]=1
	[ -n "${BULK_PORT[$impl]:-}" ] && wait_for 8 http_ok "${BULK_PORT[$impl]}" 10m && UP[$impl.bulk]=1
	[ -n "${DNS_PORT[$impl]:-}" ] && wait_for 8 dns_ok "${DNS_PORT[$impl]}" &&
		UP[$impl.dns]=1 UP[$impl.dnsrate]=1
	[ -n "${DNST_PORT[$impl]:-}" ] && wait_for 8 dns_ok "${DNST_PORT[$impl]}" +tcp && UP[$impl.dnstcp]=1
done
# CPU ticks and RSS (KiB) of a balancer: the process (all its threads) and
# its children.
impl_pids() { echo "${PID[$1]}" $(pgrep -P "${PID[$1]}"); }
impl_ticks() { cpu_ticks $(impl_pids "$1"); }
# The scheduler's view of a balancer's threads: "VOLUNTARY INVOLUNTARY
# WAITUS", context switches (a voluntary one is a sleep and its wakeup, an
# involuntary one a preemption) and µs spent runnable but waiting for a CPU
# (/proc/.../schedstat).
impl_switches() {
	local p v n
	read -r v n < <(for p in $(impl_pids "$1"); do cat /proc/"$p"/task/*/status 2>/dev/null; done |
		awk '/^voluntary_ctxt/ { v += $2 } /^nonvoluntary_ctxt/ { n += $2 } END { print v + 0, n + 0 }')
	echo "$v $n $(for p in $(impl_pids "$1"); do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done |
		awk '{ w += $2 } END { printf "%.0f\n", w / 1000 }')"
}
# impl_rss IMPL [FIELD]: VmRSS (default) or RssAnon, the anonymous part
# (heap, buffers), which leaves out what a balancer maps of files or
# shared memory: xlbd's RSS holds the data plane's mmapped BPF maps (the
# dr/tun flow tables, ~360 MiB with the default sizes), no part of its
# proxy's memory.
impl_rss() {
	local p s=0
	for p in $(impl_pids "$1"); do
		s=$((s + $(awk -v f="${2:-VmRSS}:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
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

# dnsperf_rate PORT: queries/s and p99 latency (ms) at DNS_RATE q/s over
# udp; a query that timed out (2 s) counts as 2000 ms.
dnsperf_rate() {
	local q=$LAB_DIR/dnsperf.q
	echo "who.xlb.test TXT" >"$q"
	out=$(timeout $((DUR + 20)) ip netns exec "$NS_CL" dnsperf -s "$VIP_V4" -p "$1" -d "$q" \
		-l "$DUR" -c 8 -q 1000 -t 2 -Q "$DNS_RATE" -v 2>/dev/null)
	echo "$(awk '/Queries per second:/ { qps = $4 } END { print qps + 0 }' <<<"$out") $(
		awk '/^> / { print ($2 == "T") ? 2 : $NF }' <<<"$out" | sort -g |
		awk '{ v[NR] = $1 } END { if (!NR) print "-"
			else printf "%.3f\n", v[NR * 0.99 < 1 ? 1 : int(NR * 0.99)] * 1000 }')"
}

# idle_hold PORT N STOPFILE READYFILE: N connections that sent the start of
# a request (so every balancer holds a backend connection for each), held
# until STOPFILE exists (120 s at most); READYFILE once all connected.
idle_hold() {
	timeout 150 ip netns exec "$NS_CL" python3 - "$VIP_V4" "$@" <<'EOP'
import os, resource, socket, sys, time
host, port, n, stop, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, n + 100))
socks = []
for i in range(n):
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\n")
    socks.append(s)
open(ready, "w").close()
end = time.time() + 120
while time.time() < end and not os.path.exists(stop):
    time.sleep(0.2)
EOP
}

# measure IMPL TEST: prints "RATE P99MS RSSKIB IDLEKIB BASE GONEKIB ANONKIB" (rate
# per second: requests, MiB or queries; p99 "-" where the tool gives none;
# idle only, else "-": IDLEKIB the RSS with the connections held above the
# RSS before the first round held any, BASE the rate without them, GONEKIB
# the RSS above that same start 3 s after they closed; ANONKIB RssAnon).
measure() {
	local impl=$1 t=$2 rate p99 url="http://$VIP_V4:${HTTP_PORT[$1]:-0}/" idle=- rss0
	local stop=$LAB_DIR/idle.stop ready=$LAB_DIR/idle.ready hp base=- gone=-
	case $t in
	ka16|ka256|ka1000)
		read -r rate p99 _ < <(BENCH_CONNS=${t#ka} BENCH_DUR=$DUR wrk_rps "$url") ;;
	close) read -r rate p99 _ < <(BENCH_CONNS=64 BENCH_DUR=$DUR wrk_rps "$url" -H "Connection: close") ;;
	bulk)
		read -r rate p99 _ < <(BENCH_CONNS=8 BENCH_DUR=$DUR wrk_rps \
			"http://$VIP_V4:${BULK_PORT[$impl]}/10m" --timeout 30s)
		rate=$(awk -v r="$rate" 'BEGIN { printf "%.1f", r * 10 }') ;;
	idle)
		url="http://$VIP_V4:${HOLD_PORT[$impl]}/"
		read -r base _ < <(BENCH_CONNS=64 BENCH_DUR=$DUR wrk_rps "$url")
		rm -f "$stop" "$ready"
		# The held connections' memory is counted from the RSS before the
		# first round held any: HAProxy and nginx keep what they freed in
		# their pools and reuse it in the next round (+2 MiB per round
		# after +30 MiB in the first, for HAProxy), so a round's own
		# increment would hide what holding them costs.
		[ -s "$LAB_DIR/rss0.$impl" ] || impl_rss "$impl" >"$LAB_DIR/rss0.$impl"
		rss0=$(<"$LAB_DIR/rss0.$impl")
		idle_hold "${HOLD_PORT[$impl]}" "$IDLE" "$stop" "$ready" >"$LAB_DIR/idle.out" 2>&1 &
		hp=$!
		for ((i = 0; i < 600; i++)); do [ -e "$ready" ] && break; sleep 0.1; done
		sleep 1
		idle=$(( $(impl_rss "$impl") - rss0 ))
		read -r rate p99 _ < <(BENCH_CONNS=64 BENCH_DUR=$DUR wrk_rps "$url")
		touch "$stop"
		wait "$hp"
		sleep 3
		gone=$(( $(impl_rss "$impl") - rss0 ))
		[ -e "$ready" ] || idle=- ;;
	dns) rate=$(dnsperf_port "${DNS_PORT[$impl]}"); p99=- ;;
	dnsrate) read -r rate p99 < <(dnsperf_rate "${DNS_PORT[$impl]}") ;;
	dnstcp) rate=$(dnsperf_port "${DNST_PORT[$impl]}" tcp); p99=- ;;
	esac
	echo "$rate $p99 $(impl_rss "$impl") $idle $base $gone $(impl_rss "$impl" RssAnon)"
}

# perf_start IMPL TEST / perf_stop: BENCH_PROXY_PERF's profiles of xlb.
PERF_PIDS=()
perf_start() {
	local d=${BENCH_PROXY_PERF:-} all=${BENCH_PROXY_PERF_ALL:-}
	[ -n "$d" ] && { [ "$1" = xlb ] || [ -n "$all" ]; } || return 0
	mkdir -p "$d"
	local pids p sp=()
	pids=$(impl_pids "$1" | tr ' ' ,)     # nginx: its workers too
	for p in $(impl_pids "$1"); do sp+=(-p "$p"); done
	perf stat -e "${BENCH_PROXY_PERF_EVENTS:-raw_syscalls:sys_enter,context-switches,task-clock}" -p "$pids" \
		-o "$d/$1.$2.r$((r + 1)).stat" -- sleep "$DUR" >/dev/null 2>&1 &
	PERF_PIDS+=($!)
	if [ -n "${BENCH_PROXY_STAT_ONLY:-}" ]; then    # perf stat alone
		:
	elif [ -n "${BENCH_PROXY_STRACE:-}" ]; then     # syscall counts (slows it)
		timeout -s INT "$DUR" strace -c -f "${sp[@]}" -o "$d/$1.$2.strace" &
	else
		perf record -q -g ${BENCH_PROXY_RECORD_EVENTS:+-e "$BENCH_PROXY_RECORD_EVENTS"} -F 999 $([ -n "$all" ] && [ -z "${BENCH_PROXY_PERF_OWN:-}" ] && echo -a || echo -p "$pids") \
			-o "$d/$1.$2.data" -- sleep "$DUR" >/dev/null 2>&1 &
	fi
	[ -n "${BENCH_PROXY_STAT_ONLY:-}" ] || PERF_PIDS+=($!)
}
# BENCH_PROXY_NSTAT=DIR: each measurement's TCP counters (nstat) of the
# client, balancer and real server namespaces into DIR/IMPL.TEST.rN.nstat.
nstat_ns() { echo "$NS_CL $NS_LB $(for rs in "${RS_NAMES[@]}"; do rs_ns "$rs"; done)"; }
nstat_mark() {
	[ -n "${BENCH_PROXY_NSTAT:-}" ] || return 0
	mkdir -p "$BENCH_PROXY_NSTAT"
	for ns in $(nstat_ns); do
		NSTAT_HISTORY=$LAB_DIR/nstat.$ns ip netns exec "$ns" nstat -n
	done
}
nstat_take() {
	[ -n "${BENCH_PROXY_NSTAT:-}" ] || return 0
	for ns in $(nstat_ns); do
		echo "== $ns"
		NSTAT_HISTORY=$LAB_DIR/nstat.$ns ip netns exec "$ns" nstat
	done >"$BENCH_PROXY_NSTAT/$1.nstat"
}
perf_stop() { [ ${#PERF_PIDS[@]} = 0 ] || wait "${PERF_PIDS[@]}"; PERF_PIDS=(); }

# Packets through the balancer's interface (both ways), for packets per unit.
lb_packets() { ip -n "$NS_LB" -s -j link show elb | jq '.[0].stats64 | .rx.packets + .tx.packets'; }

# Busy time of the whole machine (every CPU, every process: the load
# generator, the real servers, the balancer, the kernel's softirqs, and
# whatever else runs on this shared VM), in clock ticks.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

declare -A SCPU SVCS VCS NCS RQW MCPU PKT RATE P99 CPU RSS ANON IDLEKB GONEKB BESIDE     # RATE[impl.test] = "r1 r2 ...", same for the others
# CPU of the real servers (every process in their namespaces), ticks.
srv_pids() { for rs in "${RS_NAMES[@]}"; do ip netns pids "$(rs_ns "$rs")"; done; }
srv_ticks() { cpu_ticks $(srv_pids); }
# Voluntary context switches (sleeps) of the real servers' threads.
srv_sleeps() { for p in $(srv_pids); do cat /proc/"$p"/task/*/status 2>/dev/null; done |
	awk '/^voluntary_ctxt/ { v += $2 } END { print v + 0 }'; }
# per_unit COUNT RATE BASE [FORMAT]: COUNT over the units measured (rate x
# duration, and the rate without the held connections).
per_unit() {
	awk -v c="$1" -v r="$2" -v s="$DUR" -v b="$3" -v f="${4:-%.3f}" \
		'BEGIN { if (r + 0 > 0) printf f, c / ((r + b) * s); else print "-" }'
}
HOGS=()
for ((h = 0; h < ${BENCH_PROXY_HOG:-0}; h++)); do
	timeout $(( ROUNDS * $(wc -w <<<"$TESTS") * ${#IMPLS[@]} * (DUR + 60) + 60 )) \
		sh -c 'while :; do :; done' &
	HOGS+=($!)
done
t_start=$(date +%s)
for ((r = 0; r < ROUNDS; r++)); do
	if [ $r -gt 0 ] && [ -n "${BENCH_DEADLINE:-}" ] &&
		[ $(( $(date +%s) + ($(date +%s) - t_start) / r + 10 )) -gt "$BENCH_DEADLINE" ]; then
		echo "# e2e_proxy: $r of $ROUNDS rounds (time budget)" >&2
		break
	fi
	for t in $TESTS; do
		# A first round that does not fit whole (bench/run's budget):
		# the rows measured so far, not a timeout without a table.
		if [ -n "${BENCH_DEADLINE:-}" ] && [ $(( $(date +%s) + 60 )) -gt "$BENCH_DEADLINE" ]; then
			echo "# e2e_proxy: out of time before $t, round $((r + 1))" >&2
			PARTIAL=" and part of one"
			break 2
		fi
		for ((k = 0; k < ${#IMPLS[@]}; k++)); do
			impl=${IMPLS[$(( (k + r) % ${#IMPLS[@]} ))]}
			[ -n "${UP[$impl.$t]:-}" ] || continue
			t0=$(impl_ticks "$impl") p0=$(lb_packets) m0=$(machine_ticks)
			read -r v0 n0 w0 < <(impl_switches "$impl")
			s0=$(srv_ticks) sv0=$(srv_sleeps)
			perf_start "$impl" "$t"
			nstat_mark
			read -r rate p99 rss idle base gone anon < <(measure "$impl" "$t")
			perf_stop
			nstat_take "$impl.$t.r$((r + 1))"
			t1=$(impl_ticks "$impl") p1=$(lb_packets) m1=$(machine_ticks) s1=$(srv_ticks) sv1=$(srv_sleeps)
			read -r v1 n1 w1 < <(impl_switches "$impl")
			SCPU[$impl.$t]+=" $(per_unit $(( (s1 - s0) * 1000000 / CLK_TCK )) "$rate" "$base" %.1f)"
			SVCS[$impl.$t]+=" $(per_unit $((sv1 - sv0)) "$rate" "$base")"
			RQW[$impl.$t]+=" $(per_unit $((w1 - w0)) "$rate" "$base" %.1f)"
			VCS[$impl.$t]+=" $(per_unit $((v1 - v0)) "$rate" "$base")"
			NCS[$impl.$t]+=" $(per_unit $((n1 - n0)) "$rate" "$base")"
			MCPU[$impl.$t]+=" $(awk -v d=$((m1 - m0)) -v h="$CLK_TCK" -v r="$rate" -v s="$DUR" \
				-v b="$base" 'BEGIN { if (r + 0 > 0) printf "%.1f", d / h / ((r + b) * s) * 1e6; else print "-" }')"
			PKT[$impl.$t]+=" $(awk -v p=$((p1 - p0)) -v r="$rate" -v s="$DUR" -v b="$base" \
				'BEGIN { if (r + 0 > 0) printf "%.2f", p / ((r + b) * s); else print "-" }')"
			RATE[$impl.$t]+=" $rate"
			P99[$impl.$t]+=" $p99"
			RSS[$impl.$t]+=" $rss"
			ANON[$impl.$t]+=" $anon"
			IDLEKB[$impl.$t]+=" $idle"
			GONEKB[$impl.$t]+=" $gone"
			BESIDE[$impl.$t]+=" $(ratio "$rate" "$base")"
			# CPU per unit: seconds / units measured (rate x duration,
			# and the rate without the held connections), in µs
			CPU[$impl.$t]+=" $(awk -v d=$((t1 - t0)) -v h="$CLK_TCK" -v r="$rate" -v s="$DUR" \
				-v b="$base" 'BEGIN { if (r + 0 > 0) printf "%.1f", d / h / ((r + b) * s) * 1e6; else print "-" }')"
			held=; [ "$idle" = - ] || held=" held +${idle}KiB, +${gone}KiB after they closed"
			echo "# round $((r + 1)) $t $impl: rate ${rate} cpu ${CPU[$impl.$t]##* } servers ${SCPU[$impl.$t]##* } sleeps ${SVCS[$impl.$t]##* } machine ${MCPU[$impl.$t]##* } switches ${VCS[$impl.$t]##* }+${NCS[$impl.$t]##* } pkts ${PKT[$impl.$t]##* }${p99:+ p99 $p99}$held" >&2
		done
	done
done
ROUNDS=$r
[ ${#HOGS[@]} = 0 ] || kill "${HOGS[@]}" 2>/dev/null
kill -TERM "${PID[haproxy]}" "${PID[nginx]}" "${PID[dnsdist]}" ${PID[xlbB]:-} 2>/dev/null
xlbd_stop

# --- table ------------------------------------------------------------------
med() { tr ' ' '\n' | awk 'NF && $1 != "-"' | sort -g | awk '{ v[NR] = $1 } END {
	if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bench_header "e2e_proxy ($WORKERS workers each, $ROUNDS rounds${PARTIAL:-} x ${DUR}s${HOGS:+, beside ${#HOGS[@]} CPU hog(s)}; medians of rate, p99, CPU per unit, RSS)"
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
	local xmem=- bmem=- target=">= 1.2x, <= its CPU"
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
		desc+=" cpu ${cpu}µs/$unit (servers $(med <<<"${SCPU[$p.$t]}") sleeps $(med <<<"${SVCS[$p.$t]}")/$unit, machine $(med <<<"${MCPU[$p.$t]}")) pkts $(med <<<"${PKT[$p.$t]}")/$unit switches $(med <<<"${VCS[$p.$t]}")+$(med <<<"${NCS[$p.$t]}")/$unit waiting $(med <<<"${RQW[$p.$t]}")µs/$unit rss $(( $(printf %.0f "$(med <<<"${RSS[$p.$t]}")") / 1024 ))MiB (anon $(( $(printf %.0f "$(med <<<"${ANON[$p.$t]}")") / 1024 ))MiB)"
		v=$(med <<<"${IDLEKB[$p.$t]}")
		[ "$v" != - ] && desc+=" (+$(per_10k "$v")MiB per 10k held, $(med <<<"${GONEKB[$p.$t]}")KiB left after they closed; rate $(med <<<"${BESIDE[$p.$t]}")x of without them)"
		desc+="; "
		[ $p = xlb ] && xcpu=$cpu xmem=$v
		[ $p != xlb ] && ! ge "$best" "$rate" && { best=$rate; bestn=$p; bcpu=$cpu; bmem=$v; }
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
		# the held connections' memory against the best peer's (issue 14:
		# no more memory per connection)
		if [ "$xmem" != - ] && [ "$bmem" != - ]; then
			target+=", <= its memory per held connection"
			desc="memory per held connection $(ratio "$xmem" "$bmem")x $bestn's; $desc"
			ge "$bmem" "$xmem" || st+="; more memory per held connection than $bestn"
		fi
	fi
	bench_row "$label, xlb / best peer" "${rm}x (${rmin}-${rmax}; ${desc%; })" "$target" "$st" \
		"\"ratio\":\"$rm\",\"ratio_min\":\"$rmin\",\"ratio_max\":\"$rmax\",\"best_peer\":\"$bestn\",\"rounds\":$ROUNDS"
}
# per_10k KIB: the MiB that KIB (added by the IDLE held connections) makes
# per 10 000 of them.
per_10k() { awk -v k="$1" -v n="$IDLE" 'BEGIN { printf "%.1f", k / 1024 / n * 10000 }'; }

# ab_row TEST LABEL UNIT: xlb / xlbB (XLBD_B), rate per round and CPU (idle:
# and the RSS per 10 000 held connections).
ab_row() {
	local t=$1 label=$2 unit=$3 rm rmin rmax x b held=
	[[ " $TESTS " == *" $t "* ]] && [ -n "${RATE[xlbB.$t]:-}" ] && [ -n "${RATE[xlb.$t]:-}" ] || return 0
	read -r rm rmin rmax < <(per_round_ratios "$t" xlbB | sort -g | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }')
	x=$(med <<<"${CPU[xlb.$t]}") b=$(med <<<"${CPU[xlbB.$t]}")
	[ "$(med <<<"${IDLEKB[xlb.$t]}")" != - ] &&
		held="; +$(per_10k "$(med <<<"${IDLEKB[xlb.$t]}")") vs +$(per_10k "$(med <<<"${IDLEKB[xlbB.$t]}")")MiB per 10k held"
	bench_row "$label, xlb / xlbB (XLBD_B)" "${rm}x (${rmin}-${rmax})$held; cpu ${x} vs ${b}µs/$unit; machine $(med <<<"${MCPU[xlb.$t]}") vs $(med <<<"${MCPU[xlbB.$t]}")µs/$unit; p99 $(med <<<"${P99[xlb.$t]}") vs $(med <<<"${P99[xlbB.$t]}")ms; rates $(med <<<"${RATE[xlb.$t]}") vs $(med <<<"${RATE[xlbB.$t]}")" "-" "-"
}
row_for ka16 "HTTP keep-alive, 16 connections" req haproxy nginx
ab_row ka16 "HTTP keep-alive, 16 connections" req
row_for ka256 "HTTP keep-alive, 256 connections" req haproxy nginx
ab_row ka256 "HTTP keep-alive, 256 connections" req
row_for ka1000 "HTTP keep-alive, 1000 connections" req haproxy nginx
ab_row ka1000 "HTTP keep-alive, 1000 connections" req
row_for close "HTTP, new connection per request (64)" req haproxy nginx
ab_row close "HTTP, new connection per request (64)" req
row_for bulk "bulk 10 MiB responses, 8 connections" MiB haproxy nginx
ab_row bulk "bulk 10 MiB responses, 8 connections" MiB
row_for idle "HTTP keep-alive (64) beside $IDLE held connections" req haproxy nginx
ab_row idle "HTTP keep-alive (64) beside $IDLE held connections" req
row_for dns "DNS over UDP, max rate" q dnsdist nginx
ab_row dns "DNS over UDP, max rate" q
# p99_row TEST LABEL PEERS...: at a fixed rate, xlb's p99 / the lowest
# peer p99 (medians); the target is <= 1 at the same rate and less CPU.
p99_row() {
	local t=$1 label=$2 p v best= bestn= x desc= st xcpu bcpu
	shift 2
	[[ " $TESTS " == *" $t "* ]] || return 0
	for p in xlb "$@"; do
		[ -n "${P99[$p.$t]:-}" ] || continue
		v=$(med <<<"${P99[$p.$t]}")
		desc+="$p p99 ${v}ms at $(printf %.0f "$(med <<<"${RATE[$p.$t]}")") q/s cpu $(med <<<"${CPU[$p.$t]}")µs/q; "
		[ $p = xlb ] && { x=$v; xcpu=$(med <<<"${CPU[$p.$t]}"); continue; }
		[ "$v" != - ] && { [ -z "$best" ] || ! ge "$v" "$best"; } && { best=$v; bestn=$p; bcpu=$(med <<<"${CPU[$p.$t]}"); }
	done
	if [ -z "${x:-}" ] || [ "$x" = - ] || [ -z "$best" ]; then
		st="FAIL: no measurement"; v=-
	else
		v=$(ratio "$x" "$best")
		st=ok
		ge "$best" "$x" || st="p99 above $bestn's"
		ge "$bcpu" "$xcpu" || st+="; more CPU per q than $bestn"
	fi
	bench_row "$label, xlb p99 / lowest peer p99" "${v}x (${desc%; })" "<= 1x, <= its CPU" "$st" \
		"\"ratio\":\"$v\",\"best_peer\":\"$bestn\",\"rounds\":$ROUNDS"
}
p99_row dnsrate "DNS over UDP at $DNS_RATE q/s" dnsdist nginx
ab_row dnsrate "DNS over UDP at $DNS_RATE q/s" q
row_for dnstcp "DNS over TCP, 8 pipelined connections" q haproxy nginx dnsdist
ab_row dnstcp "DNS over TCP, 8 pipelined connections" q
