/* Small libnl helpers shared by the RDV server and the devices. */
#pragma once
#include <stdint.h>

struct nl_sock;

/* libnl's -NLE_* as -errno: the one place where they are translated */
int nl_errno(int nlerr);
/*
 * A persistent tun (no packet information) with addr/prefix, brought up:
 * vtund attaches to it later, so it is up before the first packet, and its
 * carrier says when vtund is there.
 */
int nl_tun_create(struct nl_sock *nl, const char *name, uint32_t addr, unsigned prefix,
		  int *ifindex);
/* removes a link by name; a link already gone is not an error */
int nl_link_delete(struct nl_sock *nl, const char *name);
