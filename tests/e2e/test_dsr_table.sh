#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The dr/tun flow table: buckets of eight slots found by a keyed hash
# (include/xlb_dsrtab.h), shared by every CPU. 800 keep-alive connections
# to an rr dr service, from a client pinned to one CPU, all answer again
# from their first backend once every one of them is open: under rr the
# entry is the flow's binding (a flow without one is sent by its hash,
# most likely to another real server), and no CPU holds a share of the
# table of its own. The table is sized for 16384 flows, where 800 fill no
# bucket (about one run in 250 million would). Then the same connections held
# under wlc (entries in the connection table) while the scheduler changes
# to rr: xlbd copies them into the buckets (dsr_put), and every one is
# answered again by its backend. Between the two, 40 SYNs that no one
# answers (a spoofed source): `xlb conns` counts them as flows seen by one
# packet only and does not list them. Then xlbd again with its maps left pinned
# and a size that is no power of two (3000 flows, 750 buckets, each flow's found by
# a multiply-shift of its hash): the restart adopts the table, and `xlb
# conns` lists the flows as before. Last, connections held under rr while
# the service becomes lc with a share smaller than they are, and xlbd
# restarts: they keep their backends (held_lc_restart).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNS=800

table_config() {
	local sched=${2:-rr}
	cat <<EOC
interfaces: [elb]
flow_table_size: 1024
dsr_flow_table_size: $1
services:
  - { name: web, vip: $VIP_V4, port: 80, protocol: tcp, mode: dr, scheduler: $sched,
      backends: [${RS_V4[0]}, ${RS_V4[1]}, ${RS_V4[2]}] }
EOC
}

# dsr_conns [STATE]: how many flows of the web service `xlb conns` lists
# in STATE (default "-": the dr/tun table's).
dsr_conns() {
	xlb_cli conns "tcp/$VIP_V4:80" --json |
		jq --arg s "${1:--}" '[.conns[] | select(.state == $s)] | length'
}

# hold_open: CONNS keep-alive connections opened from one CPU (client
# pinned) and held until $LAB_DIR/go appears, then each asked again
# ($LAB_DIR/hold.out says how many answered from the same backend);
# returns once they are open, the holder's pid in HOLD_PID.
hold_open() {
	rm -f "$LAB_DIR/go"
	ip netns exec "$NS_CL" taskset -c 0 timeout 120 python3 -c "$E2E_HOLD_PY" \
		"$VIP_V4" "$CONNS" "$CL_V4" "$LAB_DIR/go" 60 >"$LAB_DIR/hold.out" 2>&1 &
	HOLD_PID=$!
	LAB_PIDS+=("$HOLD_PID")
	wait_for 60 grep -q '^open' "$LAB_DIR/hold.out"
}

# held_connections [SWITCH]: CONNS connections held from one CPU, listed,
# then asked again; with SWITCH, the web service's scheduler is set to rr
# (from the wlc it started with) while they are held, before the listing.
held_connections() {
	local switch=${1:-} out pid what="16384-flow table" state=-
	hold_open
	pid=$HOLD_PID
	if [ -n "$switch" ]; then
		what="held under wlc, then rr"
		# (listed from the connection table, where wlc's entries stay
		# until they expire; the buckets' copies answer the packets)
		state=ESTABLISHED
		out=$(xlb_cli service set "tcp/$VIP_V4:80" --scheduler rr 2>&1)
		check "dsr table: the scheduler set from wlc to rr while $CONNS connections are held" \
			"$out" [ -z "$out" ]
	fi
	N_LISTED=$(dsr_conns "$state")
	# What was listed, by state, for the message when the count is short.
	LISTED_STATES=$(xlb_cli conns "tcp/$VIP_V4:80" --json 2>&1 |
		jq -r '[.conns[].state] | group_by(.) | map("\(.[0]) \(length)") | join(", ")' 2>&1)
	touch "$LAB_DIR/go"
	wait "$pid"
	out=$(sed -n 's/^same //p' "$LAB_DIR/hold.out")
	check "dsr table: $CONNS connections from one CPU, ${out:-none} answered again by their backend ($what)" \
		"$(tail -n 3 "$LAB_DIR/hold.out" | tr '\n' ' ')" [ "${out:-0}" = "$CONNS" ]
	check "dsr table: xlb conns lists the $CONNS open flows (state $state, $what)" \
		"got '$N_LISTED'; listed just after, by state: ${LISTED_STATES:-none}" \
		[ "${N_LISTED:-0}" -ge "$CONNS" ]
}

