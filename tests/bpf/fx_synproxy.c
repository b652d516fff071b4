// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* BPF fixtures: the SYN proxy of nat and fullnat TCP services (bpf/nat.h):
 * the SYN-ACK of a cookie under the flood guard, the client's ACK made the
 * backend's SYN, the backend's SYN-ACK made its ACK, sequence numbers
 * shifted both ways, and `syn_proxy: false`. Exact frames throughout. */
#include <time.h>

#include "fixture.h"
#include "xlb_ct.h"

/* The proxy's key in these rows, and another one. */
static const uint32_t KEY[4] = { 0x5eed1234u, 0x0badc0deu, 0x13579bdfu, 0x2468ace0u };
static const uint32_t KEY_OTHER[4] = { 0x5eed1234u, 0x0badc0deu, 0x13579bdfu, 0x2468ace1u };
#define ISN 0x11223344u         /* the client's */
#define SISN 0xa0b0c0d0u        /* the backend's */

/* A TCP segment: frame addresses, IP and TCP fields, options, payload. */
struct seg {
	int fam;
	const uint8_t *dmac, *smac;
	const char *src, *dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	const uint8_t *opt;
	size_t optlen, paylen;
	uint8_t ttl;
};

/* The options of a Linux client's SYN: MSS 1460, SACK permitted,
 * timestamps, window scale 7 (40-byte header). */
static const uint8_t SYN_OPTS[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1,
				      0, 0, 0, 0, 1, 3, 3, 7 };

static void seg_mk(struct pkt *p, const struct seg *s)
{
	size_t tl = 20 + s->optlen + s->paylen, l3, l4, i;

	memset(p, 0, sizeof(*p));
	eth(p, s->dmac, s->smac, s->fam == 4 ? 0x0800 : 0x86dd);
	l3 = p->len;
	if (s->fam == 4) {
		ip4(p, s->src, s->dst, 6, tl, 0x4000, 0x1234);
		p->b[l3 + 8] = s->ttl;
		ip4_recsum(p);
	} else {
		ip6(p, s->src, s->dst, 6, tl);
		p->b[l3 + 7] = s->ttl;
	}
	l4 = p->len;
	put16(p, s->sport);
	put16(p, s->dport);
	put32(p, s->seq);
	put32(p, s->ack);
	put(p, (uint8_t[]){ (uint8_t)((20 + s->optlen) << 2), s->flags }, 2);
	put16(p, s->win);
	put32(p, 0);
	if (s->optlen)
		put(p, s->opt, s->optlen);
	for (i = 0; i < s->paylen; i++)
		p->b[p->len++] = (uint8_t)(i * 7 + 3);
	set16(p->b + l4 + 16, l4_csum(p->b + l3, p->b + l4, tl, 6));
}

/* The proxy on (key KEY) or off. */
static void sp_set(int on)
{
	struct xlb_globals g = *globals_get();

	g.syn_proxy = on;
	memcpy(g.syn_key, KEY, sizeof(g.syn_key));
	globals_set(&g);
}

/* The data plane's time counter of cookies, dt ticks from now. */
static uint32_t cookie_t(int dt)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)((((uint64_t)ts.tv_sec * 1000000000ull) +
			   (uint64_t)ts.tv_nsec) >> XLB_COOKIE_T_SHIFT) + dt;
}

/* The cookie of the client tuple s for ISN under key, time counter t, MSS
 * index m. */
static uint32_t cookie_with(const struct spec *s, const uint32_t *key,
			    uint32_t t, uint32_t m)
{
	struct xlb_flow_key k = { .src = A(s->src), .dst = A(s->dst),
				  .sport_be = htons(s->sport),
				  .dport_be = htons(s->dport), .proto = 6,
				  .family = s->fam == 4 ? XLB_AF_INET : XLB_AF_INET6 };

	return xlb_cookie(&k, ISN, t, key, m);
}

/* The cookie of s for ISN under the data plane's key and clock now. */
static uint32_t cookie_of(const struct spec *s, uint32_t m)
{
	return cookie_with(s, KEY, cookie_t(0), m);
}

