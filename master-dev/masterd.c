/*
 * masterd: the master Pi's root daemon. Keeps the link to the RDV server,
 * watches for the USB-Ethernet adapter the technician's laptop plugs into
 * (the extremity interface), serves it DHCP and DNS with dnsmasq, and runs
 * sessions for masterdev, which drives it over the system bus. A session
 * lives while the masterdev that opened it does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <grp.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "child.h"
#include "dbusloop.h"
#include "log.h"
#include "masterd.h"
#include "net.h"
#include "nftab.h"
#include "nl.h"
#include "util.h"

/* ---- DNS relay and DHCP on the extremity interface --------------------------- */

/* dnsmasq relays the laptop's queries: to the onsite's servers during a session */
void dns_relay_to(struct masterd *d, const char *servers)
{
	char text[512] = "", own[256] = "", mine[256] = "", line[256], ip[64];
	const char *list = servers;
	FILE *f;

	if (!d->servers_file[0])
		return;
	if (!list) {
		f = fopen(d->conf.resolv_conf, "re");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "nameserver %63s", ip) == 1)
				snprintf(mine + strlen(mine), sizeof(mine) - strlen(mine), "%s ", ip);
		if (f)
			fclose(f);
		list = mine;
	}
	/* the same filter for the onsite's servers as for our own */
	ip4_server_list(list, 4, own, sizeof(own));
	for (const char *p = own; *p;) {
		size_t n = strcspn(p, " ");
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "server=%.*s\n", (int)n, p);
		p += n;
		p += *p == ' ';
	}
	write_file_atomic(d->servers_file, text, 0644);
	if (d->dnsmasq)
		child_signal(d->dnsmasq, SIGHUP);
}

static void schedule_retry(struct masterd *d);

static void on_dnsmasq_exit(struct child *c, int code, int signo, void *data)
{
	struct masterd *d = data;

	(void)c;
	d->dnsmasq = NULL;
	log_err("dnsmasq on %s stopped (status %d, signal %d): the laptop gets no address until "
		"it runs again", d->ext, code, signo);
	if (d->ext[0] && !d->stopping)
		schedule_retry(d);
}

/* dnsmasq drops its privileges, and so loses the signal at masterd's death:
 * one left by a masterd killed -9 would hold the adapter's ports (soak test) */
static void dnsmasq_kill_stale(struct masterd *d)
{
	char path[200];

	snprintf(path, sizeof(path), "%s/dnsmasq.pid", d->conf.link.run_dir);
	child_kill_stale(path, "dnsmasq");
}

static int start_dnsmasq(struct masterd *d)
{
	uint32_t a = d->cur.addr, net = a & prefix_to_mask(d->cur.prefix);
	/* on the alternative subnet: short leases, so that laptops follow a move back soon */
	unsigned lease = d->cur.addr == d->conf.address.addr ? d->conf.lease_minutes : 2;
	char self[16], first[16], last[16], mask[16], range[96], iface[32], listen[40];
	char router[48], dns[48], mtu[48], leases[200], servers[220], user[48], label[48];
	char pidfile[220];
	/* lo excluded: local users of the master must not resolve through the customer */
	char *argv[] = { "/usr/sbin/dnsmasq", "--keep-in-foreground", "--log-facility=-",
			 "--conf-file=/dev/null", "--bind-interfaces", iface, "--except-interface=lo",
			 listen, "--port=53",
			 "--no-resolv", "--no-hosts", servers, range, router, dns, mtu, leases,
			 "--dhcp-authoritative", pidfile, user, NULL };

	ip4_format(a, self, sizeof(self));
	ip4_format(net | d->conf.dhcp_first, first, sizeof(first));
	ip4_format(net | d->conf.dhcp_last, last, sizeof(last));
	ip4_format(prefix_to_mask(d->cur.prefix), mask, sizeof(mask));
	snprintf(range, sizeof(range), "--dhcp-range=%s,%s,%s,%um", first, last, mask,
		 lease);
	snprintf(iface, sizeof(iface), "--interface=%s", d->ext);
	snprintf(listen, sizeof(listen), "--listen-address=%s", self);
	snprintf(router, sizeof(router), "--dhcp-option=option:router,%s", self);
	snprintf(dns, sizeof(dns), "--dhcp-option=option:dns-server,%s", self);
	/* the laptop needs no manual MTU: DHCP option 26 */
	snprintf(mtu, sizeof(mtu), "--dhcp-option=option:mtu,%u", d->conf.mtu);
	snprintf(leases, sizeof(leases), "--dhcp-leasefile=%s/leases", d->conf.link.run_dir);
	snprintf(d->servers_file, sizeof(d->servers_file), "%s/dns-servers", d->conf.link.run_dir);
	snprintf(servers, sizeof(servers), "--servers-file=%s", d->servers_file);
	snprintf(user, sizeof(user), "--user=%s", d->conf.dnsmasq_user);
	snprintf(pidfile, sizeof(pidfile), "--pid-file=%s/dnsmasq.pid", d->conf.link.run_dir);
	snprintf(label, sizeof(label), "dnsmasq %s", d->ext);
	dns_relay_to(d, d->st == S_UP && d->onsite_dns[0] ? d->onsite_dns : NULL);
	return child_start(d->loop, argv, label, on_dnsmasq_exit, d, &d->dnsmasq);
}

