#pragma once
#include <stdint.h>

struct vtun_params {
	char net[16], prefix[8], mask[16], devip[16], rdvip[16], port[8], secret[128], session[32];
	/* relay data path only (data_path: relay); "" for classic parameters */
	char data_path[8], ticket[40], role[8];
};

/*
 * Parses "key: value" lines; -EINVAL unless every value a device uses is
 * sound: dotted quads, a /30 network holding both ends (neither its network
 * nor its broadcast address, not the same), a port 1-65535 in digits only, a
 * hex secret, a plain session name; with data_path (only "relay"), a
 * 128-bit hex ticket and a vtun_role of server or client.
 */
int vtun_params_parse(const char *out, struct vtun_params *p, uint32_t *net, uint32_t *ip,
		      unsigned *port);
