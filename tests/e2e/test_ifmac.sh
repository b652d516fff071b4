#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End-to-end test of the destination-MAC check after a MAC change (mode dr):
# the balancer's elb gets a new MAC while xlbd runs, the client learns it
# (ARP), and VIP traffic to the new MAC must be forwarded again once xlbd's
# periodic refresh (5 s) rewrote the data plane's if_macs entry. Without the
# refresh the data plane passes those frames as "another host's", and the
# balancer's own stack answers the VIP (which it holds) with a RST.
#
#   cl 198.18.0.1 --- br0 --- lb 198.18.0.2 (XDP on elb)
#                      |
#                      +----- rs1..rs3 198.18.0.11-13 (nginx :80)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NEW_MAC=02:00:00:00:ee:01

http_ok() { in_ns "$NS_CL" curl -sf --max-time 1 -o /dev/null "http://$VIP_V4/"; }

main() {
	local out rs
	if ! lab_require; then skip "e2e-ifmac" "$LAB_SKIP_WHY"; summary; return; fi
	if ! have_xlb; then skip "ifmac: xlb" "$XLBD_BIN or $XLB_BIN not built (make)"; summary; return; fi
	lab_start ifmac || { summary; return; }
	for rs in "${RS_NAMES[@]}"; do
		out=$(xlb_rs "$rs" realserver setup --mode dr --vip "$VIP_V4" 2>&1) ||
			{ fail "ifmac: realserver setup on $rs" "$out"; summary; return; }
	done
	e2e_config dr "$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "ifmac: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	check "ifmac: HTTP through $VIP_V4 before the change" "curl failed" http_ok

	ip -n "$NS_LB" link set dev elb address "$NEW_MAC"
	ip -n "$NS_CL" neigh flush dev ecl
	check "ifmac: HTTP through $VIP_V4 to elb's new MAC (within the 5 s refresh)" \
		"no answer within 15 s; $(tail -n 3 "$LAB_DIR/xlbd.log" | tr '\n' '|')" \
		wait_for 15 http_ok
	check "ifmac: xlbd logged the new MAC" "$(tail -n 5 "$LAB_DIR/xlbd.log" | tr '\n' '|')" \
		grep -q "the MAC of elb changed.*$NEW_MAC" "$LAB_DIR/xlbd.log"
	summary
}

main
