#include "nl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/rule.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "log.h"
#include "net.h"

int nl_errno(int nlerr)
{
	switch (-nlerr) {
	case 0: return 0;
	case NLE_EXIST: return -EEXIST;
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_PERM: return -EPERM;
	case NLE_BUSY: return -EBUSY;
	case NLE_INVAL: return -EINVAL;
	case NLE_NODEV: return -ENODEV;
	default: return -EIO;
	}
}

int if_sysctl(const char *ifname, const char *key, const char *value, char *prev, size_t prevlen)
{
	char path[128];
	ssize_t n;
	int fd, r = 0;

	if (!ifname_valid(ifname))
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/%s", ifname, key);
	fd = open(path, (value ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (prev && prevlen) {
		n = read(fd, prev, prevlen - 1);
		if (n < 0) {
			r = -errno;
			goto out;
		}
		prev[n] = '\0';
		prev[strcspn(prev, "\n")] = '\0';
	}
	if (value && pwrite(fd, value, strlen(value), 0) != (ssize_t)strlen(value))
		r = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (r < 0)
		log_err("cannot %s net.ipv4.conf.%s.%s%s%s: %s", value ? "set" : "read", ifname, key,
			value ? " to " : "", value ? value : "", strerror(-r));
	return r;
}

static int make_persistent_tun(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd, r = 0;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* EXCL: a tun of that name made by someone else is theirs, never adopted */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL;
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0)
		r = -errno;
	close(fd);
	return r;
}

int nl_tun_create(struct nl_sock *nl, const char *name, uint32_t a, unsigned prefix,
		  int *ifindex)
{
	struct rtnl_addr *addr = NULL;
	struct rtnl_link *link = NULL, *change = NULL;
	struct nl_addr *local = NULL;
	char cidr[20];
	int r;

	r = make_persistent_tun(name);
	if (r < 0) {
		log_err("cannot create tun %s: %s", name, strerror(-r));
		return r;
	}
	snprintf(cidr, sizeof(cidr), "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
		 a & 255, prefix);
	if ((r = rtnl_link_get_kernel(nl, 0, name, &link)) < 0)
		goto out;
	*ifindex = rtnl_link_get_ifindex(link);
	if (if_sysctl(name, "forwarding", "1", NULL, 0) < 0 || if_sysctl(name, "rp_filter", "2", NULL, 0) < 0) {
		r = -NLE_FAILURE;
		goto out;
	}
	addr = rtnl_addr_alloc();
	change = rtnl_link_alloc();
	if (!addr || !change || nl_addr_parse(cidr, AF_INET, &local) < 0) {
		r = -NLE_NOMEM;
		goto out;
	}
	rtnl_addr_set_ifindex(addr, *ifindex);
	rtnl_addr_set_local(addr, local);
	if ((r = rtnl_addr_add(nl, addr, 0)) < 0)
		goto out;
	rtnl_link_set_flags(change, IFF_UP);
	r = rtnl_link_change(nl, link, change, 0);
out:
	if (r < 0) {
		log_err("cannot set up tun %s: %s", name, nl_geterror(r));
		nl_link_delete(nl, name);
	}
	nl_addr_put(local);
	rtnl_addr_put(addr);
	rtnl_link_put(change);
	rtnl_link_put(link);
	return nl_errno(r);
}

int nl_link_delete(struct nl_sock *nl, const char *name)
{
	struct rtnl_link *link = rtnl_link_alloc();
	int r;

	if (!link)
		return -ENOMEM;
	rtnl_link_set_name(link, name);
	r = rtnl_link_delete(nl, link);
	rtnl_link_put(link);
	if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
		return 0;
	if (r < 0)
		log_warn("cannot remove %s: %s", name, nl_geterror(r));
	return nl_errno(r);
}

struct rules_purge {
	struct nl_sock *nl;
	unsigned prio, table;
	int n;
};

static void purge_rule(struct nl_object *obj, void *arg)
{
	struct rules_purge *p = arg;
	struct rtnl_rule *rule = (struct rtnl_rule *)obj;

	if (rtnl_rule_get_prio(rule) == p->prio && rtnl_rule_get_table(rule) == p->table &&
	    rtnl_rule_delete(p->nl, rule, 0) == 0)
		p->n++;
}

int nl_rules_purge(struct nl_sock *nl, unsigned prio, unsigned table)
{
	struct rules_purge p = { .nl = nl, .prio = prio, .table = table };
	struct nl_cache *cache;
	int r;

	r = rtnl_rule_alloc_cache(nl, AF_INET, &cache);
	if (r < 0)
		return nl_errno(r);
	nl_cache_foreach(cache, purge_rule, &p);
	nl_cache_free(cache);
	return p.n;
}

struct link_msg {
	struct nl_link_events *ev;
	bool gone;
};

static void on_link_object(struct nl_object *obj, void *arg)
{
	struct link_msg *lm = arg;

	lm->ev->fn(lm->ev->data, (struct rtnl_link *)obj, lm->gone);
}

static int on_link_msg(struct nl_msg *msg, void *arg)
{
	int type = nlmsg_hdr(msg)->nlmsg_type;
	struct link_msg lm = { arg, type == RTM_DELLINK };

	if (type == RTM_NEWLINK || lm.gone)
		nl_msg_parse(msg, on_link_object, &lm);
	return NL_OK;
}

int nl_link_events_open(struct nl_link_events *ev, nl_link_fn fn, void *data)
{
	int r;

	ev->fn = fn;
	ev->data = data;
	if (!(ev->sock = nl_socket_alloc()))
		return -ENOMEM;
	if ((r = nl_connect(ev->sock, NETLINK_ROUTE)) < 0)
		return nl_errno(r);
	nl_socket_disable_seq_check(ev->sock);
	nl_socket_modify_cb(ev->sock, NL_CB_VALID, NL_CB_CUSTOM, on_link_msg, ev);
	if ((r = nl_socket_add_membership(ev->sock, RTNLGRP_LINK)) < 0 ||
	    (r = nl_socket_set_nonblocking(ev->sock)) < 0)
		return nl_errno(r);
	/* a burst of tunnels coming and going must not overflow it easily */
	nl_socket_set_buffer_size(ev->sock, 1 << 20, 0);
	return 0;
}

int nl_link_events_fd(const struct nl_link_events *ev) { return nl_socket_get_fd(ev->sock); }

void nl_link_events_read(struct nl_link_events *ev)
{
	int r = nl_recvmsgs_default(ev->sock);

	if (r == -NLE_NOMEM) {
		/* the socket overflowed (ENOBUFS): events were lost */
		log_warn("link events lost: asking the kernel again");
		ev->fn(ev->data, NULL, false);
	} else if (r < 0 && r != -NLE_AGAIN) {
		log_warn("link events: %s", nl_geterror(r));
	}
}

void nl_link_events_close(struct nl_link_events *ev)
{
	nl_socket_free(ev->sock);
	ev->sock = NULL;
}
