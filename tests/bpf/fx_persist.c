// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* BPF fixtures: persistence (bpf/persist.h): new flows of a client follow
 * its pin across ports, against the scheduler, until the pin times out or
 * its backend stops taking new flows; the netmask groups clients; the nat
 * path pins the same way. */
#include "fixture.h"
#include "xlb_cttag.h"

/* A dr service on every port of VIP_P and a nat one on VIP_PN:80, both
 * over two backends on xa whose Maglev tables alternate PB1, PB2. */
#define VIP_P  "198.18.0.115"
#define VIP_PN "198.18.0.116"
enum { S_P = 44, S_PN = 45 };
enum { PB1 = 60, PB2, PBN1, PBN2 };
#define PIN_S 100       /* persistence of both, seconds */

static const uint8_t SCHED = XLB_BACKEND_F_ACTIVE | XLB_BACKEND_F_SCHED;

/* Sets the persistence of service id at vip:port/proto. */
static int svc_persist(const char *vip, uint16_t port, uint8_t proto,
		       uint32_t secs, uint8_t plen)
{
	struct xlb_svc_key k;
	struct xlb_svc v;

	memset(&k, 0, sizeof(k));
	k.vip = A(vip);
	k.port_be = htons(port);
	k.proto = proto;
	k.family = XLB_AF_INET;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.services), &k, &v))
		return -1;
	v.persist_s = secs;
	v.persist_plen = plen;
	return svc_write(&k, &v);
}

static void pins_clear(void)
{
	int fd = bpf_map__fd(skel->maps.persist);
	struct xlb_persist_key k;

	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		bpf_map_delete_elem(fd, &k);
}

static int setup(void)
{
	const uint32_t dr[2] = { PB1, PB2 }, nat[2] = { PBN1, PBN2 };
	int err = 0;

	flows_clear();
	nat_clear();
	pins_clear();
	err |= backend_set(PB1, "198.18.0.11", SCHED, S_P);
	err |= backend_set(PB2, "198.18.0.12", SCHED, S_P);
	err |= backend_port(PBN1, "198.18.0.11", 0, S_PN);
	err |= backend_port(PBN2, "198.18.0.12", 0, S_PN);
	err |= backend_flags(PBN1, SCHED);
	err |= backend_flags(PBN2, SCHED);
	err |= svc_add(VIP_P, 0, 6, S_P, XLB_MODE_DR, 13);
	err |= svc_add(VIP_PN, 80, 6, S_PN, XLB_MODE_NAT, 13);
	err |= table_set(S_P, 13, dr, 2);
	err |= table_set(S_PN, 13, nat, 2);
	err |= svc_persist(VIP_P, 0, 6, PIN_S, 0);
	err |= svc_persist(VIP_PN, 80, 6, PIN_S, 0);
	return err;
}

/* The pin of client (masked to plen) in service id. */
static int pin_get(uint32_t id, const char *client, uint32_t plen,
		   struct xlb_persist *v)
{
	struct xlb_persist_key k;

	memset(&k, 0, sizeof(k));
	k.client = A(client);
	k.client.v4 &= htonl(plen ? ~0u << (32 - plen) : 0);
	k.svc_id = id;
	k.family = XLB_AF_INET;
	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.persist), &k, v);
}

/* Moves the pin's last new flow age_s seconds into the past. */
static int pin_age(uint32_t id, const char *client, uint64_t age_s)
{
	struct xlb_persist_key k;
	struct xlb_persist v;
	int fd = bpf_map__fd(skel->maps.persist);

	memset(&k, 0, sizeof(k));
	k.client = A(client);
	k.svc_id = id;
	k.family = XLB_AF_INET;
	if (bpf_map_lookup_elem(fd, &k, &v))
		return -1;
	v.last_ns -= age_s * 1000000000ull;
	return bpf_map_update_elem(fd, &k, &v, 0);
}

/* A source port (from base up) whose flow to dst:dport Maglev sends to
 * the table entry of parity odd (slot % 2: PB2/PBN2 when 1). */
static uint16_t sport_to(const char *src, const char *dst, uint16_t dport,
			 uint16_t base, int odd)
{
	struct spec s = { .fam = 4, .src = src, .dst = dst, .proto = 6,
			  .dport = dport };

	for (s.sport = base; ; s.sport++)
		if ((int)(spec_hash(&s) % 13 & 1) == odd)
			return s.sport;
}

