/* The broker daemon's shared state: devices online, sessions, subsystems. */
#pragma once
#include "nl.h"
#include <dbus/dbus.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "conf.h"
#include "loop.h"
#include "net.h"
#include "pool.h"
#include "util.h"

enum role { ROLE_ONSITE, ROLE_MASTER };
enum side_idx { SIDE_MASTER = 0, SIDE_ONSITE = 1 };

#define MAX_DNS 4

struct session;

struct device {
	char name[32];
	uid_t uid;
	enum role role;
	char bus_name[64];  /* unique name of its shell's bus connection */
	pid_t shell_pid;      /* for the log; signals go through shell_pidfd */
	int shell_pidfd;      /* -1: none */
	time_t online_since;

	struct cidr4 lan;
	bool has_lan;
	uint32_t dns[MAX_DNS];
	unsigned n_dns;
	char hostname[HOSTNAME_MAX + 1];
	char uplink[8];

	struct session *session;
	bool relay;                   /* announced set_tunnelling_dev_data_path relay */
	bool picked;                  /* onsite: a master chose it, not yet told */
	DBusMessage *pending_wait;    /* onsite: WaitMaster call waiting for a master */
	DBusMessage *pending_end;     /* WaitSessionEnd call, answered with the reason */
	struct loop_timer *wait_timer;
	struct rdvd *rdvd;
	struct device *next;
};

struct side {
	struct device *dev;
	uint32_t net;         /* the /30: .1 here, .2 on the device */
	bool has_net;
	bool has_tun;
	char ifname[16];
	char secret[41];
	unsigned port;
	char conf_path[160];
	struct child *vtund;
	int ifindex;
	bool link_up;
	uint64_t rx_bytes;    /* bytes the device sent into the tunnel */
};

/* relay data path (relay.c): one ticket and one attached socket per side */
enum ticket_state { TICKET_FREE, TICKET_CHECKING, TICKET_USED };
struct relay_side {
	char ticket[33];          /* 128-bit hex, single use, never logged */
	enum ticket_state state;
	int fd;                   /* attached TLS stream (through stunnel), -1: none */
};

struct splicer;

struct session {
	unsigned id;
	struct side side[2];
	bool relay;               /* data path: relay (rdvd splices) or classic (tuns + glue) */
	char vtun_name[16];       /* relay: the vtun session name both devices use */
	struct relay_side rs[2];
	struct splicer *splicer;
	uint64_t relay_bytes[2];  /* master->onsite, onsite->master */
	struct loop_timer *relay_end; /* a side closed: the end, unless a reason comes first */
	char relay_why[96];
	bool glued;
	unsigned glue_flags;
	time_t started;
	uint64_t started_ms;
	uint64_t activity_ms;     /* when bytes last went through (idle limit) */
	uint64_t activity_bytes;  /* both tunnels' rx then */
	struct loop_timer *setup_timer;
	struct rdvd *rdvd;
	struct session *next;
};

struct nl_sock;
struct nft_ctx;
struct attach;
struct attempts;

struct rdvd {
	struct rdv_conf conf;
	const char *conf_path;
	struct loop *loop;
	DBusConnection *bus;
	struct pool *pool;
	struct device *devices;
	struct session *sessions;
	struct nl_sock *nl;        /* requests */
	struct nl_link_events events; /* link notifications */
	struct nft_ctx *nft;
	struct loop_timer *limits_timer;
	struct attempts *attempts; /* per master account, see limits.c */
	int data_fd;               /* relay.c: the attach socket stunnel forwards to */
	struct loop_fd *data_src;
	struct attach *attaches;   /* relay.c: connections not yet attached */
	unsigned n_attaches;
	size_t n_attempts;
	bool stopping;
};

static inline const char *role_name(enum role r) { return r == ROLE_ONSITE ? "onsite" : "master"; }
static inline const char *side_name(enum side_idx i) { return i == SIDE_MASTER ? "master" : "onsite"; }

/* registry.c */
struct device *device_by_bus_name(struct rdvd *d, const char *bus_name);
struct device *device_by_name(struct rdvd *d, const char *name);
int device_online(struct rdvd *d, const char *bus_name, uid_t uid, pid_t pid,
		  struct device **out, char *why, size_t whylen);
void device_offline(struct rdvd *d, struct device *dev, const char *reason);
void device_kick(struct rdvd *d, struct device *dev, const char *reason);
void device_wake(struct rdvd *d, struct device *dev, bool ready);
void device_session_over(struct rdvd *d, struct device *dev, const char *reason);
void device_describe(const struct device *dev, char *buf, size_t len);
int role_of_uid(const struct rdv_conf *conf, uid_t uid, char *name, size_t namelen,
		enum role *role, char *why, size_t whylen);

/* acl.c */
bool user_in_group(const char *user, const char *group);
bool acl_allows(const struct rdv_conf *conf, const char *master, const char *onsite);
bool acl_configured(const struct rdv_conf *conf);

/* session.c */
int session_open(struct rdvd *d, struct device *master, struct device *onsite,
		 struct session **out);
void session_end(struct rdvd *d, struct session *s, const char *reason);
void session_link_event(struct rdvd *d, int ifindex, unsigned flags, bool gone, uint64_t rx_bytes);
void session_end_all(struct rdvd *d, const char *reason);
unsigned session_count(const struct rdvd *d);
void session_reload_conf(struct rdvd *d);

/* limits.c: session time limits, attempts per master */
void limits_arm(struct rdvd *d);
void limits_session_glued(struct rdvd *d, struct session *s);
bool limits_attempt_allowed(struct rdvd *d, uid_t uid);
void limits_free(struct rdvd *d);

/* glue.c: policy routing through libnl */
int glue_init(struct rdvd *d);
void glue_fini(struct rdvd *d);
int glue_add(struct rdvd *d, struct session *s);
void glue_del(struct rdvd *d, struct session *s);
void glue_purge(struct rdvd *d); /* remove what a previous rdvd left */
int tun_create(struct rdvd *d, struct side *side);
void tun_delete(struct rdvd *d, struct side *side);
int glue_link_stats(struct rdvd *d, int ifindex, uint64_t *rx_bytes);
int glue_event_fd(struct rdvd *d);
void glue_process_events(struct rdvd *d);

/* nft.c: forwarding and NAT in our own table */
int nft_setup(struct rdvd *d);
void nft_teardown(struct rdvd *d);
int nft_session_add(struct rdvd *d, const struct session *s);
void nft_session_del(struct rdvd *d, const struct session *s);

/* vtund.c */
int vtund_start(struct rdvd *d, struct session *s, enum side_idx i);
void vtund_stop(struct rdvd *d, struct side *side);
void vtund_kill_stale(const struct rdv_conf *conf);

/* relay.c: the relay data path */
int relay_init(struct rdvd *d);
void relay_fini(struct rdvd *d);
int relay_session_open(struct rdvd *d, struct session *s);
void relay_session_end(struct rdvd *d, struct session *s);
void relay_bytes(const struct session *s, uint64_t bytes[2]);
int relay_join(struct rdvd *d, struct session *s);
void session_relay_established(struct rdvd *d, struct session *s);

/* bus.c */
int bus_setup(struct rdvd *d);
void bus_release(struct rdvd *d);

/* status.c: the admin interface's read-only Status */
DBusMessage *bus_admin_status(struct rdvd *d, DBusMessage *m, struct device *unused);
