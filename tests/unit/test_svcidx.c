// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The service index's writer (src/lib/svcidx.c) against a model of the
 * services map: after every change each key is found with its service
 * (by the bucket, or by the services map for a full bucket's extra keys),
 * and no record that a word named is written again before a grace period,
 * so a reader that loaded a word always reads a whole record. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "svcidx.h"
#include "unit.h"

#define NK 3000                 /* keys drawn from, many to one bucket */

static struct xlb_svc_idx_bucket buckets[XLB_SVC_IDX_BUCKETS];
static struct xlb_svc_rec recs[XLB_SVC_IDX_RECS];
static struct xlb_svc_rec seen[XLB_SVC_IDX_RECS];   /* as a reader saw them */
static uint8_t named[XLB_SVC_IDX_RECS];             /* since the last grace */
static int graces;

static int grace_count(void)
{
	graces++;
	memset(named, 0, sizeof(named));
	return 0;
}

/* Key i: VIPs 198.18.0.0/24 of both families, ports, both protocols; the
 * first 400 keys on ports that share few buckets (see test_collide). */
static struct xlb_svc_key key_of(int i)
{
	struct xlb_svc_key k;

	memset(&k, 0, sizeof(k));
	k.family = i % 2 ? XLB_AF_INET6 : XLB_AF_INET;
	if (k.family == XLB_AF_INET) {
		k.vip.v4 = htonl(0xc6120000u | (uint32_t)(i % 256));
	} else {
		k.vip.v6[0] = htonl(0x20010db8);
		k.vip.v6[3] = htonl((uint32_t)(i % 256));
	}
	k.port_be = htons((uint16_t)(i / 256 * 7 % 65536));
	k.proto = i % 3 ? 6 : 17;
	return k;
}

/* Records words name now: a reader may hold them until the next grace. */
static void mark_named(void)
{
	for (uint32_t b = 0; b < XLB_SVC_IDX_BUCKETS; b++)
		for (int i = 0; i < XLB_SVC_IDX_WAYS; i++)
			if (buckets[b].w[i] > 1) {
				uint32_t r = (uint32_t)buckets[b].w[i];

				if (!named[r])
					seen[r] = recs[r];
				named[r] = 1;
			}
}

/* Every record named since the last grace is as the reader saw it. */
static int records_intact(void)
{
	for (uint32_t r = 0; r < XLB_SVC_IDX_RECS; r++)
		if (named[r] && memcmp(&seen[r], &recs[r], sizeof(recs[r])))
			return 0;
	return 1;
}

static void run(struct svcidx *x, const struct xlb_svc_key *keys, int nk,
		int steps, unsigned seed)
{
	static struct xlb_svc model[NK];
	static int has[NK];
	int live = 0, bad = 0, torn = 0;

	memset(has, 0, sizeof(has));
	memset(named, 0, sizeof(named));        /* a new index: no reader yet */
	srand(seed);
	for (int s = 0; s < steps; s++) {
		int i = rand() % nk, g = graces;

		mark_named();
		if (has[i] && rand() % 3 == 0) {
			CHECK(svcidx_del(x, &keys[i]) == 0, "del %d", i);
			has[i] = 0;
			live--;
		} else if (has[i] || live < XLB_SVC_IDX_KEYS) {
			struct xlb_svc v = { .id = (uint32_t)(rand() % XLB_MAX_SERVICES),
					     .mode = (uint8_t)(1 + rand() % 5),
					     .table_size = (uint32_t)rand() };

			CHECK(svcidx_put(x, &keys[i], &v) == 0, "put %d", i);
			live += !has[i];
			has[i] = 1;
			model[i] = v;
		}
		torn += g == graces && !records_intact();
		for (int j = 0; j < nk; j++) {
			bool from_index;
			const struct xlb_svc *v = svcidx_find(x, &keys[j], &from_index);

			bad += has[j] ? !v || memcmp(v, &model[j], sizeof(*v)) : v != NULL;
		}
	}
	CHECK(!bad, "%d lookups unlike the services map", bad);
	CHECK(!torn, "%d changes wrote a record a reader may hold", torn);
}

static void test_random(void)
{
	static struct xlb_svc_key keys[NK];
	struct svcidx *x;

	for (int i = 0; i < NK; i++)
		keys[i] = key_of(i);
	graces = 0;
	CHECK(svcidx_open(&x, buckets, recs, grace_count) == 0, "open");
	run(x, keys, NK, 6000, 1);
	/* Records came back through grace periods, not one per change. */
	CHECK(graces > 0 && graces < 20, "%d grace periods", graces);
	svcidx_close(x);
}

static void test_collide(void)
{
	/* 40 keys of one bucket (32 beyond its words): all found as they
	 * come and go, the extra ones taking the words that free up. */
	static struct xlb_svc_key keys[40];
	struct svcidx *x;
	uint32_t b = UINT32_MAX;
	int m = 0;

	for (uint32_t p = 1; p < 65536 && m < 40; p++) {
		struct xlb_svc_key k = key_of(0);
		uint32_t kb;

		k.port_be = htons((uint16_t)p);
		kb = xlb_svc_idx_bucket(xlb_svc_idx_hash(&k));
		if (b == UINT32_MAX)
			b = kb;
		if (kb == b)
			keys[m++] = k;
	}
	CHECK(m == 40, "%d keys in one bucket", m);
	CHECK(svcidx_open(&x, buckets, recs, grace_count) == 0, "open");
	run(x, keys, m, 3000, 2);
	svcidx_close(x);
}

static int grace_fails(void)
{
	return -EPERM;
}

static void test_off(void)
{
	/* A change that cannot wait for its grace period turns the index
	 * off: every lookup then asks the services map. */
	struct svcidx *x;
	struct xlb_svc v = { .id = 1, .mode = XLB_MODE_DR };
	int ret = 0, i;

	CHECK(svcidx_open(&x, buckets, recs, grace_fails) == 0, "open");
	for (i = 0; i < XLB_SVC_IDX_RECS + 1 && !ret; i++) {
		struct xlb_svc_key k = key_of(0);

		v.table_size = (uint32_t)i;
		ret = svcidx_put(x, &k, &v);
	}
	CHECK(ret == -EPERM && i == XLB_SVC_IDX_RECS + 1, "ret %d after %d", ret, i);
	for (uint32_t b = 0; b < XLB_SVC_IDX_BUCKETS; b++) {
		struct xlb_svc_key k = key_of((int)b);
		bool from_index = true;

		svcidx_find(x, &k, &from_index);
		CHECK(!from_index, "bucket %u answers", b);
		if (from_index)
			break;
	}
	svcidx_close(x);
}

int main(void)
{
	RUN(test_random);
	RUN(test_collide);
	RUN(test_off);
	UNIT_SUMMARY();
}
