#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The dr/tun flow table holds dsr_flow_table_size flows whichever CPUs the
# traffic arrives on. With one LRU list per CPU the kernel gives each
# possible CPU an equal share of the entries; the lab's balancer interface
# is a veth with one receive queue, on which XDP runs on one CPU at a time,
# like a NIC with fewer queues than CPUs. There xlbd keeps one common list
# (and says so in its log): 800 keep-alive connections to an rr dr service
# with a 1024-entry table, from a client pinned to one CPU, all answer
# again from their first backend once every one of them is open. (With a
# list per CPU on 2 CPUs, 512 entries held them: 455 of 800 lost their
# entry, and rr, which picks a flow without entry by its hash, sent their
# next segment to another real server.) Then xlbd again, on the veth and a
# second interface with as many receive queues as CPUs: one list per CPU,
# the faster one for new flows; its size, one more than a multiple of the
# CPUs, rounded up as the kernel does, so that a restart adopts the pinned
# maps.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNS=800

table_config() {
	cat <<EOC
interfaces: [$1]
flow_table_size: 1024
dsr_flow_table_size: 1024
services:
  - { name: web, vip: $VIP_V4, port: 80, protocol: tcp, mode: dr, scheduler: rr,
      backends: [${RS_V4[0]}, ${RS_V4[1]}, ${RS_V4[2]}] }
EOC
}

# lru_flags: the map flags of the balancer's pinned IPv4 dr/tun flow table
# (2: BPF_F_NO_COMMON_LRU, one list per CPU).
lru_flags() {
	local d m
	d=$(lb_pin_dir) || return 1
	for m in dsr_flows4 dsr_flows; do
		[ -e "$d/$m" ] || continue
		bpftool -j map show pinned "$d/$m" 2>/dev/null | jq -r '.flags // empty'
		return
	done
}

held_connections() {
	local out pid
	rm -f "$LAB_DIR/go"
	ip netns exec "$NS_CL" taskset -c 0 timeout 120 python3 -c "$E2E_HOLD_PY" \
		"$VIP_V4" "$CONNS" "$CL_V4" "$LAB_DIR/go" 60 >"$LAB_DIR/hold.out" 2>&1 &
	pid=$!
	LAB_PIDS+=("$pid")
	wait_for 60 grep -q '^open' "$LAB_DIR/hold.out"
	touch "$LAB_DIR/go"
	wait "$pid"
	out=$(sed -n 's/^same //p' "$LAB_DIR/hold.out")
	check "dsr table: $CONNS connections from one CPU, ${out:-none} answered again by their backend (1024-entry table)" \
		"$(tail -n 3 "$LAB_DIR/hold.out" | tr '\n' ' ')" [ "${out:-0}" = "$CONNS" ]
}

main() {
	local rs out flags
	if ! lab_require; then skip "e2e-dsr-table" "$LAB_SKIP_WHY"; summary; return; fi
	if ! have_xlb; then skip "dsr table: xlb" "$XLBD_BIN or $XLB_BIN not built"; summary; return; fi
	if [ "$(nproc)" -lt 2 ]; then
		skip "e2e-dsr-table" "one CPU: a list per CPU is the common list"; summary; return
	fi
	lab_start dsr-table || { summary; return; }
	for rs in "${RS_NAMES[@]}"; do
		out=$(xlb_rs "$rs" realserver setup --mode dr --vip "$VIP_V4" 2>&1) ||
			{ fail "dsr table: realserver setup on $rs" "$out"; summary; return; }
	done
	table_config elb >"$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "dsr table: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	flags=$(lru_flags)
	check "dsr table: one receive queue for $(nproc) CPUs: one common LRU list (flags ${flags:-?}), said in the log" \
		"$(grep -i 'lru' "$LAB_DIR/xlbd.log")" \
		[ "$flags" = 0 ] && grep -q 'one common LRU list' "$LAB_DIR/xlbd.log"
	held_connections
	check "dsr table: xlbd stops cleanly" "$(tail -n 5 "$LAB_DIR/xlbd.log")" xlbd_stop

	# A second interface with as many receive queues as CPUs.
	ip -n "$NS_LB" link add eq numtxqueues "$(nproc)" numrxqueues "$(nproc)" type veth \
		peer name eqp numtxqueues "$(nproc)" numrxqueues "$(nproc)"
	ip -n "$NS_LB" link set eq up
	ip -n "$NS_LB" link set eqp up
	# A size that is no multiple of the CPUs, and the maps kept pinned
	# across a restart.
	table_config "elb, eq" | sed "s/^dsr_flow_table_size: .*/dsr_flow_table_size: $((1024 * $(nproc) + 1))/" \
		>"$LAB_DIR/xlb2.yaml"
	echo "detach_on_exit: false" >>"$LAB_DIR/xlb2.yaml"
	if ! xlbd_start "$LAB_DIR/xlb2.yaml" 2>"$LAB_DIR/start.err"; then
		fail "dsr table: xlbd starts on elb and eq" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	flags=$(lru_flags)
	check "dsr table: $(( $(nproc) + 1 )) receive queues for $(nproc) CPUs: one LRU list per CPU (flags ${flags:-?})" \
		"$(grep -i 'lru' "$LAB_DIR/xlbd.log")" [ "$flags" = 2 ]
	check "dsr table: xlbd stops, its maps left pinned" "$(tail -n 5 "$LAB_DIR/xlbd.log")" xlbd_stop
	# The kernel rounds a per-CPU LRU's size up to a multiple of the CPUs:
	# xlbd's definition must match it, or the next xlbd cannot reuse the
	# pinned maps and starts with fresh ones (every flow lost).
	if ! xlbd_start "$LAB_DIR/xlb2.yaml" 2>"$LAB_DIR/start.err"; then
		fail "dsr table: xlbd starts again" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	check "dsr table: a restart adopts the pinned maps (dsr_flow_table_size $((1024 * $(nproc) + 1)), $(nproc) CPUs)" \
		"$(grep -E 'adopt|fit|fresh' "$LAB_DIR/xlbd.log")" grep -q 'adopted the maps pinned' "$LAB_DIR/xlbd.log"
	check "dsr table: xlbd stops cleanly (elb, eq)" "$(tail -n 5 "$LAB_DIR/xlbd.log")" xlbd_stop
	summary
}

main