/* ---- the extremity interface ------------------------------------------------- */

/*
 * The device link itself is relative and short ("../../../1-1:1.0" for a USB
 * adapter): only the resolved path names the bus it hangs from
 * (".../usb1/1-1/1-1:1.0").
 */
static bool on_usb_bus(const char *ifname)
{
	char path[128], *target;
	bool usb;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device", ifname);
	target = realpath(path, NULL);
	if (!target)
		return false;
	usb = strstr(target, "/usb") != NULL;
	free(target);
	return usb;
}

/*
 * What masterd puts on the bus may come from the RDV server or the onsite:
 * it goes through peer_text, so no terminal escape reaches masterdev's
 * user, and libdbus (which aborts on strings that are not UTF-8) gets UTF-8.
 */
static void emit(struct masterd *d, const char *member, const char *text)
{
	DBusMessage *m = dbus_message_new_signal(MASTER_PATH, MASTER_IFACE, member);
	char buf[512];
	const char *arg = peer_text(text, buf, sizeof(buf));

	if (!m)
		return;
	dbus_message_append_args(m, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID);
	dbus_connection_send(d->bus, m, NULL);
	dbus_message_unref(m);
}

void emit_session_ended(struct masterd *d, const char *reason) { emit(d, "SessionEnded", reason); }

/* the master's address on the extremity interface, added or removed */
static int extremity_address(struct masterd *d, bool add)
{
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct nl_addr *local = NULL;
	char cidr[24];
	int r = -NLE_NOMEM;

	cidr4_format(&d->cur, cidr, sizeof(cidr));
	if (addr && nl_addr_parse(cidr, AF_INET, &local) == 0) {
		rtnl_addr_set_ifindex(addr, d->ext_ifindex);
		rtnl_addr_set_local(addr, local);
		r = add ? rtnl_addr_add(d->nl, addr, 0) : rtnl_addr_delete(d->nl, addr, 0);
		if (r == -NLE_EXIST && add)
			r = 0;
	}
	nl_addr_put(local);
	rtnl_addr_put(addr);
	return r;
}

int extremity_forwarding(struct masterd *d, bool on)
{
	if (!d->ext[0] || !if_nametoindex(d->ext))
		return on ? -ENODEV : 0; /* unplugged: nothing left to switch off */
	return if_sysctl(d->ext, "forwarding", on ? "1" : "0", NULL, 0);
}

/*
 * Address, no forwarding (whatever the host's default), up, dnsmasq. On any
 * failure nothing of it stays half done: the adapter is let go, and the next
 * event on it or the retry timer tries again.
 */