static struct seg seg_of(const struct spec *s, uint32_t seq, uint32_t ack,
			 uint8_t flags, size_t paylen)
{
	struct seg g = { .fam = s->fam, .dmac = MAC_XA, .smac = MAC_CLIENT,
			 .src = s->src, .dst = s->dst, .sport = s->sport,
			 .dport = s->dport, .seq = seq, .ack = ack, .flags = flags,
			 .win = 502, .paylen = paylen, .ttl = 64 };
	return g;
}

/* Sends a plain SYN of a throwaway tuple so that the next new flow of this
 * CPU is over flood_guard_rate 1. */
static int engage(const struct spec *s, char *why, size_t n)
{
	struct spec o = *s;
	struct pkt in;

	o.sport = 9;
	pkt_mk(&in, &o);
	return expect(&in, s->fam == 4 ? XDP_REDIRECT_ : XDP_TX_, NULL, -1, why, n);
}

/* Under the guard, the client SYN of s is answered with the SYN-ACK of its
 * cookie (MSS index m) and makes nothing. */
static int syn_cookie(const struct spec *s, uint32_t m, char *why, size_t n)
{
	struct seg in_s = seg_of(s, ISN, 0, 0x02, 0), out_s;
	uint64_t sent = guard_get(XLB_G_COOKIE_SENT);
	uint32_t revs = nat_rev_count();
	struct xlb_flow f;
	struct pkt in, exp;

	in_s.opt = SYN_OPTS;
	in_s.optlen = sizeof(SYN_OPTS);
	in_s.win = 64240;
	seg_mk(&in, &in_s);
	out_s = (struct seg){ .fam = s->fam, .dmac = MAC_CLIENT, .smac = MAC_XA,
			      .src = s->dst, .dst = s->src, .sport = s->dport,
			      .dport = s->sport, .seq = cookie_of(s, m),
			      .ack = ISN + 1, .flags = 0x12, .win = 65535,
			      .opt = (uint8_t[]){ 2, 4, (uint8_t)(xlb_cookie_mss(m) >> 8),
						  (uint8_t)xlb_cookie_mss(m) },
			      .optlen = 4, .ttl = 64 };
	seg_mk(&exp, &out_s);
	if (expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n))
		return -1;
	if (!flow_get(s, &f) || nat_rev_count() != revs) {
		snprintf(why, n, "a SYN answered by the proxy made an entry or a claim");
		return -1;
	}
	if (guard_get(XLB_G_COOKIE_SENT) != sent + 1) {
		snprintf(why, n, "syn_cookie_sent did not move");
		return -1;
	}
	return 0;
}

/* The guard engaged, then the SYN of s answered with its cookie's
 * SYN-ACK: MSS 1460 asked, 1460 (index 7) offered. */
static int syn_row(const struct spec *s, char *why, size_t n)
{
	int err;

	nat_clear();
	sp_set(1);
	guard_rate(1);
	err = engage(s, why, n) ?: syn_cookie(s, 7, why, n);
	guard_rate(0);
	sp_set(0);
	return err;
}

ROW(r_sp_syn4)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 52000, .dport = 80 };

	return syn_row(&s, why, n);
}

ROW(r_sp_syn6)
{
	/* fullnat over IPv6: no entry and no local port either. */
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_F6, .proto = 6,
			  .sport = 52001, .dport = 80 };

	return syn_row(&s, why, n);
}

/* Under the guard, the SYN of s (with IPv4 options or IPv6 extension
 * headers) is dropped as one the proxy does not answer, making nothing;
 * with the guard not engaged it opens its flow as any SYN. */
