#define _GNU_SOURCE
#include "splicer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHUNK (1 << 16) /* a pipe's default capacity */

struct dir {
	int pipe[2];
	size_t pending; /* in the pipe, not yet written to the sink */
	uint64_t bytes;
};

struct splicer {
	struct loop *loop;
	int fd[2];
	struct loop_fd *src[2];
	struct dir dir[2]; /* [0]: fd[0] -> fd[1], [1]: fd[1] -> fd[0] */
	const char *name[2];
	splicer_done_fn done;
	void *data;
	bool finished;
	char why[96];
};

static void on_fd(int fd, short revents, void *data);

/* -1: the side closed or failed (why says which), 0: waiting for the loop */
static int pump(struct splicer *sp, int i)
{
	struct dir *d = &sp->dir[i];
	int from = sp->fd[i], to = sp->fd[!i];
	ssize_t n;

	for (;;) {
		if (d->pending) {
			n = splice(d->pipe[0], NULL, to, NULL, d->pending,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				return 0;
			if (n <= 0) {
				snprintf(sp->why, sizeof(sp->why), "the %s side failed (%s)",
					 sp->name[!i], n < 0 ? "write error" : "closed");
				return -1;
			}
			d->pending -= (size_t)n;
			d->bytes += (uint64_t)n;
			continue;
		}
		n = splice(from, NULL, d->pipe[1], NULL, CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			snprintf(sp->why, sizeof(sp->why), "the %s side %s", sp->name[i],
				 n < 0 ? "failed (read error)" : "closed its connection");
			return -1;
		}
		d->pending = (size_t)n;
	}
}

/* Reads a side only while its direction's pipe is empty; writes it while the other's is not. */
static void update_events(struct splicer *sp)
{
	for (int i = 0; i < 2; i++) {
		short ev = 0;
		if (!sp->dir[i].pending)
			ev |= POLLIN;
		if (sp->dir[!i].pending)
			ev |= POLLOUT;
		loop_fd_set_events(sp->src[i], ev);
	}
}

static void on_fd(int fd, short revents, void *data)
{
	struct splicer *sp = data;

	(void)fd;
	(void)revents;
	if (sp->finished)
		return;
	if (pump(sp, 0) < 0 || pump(sp, 1) < 0) {
		sp->finished = true;
		/* out of the loop: a hung-up socket would wake poll until freed */
		for (int i = 0; i < 2; i++) {
			loop_remove_fd(sp->loop, sp->src[i]);
			sp->src[i] = NULL;
		}
		sp->done(sp, sp->why, sp->data);
		return;
	}
	update_events(sp);
}

int splicer_start(struct loop *loop, int a, int b, const char *name_a, const char *name_b,
		  splicer_done_fn done, void *data, struct splicer **out)
{
	struct splicer *sp = calloc(1, sizeof(*sp));
	int r = 0;

	if (!sp) {
		close(a);
		close(b);
		return -ENOMEM;
	}
	*sp = (struct splicer){ .loop = loop, .fd = { a, b }, .name = { name_a, name_b },
				.done = done, .data = data,
				.dir = { { .pipe = { -1, -1 } }, { .pipe = { -1, -1 } } } };
	for (int i = 0; i < 2 && !r; i++) {
		if (fcntl(sp->fd[i], F_SETFL, fcntl(sp->fd[i], F_GETFL) | O_NONBLOCK) < 0 ||
		    pipe2(sp->dir[i].pipe, O_CLOEXEC | O_NONBLOCK) < 0)
			r = -errno;
	}
	for (int i = 0; i < 2 && !r; i++)
		r = loop_add_fd(loop, sp->fd[i], POLLIN, on_fd, sp, &sp->src[i]);
	if (r < 0) {
		splicer_free(sp);
		return r;
	}
	*out = sp;
	return 0;
}

void splicer_bytes(const struct splicer *sp, uint64_t bytes[2])
{
	bytes[0] = sp ? sp->dir[0].bytes : 0;
	bytes[1] = sp ? sp->dir[1].bytes : 0;
}

void splicer_free(struct splicer *sp)
{
	if (!sp)
		return;
	for (int i = 0; i < 2; i++) {
		loop_remove_fd(sp->loop, sp->src[i]);
		close(sp->fd[i]);
		for (int j = 0; j < 2; j++)
			if (sp->dir[i].pipe[j] >= 0)
				close(sp->dir[i].pipe[j]);
	}
	free(sp);
}
