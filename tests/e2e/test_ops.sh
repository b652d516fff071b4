#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The operator's daily tools, end to end:
#
#   - `xlbd -t`: a valid config passes (exit 0) and changes nothing on the
#     host; a bad value and a missing interface fail with exit 1 and
#     FILE:LINE:COLUMN on stderr, as `xlbd -c` would reject them.
#   - fullnat with dedicated local addresses (LIPs 198.18.0.50 and
#     2001:db8::50, on no interface before): xlbd adds them to elb, nginx on
#     the real servers sees them as the client (v4 and v6), and they are
#     gone once xlbd stopped.
#   - `xlb service set` changes the scheduler, name, timeouts and health
#     check of a fullnat service while a 6 MB download paced over ~6 s runs
#     through it: the download arrives whole (cmp), the backends keep their
#     weights, the new check reports them up; `xlb service add
#     --health-check` gives a CLI-made service a check that runs.
#   - `xlb conns` lists a held keep-alive connection of the client (its
#     port, the backend that answers it, ESTABLISHED, time left); `xlb list
#     --rate` shows new connections, packets in and out above 0 while 200
#     connections run and 0 new connections once they stopped, the metrics
#     count the replies out; `xlb zero` zeroes one service and leaves
#     another's counters, and zeroes a proxy service's connection counts.
#   - admin states on service adm (fullnat, http check, on_backend_down:
#     reset): with rs2 and rs3 forced down (`--health down`) a held
#     keep-alive connection lands on rs1 and 30 new connections all do;
#     `--health auto` gives them back to the check; `--state drain` on rs1
#     keeps the held connection going while 30 new ones avoid rs1, with its
#     weight kept in `list` and `state: drain` in `save`; `--state maint`
#     resets the held connection (reset) and keeps new ones off rs1; `up`
#     brings it back. A check that fails everywhere (set in place) leaves
#     only the backend forced `--health up` serving.
#   - `xlb apply` of a file of services alone (no metrics:, no interfaces:)
#     to an xlbd whose config has metrics: is accepted; the LIP it leaves
#     out (v6) is removed from elb at once, the one it keeps (v4) at stop.
#
#   cl 198.18.0.1 --- br0 --- lb 198.18.0.2 (XDP; LIPs .50, 2001:db8::50)
#      2001:db8::1     |
#                      +----- rs1..rs3 198.18.0.11-13, 2001:db8::11-13 (nginx)
#
# `xlbd -t` runs in a network namespace of its own, before the lab.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ops_check_config: `xlbd -t` in a fresh namespace (interface lo only).
ops_check_config() {
	local ns=$LAB_ID-chk d=$LAB_DIR out rc before after i
	lab_add_ns "$ns" || { fail "ops: namespace for xlbd -t" "ip netns add $ns"; return; }
	cat >"$d/ok.yaml" <<EOF2
interfaces: [lo]
local_addresses: [198.18.0.2]
services:
  - { vip: $VIP_V4, port: 80, protocol: tcp, mode: dr, backends: [ { address: ${RS_V4[0]} } ] }
EOF2
	before=$(ip -n "$ns" addr show; ip -n "$ns" link show)
	out=$(in_ns "$ns" "$XLBD_BIN" -t -c "$d/ok.yaml" 2>&1)
	rc=$?
	after=$(ip -n "$ns" addr show; ip -n "$ns" link show)
	check "ops: xlbd -t accepts a valid config (exit 0)" "exit $rc: $out" [ $rc = 0 ]
	check "ops: xlbd -t adds no address and attaches nothing" "before: $before after: $after" \
		[ "$before" = "$after" ]

	printf 'interfaces: [lo]\nservices:\n  - { vip: %s, port: 80, protocol: tcp, mode: drr }\n' \
		"$VIP_V4" >"$d/mode.yaml"
	out=$(in_ns "$ns" "$XLBD_BIN" --check -c "$d/mode.yaml" 2>&1)
	rc=$?
	check "ops: xlbd --check rejects an unknown mode with file:line:column (exit 1)" \
		"exit $rc: $out" grep -q "^xlbd: $d/mode.yaml:3:[0-9]*: unknown mode 'drr'" <<<"$out"
	[ $rc = 1 ] || fail "ops: xlbd --check exit status on an unknown mode" "exit $rc"

	printf 'interfaces:\n  - lo\n  - xlbnosuch0\n' >"$d/if.yaml"
	out=$(in_ns "$ns" "$XLBD_BIN" -t -c "$d/if.yaml" 2>&1)
	rc=$?
	check "ops: xlbd -t rejects a missing interface at its line:column (exit 1)" \
		"exit $rc: $out" [ $rc = 1 -a "$out" = "xlbd: $d/if.yaml:3:5: no such interface 'xlbnosuch0'" ]

	# A proxy service whose port another program holds: the start would
	# fail on bind, so the check does.
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$VIP_V4/32" dev lo
	in_ns "$ns" python3 -c 'import socket,sys,time
s=socket.socket(); s.bind((sys.argv[1], 8080)); s.listen(); time.sleep(30)' "$VIP_V4" &
	local holder=$!
	printf 'interfaces: [lo]\nservices:\n  - { name: web, vip: %s, port: 8080, protocol: tcp, mode: proxy, backends: [ { address: "%s:80" } ] }\n' \
		"$VIP_V4" "${RS_V4[0]}" >"$d/port.yaml"
	for i in $(seq 50); do in_ns "$ns" ss -Htln | grep -q ":8080 " && break; sleep 0.1; done
	out=$(in_ns "$ns" "$XLBD_BIN" -t -c "$d/port.yaml" 2>&1)
	rc=$?
	check "ops: xlbd -t rejects a proxy port another program holds (exit 1)" "exit $rc: $out" \
		eval '[ $rc = 1 ] && grep -qx "xlbd: $d/port.yaml: service tcp/$VIP_V4:8080 (web): the address is in use by another program" <<<"$out"'
	ip netns pids "$ns" | xargs -r kill 2>/dev/null
	wait "$holder" 2>/dev/null
	out=$(in_ns "$ns" "$XLBD_BIN" -t -c "$d/port.yaml" 2>&1)
	check "ops: the same config passes once the port is free" "exit $?: $out" \
		grep -q "configuration OK" <<<"$out"
}

