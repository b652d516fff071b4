#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Control plane: (1) time from `xlb backend add` to the first packet that
# reaches the new backend, (2) time of `xlb apply` for a config of 1000
# services x 10 backends (and of the largest that fits, if that is refused).
#
#   ns cl (UDP sender, new source port per packet) -- ns lb (xlbd, dr) -- ns rs1..3
#
# (1): the dr service udp/VIP:53 has rs1 only; the client sends one DNS query
# every ~0.5 ms, each from a new socket (a new flow, so Maglev decides every
# time); tcpdump on rs2 stamps the first query that arrives there; t0 is taken
# just before `xlb backend add` runs. Median of ROUNDS adds (add, measure,
# del). Resolution: the sender's interval (~0.5 ms).
# (2): maglev_table_size 251 for this row (65537 x 1000 tables would measure
# table fill, not the control plane), dr mode, timed around `xlb apply -f`.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH_NAME=control_plane
ROUNDS=${ROUNDS:-5}
[ -n "${QUICK:-}" ] && [ "$QUICK" != 0 ] && ROUNDS=3

if ! lab_require; then echo "SKIP control_plane: $LAB_SKIP_WHY"; exit 0; fi
if ! have_xlb; then echo "SKIP control_plane: build/xlbd missing (make)"; exit 0; fi
command -v tcpdump >/dev/null || bench_install tcpdump || true
lab_init
lab_up 2>"$LAB_DIR/up.err" || { echo "FAIL control_plane: lab: $(cat "$LAB_DIR/up.err")"; exit 1; }
lab_start_servers 2>"$LAB_DIR/up.err" || { echo "FAIL control_plane: servers: $(cat "$LAB_DIR/up.err")"; exit 1; }
for rs in "${RS_NAMES[@]}"; do
	xlb_rs "$rs" realserver setup --mode dr --vip "$VIP_V4" >/dev/null 2>&1 ||
		rs_setup_by_hand "$rs" "$VIP_V4"
done
# Neighbours of all real servers resolved, so the first packet is not an ARP wait.
for ip in "${RS_V4[@]}"; do in_ns "$NS_LB" ping -c1 -W1 "$ip" >/dev/null 2>&1; done

SVC="udp/$VIP_V4:53"
cat >"$LAB_DIR/xlb.yaml" <<EOC
interfaces: [elb]
manage_addresses: true
services:
  - { name: dns, vip: $VIP_V4, port: 53, protocol: udp, mode: dr, scheduler: maglev,
      backends: [ { address: ${RS_V4[0]} } ] }
EOC
xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/xlbd.err" ||
	{ echo "FAIL control_plane: xlbd: $(cat "$LAB_DIR/xlbd.err")"; exit 1; }

PY=$(command -v /usr/bin/python3 || command -v python3)
cat >"$LAB_DIR/sender.py" <<'EOP'
import socket, sys, time
# One DNS query per new socket (new source port = new flow), every ~0.5 ms,
# for at most argv[2] seconds.
vip, secs = sys.argv[1], float(sys.argv[2])
q = bytes.fromhex("abcd010000010000000000000377686f03786c6204746573740000100001")
end = time.time() + secs
while time.time() < end:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(q, (vip, 53))
    s.close()
    time.sleep(0.0005)
EOP

lat=()
for ((r = 0; r < ROUNDS; r++)); do
	cap=$LAB_DIR/cap.$r
	timeout 8 ip netns exec "$(rs_ns rs2)" tcpdump -l -n -tt -c1 -i ers \
		"udp and dst host $VIP_V4 and dst port 53" >"$cap" 2>/dev/null &
	tpid=$!
	sleep 0.5       # tcpdump ready
	timeout 8 ip netns exec "$NS_CL" "$PY" "$LAB_DIR/sender.py" "$VIP_V4" 4 &
	spid=$!
	sleep 0.5       # flows are going to rs1 only
	t0=$(date +%s.%N)
	xlb_cli backend add "$SVC" "${RS_V4[1]}" >/dev/null 2>&1 || echo "# backend add failed" >&2
	wait "$tpid" 2>/dev/null
	kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
	t1=$(awk 'NR == 1 { print $1 }' "$cap")
	[ -n "$t1" ] && lat+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) * 1000 }')")
	xlb_cli backend del "$SVC" "${RS_V4[1]}" >/dev/null 2>&1
	sleep 0.3
