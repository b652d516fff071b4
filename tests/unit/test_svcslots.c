// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The writer of the services' slots by id (src/lib/svcslots.c) against a
 * model: after every change each id's published entry is the one set last,
 * and no slot a selector named since the last grace period is written
 * again, so a reader that loaded a selector always reads a whole entry. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "svcslots.h"
#include "unit.h"

#define NID 16                  /* ids the changes are drawn from */

static struct xlb_svc_slots mem[XLB_MAX_SERVICES];
/* Per id and slot: named since the last grace, and as a reader saw it. */
static uint8_t named[XLB_MAX_SERVICES][2];
static struct xlb_svc_ent seen[XLB_MAX_SERVICES][2];
static int graces, grace_err;

static const struct xlb_svc_ent *slot_of(uint32_t id, int i)
{
	return i ? &mem[id].ent1 : &mem[id].ent0;
}

/* The slots selectors name now: a reader may hold them until the next
 * grace. */
static void mark_named(void)
{
	for (uint32_t id = 0; id < XLB_MAX_SERVICES; id++) {
		uint32_t sel = mem[id].sel;

		if (sel > XLB_SVC_SLOT_1 || named[id][sel])
			continue;
		named[id][sel] = 1;
		seen[id][sel] = *slot_of(id, (int)sel);
	}
}

static int grace_count(void)
{
	if (grace_err)
		return grace_err;
	graces++;
	memset(named, 0, sizeof(named));
	mark_named();
	return 0;
}

/* Every slot named since the last grace is as the reader saw it. */
static int slots_intact(void)
{
	for (uint32_t id = 0; id < XLB_MAX_SERVICES; id++)
		for (int i = 0; i < 2; i++)
			if (named[id][i] &&
			    memcmp(&seen[id][i], slot_of(id, i), sizeof(seen[id][i])))
				return 0;
	return 1;
}

/* Key and service number r (every field varies with r). */
static void ent_of(uint32_t id, int r, struct xlb_svc_key *k, struct xlb_svc *v)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->family = r % 2 ? XLB_AF_INET6 : XLB_AF_INET;
	k->vip.v6[0] = htonl(0xc6120000u | (uint32_t)r);
	k->vip.v6[3] = (uint32_t)r * 2654435761u;
	k->port_be = htons((uint16_t)(r % 7 + 1));
	k->proto = r % 3 ? 6 : 17;
	v->id = id;
	v->table_size = (uint32_t)(r % 5 + 1) * 13;
	v->mode = (uint8_t)(r % 4 + 1);
	v->flags = (uint8_t)(r % 16);
	v->seq_len = (uint16_t)r;
	v->persist_s = (uint32_t)(r % 3) * 60;
	v->persist_plen = (uint8_t)(r % 33);
}

static void test_random(void)
{
	struct xlb_svc_key want_k[NID];
	struct xlb_svc want_v[NID];
	int live[NID] = { 0 }, changes = 0;
	struct svcslots *s;

	srand(7);
	graces = 0;
	memset(named, 0, sizeof(named));
	CHECK(svcslots_open(&s, mem, grace_count) == 0, "open");
	for (uint32_t id = 0; id < XLB_MAX_SERVICES; id++)
		CHECK(svcslots_get(s, id) == NULL, "id %u has an entry at open", id);
	for (int step = 0; step < 20000; step++) {
		uint32_t id = (uint32_t)(rand() % NID) * 61;   /* spread ids */
		int i = (int)(id / 61), r = rand() % 1000;

		if (rand() % 5 == 0) {
			CHECK(svcslots_set(s, id, NULL, NULL) == 0, "clear %u", id);
			live[i] = 0;
		} else {
			ent_of(id, r, &want_k[i], &want_v[i]);
			CHECK(svcslots_set(s, id, &want_k[i], &want_v[i]) == 0,
			      "set %u", id);
			live[i] = 1;
			changes++;
		}
		CHECK(slots_intact(), "step %d: a slot named since the last grace "
		      "was written", step);
		mark_named();
		for (int j = 0; j < NID; j++) {
			const struct xlb_svc_ent *e = svcslots_get(s, (uint32_t)j * 61);

			CHECK(!live[j] == !e, "step %d: id %d %s", step, j * 61,
			      e ? "has an entry" : "has none");
			if (live[j] && e)
				CHECK(!memcmp(&e->key, &want_k[j], sizeof(want_k[j])) &&
				      !memcmp(&e->svc, &want_v[j], sizeof(want_v[j])),
				      "step %d: id %d: not the entry set last", step, j * 61);
		}
	}
	/* A wait per rewrite of an id whose last flip came after the last
	 * grace: fewer than the changes, more than none. */
	CHECK(graces > 0 && graces < changes, "%d graces for %d changes",
	      graces, changes);
	CHECK(svcslots_set(s, XLB_MAX_SERVICES, &want_k[0], &want_v[0]) == -EINVAL,
	      "an id out of range");
	svcslots_close(s);
}

/* A failed wait turns the slots off: no selector names a slot, and later
 * changes are ignored. */
static void test_off(void)
{
	struct xlb_svc_key k;
	struct xlb_svc v;
	struct svcslots *s;

	grace_err = 0;
	CHECK(svcslots_open(&s, mem, grace_count) == 0, "open");
	ent_of(5, 1, &k, &v);
	CHECK(svcslots_set(s, 5, &k, &v) == 0, "first set: no wait");
	ent_of(5, 2, &k, &v);
	CHECK(svcslots_set(s, 5, &k, &v) == 0, "second set: the other slot");
	ent_of(9, 3, &k, &v);
	CHECK(svcslots_set(s, 9, &k, &v) == 0, "another id");
	grace_err = -EIO;
	ent_of(5, 4, &k, &v);
	CHECK(svcslots_set(s, 5, &k, &v) == -EIO, "third set waits, and fails");
	for (uint32_t id = 0; id < XLB_MAX_SERVICES; id++)
		CHECK(mem[id].sel == XLB_SVC_SLOT_OFF, "id %u not off", id);
	grace_err = 0;
	CHECK(svcslots_set(s, 7, &k, &v) == 0 && !svcslots_get(s, 7),
	      "a set after: ignored");
	svcslots_close(s);
}

int main(void)
{
	RUN(test_random);
	RUN(test_off);
	UNIT_SUMMARY();
}
