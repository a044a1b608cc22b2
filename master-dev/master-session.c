/*
 * The master's side of a session: pick the onsite device on the RDV server,
 * bring the vtund client up over the SSH link, and route only what enters on
 * the extremity interface (and masterd's own DNS relay queries) into the
 * tunnel, NATed to the tunnel address. session_end() undoes each step taken.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "child.h"
#include "log.h"
#include "masterd.h"
#include "net.h"
#include "nftab.h"
#include "nl.h"
#include "rdv-dbus.h"
#include "util.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* linux/if.h, which clashes with net/if.h */
#endif
#define CMD_TIMEOUT_S 30
#define SETUP_TIMEOUT_S 30
#define REMOTE_END "the tunnel closed (ended by the RDV server, the onsite device or the network)"

static void nft_remove(struct masterd *d)
{
	nftab_reset(d->nft, d->conf.nft_table);
	d->has_nft = false;
}

/*
 * The session's table: the laptop's traffic goes into the tunnel and nowhere
 * else; from the tunnel, only replies reach the laptop or the master itself
 * (a hostile RDV server or onsite reaches none of the master's services);
 * masterd's DNS relay (dnsmasq's user) is marked into the session.
 */
static int nft_add(struct masterd *d)
{
	const char *t = d->conf.nft_table, *tun = d->conf.tunnel_interface, *ext = d->ext;
	struct passwd *pw = getpwnam(d->conf.dnsmasq_user);
	char cmd[2048];

	/* never mark root's (uid 0) DNS into the customer's tunnel */
	if (!pw || pw->pw_uid == 0) {
		log_err("no unprivileged user '%s' for dnsmasq: refusing the session rather than "
			"routing this machine's own DNS into the customer tunnel", d->conf.dnsmasq_user);
		return -ENOENT;
	}
	snprintf(cmd, sizeof(cmd),
		 "table inet %s {\n"
		 " chain forward {\n"
		 "  type filter hook forward priority filter; policy accept;\n"
		 "  iifname \"%s\" oifname \"%s\" tcp flags syn tcp option maxseg size set rt mtu\n"
		 "  oifname \"%s\" iifname \"%s\" tcp flags syn tcp option maxseg size set rt mtu\n"
		 "  iifname \"%s\" oifname \"%s\" accept\n"
		 "  iifname \"%s\" oifname \"%s\" ct state established,related accept\n"
		 "  iifname \"%s\" drop\n"
		 "  iifname \"%s\" drop\n"
		 " }\n"
		 " chain input {\n"
		 "  type filter hook input priority filter; policy accept;\n"
		 "  iifname \"%s\" ct state established,related accept\n"
		 "  iifname \"%s\" drop\n"
		 " }\n"
		 " chain output {\n"
		 "  type route hook output priority mangle; policy accept;\n"
		 "  meta skuid %u udp dport 53 meta mark set 0x%x\n"
		 "  meta skuid %u tcp dport 53 meta mark set 0x%x\n"
		 " }\n"
		 " chain postrouting {\n"
		 "  type nat hook postrouting priority srcnat; policy accept;\n"
		 "  oifname \"%s\" masquerade\n"
		 " }\n"
		 "}\n",
		 t, ext, tun, ext, tun, ext, tun, tun, ext, ext, tun, tun, tun, (unsigned)pw->pw_uid,
		 SESSION_MARK, (unsigned)pw->pw_uid, SESSION_MARK, tun);
	if (nftab_run(d->nft, cmd) < 0)
		return -EIO;
	d->has_nft = true;
	return 0;
}