# held_lc_restart: CONNS connections held under rr (their entries in the
# buckets: their binding), then the service made lc with max_flows 100
# (xlb apply): xlbd copies 100 of them into the connection table, the others
# keep their backends by their buckets (the service marked as having flows
# left there, include/xlb_dsrkey.h); then xlbd restarted onto its pinned
# maps, and the adopting xlbd keeps that mark: every connection answers
# again from its first backend.
held_lc_restart() {
	local out pid left
	hold_open
	pid=$HOLD_PID
	table_config 3000 lc | sed 's/scheduler: lc,/scheduler: lc, max_flows: 100,/' \
		>"$LAB_DIR/xlb-lc.yaml"
	echo "detach_on_exit: false" >>"$LAB_DIR/xlb-lc.yaml"
	out=$(xlb_cli apply -f "$LAB_DIR/xlb-lc.yaml" 2>&1)
	left=$(sed -n 's/.*: \([0-9]*\) of its dr\/tun flows not copied.*/\1/p' "$LAB_DIR/xlbd.log" | tail -1)
	check "dsr table: rr to lc with max_flows 100 while $CONNS connections are held: ${left:-none} flows left in the buckets" \
		"apply: $out; $(grep 'not copied' "$LAB_DIR/xlbd.log" | tail -1)" \
		[ "${left:-0}" -ge "$((CONNS - 100))" ]
	xlbd_stop
	if ! xlbd_start "$LAB_DIR/xlb-lc.yaml" 2>"$LAB_DIR/start.err"; then
		fail "dsr table: xlbd starts again (lc)" "$(cat "$LAB_DIR/start.err")"
	fi
	check "dsr table: the restart adopts the pinned maps (lc)" \
		"$(grep -E 'adopt|fit|fresh' "$LAB_DIR/xlbd.log")" grep -q 'adopted the maps pinned' "$LAB_DIR/xlbd.log"
	touch "$LAB_DIR/go"
	wait "$pid"
	out=$(sed -n 's/^same //p' "$LAB_DIR/hold.out")
	check "dsr table: $CONNS connections, ${out:-none} answered again by their backend (rr, then lc with 100 copied, then a restart)" \
		"$(tail -n 3 "$LAB_DIR/hold.out" | tr '\n' ' ')" [ "${out:-0}" = "$CONNS" ]
}

# SYNs of N flows (client ports 41000...) from SRC to VIP:80, raw: argv SRC VIP N.
SYN_PY='
import socket, struct, sys
src, dst, n = socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2]), int(sys.argv[3])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for i in range(n):
    tcp = struct.pack("!HHIIBBHHH", 41000 + i, 80, 1000 + i, 0, 5 << 4, 0x02, 65535, 0, 0)
    c = csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i + 1, 0, 64, 6, 0, src, dst)
    s.sendto(ip + tcp, (sys.argv[2], 0))
'

# one_packet_flows: the web service's dr flows seen by one packet only
# (`xlb conns` counts them, does not list them).
one_packet_flows() {
	xlb_cli conns "tcp/$VIP_V4:80" --json | jq '.one_packet_flows'
}

