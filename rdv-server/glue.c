/*
 * Policy routing of a session through libnl: traffic that enters on one
 * side's tunnel is looked up in that side's table, whose only route is the
 * other side's tunnel. Also watches links for tunnels coming and going. The
 * host forwards nothing but what enters on a session's tunnels (per
 * interface, see nl_tun_create), and only between the pair of a session
 * (nft.c).
 */
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "nl.h"
#include "rdvd.h"
#include "util.h"

enum { G_RULE_M = 1, G_RULE_O = 2, G_ROUTE_M = 4, G_ROUTE_O = 8 };

static unsigned side_table(const struct rdvd *d, const struct session *s, int i)
{
	return d->conf.table_base + 2 * s->id + (unsigned)i;
}

static struct rtnl_rule *make_rule(const struct rdvd *d, const char *iif, unsigned table)
{
	struct rtnl_rule *rule = rtnl_rule_alloc();

	if (!rule)
		return NULL;
	rtnl_rule_set_family(rule, AF_INET);
	rtnl_rule_set_prio(rule, d->conf.rule_priority);
	rtnl_rule_set_iif(rule, iif);
	rtnl_rule_set_table(rule, table);
	rtnl_rule_set_action(rule, FR_ACT_TO_TBL);
	return rule;
}

static struct rtnl_route *make_default_route(unsigned table, int oif)
{
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = NULL;

	if (!route || !nh || nl_addr_parse("0.0.0.0/0", AF_INET, &dst) < 0) {
		rtnl_route_put(route);
		if (nh)
			rtnl_route_nh_free(nh);
		return NULL;
	}
	rtnl_route_set_family(route, AF_INET);
	rtnl_route_set_table(route, table);
	rtnl_route_set_dst(route, dst);
	rtnl_route_set_scope(route, RT_SCOPE_LINK);
	rtnl_route_set_protocol(route, RTPROT_STATIC);
	rtnl_route_nh_set_ifindex(nh, oif);
	rtnl_route_add_nexthop(route, nh);
	nl_addr_put(dst);
	return route;
}

static int rule_op(struct rdvd *d, const char *iif, unsigned table, bool add)
{
	struct rtnl_rule *rule = make_rule(d, iif, table);
	int r;

	if (!rule)
		return -ENOMEM;
	r = add ? rtnl_rule_add(d->nl, rule, NLM_F_CREATE | NLM_F_EXCL)
		: rtnl_rule_delete(d->nl, rule, 0);
	rtnl_rule_put(rule);
	if (r < 0)
		log_warn("%s rule iif %s table %u: %s", add ? "adding" : "removing", iif, table,
			 nl_geterror(r));
	return nl_errno(r);
}

static int route_op(struct rdvd *d, unsigned table, int oif, bool add)
{
	struct rtnl_route *route = make_default_route(table, oif);
	int r;

	if (!route)
		return -ENOMEM;
	r = add ? rtnl_route_add(d->nl, route, NLM_F_CREATE | NLM_F_EXCL)
		: rtnl_route_delete(d->nl, route, 0);
	rtnl_route_put(route);
	/* a route through a tunnel that is gone went with it */
	if (r < 0 && !(!add && (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)))
		log_warn("%s default route table %u: %s", add ? "adding" : "removing", table,
			 nl_geterror(r));
	return nl_errno(r);
}

int glue_add(struct rdvd *d, struct session *s)
{
	struct side *m = &s->side[SIDE_MASTER], *o = &s->side[SIDE_ONSITE];
	int r;

	if ((r = route_op(d, side_table(d, s, SIDE_MASTER), o->ifindex, true)) < 0)
		return r;
	s->glue_flags |= G_ROUTE_M;
	if ((r = route_op(d, side_table(d, s, SIDE_ONSITE), m->ifindex, true)) < 0)
		return r;
	s->glue_flags |= G_ROUTE_O;
	if ((r = rule_op(d, m->ifname, side_table(d, s, SIDE_MASTER), true)) < 0)
		return r;
	s->glue_flags |= G_RULE_M;
	if ((r = rule_op(d, o->ifname, side_table(d, s, SIDE_ONSITE), true)) < 0)
		return r;
	s->glue_flags |= G_RULE_O;
	return 0;
}

/* Removes exactly what glue_add put in place, whatever stage it reached. */
void glue_del(struct rdvd *d, struct session *s)
{
	struct side *m = &s->side[SIDE_MASTER], *o = &s->side[SIDE_ONSITE];

	if (s->glue_flags & G_RULE_M)
		rule_op(d, m->ifname, side_table(d, s, SIDE_MASTER), false);
	if (s->glue_flags & G_RULE_O)
		rule_op(d, o->ifname, side_table(d, s, SIDE_ONSITE), false);
	if (s->glue_flags & G_ROUTE_M)
		route_op(d, side_table(d, s, SIDE_MASTER), o->ifindex, false);
	if (s->glue_flags & G_ROUTE_O)
		route_op(d, side_table(d, s, SIDE_ONSITE), m->ifindex, false);
	s->glue_flags = 0;
}

/*
 * The RDV end of a tunnel is a persistent tun that rdvd makes, addresses and
 * brings up before vtund attaches to it: no packet can meet a tun that is
 * still down, and the carrier tells when vtund's link is there.
 */
int tun_create(struct rdvd *d, struct side *side)
{
	int r = nl_tun_create(d->nl, side->ifname, side->net + 1, 30, &side->ifindex);

	side->has_tun = r == 0;
	return r;
}