static int want_pin(uint32_t id, const char *client, uint32_t plen,
		    uint32_t bid, char *why, size_t n)
{
	struct xlb_persist v;

	if (pin_get(id, client, plen, &v)) {
		snprintf(why, n, "no pin for %s/%u in service %u", client, plen, id);
		return -1;
	}
	if (v.backend_id != bid) {
		snprintf(why, n, "pin of %s holds backend %u, want %u", client,
			 v.backend_id, bid);
		return -1;
	}
	return 0;
}

ROW(r_persist_ports)
{
	/* The first flow goes where Maglev says (PB1); flows on other
	 * ports, whose Maglev slots say PB2, follow it. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_P, .proto = 6,
			  .dport = 80, .paylen = 10 };
	static const uint16_t ports[] = { 80, 443, 53 };

	if (setup())
		return snprintf(why, n, "cannot set up the services"), -1;
	s.sport = sport_to(CLIENT4, VIP_P, 80, 45000, 0);
	if (fwd_dr(&s, MAC_B1, why, n) || want_pin(S_P, CLIENT4, 32, PB1, why, n))
		return -1;
	for (size_t i = 0; i < 3; i++) {
		s.dport = ports[i];
		s.sport = sport_to(CLIENT4, VIP_P, ports[i], 45100 + 100 * i, 1);
		if (fwd_dr(&s, MAC_B1, why, n)) {
			snprintf(why + strlen(why), n - strlen(why),
				 " (port %u: Maglev's PB2, not the pin)", ports[i]);
			return -1;
		}
	}
	/* Without persistence the same flow takes Maglev's choice. */
	svc_persist(VIP_P, 0, 6, 0, 0);
	s.sport = sport_to(CLIENT4, VIP_P, s.dport, s.sport + 1, 1);
	return fwd_dr(&s, MAC_B2, why, n);
}

ROW(r_persist_timeout)
{
	/* A pin older than persist_s is not followed: Maglev decides (PB2)
	 * and the pin is rewritten; younger, it holds. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_P, .proto = 6,
			  .dport = 80, .paylen = 10 };

	if (setup())
		return snprintf(why, n, "cannot set up the services"), -1;
	s.sport = sport_to(CLIENT4, VIP_P, 80, 46000, 0);
	if (fwd_dr(&s, MAC_B1, why, n))
		return -1;
	pin_age(S_P, CLIENT4, PIN_S - 5);
	s.sport = sport_to(CLIENT4, VIP_P, 80, s.sport + 1, 1);
	if (fwd_dr(&s, MAC_B1, why, n))
		return strncat(why, " (pin younger than persist_s not followed)",
			       n - strlen(why) - 1), -1;
	pin_age(S_P, CLIENT4, PIN_S + 1);
	s.sport = sport_to(CLIENT4, VIP_P, 80, s.sport + 1, 1);
	if (fwd_dr(&s, MAC_B2, why, n))
		return strncat(why, " (expired pin followed)", n - strlen(why) - 1), -1;
	return want_pin(S_P, CLIENT4, 32, PB2, why, n);
}

ROW(r_persist_not_sched)
{
	/* The pinned backend drained or down (no XLB_BACKEND_F_SCHED): the
	 * client's new flow is scheduled afresh and pinned there; its
	 * existing flow stays. Flag back: the new pin holds. A pin to a
	 * backend id now of another service is not followed either. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_P, .proto = 6,
			  .dport = 80, .paylen = 10 };
	struct spec old;
	int err;

	if (setup())
		return snprintf(why, n, "cannot set up the services"), -1;
	s.sport = sport_to(CLIENT4, VIP_P, 80, 47000, 0);
	if (fwd_dr(&s, MAC_B1, why, n))
		return -1;
	old = s;
	old.tcpflags = 0x10;    /* its next segment: a new SYN would move */
	backend_flags(PB1, XLB_BACKEND_F_ACTIVE);
	s.sport = sport_to(CLIENT4, VIP_P, 80, s.sport + 1, 1);
	err = fwd_dr(&s, MAC_B2, why, n);
	err = err ?: fwd_dr(&old, MAC_B1, why, n);
	err = err ?: want_pin(S_P, CLIENT4, 32, PB2, why, n);
	backend_flags(PB1, SCHED);
	s.sport = sport_to(CLIENT4, VIP_P, 80, s.sport + 1, 0);
	err = err ?: fwd_dr(&s, MAC_B2, why, n);
	if (err)
		return -1;
	backend_set(PB2, "198.18.0.12", SCHED, S_PN);
	s.sport = sport_to(CLIENT4, VIP_P, 80, s.sport + 1, 0);
	err = fwd_dr(&s, MAC_B1, why, n);
	backend_set(PB2, "198.18.0.12", SCHED, S_P);
	return err;
}

