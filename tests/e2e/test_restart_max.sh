#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Restarts at the limits, in the namespace lab of lib.sh (dr mode): with
# `detach_on_exit: false` and the most services (1024) and backends (16384
# in all) xlbd takes, a restart with the same config and a live apply that
# swaps every other service for new ones succeed, and a connection held
# open across them keeps working (flows kept). After SIGKILL, a restart with
# fewer VIPs removes the dropped one (the record of added addresses is
# written before an address is added), and after a stop and `xlbd
# --cleanup` no VIP is left. A pinned link removed under a running xlbd is
# pinned again (loudly). A restart into another map layout loses no
# connection (the old program forwards until the new one is attached).
#
#   ns cl --- ns sw (br0) --- ns lb (xlbd, XDP on elb)
#                         \-- ns rs1..rs3 (nginx; VIPs on lo)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# max_config FILE PORT-BASE [with-VIP2]: the http service of the lab on
# VIP_V4:80 with its three real servers, and 1023 more on VIP2_V4 (ports
# from PORT-BASE) with 16 backends each that take no traffic: 1024
# services, 16371 backends. Without with-VIP2, only the http service.
max_config() {
	python3 - "$1" "$2" "${3:-}" "$VIP_V4" "$VIP2_V4" "${RS_V4[@]}" <<'EOF2'
import sys
path, base, with2, vip, vip2 = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
rs = sys.argv[6:9]
out = ["interfaces: [elb]", "detach_on_exit: false", "maglev_table_size: 251",
       "services:",
       f"  - {{ name: http, vip: {vip}, port: 80, protocol: tcp, mode: dr, backends: [" +
       ", ".join(f"{{ address: {a} }}" for a in rs) + "] }"]
if with2:
    for i in range(1023):
        bes = ", ".join(f"{{ address: 198.18.0.{20 + j} }}" for j in range(16))
        out.append(f"  - {{ vip: {vip2}, port: {base + i}, protocol: tcp, mode: dr, "
                   f"backends: [{bes}] }}")
open(path, "w").write("\n".join(out) + "\n")
EOF2
}

# A client that holds one connection to the http service and sends a
# request on it every 0.2 s until the file $2 exists (300 s at most); prints
# how many got answers and "open", or "closed" when one failed.
HOLD_PY=$E2E_HTTP_PY'
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], 80), timeout=3)
ok, end, state = 0, time.time() + 300, "open"
while time.time() < end and not os.path.exists(sys.argv[2]):
    try:
        head, body = http_get(s)
        ok += head.startswith(b"HTTP/1.1 200")
    except OSError:
        state = "closed"
        break
    time.sleep(0.2)
print(ok, state)
'

# New connections to the http service, one every 20 ms for $2 seconds;
# prints how many were answered and how many failed.
CONNECT_PY='
import socket, sys, time
end, ok, failed = time.time() + float(sys.argv[2]), 0, 0
while time.time() < end:
    try:
        s = socket.create_connection((sys.argv[1], 80), timeout=2)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        ok += s.recv(64).startswith(b"HTTP/1.1 200")
        s.close()
    except OSError:
        failed += 1
    time.sleep(0.02)
print(ok, failed)
'

# A restart into another map layout (the ABI record says so): fresh maps,
# and the old program forwards until the new one, already holding the
# config, takes its place in the pinned links: no connection fails.
abi_upgrade() {
	local d=$LAB_DIR out bg
	xlbd_start "$d/few.yaml" 2>"$d/start.err" ||
		{ fail "upgrade: xlbd starts" "$(cat "$d/start.err")"; return; }
	xlbd_stop
	echo "an-older-layout" >"/run/xlb/xlbd-ns$LAB_LB_INODE.abi"
	in_ns "$NS_CL" python3 -c "$CONNECT_PY" "$VIP_V4" 6 >"$d/connect.out" 2>&1 &
	bg=$!
	sleep 1
	xlbd_start "$d/few.yaml" 2>"$d/start.err" ||
		{ fail "upgrade: xlbd starts on another layout" "$(cat "$d/start.err")"; return; }
	wait "$bg"
	out=$(cat "$d/connect.out")
	check "upgrade: in place across a layout change" "$(tail -5 "$d/xlbd.log")" \
		grep -q "upgraded in place" "$d/xlbd.log"
	check "upgrade: no connection failed ($out answered, failed)" "$out" [ "${out#* }" = 0 ]
	xlbd_stop
}

