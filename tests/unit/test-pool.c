#include <errno.h>
#include "check.h"
#include "pool.h"

static void test_small_pool(void)
{
	struct cidr4 range;
	struct pool *pool;
	uint32_t a, b, c, d;

	cidr4_parse("10.9.0.0/29", &range);
	CHECK(pool_new(&range, &pool) == 0, "pool_new /29");
	CHECK(pool_size(pool) == 2, "a /29 holds two /30s, got %u", pool_size(pool));
	CHECK(pool_alloc(pool, &a) == 0 && a == 0x0a090000, "first /30 is the pool base");
	CHECK(pool_alloc(pool, &b) == 0 && b == 0x0a090004, "second /30 follows");
	CHECK(pool_alloc(pool, &c) == -ENOSPC, "exhaustion is -ENOSPC");
	CHECK(pool_used(pool) == 2, "two in use");
	CHECK(pool_release(pool, a) == 0, "release first");
	CHECK(pool_release(pool, a) == -EINVAL, "double release refused");
	CHECK(pool_release(pool, a + 1) == -EINVAL, "unaligned release refused");
	CHECK(pool_release(pool, 0x0a0a0000) == -EINVAL, "release outside the pool refused");
	CHECK(pool_alloc(pool, &d) == 0 && d == a, "a freed /30 is reused");
	CHECK(pool_alloc(pool, &c) == -ENOSPC, "full again");
	pool_free(pool);
}

static void test_default_pool(void)
{
	struct cidr4 range;
	struct pool *pool;
	uint32_t net = 0, last = 0;
	unsigned n = 0;

	cidr4_parse("192.168.128.0/17", &range);
	CHECK(pool_new(&range, &pool) == 0, "default pool");
	CHECK(pool_size(pool) == 8192, "a /17 holds 8192 /30s");
	while (pool_alloc(pool, &net) == 0) {
		last = net;
		n++;
	}
	CHECK(n == 8192, "all 8192 allocated, got %u", n);
	CHECK(last == 0xc0a8fffc, "last /30 is 192.168.255.252");
	CHECK(pool_release(pool, 0xc0a89000) == 0, "release one in the middle");
	CHECK(pool_alloc(pool, &net) == 0 && net == 0xc0a89000, "reallocated where it was freed");
	pool_free(pool);
}

static void test_bad_ranges(void)
{
	struct cidr4 range;
	struct pool *pool;

	cidr4_parse("10.0.0.1/24", &range);
	CHECK(pool_new(&range, &pool) == -EINVAL, "unaligned network refused");
	cidr4_parse("10.0.0.0/31", &range);
	CHECK(pool_new(&range, &pool) == -EINVAL, "a /31 cannot hold a /30");
	cidr4_parse("10.0.0.0/30", &range);
	CHECK(pool_new(&range, &pool) == 0 && pool_size(pool) == 1, "a /30 holds one");
	pool_free(pool);
}

int main(void)
{
	test_small_pool();
	test_default_pool();
	test_bad_ranges();
	return check_summary();
}
