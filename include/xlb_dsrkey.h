/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The mark of a dr/tun slot (include/xlb_dsrtab.h) whose 5-tuple is not
 * yet written beside it (dsr_keys4/6): a new flow's first packet stores
 * its slot so marked and leaves the keys alone, the flow's next packet
 * that finds the mark writes the 5-tuple and clears it (bpf/select.h).
 * A new flow then touches one random line of the tables, its bucket, not
 * a bucket and a line of 5-tuples.
 *
 * No part of the ABI hash (Makefile), like the tags of xlb_cttag.h: the
 * mark is a bit of the id (bit 24, include/xlb_dsrtab.h) that no reader of
 * a slot takes for the service, the backend, the age or the tag. A change
 * of the mark's meaning must come with a change of the ABI (xlb_abi.h). */
#ifndef XLB_DSRKEY_H
#define XLB_DSRKEY_H

#include "xlb_dsrtab.h"

#define XLB_DSR_ID_UNKEYED (1ull << 24)

_Static_assert(!(XLB_DSR_ID_FLOW_MASK & XLB_DSR_ID_UNKEYED) &&
	       XLB_DSR_AGE_SHIFT > 24,
	       "the mark is no bit of the service's, the backend's or the age's");

/* Whether the 5-tuple beside the slot of id is written (its mark is off). */
XLB_DSR_INLINE int xlb_dsr_id_keyed(__u64 id)
{
	return !(id & XLB_DSR_ID_UNKEYED);
}

#endif /* XLB_DSRKEY_H */
