#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

struct loop_fd {
	int fd;
	short events;
	bool dead;
	loop_fd_cb cb;
	void *data;
	struct loop_fd *next;
};

struct loop_timer {
	uint64_t deadline;
	bool dead;
	loop_timer_cb cb;
	void *data;
	struct loop_timer *next;
};

struct loop {
	struct loop_fd *fds;
	struct loop_timer *timers;
	int sigfd;
	loop_signal_cb sig_cb;
	void *sig_data;
	bool quit;
	int status;
	struct pollfd *pfd;
	struct loop_fd **src;
	size_t cap;
};

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int loop_new(struct loop **out)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return -ENOMEM;
	loop->sigfd = -1;
	*out = loop;
	return 0;
}

static void reap(struct loop *loop)
{
	for (struct loop_fd **p = &loop->fds; *p;) {
		struct loop_fd *s = *p;
		if (s->dead) {
			*p = s->next;
			free(s);
		} else {
			p = &s->next;
		}
	}
	for (struct loop_timer **p = &loop->timers; *p;) {
		struct loop_timer *t = *p;
		if (t->dead) {
			*p = t->next;
			free(t);
		} else {
			p = &t->next;
		}
	}
}

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	for (struct loop_fd *s = loop->fds; s; s = s->next)
		s->dead = true;
	for (struct loop_timer *t = loop->timers; t; t = t->next)
		t->dead = true;
	reap(loop);
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	free(loop->pfd);
	free(loop->src);
	free(loop);
}

int loop_add_fd(struct loop *loop, int fd, short events, loop_fd_cb cb, void *data,
		struct loop_fd **out)
{
	struct loop_fd *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	*s = (struct loop_fd){ .fd = fd, .events = events, .cb = cb, .data = data };
	s->next = loop->fds;
	loop->fds = s;
	if (out)
		*out = s;
	return 0;
}

void loop_fd_set_events(struct loop_fd *src, short events) { src->events = events; }

/* Freed after the current dispatch round: a callback may remove itself. */
void loop_remove_fd(struct loop *loop, struct loop_fd *src)
{
	(void)loop;
	if (src)
		src->dead = true;
}

int loop_add_timer(struct loop *loop, uint64_t ms, loop_timer_cb cb, void *data,
		   struct loop_timer **out)
{
	struct loop_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	*t = (struct loop_timer){ .deadline = now_ms() + ms, .cb = cb, .data = data };
	t->next = loop->timers;
	loop->timers = t;
	if (out)
		*out = t;
	return 0;
}

void loop_cancel_timer(struct loop *loop, struct loop_timer *t)
{
	(void)loop;
	if (t)
		t->dead = true;
}

static void on_signal(int fd, short revents, void *data)
{
	struct loop *loop = data;
	struct signalfd_siginfo si;

	(void)revents;
	while (read(fd, &si, sizeof(si)) == sizeof(si))
		loop->sig_cb((int)si.ssi_signo, loop->sig_data);
}

int loop_add_signals(struct loop *loop, const int *signals, int n, loop_signal_cb cb, void *data)
{
	sigset_t set;

	sigemptyset(&set);
	for (int i = 0; i < n; i++) {
		/* an ignored signal never becomes pending: a background job started
		 * by a shell ignores SIGINT, yet Ctrl-C must still reach us */
		signal(signals[i], SIG_DFL);
		sigaddset(&set, signals[i]);
	}
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	loop->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop->sigfd < 0)
		return -errno;
	loop->sig_cb = cb;
	loop->sig_data = data;
	return loop_add_fd(loop, loop->sigfd, POLLIN, on_signal, loop, NULL);
}

static int next_timeout(struct loop *loop, int max_wait_ms)
{
	uint64_t now = now_ms();
	int64_t best = max_wait_ms;

	for (struct loop_timer *t = loop->timers; t; t = t->next) {
		int64_t left;
		if (t->dead)
			continue;
		left = t->deadline > now ? (int64_t)(t->deadline - now) : 0;
		if (best < 0 || left < best)
			best = left;
	}
	return (int)best;
}

static void run_timers(struct loop *loop)
{
	uint64_t now = now_ms();

	for (struct loop_timer *t = loop->timers; t; t = t->next) {
		if (!t->dead && t->deadline <= now) {
			t->dead = true;
			t->cb(t->data);
		}
	}
}

int loop_iterate(struct loop *loop, int max_wait_ms)
{
	struct pollfd *pfd;
	struct loop_fd **src;
	size_t n = 0;
	int r;

	reap(loop);
	for (struct loop_fd *s = loop->fds; s; s = s->next)
		n++;
	if (n > loop->cap) {
		pfd = realloc(loop->pfd, n * 2 * sizeof(*pfd));
		if (!pfd)
			return -ENOMEM;
		loop->pfd = pfd;
		src = realloc(loop->src, n * 2 * sizeof(*src));
		if (!src)
			return -ENOMEM;
		loop->src = src;
		loop->cap = n * 2;
	}
	pfd = loop->pfd;
	src = loop->src;
	n = 0;
	for (struct loop_fd *s = loop->fds; s; s = s->next) {
		pfd[n] = (struct pollfd){ .fd = s->fd, .events = s->events };
		src[n++] = s;
	}
	r = poll(pfd, (nfds_t)n, next_timeout(loop, max_wait_ms));
	if (r < 0 && errno != EINTR)
		return -errno;
	for (size_t i = 0; r > 0 && i < n; i++)
		if (pfd[i].revents && !src[i]->dead)
			src[i]->cb(pfd[i].fd, pfd[i].revents, src[i]->data);
	run_timers(loop);
	return 0;
}

int loop_run(struct loop *loop)
{
	int r;

	while (!loop->quit)
		if ((r = loop_iterate(loop, -1)) < 0)
			return r;
	return loop->status;
}

void loop_quit(struct loop *loop, int status)
{
	loop->quit = true;
	loop->status = status;
}
