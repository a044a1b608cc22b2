/*
 * Supervised children: fork+exec with an argv array, own process group,
 * stdout/stderr logged line by line with a label, exit noticed through a
 * pidfd in the loop. A stopped child gets SIGTERM, then SIGKILL after a
 * grace period, and is reaped: nothing outlives its owner.
 */
#pragma once
#include <sys/types.h>
#include "loop.h"

struct child;
/* status as from waitid: si_code CLD_EXITED -> exit code, else signal number */
typedef void (*child_exit_cb)(struct child *c, int code, int signo, void *data);

int child_start(struct loop *loop, char *const argv[], const char *label, child_exit_cb cb,
		void *data, struct child **out);
/* Detaches the callback and terminates the child's process group. */
void child_stop(struct child *c);
/* Same, with pipes to the child's stdin and from its stdout, and from its
 * stderr if from_child_err is not NULL (else stderr is logged); the caller
 * owns the pipe ends it gets (non-blocking, close-on-exec). */
int child_start_io(struct loop *loop, char *const argv[], const char *label, child_exit_cb cb,
		   void *data, struct child **out, int *to_child, int *from_child,
		   int *from_child_err);
/* Same, with the given fds (e.g. one socket) as the child's stdin and stdout;
 * the caller keeps its own copies. */
int child_start_fds(struct loop *loop, char *const argv[], const char *label, child_exit_cb cb,
		    void *data, struct child **out, int in_fd, int out_fd);
pid_t child_pid(const struct child *c);
/* Signals the child itself through its pidfd (never a bare pid that may be reused). */
int child_signal(struct child *c, int sig);
/* children started and not yet reaped (stopped ones included) */
unsigned child_count(void);
/* SIGKILL to every child still there; used on the way out */
void child_kill_all(void);
/*
 * A child a killed predecessor left running (dnsmasq drops its privileges,
 * which clears the parent-death signal): kills the process named in pidfile
 * if it still runs as comm, waits up to 2 s for it to be gone (its ports
 * free), removes the file. 1 if one was killed, 0 if none, -errno.
 */
int child_kill_stale(const char *pidfile, const char *comm);