static int unproxied_row(const struct spec *s, char *why, size_t n)
{
	struct spec plain = *s;
	uint32_t revs;
	struct xlb_flow f;
	struct pkt in;
	int err;

	nat_clear();
	sp_set(1);
	guard_rate(1);
	plain.ipopts = 0;
	plain.ip6ext = 0;
	err = engage(&plain, why, n);
	revs = nat_rev_count();
	pkt_mk(&in, s);
	if (!err)
		err = expect(&in, XDP_DROP_, &in, XLB_R_DROP_SYN_NOT_PROXIED, why, n);
	if (!err && (!flow_get(s, &f) || nat_rev_count() != revs)) {
		snprintf(why, n, "a SYN dropped under the guard made an entry or a claim");
		err = -1;
	}
	guard_rate(1000000);
	if (!err)
		err = expect(&in, s->fam == 4 ? XDP_REDIRECT_ : XDP_TX_, NULL, -1, why, n);
	if (!err && flow_get(s, &f)) {
		snprintf(why, n, "the same SYN with the guard not engaged made no entry");
		err = -1;
	}
	guard_rate(0);
	sp_set(0);
	return err;
}

ROW(r_sp_unproxied4)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 52010, .dport = 80, .ipopts = 4 };

	return unproxied_row(&s, why, n);
}

ROW(r_sp_unproxied6)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_F6, .proto = 6,
			  .sport = 52011, .dport = 80, .ip6ext = 1 };

	return unproxied_row(&s, why, n);
}

/* The backend side of a proxied connection: the frames toward the backend
 * carry dmac, smac, src:sport -> be:bport (src:sport the client's for
 * nat, LIP:lport for fullnat). */
struct be_side {
	const uint8_t *dmac, *smac;
	const char *src;
	uint16_t sport;
	const char *be;
	uint16_t bport;
};

/* The client of s acks its cookie (MSS index 6: 1440) with paylen bytes:
 * out comes its SYN toward the backend side b (TTL 63),
 * the entry made with the flag and the cookie. */
static int ack_cookie(const struct spec *s, size_t paylen, int verdict,
		      int reason, const struct be_side *b, char *why, size_t n)
{
	uint32_t c = cookie_of(s, 6);
	struct seg in_s = seg_of(s, ISN + 1, c + 1, 0x10, paylen), out_s;
	uint64_t ok = guard_get(XLB_G_COOKIE_OK);
	struct xlb_flow f;
	struct pkt in, exp;

	seg_mk(&in, &in_s);
	out_s = (struct seg){ .fam = s->fam, .dmac = b->dmac, .smac = b->smac,
			      .src = b->src, .dst = b->be, .sport = b->sport,
			      .dport = b->bport, .seq = ISN, .ack = 0, .flags = 0x02,
			      .win = 502, .opt = (uint8_t[]){ 2, 4, 0x05, 0xa0 },
			      .optlen = 4, .ttl = 63 };
	seg_mk(&exp, &out_s);
	if (expect(&in, verdict, &exp, reason, why, n)) {
		strncat(why, " (cookie ACK)", n - strlen(why) - 1);
		return -1;
	}
	if (flow_get(s, &f) || !(f.flags & XLB_FLOW_F_SYNPROXY) ||
	    f.syn_seq != c || f.state != XLB_CT_SYN_SENT) {
		snprintf(why, n, "no SYN_SENT entry with the SYN proxy's flag and cookie");
		return -1;
	}
	if (guard_get(XLB_G_COOKIE_OK) != ok + 1) {
		snprintf(why, n, "syn_cookie_ok did not move");
		return -1;
	}
	return 0;
}

/* The backend of side b answers the SYN with its SYN-ACK on ifin: back
 * to it goes the ACK of its handshake, the entry of s is established with
 * the ISN difference. */