# ops_check_running: `xlbd -t` beside the running instance says so and
# passes (the config is one for a reload; the ports are that xlbd's).
ops_check_running() {
	local out rc
	ns_bpf_prefix "$NS_LB"
	out=$("${NS_BPF[@]}" "$XLBD_BIN" -t -c "$LAB_DIR/xlb.yaml" 2>&1)
	rc=$?
	check "ops: xlbd -t beside the running xlbd passes and notes it" "exit $rc: $out" \
		eval '[ $rc = 0 ] && grep -q "note: an xlbd runs instance" <<<"$out"'
}

LIP_V4=198.18.0.50
LIP_V6=2001:db8::50

ops_config() {
	local be4 be6
	be4=$(for a in "${RS_V4[@]}"; do echo "      - { address: $a, weight: 100 }"; done)
	be6=$(for a in "${RS_V6[@]}"; do echo "      - { address: $a, weight: 100 }"; done)
	cat >"$1" <<EOF2
interfaces: [elb]
manage_addresses: true
local_addresses: [$LIP_V4, $LIP_V6]
services:
  - name: web4
    vip: $VIP_V4
    port: 80
    protocol: tcp
    mode: fullnat
    backends:
$be4
  - name: web6
    vip: $VIP_V6
    port: 80
    protocol: tcp
    mode: fullnat
    backends:
$be6
  - name: adm
    vip: $VIP2_V4
    port: 80
    protocol: tcp
    mode: fullnat
    on_backend_down: reset
    health_check: { type: http, path: /, interval: 300ms, timeout: 200ms, rise: 1, fall: 1 }
    backends:
$be4
  - name: prx
    vip: $VIP2_V4
    port: 8080
    protocol: tcp
    mode: proxy
    backends:
      - { address: ${RS_V4[0]}, port: 80 }
metrics: { listen: "127.0.0.1:9100" }
EOF2
}

# lb_has ADDR: ADDR is on an interface of ns lb.
lb_has() { ip -n "$NS_LB" addr show | grep -q "inet6\? $1/"; }

