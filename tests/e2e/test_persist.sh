#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End-to-end test of persistence (IPVS -p) in the namespace lab of lib.sh,
# one xlbd with dr, fullnat and proxy services:
#  - dr, port "*" with persistence: 20 HTTP connections from one client reach
#    one backend, and DNS over TCP (port 53) reaches that same backend; a
#    service without persistence (VIP2:80) spreads them. Drained
#    (weight 0), the backend gets no more of the client, which moves to one
#    other backend and stays there when the weight comes back.
#  - dr over IPv6: 20 connections, one backend.
#  - fullnat, port "*": HTTP and DNS over TCP on one backend; udp/53 with lc
#    and a 4 s persistence (longer than a lost query's 2 s wait): 10 queries
#    stay on one backend although lc would rotate them, and once the client
#    has been away longer than 4 s it moves
#    (lc then picks a backend without its 10 live flows).
#  - proxy: 20 connections reach one backend; without persistence they spread.
#  - `xlb list` shows "persistent", `xlb save` keeps persistence and its netmask.
#  - wlc in dr (VIP2:80, weights 1:1:2), as IPVS in DR: 40 connections held
#    open at once split 10/10/20 (within 2) by the flow entries counted per
#    backend, which `xlb list` shows as active connections.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VIP3_V4=198.18.0.102    # fullnat and proxy

persist_config() {
	cat >"$1" <<EOF2
interfaces: [elb]
manage_addresses: true
local_addresses: [$LB_V4]
services:
  - name: dr-all
    vip: $VIP_V4
    port: "*"
    protocol: tcp
    mode: dr
    persistence: 60
    backends: [${RS_V4[0]}, ${RS_V4[1]}, ${RS_V4[2]}]
  - name: dr-wlc
    vip: $VIP2_V4
    port: 80
    protocol: tcp
    mode: dr
    scheduler: wlc
    backends:
      - { address: ${RS_V4[0]}, weight: 1 }
      - { address: ${RS_V4[1]}, weight: 1 }
      - { address: ${RS_V4[2]}, weight: 2 }
  - name: dr6
    vip: $VIP_V6
    port: 80
    protocol: tcp
    mode: dr
    persistence: 60
    persistence_netmask: 64
    backends: [${RS_V6[0]}, ${RS_V6[1]}, ${RS_V6[2]}]
  - name: fn-all
    vip: $VIP3_V4
    port: "*"
    protocol: tcp
    mode: fullnat
    persistence: 60
    persistence_netmask: 255.255.255.0
    backends: [${RS_V4[0]}, ${RS_V4[1]}, ${RS_V4[2]}]
  - name: fn-lc
    vip: $VIP3_V4
    port: 53
    protocol: udp
    mode: fullnat
    scheduler: lc
    persistence: 4
    backends: [${RS_V4[0]}, ${RS_V4[1]}, ${RS_V4[2]}]
  - name: px
    vip: $VIP3_V4
    port: 8080
    protocol: tcp
    mode: proxy
    scheduler: rr
    persistence: 60
    backends: ["${RS_V4[0]}:80", "${RS_V4[1]}:80", "${RS_V4[2]}:80"]
  - name: px-plain
    vip: $VIP3_V4
    port: 8081
    protocol: tcp
    mode: proxy
    scheduler: rr
    backends: ["${RS_V4[0]}:80", "${RS_V4[1]}:80", "${RS_V4[2]}:80"]
EOF2
}

# backends_of LINES: the distinct backends ("rsN") of reply lines, sorted.
backends_of() { awk '/^rs/ { print $1 }' <<<"$1" | sort -u | tr '\n' ' ' | sed 's/ $//'; }
# count_of LINES: reply lines.
count_of() { grep -c '^rs' <<<"$1"; }

# one_backend LABEL N LINES: all N replies came from a single backend.
one_backend() {
	local b n
	b=$(backends_of "$3")
	n=$(count_of "$3")
	if [ "$n" = "$2" ] && [ -n "$b" ] && [ "${b// /}" = "$b" ]; then
		pass "$1 ($n on $b)"
	else
		fail "$1" "$n of $2 answered, by: $b"
	fi
}

