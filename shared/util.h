#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* hex of nbytes random bytes from the kernel; buf holds 2*nbytes+1 */
int random_hex(char *buf, size_t nbytes);
/* copies; -ENAMETOOLONG when it does not fit */
int str_copy(char *dst, size_t size, const char *src);
bool device_name_valid(const char *name);
#define HOSTNAME_MAX 64
bool hostname_valid(const char *name);
/* replaces control characters, DEL and non-ASCII with '?': peer text made safe to print or log */
char *str_printable(char *s);
/*
 * Text that came from a peer, made safe to print on a terminal or put on the
 * bus: control characters (C0, DEL, C1) and bytes that are not UTF-8 become
 * \xNN, so no escape sequence gets through. Cut to fit size (>= 1); returns out.
 */
const char *peer_text(const char *in, char *out, size_t size);
/* writes content to path atomically (tmp + rename) with the given mode */
int write_file_atomic(const char *path, const char *content, mode_t mode);
int write_sysctl(const char *path, const char *value);

/* fds for the child's stdin, stdout, stderr; -1: /dev/null (err: same as out).
 * 0 is a file descriptor like any other. */
struct spawn_opts {
	bool new_pgrp;  /* so the whole tree can be signalled */
	int in_fd;
	int out_fd;
	int err_fd;
};
/* fork+exec argv[0] (absolute path); returns pid and a pidfd for the loop.
 * An execve failure is the child's errno here, not a later exit status 127. */
int spawn(char *const argv[], const struct spawn_opts *opts, pid_t *pid, int *pidfd);
/*
 * Signals a child through its pidfd and, with pgid > 0, its process group.
 * Only for a child not yet reaped: then neither the pid nor the group id can
 * belong to anyone else. Never signal a bare pid after waitid() reaped it.
 */
void signal_child(int pidfd, pid_t pgid, int sig);

/* Splits a byte stream into lines (CR dropped, overlong lines cut), one callback each. */
struct linebuf {
	char line[512];
	size_t used;
};
typedef void (*line_fn)(const char *line, void *data);
void linebuf_feed(struct linebuf *lb, const char *buf, size_t n, line_fn fn, void *data);
/* hands over a last line that had no newline */
void linebuf_flush(struct linebuf *lb, line_fn fn, void *data);
