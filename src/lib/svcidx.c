// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The writer of the service index (include/xlb_svcidx.h): a key's word is
 * the only thing a reader looks at first, so every change is one aligned
 * 64-bit store of a word, after the record it names is complete. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "svcidx.h"

/* A key of the index as the writer knows it: its service, its record and
 * its word (bucket * XLB_SVC_IDX_WAYS + way), or -1 when its bucket was
 * full (no record: the services map alone holds it). */
struct svcidx_key {
	struct xlb_svc_key key;
	struct xlb_svc svc;
	uint32_t rec;
	int32_t word;
};

struct svcidx {
	struct xlb_svc_idx_bucket *b;
	struct xlb_svc_rec *r;
	int (*grace)(void);
	bool off;                       /* disabled after a failed change */
	struct svcidx_key keys[XLB_SVC_IDX_KEYS];
	size_t n_keys;
	/* Records no word names: free ones, and those a word named until
	 * the last grace period began (retired), free after the next. */
	uint32_t free[XLB_SVC_IDX_RECS], n_free;
	uint32_t retired[XLB_SVC_IDX_RECS], n_retired;
};

/* An update of a map-in-map returns only once every BPF program that may
 * have read the slot's old value is done (the kernel waits for an RCU
 * grace period): so is every XDP program that read a word before. */
int svcidx_grace_rcu(void)
{
	int inner, outer, ret = 0;
	uint32_t zero = 0;

	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
	if (inner < 0)
		return -errno;
	LIBBPF_OPTS(bpf_map_create_opts, o, .inner_map_fd = inner);
	outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, NULL, 4, 4, 1, &o);
	if (outer < 0 || bpf_map_update_elem(outer, &zero, &inner, BPF_ANY))
		ret = -errno;
	if (outer >= 0)
		close(outer);
	close(inner);
	return ret;
}

int svcidx_open(struct svcidx **out, struct xlb_svc_idx_bucket *buckets,
		struct xlb_svc_rec *recs, int (*grace)(void))
{
	struct svcidx *x = calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	x->b = buckets;
	x->r = recs;
	x->grace = grace ? grace : svcidx_grace_rcu;
	memset(buckets, 0, XLB_SVC_IDX_BUCKETS * sizeof(*buckets));
	memset(recs, 0, XLB_SVC_IDX_RECS * sizeof(*recs));
	/* Taken from the top: record 0 is the last one used. */
	for (uint32_t i = 0; i < XLB_SVC_IDX_RECS; i++)
		x->free[x->n_free++] = XLB_SVC_IDX_RECS - 1 - i;
	*out = x;
	return 0;
}

void svcidx_close(struct svcidx *x)
{
	free(x);
}

static struct svcidx_key *key_find(struct svcidx *x, const struct xlb_svc_key *k)
{
	for (size_t i = 0; i < x->n_keys; i++)
		if (xlb_svc_key_eq(&x->keys[i].key, k))
			return &x->keys[i];
	return NULL;
}

static __u64 *word_at(struct svcidx *x, int32_t word)
{
	return &x->b[word / XLB_SVC_IDX_WAYS].w[word % XLB_SVC_IDX_WAYS];
}

/* A record no reader can be reading: a free one, else, after a grace
 * period, one of those retired before it. */
static int rec_take(struct svcidx *x, uint32_t *rec)
{
	int ret;

	if (!x->n_free) {
		ret = x->grace();
		if (ret)
			return ret;
		memcpy(x->free, x->retired, x->n_retired * sizeof(*x->free));
		x->n_free = x->n_retired;
		x->n_retired = 0;
	}
	if (!x->n_free)
		return -ENOSPC;
	*rec = x->free[--x->n_free];
	return 0;
}

/* Publishes key e in word e->word, a new record of its key and service:
 * the record first, then the word in one store, so that a reader finds
 * the key's old record or its new one, whole. The old record (if any)
 * waits for a grace period before it is written again. */
static int publish(struct svcidx *x, struct svcidx_key *e, bool had_rec)
{
	uint64_t h = xlb_svc_idx_hash(&e->key);
	uint32_t rec, old = e->rec;
	int ret = rec_take(x, &rec);

	if (ret)
		return ret;
	memset(&x->r[rec], 0, sizeof(x->r[rec]));
	x->r[rec].key = e->key;
	x->r[rec].svc = e->svc;
	__atomic_store_n(word_at(x, e->word), (uint64_t)xlb_svc_idx_tag(h) << 32 | rec,
			 __ATOMIC_RELEASE);
	e->rec = rec;
	if (had_rec)
		x->retired[x->n_retired++] = old;
	return 0;
}

