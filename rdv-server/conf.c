#include "conf.h"

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "util.h"

enum kind { K_STR, K_PATH, K_UINT, K_CIDR, K_IP, K_LEVEL, K_NAME, K_PREFIX };

struct key_spec {
	const char *section; /* NULL: top level */
	const char *key;
	enum kind kind;
	size_t offset;
	size_t size;     /* for strings */
	unsigned min, max; /* for numbers */
};

#define S(sec, k, kind, field) { sec, k, kind, offsetof(struct rdv_conf, field), \
				 sizeof(((struct rdv_conf *)0)->field), 0, 0 }
#define N(sec, k, field, lo, hi) { sec, k, K_UINT, offsetof(struct rdv_conf, field), 0, lo, hi }

static const struct key_spec specs[] = {
	S(NULL, "log_file", K_PATH, log_file),
	S(NULL, "log_level", K_LEVEL, log_level),
	S(NULL, "run_dir", K_PATH, run_dir),
	S("tunnel", "pool", K_CIDR, pool),
	S("tunnel", "interface_prefix", K_PREFIX, ifname_prefix),
	N("tunnel", "setup_timeout", setup_timeout, 5, 600),
	S("vtund", "path", K_PATH, vtund_path),
	S("vtund", "listen", K_IP, vtund_listen),
	N("vtund", "port_base", port_base, 1024, 65535),
	N("devices", "uid_base", uid_base, 1000, 2000000000),
	N("devices", "uid_count", uid_count, 1, 60000),
	S("devices", "onsite_group", K_NAME, onsite_group),
	S("devices", "master_group", K_NAME, master_group),
	S("devices", "shell", K_PATH, shell),
	S("devices", "authorized_keys_dir", K_PATH, keys_dir),
	N("devices", "wait_master_timeout", wait_master_timeout, 1, 300),
	N("routing", "table_base", table_base, 256, 2000000000),
	N("routing", "rule_priority", rule_priority, 1, 32000),
	S("routing", "nft_table", K_NAME, nft_table),
};

struct errbuf {
	char *buf;
	size_t len, used;
	int count;
};

static void add_err(struct errbuf *e, const config_setting_t *s, const char *fmt, ...)
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

void conf_defaults(struct rdv_conf *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->log_file, "/var/log/rdvd.log");
	strcpy(c->log_level, "info");
	strcpy(c->run_dir, "/run/rdv");
	c->pool = (struct cidr4){ 0xc0a88000u, 17 }; /* 192.168.128.0/17 */
	strcpy(c->ifname_prefix, "rdv");
	c->setup_timeout = 30;
	strcpy(c->vtund_path, "/usr/sbin/vtund");
	strcpy(c->vtund_listen, "127.0.0.1");
	c->port_base = 20000;
	c->uid_base = 20000;
	c->uid_count = 10000;
	strcpy(c->onsite_group, "rdv-onsite");
	strcpy(c->master_group, "rdv-master");
	strcpy(c->shell, "/usr/sbin/rdv-shell");
	strcpy(c->keys_dir, "/etc/rdv/authorized_keys");
	c->wait_master_timeout = 20;
	c->table_base = 70000;
	c->rule_priority = 7000;
	strcpy(c->nft_table, "rdvd");
}

