#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The operator's daily tools, end to end:
#
#   - `xlbd -t`: a valid config passes (exit 0) and changes nothing on the
#     host; a bad value and a missing interface fail with exit 1 and
#     FILE:LINE:COLUMN on stderr, as `xlbd -c` would reject them.
#
# Needs no lab for `xlbd -t` (it runs in a network namespace of its own).
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

main() {
	if ! lab_require; then skip "e2e-ops" "$LAB_SKIP_WHY"; summary; return; fi
	if ! have_xlb; then skip "ops: xlb" "$XLBD_BIN or $XLB_BIN not built (make)"; summary; return; fi
	lab_init
	ops_check_config
	summary
}

main
