#pragma once
#include <stdint.h>

struct vtun_params {
	char net[16], devip[16], rdvip[16], port[8], secret[128], session[32];
};

/* Parses "key: value" lines; -EINVAL unless every value a device uses is sound. */
int vtun_params_parse(const char *out, struct vtun_params *p, uint32_t *net, uint32_t *ip,
		      unsigned *port);