static int backend_synack(const struct spec *s, int ifin, int verdict,
			  int reason, const struct be_side *b, char *why, size_t n)
{
	struct seg in_s = { .fam = s->fam, .dmac = b->smac, .smac = b->dmac,
			    .src = b->be, .dst = b->src, .sport = b->bport,
			    .dport = b->sport, .seq = SISN, .ack = ISN + 1,
			    .flags = 0x12, .win = 65160, .opt = SYN_OPTS,
			    .optlen = sizeof(SYN_OPTS), .ttl = 64 };
	struct seg out_s = { .fam = s->fam, .dmac = b->dmac, .smac = b->smac,
			     .src = b->src, .dst = b->be, .sport = b->sport,
			     .dport = b->bport,
			     .seq = ISN + 1, .ack = SISN + 1, .flags = 0x10,
			     .win = 65535, .ttl = 64 };
	struct xlb_flow f;
	struct pkt in, exp;

	seg_mk(&in, &in_s);
	seg_mk(&exp, &out_s);
	ingress = ifin;
	if (expect(&in, verdict, &exp, reason, why, n)) {
		strncat(why, " (backend SYN-ACK)", n - strlen(why) - 1);
		return -1;
	}
	if (flow_get(s, &f) || f.state != XLB_CT_ESTABLISHED ||
	    f.syn_seq != SISN - cookie_of(s, 6)) {
		snprintf(why, n, "entry not established with the ISN difference");
		return -1;
	}
	return 0;
}

/* One data segment each way: the client's ack and the backend's seq
 * shifted. */
static int data_both(const struct spec *s, int ifb, int verdict, int reason,
		     const struct be_side *b, int vc, int rc, char *why, size_t n)
{
	uint32_t c = cookie_of(s, 6);
	struct seg in_s = seg_of(s, ISN + 1, c + 1, 0x18, 100), out_s;
	struct pkt in, exp;

	seg_mk(&in, &in_s);
	out_s = (struct seg){ .fam = s->fam, .dmac = b->dmac, .smac = b->smac,
			      .src = b->src, .dst = b->be, .sport = b->sport,
			      .dport = b->bport, .seq = ISN + 1, .ack = SISN + 1, .flags = 0x18,
			      .win = 502, .paylen = 100, .ttl = 63 };
	seg_mk(&exp, &out_s);
	if (expect(&in, verdict, &exp, reason, why, n)) {
		strncat(why, " (client data)", n - strlen(why) - 1);
		return -1;
	}
	in_s = (struct seg){ .fam = s->fam, .dmac = b->smac, .smac = b->dmac,
			     .src = b->be, .dst = b->src, .sport = b->bport,
			     .dport = b->sport, .seq = SISN + 1, .ack = ISN + 101, .flags = 0x18,
			     .win = 1000, .paylen = 50, .ttl = 64 };
	out_s = (struct seg){ .fam = s->fam, .dmac = MAC_CLIENT, .smac = MAC_XA,
			      .src = s->dst, .dst = s->src, .sport = s->dport,
			      .dport = s->sport, .seq = c + 1, .ack = ISN + 101,
			      .flags = 0x18, .win = 1000, .paylen = 50, .ttl = 63 };
	seg_mk(&in, &in_s);
	seg_mk(&exp, &out_s);
	ingress = ifb;
	if (expect(&in, vc, &exp, rc, why, n)) {
		strncat(why, " (backend data)", n - strlen(why) - 1);
		return -1;
	}
	return 0;
}

ROW(r_sp_fnat4)
{
	/* fullnat: the SYN from LIP:lport (the port the SYN would have
	 * had); the data the ACK carried is dropped (the client sends it
	 * again). The guard need not be engaged any more. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 6,
			  .sport = 52002, .dport = 80 };
	struct be_side b = { .dmac = MAC_Y1, .smac = MAC_YA, .src = LIP4,
			     .sport = fnat_port(&s), .be = "198.18.1.11", .bport = 80 };
	int err;

	nat_clear();
	sp_set(1);
	err = ack_cookie(&s, 30, XDP_REDIRECT_, XLB_R_REDIRECT, &b, why, n) ?:
	      backend_synack(&s, ifx_ya, XDP_TX_, XLB_R_TX, &b, why, n) ?:
	      data_both(&s, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, &b,
			XDP_REDIRECT_, XLB_R_REDIRECT, why, n);
	sp_set(0);
	return err;
}

ROW(r_sp_nat6)
{
	/* nat over IPv6: the backend sees the client's address. */
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_N6, .proto = 6,
			  .sport = 52003, .dport = 80 };
	struct be_side b = { .dmac = MAC_B6_1, .smac = MAC_XA, .src = CLIENT6,
			     .sport = 52003, .be = "2001:db8::11", .bport = 80 };
	int err;

	nat_clear();
	sp_set(1);
	err = ack_cookie(&s, 0, XDP_TX_, XLB_R_TX, &b, why, n) ?:
	      backend_synack(&s, 0, XDP_TX_, XLB_R_TX, &b, why, n) ?:
	      data_both(&s, 0, XDP_TX_, XLB_R_TX, &b, XDP_TX_, XLB_R_TX, why, n);
	sp_set(0);
	return err;
}