static int adopt(struct masterd *d, struct rtnl_link *link)
{
	struct rtnl_link *change = rtnl_link_alloc();
	char cidr[24];
	int r;

	snprintf(d->ext, sizeof(d->ext), "%s", rtnl_link_get_name(link));
	d->ext_ifindex = rtnl_link_get_ifindex(link);
	cidr4_format(&d->cur, cidr, sizeof(cidr));
	r = change ? extremity_address(d, true) : -NLE_NOMEM;
	if (r == 0) {
		rtnl_link_set_flags(change, IFF_UP);
		r = rtnl_link_change(d->nl, link, change, 0);
	}
	rtnl_link_put(change);
	if (r < 0) {
		log_err("extremity %s: cannot set %s: %s", d->ext, cidr, nl_geterror(r));
		r = nl_errno(r);
		goto fail;
	}
	/* laptop traffic is forwarded only during a session, into its tunnel */
	if ((r = extremity_forwarding(d, false)) < 0)
		goto fail;
	if ((r = start_dnsmasq(d)) < 0) {
		log_err("cannot start dnsmasq on %s: %s", d->ext, strerror(-r));
		goto fail;
	}
	d->failures = 0;
	log_info("extremity interface %s: %s, DHCP for the laptop", d->ext, cidr);
	emit(d, "ExtremityChanged", d->ext);
	return 0;
fail:
	extremity_address(d, false);
	d->ext[0] = '\0';
	d->ext_ifindex = 0;
	schedule_retry(d);
	return r;
}

/* down and up: laptops ask for a new lease when their link comes back */
static void bounce(struct masterd *d)
{
	struct rtnl_link *link = NULL, *change = rtnl_link_alloc();
	int r = -NLE_NOMEM;

	if (change && (r = rtnl_link_get_kernel(d->nl, d->ext_ifindex, NULL, &link)) == 0) {
		rtnl_link_unset_flags(change, IFF_UP);
		if ((r = rtnl_link_change(d->nl, link, change, 0)) == 0) {
			rtnl_link_set_flags(change, IFF_UP);
			r = rtnl_link_change(d->nl, link, change, 0);
		}
	}
	if (r < 0)
		log_warn("extremity %s: cannot bounce the link: %s", d->ext, nl_geterror(r));
	rtnl_link_put(link);
	rtnl_link_put(change);
}

bool extremity_move(struct masterd *d, const struct cidr4 *lan, char *to, size_t tolen)
{
	const struct cidr4 *other =
		d->cur.addr == d->conf.address.addr ? &d->conf.alternative : &d->conf.address;
	struct cidr4 was = d->cur;
	int r;

	if (!d->ext[0] || cidr4_overlap(other, lan))
		return false;
	child_stop(d->dnsmasq);
	d->dnsmasq = NULL;
	extremity_address(d, false);
	d->cur = *other;
	if ((r = extremity_address(d, true)) < 0) {
		log_err("extremity %s: cannot move it: %s", d->ext, nl_geterror(r));
		d->cur = was;
		extremity_address(d, true);
	}
	bounce(d);
	if (start_dnsmasq(d) < 0)
		schedule_retry(d);
	cidr4_format(&d->cur, to, tolen);
	return r == 0;
}

static void drop_extremity(struct masterd *d)
{
	log_info("extremity interface %s removed", d->ext);
	child_stop(d->dnsmasq);
	d->dnsmasq = NULL;
	session_end(d, "the extremity interface (USB-Ethernet adapter) was removed");
	d->ext[0] = '\0';
	d->ext_ifindex = 0;
	emit(d, "ExtremityChanged", "");
}

static void link_seen(struct masterd *d, struct rtnl_link *link, bool gone)
{
	const char *name = rtnl_link_get_name(link);
	int ifindex = rtnl_link_get_ifindex(link);

	session_link_event(d, ifindex, rtnl_link_get_flags(link), gone);
	if (d->ext_ifindex == ifindex && gone) {
		drop_extremity(d);
		return;
	}
	if (gone || d->ext[0] || !name || fnmatch(d->conf.extremity_pattern, name, 0) ||
	    !fnmatch(d->conf.extremity_exclude, name, 0) ||
	    (d->conf.require_usb && !on_usb_bus(name)))
		return;
	adopt(d, link);
}

static void on_link_object(struct nl_object *obj, void *arg)
{
	link_seen(arg, (struct rtnl_link *)obj, false);
}

