/* Levelled logging: stderr in the foreground, a log file as a service. */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERR_ = 0, LOG_WARN_, LOG_INFO_, LOG_DEBUG_ };

int log_open(const char *path); /* NULL: stderr */
void log_close(void);
void log_set_level(enum log_level level);
int log_parse_level(const char *name, enum log_level *out);
void log_set_ident(const char *ident);
/* A daemon's logging: ident, level by name (debug wins), to file or, if NULL, stderr. */
int log_setup(const char *ident, const char *level, bool debug, const char *file);
/* in with control characters escaped, cut to fit outlen; returns the length */
size_t log_escape(const char *in, char *out, size_t outlen);
/* One line per call, whatever the message holds (see log_escape). */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR_, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN_, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO_, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG_, __VA_ARGS__)
