// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The writer of the services' slots by id (include/xlb_svcslots.h): an
 * id's selector is the only thing a reader looks at first, so every change
 * is one aligned 32-bit store of a selector, after the slot it names is
 * complete. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "slots.h"
#include "svcslots.h"

struct svcslots {
	struct xlb_svc_slots *m;
	struct slots_clock clock;
	bool off;                       /* disabled after a failed wait */
	/* Per id the clock's count when its selector last stopped naming a
	 * slot (slots_free). */
	uint64_t left[XLB_MAX_SERVICES];
};

int svcslots_open(struct svcslots **out, struct xlb_svc_slots *slots,
		  int (*grace)(void))
{
	struct svcslots *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->m = slots;
	/* No reader has seen these slots: none waits for a grace period. */
	slots_clock_init(&s->clock, grace);
	memset(slots, 0, XLB_MAX_SERVICES * sizeof(*slots));
	for (uint32_t id = 0; id < XLB_MAX_SERVICES; id++)
		slots[id].sel = XLB_SVC_SLOT_NONE;
	*out = s;
	return 0;
}

void svcslots_close(struct svcslots *s)
{
	free(s);
}

const struct xlb_svc_ent *svcslots_get(const struct svcslots *s, uint32_t id)
{
	uint32_t sel;

	if (id >= XLB_MAX_SERVICES)
		return NULL;
	sel = __atomic_load_n(&s->m[id].sel, __ATOMIC_ACQUIRE);
	return sel == XLB_SVC_SLOT_0 ? &s->m[id].ent0 :
	       sel == XLB_SVC_SLOT_1 ? &s->m[id].ent1 : NULL;
}

/* After a failed wait: no selector names a slot any more (packets find
 * their service by key, in the services map as it is), and no slot is
 * written again. */
static int disable(struct svcslots *s, int err)
{
	for (uint32_t id = 0; id < XLB_MAX_SERVICES; id++)
		__atomic_store_n(&s->m[id].sel, XLB_SVC_SLOT_OFF, __ATOMIC_RELEASE);
	s->off = true;
	return err;
}

int svcslots_set(struct svcslots *s, uint32_t id, const struct xlb_svc_key *k,
		 const struct xlb_svc *v)
{
	const struct xlb_svc_ent *cur;
	struct xlb_svc_slots *m;
	struct xlb_svc_ent *e;
	uint32_t sel;
	int ret;

	if (id >= XLB_MAX_SERVICES)
		return -EINVAL;
	if (s->off)
		return 0;
	m = &s->m[id];
	cur = svcslots_get(s, id);
	if (!k) {
		if (cur)
			slots_publish(&s->clock, &m->sel, XLB_SVC_SLOT_NONE,
				      &s->left[id]);
		return 0;
	}
	if (cur && !memcmp(&cur->key, k, sizeof(*k)) &&
	    !memcmp(&cur->svc, v, sizeof(*v)))
		return 0;
	ret = slots_free(&s->clock, s->left[id]);
	if (ret)
		return disable(s, ret);
	sel = cur == &m->ent0 ? XLB_SVC_SLOT_1 : XLB_SVC_SLOT_0;
	e = sel == XLB_SVC_SLOT_0 ? &m->ent0 : &m->ent1;
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->svc = *v;
	slots_publish(&s->clock, &m->sel, sel, cur ? &s->left[id] : NULL);
	return 0;
}
