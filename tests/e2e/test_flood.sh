#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Floods against dr, nat and fullnat (one LIP) while legitimate clients run.
# The project's live-frames generator (bench/xdp_gen) sends, from spoofed
# sources, a SYN flood, a bare-ACK flood (two packets per tuple, the
# pattern that makes flood entries look as used as real ones) and a UDP
# flood to each mode's VIP, paced (FLOOD_PPS for FLOOD_S seconds, 12000
# tuples each). During each flood new HTTP connections and DNS queries
# must succeed (at least 90%), five seconds after it all of them; a
# download and 12 idle keep-alive connections opened before the floods
# must answer intact from their backend after all three floods and a
# backend added during the ACK flood. The table is small (32768: the three
# floods of a mode overfill it) and the guard low (300 new flows/s/CPU);
# the guard's actions must be counted. GUARD_RATE=0 runs it without the
# guard. Success counts are asserted, never timings.
#
#   cl 198.18.0.1, 198.18.5.1 (nat client)   lb 198.18.0.2 (XDP on elb, LIP)
#   rs1..rs3 198.18.0.11-13: VIP_DR on lo (dr); 198.18.5.0/24 and the spoofed
#   198.18.64.0/18 routed via lb (nat replies pass through it)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VIP_DR=$VIP_V4          # 198.18.0.100
VIP_NAT=$VIP2_V4        # 198.18.0.101
VIP_FN=198.18.0.102
NAT_CL=198.18.5.1       # nat replies must come back through the balancer
GEN=$XLB_BUILD/bench/xdp_gen
FLOOD_PPS=${FLOOD_PPS:-4000}
FLOOD_S=${FLOOD_S:-3}
FLOOD_FLOWS=$((FLOOD_PPS * FLOOD_S))
FLOOD_NO=0              # floods so far: each gets its own spoofed /24
GUARD_RATE=${GUARD_RATE:-300}

# flood_lab_up: lab_up, the routes above, XDP_PASS on the generator's
# switch port (its frames leave ecl by XDP_TX).
flood_lab_up() {
	local rs ns
	lab_up || return 1
	lab_xdp_pass pcl || return 1
	ip -n "$NS_CL" addr add "$NAT_CL/32" dev ecl
	ip -n "$NS_CL" route add "$VIP_FN/32" via "$LB_V4"
	ip -n "$NS_LB" route add 198.18.5.0/24 via "$CL_V4"
	for rs in "${RS_NAMES[@]}"; do
		ns=$(rs_ns "$rs")
		ip -n "$ns" route add 198.18.5.0/24 via "$LB_V4"
		ip -n "$ns" route add 198.18.64.0/18 via "$LB_V4"
	done
	in_ns "$NS_LB" sysctl -qw net.ipv4.ip_forward=1
}

flood_config() {
	local mode vip svc
	cat <<EOF
interfaces: [elb]
manage_addresses: false
local_addresses: [$LB_V4]
flow_table_size: 32768
flood_guard_rate: $GUARD_RATE
services:
EOF
	for svc in "dr $VIP_DR" "nat $VIP_NAT" "fullnat $VIP_FN"; do
		read -r mode vip <<<"$svc"
		cat <<EOF
  - { name: $mode-http, vip: $vip, port: 80, protocol: tcp, mode: $mode,
      backends: [${RS_V4[0]}, ${RS_V4[1]}] }
  - { name: $mode-dns, vip: $vip, port: 53, protocol: udp, mode: $mode,
      backends: [${RS_V4[0]}, ${RS_V4[1]}, ${RS_V4[2]}] }
EOF
	done
}

# client_src MODE: how the legitimate client reaches MODE's VIP (nat: from
# the address whose replies the real servers route via the balancer).
client_src() { [ "$1" = nat ] && echo "$NAT_CL" || echo "$CL_V4"; }

# legit MODE VIP N: N new HTTP connections and N DNS queries, 10 at a time;
# prints "OK TOTAL".
legit() {
	local mode=$1 vip=$2 n=$3 src h d
	src=$(client_src "$mode")
	h=$(http_burst "$n" "http://$vip/" --interface "$src" | grep -c '^rs')
	d=$(dns_burst "$n" "$vip" udp "$src" | grep -c '^rs')
	echo "$((h + d)) $((2 * n))"
}

