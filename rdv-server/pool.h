/* Tunnel addressing: one /30 per connected device, from a configurable pool. */
#pragma once
#include <stdint.h>
#include "net.h"

struct pool;

/* prefix must be <= 30; the network address must be aligned */
int pool_new(const struct cidr4 *range, struct pool **out);
void pool_free(struct pool *pool);
/* -ENOSPC when exhausted; *net is the /30 network address (.1 RDV, .2 device) */
int pool_alloc(struct pool *pool, uint32_t *net);
int pool_release(struct pool *pool, uint32_t net);
unsigned pool_used(const struct pool *pool);
unsigned pool_size(const struct pool *pool);