ROW(r_sp_bad)
{
	/* An ACK whose ack is no cookie of its tuple (here: one of another
	 * client port), or whose seq is not its SYN's: dropped, nothing made. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 52004, .dport = 80 };
	struct spec o = s;
	uint64_t bad = guard_get(XLB_G_COOKIE_BAD);
	struct seg a;
	struct xlb_flow f;
	struct pkt in;

	o.sport = 52005;
	nat_clear();
	sp_set(1);
	a = seg_of(&s, ISN + 1, cookie_of(&o, 6) + 1, 0x10, 0);
	seg_mk(&in, &a);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_NOT_SYN, why, n))
		goto fail;
	a = seg_of(&s, ISN + 2, cookie_of(&s, 6) + 1, 0x10, 0);
	seg_mk(&in, &a);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_NOT_SYN, why, n))
		goto fail;
	sp_set(0);
	if (!flow_get(&s, &f) || nat_rev_count() ||
	    guard_get(XLB_G_COOKIE_BAD) != bad + 2) {
		snprintf(why, n, "entry made, or syn_cookie_bad not counted twice");
		return -1;
	}
	return 0;
fail:
	sp_set(0);
	return -1;
}

/* The bare ACK of s acking cookie c + 1 with seq ISN + 1: dropped as
 * not a SYN, counted as a bad cookie, nothing made. */
static int ack_refused(const struct spec *s, uint32_t c, const char *what,
		       char *why, size_t n)
{
	uint64_t bad = guard_get(XLB_G_COOKIE_BAD);
	uint32_t revs = nat_rev_count();
	struct seg a = seg_of(s, ISN + 1, c + 1, 0x10, 0);
	struct xlb_flow f;
	struct pkt in;

	seg_mk(&in, &a);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_NOT_SYN, why, n)) {
		snprintf(why + strlen(why), n - strlen(why), " (%s)", what);
		return -1;
	}
	if (!flow_get(s, &f) || nat_rev_count() != revs ||
	    guard_get(XLB_G_COOKIE_BAD) != bad + 1) {
		snprintf(why, n, "%s: entry made, or syn_cookie_bad not counted", what);
		return -1;
	}
	return 0;
}

/* The bare ACK of s acking cookie c + 1: taken, the SYN sent on (not
 * compared here), an entry made with the cookie. */
static int ack_taken(const struct spec *s, uint32_t c, const char *what,
		     char *why, size_t n)
{
	struct seg a = seg_of(s, ISN + 1, c + 1, 0x10, 0);
	struct xlb_flow f;
	struct pkt in;

	seg_mk(&in, &a);
	if (expect(&in, XDP_REDIRECT_, NULL, XLB_R_REDIRECT, why, n)) {
		snprintf(why + strlen(why), n - strlen(why), " (%s)", what);
		return -1;
	}
	if (flow_get(s, &f) || f.syn_seq != c) {
		snprintf(why, n, "%s: no entry with the cookie", what);
		return -1;
	}
	return 0;
}

