/* Strict IPv4 address and prefix parsing: what devices send is never trusted. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct cidr4 {
	uint32_t addr; /* host byte order */
	unsigned prefix;
};

int ip4_parse(const char *s, uint32_t *out);
int cidr4_parse(const char *s, struct cidr4 *out);
void ip4_format(uint32_t addr, char *buf, size_t len); /* len >= 16 */
void cidr4_format(const struct cidr4 *c, char *buf, size_t len); /* len >= 19 */
uint32_t prefix_to_mask(unsigned prefix);
bool ifname_valid(const char *name);
