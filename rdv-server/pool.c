#include "pool.h"

#include <errno.h>
#include <stdlib.h>

struct pool {
	uint32_t base;
	unsigned slots;
	unsigned used;
	unsigned hint; /* lowest slot that may be free */
	uint64_t bits[];
};

int pool_new(const struct cidr4 *range, struct pool **out)
{
	struct pool *pool;
	unsigned slots;

	if (range->prefix > 30 || range->prefix < 8 ||
	    (range->addr & ~prefix_to_mask(range->prefix)))
		return -EINVAL;
	slots = 1u << (30 - range->prefix);
	pool = calloc(1, sizeof(*pool) + (slots + 63) / 64 * sizeof(uint64_t));
	if (!pool)
		return -ENOMEM;
	pool->base = range->addr;
	pool->slots = slots;
	*out = pool;
	return 0;
}

void pool_free(struct pool *pool) { free(pool); }

int pool_alloc(struct pool *pool, uint32_t *net)
{
	for (unsigned i = pool->hint; i < pool->slots; i++) {
		if (pool->bits[i / 64] & (1ull << (i % 64)))
			continue;
		pool->bits[i / 64] |= 1ull << (i % 64);
		pool->used++;
		pool->hint = i + 1;
		*net = pool->base + 4 * i;
		return 0;
	}
	return -ENOSPC;
}

int pool_release(struct pool *pool, uint32_t net)
{
	uint32_t off = net - pool->base;
	unsigned i = off / 4;

	if (net < pool->base || off % 4 || i >= pool->slots ||
	    !(pool->bits[i / 64] & (1ull << (i % 64))))
		return -EINVAL;
	pool->bits[i / 64] &= ~(1ull << (i % 64));
	pool->used--;
	if (i < pool->hint)
		pool->hint = i;
	return 0;
}

unsigned pool_used(const struct pool *pool) { return pool->used; }
unsigned pool_size(const struct pool *pool) { return pool->slots; }
