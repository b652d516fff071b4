// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The writer of the settings' slots (src/lib/cfgslots.c) against a model:
 * after every set the settings readers find are the ones set last, and
 * no slot or LIP region the selector named since the last grace period is
 * written again, so a reader that loaded the selector always reads one
 * whole set. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "cfgslots.h"
#include "unit.h"

static struct xlb_cfg_slot mem[2];
static union xlb_addr lips[2 * XLB_CFG_LIPS];
/* Per slot: named since the last grace, and its globals and LIPs as a
 * reader saw them. */
static uint8_t named[2];
static struct xlb_cfg seen[2];
static int graces, grace_err;

static void slot_read(int i, struct xlb_cfg *c)
{
	c->g = mem[i].g;
	memcpy(c->lips, lips + mem[i].lips, sizeof(c->lips));
}

/* The slot the selector names now: a reader may hold it until the next
 * grace. */
static void mark_named(void)
{
	int i = (int)(mem[0].sel & 1);

	if (named[i])
		return;
	named[i] = 1;
	slot_read(i, &seen[i]);
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
	struct xlb_cfg now;

	for (int i = 0; i < 2; i++) {
		if (!named[i])
			continue;
		slot_read(i, &now);
		if (memcmp(&now, &seen[i], sizeof(now)))
			return 0;
	}
	return 1;
}

/* Settings number r: most fields vary with r. */
static void cfg_of(int r, struct xlb_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->g.tun_src_v4 = 0xc6120000u | (uint32_t)r;
	c->g.tun_src_v4_plen = (uint32_t)(r % 33);
	c->g.tun_src_v6.v6[3] = (uint32_t)r * 2654435761u;
	c->g.tun_src_v6_plen = 64 + (uint32_t)(r % 65);
	c->g.n_lips_v4 = (uint32_t)(r % XLB_MAX_LIPS);
	c->g.n_lips_v6 = (uint32_t)(r % 3);
	c->g.guard_rate = (uint32_t)r;
	for (uint32_t i = 0; i < c->g.n_lips_v4; i++)
		c->lips[i].v4 = (uint32_t)r << 8 | i;
	for (uint32_t i = 0; i < c->g.n_lips_v6; i++)
		c->lips[XLB_LIP_V6_BASE + i].v6[3] = (uint32_t)r << 8 | i;
}

static void test_random(void)
{
	struct xlb_cfg want, got;
	struct cfgslots *c;
	int changes = 0;

	srand(11);
	graces = 0;
	memset(named, 0, sizeof(named));
	CHECK(cfgslots_open(&c, mem, lips, grace_count) == 0, "open");
	cfgslots_get(c, &got);
	memset(&want, 0, sizeof(want));
	CHECK(!memcmp(&got, &want, sizeof(got)), "settings not zero at open");
	mark_named();
	for (int step = 0; step < 5000; step++) {
		/* Often the same settings again: an apply that changed none. */
		cfg_of(rand() % 4 ? rand() % 1000 : 7, &want);
		cfgslots_get(c, &got);
		changes += !!memcmp(&got, &want, sizeof(got));
		CHECK(cfgslots_set(c, &want) == 0, "step %d: set", step);
		CHECK(slots_intact(), "step %d: a slot named since the last grace "
		      "was written", step);
		mark_named();
		cfgslots_get(c, &got);
		CHECK(!memcmp(&got, &want, sizeof(got)),
		      "step %d: not the settings set last", step);
		slot_read((int)(mem[0].sel & 1), &got);
		CHECK(!memcmp(&got, &want, sizeof(got)),
		      "step %d: a reader does not find the settings set last", step);
	}
	/* A wait per change after the first (each rewrites the slot named
	 * until the change before), none for the same settings again. */
	CHECK(graces > 0 && graces < changes, "%d graces for %d changes",
	      graces, changes);
	cfgslots_close(c);
}

/* A failed wait: the settings are written in place, where readers find
 * them, and the next change waits again. */
static void test_grace_fails(void)
{
	struct xlb_cfg want, got;
	struct cfgslots *c;

	grace_err = 0;
	CHECK(cfgslots_open(&c, mem, lips, grace_count) == 0, "open");
	cfg_of(1, &want);
	CHECK(cfgslots_set(c, &want) == 0, "first set: no wait");
	grace_err = -EIO;
	cfg_of(2, &want);
	CHECK(cfgslots_set(c, &want) == -EIO, "second set waits, and fails");
	cfgslots_get(c, &got);
	CHECK(!memcmp(&got, &want, sizeof(got)), "not written in place");
	grace_err = 0;
	graces = 0;
	cfg_of(3, &want);
	CHECK(cfgslots_set(c, &want) == 0 && graces == 1,
	      "the next set: %d waits", graces);
	cfgslots_get(c, &got);
	CHECK(!memcmp(&got, &want, sizeof(got)), "not the settings set last");
	cfgslots_close(c);
}

int main(void)
{
	RUN(test_random);
	RUN(test_grace_fails);
	UNIT_SUMMARY();
}