/* an adapter plugged before boot is there already: no event will say so */
static void scan_links(struct masterd *d)
{
	struct nl_cache *cache;

	if (rtnl_link_alloc_cache(d->nl, AF_UNSPEC, &cache) < 0)
		return;
	nl_cache_foreach(cache, on_link_object, d);
	nl_cache_free(cache);
}

/* after lost events: what is gone is gone, what is there is looked at again */
static void resync(struct masterd *d)
{
	struct rtnl_link *link;

	if (d->tun.has_tun && rtnl_link_get_kernel(d->nl, d->tun.ifindex, NULL, &link) < 0)
		session_link_event(d, d->tun.ifindex, 0, true);
	else if (d->tun.has_tun) {
		session_link_event(d, d->tun.ifindex, rtnl_link_get_flags(link), false);
		rtnl_link_put(link);
	}
	if (d->ext_ifindex && rtnl_link_get_kernel(d->nl, d->ext_ifindex, NULL, &link) < 0)
		drop_extremity(d);
	else if (d->ext_ifindex)
		rtnl_link_put(link);
	scan_links(d);
}

static void on_retry(void *data)
{
	struct masterd *d = data;

	d->retry = NULL;
	if (!d->ext[0])
		scan_links(d);
	else if (!d->dnsmasq && start_dnsmasq(d) < 0)
		schedule_retry(d);
	if (d->ext[0] && d->dnsmasq)
		d->failures = 0;
}

/* 1, 2, 4 ... 30 s: a persistent fault is neither forgotten nor hammered */
static void schedule_retry(struct masterd *d)
{
	unsigned s = d->failures < 5 ? 1u << d->failures : 30;

	if (d->retry || d->stopping)
		return;
	d->failures++;
	log_info("trying the extremity interface again in %u s", s);
	loop_add_timer(d->loop, s * 1000ull, on_retry, d, &d->retry);
}

static void on_link_event(void *data, struct rtnl_link *link, bool gone)
{
	if (link)
		link_seen(data, link, gone);
	else
		resync(data);
}

static void on_netlink(int fd, short revents, void *data)
{
	struct masterd *d = data;

	(void)fd;
	(void)revents;
	nl_link_events_read(&d->events);
}

static int netlink_setup(struct masterd *d)
{
	int r;

	if (!(d->nl = nl_socket_alloc()))
		return -ENOMEM;
	if ((r = nl_connect(d->nl, NETLINK_ROUTE)) < 0)
		return nl_errno(r);
	if ((r = nl_link_events_open(&d->events, on_link_event, d)) < 0)
		return r;
	return loop_add_fd(d->loop, nl_link_events_fd(&d->events), POLLIN, on_netlink, d, NULL);
}

/* ---- D-Bus ------------------------------------------------------------------- */

void reply_open(struct masterd *d, const char *error_name, const char *message)
{
	DBusMessage *r;
	char lanbuf[sizeof(d->onsite_lan) * 4], dnsbuf[sizeof(d->onsite_dns) * 4], text[512];
	const char *lan = peer_text(d->onsite_lan, lanbuf, sizeof(lanbuf));
	const char *dns = peer_text(d->onsite_dns, dnsbuf, sizeof(dnsbuf));
	const char *warning = d->overlap;

	if (!d->pending_open)
		return;
	if (error_name)
		r = dbus_message_new_error(d->pending_open, error_name,
					   peer_text(message, text, sizeof(text)));
	else if ((r = dbus_message_new_method_return(d->pending_open)))
		dbus_message_append_args(r, DBUS_TYPE_STRING, &lan, DBUS_TYPE_STRING, &dns,
					 DBUS_TYPE_STRING, &warning, DBUS_TYPE_INVALID);
	if (r) {
		dbus_connection_send(d->bus, r, NULL);
		dbus_message_unref(r);
	}
	dbus_message_unref(d->pending_open);
	d->pending_open = NULL;
}

