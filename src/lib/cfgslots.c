// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The writer of the settings' slots (include/xlb_cfgslots.h): the
 * selector is the only thing a reader looks at first, so every change is
 * one aligned 32-bit store of it, after the slot it names is complete. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cfgslots.h"
#include "slots.h"

struct cfgslots {
	struct xlb_cfg_slot *m;         /* the two slots */
	union xlb_addr *lips;           /* their LIPs */
	struct slots_clock clock;
	/* The clock's count when the selector last stopped naming a slot. */
	uint64_t left;
};

int cfgslots_open(struct cfgslots **out, struct xlb_cfg_slot *slots,
		  union xlb_addr *lips, int (*grace)(void))
{
	struct cfgslots *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->m = slots;
	c->lips = lips;
	slots_clock_init(&c->clock, grace);
	memset(slots, 0, 2 * sizeof(*slots));
	memset(lips, 0, 2 * XLB_CFG_LIPS * sizeof(*lips));
	slots[1].lips = XLB_CFG_LIPS;
	*out = c;
	return 0;
}

void cfgslots_close(struct cfgslots *c)
{
	free(c);
}

static uint32_t live(const struct cfgslots *c)
{
	return __atomic_load_n(&c->m[0].sel, __ATOMIC_ACQUIRE) & 1;
}

static int same(const struct cfgslots *c, uint32_t i, const struct xlb_cfg *v)
{
	return !memcmp(&c->m[i].g, &v->g, sizeof(v->g)) &&
	       !memcmp(c->lips + c->m[i].lips, v->lips, sizeof(v->lips));
}

static void fill(struct cfgslots *c, uint32_t i, const struct xlb_cfg *v)
{
	c->m[i].g = v->g;
	memcpy(c->lips + c->m[i].lips, v->lips, sizeof(v->lips));
}

void cfgslots_get(const struct cfgslots *c, struct xlb_cfg *out)
{
	uint32_t i = live(c);

	out->g = c->m[i].g;
	memcpy(out->lips, c->lips + c->m[i].lips, sizeof(out->lips));
}

int cfgslots_set(struct cfgslots *c, const struct xlb_cfg *v)
{
	uint32_t sel = !live(c);
	int ret;

	if (same(c, !sel, v))
		return 0;
	ret = slots_free(&c->clock, c->left);
	if (ret) {
		fill(c, !sel, v);
		return ret;
	}
	fill(c, sel, v);
	slots_publish(&c->clock, &c->m[0].sel, sel, &c->left);
	return 0;
}
