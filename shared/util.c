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

int spawn(char *const argv[], const struct spawn_opts *opts, pid_t *pidp, int *pidfdp)
{
	static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	pid_t pid;
	int pidfd;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int out = opts->out_fd > 0 ? opts->out_fd : open("/dev/null", O_WRONLY);
		int err = opts->err_fd > 0 ? opts->err_fd : out;
		int in = opts->in_fd > 0 ? opts->in_fd : open("/dev/null", O_RDONLY);
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (opts->new_pgrp)
			setpgid(0, 0);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(127);
		close_range(3, ~0u, 0);
		execve(argv[0], argv, env);
		_exit(127);
	}
	if (opts->new_pgrp)
		setpgid(pid, pid); /* no race with an early kill_tree */
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		int r = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return r;
	}
	*pidp = pid;
	*pidfdp = pidfd;
	return 0;
}

void kill_tree(pid_t pid, bool pgrp, int sig)
{
	if (pid <= 0)
		return;
	if (!pgrp || kill(-pid, sig) < 0)
		kill(pid, sig);
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
