#include "net.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

/* Dotted quad only: no octal, no hex, no shortened forms that inet_aton takes. */
int ip4_parse(const char *s, uint32_t *out)
{
	uint32_t addr = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		int digits = 0;

		while (*s >= '0' && *s <= '9') {
			if (digits == 1 && v == 0)
				return -EINVAL; /* leading zero */
			v = v * 10 + (unsigned)(*s - '0');
			if (v > 255 || ++digits > 3)
				return -EINVAL;
			s++;
		}
		if (!digits)
			return -EINVAL;
		addr = addr << 8 | v;
		if (part < 3 && *s++ != '.')
			return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	*out = addr;
	return 0;
}

int cidr4_parse(const char *s, struct cidr4 *out)
{
	char buf[16];
	const char *slash = strchr(s, '/');
	size_t len;
	unsigned prefix = 0;
	int digits = 0;

	if (!slash)
		return -EINVAL;
	len = (size_t)(slash - s);
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (s = slash + 1; *s >= '0' && *s <= '9'; s++) {
		if (digits == 1 && prefix == 0)
			return -EINVAL;
		prefix = prefix * 10 + (unsigned)(*s - '0');
		if (++digits > 2)
			return -EINVAL;
	}
	if (!digits || *s || prefix > 32)
		return -EINVAL;
	if (ip4_parse(buf, &out->addr) < 0)
		return -EINVAL;
	out->prefix = prefix;
	return 0;
}

void ip4_format(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

void cidr4_format(const struct cidr4 *c, char *buf, size_t len)
{
	char ip[16];

	ip4_format(c->addr, ip, sizeof(ip));
	snprintf(buf, len, "%s/%u", ip, c->prefix);
}

uint32_t prefix_to_mask(unsigned prefix)
{
	return prefix ? ~0u << (32 - prefix) : 0;
}

bool cidr4_overlap(const struct cidr4 *a, const struct cidr4 *b)
{
	uint32_t mask = prefix_to_mask(a->prefix < b->prefix ? a->prefix : b->prefix);

	return (a->addr & mask) == (b->addr & mask);
}

bool ip4_server_usable(uint32_t a)
{
	return (a >> 24) != 0 && (a >> 24) != 127 && a < 0xe0000000u;
}

unsigned ip4_server_list(const char *list, unsigned max, char *out, size_t outlen)
{
	unsigned n = 0;
	char ip[16];
	uint32_t a;

	if (outlen)
		out[0] = '\0';
	for (const char *p = list; *p && n < max;) {
		size_t len = strcspn(p, " \t\n");
		if (len && len < sizeof(ip)) {
			memcpy(ip, p, len);
			ip[len] = '\0';
			if (ip4_parse(ip, &a) == 0 && ip4_server_usable(a) &&
			    strlen(out) + len + 2 <= outlen) {
				snprintf(out + strlen(out), outlen - strlen(out), "%s%s", n ? " " : "", ip);
				n++;
			}
		}
		p += len;
		p += strspn(p, " \t\n");
	}
	return n;
}

bool ifname_valid(const char *name)
{
	size_t len = strlen(name);

	if (!len || len >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (*p <= ' ' || *p == '/' || *p == ':' || *p > '~')
			return false;
	return true;
}
