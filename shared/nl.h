/* Small libnl helpers shared by the RDV server and the devices. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_sock;
struct rtnl_link;

/* libnl's -NLE_* as -errno: the one place where they are translated */
int nl_errno(int nlerr);
/*
 * net.ipv4.conf.IFNAME.KEY = value (value NULL: only read); the value it had
 * goes to prev (if not NULL), so that what we change can be put back.
 */
int if_sysctl(const char *ifname, const char *key, const char *value, char *prev, size_t prevlen);
/*
 * A persistent tun (no packet information) with addr/prefix, brought up:
 * vtund attaches to it later, so it is up before the first packet, and its
 * carrier says when vtund is there. It forwards what comes in on it (the
 * host as a whole does not), and its reverse-path check is loose: replies
 * from the far LAN come in on it although the main table routes their
 * source elsewhere, which a strict rp_filter (=1) would drop.
 */
int nl_tun_create(struct nl_sock *nl, const char *name, uint32_t addr, unsigned prefix,
		  int *ifindex);
/* removes a link by name; a link already gone is not an error */
int nl_link_delete(struct nl_sock *nl, const char *name);
/* removes the IPv4 rules at priority prio that look up table (what a daemon
 * killed before its cleanup left); returns how many, or -errno */
int nl_rules_purge(struct nl_sock *nl, unsigned prio, unsigned table);

/*
 * Link notifications, the one copy: fn for each RTM_NEWLINK/RTM_DELLINK;
 * with link NULL when the socket overflowed and events were lost, so the
 * owner asks the kernel for the state it cares about.
 */
typedef void (*nl_link_fn)(void *data, struct rtnl_link *link, bool gone);
struct nl_link_events {
	struct nl_sock *sock;
	nl_link_fn fn;
	void *data;
};
int nl_link_events_open(struct nl_link_events *ev, nl_link_fn fn, void *data);
int nl_link_events_fd(const struct nl_link_events *ev);
/* reads what is pending (the fd is non-blocking) */
void nl_link_events_read(struct nl_link_events *ev);
void nl_link_events_close(struct nl_link_events *ev);