static bool name_ok(const char *s)
{
	if (!*s || strlen(s) > 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

static void set_string(const struct key_spec *k, config_setting_t *s, struct rdv_conf *c,
		       struct errbuf *e)
{
	const char *v = config_setting_get_string(s);
	char *dst = (char *)c + k->offset;
	struct cidr4 cidr;
	uint32_t ip;
	enum log_level lvl;

	if (!v) {
		add_err(e, s, "'%s' must be a string", k->key);
		return;
	}
	switch (k->kind) {
	case K_PATH:
		if (v[0] != '/' || strlen(v) >= k->size) {
			add_err(e, s, "'%s' = \"%s\": not an absolute path of at most %zu bytes",
				k->key, v, k->size - 1);
			return;
		}
		break;
	case K_LEVEL:
		if (log_parse_level(v, &lvl) < 0) {
			add_err(e, s, "'%s' = \"%s\": expected error, warning, info or debug",
				k->key, v);
			return;
		}
		break;
	case K_NAME:
		if (!name_ok(v) || strlen(v) >= k->size) {
			add_err(e, s, "'%s' = \"%s\": expected letters, digits, '-' or '_'", k->key, v);
			return;
		}
		break;
	case K_PREFIX:
		if (!name_ok(v) || strlen(v) >= k->size) {
			add_err(e, s, "'%s' = \"%s\": expected 1 to %zu letters or digits", k->key, v,
				k->size - 1);
			return;
		}
		break;
	case K_IP:
		if (ip4_parse(v, &ip) < 0) {
			add_err(e, s, "'%s' = \"%s\": not an IPv4 address", k->key, v);
			return;
		}
		break;
	case K_CIDR:
		if (cidr4_parse(v, &cidr) < 0 || cidr.prefix < 8 || cidr.prefix > 30 ||
		    (cidr.addr & ~prefix_to_mask(cidr.prefix))) {
			add_err(e, s, "'%s' = \"%s\": expected a network address with a prefix "
				"from /8 to /30, e.g. 192.168.128.0/17", k->key, v);
			return;
		}
		memcpy(dst, &cidr, sizeof(cidr));
		return;
	default:
		break;
	}
	strcpy(dst, v);
}

static void set_value(const struct key_spec *k, config_setting_t *s, struct rdv_conf *c,
		      struct errbuf *e)
{
	long long v;

	if (k->kind != K_UINT) {
		set_string(k, s, c, e);
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64) {
		add_err(e, s, "'%s' must be an integer", k->key);
		return;
	}
	v = config_setting_get_int64(s);
	if (v < k->min || v > k->max) {
		add_err(e, s, "'%s' = %lld: out of range %u..%u", k->key, v, k->min, k->max);
		return;
	}
	*(unsigned *)((char *)c + k->offset) = (unsigned)v;
}

static const struct key_spec *find_spec(const char *section, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++)
		if (!strcmp(specs[i].key, key) &&
		    ((!section && !specs[i].section) ||
		     (section && specs[i].section && !strcmp(section, specs[i].section))))
			return &specs[i];
	return NULL;
}

static bool is_section(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++)
		if (specs[i].section && !strcmp(specs[i].section, name))
			return true;
	return false;
}

static bool pattern_ok(const char *p)
{
	if (*p == '@')
		return name_ok(p + 1);
	if (!*p || strlen(p) >= CONF_STR)
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-_*?[]!", *p)))
			return false;
	return true;
}

static void load_rule(config_setting_t *r, struct access_rule *rule, struct errbuf *e)
{
	config_setting_t *m = config_setting_get_member(r, "master");
	config_setting_t *o = config_setting_get_member(r, "onsite");
	const char *v;

	if (config_setting_type(r) != CONFIG_TYPE_GROUP) {
		add_err(e, r, "access: each entry must be { master = ...; onsite = [...]; }");
		return;
	}
	for (int i = 0; i < config_setting_length(r); i++) {
		const char *name = config_setting_name(config_setting_get_elem(r, (unsigned)i));
		if (strcmp(name, "master") && strcmp(name, "onsite"))
			add_err(e, config_setting_get_elem(r, (unsigned)i),
				"access: unknown key '%s'", name);
	}
	if (!m || !(v = config_setting_get_string(m)) || !pattern_ok(v))
		add_err(e, m ? m : r, "access: 'master' must be a device name pattern or @group%s%s%s",
			m && config_setting_get_string(m) ? " (got \"" : "",
			m && config_setting_get_string(m) ? config_setting_get_string(m) : "",
			m && config_setting_get_string(m) ? "\")" : "");
	else
		strcpy(rule->master, v);
	if (!o || (config_setting_type(o) != CONFIG_TYPE_ARRAY &&
		   config_setting_type(o) != CONFIG_TYPE_LIST)) {
		add_err(e, o ? o : r, "access: 'onsite' must be a list of patterns, e.g. [\"rpi1*\"]");
		return;
	}
	for (int i = 0; i < config_setting_length(o); i++) {
		config_setting_t *el = config_setting_get_elem(o, (unsigned)i);
		v = config_setting_get_string(el);
		if (!v || !pattern_ok(v) || rule->n_onsite >= CONF_MAX_PATTERNS) {
			add_err(e, el, "access: onsite pattern \"%s\" is not a device name pattern "
				"or @group (at most %d per entry)", v ? v : "?", CONF_MAX_PATTERNS);
			continue;
		}
		strcpy(rule->onsite[rule->n_onsite++], v);
	}
}