/* iif EXT -> table; mark (DNS relay) -> table; table: default dev TUN */
static int rules(struct masterd *d, bool add)
{
	struct rtnl_rule *by_if = rtnl_rule_alloc(), *by_mark = rtnl_rule_alloc();
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = NULL;
	int r = 0, e;

	if (!by_if || !by_mark || !route || !nh || nl_addr_parse("0.0.0.0/0", AF_INET, &dst) < 0) {
		r = -ENOMEM;
		goto out;
	}
	rtnl_rule_set_family(by_if, AF_INET);
	rtnl_rule_set_prio(by_if, d->conf.rule_priority);
	rtnl_rule_set_iif(by_if, d->ext);
	rtnl_rule_set_table(by_if, d->conf.table);
	rtnl_rule_set_action(by_if, FR_ACT_TO_TBL);
	rtnl_rule_set_family(by_mark, AF_INET);
	rtnl_rule_set_prio(by_mark, d->conf.rule_priority);
	rtnl_rule_set_mark(by_mark, SESSION_MARK);
	rtnl_rule_set_table(by_mark, d->conf.table);
	rtnl_rule_set_action(by_mark, FR_ACT_TO_TBL);
	rtnl_route_set_family(route, AF_INET);
	rtnl_route_set_table(route, d->conf.table);
	rtnl_route_set_dst(route, dst);
	rtnl_route_set_scope(route, RT_SCOPE_LINK);
	rtnl_route_nh_set_ifindex(nh, d->tun.ifindex);
	rtnl_route_add_nexthop(route, nh);
	nh = NULL;
	if (add) {
		if ((e = rtnl_route_add(d->nl, route, NLM_F_CREATE | NLM_F_EXCL)) < 0 ||
		    (e = rtnl_rule_add(d->nl, by_if, NLM_F_CREATE | NLM_F_EXCL)) < 0 ||
		    (e = rtnl_rule_add(d->nl, by_mark, NLM_F_CREATE | NLM_F_EXCL)) < 0) {
			log_err("policy routing: %s", nl_geterror(e));
			r = nl_errno(e);
		}
		d->has_rules = true; /* whatever got in is removed by the delete below */
	} else {
		rtnl_rule_delete(d->nl, by_if, 0);
		rtnl_rule_delete(d->nl, by_mark, 0);
		rtnl_route_delete(d->nl, route, 0); /* gone already if the tun is */
		d->has_rules = false;
	}
out:
	nl_addr_put(dst);
	if (nh)
		rtnl_route_nh_free(nh);
	rtnl_route_put(route);
	rtnl_rule_put(by_if);
	rtnl_rule_put(by_mark);
	return r;
}

static void drop_sent(struct rdvlink *l, const char *out, const char *errors, void *data)
{
	(void)l;
	(void)out;
	(void)errors;
	(void)data;
}

/* tell: the end is ours, so the RDV server hears why (a session it ended is not told) */
static void finish(struct masterd *d, const char *reason, bool tell)
{
	bool was_open = d->st != S_IDLE;
	char line[300];

	if (!was_open)
		return;
	/* first, so that the RDV server logs why rather than a closed tunnel */
	if (tell && d->link && rdvlink_up(d->link) && !d->stopping) {
		snprintf(line, sizeof(line), "drop_vtun %s", reason);
		rdvlink_cmd(d->link, line, CMD_TIMEOUT_S, drop_sent, d);
	}
	loop_cancel_timer(d->loop, d->timer);
	d->timer = NULL;
	if (d->has_rules)
		rules(d, false);
	devtunnel_stop(&d->tun);
	d->carrier = false;
	if (d->has_nft)
		nft_remove(d);
	extremity_forwarding(d, false);
	dns_relay_to(d, NULL);
	d->st = S_IDLE;
	log_info("session with %s ended after %lds: %s", d->onsite, (long)(time(NULL) - d->started),
		 reason);
	reply_open(d, MASTER_ERR "SessionFailed", reason);
	emit_session_ended(d, reason);
	d->owner[0] = '\0';
}

void session_end(struct masterd *d, const char *reason) { finish(d, reason, true); }

static void on_vtund_exit(struct child *c, int code, int signo, void *data)
{
	struct masterd *d = data;

	(void)code;
	(void)signo;
	d->tun.vtund = NULL;
	finish(d, d->carrier ? REMOTE_END : !c ? "cannot attach to the data path"
					  : "vtund could not connect", !d->carrier);
}

