// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The writer's rule for a value in two slots and a selector (slots.h),
 * shared by the services' slots by id and the settings' slots. */
#include "slots.h"
#include "svcidx.h"

void slots_clock_init(struct slots_clock *c, int (*grace)(void))
{
	c->grace = grace ? grace : svcidx_grace_rcu;
	/* Above every slot's left (0): none waits before its first write. */
	c->graces = 1;
}

int slots_free(struct slots_clock *c, uint64_t left)
{
	int ret;

	if (left != c->graces)
		return 0;
	ret = c->grace();
	if (!ret)
		c->graces++;
	return ret;
}

void slots_publish(const struct slots_clock *c, uint32_t *sel, uint32_t v,
		   uint64_t *left)
{
	__atomic_store_n(sel, v, __ATOMIC_RELEASE);
	if (left)
		*left = c->graces;
}
