// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb realserver ...`: entry point for the CLI dispatcher and usage text. */
#include "realserver.h"

const char realserver_usage[] =
	"usage: xlb realserver setup --mode dr|tun --vip VIP [--dev IFACE]\n"
	"       xlb realserver teardown --vip VIP\n"
	"\n"
	"Prepare this host to be a real server of a dr or tun service, or undo it.\n"
	"\n"
	"setup    puts VIP/32 (or /128) on lo. For an IPv4 VIP it sets\n"
	"         net.ipv4.conf.all.arp_ignore=1 and arp_announce=2 so the host\n"
	"         does not answer ARP for the VIP. tun also relaxes rp_filter\n"
	"         (all, lo and IFACE) and attaches xlb's decapsulation XDP program\n"
	"         to IFACE (default: the interface of the default route;\n"
	"         dr does not use --dev).\n"
	"         Running it again changes nothing.\n"
	"teardown restores what setup changed and nothing else: addresses it added,\n"
	"         sysctls it changed (unless another VIP set up here still needs\n"
	"         them), and the XDP program if it is still the one it attached.\n"
	"\n"
	"What setup changed is kept in " REALSERVER_STATE_DIR "/<netns>-<VIP>.state.\n";

/* argv[0] is "realserver"; realserver_main takes the words after it. */
int cli_realserver(int argc, char **argv)
{
	return realserver_main(argc - 1, argv + 1);
}
