#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End-to-end packet rate through the lab (issue 6, part 2): a BPF_PROG_RUN
# generator with BPF_F_TEST_XDP_LIVE_FRAMES (build/bench/xdp_gen) in the
# client namespace sends 60-byte UDP and TCP SYN frames over GEN_FLOWS flows
# (default 131072) to a VIP, port 80; what reaches the real servers is
# counted there (bench/sink.bpf.c drops every IP frame in XDP on ers; the
# veth counts the drops). The balancer namespace runs, in turn (phases), in
# the same run:
#
#   fwd      bench/fwd.bpf.c, a trivial XDP forwarder (MACs, XDP_TX): the
#            limit of this lab on this machine
#   xlb      one xlbd, a VIP per mode: dr .100, tun .101, nat .102, fullnat
#            .103 (tcp and udp services on port 80, Maglev, 3 backends)
#   nft      nftables DNAT (jhash over source address and port, map to the
#            three real servers) through the kernel's stack and conntrack
#
#   ns cl (xdp_gen on ecl)     ns lb (fwd | xlb | nft on elb)     ns rs1..3 (sink on ers)
#   ecl ------------- pcl --- bridge br0 in ns sw --- plb ------ elb
#                                       +------------ prs1..3 -- ers
#
# Each measurement gets its own block of source addresses (fresh flows) and
# two passes: "new", one frame per flow (every frame creates a flow), then
# "est", GEN_SECS seconds cycling over the same flows (every frame finds
# its flow; 131072 distinct flows, so table lookups are cache-cold).
#
# The figure is frames received per CPU second of the path: the generator
# thread's CPU time (the frames' whole way, veth NAPI, bridge, balancer,
# sinks, runs as softirq work on the sending CPU, inside that thread) plus
# ksoftirqd's. The sender runs SCHED_FIFO (GEN_RT), so no other task takes
# its CPU and runs that softirq work on its own account. On these shared
# VMs the CPU figure moves by ~10% between rounds; the wall-clock rate is
# shown too. Rows are ratios per round (xlb / fwd, target >= 0.8; xlb nat / nft,
# target >= 3), median and range over ROUNDS rounds.
# Bounded: each pass stops after its frames or seconds (GEN_PKTS, GEN_SECS);
# under bench/run, rounds after the first only while BENCH_DEADLINE allows.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH_NAME=e2e_packet
ROUNDS=${ROUNDS:-3}
GEN_SECS=${GEN_SECS:-0.5}
GEN_PKTS=${GEN_PKTS:-20000000}
GEN_FLOWS=${GEN_FLOWS:-131072}
GEN_THREADS=${GEN_THREADS:-1}
GEN_RT=${GEN_RT:-50}                     # SCHED_FIFO priority of the sender (0: none)
SIDES=${SIDES:-fwd dr tun nat fullnat nft}
PROTOS=${PROTOS:-udp tcp}
if [ -n "${QUICK:-}" ] && [ "$QUICK" != 0 ]; then
	ROUNDS=1 GEN_SECS=0.3 GEN_FLOWS=32768 SIDES="fwd dr nat nft" PROTOS=udp
fi
GEN=$XLB_BUILD/bench/xdp_gen
SINK=$XLB_BUILD/bench/sink.bpf.o
FWD=$XLB_BUILD/bench/fwd.bpf.o
RS_MAC=(02:00:00:00:01:11 02:00:00:00:01:12 02:00:00:00:01:13)  # fwd.bpf.c knows these
LIPS=("$LB_V4" 198.18.0.4 198.18.0.5 198.18.0.6)   # fullnat: 4 x 31744 local ports per backend

if ! lab_require; then echo "SKIP e2e_packet: $LAB_SKIP_WHY"; exit 0; fi
if ! have_xlb; then echo "SKIP e2e_packet: build/xlbd missing (make)"; exit 0; fi
for f in "$GEN" "$SINK" "$FWD"; do
	[ -e "$f" ] || { echo "SKIP e2e_packet: $f missing (make bench-build)"; exit 0; }
