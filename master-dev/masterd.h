/* masterd: the master Pi's root daemon, driven by masterdev over D-Bus. */
#pragma once
#include <dbus/dbus.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>
#include "devtunnel.h"
#include "loop.h"
#include "master-conf.h"
#include "nl.h"
#include "rdvlink.h"

#define MASTER_BUS_NAME "org.rdvkit.Master"
#define MASTER_PATH "/org/rdvkit/Master"
#define MASTER_IFACE "org.rdvkit.Master1"
#define MASTER_ERR "org.rdvkit.Master.Error."
#define SESSION_MARK 0x52dd /* masterd's DNS relay queries, routed into the session */

enum session_state { S_IDLE, S_OPENING, S_UP };

struct child;
struct nl_sock;
struct nft_ctx;

struct masterd {
	struct master_conf conf;
	struct loop *loop;
	DBusConnection *bus;
	struct rdvlink *link;
	struct nl_sock *nl;
	struct nl_link_events events;
	struct nft_ctx *nft;
	bool stopping;
	/* the extremity interface and its DHCP/DNS server */
	char ext[16];
	int ext_ifindex;
	struct cidr4 cur;          /* its address: conf's, or the alternative */
	struct child *dnsmasq;
	struct loop_timer *retry;  /* adopting the adapter or restarting dnsmasq again */
	unsigned failures;
	char servers_file[200];
	/* the session */
	enum session_state st;
	char onsite[32];
	char owner[64];            /* bus name of the masterdev that opened it */
	uid_t owner_uid;           /* and its user: only they (or root) may close it */
	DBusMessage *pending_open;
	DBusMessage *pending_list;
	struct devtunnel tun;
	bool has_nft, has_rules, carrier;
	char onsite_lan[32], onsite_dns[80];
	char overlap[400];         /* why some customer hosts are unreachable, or "" */
	struct loop_timer *timer;
	time_t started;
};

/* master-session.c */
void session_init(struct masterd *d); /* once the loop, netlink and the link exist */
void session_open(struct masterd *d, const char *onsite);
void session_end(struct masterd *d, const char *reason);
void session_link_event(struct masterd *d, int ifindex, unsigned flags, bool gone);

/* masterd.c */
void dns_relay_to(struct masterd *d, const char *servers); /* NULL: the master's own */
void reply_open(struct masterd *d, const char *error_name, const char *message);
void emit_session_ended(struct masterd *d, const char *reason);
/* forwarding of what enters on the extremity interface: only during a session */
int extremity_forwarding(struct masterd *d, bool on);
/* to the other configured subnet, unless that overlaps lan too; to: where */
bool extremity_move(struct masterd *d, const struct cidr4 *lan, char *to, size_t tolen);
