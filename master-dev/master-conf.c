#include "master-conf.h"

#include <errno.h>
#include <string.h>
#include "confspec.h"
#include "util.h"

#define S(sec, k, kind, field) CONF_STRING(struct master_conf, sec, k, kind, field)
#define N(sec, k, field, lo, hi) CONF_NUMBER(struct master_conf, sec, k, field, lo, hi)

static const struct conf_key keys[] = {
	RDVLINK_CONF_KEYS(struct master_conf, link),
	S(NULL, "resolv_conf", K_PATH, resolv_conf),
	S(NULL, "log_file", K_PATH, log_file),
	S(NULL, "log_level", K_LEVEL, log_level),
	S(NULL, "access_group", K_NAME, access_group),
	S("extremity", "interfaces", K_IFNAME, extremity_pattern),
	S("extremity", "exclude", K_IFNAME, extremity_exclude),
	CONF_BOOLEAN(struct master_conf, "extremity", "require_usb", require_usb),
	S("extremity", "address", K_ADDR, address),
	S("extremity", "alternative_address", K_ADDR, alternative),
	N("extremity", "dhcp_first", dhcp_first, 1, 254),
	N("extremity", "dhcp_last", dhcp_last, 1, 254),
	N("extremity", "mtu", mtu, 576, 1500),
	N("extremity", "lease_minutes", lease_minutes, 2, 1440),
	S("extremity", "dnsmasq_user", K_NAME, dnsmasq_user),
	S("tunnel", "interface", K_IFNAME, tunnel_interface),
	N("tunnel", "local_port", vtun_local_port, 1024, 65535),
	S("tunnel", "nft_table", K_NAME, nft_table),
	N("routing", "table", table, 256, 2000000000),
	N("routing", "rule_priority", rule_priority, 1, 32000),
};

static void defaults(struct master_conf *c)
{
	memset(c, 0, sizeof(*c));
	rdvlink_conf_defaults(&c->link, "/run/masterd");
	strcpy(c->extremity_pattern, "*");
	strcpy(c->extremity_exclude, "eth0");
	c->require_usb = true;
	c->address = (struct cidr4){ 0xc0a826e1u, 28 }; /* 192.168.38.225/28 */
	c->alternative = (struct cidr4){ 0xac1f26e1u, 28 }; /* 172.31.38.225/28 */
	c->dhcp_first = 226;
	c->dhcp_last = 238;
	c->mtu = 1400;
	c->lease_minutes = 10;
	strcpy(c->dnsmasq_user, "dnsmasq");
	strcpy(c->resolv_conf, "/etc/resolv.conf");
	strcpy(c->tunnel_interface, "rdvtun");
	c->vtun_local_port = 5000;
	strcpy(c->nft_table, "masterd");
	c->table = 7100;
	c->rule_priority = 7100;
	strcpy(c->access_group, "rdv-tech");
	strcpy(c->log_file, "/var/log/masterd.log");
	strcpy(c->log_level, "info");
}

int master_conf_load(const char *path, struct master_conf *c, char *err, size_t errlen)
{
	struct conf_errors e = { err, errlen, 0, 0 };
	uint32_t mask, net;

	defaults(c);
	conf_read(path, NULL, keys, ARRAY_SIZE(keys), c, NULL, &e);
	if (e.count)
		return -EINVAL;
	if (rdvlink_conf_missing(&c->link))
		conf_error(&e, NULL, "%s", rdvlink_conf_missing(&c->link));
	for (int i = 0; i < 2; i++) {
		const struct cidr4 *a = i ? &c->alternative : &c->address;
		mask = prefix_to_mask(a->prefix);
		net = a->addr & mask;
		if (a->prefix < 24 || c->dhcp_first > c->dhcp_last ||
		    ((net | (c->dhcp_first & 255)) & mask) != net || ((net | (c->dhcp_last & 255)) & mask) != net ||
		    ((a->addr & 255) >= c->dhcp_first && (a->addr & 255) <= c->dhcp_last))
			conf_error(&e, NULL, "extremity.dhcp_first %u .. dhcp_last %u must lie in the network "
				   "of extremity.%s (a /24 or smaller), without the master's own address",
				   c->dhcp_first, c->dhcp_last, i ? "alternative_address" : "address");
	}
	if (cidr4_overlap(&c->address, &c->alternative))
		conf_error(&e, NULL, "extremity.alternative_address must not overlap extremity.address");
	return e.count ? -EINVAL : 0;
}
