#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static FILE *log_fp;
static enum log_level log_level = LOG_INFO_;
static const char *log_ident = "rdv";

static const char *const level_names[] = { "error", "warning", "info", "debug" };
/* syslog priorities, the prefix journald reads off each stderr line */
static const int journal_prio[] = { 3, 4, 6, 7 };
static bool log_journal;

/* Under systemd stderr is the journal (JOURNAL_STREAM names it): a daemon
 * writing its log file copies each line there too. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int log_open(const char *path)
{
	FILE *fp;
	int fd;

	if (!path) {
		log_close();
		return 0;
	}
	/* 0640: the log names devices and addresses, not for everyone. */
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	fp = fdopen(fd, "a");
	if (!fp) {
		int r = -errno;
		close(fd);
		return r;
	}
	setvbuf(fp, NULL, _IOLBF, 0);
	log_close();
	log_fp = fp;
	log_journal = stderr_is_journal();
	return 0;
}

void log_close(void)
{
	if (log_fp)
		fclose(log_fp);
	log_fp = NULL;
}

void log_set_level(enum log_level level) { log_level = level; }
void log_set_ident(const char *ident) { log_ident = ident; }

int log_parse_level(const char *name, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(name, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

int log_setup(const char *ident, const char *level, bool debug, const char *file)
{
	enum log_level lvl = LOG_INFO_;

	log_set_ident(ident);
	log_parse_level(level, &lvl);
	log_set_level(debug ? LOG_DEBUG_ : lvl);
	return file ? log_open(file) : 0;
}

/*
 * Control characters are written as \n, \t, \r or \xHH: a value a peer
 * sent (a device's LAN address, a program's output) can neither start a
 * forged log line nor send escape sequences to whoever reads the log.
 */
size_t log_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!outlen)
		return 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		char esc[5] = { *p, 0 };
		size_t n;

		if (*p < 0x20 || *p == 0x7f) {
			esc[0] = '\\';
			esc[1] = *p == '\n' ? 'n' : *p == '\t' ? 't' : *p == '\r' ? 'r' : 'x';
			if (esc[1] == 'x') {
				esc[2] = hex[*p >> 4];
				esc[3] = hex[*p & 15];
			}
		}
		n = strlen(esc);
		if (o + n >= outlen)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	FILE *fp = log_fp ? log_fp : stderr;
	char stamp[40], text[2048], safe[4 * sizeof(text)];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int saved = errno;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_escape(text, safe, sizeof(safe));
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(fp, "%s.%03ld %s[%d]: %s: %s\n", stamp, ts.tv_nsec / 1000000, log_ident,
		(int)getpid(), level_names[level], safe);
	fflush(fp);
	if (log_journal) {
		fprintf(stderr, "<%d>", journal_prio[level]);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	errno = saved;
}
