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

	out=$(xlb_cli service add "tcp/$VIP2_V4:80" --mode fullnat \
		--health-check 'type: http, path: /, interval: 300ms, timeout: 200ms, rise: 1' 2>&1 &&
		xlb_cli backend add "tcp/$VIP2_V4:80" "${RS_V4[1]}" 2>&1)
	if wait_health 5 "tcp/$VIP2_V4:80" "${RS_V4[1]}" up >/dev/null; then
		pass "ops: service add --health-check: the check of a CLI-made service runs"
	else
		fail "ops: service add --health-check" "$out $(xlb_cli list 2>&1 | tr '\n' '|')"
	fi
	xlb_cli service del "tcp/$VIP2_V4:80" >/dev/null 2>&1
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
	ops_lips
	ops_service_set
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