ROW(r_persist_netmask)
{
	/* /24: 198.18.0.3 shares 198.18.0.1's pin (its own Maglev slot says
	 * PB2); /32: it gets its own. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_P, .proto = 6,
			  .dport = 80, .paylen = 10 };
	int err;

	if (setup() || svc_persist(VIP_P, 0, 6, PIN_S, 24))
		return snprintf(why, n, "cannot set up the services"), -1;
	s.sport = sport_to(CLIENT4, VIP_P, 80, 48000, 0);
	if (fwd_dr(&s, MAC_B1, why, n) || want_pin(S_P, CLIENT4, 24, PB1, why, n))
		return -1;
	s.src = "198.18.0.3";
	s.sport = sport_to(s.src, VIP_P, 80, 48100, 1);
	if (fwd_dr(&s, MAC_B1, why, n))
		return strncat(why, " (/24 neighbour not on the pin)",
			       n - strlen(why) - 1), -1;
	svc_persist(VIP_P, 0, 6, PIN_S, 32);
	s.sport = sport_to(s.src, VIP_P, 80, s.sport + 1, 1);
	err = fwd_dr(&s, MAC_B2, why, n);
	return err ?: want_pin(S_P, "198.18.0.3", 32, PB2, why, n);
}

ROW(r_persist_nat)
{
	/* The nat path pins too: a second flow whose Maglev slot says PBN2
	 * is translated to PBN1, the client's pin. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_PN, .proto = 6,
			  .dport = 80 };

	if (setup())
		return snprintf(why, n, "cannot set up the services"), -1;
	s.sport = sport_to(CLIENT4, VIP_PN, 80, 49000, 0);
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B1, MAC_XA, CLIENT4, s.sport,
		     "198.18.0.11", 80, why, n) ||
	    want_pin(S_PN, CLIENT4, 32, PBN1, why, n))
		return -1;
	s.sport = sport_to(CLIENT4, VIP_PN, 80, s.sport + 1, 1);
	return nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B1, MAC_XA, CLIENT4,
			s.sport, "198.18.0.11", 80, why, n);
}

ROW(r_persist_guard)
{
	/* Under the flood guard (rate 1: engaged by the second new flow of
	 * the window, persistence flows count too) no client is pinned anew:
	 * C3's flow takes Maglev's choice, counted as pin_not_stored, and
	 * leaves no pin; the client pinned before keeps its pin. Guard off:
	 * C3 is pinned. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_P, .proto = 6,
			  .dport = 80, .paylen = 10 };
	const char *c3 = "198.18.0.4";
	struct xlb_persist v;
	uint64_t np0;
	int err = -1;

	if (setup())
		return snprintf(why, n, "cannot set up the services"), -1;
	np0 = guard_get(XLB_G_NO_PIN);
	guard_rate(1);
	s.sport = sport_to(CLIENT4, VIP_P, 80, 49500, 0);
	if (fwd_dr(&s, MAC_B1, why, n))
		goto out;
	s.src = c3;
	s.sport = sport_to(c3, VIP_P, 80, 49700, 1);
	if (fwd_dr(&s, MAC_B2, why, n))
		goto out;
	if (pin_get(S_P, c3, 32, &v) == 0 || guard_get(XLB_G_NO_PIN) - np0 != 1) {
		snprintf(why, n, "guard on: %s pinned %s, pin_not_stored +%llu (want no "
			 "pin, +1)", c3, pin_get(S_P, c3, 32, &v) ? "no" : "yes",
			 (unsigned long long)(guard_get(XLB_G_NO_PIN) - np0));
		goto out;
	}
	/* CLIENT4's pin (PB1) still holds against Maglev's PB2. */
	s.src = CLIENT4;
	s.sport = sport_to(CLIENT4, VIP_P, 80, 49800, 1);
	if (fwd_dr(&s, MAC_B1, why, n))
		goto out;
	guard_rate(0);
	s.src = c3;
	s.sport = sport_to(c3, VIP_P, 80, 49900, 0);
	err = fwd_dr(&s, MAC_B1, why, n) ?: want_pin(S_P, c3, 32, PB1, why, n);
out:
	guard_rate(0);
	return err;
}