# ops_lips: the dedicated LIPs are added, used, and removed at stop.
ops_lips() {
	local body
	check "ops: xlbd added the LIP $LIP_V4 to elb" "$(ip -n "$NS_LB" -4 addr show dev elb)" \
		lb_has "$LIP_V4"
	check "ops: xlbd added the LIP $LIP_V6 to elb" "$(ip -n "$NS_LB" -6 addr show dev elb)" \
		lb_has "$LIP_V6"
	body=$(in_ns "$NS_CL" curl -s --max-time 3 "http://$VIP_V4/")
	check "ops: fullnat v4 through the dedicated LIP (nginx sees $LIP_V4)" "got '$body'" \
		grep -q "^rs[0-9] $LIP_V4 " <<<"$body"
	body=$(in_ns "$NS_CL" curl -s --max-time 3 "http://[$VIP_V6]/")
	check "ops: fullnat v6 through the dedicated LIP (nginx sees $LIP_V6)" "got '$body'" \
		grep -q "^rs[0-9] $LIP_V6 " <<<"$body"
}

# ops_service_set: in-place edits during a long download.
ops_service_set() {
	local s="tcp/$VIP_V4:80" pid out rc j rs ok
	in_ns "$NS_CL" curl -s --max-time 30 -o "$LAB_DIR/got.big" "http://$VIP_V4/big" &
	pid=$!
	sleep 1.5
	out=$(xlb_cli service set "$s" --scheduler wrr --name web4-set \
		--timeouts 'tcp_established: 1200s' \
		--health-check 'type: tcp, interval: 300ms, timeout: 200ms, rise: 1, fall: 1' 2>&1)
	check "ops: service set (scheduler, name, timeouts, health check) accepted" "$out" \
		[ -z "$out" ]
	wait "$pid"
	rc=$?
	check "ops: a 6 MB download running through the service set arrives whole" \
		"curl exit $rc, $(stat -c %s "$LAB_DIR/got.big" 2>/dev/null) of $BIG_SIZE bytes" \
		cmp -s "$LAB_DIR/got.big" "$LAB_DIR/big"
	j=$(xlb_json)
	check "ops: list shows the new scheduler and name" "$(jq -c '.services[0]' <<<"$j")" \
		[ "$(jq_xlb '[svc($s) | .scheduler + " " + .name] | first' --arg s "$s" <<<"$j")" = "wrr web4-set" ]
	ok=1
	for rs in "${RS_V4[@]}"; do wait_health 5 "$s" "$rs" up >/dev/null || ok=0; done
	check "ops: the health check set in place runs (every backend up)" \
		"$(xlb_cli list 2>&1 | tr '\n' '|')" [ $ok = 1 ]
	out=$(xlb_cli save 2>&1)
	check "ops: save keeps what service set changed" "$out" \
		eval 'grep -q "tcp_established: 1200 }" <<<"$out" && grep -q "name: web4-set" <<<"$out"'

	out=$(xlb_cli service add "tcp/$VIP2_V4:81" --mode fullnat \
		--health-check 'type: http, port: 80, path: /, interval: 300ms, timeout: 200ms, rise: 1' 2>&1 &&
		xlb_cli backend add "tcp/$VIP2_V4:81" "${RS_V4[1]}" 2>&1)
	if wait_health 5 "tcp/$VIP2_V4:81" "${RS_V4[1]}" up >/dev/null; then
		pass "ops: service add --health-check: the check of a CLI-made service runs"
	else
		fail "ops: service add --health-check" "$out $(xlb_cli list 2>&1 | tr '\n' '|')"
	fi
	xlb_cli service del "tcp/$VIP2_V4:81" >/dev/null 2>&1
}

# OPS_HOLD_PY VIP SECONDS [PORT]: one keep-alive connection (to port 80), a
# GET every 0.2 s; prints "ok RS" per answer, "err WHY" and exits when the
# connection breaks.
OPS_HOLD_PY="import socket, sys, time
$E2E_HTTP_PY
s = socket.create_connection((sys.argv[1], int(sys.argv[3]) if len(sys.argv) > 3 else 80), timeout=3)
print('port', s.getsockname()[1], flush=True)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        head, body = http_get(s)
        print('ok', body.decode().split()[0], flush=True)
    except OSError as e:
        print('err', e, flush=True)
        break
    time.sleep(0.2)
