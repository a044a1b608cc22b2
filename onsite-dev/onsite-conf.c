#include "onsite-conf.h"

#include <errno.h>
#include <string.h>
#include "confspec.h"
#include "util.h"

#define S(sec, k, kind, field) CONF_STRING(struct onsite_conf, sec, k, kind, field)
#define N(sec, k, field, lo, hi) CONF_NUMBER(struct onsite_conf, sec, k, field, lo, hi)

static const char *const uplinks[] = { "lan", "wlan", "3g", "other", NULL };

static const struct conf_key keys[] = {
	RDVLINK_CONF_KEYS(struct onsite_conf, link),
	S(NULL, "lan_interface", K_IFNAME, lan_interface),
	CONF_CHOICE(struct onsite_conf, NULL, "uplink", uplink, uplinks),
	S(NULL, "hostname", K_HOST, hostname),
	S(NULL, "resolv_conf", K_PATH, resolv_conf),
	S(NULL, "log_file", K_PATH, log_file),
	S(NULL, "log_level", K_LEVEL, log_level),
	S("tunnel", "interface", K_IFNAME, tunnel_interface),
	N("tunnel", "local_port", vtun_local_port, 1024, 65535),
	S("tunnel", "nft_table", K_NAME, nft_table),
};

static void defaults(struct onsite_conf *c)
{
	memset(c, 0, sizeof(*c));
	rdvlink_conf_defaults(&c->link, "/run/onsitedev");
	strcpy(c->lan_interface, "eth0");
	strcpy(c->uplink, "lan");
	strcpy(c->resolv_conf, "/etc/resolv.conf");
	strcpy(c->tunnel_interface, "rdvtun");
	c->vtun_local_port = 5000;
	strcpy(c->nft_table, "onsitedev");
	strcpy(c->log_file, "/var/log/onsitedev.log");
	strcpy(c->log_level, "info");
}

int onsite_conf_load(const char *path, struct onsite_conf *c, char *err, size_t errlen)
{
	struct conf_errors e = { err, errlen, 0, 0 };

	defaults(c);
	conf_read(path, NULL, keys, ARRAY_SIZE(keys), c, NULL, &e);
	if (!e.count && rdvlink_conf_missing(&c->link))
		conf_error(&e, NULL, "%s", rdvlink_conf_missing(&c->link));
	if (!e.count && c->link.tls && c->link.local_port == c->vtun_local_port)
		conf_error(&e, NULL, "rdv.local_port and tunnel.local_port are both %u", c->vtun_local_port);
	return e.count ? -EINVAL : 0;
}
