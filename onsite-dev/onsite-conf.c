#include "onsite-conf.h"

#include <errno.h>
#include <string.h>
#include "confspec.h"
#include "util.h"

#define S(sec, k, kind, field) CONF_STRING(struct onsite_conf, sec, k, kind, field)
#define N(sec, k, field, lo, hi) CONF_NUMBER(struct onsite_conf, sec, k, field, lo, hi)

static const char *const uplinks[] = { "lan", "wlan", "3g", "other", NULL };

static const struct conf_key keys[] = {
	S(NULL, "device", K_DEVICE, link.device),
	S(NULL, "ssh_key", K_PATH, link.ssh_key),
	S(NULL, "lan_interface", K_IFNAME, lan_interface),
	CONF_CHOICE(struct onsite_conf, NULL, "uplink", uplink, uplinks),
	S(NULL, "hostname", K_HOST, hostname),
	S(NULL, "resolv_conf", K_PATH, resolv_conf),
	S(NULL, "run_dir", K_PATH, link.run_dir),
	S(NULL, "log_file", K_PATH, log_file),
	S(NULL, "log_level", K_LEVEL, log_level),
	S("rdv", "host", K_HOST, link.host),
	N("rdv", "port", link.port, 1, 65535),
	CONF_BOOLEAN(struct onsite_conf, "rdv", "tls", link.tls),
	S("rdv", "certificate", K_PATH, link.certificate),
	S("rdv", "known_hosts", K_PATH, link.known_hosts),
	N("rdv", "local_port", link.local_port, 1024, 65535),
	S("tunnel", "interface", K_IFNAME, tunnel_interface),
	N("tunnel", "local_port", vtun_local_port, 1024, 65535),
	S("tunnel", "nft_table", K_NAME, nft_table),
};

static void defaults(struct onsite_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->link.port = 443;
	c->link.tls = true;
	strcpy(c->link.certificate, "/etc/rdv/rdv-server.crt");
	strcpy(c->link.known_hosts, "/etc/rdv/known_hosts");
	strcpy(c->link.ssh_key, "/etc/rdv/id_ed25519");
	strcpy(c->link.run_dir, "/run/onsitedev");
	c->link.local_port = 4443;
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
	if (!e.count && !c->link.device[0])
		conf_error(&e, NULL, "'device' (this device's account on the RDV server) is required");
	if (!e.count && !c->link.host[0])
		conf_error(&e, NULL, "'rdv.host' (the RDV server) is required");
	if (!e.count && c->link.tls && c->link.local_port == c->vtun_local_port)
		conf_error(&e, NULL, "rdv.local_port and tunnel.local_port are both %u", c->vtun_local_port);
	return e.count ? -EINVAL : 0;
}
