/*
 * spawn() and the child API with real programs. kill() is watched: every
 * call is checked against the kernel (is the target still an unreaped child
 * of ours?) and then made for real, so a signal to a pid that may already
 * belong to someone else is caught even when no reuse happens in the test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "child.h"
#include "log.h"
#include "util.h"

static int stray_kills;
static pid_t last_stray;

/* Takes precedence over libc's kill for every object linked into this test. */
int kill(pid_t pid, int sig)
{
	pid_t target = pid < 0 ? -pid : pid;
	siginfo_t si = { 0 };

	/* a process group id is safe only while its leader, our child, is unreaped */
	if (target > 1 && waitid(P_PID, (id_t)target, &si, WEXITED | WNOHANG | WNOWAIT) < 0 &&
	    errno == ECHILD) {
		stray_kills++;
		last_stray = pid;
	}
	return (int)syscall(SYS_kill, pid, sig);
}

struct exit_seen {
	bool done;
	int code, signo;
};

static void on_exit_cb(struct child *c, int code, int signo, void *data)
{
	struct exit_seen *e = data;

	(void)c;
	e->done = true;
	e->code = code;
	e->signo = signo;
}

static void run_until(struct loop *loop, bool *flag, unsigned max_ms)
{
	uint64_t end = now_ms() + max_ms;

	while ((!flag || !*flag) && child_count() && now_ms() < end)
		loop_iterate(loop, 50);
}

static void test_stdin_fd0(void)
{
	char *argv[] = { "/bin/cat", NULL };
	int in[2], out[2], saved = dup(0), pidfd;
	struct spawn_opts o = { .in_fd = 0, .out_fd = -1, .err_fd = -1 };
	char buf[32] = "";
	ssize_t n;
	pid_t pid;

	if (pipe(in) < 0 || pipe(out) < 0 || saved < 0)
		return;
	o.out_fd = out[1];
	CHECK(write(in[1], "hello\n", 6) == 6, "write");
	close(in[1]);
	dup2(in[0], 0); /* fd 0 is now the pipe: spawn must pass it on, not /dev/null */
	close(in[0]);
	CHECK(spawn(argv, &o, &pid, &pidfd) == 0, "spawn cat");
	dup2(saved, 0);
	close(saved);
	close(out[1]);
	waitid(P_PIDFD, (id_t)pidfd, &(siginfo_t){ 0 }, WEXITED);
	close(pidfd);
	n = read(out[0], buf, sizeof(buf) - 1);
	close(out[0]);
	CHECK(n == 6 && !strcmp(buf, "hello\n"), "fd 0 given as stdin reaches the child (got %zd bytes)", n);
}

static void test_exec_failure(void)
{
	char *argv[] = { "/nonexistent/vtund", NULL };
	struct spawn_opts o = { .in_fd = -1, .out_fd = -1, .err_fd = -1 };
	int pidfd = -1, r;
	pid_t pid = 0;

	r = spawn(argv, &o, &pid, &pidfd);
	CHECK(r == -ENOENT, "a program that cannot be executed is an error of spawn: got %d", r);
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "and its child is already reaped");
}

/* A child exits by itself: its tree is killed, no signal after the reap. */
static void test_exit_no_stray(struct loop *loop)
{
	char *argv[] = { "/bin/sh", "-c", "sleep 30 & echo $!; exit 3", NULL };
	struct exit_seen e = { 0 };
	struct child *c;
	int in, out, status = 0;
	char buf[32] = "";
	ssize_t n = -1;
	pid_t grandchild;

	stray_kills = 0;
	CHECK(child_start_io(loop, argv, "sh", on_exit_cb, &e, &c, &in, &out, NULL) == 0, "start sh");
	close(in);
	for (uint64_t end = now_ms() + 5000; n <= 0 && now_ms() < end;) {
		n = read(out, buf, sizeof(buf) - 1);
		if (n <= 0)
			usleep(20000);
	}
	close(out);
	grandchild = (pid_t)atoi(buf);
	run_until(loop, &e.done, 5000);
	run_until(loop, NULL, 2000);
	CHECK(e.done && e.code == 3 && e.signo == 0, "exit status 3 reported (%d %d)", e.code, e.signo);
	CHECK(child_count() == 0, "the child is reaped");
	CHECK(stray_kills == 0, "no signal to a reaped pid after the exit (%d, last to %d)", stray_kills,
	      (int)last_stray);
	/* we are the subreaper: the grandchild came to us, killed with the group */
	CHECK(grandchild > 1 && waitpid(grandchild, &status, 0) == grandchild && WIFSIGNALED(status) &&
	      WTERMSIG(status) == SIGKILL, "the grandchild in the child's group was killed (%d)",
	      (int)grandchild);
}