static void reply_error(struct masterd *d, DBusMessage *m, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void reply_error(struct masterd *d, DBusMessage *m, const char *name, const char *fmt, ...)
{
	char raw[600], text[600];
	va_list ap;
	DBusMessage *r;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if ((r = dbus_message_new_error(m, name, peer_text(raw, text, sizeof(text))))) {
		dbus_connection_send(d->bus, r, NULL);
		dbus_message_unref(r);
	}
}

static void on_list(struct rdvlink *l, const char *out, const char *errors, void *data)
{
	struct masterd *d = data;
	DBusMessage *r;
	DBusMessageIter it, arr, st;

	(void)l;
	(void)errors;
	if (!d->pending_list)
		return;
	if ((r = dbus_message_new_method_return(d->pending_list))) {
		dbus_message_iter_init_append(r, &it);
		dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "(sssss)", &arr);
		for (const char *p = out; *p;) {
			char line[512], *f[5], safe[5][512];
			const char *v;
			size_t n = strcspn(p, "\n");
			int k = 0;
			if (n < sizeof(line)) {
				memcpy(line, p, n);
				line[n] = '\0';
				for (char *s = line, *tab; k < 5 && s; s = tab ? tab + 1 : NULL) {
					tab = strchr(s, '\t');
					if (tab)
						*tab = '\0';
					f[k++] = s;
				}
			}
			if (k == 5 && device_name_valid(f[0])) {
				dbus_message_iter_open_container(&arr, DBUS_TYPE_STRUCT, NULL, &st);
				for (int i = 0; i < 5; i++) {
					v = peer_text(f[i], safe[i], sizeof(safe[i]));
					dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &v);
				}
				dbus_message_iter_close_container(&arr, &st);
			}
			p += n;
			p += *p == '\n';
		}
		dbus_message_iter_close_container(&it, &arr);
		dbus_connection_send(d->bus, r, NULL);
		dbus_message_unref(r);
	}
	dbus_message_unref(d->pending_list);
	d->pending_list = NULL;
}

/* the caller's uid as the bus daemon knows it; (uid_t)-1 if it cannot tell */
static uid_t caller_uid(struct masterd *d, DBusMessage *m)
{
	unsigned long uid = dbus_bus_get_unix_user(d->bus, dbus_message_get_sender(m), NULL);

	return uid == (unsigned long)-1 ? (uid_t)-1 : (uid_t)uid;
}

/*
 * Root, or a member of access_group (master.conf). The bus policy lets any
 * local user's call reach masterd: this is the one check, so the group is
 * whatever the configuration says, and anything unknown is a refusal.
 */
static bool caller_allowed(struct masterd *d, uid_t uid)
{
	struct passwd *pw;
	struct group *gr;
	gid_t *groups = NULL;
	int n = 32;
	bool ok = false;

	if (uid == 0)
		return true;
	if (uid == (uid_t)-1 || !(pw = getpwuid(uid)) || !(gr = getgrnam(d->conf.access_group)))
		return false;
	for (int tries = 0; tries < 3 && !ok; tries++) {
		gid_t *more = realloc(groups, (size_t)n * sizeof(*groups));
		int got = n;
		if (!more)
			break;
		groups = more;
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &got) < 0) {
			n = got; /* too small: got says how many */
			continue;
		}
		for (int i = 0; i < got; i++)
			ok |= groups[i] == gr->gr_gid;
		break;
	}
	free(groups);
	return ok;
}

static bool unreachable(struct masterd *d, DBusMessage *m)
{
	if (d->link && rdvlink_up(d->link))
		return false;
	reply_error(d, m, MASTER_ERR "Unreachable", "RDV server unreachable: %s",
		    d->link ? rdvlink_last_error(d->link) : "not started");
	return true;
}

static void m_list(struct masterd *d, DBusMessage *m)
{
	if (unreachable(d, m))
		return;
	if (d->pending_list ||
	    rdvlink_cmd(d->link, "show_online_onsite_devs_details", 30, on_list, d) < 0) {
		reply_error(d, m, MASTER_ERR "Busy", "masterd is busy with the RDV server, try again");
		return;
	}
	d->pending_list = dbus_message_ref(m);
}

