// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* BPF fixtures: xlb_decap, the real-server decapsulation program. */
#include "fixture.h"

/* Feeds the tun output for s (to backend be) to xlb_decap and expects the
 * client's original frame back, with the tunnel's MACs. */
static int decap_row(const struct spec *s, const char *be, const uint8_t *mac,
		     char *why, size_t n)
{
	struct pkt orig, tun, exp;

	pkt_mk(&orig, s);
	tun_expect(&tun, &orig, be, mac, s);
	memset(&exp, 0, sizeof(exp));
	eth(&exp, mac, MAC_XA, s->fam == 4 ? 0x0800 : 0x86dd);
	put(&exp, orig.b + 14, orig.len - 14);
	return expect_ex(1, &tun, XDP_PASS_, &exp, -1, NULL, why, n);
}

ROW(r_decap_ipip)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 47000, .dport = 80, .paylen = 100 };

	return decap_row(&s, "198.18.0.13", MAC_B3, why, n);
}

ROW(r_decap_ip6ip6)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_TUN6, .proto = 6,
			  .sport = 47000, .dport = 80, .paylen = 100 };

	return decap_row(&s, "2001:db8::13", MAC_B6_3, why, n);
}

ROW(r_decap_4in6)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 17,
			  .sport = 47000, .dport = 53, .paylen = 40 };

	return decap_row(&s, "2001:db8::13", MAC_B6_3, why, n);
}

ROW(r_decap_6in4)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_TUN6, .proto = 17,
			  .sport = 47000, .dport = 53, .paylen = 40 };

	return decap_row(&s, "198.18.0.13", MAC_B3, why, n);
}

ROW(r_decap_not_ours)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 47001, .dport = 80, .paylen = 100 };
	struct pkt orig, tun;

	pkt_mk(&orig, &s);
	tun_expect(&tun, &orig, "198.18.0.12", MAC_B2, &s);
	return expect_ex(1, &tun, XDP_PASS_, &tun, -1, NULL, why, n);
}

ROW(r_decap_plain)
{
	struct pkt in;

	base4(&in, 6, 10);
	if (expect_ex(1, &in, XDP_PASS_, &in, -1, NULL, why, n))
		return -1;
	base6(&in, 17, 10);
	return expect_ex(1, &in, XDP_PASS_, &in, -1, NULL, why, n);
}

ROW(r_decap_empty)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 47002, .dport = 80, .paylen = 100 };
	union xlb_addr d4 = A("198.18.0.13"), d6 = A("2001:db8::13");
	int fd = bpf_map__fd(dskel->maps.decap_addrs), err;
	struct pkt orig, tun;
	uint8_t one = 1;

	bpf_map_delete_elem(fd, &d4);
	bpf_map_delete_elem(fd, &d6);
	pkt_mk(&orig, &s);
	tun_expect(&tun, &orig, "198.18.0.13", MAC_B3, &s);
	err = expect_ex(1, &tun, XDP_PASS_, &tun, -1, NULL, why, n);
	bpf_map_update_elem(fd, &d4, &one, 0);
	bpf_map_update_elem(fd, &d6, &one, 0);
	return err;
}

static const struct row rows[] = {
	{ .desc = "IPIP", .fn = r_decap_ipip },
	{ .desc = "ip6ip6", .fn = r_decap_ip6ip6 },
	{ .desc = "4in6", .fn = r_decap_4in6 },
	{ .desc = "6in4", .fn = r_decap_6in4 },
	{ .desc = "tunnel to another host passed untouched", .fn = r_decap_not_ours },
	{ .desc = "plain traffic passed untouched", .fn = r_decap_plain },
	{ .desc = "empty decap_addrs decapsulates nothing", .fn = r_decap_empty },
};

const struct suite fx_decap = { "decap", rows, sizeof(rows) / sizeof(rows[0]) };