# flood MODE VIP KIND: xdp_gen from spoofed sources at FLOOD_PPS for
# FLOOD_S seconds (syn and ack to :80, udp to :53; ack sends every tuple
# twice), in the background; its pid in FLOOD_PID.
flood() {
	local mode=$1 vip=$2 kind=$3 mac port=80 proto=tcp n=$FLOOD_FLOWS
	mac=$(ip -n "$NS_LB" link show elb | awk '/link\/ether/ { print $2 }')
	case $kind in
	ack) proto=ack; n=$((2 * FLOOD_FLOWS)) ;;
	udp) proto=udp; port=53 ;;
	esac
	bg_ns "$NS_CL" "$LAB_DIR/gen.$mode.$kind" "$GEN" -i ecl -m "$mac" -d "$vip" \
		-P "$port" -p "$proto" -s "198.18.$((64 + FLOOD_NO)).0" \
		-f "$FLOOD_FLOWS" -n "$n" -t "$((FLOOD_S + 2))" -r "$((n / FLOOD_S))"
	FLOOD_PID=$BG_PID
	FLOOD_NO=$((FLOOD_NO + 1))
}

# flood_round MODE VIP KIND: legitimate clients during the flood (most
# succeed) and five seconds after it (all succeed).
flood_round() {
	local mode=$1 vip=$2 kind=$3 during ran after sent
	flood "$mode" "$vip" "$kind"
	during=$(legit "$mode" "$vip" 20)
	kill -0 "$FLOOD_PID" 2>/dev/null && ran=yes || ran=no
	wait "$FLOOD_PID"
	sent=$(sed -n 's/^packets=\([0-9]*\).*/\1/p' "$LAB_DIR/gen.$mode.$kind")
	sleep 5
	after=$(legit "$mode" "$vip" 30)
	read -r ok tot <<<"$during"
	check "$mode, $kind flood (${sent:-?} frames): $ok/$tot legitimate during" \
		"flood still running when the clients were done: $ran; ${sent:-no} frames sent" \
		[ "$ran" = yes -a "${sent:-0}" -gt 0 -a "$((ok * 100))" -ge "$((tot * 90))" ]
	read -r ok tot <<<"$after"
	check "$mode, $kind flood: $ok/$tot legitimate 5 s after" "$ok of $tot succeeded" \
		[ "$ok" = "$tot" ]
}

# The client of idle_start: N keep-alive HTTP connections to VIP:80 from
# SRC, one request each, then idle until the file GO exists (at most 90 s),
# then one more request on each. Prints "open N" once all are open, and
# "same K" at the end: the connections whose second answer came from the
# backend of the first.
IDLE_PY='
import os, socket, sys, time
vip, n, src, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
req = b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n"
def ask(s):
    s.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        c = s.recv(4096)
        if not c: raise OSError("closed")
        buf += c
    head, body = buf.split(b"\r\n\r\n", 1)
    ln = int([h.split(b":")[1] for h in head.split(b"\r\n")
              if h.lower().startswith(b"content-length:")][0])
    while len(body) < ln:
        c = s.recv(4096)
        if not c: raise OSError("closed")
        body += c
    return body.split()[0]
conns = []
for i in range(n):
    s = socket.create_connection((vip, 80), timeout=3, source_address=(src, 0))
    conns.append((s, ask(s)))
print("open", len(conns), flush=True)
t = time.time()
while not os.path.exists(go) and time.time() - t < 90:
    time.sleep(0.1)
same = 0
for s, first in conns:
    try:
        same += ask(s) == first
    except OSError:
        pass
print("same", same, flush=True)
'

# idle_start MODE VIP: IDLE_N idle keep-alive connections (IDLE_PY) from
# MODE's client; pid in IDLE_PID once they are open.
IDLE_N=12
idle_start() {
	local src
	src=$(client_src "$1")
	rm -f "$LAB_DIR/idle.go"
	bg_ns "$NS_CL" "$LAB_DIR/idle.$1" timeout 120 python3 -c "$IDLE_PY" "$2" "$IDLE_N" \
		"$src" "$LAB_DIR/idle.go"
	IDLE_PID=$BG_PID
	wait_for 10 grep -q '^open' "$LAB_DIR/idle.$1"
}