done

bench_header "control_plane"
if [ ${#lat[@]} -gt 0 ]; then
	sorted=$(printf '%s\n' "${lat[@]}" | sort -g)
	medv=$(awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }' <<<"$sorted")
	bench_row "backend add -> first packet at the new backend (dr, ms)" \
		"${medv} ms (median of ${#lat[@]}; min $(head -1 <<<"$sorted"), max $(tail -1 <<<"$sorted"))" \
		"none set (issue 6 asks for the figure)" "measured" "\"median_ms\":$medv"
else
	bench_row "backend add -> first packet at the new backend (dr, ms)" "-" "none set" "FAIL: no packet reached the new backend"
fi

# --- config load -------------------------------------------------------------
# gen_config NSVC NBE FILE: NSVC dr services on 198.19.x.y:80, NBE backends each.
gen_config() {
	awk -v ns="$1" -v nb="$2" 'BEGIN {
		print "interfaces: [elb]"; print "maglev_table_size: 251"; print "services:"
		for (s = 0; s < ns; s++) {
			printf "  - { name: s%d, vip: 198.19.%d.%d, port: 80, protocol: tcp, mode: dr, backends: [", s, int(s / 250), s % 250 + 1
			for (b = 0; b < nb; b++) printf "%s198.18.%d.%d", (b ? ", " : " "), 2 + int(b / 250), b % 250 + 1
			print " ] }"
		}
	}' >"$3"
}
load_row() {    # load_row NSVC NBE
	local f=$LAB_DIR/big-$1x$2.yaml t0 t1 out rc ms
	gen_config "$1" "$2" "$f"
	t0=$(date +%s%N)
	out=$(timeout 120 "${NS_BPF[@]}" "$XLB_BIN" apply -f "$f" 2>&1); rc=$?
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	n=$(xlb_cli list --json 2>/dev/null | jq '[.services[]?] | length' 2>/dev/null)
	if [ $rc = 0 ] && [ "${n:-0}" -ge "$1" ]; then
		bench_row "xlb apply, $1 services x $2 backends (maglev_table_size 251)" "$ms ms" \
			"none set" "measured" "\"ms\":$ms"
		return 0
	fi
	bench_row "xlb apply, $1 services x $2 backends (maglev_table_size 251)" \
		"refused after $ms ms: $(head -c 160 <<<"$out" | tr '\n|' '  ')" "loads" "SHORT: not loadable"
	return 1
}
# maglev_table_size cannot change under a running xlbd: restart with 251.
xlbd_stop
sed 's/^interfaces: \[elb\]$/&\nmaglev_table_size: 251/' "$LAB_DIR/xlb.yaml" >"$LAB_DIR/small.yaml"
xlbd_start "$LAB_DIR/small.yaml" 2>"$LAB_DIR/xlbd.err" ||
	{ echo "FAIL control_plane: xlbd: $(cat "$LAB_DIR/xlbd.err")"; exit 1; }
ns_bpf_prefix "$NS_LB"
load_row 1000 10 || load_row 800 10
# Back to one small service, timed too (removing 1000 services).
t0=$(date +%s%N)
timeout 120 "${NS_BPF[@]}" "$XLB_BIN" apply -f "$LAB_DIR/small.yaml" >/dev/null 2>&1
t1=$(date +%s%N)
bench_row "xlb apply back to 1 service (removes the big config)" "$(( (t1 - t0) / 1000000 )) ms" "none set" "measured"