static void m_open(struct masterd *d, DBusMessage *m)
{
	const char *id = NULL;

	if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &id, DBUS_TYPE_INVALID) ||
	    !device_name_valid(id)) {
		reply_error(d, m, MASTER_ERR "InvalidArgument", "'%.40s' is not a device ID", id ? id : "");
		return;
	}
	if (!d->ext[0]) {
		reply_error(d, m, MASTER_ERR "NoExtremity",
			    "no extremity interface: plug the USB-Ethernet adapter into the master");
		return;
	}
	if (unreachable(d, m))
		return;
	if (d->st != S_IDLE || d->pending_list) {
		reply_error(d, m, MASTER_ERR "Busy", "a session is already open (with %s)", d->onsite);
		return;
	}
	snprintf(d->owner, sizeof(d->owner), "%s", dbus_message_get_sender(m));
	d->owner_uid = caller_uid(d, m);
	d->pending_open = dbus_message_ref(m);
	session_open(d, id);
}

/* A technician closes their own session; only root closes anyone's. */
static void m_close(struct masterd *d, DBusMessage *m)
{
	uid_t uid = caller_uid(d, m);
	DBusMessage *r;

	if (d->st != S_IDLE && uid != 0 && uid != d->owner_uid) {
		log_warn("uid %u may not close the session with %s, opened by uid %u", (unsigned)uid,
			 d->onsite, (unsigned)d->owner_uid);
		reply_error(d, m, DBUS_ERROR_ACCESS_DENIED,
			    "the session with %s was opened by another user (uid %u): only they or root "
			    "may close it", d->onsite, (unsigned)d->owner_uid);
		return;
	}
	if (d->st != S_IDLE)
		session_end(d, "closed by masterdev");
	if ((r = dbus_message_new_method_return(m))) {
		dbus_connection_send(d->bus, r, NULL);
		dbus_message_unref(r);
	}
}

static void m_status(struct masterd *d, DBusMessage *m)
{
	static const char *const states[] = { "idle", "opening", "established" };
	DBusMessage *r = dbus_message_new_method_return(m);
	char errbuf[512];
	const char *ext = d->ext;
	const char *err = peer_text(d->link ? rdvlink_last_error(d->link) : "", errbuf, sizeof(errbuf));
	const char *state = states[d->st], *onsite = d->st != S_IDLE ? d->onsite : "";
	const char *device = d->conf.link.device, *host = d->conf.link.host;
	dbus_bool_t up = d->link && rdvlink_up(d->link);

	if (!r)
		return;
	dbus_message_append_args(r, DBUS_TYPE_STRING, &ext, DBUS_TYPE_BOOLEAN, &up, DBUS_TYPE_STRING,
				 &err, DBUS_TYPE_STRING, &state, DBUS_TYPE_STRING, &onsite,
				 DBUS_TYPE_STRING, &device, DBUS_TYPE_STRING, &host, DBUS_TYPE_INVALID);
	dbus_connection_send(d->bus, r, NULL);
	dbus_message_unref(r);
}