done
bench_install nftables conntrack || true
command -v conntrack >/dev/null ||
	echo "# e2e_packet: no conntrack tool: nftables rounds after the first share a conntrack table" >&2
lab_init
lab_up 2>"$LAB_DIR/up.err" || { echo "FAIL e2e_packet: lab: $(cat "$LAB_DIR/up.err")"; exit 1; }

# --- the lab, fixed for a packet flood -----------------------------------------
# Known MACs on the real servers, permanent neighbours on the balancer and
# static bridge entries: nothing ages out or floods while the sinks drop
# everything (they pass ARP, but nothing answers the VIP).
in_ns "$NS_LB" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
	net.ipv4.conf.elb.send_redirects=0
for i in "${!RS_NAMES[@]}"; do
	ns=$(rs_ns "${RS_NAMES[$i]}")
	ip -n "$ns" link set ers address "${RS_MAC[$i]}"
	ip -n "$NS_LB" neigh replace "${RS_V4[$i]}" lladdr "${RS_MAC[$i]}" dev elb nud permanent
	bridge -n "$NS_SW" fdb replace "${RS_MAC[$i]}" dev "p${RS_NAMES[$i]}" master static
done
LB_MAC=$(ip -n "$NS_LB" -j link show elb | jq -r '.[0].address')
CL_MAC=$(ip -n "$NS_CL" -j link show ecl | jq -r '.[0].address')
bridge -n "$NS_SW" fdb replace "$LB_MAC" dev plb master static
bridge -n "$NS_SW" fdb replace "$CL_MAC" dev pcl master static
for a in "${LIPS[@]:1}"; do ip -n "$NS_LB" addr add "$a/24" dev elb 2>/dev/null; done
# LAB.md fact 1 for the generator's XDP_TX out of ecl.
ip -n "$NS_SW" link set dev pcl xdpdrv obj "$LAB_DIR/xdp_pass.bpf.o" sec xdp ||
	{ echo "FAIL e2e_packet: cannot attach XDP_PASS to pcl"; exit 1; }
for rs in "${RS_NAMES[@]}"; do
	ip -n "$(rs_ns "$rs")" link set dev ers xdpdrv obj "$SINK" sec xdp ||
		{ echo "FAIL e2e_packet: cannot attach the sink to $rs"; exit 1; }
done

# rs_drops: frames the sinks dropped so far (all real servers).
rs_drops() {
	local rs s=0 n
	for rs in "${RS_NAMES[@]}"; do
		n=$(in_ns "$(rs_ns "$rs")" ethtool -S ers 2>/dev/null |
			awk '/rx_queue_[0-9]+_xdp_drops:/ { s += $2 } END { print s + 0 }')
		s=$((s + n))
	done
	echo $s
}

# --- the balancer's phases -------------------------------------------------------
# One xlbd serves all four modes, one VIP each (so a round restarts it once):
VIP_OF_dr=198.18.0.100 VIP_OF_tun=198.18.0.101 VIP_OF_nat=198.18.0.102 VIP_OF_fullnat=198.18.0.103
VIP_OF_fwd=198.18.0.100 VIP_OF_nft=198.18.0.102
vip_of() { local v=VIP_OF_$1; echo "${!v}"; }
XLB_MODES=
for s in $SIDES; do case $s in dr|tun|nat|fullnat) XLB_MODES+="$s " ;; esac; done
{
	echo "interfaces: [elb]"
	echo "manage_addresses: true"
	echo "tunnel_source_v4: $LB_V4/32"
	echo "local_addresses: [$(IFS=,; echo "${LIPS[*]}" | sed 's/,/, /g')]"
	echo "services:"
	for mode in $XLB_MODES; do
		for proto in tcp udp; do
			echo "  - { name: $mode-$proto, vip: $(vip_of "$mode"), port: 80, protocol: $proto, mode: $mode,"
			echo "      scheduler: maglev, backends: [ { address: ${RS_V4[0]} }, { address: ${RS_V4[1]} }, { address: ${RS_V4[2]} } ] }"
		done
	done
} >"$LAB_DIR/xlb.yaml"
BE_MAP="0 : ${RS_V4[0]}, 1 : ${RS_V4[1]}, 2 : ${RS_V4[2]}"
cat >"$LAB_DIR/lb.nft" <<EOC
table ip xlbbench {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr $VIP_OF_nft tcp dport 80 dnat to jhash ip saddr . tcp sport mod 3 map { $BE_MAP }
		ip daddr $VIP_OF_nft udp dport 80 dnat to jhash ip saddr . udp sport mod 3 map { $BE_MAP }
	}
}
EOC