static void on_setup_timeout(void *data)
{
	struct masterd *d = data;

	d->timer = NULL;
	session_end(d, "the tunnel did not come up in time");
}

static void on_params(struct rdvlink *l, const char *out, const char *errors, void *data)
{
	struct masterd *d = data;
	const char *why;

	(void)l;
	(void)errors;
	if (d->st != S_OPENING)
		return;
	if (devtunnel_start(&d->tun, out, &why) < 0) {
		session_end(d, why);
		return;
	}
	if (nft_add(d) < 0) {
		session_end(d, "this master cannot relay the customer's DNS safely (see masterd's log)");
		return;
	}
	/* the filter first, then the routes and forwarding it guards */
	if (rules(d, true) < 0 || extremity_forwarding(d, true) < 0) {
		session_end(d, "cannot set up routing into the tunnel");
		return;
	}
	loop_add_timer(d->loop, SETUP_TIMEOUT_S * 1000ull, on_setup_timeout, d, &d->timer);
}

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

static void lan_checked(struct masterd *d, const char *out);

static void on_dns(struct rdvlink *l, const char *out, const char *errors, void *data)
{
	struct masterd *d = data;

	(void)errors;
	if (d->st != S_OPENING)
		return;
	/* usable servers only: never this machine's own resolvers (127/8) or broadcast */
	ip4_server_list(out, 4, d->onsite_dns, sizeof(d->onsite_dns));
	if (rdvlink_cmd(l, "get_vtun_parameters", CMD_TIMEOUT_S, on_params, d) < 0)
		session_end(d, "the RDV server link went down");
}

static void on_lan(struct rdvlink *l, const char *out, const char *errors, void *data)
{
	struct masterd *d = data;

	(void)errors;
	if (d->st != S_OPENING)
		return;
	lan_checked(d, out);
	if (rdvlink_cmd(l, "show_remote_onsite_dns_server_list", CMD_TIMEOUT_S, on_dns, d) < 0)
		session_end(d, "the RDV server link went down");
}

/*
 * The onsite's LAN as the RDV server reports it: a CIDR or nothing. A LAN
 * that overlaps the extremity subnet makes its hosts in the overlap look
 * on-link to the laptop: say so, in the log and to masterdev.
 */
static void lan_checked(struct masterd *d, const char *out)
{
	char text[64], ext[24], net[24], moved[24];
	struct cidr4 lan, own = d->cur;

	d->onsite_lan[0] = d->overlap[0] = '\0';
	snprintf(text, sizeof(text), "%.*s", (int)strcspn(out, "\n"), out);
	trim(text);
	if (!text[0])
		return;
	if (cidr4_parse(text, &lan) < 0) {
		log_warn("the RDV server reports an unusable LAN for %s: '%s'", d->onsite,
			 str_printable(text));
		return;
	}
	snprintf(d->onsite_lan, sizeof(d->onsite_lan), "%s", text);
	if (!cidr4_overlap(&lan, &own))
		return;
	own.addr &= prefix_to_mask(own.prefix);
	cidr4_format(&own, ext, sizeof(ext));
	lan.addr &= prefix_to_mask(lan.prefix);
	cidr4_format(&lan, net, sizeof(net));
	if (extremity_move(d, &lan, moved, sizeof(moved)))
		snprintf(d->overlap, sizeof(d->overlap),
			 "the customer LAN %s overlaps this master's adapter subnet %s: the adapter moved "
			 "to %s; the laptop gets an address there when it asks again (at once if it "
			 "renews when its link comes back, else within 2 minutes; replugging its "
			 "cable hurries it)", net, ext, moved);
	else
		snprintf(d->overlap, sizeof(d->overlap),
			 "the customer LAN %s overlaps this master's adapter subnet %s: customer hosts "
			 "in %s are unreachable from the laptop; set extremity.address (or "
			 "extremity.alternative_address) in master.conf to a subnet outside %s and "
			 "restart masterd", net, ext, lan.prefix < own.prefix ? ext : net, net);
	log_warn("session with %s: %s", d->onsite, d->overlap);
}