static void load_access(config_setting_t *a, struct rdv_conf *c, struct errbuf *e)
{
	int n = config_setting_length(a);

	if (config_setting_type(a) != CONFIG_TYPE_LIST) {
		add_err(e, a, "'access' must be a list: access = ( { master = ...; onsite = [...]; } );");
		return;
	}
	c->access = calloc((size_t)n + 1, sizeof(*c->access));
	if (!c->access) {
		add_err(e, a, "out of memory");
		return;
	}
	c->n_access = (unsigned)n;
	for (int i = 0; i < n; i++)
		load_rule(config_setting_get_elem(a, (unsigned)i), &c->access[i], e);
}

static void load_group(config_setting_t *g, const char *section, struct rdv_conf *c,
		       struct errbuf *e)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct key_spec *k = find_spec(section, name);

		if (k)
			set_value(k, s, c, e);
		else if (!section && !strcmp(name, "access"))
			load_access(s, c, e);
		else if (!section && is_section(name) && config_setting_is_group(s))
			load_group(s, name, c, e);
		else
			add_err(e, s, "unknown key '%s%s%s'", section ? section : "",
				section ? "." : "", name);
	}
}

static void check_consistency(struct rdv_conf *c, struct errbuf *e)
{
	if ((unsigned long)c->port_base + c->uid_count - 1 > 65535)
		add_err(e, NULL, "vtund.port_base %u + devices.uid_count %u exceeds port 65535",
			c->port_base, c->uid_count);
	if (!strcmp(c->onsite_group, c->master_group))
		add_err(e, NULL, "devices.onsite_group and devices.master_group are both \"%s\"",
			c->onsite_group);
}

static int conf_finish(config_t *cfg, struct rdv_conf *c, struct errbuf *e)
{
	load_group(config_root_setting(cfg), NULL, c, e);
	check_consistency(c, e);
	config_destroy(cfg);
	if (e->count) {
		conf_release(c);
		return -EINVAL;
	}
	return 0;
}

int conf_load(const char *path, struct rdv_conf *c, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen, 0, 0 };
	config_t cfg;

	err[0] = '\0';
	conf_defaults(c);
	config_init(&cfg);
	if (!config_read_file(&cfg, path)) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			add_err(&e, NULL, "%s: cannot read: %s", path, strerror(errno));
		else
			add_err(&e, NULL, "%s: line %d: %s", path, config_error_line(&cfg),
				config_error_text(&cfg));
		config_destroy(&cfg);
		return -EINVAL;
	}
	return conf_finish(&cfg, c, &e);
}

int conf_parse_string(const char *text, struct rdv_conf *c, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen, 0, 0 };
	config_t cfg;

	err[0] = '\0';
	conf_defaults(c);
	config_init(&cfg);
	if (!config_read_string(&cfg, text)) {
		add_err(&e, NULL, "line %d: %s", config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		return -EINVAL;
	}
	return conf_finish(&cfg, c, &e);
}

void conf_release(struct rdv_conf *c)
{
	free(c->access);
	c->access = NULL;
	c->n_access = 0;
}
