/* What get_vtun_parameters prints, parsed and checked before any of it is used. */
#include "vtunparams.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "net.h"
#include "util.h"

int vtun_params_parse(const char *out, struct vtun_params *p, uint32_t *net, uint32_t *ip,
			unsigned *port)
{
	static const struct { const char *key; size_t off, size; } fields[] = {
		{ "tunnel_ip_network", offsetof(struct vtun_params, net), 16 },
		{ "tunnel_ip_prefix", offsetof(struct vtun_params, prefix), 8 },
		{ "tunnel_ip_netmask", offsetof(struct vtun_params, mask), 16 },
		{ "tunnelling_dev_ip_address", offsetof(struct vtun_params, devip), 16 },
		{ "rdv_server_ip_address", offsetof(struct vtun_params, rdvip), 16 },
		{ "rdv_server_vtun_tcp_port", offsetof(struct vtun_params, port), 8 },
		{ "tunnel_secret", offsetof(struct vtun_params, secret), 128 },
		{ "tunnel_session_name", offsetof(struct vtun_params, session), 32 },
		{ "data_path", offsetof(struct vtun_params, data_path), 8 },
		{ "data_ticket", offsetof(struct vtun_params, ticket), 40 },
		{ "vtun_role", offsetof(struct vtun_params, role), 8 },
	};
	char line[256], *v, *end;
	const char *nl;
	uint32_t rdv;
	long pv;

	memset(p, 0, sizeof(*p));
	for (; *out; out = nl ? nl + 1 : out + strlen(out)) {
		size_t len;
		nl = strchr(out, '\n');
		len = nl ? (size_t)(nl - out) : strlen(out);
		if (len >= sizeof(line))
			continue;
		memcpy(line, out, len);
		line[len] = '\0';
		if (!(v = strstr(line, ": ")))
			continue;
		*v = '\0';
		v += 2;
		for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
			if (!strcmp(line, fields[i].key) && strlen(v) < fields[i].size)
				strcpy((char *)p + fields[i].off, v);
	}
	explicit_bzero(line, sizeof(line)); /* it held the secret */
	/* digits only: strtol alone takes spaces, signs and trailing junk */
	if (!p->port[0] || strspn(p->port, "0123456789") != strlen(p->port))
		return -EINVAL;
	pv = strtol(p->port, &end, 10);
	if (*end || pv < 1 || pv > 65535)
		return -EINVAL;
	/* nothing of it goes anywhere unchecked: configs, argv, netlink */
	if (ip4_parse(p->net, net) < 0 || ip4_parse(p->devip, ip) < 0 ||
	    ip4_parse(p->rdvip, &rdv) < 0 ||
	    strlen(p->secret) < 32 || strspn(p->secret, "0123456789abcdef") != strlen(p->secret) ||
	    !ifname_valid(p->session) || strspn(p->session, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(p->session))
		return -EINVAL;
	/* both ends inside the announced /30, as its two host addresses */
	if ((*net & 3) || (*ip & ~3u) != *net || (rdv & ~3u) != *net || *ip == rdv ||
	    (*ip & 3) == 0 || (*ip & 3) == 3 || (rdv & 3) == 0 || (rdv & 3) == 3)
		return -EINVAL;
	if ((p->prefix[0] && strcmp(p->prefix, "/30") && strcmp(p->prefix, "30")) ||
	    (p->mask[0] && strcmp(p->mask, "255.255.255.252")))
		return -EINVAL;
	if (p->data_path[0] &&
	    (strcmp(p->data_path, "relay") || strlen(p->ticket) != 32 ||
	     strspn(p->ticket, "0123456789abcdef") != 32 ||
	     (strcmp(p->role, "server") && strcmp(p->role, "client"))))
		return -EINVAL;
	if (!p->data_path[0] && (p->ticket[0] || p->role[0]))
		return -EINVAL;
	*port = (unsigned)pv;
	return 0;
}
