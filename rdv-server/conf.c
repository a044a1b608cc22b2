#include "conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "confspec.h"
#include "log.h"
#include "util.h"

#define S(sec, k, kind, field) CONF_STRING(struct rdv_conf, sec, k, kind, field)
#define N(sec, k, field, lo, hi) CONF_NUMBER(struct rdv_conf, sec, k, field, lo, hi)

static const struct conf_key specs[] = {
	S(NULL, "log_file", K_PATH, log_file),
	S(NULL, "log_level", K_LEVEL, log_level),
	S(NULL, "run_dir", K_PATH, run_dir),
	S("tunnel", "pool", K_CIDR, pool),
	S("tunnel", "interface_prefix", K_NAME, ifname_prefix),
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
	N("session", "idle_timeout", idle_timeout, 0, 604800),
	N("session", "max_duration", max_duration, 0, 2592000),
	N("session", "connect_attempts", connect_attempts, 0, 10000),
	N("session", "connect_window", connect_window, 1, 86400),
	S("data", "socket", K_PATH, data_socket),
	S("data", "peer_user", K_NAME, data_peer_user),
	N("routing", "table_base", table_base, 256, 2000000000),
	N("routing", "rule_priority", rule_priority, 1, 32000),
	S("routing", "nft_table", K_NAME, nft_table),
};

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
	c->idle_timeout = 1800;
	c->max_duration = 43200;
	c->connect_attempts = 10;
	c->connect_window = 60;
	strcpy(c->data_peer_user, "stunnel4");
	c->table_base = 70000;
	c->rule_priority = 7000;
	strcpy(c->nft_table, "rdvd");
}

static bool pattern_ok(const char *p)
{
	if (*p == '@')
		return conf_name_ok(p + 1);
	if (!*p || strlen(p) >= CONF_STR)
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-_*?[]!", *p)))
			return false;
	return true;
}

static void load_rule(config_setting_t *r, struct access_rule *rule, struct conf_errors *e)
{
	config_setting_t *m = config_setting_get_member(r, "master");
	config_setting_t *o = config_setting_get_member(r, "onsite");
	const char *v;

	if (config_setting_type(r) != CONFIG_TYPE_GROUP) {
		conf_error(e, r, "access: each entry must be { master = ...; onsite = [...]; }");
		return;
	}
	for (int i = 0; i < config_setting_length(r); i++) {
		const char *name = config_setting_name(config_setting_get_elem(r, (unsigned)i));
		if (strcmp(name, "master") && strcmp(name, "onsite"))
			conf_error(e, config_setting_get_elem(r, (unsigned)i),
				"access: unknown key '%s'", name);
	}
	if (!m || !(v = config_setting_get_string(m)) || !pattern_ok(v))
		conf_error(e, m ? m : r, "access: 'master' must be a device name pattern or @group%s%s%s",
			m && config_setting_get_string(m) ? " (got \"" : "",
			m && config_setting_get_string(m) ? config_setting_get_string(m) : "",
			m && config_setting_get_string(m) ? "\")" : "");
	else
		strcpy(rule->master, v);
	if (!o || (config_setting_type(o) != CONFIG_TYPE_ARRAY &&
		   config_setting_type(o) != CONFIG_TYPE_LIST)) {
		conf_error(e, o ? o : r, "access: 'onsite' must be a list of patterns, e.g. [\"rpi1*\"]");
		return;
	}
	for (int i = 0; i < config_setting_length(o); i++) {
		config_setting_t *el = config_setting_get_elem(o, (unsigned)i);
		v = config_setting_get_string(el);
		if (!v || !pattern_ok(v) || rule->n_onsite >= CONF_MAX_PATTERNS) {
			conf_error(e, el, "access: onsite pattern \"%s\" is not a device name pattern "
				"or @group (at most %d per entry)", v ? v : "?", CONF_MAX_PATTERNS);
			continue;
		}
		strcpy(rule->onsite[rule->n_onsite++], v);
	}
}

static void load_access(config_setting_t *a, struct rdv_conf *c, struct conf_errors *e)
{
	int n = config_setting_length(a);

	if (config_setting_type(a) != CONFIG_TYPE_LIST) {
		conf_error(e, a, "'access' must be a list: access = ( { master = ...; onsite = [...]; } );");
		return;
	}
	c->access = calloc((size_t)n + 1, sizeof(*c->access));
	if (!c->access) {
		conf_error(e, a, "out of memory");
		return;
	}
	c->n_access = (unsigned)n;
	for (int i = 0; i < n; i++)
		load_rule(config_setting_get_elem(a, (unsigned)i), &c->access[i], e);
}

static bool load_extra(config_setting_t *s, const char *section, void *base, struct conf_errors *e)
{
	if (section || strcmp(config_setting_name(s), "access"))
		return false;
	load_access(s, base, e);
	return true;
}

static void check_consistency(struct rdv_conf *c, struct conf_errors *e)
{
	if ((unsigned long)c->port_base + c->uid_count - 1 > 65535)
		conf_error(e, NULL, "vtund.port_base %u + devices.uid_count %u exceeds port 65535",
			c->port_base, c->uid_count);
	if (!strcmp(c->onsite_group, c->master_group))
		conf_error(e, NULL, "devices.onsite_group and devices.master_group are both \"%s\"",
			c->onsite_group);
}

static int load(const char *path, const char *text, struct rdv_conf *c, char *err, size_t errlen)
{
	struct conf_errors e = { err, errlen, 0, 0 };

	conf_defaults(c);
	conf_read(path, text, specs, ARRAY_SIZE(specs), c, load_extra, &e);
	if (!e.count)
		check_consistency(c, &e);
	if (e.count) {
		conf_release(c);
		return -EINVAL;
	}
	return 0;
}

int conf_load(const char *path, struct rdv_conf *c, char *err, size_t errlen)
{
	return load(path, NULL, c, err, errlen);
}

int conf_parse_string(const char *text, struct rdv_conf *c, char *err, size_t errlen)
{
	return load(NULL, text, c, err, errlen);
}

void conf_release(struct rdv_conf *c)
{
	free(c->access);
	c->access = NULL;
	c->n_access = 0;
}