/* A stopped child: SIGTERM through the pidfd and the group, nothing after the reap. */
static void test_stop_no_stray(struct loop *loop)
{
	char *argv[] = { "/bin/sleep", "30", NULL };
	struct child *c;

	stray_kills = 0;
	CHECK(child_start(loop, argv, "sleep", NULL, NULL, &c) == 0, "start sleep");
	CHECK(child_signal(c, 0) == 0, "child_signal reaches a live child");
	child_stop(c);
	run_until(loop, NULL, 5000);
	CHECK(child_count() == 0, "the stopped child is reaped");
	CHECK(stray_kills == 0, "no signal to a reaped pid after a stop (%d)", stray_kills);
}

/* The watch itself must be able to fail: a signal to a reaped pid is caught. */
static void test_watch_catches_reaped(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	stray_kills = 0;
	kill(pid, 0);
	CHECK(stray_kills == 1, "the kill watch sees a signal to a reaped pid");
	stray_kills = 0;
}

/*
 * A daemon killed -9 takes its children with it: a stunnel or vtund left
 * running by a dead onsitedev held the ports of its successor (soak test).
 * The "daemon" here is a forked process that spawns sleep and dies; the
 * sleep, reparented to this test (a subreaper), must end by SIGTERM.
 */
static void test_parent_death(void)
{
	char *argv[] = { "/bin/sleep", "30", NULL };
	struct spawn_opts opts = { .in_fd = -1, .out_fd = -1, .err_fd = -1 };
	int pipefd[2], pidfd, status;
	pid_t daemon_pid, orphan = 0;
	siginfo_t si = { 0 };
	uint64_t end;

	if (pipe(pipefd) < 0)
		return;
	daemon_pid = fork();
	if (daemon_pid == 0) {
		pid_t pid = 0;
		close(pipefd[0]);
		if (spawn(argv, &opts, &pid, &pidfd) < 0)
			pid = 0;
		if (write(pipefd[1], &pid, sizeof(pid)) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	CHECK(read(pipefd[0], &orphan, sizeof(orphan)) == sizeof(orphan) && orphan > 0,
	      "the daemon spawned its child");
	close(pipefd[0]);
	kill(daemon_pid, SIGKILL);
	waitpid(daemon_pid, &status, 0);
	if (orphan <= 0)
		return;
	end = now_ms() + 3000;
	while (now_ms() < end &&
	       (waitid(P_PID, (id_t)orphan, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0))
		usleep(20000);
	CHECK(si.si_pid == orphan && si.si_code == CLD_KILLED && si.si_status == SIGTERM,
	      "a daemon killed -9: its child ends by SIGTERM (code %d, status %d)", si.si_code,
	      si.si_status);
	if (si.si_pid != orphan)
		kill(orphan, SIGKILL); /* our child now (subreaper): the pid is still its own */
	waitpid(orphan, &status, 0);
}

int main(void)
{
	struct loop *loop;

	log_set_level(LOG_ERR_);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (loop_new(&loop) < 0)
		return 1;
	test_stdin_fd0();
	test_exec_failure();
	test_watch_catches_reaped();
	test_exit_no_stray(loop);
	test_stop_no_stray(loop);
	test_parent_death();
	loop_free(loop);
	return check_summary();
}