"

# spread N: which real servers answer N new connections to adm ("rs1 N ...").
spread() { http_burst "$1" "http://$VIP2_V4/" | tally | tr '\n' ' '; }
# got RS TALLY: the count of RS in a spread.
got() { sed -E "s/.*$1 ([0-9]+).*/\1/" <<<"$2"; }
# last_hold: the last line of the held connection's log.
last_hold() { tail -n 1 "$LAB_DIR/hold.log"; }
# hold_lines_after N: lines of the held connection's log past line N.
hold_after() { tail -n +"$(($1 + 1))" "$LAB_DIR/hold.log"; }

# rate_of SERVICE FIELD: one rate of `xlb list --rate --json`.
rate_of() {
	xlb_cli list --rate --json | jq_xlb '[svc($s) | .rate[$f]] | first // -1' \
		--arg s "$1" --arg f "$2"
}

# ops_conns_rate: conns, list --rate and zero on web4 (fullnat).
ops_conns_rate() {
	local s="tcp/$VIP_V4:80" s6="tcp/[$VIP_V6]:80" hold_pid port rs j c load_pid
	timeout 40 ip netns exec "$NS_CL" python3 -c "$OPS_HOLD_PY" "$VIP_V4" 8 >"$LAB_DIR/hold.log" 2>&1 &
	hold_pid=$!
	wait_for 5 grep -q "^ok" "$LAB_DIR/hold.log"
	port=$(sed -n 's/^port //p' "$LAB_DIR/hold.log")
	rs=$(sed -n 's/^ok //p' "$LAB_DIR/hold.log" | head -n 1)
	j=$(xlb_cli conns "$s" --json)
	c=$(jq -c --arg c "$CL_V4:$port" '.conns[] | select(.client == $c)' <<<"$j")
	check "ops: conns shows the held connection ($CL_V4:$port, $rs, ESTABLISHED)" "$j" \
		eval '[ "$(jq -r ".backend + \" \" + .state + \" \" + .vip" <<<"$c")" = \
			"${RS_V4[$(rs_index "$rs")]} ESTABLISHED $VIP_V4:80" ] &&
			[ "$(jq ".expires_in_ms > 0" <<<"$c")" = true ]'
	c=$(xlb_cli conns --limit 1 | tail -n 1)
	check "ops: conns --limit 1 lists one and counts them all" "$c" \
		grep -q "^1 of [1-9][0-9]* connection(s)$" <<<"$c"
	kill "$hold_pid" 2>/dev/null; wait "$hold_pid" 2>/dev/null

	# Load for the whole measurement: bursts of 20 for at most 5 s.
	(
		end=$((SECONDS + 5))
		while [ $SECONDS -lt $end ] && [ ! -e "$LAB_DIR/load.stop" ]; do
			http_burst 20 "http://$VIP_V4/" >/dev/null
		done
	) &
	load_pid=$!
	sleep 0.3
	j=$(xlb_cli list --rate --json)
	touch "$LAB_DIR/load.stop"
	wait "$load_pid"
	check "ops: list --rate under load: connections/s, packets/s in and out above 0" \
		"$(jq -c --arg s "$s" '.services[] | select(.service == $s) | .rate' <<<"$j")" \
		[ "$(jq_xlb '[svc($s) | .rate | .conns_per_s > 0 and .packets_in_per_s > 0 and
			.bytes_in_per_s > 0 and .packets_out_per_s > 0 and .bytes_out_per_s > 0] | first' \
			--arg s "$s" <<<"$j")" = true ]
	sleep 1
	c=$(rate_of "$s" conns_per_s)
	check "ops: list --rate after the load: 0 new connections/s" "$c" [ "$c" = 0 ]
	c=$(xlb_cli list --rate)
	check "ops: list --rate text: fullnat shows every rate, dr-less '-' nowhere for it" "$c" \
		grep -q "^$s (web4-set) .* cps [0-9]*  in pps [0-9]*  bps [0-9]*  out pps [0-9]*  bps [0-9]*$" <<<"$c"

	c=$(in_ns "$NS_LB" curl -s --max-time 3 http://127.0.0.1:9100/metrics |
		sed -n "s/^xlb_service_packets_out_total{service=\"tcp\/$VIP_V4:80\".*} //p")
	check "ops: metrics count the replies out (xlb_service_packets_out_total)" "got '$c'" \
		[ "${c:-0}" -gt 0 ]
	xlb_cli zero "$s"
	j=$(xlb_json)
	check "ops: zero: the service and its backends count 0 again" \
		"$(jq -c --arg s "$s" '.services[] | select(.service == $s)' <<<"$j")" \
		[ "$(jq_xlb '[svc($s) | .packets + .new_flows + .packets_out +
			([.backends[] | .packets + .new_flows] | add)] | first' --arg s "$s" <<<"$j")" = 0 ]
	check "ops: zero of one service leaves another's counters" "$(json_service "$j" "$s6" packets)" \
		[ "$(json_service "$j" "$s6" packets)" -gt 0 ]

	# Mode proxy: its engine's counters, zeroed the same way.
	local p="tcp/$VIP2_V4:8080"
	http_burst 5 "http://$VIP2_V4:8080/" >/dev/null
	c=$(xlb_json | jq_xlb '[svc($s) | .proxy.total] | first' --arg s "$p")
	xlb_cli zero "$p"
	j=$(xlb_json)
	check "ops: zero of a proxy service: its connections count 0 again (were $c)" \
		"$(jq -c --arg s "$p" '.services[] | select(.service == $s) | .proxy' <<<"$j")" \
		[ "${c:-0}" -ge 5 -a "$(jq_xlb '[svc($s) | .proxy.total + .backends[0].proxy.total] | first' \
			--arg s "$p" <<<"$j")" = 0 ]

	# conns lists the proxy's own connections: a held one, with the
	# backend it was relayed to, and the timeout it has left.
	timeout 40 ip netns exec "$NS_CL" python3 -c "$OPS_HOLD_PY" "$VIP2_V4" 6 8080 \
		>"$LAB_DIR/hold.log" 2>&1 &
	hold_pid=$!
	wait_for 5 grep -q "^ok" "$LAB_DIR/hold.log"
	port=$(sed -n 's/^port //p' "$LAB_DIR/hold.log")
	j=$(xlb_cli conns "$p" --json)
	c=$(jq -c --arg c "$CL_V4:$port" '.conns[] | select(.client == $c)' <<<"$j")
	check "ops: conns of a proxy service shows the held connection ($CL_V4:$port)" "$j" \
		eval '[ "$(jq -r "[.service, .vip, .backend, .state] | join(\" \")" <<<"$c")" = \
			"$p $VIP2_V4:8080 ${RS_V4[0]}:80 ESTABLISHED" ] &&
			[ "$(jq ".expires_in_ms > 0" <<<"$c")" = true ]'
	c=$(xlb_cli conns)
	check "ops: conns without a service lists the proxy's connections too" "$c" \
		grep -q "^tcp   $CL_V4:$port  *$VIP2_V4:8080  *${RS_V4[0]}:80  *ESTABLISHED " <<<"$c"
	kill "$hold_pid" 2>/dev/null; wait "$hold_pid" 2>/dev/null
}