/* The churn of r_persist_recycled on the other CPU (lru_recycle): A's
 * pin, deleted, and B's made at once in the element A's left. */
static struct xlb_persist_key rc_ka, rc_kb;
static struct xlb_persist rc_va, rc_vb;
static char rc_why[160];

static int pin_churn(uint64_t i)
{
	struct xlb_persist got;
	int err;

	(void)i;
	err = lru_recycle(skel->maps.persist, &rc_ka, &rc_va, &rc_kb, &rc_vb,
			  &got, sizeof(got));
	if (err == -EUCLEAN)
		snprintf(rc_why, sizeof(rc_why), "B's pin written by A's flow: "
			 "backend %u -> %u, time %s", rc_vb.backend_id,
			 got.backend_id, got.last_ns == rc_vb.last_ns ? "kept" :
			 "refreshed");
	return err;
}

ROW(r_persist_recycled)
{
	/* A new nat flow of CLIENT4 per frame, pinned (and by Maglev) to
	 * PBN1, while another CPU hands the element of its pin to another
	 * client's, pinned to PBN2: every frame to PBN1, B's pin untouched. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_PN, .proto = 6,
			  .dport = 80 };
	struct pkt in, exp;
	int err;

	if (setup())
		return snprintf(why, n, "cannot set up the services"), -1;
	s.sport = sport_to(CLIENT4, VIP_PN, 80, 49100, 0);
	pkt_mk(&in, &s);
	xlat_expect(&exp, &in, MAC_B1, MAC_XA, CLIENT4, s.sport, "198.18.0.11", 80);
	err = expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n) ?:
	      pin_get(S_PN, CLIENT4, 32, &rc_va);
	if (err) {
		if (!why[0])
			snprintf(why, n, "no pin for the client");
		goto out;
	}
	nat_clear();
	memset(&rc_ka, 0, sizeof(rc_ka));
	rc_ka.client = A(CLIENT4);
	rc_ka.svc_id = S_PN;
	rc_ka.family = XLB_AF_INET;
	rc_kb = rc_ka;
	rc_kb.client = A("198.18.0.9");
	rc_vb.backend_id = PBN2;
	rc_vb.last_ns = rc_va.last_ns + 1;      /* pinned after A's */
	rc_vb.pad = xlb_persist_tag(&rc_kb, PBN2);
	rc_why[0] = 0;
	err = torn_race_new_flows(&s, &in, &exp, pin_churn, "pins of the client",
				  why, n);
	if (err && rc_why[0])
		snprintf(why, n, "%s", rc_why);
out:
	pins_clear();
	nat_clear();
	return err;
}

static const struct row rows[] = {
	{ .desc = "persistence, port *: new flows on every port follow the first one's backend", .fn = r_persist_ports },
	{ .desc = "persistence: a pin older than persist_s is rescheduled and rewritten", .fn = r_persist_timeout },
	{ .desc = "persistence: pinned backend drained/down or of another service: rescheduled", .fn = r_persist_not_sched },
	{ .desc = "persistence_netmask /24 groups clients, /32 keeps them apart", .fn = r_persist_netmask },
	{ .desc = "persistence on the nat path: new flow translated to the pinned backend", .fn = r_persist_nat },
	{ .desc = "persistence: a client's pin deleted and its element taken by another client's pin on another CPU: every new flow to the client's own backend, the other's pin not refreshed", .fn = r_persist_recycled },
	{ .desc = "persistence under the flood guard: no new pin (counted), old pins followed", .fn = r_persist_guard },
};

const struct suite fx_persist = { "persist", rows, sizeof(rows) / sizeof(rows[0]) };