# dr: port "*" keeps the client on one backend across ports; drain moves it.
persist_dr() {
	local http dns x y out
	http=$(http_burst 20 "http://$VIP_V4/")
	one_backend "dr: 20 connections with persistence reach one backend" 20 "$http"
	x=$(backends_of "$http")
	dns=$(dns_burst 10 "$VIP_V4" tcp)
	check "dr: port \"*\": DNS over TCP (port 53) reaches the same backend $x" \
		"backends: $(backends_of "$dns") ($(count_of "$dns") of 10 answered)" \
		[ "$(backends_of "$dns")" = "$x" -a "$(count_of "$dns")" = 10 ]
	http=$(http_burst 20 "http://$VIP2_V4/")
	check "dr: 20 connections without persistence spread" \
		"backends: $(backends_of "$http") ($(count_of "$http") of 20)" \
		[ "$(backends_of "$http" | wc -w)" -ge 2 -a "$(count_of "$http")" = 20 ]

	[ -n "$x" ] || return
	if ! out=$(xlb_cli backend set "tcp/$VIP_V4:*" "${RS_V4[$(rs_index "$x")]}" \
		--weight 0 2>&1); then
		fail "dr: drain the persistent backend" "$out"
		return
	fi
	http=$(http_burst 20 "http://$VIP_V4/")
	y=$(backends_of "$http")
	one_backend "dr: drained $x: the client moves to one other backend" 20 "$http"
	check "dr: drained $x gets none of the client's new connections" "backends: $y" \
		[ -n "$y" -a "$y" != "$x" ]
	xlb_cli backend set "tcp/$VIP_V4:*" "${RS_V4[$(rs_index "$x")]}" --weight 100 \
		>/dev/null 2>&1
	http=$(http_burst 20 "http://$VIP_V4/")
	check "dr: $x back at weight 100: the client stays on $y" \
		"backends: $(backends_of "$http") ($(count_of "$http") of 20)" \
		[ "$(backends_of "$http")" = "$y" -a "$(count_of "$http")" = 20 ]

	http=$(http_burst 20 "http://[$VIP_V6]/")
	one_backend "dr: IPv6: 20 connections with persistence reach one backend" 20 "$http"
}

# dns_ports FIRST N: N DNS queries over udp to VIP3 from the client, each
# from its own source port FIRST, FIRST+1, ... (not the kernel's random
# ones, which could repeat an earlier query's live flow).
dns_ports() {
	local i
	for ((i = 0; i < $2; i++)); do
		dns_burst 1 "$VIP3_V4" udp "$CL_V4#$(($1 + i))"
	done
}

# fullnat: port "*" across ports; lc with a short persistence.
persist_fullnat() {
	local http dns x y
	http=$(http_burst 20 "http://$VIP3_V4/")
	one_backend "fullnat: 20 connections with persistence reach one backend" 20 "$http"
	x=$(backends_of "$http")
	dns=$(dns_burst 10 "$VIP3_V4" tcp)
	check "fullnat: port \"*\": DNS over TCP reaches the same backend $x" \
		"backends: $(backends_of "$dns") ($(count_of "$dns") of 10 answered)" \
		[ "$(backends_of "$dns")" = "$x" -a "$(count_of "$dns")" = 10 ]

	dns=$(dns_ports 41000 10)
	one_backend "fullnat: lc + persistence: 10 UDP flows stay on one backend" 10 "$dns"
	x=$(backends_of "$dns")
	# Away longer than the persistence: the next query is lc's, which
	# avoids the backend holding the client's 10 live UDP flows. Other
	# source ports than theirs: a query from one of them would be their
	# flow, still live, on x.
	sleep 5
	dns=$(dns_ports 41010 10)
	y=$(backends_of "$dns")
	one_backend "fullnat: after the persistence ran out, one backend again" 10 "$dns"
	check "fullnat: after the persistence ran out the client moved ($x -> $y)" \
		"backends: $y" [ -n "$y" -a "$y" != "$x" ]
}