static DBusHandlerResult on_method(DBusConnection *c, DBusMessage *m, void *data)
{
	static const struct { const char *name, *sig; void (*fn)(struct masterd *, DBusMessage *); } t[] = {
		{ "ListOnsite", "", m_list }, { "Open", "s", m_open },
		{ "Close", "", m_close },     { "GetStatus", "", m_status },
	};
	struct masterd *d = data;

	(void)c;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		if (!dbus_message_is_method_call(m, MASTER_IFACE, t[i].name))
			continue;
		if (!dbus_message_has_signature(m, t[i].sig))
			reply_error(d, m, DBUS_ERROR_INVALID_ARGS, "%s takes (%s)", t[i].name, t[i].sig);
		else if (!caller_allowed(d, caller_uid(d, m)))
			reply_error(d, m, DBUS_ERROR_ACCESS_DENIED, "only root and members of %s",
				    d->conf.access_group);
		else
			t[i].fn(d, m);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

/* the masterdev that opened the session is gone: so is the session */
static DBusHandlerResult on_signal(DBusConnection *c, DBusMessage *m, void *data)
{
	struct masterd *d = data;
	const char *name;

	(void)c;
	if (bus_name_vanished(m, &name) && d->owner[0] && !strcmp(name, d->owner)) {
		if (d->pending_open) {
			dbus_message_unref(d->pending_open);
			d->pending_open = NULL;
		}
		if (d->st != S_IDLE)
			session_end(d, "masterdev ended");
		d->owner[0] = '\0';
	}
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static int bus_setup(struct masterd *d)
{
	return dbus_service_start(d->loop, MASTER_BUS_NAME, MASTER_PATH, on_method, on_signal, d,
				  &d->bus);
}

/* ---- main -------------------------------------------------------------------- */

static void on_link(struct rdvlink *l, bool up, const char *why, void *data)
{
	struct masterd *d = data;
	char reason[480];

	(void)l;
	if (up)
		return;
	snprintf(reason, sizeof(reason), "the RDV server link went down: %s", why);
	if (d->pending_list) {
		reply_error(d, d->pending_list, MASTER_ERR "Unreachable", "%s", reason);
		dbus_message_unref(d->pending_list);
		d->pending_list = NULL;
	}
	session_end(d, reason);
}

static void on_signal_quit(int signo, void *data)
{
	struct masterd *d = data;

	log_info("signal %d: stopping", signo);
	d->stopping = true;
	loop_quit(d->loop, 0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "foreground", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },        { "check-config", no_argument, NULL, 't' },
		{ 0 } };
	static const int signals[] = { SIGTERM, SIGINT };
	struct masterd d = { 0 };
	const char *path = MASTER_CONF_PATH;
	bool foreground = false, check = false, debug = false;
	char err[4096];
	uint64_t deadline;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:ndt", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'n': foreground = true; break;
		case 'd': debug = true; break;
		case 't': check = true; break;
		default:
			fprintf(stderr, "Usage: masterd [-c CONFIG] [-n] [-d] [-t]\n");
			return 2;
		}
	}
	if (master_conf_load(path, &d.conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "masterd: %s: invalid configuration:\n%s", path, err);
		return 2;
	}
	if (check) {
		printf("%s: configuration OK\n", path);
		return 0;
	}
	d.cur = d.conf.address;
	if ((r = log_setup("masterd", d.conf.log_level, debug, foreground ? NULL : d.conf.log_file)) < 0) {
		fprintf(stderr, "masterd: cannot open %s: %s\n", d.conf.log_file, strerror(-r));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((mkdir(d.conf.link.run_dir, 0700) < 0 && errno != EEXIST) || loop_new(&d.loop) < 0 ||
	    loop_add_signals(d.loop, signals, 2, on_signal_quit, &d) < 0 || netlink_setup(&d) < 0 ||
	    !(d.nft = nftab_new()) || bus_setup(&d) < 0) {
		log_err("cannot start");
		return 1;
	}
	/* dnsmasq drops to its user; the run dir must let it keep its leases */
	chmod(d.conf.link.run_dir, 0755);
	/* what a previous run may have left */
	devtunnel_purge(d.nl, d.conf.tunnel_interface, d.conf.link.run_dir);
	nftab_reset(d.nft, d.conf.nft_table);
	dnsmasq_kill_stale(&d);
	log_info("starting: device %s, RDV server %s:%u, extremity interfaces %s%s",
		 d.conf.link.device, d.conf.link.host, d.conf.link.port, d.conf.extremity_pattern,
		 d.conf.require_usb ? " on a USB bus" : "");
	scan_links(&d);
	if (rdvlink_start(d.loop, &d.conf.link, on_link, &d, &d.link) < 0)
		return 1;
	session_init(&d);
	r = loop_run(d.loop);
	session_end(&d, "masterd stopping");
	rdvlink_stop(d.link);
	d.link = NULL;
	child_stop(d.dnsmasq);
	loop_cancel_timer(d.loop, d.retry);
	if (d.ext[0])
		extremity_address(&d, false);
	deadline = now_ms() + 2000;
	while (child_count() && now_ms() < deadline)
		loop_iterate(d.loop, 50);
	child_kill_all();
	nft_ctx_free(d.nft);
	nl_socket_free(d.nl);
	nl_link_events_close(&d.events);
	dbus_connection_close(d.bus);
	dbus_connection_unref(d.bus);
	loop_free(d.loop);
	log_info("stopped");
	return r < 0 ? 1 : 0;
}