PHASES=
for s in $SIDES; do
	case $s in
	fwd|nft) PHASES+="$s " ;;
	*) [[ " $PHASES " == *" xlb "* ]] || PHASES+="xlb " ;;
	esac
done
phase_on() {
	case $1 in
	fwd) ip -n "$NS_LB" link set dev elb xdpdrv obj "$FWD" sec xdp ;;
	nft) in_ns "$NS_LB" conntrack -F >/dev/null 2>&1
	     in_ns "$NS_LB" nft -f "$LAB_DIR/lb.nft" ;;
	xlb) xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/xlbd.err" ;;
	esac
}
phase_off() {
	case $1 in
	fwd) ip -n "$NS_LB" link set dev elb xdp off ;;
	nft) in_ns "$NS_LB" nft delete table ip xlbbench 2>/dev/null
	     in_ns "$NS_LB" conntrack -F >/dev/null 2>&1 ;;
	xlb) xlbd_stop || echo "# e2e_packet: xlbd did not stop cleanly" >&2
	     # Killed (stop timed out), it leaves its pinned XDP link behind.
	     if elb_has_xdp; then
		     ns_bpf_prefix "$NS_LB"
		     timeout 30 "${NS_BPF[@]}" "$XLBD_BIN" --cleanup -c "$LAB_DIR/xlb.yaml" >&2
	     fi ;;
	esac
	return 0
}
elb_has_xdp() { ip -n "$NS_LB" link show dev elb | grep -q 'prog/xdp'; }
# side_ok PHASE: the balancer namespace holds what the phase means to
# measure (no leftover XDP program under nftables, ours under fwd).
side_ok() {
	case $1 in
	nft) ! elb_has_xdp ;;
	fwd) ip -n "$NS_LB" -d link show dev elb | grep -q 'xdp_fwd3' ;;
	*) elb_has_xdp ;;
	esac
}

# ksoftirqd_ticks: CPU ticks of the ksoftirqd threads of the generator's
# CPUs (its threads are pinned to CPUs 0..GEN_THREADS-1): softirq work the
# generator's threads left to them.
NCPU=$(nproc)
ksoftirqd_ticks() {
	local c p s=0 t
	for ((c = 0; c < GEN_THREADS && c < NCPU; c++)); do
		for p in $(pgrep -x "ksoftirqd/$c" 2>/dev/null); do
			t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || t=0
			s=$((s + ${t:-0}))
		done
	done
	echo $s
}