# wlc_active: the active connections xlb list counts on dr-wlc's backends.
wlc_active() {
	xlb_json | jq_xlb '[svc($s) | .backends[] | .active_conns // 0] | add // 0' \
		--arg s "tcp/$VIP2_V4:80"
}

# wlc in dr: held connections split by the counted flow entries.
persist_dr_wlc() {
	local out pid n tal conns=0 i
	tcp_hold_burst 40 "$VIP2_V4" 80 4 >"$LAB_DIR/hold.out" 2>/dev/null &
	pid=$!
	# While they are held (4 s after all opened): all 40 established.
	# Polled for as long as the client holds them (opening 40 took over
	# 3 s on a loaded machine), at most 30 s.
	for ((i = 0; i < 150 && conns < 40; i++)); do
		sleep 0.2
		kill -0 "$pid" 2>/dev/null || break
		conns=$(wlc_active)
	done
	wait "$pid"
	out=$(cat "$LAB_DIR/hold.out")
	n=$(count_of "$out")
	tal=$(tally <<<"$out")
	check "dr wlc: 40 held connections split 10/10/20 by weight ($(echo $tal))" \
		"$n of 40 answered" awk -v n="$n" '
		{ c[$1] = $2 } END { exit !(n == 40 && c["rs1"] >= 8 && c["rs1"] <= 12 &&
			c["rs2"] >= 8 && c["rs2"] <= 12 && c["rs3"] >= 18 && c["rs3"] <= 22) }' \
		<<<"$tal"
	check "dr wlc: xlb list counts the held connections as active ($conns)" \
		"active_conns: $conns" \
		[ "${conns:-0}" -ge 40 ]
}

persist_proxy() {
	local http
	http=$(http_burst 20 "http://$VIP3_V4:8080/")
	one_backend "proxy: 20 connections with persistence reach one backend" 20 "$http"
	http=$(http_burst 20 "http://$VIP3_V4:8081/")
	check "proxy: 20 connections without persistence spread" \
		"backends: $(backends_of "$http") ($(count_of "$http") of 20)" \
		[ "$(backends_of "$http" | wc -w)" -ge 2 -a "$(count_of "$http")" = 20 ]
}

persist_cli() {
	local out
	out=$(xlb_cli list 2>&1)
	check "xlb list shows persistence" "$(grep -F "$VIP_V6" <<<"$out")" \
		grep -q "tcp/\[$VIP_V6\]:80 (dr6).*persistent 60 mask /64" <<<"$out"
	out=$(xlb_cli save 2>&1)
	check "xlb save keeps persistence and persistence_netmask" "$out" \
		grep -q "persistence_netmask: 24" <<<"$out"
}

main() {
	local rs v out
	if ! lab_require; then skip "e2e-persist" "$LAB_SKIP_WHY"; summary; return; fi
	lab_start persist || { summary; return; }
	if ! have_xlb; then skip "persist: xlb" "$XLBD_BIN or $XLB_BIN not built"; summary; return; fi
	ip -n "$NS_CL" route add "$VIP3_V4/32" via "$LB_V4"
	for rs in "${RS_NAMES[@]}"; do
		for v in "$VIP_V4" "$VIP2_V4" "$VIP_V6"; do
			out=$(xlb_rs "$rs" realserver setup --mode dr --vip "$v" 2>&1) ||
				{ fail "persist: realserver setup on $rs" "$out"; summary; return; }
		done
	done
	persist_config "$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "persist: xlbd starts" "$(cat "$LAB_DIR/start.err")"
		summary
		return
	fi
	persist_dr
	persist_dr_wlc
	persist_fullnat
	persist_proxy
	persist_cli
	check "persist: xlbd stops cleanly" "$(tail -n 5 "$LAB_DIR/xlbd.log")" xlbd_stop
	if [ "$T_FAILED" -gt 0 ]; then
		log "xlbd log (last 30 lines):"
		tail -n 30 "$LAB_DIR/xlbd.log" | sed 's/^/#   /'
	fi
	summary
}

main