# ops_admin: drain, maint and forced health.
# ops_backup: a backup (sorry) backend takes new connections only while
# every other backend is down, and gives them back when one returns.
ops_backup() {
	local s="tcp/$VIP2_V4:80" t out a
	local r1=${RS_V4[0]} r2=${RS_V4[1]} r3=${RS_V4[2]}
	for a in "$r1" "$r2" "$r3"; do wait_health 5 "$s" "$a" up >/dev/null; done
	xlb_cli backend set "$s" "$r3" --backup true
	t=$(spread 30)
	check "ops: backup rs3 on standby: 30 new connections reach rs1 and rs2 only" "$t" \
		[ "$(got rs3 "$t")" = 0 -a $(($(got rs1 "$t") + $(got rs2 "$t"))) = 30 ]
	out=$(xlb_cli list 2>&1)
	check "ops: list shows the backup on standby" "$out" \
		grep -q -- "-> $r3 .*backup (standby)" <<<"$out"
	xlb_cli backend set "$s" "$r1" --health down && xlb_cli backend set "$s" "$r2" --health down
	t=$(spread 30)
	check "ops: rs1 and rs2 down: 30 new connections all reach the backup rs3" "$t" \
		[ "$(got rs3 "$t")" = 30 ]
	out=$(xlb_cli list 2>&1)
	check "ops: list shows the backup in use" "$out" grep -q -- "-> $r3 .*backup (in use)" <<<"$out"
	out=$(xlb_cli save 2>&1)
	check "ops: save keeps the backup" "$out" grep -q "address: $r3, weight: 100, backup: true }" <<<"$out"
	xlb_cli backend set "$s" "$r1" --health auto
	wait_health 3 "$s" "$r1" up >/dev/null
	t=$(spread 30)
	check "ops: rs1 back: 30 new connections reach rs1, none the backup" "$t" \
		[ "$(got rs1 "$t")" = 30 ]
	xlb_cli backend set "$s" "$r2" --health auto && xlb_cli backend set "$s" "$r3" --backup false
}

