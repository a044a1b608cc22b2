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
/* the two networks share addresses */
bool cidr4_overlap(const struct cidr4 *a, const struct cidr4 *b);
/* a DNS server worth relaying to: not "this host" (0/8, 127/8), not broadcast, multicast or 240/4 */
bool ip4_server_usable(uint32_t addr);
/*
 * Keeps the usable IPv4 servers of a space-separated list (at most max of
 * them), space-separated in out; returns how many.
 */
unsigned ip4_server_list(const char *list, unsigned max, char *out, size_t outlen);
bool ifname_valid(const char *name);