# idle_check MODE: every idle connection answers again, from its backend.
idle_check() {
	local mode=$1 same
	touch "$LAB_DIR/idle.go"
	wait "$IDLE_PID"
	same=$(sed -n 's/^same //p' "$LAB_DIR/idle.$mode")
	check "$mode: $IDLE_N idle connections open across the floods and a backend add" \
		"${same:-none} answered again from their backend: $(tail -n 3 "$LAB_DIR/idle.$mode" | tr '\n' ' ')" \
		[ "${same:-0}" = "$IDLE_N" ]
}

# long_start MODE VIP: the lab's 6 MiB /big from MODE's client, read at
# 400 KiB/s (about 15 s: across the three floods and the backend add); pid
# in LONG_PID.
long_start() {
	local src
	src=$(client_src "$1")
	ip netns exec "$NS_CL" timeout 60 curl -s --max-time 55 --limit-rate 400k \
		--interface "$src" \
		-o "$LAB_DIR/long.$1" "http://$2/big" &
	LONG_PID=$!
	LAB_PIDS+=("$LONG_PID")
}

long_check() {
	local mode=$1 rc=0 size
	wait "$LONG_PID" || rc=$?
	size=$(stat -c %s "$LAB_DIR/long.$mode" 2>/dev/null || echo 0)
	check "$mode: a download open across the floods and a backend add arrives intact" \
		"curl exit $rc, $size of $BIG_SIZE bytes, content $(cmp -s "$LAB_DIR/long.$mode" \
		"$LAB_DIR/big" && echo same || echo differs)" \
		[ "$rc" = 0 ] && cmp -s "$LAB_DIR/long.$mode" "$LAB_DIR/big"
}

main() {
	local out mode vip g e ns sl rs
	if ! lab_require; then skip "e2e-flood" "$LAB_SKIP_WHY"; summary; return; fi
	if ! have_xlb; then skip "flood: xlb" "$XLBD_BIN or $XLB_BIN not built (make)"; summary; return; fi
	if [ ! -x "$GEN" ] && ! make -s -C "$XLB_ROOT" "${GEN#"$XLB_ROOT"/}" >/dev/null 2>&1; then
		skip "flood: generator" "cannot build $GEN (make bench-build)"; summary; return
	fi
	lab_start flood flood_lab_up || { summary; return; }
	for rs in "${RS_NAMES[@]}"; do
		out=$(xlb_rs "$rs" realserver setup --mode dr --vip "$VIP_DR" 2>&1) ||
			{ fail "flood: realserver setup on $rs" "$out"; summary; return; }
	done
	flood_config >"$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "flood: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	pass "flood: xlbd starts (dr, nat, fullnat with one LIP; guard at $GUARD_RATE/s)"

	for mode in dr nat fullnat; do
		case $mode in dr) vip=$VIP_DR ;; nat) vip=$VIP_NAT ;; *) vip=$VIP_FN ;; esac
		long_start "$mode" "$vip"
		idle_start "$mode" "$vip"
		flood_round "$mode" "$vip" syn
		# A backend joins while a flood runs: no established flow moves.
		flood "$mode" "$vip" ack
		out=$(xlb_cli backend add "tcp/$vip:80" "${RS_V4[2]}" 2>&1) ||
			fail "$mode: backend add during a flood" "$out"
		wait "$FLOOD_PID"
		sleep 5
		out=$(legit "$mode" "$vip" 30)
		check "$mode, ack flood with a backend added: ${out% *}/${out#* } legitimate 5 s after" \
			"${out% *} of ${out#* } succeeded" [ "${out% *}" = "${out#* }" ]
		flood_round "$mode" "$vip" udp
		long_check "$mode"
		idle_check "$mode"
	done

	g=$(xlb_json | jq -r '.flood_guard | "\(.engaged) \(.flow_not_stored) \(.flow_short_lived)"')
	read -r e ns sl <<<"$g"
	check "flood: the guard engaged and acted (engaged $e, not stored $ns, short-lived $sl)" \
		"xlb list --json flood_guard: $g" [ "${e:-0}" -gt 0 -a "${ns:-0}" -gt 0 -a "${sl:-0}" -gt 0 ]
	xlbd_stop && pass "flood: xlbd stops cleanly" || fail "flood: xlbd stops cleanly" "see $LAB_DIR/xlbd.log"
	summary
}

main "$@"