ops_admin() {
	local s="tcp/$VIP2_V4:80" t n out hold_pid j
	local r1=${RS_V4[0]} r2=${RS_V4[1]} r3=${RS_V4[2]}
	for a in "$r1" "$r2" "$r3"; do wait_health 5 "$s" "$a" up >/dev/null; done
	xlb_cli backend set "$s" "$r2" --health down && xlb_cli backend set "$s" "$r3" --health down
	j=$(xlb_json)
	check "ops: --health down shows as a forced down in list" "$(jq -c '.services[2].backends' <<<"$j")" \
		[ "$(jq_xlb '[be($s; $a) | .health + " " + (.health_forced|tostring)] | first' \
			--arg s "$s" --arg a "$r2" <<<"$j")" = "down true" ]
	t=$(spread 30)
	check "ops: rs2 and rs3 forced down: 30 new connections all reach rs1" "$t" \
		[ "$(got rs1 "$t")" = 30 ]
	timeout 40 ip netns exec "$NS_CL" python3 -c "$OPS_HOLD_PY" "$VIP2_V4" 30 >"$LAB_DIR/hold.log" 2>&1 &
	hold_pid=$!
	wait_for 5 grep -q "^ok" "$LAB_DIR/hold.log"
	xlb_cli backend set "$s" "$r2" --health auto && xlb_cli backend set "$s" "$r3" --health auto
	wait_health 3 "$s" "$r2" up >/dev/null; wait_health 3 "$s" "$r3" up >/dev/null
	t=$(spread 60)
	check "ops: --health auto: the check decides again (rs2 and rs3 get flows)" "$t" \
		[ "$(got rs2 "$t")" -gt 0 -a "$(got rs3 "$t")" -gt 0 ]

	out=$(xlb_cli backend set "$s" "$r1" --state drain 2>&1)
	n=$(wc -l <"$LAB_DIR/hold.log")
	t=$(spread 30)
	sleep 0.5
	check "ops: drain: 30 new connections avoid rs1" "$out $t" \
		[ "$(got rs1 "$t")" = 0 -a $(($(got rs2 "$t") + $(got rs3 "$t"))) = 30 ]
	check "ops: drain: the held connection to rs1 goes on" "$(hold_after "$n" | sort | uniq -c | tr '\n' ' ')" \
		eval '[ "$(hold_after "$n" | grep -c "^ok rs1")" -ge 2 ] && ! grep -q "^err" "$LAB_DIR/hold.log"'
	j=$(xlb_json)
	check "ops: drain: list keeps the weight (100) and says draining" "$(jq -c '.services[2].backends[0]' <<<"$j")" \
		[ "$(jq_xlb '[be($s; $a) | (.weight|tostring) + " " + .state + " " + .admin_state] | first' \
			--arg s "$s" --arg a "$r1" <<<"$j")" = "100 draining drain" ]
	out=$(xlb_cli save 2>&1)
	check "ops: save keeps the drain" "$out" grep -q "address: $r1, weight: 100, state: drain }" <<<"$out"

	n=$(wc -l <"$LAB_DIR/hold.log")
	xlb_cli backend set "$s" "$r1" --state maint
	wait_for 5 grep -q "^err" "$LAB_DIR/hold.log"
	check "ops: maint (on_backend_down: reset): the held connection to rs1 ends" \
		"$(hold_after "$n" | sort | uniq -c | tr '\n' ' ')" grep -q "^err" "$LAB_DIR/hold.log"
	t=$(spread 30)
	check "ops: maint: 30 new connections avoid rs1" "$t" \
		[ "$(got rs1 "$t")" = 0 -a $(($(got rs2 "$t") + $(got rs3 "$t"))) = 30 ]
	xlb_cli backend set "$s" "$r1" --state up
	t=$(spread 60)
	check "ops: state up: rs1 gets new connections again" "$t" [ "$(got rs1 "$t")" -gt 0 ]
	kill "$hold_pid" 2>/dev/null; wait "$hold_pid" 2>/dev/null

	# A check that fails everywhere: only the backend forced up serves.
	xlb_cli service set "$s" --health-check 'type: http, path: /nope, interval: 300ms, timeout: 200ms, rise: 1, fall: 1'
	xlb_cli backend set "$s" "$r3" --health up
	wait_health 5 "$s" "$r1" down >/dev/null; wait_health 5 "$s" "$r2" down >/dev/null
	t=$(spread 30)
	check "ops: every check fails, rs3 forced up: 30 new connections all reach rs3" \
		"$t $(xlb_cli list 2>&1 | tr '\n' '|')" [ "$(got rs3 "$t")" = 30 ]
}

