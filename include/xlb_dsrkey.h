/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The mark of a dr/tun slot (include/xlb_dsrtab.h) whose 5-tuple is not
 * yet written beside it (dsr_keys4/6): a new flow's first packet stores
 * its slot so marked and leaves the keys alone, the flow's next packet
 * that finds the mark writes the 5-tuple and clears it (bpf/select.h).
 * A new flow then touches one random bucket of the tables (an aligned pair
 * of lines), not a bucket and a line of 5-tuples.
 *
 * No part of the ABI hash (Makefile), like the tags of xlb_cttag.h: the
 * mark is bit 31 of the id's low word, a bit no reader of a slot ever
 * took for the service or the backend (XLB_DSR_ID_SVC_MASK is 15 bits),
 * so tables written by either side of the change read the same to the
 * other: an xlbd without the mark adopts marked slots (its program never
 * clears the mark; its listing and copies already leave out a slot whose
 * 5-tuple beside it does not hash to its bucket and tag), and an xlbd
 * with the mark adopts tables of unmarked slots whose 5-tuples are all
 * written. A change of the mark's meaning must come with a change of
 * the ABI (xlb_abi.h). */
#ifndef XLB_DSRKEY_H
#define XLB_DSRKEY_H

#include "xlb_dsrtab.h"

#define XLB_DSR_ID_UNKEYED 0x80000000ull

_Static_assert(!((XLB_DSR_ID_SVC_MASK << 16 | XLB_DSR_ID_BACKEND_MASK) &
		 XLB_DSR_ID_UNKEYED), "the mark is no bit of the service's");

/* Whether the 5-tuple beside the slot of id is written (its mark is off). */
XLB_DSR_INLINE int xlb_dsr_id_keyed(__u64 id)
{
	return !(id & XLB_DSR_ID_UNKEYED);
}

#endif /* XLB_DSRKEY_H */
