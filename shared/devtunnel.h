/*
 * A device's end of a session tunnel: a tun made and addressed before vtund
 * attaches, and a supervised vtund, carried either way the RDV server says:
 * classic: a vtund client through the SSH forward to the RDV server's vtund;
 * relay: the device's own TLS data connection (datalink.h), joined by the RDV
 * server to the peer device's; the master runs the vtund server (inetd mode,
 * on that connection), the onsite a vtund client through a local splice.
 * What each device routes through it is its own.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "child.h"
#include "loop.h"
#include "rdvlink.h"

struct nl_sock;

struct devtunnel {
	/* set by the owner */
	struct loop *loop;
	struct nl_sock *nl;
	struct rdvlink *link;
	const char *device;    /* for log labels */
	const char *ifname;
	const char *run_dir;
	unsigned local_port;   /* local end of the SSH forward */
	child_exit_cb on_vtund_exit;
	void *data;
	/* state */
	struct child *vtund;
	bool has_tun, has_forward;
	int ifindex;
	unsigned remote_port;
	uint32_t net;          /* the session's /30 */
	char rdv_ip[16];       /* the RDV end of the tunnel */
	char conf_path[200];
	char session[32];      /* vtund's session name, for a new attempt */
	struct loop_timer *retry;
	unsigned tries;
	bool up;               /* set by the owner once the carrier came: no more retries */
	uint64_t vtund_started;
	/* relay data path */
	bool relay, server;
	struct datalink *attach;
	struct splicer *splicer;   /* client: local vtund <-> data connection */
	bool has_listener;
	int listen_fd;             /* client: where the local vtund connects */
	struct loop_fd *listen_src;
	int data_fd;               /* attached, until vtund or the splicer has it */
};

/* From get_vtun_parameters' output; on failure why says what, and stop
 * cleans up. A relay failure after this returned comes as on_vtund_exit(NULL). */
int devtunnel_start(struct devtunnel *t, const char *params, const char **why);
/* Removes whatever start put in place; safe to call at any stage. */
void devtunnel_stop(struct devtunnel *t);
/* At start: the tun and vtund's config (with its secret) a daemon killed
 * before its cleanup left in run_dir. */
void devtunnel_purge(struct nl_sock *nl, const char *ifname, const char *run_dir);