/* The shell's error token names the refusal; it becomes the D-Bus error. */
static const char *refusal(const char *token)
{
	if (!strcmp(token, RDV_ERR_NOT_ALLOWED))
		return MASTER_ERR "NotAllowed";
	if (!strcmp(token, RDV_ERR_BUSY))
		return MASTER_ERR "Busy";
	if (!strcmp(token, RDV_ERR_UNKNOWN_DEVICE))
		return MASTER_ERR "UnknownDevice";
	return MASTER_ERR "Refused";
}

static void on_connect(struct rdvlink *l, const char *out, const char *errors, void *data)
{
	struct masterd *d = data;
	char msg[256], token[128];

	(void)out;
	if (d->st != S_OPENING)
		return;
	if (errors[0]) {
		rdvlink_error(errors, token, sizeof(token), msg, sizeof(msg));
		trim(msg);
		str_printable(msg);
		log_warn("connect to %s refused: %s (%s)", d->onsite, msg, token[0] ? token : "no token");
		reply_open(d, refusal(token), msg);
		d->st = S_IDLE;
		d->owner[0] = '\0';
		return;
	}
	if (rdvlink_cmd(l, "show_remote_onsite_ip_config", CMD_TIMEOUT_S, on_lan, d) < 0)
		session_end(d, "the RDV server link went down");
}

void session_init(struct masterd *d)
{
	/* a masterd killed in a session left its rules: the next session's
	 * would collide with them (EEXIST) and fail (found by the soak test) */
	int r = nl_rules_purge(d->nl, d->conf.rule_priority, d->conf.table);

	if (r > 0)
		log_warn("removed %d policy rules (table %u) left by a previous masterd", r, d->conf.table);
	d->tun = (struct devtunnel){ .loop = d->loop, .nl = d->nl, .link = d->link,
				     .device = d->conf.link.device, .ifname = d->conf.tunnel_interface,
				     .run_dir = d->conf.link.run_dir, .local_port = d->conf.vtun_local_port,
				     .on_vtund_exit = on_vtund_exit, .data = d };
}

void session_open(struct masterd *d, const char *onsite)
{
	char line[80];

	snprintf(d->onsite, sizeof(d->onsite), "%s", onsite);
	d->st = S_OPENING;
	d->started = time(NULL);
	d->onsite_lan[0] = d->onsite_dns[0] = d->overlap[0] = '\0';
	snprintf(line, sizeof(line), "connect_to_onsite_dev %s", onsite);
	log_info("opening a session with %s", onsite);
	if (rdvlink_cmd(d->link, line, CMD_TIMEOUT_S, on_connect, d) < 0) {
		d->st = S_IDLE;
		reply_open(d, MASTER_ERR "Busy", "the RDV server link is busy, try again");
	}
}

void session_link_event(struct masterd *d, int ifindex, unsigned flags, bool gone)
{
	bool carrier = (flags & IFF_UP) && (flags & IFF_LOWER_UP);

	if (d->st == S_IDLE || !d->tun.has_tun || ifindex != d->tun.ifindex)
		return;
	if (gone || (d->carrier && !carrier)) {
		if (gone)
			d->tun.has_tun = false;
		finish(d, gone ? "the tunnel interface was removed" : REMOTE_END, gone);
		return;
	}
	if (carrier && !d->carrier) {
		d->carrier = true;
		d->tun.up = true; /* a vtund exit from now on ends the session */
		d->st = S_UP;
		loop_cancel_timer(d->loop, d->timer);
		d->timer = NULL;
		if (d->onsite_dns[0])
			dns_relay_to(d, d->onsite_dns);
		log_info("session established with %s: LAN %s, DNS %s, laptop on %s", d->onsite,
			 d->onsite_lan[0] ? d->onsite_lan : "not announced",
			 d->onsite_dns[0] ? d->onsite_dns : "none", d->ext);
		reply_open(d, NULL, NULL);
	}
}
