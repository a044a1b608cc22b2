#include "confspec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include "log.h"
#include "net.h"
#include "util.h"

void conf_error(struct conf_errors *e, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	e->count++;
	if (e->used + 1 >= e->len)
		return;
	if (s)
		n = snprintf(e->buf + e->used, e->len - e->used, "line %u: ",
			     config_setting_source_line(s));
	else
		n = 0;
	if (n > 0 && (size_t)n < e->len - e->used)
		e->used += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(e->buf + e->used, e->len - e->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		e->used = e->used + (size_t)n < e->len - 1 ? e->used + (size_t)n : e->len - 2;
	e->buf[e->used++] = '\n';
	e->buf[e->used] = '\0';
}

bool conf_name_ok(const char *s)
{
	if (!*s || strlen(s) > 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

struct table {
	const struct conf_key *keys;
	size_t n;
	void *base;
	conf_extra_fn extra;
};

static bool host_ok(const char *s)
{
	uint32_t ip;

	return ip4_parse(s, &ip) == 0 || hostname_valid(s);
}

static bool choice_ok(const struct conf_key *k, const char *v)
{
	for (const char *const *c = k->choices; *c; c++)
		if (!strcmp(*c, v))
			return true;
	return false;
}

static void expected(const struct conf_key *k, char *buf, size_t len)
{
	size_t used = 0;

	switch (k->kind) {
	case K_PATH: snprintf(buf, len, "an absolute path of at most %zu bytes", k->size - 1); return;
	case K_LEVEL: snprintf(buf, len, "error, warning, info or debug"); return;
	case K_NAME: snprintf(buf, len, "1 to %zu letters, digits, '-' or '_'", k->size - 1); return;
	case K_IP: snprintf(buf, len, "an IPv4 address"); return;
	case K_HOST: snprintf(buf, len, "a host name or IPv4 address"); return;
	case K_DEVICE: snprintf(buf, len, "a device name (a-z first, then a-z, 0-9, '-', '_')"); return;
	case K_IFNAME: snprintf(buf, len, "a network interface name"); return;
	case K_CIDR:
		snprintf(buf, len, "a network address with a prefix from /8 to /30, e.g. 192.168.128.0/17");
		return;
	case K_ADDR: snprintf(buf, len, "an address with prefix, e.g. 192.168.38.225/28"); return;
	case K_CHOICE:
		used = (size_t)snprintf(buf, len, "one of");
		for (const char *const *c = k->choices; *c && used < len; c++)
			used += (size_t)snprintf(buf + used, len - used, " %s", *c);
		return;
	default: snprintf(buf, len, "?"); return;
	}
}

static void set_string(const struct conf_key *k, config_setting_t *s, void *base,
		       struct conf_errors *e)
{
	const char *v = config_setting_get_string(s);
	char *dst = (char *)base + k->offset, want[160];
	struct cidr4 cidr;
	uint32_t ip;
	enum log_level lvl;
	bool ok;

	if (!v) {
		conf_error(e, s, "'%s' must be a string", k->key);
		return;
	}
	switch (k->kind) {
	case K_PATH: ok = v[0] == '/'; break;
	case K_LEVEL: ok = log_parse_level(v, &lvl) == 0; break;
	case K_NAME: ok = conf_name_ok(v); break;
	case K_IP: ok = ip4_parse(v, &ip) == 0; break;
	case K_HOST: ok = host_ok(v); break;
	case K_DEVICE: ok = device_name_valid(v); break;
	case K_IFNAME: ok = ifname_valid(v); break;
	case K_CHOICE: ok = choice_ok(k, v); break;
	case K_ADDR:
		ok = cidr4_parse(v, &cidr) == 0 && cidr.prefix >= 8 && cidr.prefix <= 30 &&
		     (cidr.addr & ~prefix_to_mask(cidr.prefix)) &&
		     (~cidr.addr & ~prefix_to_mask(cidr.prefix));
		if (ok) {
			memcpy(dst, &cidr, sizeof(cidr));
			return;
		}
		break;
	case K_CIDR:
		ok = cidr4_parse(v, &cidr) == 0 && cidr.prefix >= 8 && cidr.prefix <= 30 &&
		     !(cidr.addr & ~prefix_to_mask(cidr.prefix));
		if (ok) {
			memcpy(dst, &cidr, sizeof(cidr));
			return;
		}
		break;
	default: ok = false; break;
	}
	if (!ok || strlen(v) >= k->size) {
		expected(k, want, sizeof(want));
		conf_error(e, s, "'%s' = \"%s\": expected %s", k->key, v, want);
		return;
	}
	strcpy(dst, v);
}

static void set_value(const struct conf_key *k, config_setting_t *s, void *base,
		      struct conf_errors *e)
{
	long long v;

	if (k->kind == K_BOOL) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
			conf_error(e, s, "'%s' must be true or false", k->key);
			return;
		}
		*(bool *)((char *)base + k->offset) = config_setting_get_bool(s);
		return;
	}
	if (k->kind != K_UINT) {
		set_string(k, s, base, e);
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64) {
		conf_error(e, s, "'%s' must be an integer", k->key);
		return;
	}
	v = config_setting_get_int64(s);
	if (v < k->min || v > k->max) {
		conf_error(e, s, "'%s' = %lld: out of range %u..%u", k->key, v, k->min, k->max);
		return;
	}
	*(unsigned *)((char *)base + k->offset) = (unsigned)v;
}

static const struct conf_key *find_key(const struct table *t, const char *section, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->keys[i].key, key) &&
		    ((!section && !t->keys[i].section) ||
		     (section && t->keys[i].section && !strcmp(section, t->keys[i].section))))
			return &t->keys[i];
	return NULL;
}

static bool is_section(const struct table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->keys[i].section && !strcmp(t->keys[i].section, name))
			return true;
	return false;
}

static void load_group(const struct table *t, config_setting_t *g, const char *section,
		       struct conf_errors *e)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct conf_key *k = find_key(t, section, name);

		if (k)
			set_value(k, s, t->base, e);
		else if (!section && is_section(t, name) && config_setting_is_group(s))
			load_group(t, s, name, e);
		else if (!t->extra || !t->extra(s, section, t->base, e))
			conf_error(e, s, "unknown key '%s%s%s'", section ? section : "",
				   section ? "." : "", name);
	}
}

int conf_read(const char *path, const char *text, const struct conf_key *keys, size_t n,
	      void *base, conf_extra_fn extra, struct conf_errors *e)
{
	struct table t = { keys, n, base, extra };
	config_t cfg;
	int ok;

	e->buf[0] = '\0';
	config_init(&cfg);
	ok = path ? config_read_file(&cfg, path) : config_read_string(&cfg, text);
	if (!ok) {
		if (path && config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			conf_error(e, NULL, "%s: cannot read: %s", path, strerror(errno));
		else
			conf_error(e, NULL, "%s%sline %d: %s", path ? path : "", path ? ": " : "",
				   config_error_line(&cfg), config_error_text(&cfg));
	} else {
		load_group(&t, config_root_setting(&cfg), NULL, e);
	}
	config_destroy(&cfg);
	return e->count ? -EINVAL : 0;
}
