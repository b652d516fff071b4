#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Operations end to end, in the namespace lab of lib.sh (dr mode, HTTP and
# DNS on VIP_V4): the Prometheus metrics endpoint, a broken config given to
# `xlb apply` (rejected, traffic goes on), and a hitless restart with
# `detach_on_exit: false`: a paced 6 MiB download through the VIP keeps
# going while xlbd is stopped with SIGTERM and a new one adopts the pinned
# data plane; DNS is answered while no xlbd runs; `xlbd --cleanup` then
# leaves nothing attached, pinned or added.
#
#   ns cl --- ns sw (br0) --- ns lb (xlbd, XDP on elb, metrics 127.0.0.1:9100)
#                         \-- ns rs1..rs3 (nginx, unbound; VIP on lo)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

METRICS_URL=http://127.0.0.1:9100/metrics

restart_config() {
	cat >"$1" <<EOF2
interfaces: [elb]
detach_on_exit: false
metrics: { listen: "127.0.0.1:9100" }
services:
  - name: http
    vip: $VIP_V4
    port: 80
    protocol: tcp
    mode: dr
    backends:
      - { address: ${RS_V4[0]}, weight: 100 }
      - { address: ${RS_V4[1]}, weight: 100 }
      - { address: ${RS_V4[2]}, weight: 100 }
  - name: dns
    vip: $VIP_V4
    port: 53
    protocol: udp
    mode: dr
    backends:
      - { address: ${RS_V4[0]}, weight: 100 }
      - { address: ${RS_V4[1]}, weight: 100 }
      - { address: ${RS_V4[2]}, weight: 100 }
EOF2
}

# metric TEXT NAME LABEL-SUBSTRING: sum of the samples of NAME whose labels
# contain the substring (0 when none).
metric() {
	awk -v n="$2" -v l="$3" '
		$1 !~ /^#/ { split($0, a, /[{ ]/) }
		$1 !~ /^#/ && a[1] == n && index($0, l) { s += $NF }
		END { printf "%d\n", s }' <<<"$1"
}

scrape() { timeout 10 ip netns exec "$NS_LB" curl -s --max-time 5 "$@"; }

