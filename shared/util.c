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