# measure SIDE PROTO SRC_BASE N SECS: "PPS PPS_PER_CPU SENT RECEIVED SECONDS"
# of one bounded run of N frames or SECS seconds: received/s of wall time,
# and received per CPU second (the generator's thread, in which most of the
# path runs as softirq work, plus ksoftirqd).
measure() {
	local side=$1 proto=$2 src=$3 n=$4 t=$5 before after k0 k1 out pk secs cpu
	before=$(rs_drops)
	k0=$(ksoftirqd_ticks)
	out=$(timeout 60 ip netns exec "$NS_CL" "$GEN" -i ecl -m "$LB_MAC" \
		-d "$(vip_of "$side")" -P 80 -p "$proto" -s "$src" -f "$GEN_FLOWS" -n "$n" \
		-t "$t" -T "$GEN_THREADS" -R "$GEN_RT" 2>"$LAB_DIR/gen.err")
	sleep 0.2       # frames still in the rings
	after=$(rs_drops)
	k1=$(ksoftirqd_ticks)
	pk=$(sed -n 's/.*packets=\([0-9]*\).*/\1/p' <<<"$out")
	secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")
	cpu=$(sed -n 's/.*cpu=\([0-9.]*\).*/\1/p' <<<"$out")
	if [ -z "$pk" ] || [ -z "$secs" ] || [ -z "$cpu" ]; then
		echo "# e2e_packet: xdp_gen: $(head -c 300 "$LAB_DIR/gen.err")" >&2
		echo "0 0 0 0 0"
		return
	fi
	awk -v r=$((after - before)) -v p="$pk" -v s="$secs" -v c="$cpu" -v k=$((k1 - k0)) -v hz="$CLK_TCK" \
		'BEGIN { c += k / hz; printf "%.0f %.0f %d %d %s\n", r / s, (c > 0 ? r / c : 0), p, r, s }'
}

# Two passes per measurement over a fresh block of GEN_FLOWS flows: "new"
# sends one frame per flow (every frame creates a flow: connection set-up
# rate), "est" then cycles over the same flows for GEN_SECS (every frame
# hits an existing flow / conntrack entry).
declare -A PPS PPC LOSS
m=0
t_start=$(date +%s)
for ((r = 0; r < ROUNDS; r++)); do
	# Within bench/run's time budget: another round only if it still fits.
	if [ $r -gt 0 ] && [ -n "${BENCH_DEADLINE:-}" ] &&
		[ $(( $(date +%s) + ($(date +%s) - t_start) / r + 10 )) -gt "$BENCH_DEADLINE" ]; then
		echo "# e2e_packet: $r of $ROUNDS rounds (time budget)" >&2
		break
	fi
	for phase in $PHASES; do
		if ! phase_on "$phase" || ! side_ok "$phase"; then
			echo "# e2e_packet: $phase did not start (round $r): $(head -c 300 "$LAB_DIR/xlbd.err" 2>/dev/null) $(ip -n "$NS_LB" -d link show dev elb | grep -o "prog/xdp.*")" >&2
			phase_off "$phase"
			continue
		fi
		subs=$phase
		[ "$phase" = xlb ] && subs=$XLB_MODES
		# Warm-up, not counted: the first frames after an XDP attach can
		# be lost while the veth sets its queues up.
		sleep 0.3
		for side in $subs; do
			measure "$side" udp 198.18.200.0 1024 2 >/dev/null
		done
		for side in $subs; do
			for proto in $PROTOS; do
				src=198.18.$((64 + m % 128)).0
				m=$((m + 1))
				for kind in new est; do
					if [ $kind = new ]; then
						read -r pps ppc sent got secs < <(measure "$side" "$proto" "$src" "$GEN_FLOWS" 5)
					else
						read -r pps ppc sent got secs < <(measure "$side" "$proto" "$src" "$GEN_PKTS" "$GEN_SECS")
					fi
					k=$side.$proto.$kind
					PPS[$k]+="$pps "
					PPC[$k]+="$ppc "
					LOSS[$k]+="$(awk -v s="$sent" -v g="$got" 'BEGIN { if (s > 0) { l = 100 * (1 - g / s); printf "%.1f", l < 0 ? 0 : l } else print "-" }') "
					echo "# e2e_packet: round $r $side $proto $kind: $pps pps, $ppc per CPU-s ($got of $sent in ${secs}s)" >&2
				done
			done
		done
		phase_off "$phase"
	done
done
ROUNDS=$r