# 40 SYNs from a source no host answers for (the real servers' SYN-ACKs
# find no neighbour), so that none of these flows sees a second packet:
# each stored by its SYN without its 5-tuple, none listed, all counted.
one_packet_syns() {
	local listed0 n0 listed1 n1 out
	listed0=$(dsr_conns) n0=$(one_packet_flows)
	ip netns exec "$NS_CL" python3 -c "$SYN_PY" 198.18.0.241 "$VIP_V4" 40
	sleep 0.5
	listed1=$(dsr_conns) n1=$(one_packet_flows)
	check "dsr table: 40 SYNs no one answers: counted as one-packet flows, not listed" \
		"one_packet_flows $n0 -> $n1, listed $listed0 -> $listed1" \
		[ "$((n1 - n0))" = 40 -a "$listed1" = "$listed0" ]
	out=$(xlb_cli conns "tcp/$VIP_V4:80" 2>&1 | tail -n 1)
	check "dsr table: xlb conns says how many flows it does not list" "got '$out'" \
		starts_with "$out" "$n1 dr/tun flow(s) seen by one packet only, not listed"
}

# starts_with S PREFIX
starts_with() {
	[[ "$1" == "$2"* ]]
}

main() {
	local rs out n
	if ! lab_require; then skip "e2e-dsr-table" "$LAB_SKIP_WHY"; summary; return; fi
	if ! have_xlb; then skip "dsr table: xlb" "$XLBD_BIN or $XLB_BIN not built"; summary; return; fi
	lab_start dsr-table || { summary; return; }
	for rs in "${RS_NAMES[@]}"; do
		out=$(xlb_rs "$rs" realserver setup --mode dr --vip "$VIP_V4" 2>&1) ||
			{ fail "dsr table: realserver setup on $rs" "$out"; summary; return; }
	done
	table_config 16384 >"$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "dsr table: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	held_connections
	one_packet_syns
	check "dsr table: xlbd stops cleanly" "$(tail -n 5 "$LAB_DIR/xlbd.log")" xlbd_stop

	# Flows of the connection table copied into the buckets.
	# (the connection table with room for the held ones: wlc keeps them
	# there, and an LRU map may evict before it is full)
	table_config 16384 wlc | sed 's/^flow_table_size: .*/flow_table_size: 8192/' \
		>"$LAB_DIR/xlb-wlc.yaml"
	if ! xlbd_start "$LAB_DIR/xlb-wlc.yaml" 2>"$LAB_DIR/start.err"; then
		fail "dsr table: xlbd starts (wlc)" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	held_connections switch
	check "dsr table: xlbd stops cleanly (wlc, then rr)" "$(tail -n 5 "$LAB_DIR/xlbd.log")" xlbd_stop

	# A size that is no power of two, and the maps kept pinned across a
	# restart: the second xlbd sizes the buckets alike and adopts them.
	table_config 3000 >"$LAB_DIR/xlb2.yaml"
	echo "detach_on_exit: false" >>"$LAB_DIR/xlb2.yaml"
	if ! xlbd_start "$LAB_DIR/xlb2.yaml" 2>"$LAB_DIR/start.err"; then
		fail "dsr table: xlbd starts (3000 flows)" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	http_burst 20 "http://$VIP_V4/" >/dev/null
	check "dsr table: xlbd stops, its maps left pinned" "$(tail -n 5 "$LAB_DIR/xlbd.log")" xlbd_stop
	if ! xlbd_start "$LAB_DIR/xlb2.yaml" 2>"$LAB_DIR/start.err"; then
		fail "dsr table: xlbd starts again" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	check "dsr table: a restart adopts the pinned maps (dsr_flow_table_size 3000)" \
		"$(grep -E 'adopt|fit|fresh' "$LAB_DIR/xlbd.log")" grep -q 'adopted the maps pinned' "$LAB_DIR/xlbd.log"
	n=$(dsr_conns)
	check "dsr table: the adopted table's flows are listed ($n)" "got '$n'" [ "${n:-0}" -ge 20 ]
	held_lc_restart
	check "dsr table: xlbd stops cleanly" "$(tail -n 5 "$LAB_DIR/xlbd.log")" xlbd_stop
	summary
}

main
