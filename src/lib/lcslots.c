// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The writer of the lc/wlc lists' slots (include/xlb_lcslots.h): a
 * service's selector is the only thing a reader looks at first, so every
 * change is one aligned 32-bit store of it, after the slot it names is
 * complete. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lcslots.h"
#include "slots.h"

struct lcslots {
	struct xlb_lc_slot *m;          /* 2 * XLB_MAX_SERVICES: id * 2 + slot */
	struct slots_clock clock;
	/* Per id the clock's count when its selector last stopped naming a
	 * slot (slots_free). */
	uint64_t left[XLB_MAX_SERVICES];
};

int lcslots_open(struct lcslots **out, struct xlb_lc_slot *slots,
		 int (*grace)(void))
{
	struct lcslots *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->m = slots;
	slots_clock_init(&l->clock, grace);
	memset(slots, 0, 2 * XLB_MAX_SERVICES * sizeof(*slots));
	*out = l;
	return 0;
}

void lcslots_close(struct lcslots *l)
{
	free(l);
}

/* The slot of id its selector names now. */
static struct xlb_lc_slot *live(const struct lcslots *l, uint32_t id)
{
	struct xlb_lc_slot *s = &l->m[id * 2];

	return s + (__atomic_load_n(&s->sel, __ATOMIC_ACQUIRE) & 1);
}

static int same(const struct xlb_lc_slot *s, const struct xlb_svc_backends *v)
{
	return s->n == v->n && !memcmp(s->id, v->id, sizeof(v->id)) &&
	       !memcmp(s->weight, v->weight, sizeof(v->weight));
}

/* The list, not the selector (a slot 0 holds its id's). */
static void fill(struct xlb_lc_slot *s, const struct xlb_svc_backends *v)
{
	s->n = v->n;
	memcpy(s->id, v->id, sizeof(v->id));
	memcpy(s->weight, v->weight, sizeof(v->weight));
}

int lcslots_get(const struct lcslots *l, uint32_t id, struct xlb_svc_backends *out)
{
	const struct xlb_lc_slot *s;

	if (id >= XLB_MAX_SERVICES)
		return -EINVAL;
	s = live(l, id);
	memset(out, 0, sizeof(*out));
	out->n = s->n;
	memcpy(out->id, s->id, sizeof(out->id));
	memcpy(out->weight, s->weight, sizeof(out->weight));
	return 0;
}

int lcslots_set(struct lcslots *l, uint32_t id, const struct xlb_svc_backends *v)
{
	struct xlb_lc_slot *base, *cur;
	uint32_t sel;
	int ret;

	if (id >= XLB_MAX_SERVICES || v->n > XLB_LC_MAX_BACKENDS)
		return -EINVAL;
	base = &l->m[id * 2];
	cur = live(l, id);
	if (same(cur, v))
		return 0;
	ret = slots_free(&l->clock, l->left[id]);
	if (ret) {
		fill(cur, v);
		return ret;
	}
	sel = cur == base;
	fill(base + sel, v);
	slots_publish(&l->clock, &base->sel, sel, &l->left[id]);
	return 0;
}
