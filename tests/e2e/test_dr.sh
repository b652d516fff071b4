#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End-to-end test of dr mode in the namespace lab of lib.sh: real servers set
# up with `xlb realserver setup --mode dr`, HTTP and DNS through an IPv4 VIP,
# HTTP through an IPv6 VIP, shares by weight, counters, backend removal under
# a live connection, and clean shutdown.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_mode_suite dr