void tun_delete(struct rdvd *d, struct side *side)
{
	if (side->has_tun)
		nl_link_delete(d->nl, side->ifname);
	side->has_tun = false;
}

/* PREFIX<digits><m|o>: the name rdvd gives its tunnels */
static bool our_tun(const struct rdvd *d, const char *name)
{
	size_t plen = strlen(d->conf.ifname_prefix), len = strlen(name);

	if (len < plen + 2 || strncmp(name, d->conf.ifname_prefix, plen) ||
	    (name[len - 1] != 'm' && name[len - 1] != 'o'))
		return false;
	for (size_t i = plen; i < len - 1; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	return true;
}

static void purge_link(struct nl_object *obj, void *arg)
{
	struct rdvd *d = arg;
	struct rtnl_link *link = (struct rtnl_link *)obj;
	const char *name = rtnl_link_get_name(link);

	if (name && our_tun(d, name)) {
		log_warn("removing tunnel %s left by a previous rdvd", name);
		rtnl_link_delete(d->nl, link);
	}
}

static bool our_table(const struct rdvd *d, unsigned table)
{
	return table >= d->conf.table_base && table - d->conf.table_base < 2u * pool_size(d->pool);
}

static void purge_rule(struct nl_object *obj, void *arg)
{
	struct rdvd *d = arg;
	struct rtnl_rule *rule = (struct rtnl_rule *)obj;

	if (rtnl_rule_get_prio(rule) == d->conf.rule_priority &&
	    our_table(d, rtnl_rule_get_table(rule))) {
		log_warn("removing rule table %u left by a previous rdvd", rtnl_rule_get_table(rule));
		rtnl_rule_delete(d->nl, rule, 0);
	}
}

static void purge_route(struct nl_object *obj, void *arg)
{
	struct rdvd *d = arg;
	struct rtnl_route *route = (struct rtnl_route *)obj;

	if (our_table(d, rtnl_route_get_table(route))) {
		log_warn("removing route in table %u left by a previous rdvd",
			 rtnl_route_get_table(route));
		rtnl_route_delete(d->nl, route, 0);
	}
}

void glue_purge(struct rdvd *d)
{
	struct nl_cache *cache;

	if (rtnl_link_alloc_cache(d->nl, AF_UNSPEC, &cache) == 0) {
		nl_cache_foreach(cache, purge_link, d);
		nl_cache_free(cache);
	}
	if (rtnl_rule_alloc_cache(d->nl, AF_INET, &cache) == 0) {
		nl_cache_foreach(cache, purge_rule, d);
		nl_cache_free(cache);
	}
	if (rtnl_route_alloc_cache(d->nl, AF_INET, 0, &cache) == 0) {
		nl_cache_foreach(cache, purge_route, d);
		nl_cache_free(cache);
	}
}

int glue_link_stats(struct rdvd *d, int ifindex, uint64_t *rx_bytes)
{
	struct rtnl_link *link;
	int r = rtnl_link_get_kernel(d->nl, ifindex, NULL, &link);

	if (r < 0)
		return nl_errno(r);
	*rx_bytes = rtnl_link_get_stat(link, RTNL_LINK_RX_BYTES);
	rtnl_link_put(link);
	return 0;
}

static void on_link(void *data, struct rtnl_link *link, bool gone);

int glue_init(struct rdvd *d)
{
	int r;

	if (!(d->nl = nl_socket_alloc()))
		return -ENOMEM;
	if ((r = nl_connect(d->nl, NETLINK_ROUTE)) < 0)
		return nl_errno(r);
	return nl_link_events_open(&d->events, on_link, d);
}

void glue_fini(struct rdvd *d)
{
	nl_socket_free(d->nl);
	d->nl = NULL;
	nl_link_events_close(&d->events);
}

int glue_event_fd(struct rdvd *d) { return nl_link_events_fd(&d->events); }

/* After lost notifications, asks the kernel for the state of every tunnel. */
static void resync_links(struct rdvd *d)
{
	unsigned n = 0, i = 0;
	int *idx;

	for (struct session *s = d->sessions; s; s = s->next)
		n += 2;
	idx = calloc(n + 1, sizeof(*idx));
	if (!idx)
		return;
	/* copied first: an event may end a session and free it */
	for (struct session *s = d->sessions; s; s = s->next)
		for (int k = 0; k < 2; k++)
			idx[i++] = s->side[k].ifindex;
	for (i = 0; i < n; i++) {
		struct rtnl_link *link;
		if (idx[i] <= 0)
			continue;
		if (rtnl_link_get_kernel(d->nl, idx[i], NULL, &link) < 0) {
			session_link_event(d, idx[i], 0, true, UINT64_MAX);
			continue;
		}
		session_link_event(d, idx[i], rtnl_link_get_flags(link), false,
				   rtnl_link_get_stat(link, RTNL_LINK_RX_BYTES));
		rtnl_link_put(link);
	}
	free(idx);
}

static void on_link(void *data, struct rtnl_link *link, bool gone)
{
	struct rdvd *d = data;

	if (!link)
		resync_links(d);
	else if (rtnl_link_get_name(link))
		session_link_event(d, rtnl_link_get_ifindex(link), rtnl_link_get_flags(link), gone,
				   rtnl_link_get_stat(link, RTNL_LINK_RX_BYTES));
}

void glue_process_events(struct rdvd *d) { nl_link_events_read(&d->events); }
