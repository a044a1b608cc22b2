#include "nl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "log.h"

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
