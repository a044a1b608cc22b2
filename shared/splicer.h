/*
 * Joins two connected stream sockets both ways with splice(2): the bytes go
 * socket -> pipe -> socket inside the kernel, never through user space. One
 * pipe per direction; back-pressure through the event loop (a full pipe
 * stops reading its source until its sink drains it). The first EOF or error
 * of either side ends the join: done is called once, and splicer_free closes both.
 */
#pragma once
#include <stdint.h>
#include "loop.h"

struct splicer;
/* why: "closed by the master side" style text for the log; a and b name the sides */
typedef void (*splicer_done_fn)(struct splicer *sp, const char *why, void *data);

/* Takes ownership of fds a and b (made non-blocking here). */
int splicer_start(struct loop *loop, int a, int b, const char *name_a, const char *name_b,
		  splicer_done_fn done, void *data, struct splicer **out);
/* bytes moved from a to b ([0]) and from b to a ([1]) */
void splicer_bytes(const struct splicer *sp, uint64_t bytes[2]);
/* Closes both sockets and the pipes; accepts NULL; done is not called. */
void splicer_free(struct splicer *sp);