ROW(r_sp_key_tick)
{
	/* Refused: a cookie made under another key (one bit apart), this
	 * tick's cookie with the bit of t flipped (checked under the
	 * previous tick), a cookie two ticks old. Taken: one of the
	 * previous tick, whose bit sends the check there. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 52010, .dport = 80 };
	struct spec o = s;
	uint32_t t;
	int err, again = 1;

	o.sport = 52011;
	do {
		t = cookie_t(0);
		nat_clear();
		sp_set(1);
		err = ack_refused(&s, cookie_with(&s, KEY_OTHER, t, 6), "other key", why, n) ?:
		      ack_refused(&s, cookie_with(&s, KEY, t, 6) ^ 8, "t bit flipped", why, n) ?:
		      ack_refused(&s, cookie_with(&s, KEY, t - 2, 6), "two ticks old", why, n) ?:
		      ack_taken(&o, cookie_with(&o, KEY, t - 1, 6), "previous tick", why, n);
		sp_set(0);
		/* Once more if the clock ticked during the row (the previous
		 * tick's cookie is then two ticks old). */
	} while (err && t != cookie_t(0) && again--);
	return err;
}

ROW(r_sp_off)
{
	/* syn_proxy: false: over the guard's rate a SYN still makes its
	 * (short-lived) entry and goes on; an ACK of a cookie is a stray ACK. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 52006, .dport = 80 };
	struct xlb_flow f;
	struct spec t = s;
	struct seg a;
	struct pkt in;
	int err;

	nat_clear();
	sp_set(0);
	guard_rate(1);
	err = engage(&s, why, n) ?:
	      nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		       CLIENT4, 52006, "198.18.1.11", 8080, why, n);
	guard_rate(0);
	if (err)
		return -1;
	if (flow_get(&s, &f) || !(f.flags & XLB_FLOW_F_GUARD) ||
	    (f.flags & XLB_FLOW_F_SYNPROXY)) {
		snprintf(why, n, "no guarded entry for the SYN");
		return -1;
	}
	t.sport = 52007;
	a = seg_of(&t, ISN + 1, cookie_of(&t, 6) + 1, 0x10, 0);
	seg_mk(&in, &a);
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_NOT_SYN, why, n);
}

ROW(r_sp_resend)
{
	/* Before the backend's SYN-ACK: the client's cookie ACK again (with
	 * its request) is the SYN again; a later segment is dropped; the
	 * backend's RST reaches the client at the sequence number the client
	 * expects, and closes the entry. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 52008, .dport = 80 };
	struct be_side b = { .dmac = MAC_Y1, .smac = MAC_YA, .src = CLIENT4,
			     .sport = 52008, .be = "198.18.1.11", .bport = 8080 };
	struct seg a, o;
	struct xlb_flow f;
	struct pkt in, exp;
	uint32_t c;
	int err;

	nat_clear();
	sp_set(1);
	err = ack_cookie(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, &b, why, n);
	if (err)
		goto out;
	/* The cookie the entry holds (ack_cookie checked it is the one it
	 * sent): one taken before nat_clear may be a tick (~69 s) older. */
	err = -1;
	if (flow_get(&s, &f)) {
		snprintf(why, n, "no entry after the cookie ACK");
		goto out;
	}
	c = f.syn_seq;
	a = seg_of(&s, ISN + 1, c + 1, 0x18, 40);
	seg_mk(&in, &a);
	o = (struct seg){ .fam = 4, .dmac = MAC_Y1, .smac = MAC_YA, .src = CLIENT4,
			  .dst = "198.18.1.11", .sport = 52008, .dport = 8080,
			  .seq = ISN, .flags = 0x02, .win = 502,
			  .opt = (uint8_t[]){ 2, 4, 0x05, 0xa0 }, .optlen = 4, .ttl = 63 };
	seg_mk(&exp, &o);
	if (expect(&in, XDP_REDIRECT_, &exp, XLB_R_REDIRECT, why, n)) {
		strncat(why, " (cookie ACK again)", n - strlen(why) - 1);
		goto out;
	}
	a = seg_of(&s, ISN + 41, c + 1, 0x18, 40);
	seg_mk(&in, &a);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_NOT_SYN, why, n)) {
		strncat(why, " (later segment)", n - strlen(why) - 1);
		goto out;
	}
	a = (struct seg){ .fam = 4, .dmac = MAC_YA, .smac = MAC_Y1,
			  .src = "198.18.1.11", .dst = CLIENT4, .sport = 8080,
			  .dport = 52008, .seq = 0, .ack = ISN + 1, .flags = 0x14,
			  .ttl = 64 };
	o = (struct seg){ .fam = 4, .dmac = MAC_CLIENT, .smac = MAC_XA,
			  .src = VIP_N4, .dst = CLIENT4, .sport = 80, .dport = 52008,
			  .seq = c + 1, .ack = ISN + 1, .flags = 0x14, .ttl = 63 };
	seg_mk(&in, &a);
	seg_mk(&exp, &o);
	ingress = ifx_ya;
	if (expect(&in, XDP_REDIRECT_, &exp, XLB_R_REDIRECT, why, n)) {
		strncat(why, " (backend RST)", n - strlen(why) - 1);
		goto out;
	}
	if (flow_get(&s, &f) || f.state != XLB_CT_CLOSE) {
		snprintf(why, n, "the backend's RST did not close the entry");
		goto out;
	}
	err = 0;
