# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Helpers of the bench/ lab scripts: the e2e lab of tests/e2e/lib.sh (same
# namespaces, addresses, real servers, cleanup on exit) plus load generators
# bounded in time and a results table. Sourced, not run.
LAB_ID=${LAB_ID:-xlbb$$}
. "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/lib.sh"

BENCH_DUR=${BENCH_DUR:-10}               # seconds per measurement
[ -n "${QUICK:-}" ] && [ "${QUICK}" != 0 ] && BENCH_DUR=${BENCH_QUICK_DUR:-2}
BENCH_CONNS=${BENCH_CONNS:-32}           # wrk connections (bounded)
BENCH_JSONL=${BENCH_JSONL:-/dev/null}    # one JSON object per row is appended here

# bench_install PKG...: apt-get install what is missing (idempotent).
bench_install() {
	local p miss=()
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || miss+=("$p"); done
	[ ${#miss[@]} = 0 ] && return 0
	DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y "${miss[@]}" >/dev/null 2>&1 ||
		{ timeout 300 apt-get update >/dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y "${miss[@]}" >/dev/null 2>&1; }
}

# bench_header: the table's head (markdown).
bench_header() {
	echo "| $1 | measured | target | |"
	echo "|---|---|---|---|"
}

# bench_row NAME MEASURED TARGET STATUS [JSON-EXTRA]: a table line and a JSON row.
bench_row() {
	echo "| $1 | $2 | $3 | $4 |"
	printf '{"bench":"%s","row":"%s","measured":"%s","target":"%s","status":"%s"%s}\n' \
		"${BENCH_NAME:-}" "$1" "$2" "$3" "$4" "${5:+,$5}" >>"$BENCH_JSONL"
}

# ratio A B -> A/B with 2 decimals, or "-" when B is 0 or empty.
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
# ge A B -> true when A >= B (numbers)
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

# wrk_rps URL [EXTRA-ARGS...]: requests/s and p99 (ms) of a bounded wrk run
# from the client namespace: prints "RPS P99MS ERRORS".
wrk_rps() {
	local url=$1 out
	shift
	out=$(timeout $((BENCH_DUR + 20)) ip netns exec "$NS_CL" wrk -t2 -c"$BENCH_CONNS" \
		-d"${BENCH_DUR}s" --timeout 2s --latency "$@" "$url" 2>&1)
	awk '/Requests\/sec:/ { rps = $2 }
	     /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 }
			else if (v ~ /ms$/) { sub(/ms/, "", v) }
			else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }
			p99 = v }
	     /Non-2xx|Socket errors/ { err = err $0 }
	     END { printf "%s %s %s\n", rps + 0, p99 + 0, (err == "" ? "none" : "yes") }' <<<"$out"
}

# dnsperf_qps SERVER: queries/s and p99 is not reported by dnsperf; prints
# "QPS LOST_PCT" of a bounded run (who.xlb.test TXT, 8 clients).
dnsperf_qps() {
	local server=$1 q=$LAB_DIR/dnsperf.q out
	echo "who.xlb.test TXT" >"$q"
	out=$(timeout $((BENCH_DUR + 20)) ip netns exec "$NS_CL" dnsperf -s "$server" -d "$q" \
		-l "$BENCH_DUR" -c 8 -q 200 -t 2 2>&1)
	awk '/Queries per second:/ { qps = $4 }
	     /Queries lost:/ { gsub(/[()%]/, "", $4); lost = $4 }
	     END { printf "%s %s\n", qps + 0, lost + 0 }' <<<"$out"
}

# cpu_ticks PID...: utime+stime (clock ticks) summed over the processes.
cpu_ticks() {
	local p s=0 t
	for p in "$@"; do
		t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || t=0
		s=$((s + ${t:-0}))
	done
	echo $s
}
CLK_TCK=$(getconf CLK_TCK)
