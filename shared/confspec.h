/*
 * Table-driven validation of libconfig files: every key of a table is
 * checked for its kind and range, unknown keys are errors, and every error
 * names its line and the bad value. Used by every configuration of the kit.
 */
#pragma once
#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

enum conf_kind {
	K_PATH,   /* absolute path */
	K_UINT,   /* integer within min..max */
	K_BOOL,
	K_CIDR,   /* network address with prefix /8../30, host bits clear: a pool */
	K_IP,     /* IPv4 address */
	K_LEVEL,  /* log level */
	K_NAME,   /* letters, digits, '-', '_' (group, table, interface prefix) */
	K_HOST,   /* host name or IPv4 address */
	K_DEVICE, /* device account name */
	K_IFNAME, /* network interface name */
	K_CHOICE, /* one of choices[] */
	K_ADDR,   /* host address with prefix, A.B.C.D/P: stored as struct cidr4 */
};

struct conf_key {
	const char *section; /* NULL: top level */
	const char *key;
	enum conf_kind kind;
	size_t offset;
	size_t size;         /* strings: buffer size */
	unsigned min, max;   /* K_UINT */
	const char *const *choices; /* K_CHOICE, NULL-terminated */
};

#define CONF_STRING(type, sec, k, kind, field) \
	{ sec, k, kind, offsetof(type, field), sizeof(((type *)0)->field), 0, 0, NULL }
#define CONF_NUMBER(type, sec, k, field, lo, hi) \
	{ sec, k, K_UINT, offsetof(type, field), 0, lo, hi, NULL }
#define CONF_BOOLEAN(type, sec, k, field) \
	{ sec, k, K_BOOL, offsetof(type, field), 0, 0, 0, NULL }
#define CONF_CHOICE(type, sec, k, field, list) \
	{ sec, k, K_CHOICE, offsetof(type, field), sizeof(((type *)0)->field), 0, 0, list }

struct conf_errors {
	char *buf;
	size_t len, used;
	int count;
};

void conf_error(struct conf_errors *e, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* handles a key the table does not know; returns false if it is unknown */
typedef bool (*conf_extra_fn)(config_setting_t *s, const char *section, void *base,
			      struct conf_errors *e);

/* Reads path (or text when path is NULL) and checks every key against the table. */
int conf_read(const char *path, const char *text, const struct conf_key *keys, size_t n,
	      void *base, conf_extra_fn extra, struct conf_errors *e);
bool conf_name_ok(const char *s);