vip_on_elb() { ip -n "$NS_LB" -o addr show dev elb | grep -qw "$1"; }
n_services() { xlb_json | jq '.services | length'; }

main() {
	local d out n hold
	lab_start_dr restart_max || { summary; return; }
	d=$LAB_DIR
	max_config "$d/max.yaml" 1000 with2
	max_config "$d/swap.yaml" 3000 with2
	max_config "$d/few.yaml" 0
	abi_upgrade
	# Generous bounds: 16371 backends on a busy 2-core VM; this proves
	# "it starts", not how fast (bench/ measures).
	if ! xlbd_start "$d/max.yaml" 90 2>"$d/start.err"; then
		fail "restart_max: xlbd starts with 1024 services" "$(cat "$d/start.err")"; summary; return
	fi
	n=$(n_services)
	check "restart_max: 1024 services, 16371 backends running" "$n services" [ "$n" = 1024 ]
	in_ns "$NS_CL" python3 -c "$HOLD_PY" "$VIP_V4" "$d/hold.stop" >"$d/hold.out" 2>&1 &
	hold=$!
	LAB_PIDS+=("$hold")
	sleep 1

	check "restart_max: SIGTERM keeps the data plane" "exit failed" xlbd_stop 60
	if xlbd_start "$d/max.yaml" 90 2>"$d/start.err"; then
		pass "restart_max: restart with the same 1024 services succeeds"
	else
		fail "restart_max: restart with the same 1024 services" "$(cat "$d/start.err")"
		summary; return
	fi
	out=$(xlb_cli apply -f "$d/swap.yaml" 2>&1)
	check "restart_max: a live apply swapping 1023 services for others" "$out" \
		[ "$(n_services)" = 1024 ]

	# Pins removed under xlbd: pinned again within the 5 s check, loudly.
	rm -f "$(lb_pin_dir)/link_elb"
	wait_for 12 grep -q "link_elb was removed while xlbd runs: pinned it again" "$LAB_DIR/xlbd.log"
	check "restart_max: a pinned link removed under xlbd is pinned again, loudly" \
		"$(grep -i link_elb "$LAB_DIR/xlbd.log" | tail -3)" [ -e "$(lb_pin_dir)/link_elb" ]

	kill -KILL "$XLBD_PID"
	wait "$XLBD_PID" 2>/dev/null
	XLBD_PID=
	check "restart_max: VIP2 on elb before the restart" "not there" vip_on_elb "$VIP2_V4"
	if xlbd_start "$d/few.yaml" 90 2>"$d/start.err"; then
		pass "restart_max: after SIGKILL with 1024 services, a restart with fewer succeeds"
	else
		fail "restart_max: after SIGKILL, a restart with fewer services" "$(cat "$d/start.err")"
		summary; return
	fi
	check "restart_max: the dropped VIP is removed at once" "still on elb" \
		eval "! vip_on_elb $VIP2_V4"
	touch "$d/hold.stop"
	wait "$hold" 2>/dev/null
	out=$(cat "$d/hold.out")
	# "N open": every request on it was answered, through every restart.
	check "restart_max: a connection held across the restarts and the apply kept working" \
		"$out" [ "${out#* }" = open ]
	check "restart_max: stop" "exit failed" xlbd_stop
	ns_bpf_prefix "$NS_LB"
	out=$(timeout 20 "${NS_BPF[@]}" "$XLBD_BIN" --cleanup -c "$d/few.yaml" 2>&1)
	check "restart_max: after stop and --cleanup no VIP is left" "$(ip -n "$NS_LB" -o addr show dev elb)" \
		eval "! vip_on_elb $VIP_V4 && ! vip_on_elb $VIP2_V4"
	summary
}

main