# ops_apply_services: the ipvsadm import pipeline, a file of services alone.
ops_apply_services() {
	local out
	printf 'local_addresses: [%s]\nservices:\n  - { vip: %s, port: 8080, protocol: tcp, mode: dr, backends: [%s] }\n' \
		"$LIP_V4" "$VIP_V4" "${RS_V4[0]}" >"$LAB_DIR/svc-only.yaml"
	out=$(xlb_cli apply -f "$LAB_DIR/svc-only.yaml" 2>&1)
	check "ops: apply of a file without metrics:/interfaces: to an xlbd with metrics: is accepted" \
		"$out" [ "$(xlb_cli list --json | jq '.services | length')" = 1 ]
	check "ops: a LIP the applied file drops is removed, the one it keeps stays" \
		"$(ip -n "$NS_LB" addr show dev elb)" eval '! lb_has "$LIP_V6" && lb_has "$LIP_V4"'
	out=$(printf 'flow_table_size: 4096\n' >"$LAB_DIR/fixed.yaml"; xlb_cli apply -f "$LAB_DIR/fixed.yaml" 2>&1)
	check "ops: apply changing a fixed key is still refused" "$out" \
		grep -q "'flow_table_size' cannot change while xlbd runs" <<<"$out"
}

main() {
	if ! lab_require; then skip "e2e-ops" "$LAB_SKIP_WHY"; summary; return; fi
	if ! have_xlb; then skip "ops: xlb" "$XLBD_BIN or $XLB_BIN not built (make)"; summary; return; fi
	lab_start ops || { summary; return; }
	ops_check_config
	ops_config "$LAB_DIR/xlb.yaml"
	if ! lb_has "$LIP_V4" && ! lb_has "$LIP_V6" &&
		xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		pass "ops: xlbd starts (fullnat with LIPs not on the host)"
	else
		fail "ops: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	ops_check_running
	ops_lips
	ops_service_set
	ops_conns_rate
	ops_backup
	ops_admin
	ops_apply_services
	if xlbd_stop; then pass "ops: xlbd stops cleanly"
	else fail "ops: xlbd stops cleanly" "$(tail -n 5 "$LAB_DIR/xlbd.log")"; fi
	check "ops: the LIPs are gone once xlbd stopped" "$(ip -n "$NS_LB" addr show dev elb)" \
		eval '! lb_has "$LIP_V4" && ! lb_has "$LIP_V6"'
	check "ops: the balancer's own address stays" "$(ip -n "$NS_LB" addr show dev elb)" \
		lb_has "$LB_V4"
	if [ "$T_FAILED" -gt 0 ]; then
		log "xlbd log (last 30 lines):"
		tail -n 30 "$LAB_DIR/xlbd.log" | sed 's/^/#   /'
	fi
	summary
}

main
