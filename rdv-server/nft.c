/*
 * Forwarding and NAT in rdvd's own nftables table: never another table,
 * never a global policy. Sessions are elements of two sets, so adding and
 * removing a session touches nothing but its own elements.
 */
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "nftab.h"
#include "rdvd.h"

int nft_setup(struct rdvd *d)
{
	const char *t = d->conf.nft_table, *p = d->conf.ifname_prefix;
	char cmd[2048];

	d->nft = nftab_new();
	if (!d->nft)
		return -ENOMEM;
	/* "add; delete" in one batch: drops a predecessor's table if there is one. */
	snprintf(cmd, sizeof(cmd),
		 "add table inet %s\ndelete table inet %s\n"
		 "table inet %s {\n"
		 " set pairs { type ifname . ifname; }\n"
		 " set nat_out { type ifname; }\n"
		 " chain forward {\n"
		 "  type filter hook forward priority filter; policy accept;\n"
		 "  iifname . oifname @pairs tcp flags syn tcp option maxseg size set rt mtu\n"
		 "  iifname . oifname @pairs accept\n"
		 "  iifname \"%s*\" drop\n"
		 "  oifname \"%s*\" drop\n"
		 " }\n"
		 " chain input {\n"
		 "  type filter hook input priority filter; policy accept;\n"
		 "  iifname \"%s*\" ct state established,related accept\n"
		 "  iifname \"%s*\" fib daddr . iif type local icmp type echo-request accept\n"
		 "  iifname \"%s*\" drop\n"
		 " }\n"
		 " chain postrouting {\n"
		 "  type nat hook postrouting priority srcnat; policy accept;\n"
		 "  oifname @nat_out masquerade\n"
		 " }\n"
		 "}\n",
		 t, t, t, p, p, p, p, p);
	return nftab_run(d->nft, cmd);
}

void nft_teardown(struct rdvd *d)
{
	if (!d->nft)
		return;
	nftab_reset(d->nft, d->conf.nft_table);
	nft_ctx_free(d->nft);
	d->nft = NULL;
}

static int session_elements(struct rdvd *d, const struct session *s, const char *verb)
{
	const char *m = s->side[SIDE_MASTER].ifname, *o = s->side[SIDE_ONSITE].ifname;
	const char *t = d->conf.nft_table;
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "%s element inet %s pairs { \"%s\" . \"%s\", \"%s\" . \"%s\" }\n"
		 "%s element inet %s nat_out { \"%s\" }\n",
		 verb, t, m, o, o, m, verb, t, o);
	return nftab_run(d->nft, cmd);
}

int nft_session_add(struct rdvd *d, const struct session *s)
{
	return session_elements(d, s, "add");
}

void nft_session_del(struct rdvd *d, const struct session *s)
{
	session_elements(d, s, "delete");
}
