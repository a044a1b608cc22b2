#define _GNU_SOURCE
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "util.h"

#define KILL_GRACE_MS 700

struct child {
	struct loop *loop;
	pid_t pid;
	int pidfd;
	int outfd;
	struct loop_fd *pid_src, *out_src;
	struct loop_timer *kill_timer;
	child_exit_cb cb;
	void *data;
	bool stopping;
	char label[96];
	struct linebuf lines;
	struct child *next;
};

static struct child *children;

unsigned child_count(void)
{
	unsigned n = 0;

	for (struct child *c = children; c; c = c->next)
		n++;
	return n;
}

pid_t child_pid(const struct child *c) { return c->pid; }

static void log_line(const char *line, void *data)
{
	log_info("%s: %s", ((struct child *)data)->label, line);
}

static void close_output(struct child *c)
{
	if (c->outfd < 0)
		return;
	linebuf_flush(&c->lines, log_line, c);
	loop_remove_fd(c->loop, c->out_src);
	close(c->outfd);
	c->outfd = -1;
}

static void on_output(int fd, short revents, void *data)
{
	struct child *c = data;
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));

	(void)revents;
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		close_output(c);
		return;
	}
	linebuf_feed(&c->lines, buf, (size_t)n, log_line, c);
}

static void child_free(struct child *c)
{
	for (struct child **p = &children; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	close_output(c);
	loop_remove_fd(c->loop, c->pid_src);
	loop_cancel_timer(c->loop, c->kill_timer);
	close(c->pidfd);
	free(c);
}

static void on_exit_fd(int fd, short revents, void *data)
{
	struct child *c = data;
	siginfo_t si = { 0 };

	(void)fd;
	(void)revents;
	/* WNOWAIT: the exited child stays a zombie, so its pid and process
	 * group id are still ours while the rest of its tree is killed */
	if (waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
		return;
	/* the tree may hold grandchildren (vtund forks per connection) */
	signal_child(-1, c->pid, SIGKILL);
	waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED);
	if (c->outfd >= 0) {
		char buf[512];
		ssize_t n;
		while ((n = read(c->outfd, buf, sizeof(buf))) > 0)
			;
	}
	if (c->cb && !c->stopping) {
		c->stopping = true;
		if (si.si_code == CLD_EXITED)
			c->cb(c, si.si_status, 0, c->data);
		else
			c->cb(c, -1, si.si_status, c->data);
	}
	child_free(c);
}

static int start(struct loop *loop, char *const argv[], const char *label, child_exit_cb cb,
		 void *data, struct child **out, int in_fd, int out_fd, int err_fd)
{
	struct spawn_opts opts = { .new_pgrp = true, .in_fd = in_fd, .out_fd = -1, .err_fd = -1 };
	struct child *c = calloc(1, sizeof(*c));
	int pipefd[2] = { -1, -1 };
	int r;

	if (!c)
		return -ENOMEM;
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	opts.out_fd = out_fd >= 0 ? out_fd : pipefd[1];
	opts.err_fd = err_fd >= 0 ? err_fd : pipefd[1];
	c->loop = loop;
	c->cb = cb;
	c->data = data;
	c->outfd = pipefd[0];
	snprintf(c->label, sizeof(c->label), "%s", label);
	r = spawn(argv, &opts, &c->pid, &c->pidfd);
	close(pipefd[1]);
	if (r < 0)
		goto fail;
	if ((r = loop_add_fd(loop, c->pidfd, POLLIN, on_exit_fd, c, &c->pid_src)) < 0 ||
	    (r = loop_add_fd(loop, c->outfd, POLLIN, on_output, c, &c->out_src)) < 0) {
		signal_child(c->pidfd, c->pid, SIGKILL);
		waitid(P_PIDFD, (id_t)c->pidfd, &(siginfo_t){ 0 }, WEXITED);
		loop_remove_fd(loop, c->pid_src);
		close(c->pidfd);
		goto fail;
	}
	c->next = children;
	children = c;
	if (out)
		*out = c;
	log_debug("%s: started, pid %d", label, (int)c->pid);
	return 0;
fail:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	free(c);
	return r;
}

int child_start(struct loop *loop, char *const argv[], const char *label, child_exit_cb cb,
		void *data, struct child **out)
{
	return start(loop, argv, label, cb, data, out, -1, -1, -1);
}

int child_start_fds(struct loop *loop, char *const argv[], const char *label, child_exit_cb cb,
		    void *data, struct child **out, int in_fd, int out_fd)
{
	return start(loop, argv, label, cb, data, out, in_fd, out_fd, -1);
}

int child_start_io(struct loop *loop, char *const argv[], const char *label, child_exit_cb cb,
		    void *data, struct child **out, int *to_child, int *from_child,
		    int *from_child_err)
{
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } }, r = 0;

	for (int i = 0; i < (from_child_err ? 3 : 2) && !r; i++)
		if (pipe2(p[i], O_CLOEXEC) < 0)
			r = -errno;
	if (!r)
		r = start(loop, argv, label, cb, data, out, p[0][0], p[1][1], p[2][1]);
	for (int i = 0; i < 3; i++) {
		/* the child's ends, and ours too when it did not start */
		if (p[i][i ? 1 : 0] >= 0)
			close(p[i][i ? 1 : 0]);
		if (r < 0 && p[i][i ? 0 : 1] >= 0)
			close(p[i][i ? 0 : 1]);
	}
	if (r < 0)
		return r;
	fcntl(p[0][1], F_SETFL, O_NONBLOCK);
	fcntl(p[1][0], F_SETFL, O_NONBLOCK);
	*to_child = p[0][1];
	*from_child = p[1][0];
	if (from_child_err) {
		fcntl(p[2][0], F_SETFL, O_NONBLOCK);
		*from_child_err = p[2][0];
	}
	return 0;
}


static void on_kill_timer(void *data)
{
	struct child *c = data;

	c->kill_timer = NULL;
	log_warn("%s: still running %d ms after SIGTERM, killing", c->label, KILL_GRACE_MS);
	signal_child(c->pidfd, c->pid, SIGKILL);
}

void child_stop(struct child *c)
{
	if (!c || c->stopping)
		return;
	c->stopping = true;
	signal_child(c->pidfd, c->pid, SIGTERM);
	loop_add_timer(c->loop, KILL_GRACE_MS, on_kill_timer, c, &c->kill_timer);
}

void child_kill_all(void)
{
	for (struct child *c = children; c; c = c->next)
		signal_child(c->pidfd, c->pid, SIGKILL);
}

/* Every child in the list is unreaped (reaping frees it): its pidfd is safe to use. */
int child_signal(struct child *c, int sig)
{
	if (!c)
		return -ESRCH;
	return pidfd_send_signal(c->pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int child_kill_stale(const char *pidfile, const char *comm)
{
	char buf[32], path[64], name[32];
	struct pollfd pfd = { .events = POLLIN };
	ssize_t n = -1;
	long pid;
	int fd, r = 0;

	fd = open(pidfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(pidfile);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 1 || pid == getpid())
		return 0;
	/* the pidfd pins the process: the name checked is the one signalled */
	pfd.fd = pidfd_open((pid_t)pid, 0);
	if (pfd.fd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, name, sizeof(name) - 1);
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		name[n] = '\0';
		name[strcspn(name, "\n")] = '\0';
	}
	if (n > 0 && !strcmp(name, comm) && pidfd_send_signal(pfd.fd, SIGKILL, NULL, 0) == 0) {
		log_warn("killed %s pid %ld left by a previous run", comm, pid);
		poll(&pfd, 1, 2000);
		r = 1;
	}
	close(pfd.fd);
	return r;
}