# --- the table ---------------------------------------------------------------------
med() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# ratios A-LIST B-LIST: per-round ratios "median min max" (lists of equal length)
ratios() {
	local -a a b out=()
	local i
	read -ra a <<<"$1"
	read -ra b <<<"$2"
	for i in "${!a[@]}"; do
		[ -n "${b[$i]:-}" ] && [ "${b[$i]}" != 0 ] && out+=("$(ratio "${a[$i]}" "${b[$i]}")")
	done
	[ ${#out[@]} = 0 ] && { echo "- - -"; return; }
	printf '%s\n' "${out[@]}" | sort -g | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}

# added_ns RATE FWD_RATE: what a frame costs beyond the forwarder's path (ns).
added_ns() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.0f", 1e9 / a - 1e9 / b; else print "-" }'; }
mp() { awk -v v="$1" 'BEGIN { printf "%.3f", v / 1e6 }'; }
bench_header "e2e_packet (60-byte frames, $GEN_FLOWS flows, $ROUNDS rounds, $GEN_THREADS generator thread(s); rates in M frames received at the real servers per CPU second of the path)"
for proto in $PROTOS; do
	for kind in new est; do
		P=$([ "$proto" = udp ] && echo UDP || echo "TCP SYN")
		K=$([ "$kind" = new ] && echo "new flows" || echo "established flows")
		for side in $SIDES; do
			k=$side.$proto.$kind
			v=$(med <<<"${PPC[$k]:-}")
			w=$(med <<<"${PPS[$k]:-}")
			loss=$(med <<<"${LOSS[$k]:-}")
			info="$(mp "$v") M/CPU-s, wall $(mp "$w") Mpps, lost ${loss}%"
			case $side in
			fwd)
				bench_row "$P $K: trivial XDP forwarder (the limit)" "$info" "reference" "measured" \
					"\"side\":\"fwd\",\"proto\":\"$proto\",\"kind\":\"$kind\",\"per_cpu_s\":$v,\"pps\":$w"
				;;
			nft)
				info="$info, +$(added_ns "$v" "$(med <<<"${PPC[fwd.$proto.$kind]:-}")") ns/frame over the forwarder"
				bench_row "$P $K: nftables DNAT (jhash map, conntrack)" "$info" "reference" "measured" \
					"\"side\":\"nft\",\"proto\":\"$proto\",\"kind\":\"$kind\",\"per_cpu_s\":$v,\"pps\":$w"
				;;
			*)
				read -r rm rmin rmax < <(ratios "${PPC[$k]:-}" "${PPC[fwd.$proto.$kind]:-}")
				add=$(added_ns "$v" "$(med <<<"${PPC[fwd.$proto.$kind]:-}")")
				info="$info, +$add ns/frame over the forwarder"
				st="SHORT of target"
				[ "$rm" != - ] && ge "$rm" 0.8 && st=ok
				[ "$v" = 0 ] && st="FAIL: nothing received"
				bench_row "$P $K: xlb $side / forwarder" "${rm}x ($rmin-$rmax; $info)" ">= 0.8x" "$st" \
					"\"side\":\"$side\",\"proto\":\"$proto\",\"kind\":\"$kind\",\"per_cpu_s\":$v,\"pps\":$w,\"ratio\":\"$rm\",\"ratio_min\":\"$rmin\",\"ratio_max\":\"$rmax\""
				if [ "$side" = nat ] && [[ " $SIDES " == *" nft "* ]]; then
					read -r rm rmin rmax < <(ratios "${PPC[nat.$proto.$kind]:-}" "${PPC[nft.$proto.$kind]:-}")
					st="SHORT of target"
					[ "$rm" != - ] && ge "$rm" 3 && st=ok
					bench_row "$P $K: xlb nat / nftables DNAT" "${rm}x ($rmin-$rmax)" ">= 3x" "$st" \
						"\"side\":\"nat/nft\",\"proto\":\"$proto\",\"kind\":\"$kind\",\"ratio\":\"$rm\",\"ratio_min\":\"$rmin\",\"ratio_max\":\"$rmax\""
				fi
				;;
			esac
		done
	done
done
echo
echo "Ratios of frames received per CPU second, per round (alternating phases), median (min-max) over $ROUNDS round(s). The CPU is the generator's thread (the frames' whole way through the lab runs as softirq work on its CPU) plus ksoftirqd; wall = received per second of wall time, which on this shared VM moves with other load. lost = sent but not counted at the real servers."
