/* /etc/rdv/onsite.conf, validated key by key. */
#pragma once
#include <stddef.h>
#include "rdvlink.h"

#define ONSITE_CONF_PATH "/etc/rdv/onsite.conf"

struct onsite_conf {
	struct rdvlink_conf link;
	char lan_interface[16];
	char uplink[8];
	char hostname[65];     /* empty: this machine's */
	char resolv_conf[128]; /* where the LAN's DNS servers are read */
	char tunnel_interface[16];
	unsigned vtun_local_port;
	char nft_table[32];
	char log_file[128];
	char log_level[16];
};

int onsite_conf_load(const char *path, struct onsite_conf *c, char *err, size_t errlen);
