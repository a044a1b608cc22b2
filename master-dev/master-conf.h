/* /etc/rdv/master.conf, validated key by key. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "net.h"
#include "rdvlink.h"

#define MASTER_CONF_PATH "/etc/rdv/master.conf"

struct master_conf {
	struct rdvlink_conf link;
	char extremity_pattern[16];  /* shell pattern on interface names */
	char extremity_exclude[16];  /* never these (the uplink: on a Pi 3 it is on USB too) */
	bool require_usb;            /* and the device must sit on a USB bus */
	struct cidr4 address;        /* the master on the extremity interface */
	struct cidr4 alternative;    /* instead, when a customer LAN overlaps address */
	unsigned dhcp_first, dhcp_last; /* host numbers within address's network */
	unsigned mtu;                /* handed to the laptop by DHCP */
	unsigned lease_minutes;
	char dnsmasq_user[33];
	char resolv_conf[128];       /* the master's own DNS servers, outside sessions */
	char tunnel_interface[16];
	unsigned vtun_local_port;
	char nft_table[32];
	unsigned table;
	unsigned rule_priority;
	char access_group[33];       /* who may drive masterd over D-Bus, besides root */
	char log_file[128];
	char log_level[16];
};

int master_conf_load(const char *path, struct master_conf *c, char *err, size_t errlen);