/* After a failed change (the grace wait's error): every word becomes one
 * that matches no key (tag 0) and leaves no bucket with room, so every
 * lookup asks the services map, which stays right; the index takes no
 * more changes. */
static int disable(struct svcidx *x, int err)
{
	for (uint32_t b = 0; b < XLB_SVC_IDX_BUCKETS; b++)
		for (int i = 0; i < XLB_SVC_IDX_WAYS; i++)
			__atomic_store_n(&x->b[b].w[i], 1, __ATOMIC_RELEASE);
	x->off = true;
	return err;
}

int svcidx_put(struct svcidx *x, const struct xlb_svc_key *k,
	       const struct xlb_svc *v)
{
	struct svcidx_key *e = key_find(x, k), n = { .key = *k, .svc = *v, .word = -1 };
	uint32_t b;
	int ret;

	if (x->off)
		return 0;
	if (e) {
		if (!memcmp(&e->svc, v, sizeof(*v)))
			return 0;
		e->svc = *v;
		ret = e->word < 0 ? 0 : publish(x, e, true);
		return ret ? disable(x, ret) : 0;
	}
	if (x->n_keys == XLB_SVC_IDX_KEYS)
		return disable(x, -ENOSPC);
	b = xlb_svc_idx_bucket(xlb_svc_idx_hash(k));
	for (int i = 0; i < XLB_SVC_IDX_WAYS && n.word < 0; i++)
		if (!x->b[b].w[i])
			n.word = (int32_t)(b * XLB_SVC_IDX_WAYS + i);
	/* A full bucket: the services map alone holds the key. */
	if (n.word >= 0) {
		ret = publish(x, &n, false);
		if (ret)
			return disable(x, ret);
	}
	x->keys[x->n_keys++] = n;
	return 0;
}

int svcidx_del(struct svcidx *x, const struct xlb_svc_key *k)
{
	struct svcidx_key *e = key_find(x, k), *o = NULL;
	uint32_t b;
	int ret;

	if (x->off || !e)
		return 0;
	if (e->word >= 0) {
		/* A key of the full bucket that has no word takes this one in
		 * the same store that removes k: the bucket stays full until
		 * no key of it is left without a word. */
		b = (uint32_t)e->word / XLB_SVC_IDX_WAYS;
		for (size_t i = 0; i < x->n_keys && !o; i++)
			if (x->keys[i].word < 0 &&
			    xlb_svc_idx_bucket(xlb_svc_idx_hash(&x->keys[i].key)) == b)
				o = &x->keys[i];
		if (o) {
			o->word = e->word;
			ret = publish(x, o, false);
			if (ret)
				return disable(x, ret);
		} else {
			__atomic_store_n(word_at(x, e->word), 0, __ATOMIC_RELEASE);
		}
		x->retired[x->n_retired++] = e->rec;
	}
	*e = x->keys[--x->n_keys];
	return 0;
}

const struct xlb_svc *svcidx_find(const struct svcidx *x,
				  const struct xlb_svc_key *k, bool *from_index)
{
	uint64_t h = xlb_svc_idx_hash(k);
	const struct xlb_svc_idx_bucket *bk = &x->b[xlb_svc_idx_bucket(h)];
	bool full = true;

	*from_index = true;
	for (int i = 0; i < XLB_SVC_IDX_WAYS; i++) {
		uint64_t w = __atomic_load_n(&bk->w[i], __ATOMIC_ACQUIRE);

		if (!w) {
			full = false;
			continue;
		}
		if ((uint32_t)(w >> 32) == xlb_svc_idx_tag(h) &&
		    xlb_svc_key_eq(&x->r[(uint32_t)w].key, k))
			return &x->r[(uint32_t)w].svc;
	}
	if (!full)
		return NULL;
	/* The services map: what was put last for k. */
	*from_index = false;
	for (size_t i = 0; i < x->n_keys; i++)
		if (xlb_svc_key_eq(&x->keys[i].key, k))
			return &x->keys[i].svc;
	return NULL;
}