main() {
	local out n json rc
	lab_start_dr restart || { summary; return; }
	restart_config "$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "restart: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	pass "restart: xlbd starts (detach_on_exit: false, metrics on)"

	# --- metrics --------------------------------------------------------
	n=$(http_burst 60 "http://$VIP_V4/" | grep -c .)
	check "metrics: 60 HTTP requests through the VIP" "$n of 60" [ "$n" = 60 ]
	n=$(dns_burst 20 "$VIP_V4" | grep -c '^rs')
	check "metrics: 20 DNS queries through the VIP" "$n of 20" [ "$n" = 20 ]
	local m1 hdrs
	m1=$(scrape -D "$LAB_DIR/metrics.hdr" "$METRICS_URL")
	hdrs=$(cat "$LAB_DIR/metrics.hdr" 2>/dev/null)
	check "metrics: GET /metrics answers 200 text/plain 0.0.4" "headers: $hdrs" \
		grep -qi '^content-type: text/plain; version=0.0.4' "$LAB_DIR/metrics.hdr"
	check "metrics: xlb_info with HELP and TYPE" "$(head -c 300 <<<"$m1")" \
		grep -q '^# TYPE xlb_info gauge' <<<"$m1"
	n=$(metric "$m1" xlb_service_new_flows_total "service=\"tcp/$VIP_V4:80\"")
	check "metrics: xlb_service_new_flows_total of the HTTP service >= 60" "got $n" [ "$n" -ge 60 ]
	n=$(metric "$m1" xlb_backend_new_flows_total "service=\"tcp/$VIP_V4:80\"")
	check "metrics: xlb_backend_new_flows_total sums to >= 60" "got $n" [ "$n" -ge 60 ]
	n=$(metric "$m1" xlb_service_packets_total "service=\"udp/$VIP_V4:53\"")
	check "metrics: DNS service packets >= 20" "got $n" [ "$n" -ge 20 ]
	n=$(( $(metric "$m1" xlb_datapath_packets_total 'reason="fwd_tx"') +
	      $(metric "$m1" xlb_datapath_packets_total 'reason="fwd_redirect"') ))
	check "metrics: xlb_datapath_packets_total fwd_tx+fwd_redirect moved" "got $n" [ "$n" -gt 0 ]
	n=$(metric "$m1" xlb_backend_up "service=\"tcp/$VIP_V4:80\"")
	check "metrics: xlb_backend_up is 1 for the 3 backends" "sum $n" [ "$n" = 3 ]
	json=$(xlb_json)
	n=$(json_service "$json" "tcp/$VIP_V4:80" new_flows)
	local mn
	mn=$(metric "$(scrape "$METRICS_URL")" xlb_service_new_flows_total "service=\"tcp/$VIP_V4:80\"")
	check "metrics: the same new_flows as xlb list" "list $n, metrics $mn" [ "$n" = "$mn" ]
	out=$(scrape -o /dev/null -w '%{http_code}' "http://127.0.0.1:9100/nope")
	check "metrics: other paths are 404" "got $out" [ "$out" = 404 ]

	# --- a broken config is rejected, traffic goes on ---------------------
	sed 's/mode: dr/mode: bogus/' "$LAB_DIR/xlb.yaml" >"$LAB_DIR/bad.yaml"
	if out=$(xlb_cli apply -f "$LAB_DIR/bad.yaml" 2>&1); then
		fail "apply: a broken config is rejected" "accepted: $out"
	else
		check "apply: a broken config is rejected with file:line:column" "$out" \
			grep -qE 'bad.yaml:[0-9]+:[0-9]+:' <<<"$out"
	fi
	n=$(json_backend_count "$(xlb_json)" "tcp/$VIP_V4:80")
	check "apply: the running config stays" "HTTP backends: $n" [ "$n" = 3 ]
	n=$(http_burst 30 "http://$VIP_V4/" | grep -c .)
	check "apply: traffic goes on after the rejected config" "$n of 30" [ "$n" = 30 ]

	# --- hitless restart --------------------------------------------------
	local pins hdr=$LAB_DIR/big.hdr dl=$LAB_DIR/big.dl before after
	before=$(json_service "$(xlb_json)" "tcp/$VIP_V4:80" new_flows)
	ip netns exec "$NS_CL" timeout 40 curl -s --max-time 35 \
		-D "$hdr" -o "$dl" "http://$VIP_V4/big" &
	local dl_pid=$!
	wait_for 5 grep -qi '^x-backend:' "$hdr"
	sleep 0.5
	pins=$(lb_pin_dir)
	check "restart: maps and links pinned in bpffs" "pin dir '$pins': $(ls "$pins" 2>&1 | tr '\n' ' ')" \
		test -e "$pins/flows" -a -e "$pins/dsr_flows4" -a -e "$pins/dsr_flows6" -a -e "$pins/link_elb"

	# dr flows live in dsr_flows4 (IPv4) and show in xlb conns without a state.
	local conns1 conns2
	conns1=$(xlb_cli conns "tcp/$VIP_V4:80" --json | jq '[.conns[] | select(.state == "-")] | length')
	check "restart: xlb conns lists the dr flows (state -)" "got '$conns1'" [ "${conns1:-0}" -ge 30 ]

	local key1 key2
	key1=$(syn_key)
	check "restart: the SYN proxy's key is set (not all zero)" "got '$key1'" \
		bash -c "[ -n '$key1' ] && [ '$key1' != '0 0 0 0' ]"

	local old_pid=$XLBD_PID
	xlbd_stop
	rc=$?
	check "restart: xlbd exits on SIGTERM" "exit $rc" [ $rc = 0 ]
	check "restart: XDP stays attached with no xlbd" "ip link: $(ip -n "$NS_LB" link show dev elb | head -3)" \
		bash -c "ip -n '$NS_LB' link show dev elb | grep -q 'prog/xdp'"
	check "restart: a log line says the data plane was left running" "log: $(tail -3 "$LAB_DIR/xlbd.log")" \
		grep -q 'left the XDP program attached' "$LAB_DIR/xlbd.log"
	n=$(l2_valid_count)
	check "restart: no cached next hop is used while no xlbd refreshes it" \
		"valid backend_l2 entries: '$n'" [ "$n" = 0 ]
	n=$(dns_burst 20 "$VIP_V4" | grep -c '^rs')
	check "restart: DNS answered while no xlbd runs" "$n of 20" [ "$n" = 20 ]
	local running=no
	kill -0 "$dl_pid" 2>/dev/null && running=yes
	cp "$LAB_DIR/xlbd.log" "$LAB_DIR/xlbd.1.log"
	if xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		pass "restart: a new xlbd starts (pid $XLBD_PID after $old_pid)"
	else
		fail "restart: a new xlbd starts" "$(cat "$LAB_DIR/start.err")"
	fi
	check "restart: the new xlbd adopted the maps and swapped the program" \
		"log: $(grep -v '^$' "$LAB_DIR/xlbd.log" | head -8 | tr '\n' '|')" \
		bash -c "grep -q 'adopted the maps' '$LAB_DIR/xlbd.log' && grep -q 'took over the XDP link of elb' '$LAB_DIR/xlbd.log'"
	key2=$(syn_key)
	check "restart: the SYN proxy's key is kept (cookies handed out stay good)" \
		"before '$key1', after '$key2'" [ -n "$key2" -a "$key2" = "$key1" ]
	conns2=$(xlb_cli conns "tcp/$VIP_V4:80" --json | jq '[.conns[] | select(.state == "-")] | length')
	check "restart: the dr flow table survives the restart" "before $conns1, after $conns2" \
		[ "${conns2:-0}" -ge "${conns1:-1}" ]
	after=$(json_service "$(xlb_json)" "tcp/$VIP_V4:80" new_flows)
	check "restart: counters survive the restart" "before $before, after $after" \
		[ "${after:-0}" -ge "${before:-1}" ]
	n=$(http_burst 30 "http://$VIP_V4/" | grep -c .)
	check "restart: new connections after the restart" "$n of 30" [ "$n" = 30 ]
	n=$(l2_valid_count)
	check "restart: the new xlbd cached the next hops again" \
		"valid backend_l2 entries: '$n'" [ "${n:-0}" -ge 3 ]
	rc=0
	wait "$dl_pid" || rc=$?
	local size
	size=$(stat -c %s "$dl" 2>/dev/null || echo 0)
	if [ $rc = 0 ] && [ $running = yes ] && cmp -s "$dl" "$LAB_DIR/big"; then
		pass "restart: the download spanning the restart finished intact ($size bytes)"
	else
		fail "restart: the download spanning the restart finished intact" \
			"curl exit $rc, running during the gap: $running, $size of $BIG_SIZE bytes"
	fi

	# --- cleanup ----------------------------------------------------------
	xlbd_stop
	check "cleanup: XDP still attached after the second SIGTERM" "no xdp on elb" \
		bash -c "ip -n '$NS_LB' link show dev elb | grep -q 'prog/xdp'"
	ns_bpf_prefix "$NS_LB"
	out=$(timeout 20 "${NS_BPF[@]}" "$XLBD_BIN" --cleanup -c "$LAB_DIR/xlb.yaml" 2>&1)
	rc=$?
	check "cleanup: xlbd --cleanup succeeds" "exit $rc: $out" [ $rc = 0 ]
	check "cleanup: no XDP program left on elb" "$(ip -n "$NS_LB" link show dev elb | head -3)" \
		bash -c "! ip -n '$NS_LB' link show dev elb | grep -q 'prog/xdp'"
	check "cleanup: nothing left pinned" "$(lb_pin_dir)" bash -c "! ls -d /sys/fs/bpf/xlb/*$LAB_LB_INODE* 2>/dev/null"
	check "cleanup: the VIP is gone from the balancer" "$(ip -n "$NS_LB" -4 addr show | grep "$VIP_V4")" \
		bash -c "! ip -n '$NS_LB' -4 addr show | grep -q 'inet $VIP_V4/'"
	summary
}

main