out:
	sp_set(0);
	return err;
}

ROW(r_sp_dup_synack)
{
	/* A backend's SYN-ACK sent again (our ACK lost) gets the ACK again,
	 * the ISN difference kept. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 52009, .dport = 80 };
	struct be_side b = { .dmac = MAC_Y1, .smac = MAC_YA, .src = CLIENT4,
			     .sport = 52009, .be = "198.18.1.11", .bport = 8080 };
	struct xlb_flow f;
	int err;

	nat_clear();
	sp_set(1);
	err = ack_cookie(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, &b, why, n) ?:
	      backend_synack(&s, ifx_ya, XDP_TX_, XLB_R_TX, &b, why, n) ?:
	      backend_synack(&s, ifx_ya, XDP_TX_, XLB_R_TX, &b, why, n);
	sp_set(0);
	if (!err && (flow_get(&s, &f) || f.state != XLB_CT_ESTABLISHED)) {
		snprintf(why, n, "entry not established after the second SYN-ACK");
		return -1;
	}
	return err;
}

static const struct row rows[] = {
	{ .desc = "guard engaged: nat IPv4 SYN answered with the cookie's SYN-ACK, no entry", .fn = r_sp_syn4 },
	{ .desc = "guard engaged: fullnat IPv6 SYN answered, no entry, no local port", .fn = r_sp_syn6 },
	{ .desc = "guard engaged: SYN with IPv4 options (nat) dropped, nothing made; not engaged: forwarded", .fn = r_sp_unproxied4 },
	{ .desc = "guard engaged: SYN behind an IPv6 extension header (fullnat) dropped; not engaged: forwarded", .fn = r_sp_unproxied6 },
	{ .desc = "fullnat IPv4: cookie ACK -> SYN from the LIP, SYN-ACK -> ACK, seq/ack shifted", .fn = r_sp_fnat4 },
	{ .desc = "nat IPv6: cookie ACK -> SYN, SYN-ACK -> ACK, seq/ack shifted", .fn = r_sp_nat6 },
	{ .desc = "ACK without a valid cookie dropped, nothing made", .fn = r_sp_bad },
	{ .desc = "cookie of another key, of the wrong t bit, two ticks old refused; previous tick's taken", .fn = r_sp_key_tick },
	{ .desc = "before the backend answers: cookie ACK again -> SYN again, later data dropped, backend RST -> client at its seq", .fn = r_sp_resend },
	{ .desc = "backend SYN-ACK twice: ACK twice, delta kept", .fn = r_sp_dup_synack },
	{ .desc = "syn_proxy off: SYNs over the rate get entries, cookie ACKs dropped", .fn = r_sp_off },
};

const struct suite fx_synproxy = { "synproxy", rows, sizeof(rows) / sizeof(rows[0]) };
