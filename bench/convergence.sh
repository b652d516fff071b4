#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Scale-out convergence (issue 10): how long until the router's ECMP route
# to a VIP loses node n1, in the two-node lab of tests/e2e/test_scale.sh
# (FRR router with BFD 150 ms x 5, BIRD on each node, xlbd announcing):
#   drain      `xlb node drain` (CLI, xlbd rewrites the file, BIRD
#              `configure`, BGP withdraw, zebra)
#   withdraw   the VIP's last usable backend gets weight 0 (`xlb backend set`):
#              the same path from a state change
#   configure  the file rewritten without the VIP and `birdc configure` by
#              hand: what xlbd does, without xlbd and its CLI
#   disable    `birdc disable xlb_<vip>` by hand: the alternative to
#              `configure` that announce.c did not take (same BGP path)
#   failure    n1's switch port goes down: BFD at the router
# t0 is taken before the command, t1 when `ip route` in the router's
# namespace no longer lists n1 (polled every ~10 ms: that is the
# resolution). Median (min-max) of ROUNDS runs; nothing asserted.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH_NAME=convergence
ROUNDS=${ROUNDS:-5}
[ -n "${QUICK:-}" ] && [ "$QUICK" != 0 ] && ROUNDS=3
SCALE_LAB_ONLY=1
. "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/test_scale.sh"

if ! scale_require; then echo "SKIP convergence: $LAB_SKIP_WHY"; exit 0; fi
if ! have_xlb; then echo "SKIP convergence: build/xlbd missing (make)"; exit 0; fi
lab_init
trap scale_cleanup EXIT
{ scale_topology && start_servers && start_router; } >"$LAB_DIR/up.err" 2>&1 ||
	{ echo "FAIL convergence: lab: $(tail -n 5 "$LAB_DIR/up.err")"; exit 1; }
node_config n1
node_config n2
{ start_bird n1 && start_bird n2 && wait_for 30 bgp_up &&
  xlbd_node_start n1 && xlbd_node_start n2 &&
  wait_for 15 hops_are "$VIP_DR" "$BOTH"; } >>"$LAB_DIR/up.err" 2>&1 ||
	{ echo "FAIL convergence: nodes: $(tail -n 5 "$LAB_DIR/up.err")"; exit 1; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# until_gone: ms from $T0 until the route to the dr VIP lacks n1 (max 10 s).
until_gone() {
	local t
	while hops_are "$VIP_DR" "$BOTH"; do
		t=$(now_ms)
		[ $((t - T0)) -gt 10000 ] && { echo -1; return; }
		sleep 0.01
	done
	echo $(($(now_ms) - T0))
}
back() { wait_for 20 hops_are "$VIP_DR" "$BOTH" && wait_for 15 bfd_up; }
# stats MS...: "median ms (min-max)" over the non-negative values.
stats() {
	printf '%s\n' "$@" | awk '$1 >= 0' | sort -n | awk '
		{ v[NR] = $1 } END { if (!NR) { print "-"; exit }
		  printf "%d ms (%d-%d)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

SVC="tcp/$VIP_DR:$PORT"
proto=xlb_${VIP_DR//./_}
declare -A R
for ((r = 0; r < ROUNDS; r++)); do
	T0=$(now_ms); xlb_n n1 node drain >/dev/null; R[drain]+=" $(until_gone)"
	xlb_n n1 node undrain >/dev/null; back

	xlb_n n1 backend set "$SVC" "${RS_V4[0]}" --weight 0 >/dev/null
	T0=$(now_ms); xlb_n n1 backend set "$SVC" "${RS_V4[1]}" --weight 0 >/dev/null
	R[withdraw]+=" $(until_gone)"
	xlb_n n1 backend set "$SVC" "${RS_V4[0]}" --weight 100 >/dev/null
	xlb_n n1 backend set "$SVC" "${RS_V4[1]}" --weight 100 >/dev/null; back

	cp "$LAB_DIR/n1/vips.conf" "$LAB_DIR/vips.saved"
	T0=$(now_ms); : >"$LAB_DIR/n1/vips.conf"
	birdc_n n1 configure >/dev/null; R[configure]+=" $(until_gone)"
	cp "$LAB_DIR/vips.saved" "$LAB_DIR/n1/vips.conf"; birdc_n n1 configure >/dev/null; back

	T0=$(now_ms); birdc_n n1 disable "$proto" >/dev/null; R[disable]+=" $(until_gone)"
	birdc_n n1 enable "$proto" >/dev/null; back

	T0=$(now_ms); ip -n "$NS_SW" link set pn1 down; R[failure]+=" $(until_gone)"
	ip -n "$NS_SW" link set pn1 up; back
done

# How long BIRD itself takes to answer each command (birdc round trip),
# and the xlb CLI (in the node's namespace, as xlb_n runs it).
cfg_ms=() dis_ms=() cli_ms=()
for ((r = 0; r < ROUNDS; r++)); do
	T0=$(now_ms); xlb_n n1 list >/dev/null; cli_ms+=($(($(now_ms) - T0)))
	T0=$(now_ms); birdc_n n1 configure >/dev/null; cfg_ms+=($(($(now_ms) - T0)))
	T0=$(now_ms); birdc_n n1 disable "$proto" >/dev/null; dis_ms+=($(($(now_ms) - T0)))
	birdc_n n1 enable "$proto" >/dev/null
	back
done

bench_header "convergence at the router (BFD 150 ms x 5)"
bench_row "xlb node drain -> route without the node" "$(stats ${R[drain]})" "drain < 3 s" measured
bench_row "last backend weight 0 -> VIP withdrawn" "$(stats ${R[withdraw]})" "< 1 s" measured
bench_row "file rewritten + birdc configure -> withdrawn (xlbd's path, by hand)" "$(stats ${R[configure]})" "none set" measured
bench_row "birdc disable xlb_VIP -> withdrawn (not used: for comparison)" "$(stats ${R[disable]})" "none set" measured
bench_row "node port down -> route without the node (BFD)" "$(stats ${R[failure]})" "none set" measured
bench_row "birdc configure / birdc disable, round trip" "$(stats "${cfg_ms[@]}") / $(stats "${dis_ms[@]}")" "none set" measured
bench_row "xlb list round trip (the CLI's share of the drain row)" "$(stats "${cli_ms[@]}")" "none set" measured
echo
echo "Median (min-max) of $ROUNDS rounds; the route is polled every ~10 ms."
