// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The writer of the lc/wlc lists' slots (src/lib/lcslots.c) against a
 * model: after every set each service's list readers find is the one set
 * last, and no slot a selector named since the last grace period is
 * written again, so a reader that loaded a selector always reads one whole
 * list. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "lcslots.h"
#include "unit.h"

#define NID 16                  /* ids the sets are drawn from */

static struct xlb_lc_slot mem[2 * XLB_MAX_SERVICES];
/* Per id and slot: named since the last grace, and the list in it as a
 * reader saw it (the selector word aside: slot 0 holds it). */
static uint8_t named[NID][2];
static struct xlb_lc_slot seen[NID][2];
static int graces, grace_err;

static int sel_of(uint32_t id)
{
	return (int)(mem[id * 2].sel & 1);
}

/* The slot's list, without the selector. */
static void list_read(uint32_t id, int i, struct xlb_lc_slot *out)
{
	*out = mem[id * 2 + (uint32_t)i];
	out->sel = 0;
}

/* The slots selectors name now: a reader may hold them until the next
 * grace. */
static void mark_named(void)
{
	for (uint32_t id = 0; id < NID; id++) {
		int i = sel_of(id);

		if (named[id][i])
			continue;
		named[id][i] = 1;
		list_read(id, i, &seen[id][i]);
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
	struct xlb_lc_slot now;

	for (uint32_t id = 0; id < NID; id++)
		for (int i = 0; i < 2; i++) {
			if (!named[id][i])
				continue;
			list_read(id, i, &now);
			if (memcmp(&now, &seen[id][i], sizeof(now)))
				return 0;
		}
	return 1;
}

/* List number r: its length, backends and weights vary with r. */
static void list_of(int r, struct xlb_svc_backends *v)
{
	memset(v, 0, sizeof(*v));
	v->n = (uint32_t)(r % (XLB_LC_MAX_BACKENDS + 1));
	for (uint32_t i = 0; i < v->n; i++) {
		v->id[i] = ((uint32_t)r * 31 + i) % XLB_MAX_BACKENDS;
		v->weight[i] = (uint32_t)(r + i) % 5;
	}
}

/* What readers of id find, as the program reads it: the selector, then
 * the slot it names. */
static int reader_finds(uint32_t id, const struct xlb_svc_backends *want)
{
	const struct xlb_lc_slot *s = &mem[id * 2 + (uint32_t)sel_of(id)];

	return s->n == want->n && !memcmp(s->id, want->id, sizeof(s->id)) &&
	       !memcmp(s->weight, want->weight, sizeof(s->weight));
}

static void test_random(void)
{
	struct xlb_svc_backends want[NID], got, v;
	struct lcslots *l;
	int changes = 0;

	srand(13);
	graces = 0;
	memset(named, 0, sizeof(named));
	CHECK(lcslots_open(&l, mem, grace_count) == 0, "open");
	memset(want, 0, sizeof(want));
	for (uint32_t id = 0; id < NID; id++) {
		CHECK(lcslots_get(l, id, &got) == 0 &&
		      !memcmp(&got, &want[id], sizeof(got)), "id %u not empty at open", id);
	}
	mark_named();
	for (int step = 0; step < 20000; step++) {
		uint32_t id = (uint32_t)rand() % NID;

		/* Often the same list again: an apply that changed none. */
		list_of(rand() % 4 ? rand() % 1000 : 7, &v);
		changes += !!memcmp(&want[id], &v, sizeof(v));
		want[id] = v;
		CHECK(lcslots_set(l, id, &v) == 0, "step %d: set", step);
		CHECK(slots_intact(), "step %d: a slot named since the last grace "
		      "was written", step);
		mark_named();
		for (uint32_t j = 0; j < NID; j++) {
			lcslots_get(l, j, &got);
			CHECK(!memcmp(&got, &want[j], sizeof(got)),
			      "step %d: id %u not the list set last", step, j);
			CHECK(reader_finds(j, &want[j]),
			      "step %d: a reader of id %u does not find the list "
			      "set last", step, j);
		}
	}
	/* At most a wait per change (one rewrites the slot named until the
	 * id's change before, unless a grace passed since), none for the same
	 * list again. */
	CHECK(graces > 0 && graces < changes, "%d graces for %d changes",
	      graces, changes);
	list_of(3, &v);
	CHECK(lcslots_set(l, XLB_MAX_SERVICES, &v) == -EINVAL, "id out of range");
	v.n = XLB_LC_MAX_BACKENDS + 1;
	CHECK(lcslots_set(l, 0, &v) == -EINVAL, "list too long");
	CHECK(lcslots_get(l, XLB_MAX_SERVICES, &got) == -EINVAL, "get out of range");
	lcslots_close(l);
}

/* A failed wait: the list is written in place, where readers find it,
 * and the next set of that id waits again. */
static void test_grace_fails(void)
{
	struct xlb_svc_backends want, got;
	struct lcslots *l;

	grace_err = 0;
	graces = 0;
	CHECK(lcslots_open(&l, mem, grace_count) == 0, "open");
	list_of(1, &want);
	CHECK(lcslots_set(l, 5, &want) == 0 && graces == 0, "first set: no wait");
	grace_err = -EIO;
	list_of(2, &want);
	CHECK(lcslots_set(l, 5, &want) == -EIO, "second set waits, and fails");
	lcslots_get(l, 5, &got);
	CHECK(!memcmp(&got, &want, sizeof(got)) && reader_finds(5, &want),
	      "not written in place");
	grace_err = 0;
	list_of(3, &want);
	CHECK(lcslots_set(l, 5, &want) == 0 && graces == 1,
	      "the next set: %d waits", graces);
	CHECK(reader_finds(5, &want), "not the list set last");
	lcslots_close(l);
}

int main(void)
{
	RUN(test_random);
	RUN(test_grace_fails);
	UNIT_SUMMARY();
}
