#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

int random_hex(char *buf, size_t nbytes)
{
	unsigned char raw[64];
	size_t got = 0;

	if (nbytes > sizeof(raw))
		return -EINVAL;
	while (got < nbytes) {
		ssize_t r = getrandom(raw + got, nbytes - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	for (size_t i = 0; i < nbytes; i++)
		sprintf(buf + 2 * i, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

int str_copy(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, len + 1);
	return 0;
}

/* A UNIX account name we are willing to use for a device. */
bool device_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len < 1 || len > 31 || !(name[0] >= 'a' && name[0] <= 'z'))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			return false;
	return true;
}

bool hostname_valid(const char *s)
{
	size_t len = strlen(s);

	if (len < 1 || len > HOSTNAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_'))
			return false;
	return true;
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 if none. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	unsigned cp = s[0] & (0x3f >> (n - 1));

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and beyond U+10FFFF are not UTF-8 */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return cp >= 0x80 && cp <= 0x9f ? 0 : n; /* C1 controls: 8-bit escapes (CSI is 0x9b) */
}

const char *peer_text(const char *in, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, n;

	while (*s) {
		n = *s >= 0x20 && *s < 0x7f ? 1 : *s >= 0x80 ? utf8_len(s) : 0;
		if (n ? o + n >= size : o + 4 >= size)
			break;
		if (n) {
			memcpy(out + o, s, n);
			o += n;
			s += n;
		} else {
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", *s++);
		}
	}
	out[o] = '\0';
	return out;
}

int write_file_atomic(const char *path, const char *content, mode_t mode)
{
	char tmp[4096];
	size_t len = strlen(content);
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0 || write(fd, content, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

char *str_printable(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if (*p < ' ' || *p >= 0x7f)
			*p = '?';
	return s;
}

int write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;
	size_t len = strlen(value);

	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != (ssize_t)len)
		r = -errno;
	close(fd);
	return r;
}

/* fd as a copy above 2, so that moving copies onto 0..2 never clobbers a source */
static int high_copy(int fd, int flags)
{
	return fcntl(fd, flags, 3);
}

/* In the forked child: stdio from opts, nothing else inherited but the
 * close-on-exec pipe that tells the parent why execve failed. */
static void child_exec(char *const argv[], const struct spawn_opts *opts, int errfd, pid_t parent)
{
	static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	int fds[3] = { opts->in_fd, opts->out_fd, opts->err_fd }, e;
	sigset_t none;

	/* A daemon killed -9 must not leave its children running: a stunnel
	 * or vtund of the dead one would hold the ports its successor needs
	 * (found by the soak test). If the parent died before this, exit now. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (opts->new_pgrp)
		setpgid(0, 0);
	errfd = high_copy(errfd, F_DUPFD_CLOEXEC);
	if (fds[0] < 0)
		fds[0] = open("/dev/null", O_RDONLY);
	if (fds[1] < 0)
		fds[1] = open("/dev/null", O_WRONLY);
	if (fds[2] < 0)
		fds[2] = fds[1];
	for (int i = 0; i < 3; i++)
		if (fds[i] < 0 || (fds[i] = high_copy(fds[i], F_DUPFD)) < 0)
			goto fail;
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			goto fail;
	if (errfd < 0 || (errfd != 3 && dup3(errfd, 3, O_CLOEXEC) < 0))
		goto fail;
	close_range(4, ~0u, 0);
	execve(argv[0], argv, env);
	e = errno;
	if (write(3, &e, sizeof(e)) < 0)
		_exit(127);
fail:
	_exit(127);
}

int spawn(char *const argv[], const struct spawn_opts *opts, pid_t *pidp, int *pidfdp)
{
	int errpipe[2], pidfd, e = 0, r = 0;
	ssize_t n;
	pid_t pid;

	pid_t parent = getpid();

	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(errpipe[0]);
		close(errpipe[1]);
		return r;
	}
	if (pid == 0)
		child_exec(argv, opts, errpipe[1], parent);
	close(errpipe[1]);
	if (opts->new_pgrp)
		setpgid(pid, pid); /* no race with an early signal to the group */
	/* EOF: execve succeeded (the pipe closed on exec); else the child's errno */
	do
		n = read(errpipe[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(errpipe[0]);
	pidfd = pidfd_open(pid, 0);
	if (n == (ssize_t)sizeof(e))
		r = e > 0 ? -e : -EIO;
	else if (pidfd < 0)
		r = -errno;
	if (r < 0) {
		/* not reaped yet, so the pid is still this child's */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (pidfd >= 0)
			close(pidfd);
		return r;
	}
	*pidp = pid;
	*pidfdp = pidfd;
	return 0;
}

void signal_child(int pidfd, pid_t pgid, int sig)
{
	if (pgid > 0)
		kill(-pgid, sig);
	if (pidfd >= 0)
		pidfd_send_signal(pidfd, sig, NULL, 0);
}

void linebuf_flush(struct linebuf *lb, line_fn fn, void *data)
{
	if (!lb->used)
		return;
	lb->line[lb->used] = '\0';
	lb->used = 0;
	fn(lb->line, data);
}

void linebuf_feed(struct linebuf *lb, const char *buf, size_t n, line_fn fn, void *data)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || lb->used == sizeof(lb->line) - 1)
			linebuf_flush(lb, fn, data);
		if (buf[i] != '\n' && buf[i] != '\r')
			lb->line[lb->used++] = buf[i];
	}
}
