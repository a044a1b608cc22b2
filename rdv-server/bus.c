/*
 * rdvd's D-Bus API. Who calls is what the bus says: a device is the UNIX
 * account behind the caller's connection, and its role is the account's
 * group. No argument naming a device is ever taken as the caller's identity.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dbusloop.h"
#include "log.h"
#include "rdv-dbus.h"
#include "rdvd.h"
#include "util.h"

enum need { NEED_NOTHING, NEED_DEVICE, NEED_MASTER, NEED_ONSITE, NEED_ROOT };

typedef DBusMessage *(*handler_fn)(struct rdvd *d, DBusMessage *m, struct device *dev);

struct method {
	const char *iface;
	const char *name;
	const char *sig;
	enum need need;
	handler_fn fn;
};

static DBusMessage *ok(DBusMessage *m) { return dbus_message_new_method_return(m); }

static DBusMessage *reply_string(DBusMessage *m, const char *v)
{
	DBusMessage *r = ok(m);

	if (r)
		dbus_message_append_args(r, DBUS_TYPE_STRING, &v, DBUS_TYPE_INVALID);
	return r;
}

static const char *arg_string(DBusMessage *m)
{
	const char *v = NULL;

	dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &v, DBUS_TYPE_INVALID);
	return v ? v : "";
}

static DBusMessage *m_register(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	const char *sender = dbus_message_get_sender(m);
	unsigned long uid, pid = 0;
	char why[160];
	DBusError err;
	int r;

	(void)dev;
	dbus_error_init(&err);
	uid = dbus_bus_get_unix_user(d->bus, sender, &err);
	if (dbus_error_is_set(&err)) {
		log_warn("register from %s refused: cannot learn its uid: %s", sender, err.message);
		dbus_error_free(&err);
		return dbus_reply_errno(m, -EPERM, "cannot tell who you are");
	}
	{
		/* the pid lets an admin's kick end the device's SSH login */
		DBusMessage *q = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
							      DBUS_INTERFACE_DBUS,
							      "GetConnectionUnixProcessID");
		DBusMessage *a = NULL;
		if (q && dbus_message_append_args(q, DBUS_TYPE_STRING, &sender, DBUS_TYPE_INVALID))
			a = dbus_connection_send_with_reply_and_block(d->bus, q, 2000, &err);
		if (a) {
			dbus_uint32_t p = 0;
			dbus_message_get_args(a, NULL, DBUS_TYPE_UINT32, &p, DBUS_TYPE_INVALID);
			pid = p;
			dbus_message_unref(a);
		}
		if (q)
			dbus_message_unref(q);
		dbus_error_free(&err);
	}
	r = device_online(d, sender, (uid_t)uid, (pid_t)pid, &dev, why, sizeof(why));
	if (r < 0) {
		log_warn("register from uid %lu refused: %s", uid, why);
		return dbus_reply_errno(m, r, "%s", why);
	}
	return reply_string(m, role_name(dev->role));
}

static DBusMessage *m_set_lan(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	const char *v = arg_string(m);
	struct cidr4 c;

	(void)d;
	if (cidr4_parse(v, &c) < 0 || c.prefix < 1 || c.prefix > 32 || c.addr == 0) {
		log_warn("device %s: bad LAN address \"%.40s\"", dev->name, v);
		return dbus_reply_errno(m, -EINVAL, "'%.40s' is not an address with prefix, e.g. 192.168.1.10/24", v);
	}
	dev->lan = c;
	dev->has_lan = true;
	log_info("device %s: LAN address %s", dev->name, v);
	return ok(m);
}

static DBusMessage *m_set_dns(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	char **list = NULL;
	int n = 0;
	uint32_t addrs[MAX_DNS];

	(void)d;
	if (!dbus_message_get_args(m, NULL, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING, &list, &n,
				   DBUS_TYPE_INVALID))
		return dbus_reply_errno(m, -EINVAL, "expected a list of addresses");
	if (n > MAX_DNS) {
		dbus_free_string_array(list);
		return dbus_reply_errno(m, -EINVAL, "at most %d DNS servers", MAX_DNS);
	}
	for (int i = 0; i < n; i++) {
		if (ip4_parse(list[i], &addrs[i]) < 0) {
			DBusMessage *e = dbus_reply_errno(m, -EINVAL, "'%.40s' is not an IPv4 address", list[i]);
			log_warn("device %s: bad DNS server \"%.40s\"", dev->name, list[i]);
			dbus_free_string_array(list);
			return e;
		}
	}
	memcpy(dev->dns, addrs, sizeof(addrs[0]) * (size_t)n);
	dev->n_dns = (unsigned)n;
	dbus_free_string_array(list);
	return ok(m);
}

static DBusMessage *m_set_hostname(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	const char *v = arg_string(m);

	(void)d;
	if (!hostname_valid(v))
		return dbus_reply_errno(m, -EINVAL, "'%.70s' is not a host name (letters, digits, '-', '.', '_', at most %d)", v, HOSTNAME_MAX);
	strcpy(dev->hostname, v);
	return ok(m);
}

static DBusMessage *m_set_uplink(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	const char *v = arg_string(m);

	(void)d;
	if (strcmp(v, "lan") && strcmp(v, "wlan") && strcmp(v, "3g") && strcmp(v, "other"))
		return dbus_reply_errno(m, -EINVAL, "'%.20s' is not an uplink type (lan, wlan, 3g, other)", v);
	strcpy(dev->uplink, v);
	return ok(m);
}

/* New devices announce they can attach to the relay data path; old ones never do. */
static DBusMessage *m_set_data_path(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	const char *v = arg_string(m);

	(void)d;
	if (strcmp(v, "relay") && strcmp(v, "classic"))
		return dbus_reply_errno(m, -EINVAL, "'%.20s' is not a data path (relay, classic)", v);
	dev->relay = !strcmp(v, "relay");
	log_info("%s %s: data path %s", role_name(dev->role), dev->name, v);
	return ok(m);
}

static DBusMessage *m_set_mode(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	const char *v = arg_string(m);

	(void)d;
	(void)dev;
	if (strcmp(v, "L3"))
		return dbus_reply_errno(m, -EINVAL, "tunnel mode '%.20s' is not supported (only L3)", v);
	return ok(m);
}

static DBusMessage *m_get_mode(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	(void)d;
	(void)dev;
	return reply_string(m, "L3");
}

static void on_wait_timeout(void *data)
{
	struct device *dev = data;

	dev->wait_timer = NULL;
	device_wake(dev->rdvd, dev, false);
}

/* Answered later: when a master picks this device, or after the bounded wait. */
static DBusMessage *m_wait_master(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	dbus_bool_t ready = TRUE;
	DBusMessage *r;

	if (dev->picked && dev->session) {
		dev->picked = false;
		r = ok(m);
		if (r)
			dbus_message_append_args(r, DBUS_TYPE_BOOLEAN, &ready, DBUS_TYPE_INVALID);
		return r;
	}
	if (dev->pending_wait)
		return dbus_reply_errno(m, -EBUSY, "already waiting for a master");
	if (loop_add_timer(d->loop, d->conf.wait_master_timeout * 1000ull, on_wait_timeout, dev,
			   &dev->wait_timer) < 0)
		return dbus_reply_errno(m, -ENOMEM, "out of memory");
	dev->pending_wait = dbus_message_ref(m);
	return NULL;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct device *const *)a)->name, (*(struct device *const *)b)->name);
}

/* Online onsite devices this caller may see, sorted by name; the caller frees. */
static struct device **visible_onsite(struct rdvd *d, const struct device *master, size_t *n)
{
	size_t count = 0, i = 0;
	struct device **v;

	for (struct device *dev = d->devices; dev; dev = dev->next)
		count++;
	v = calloc(count + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (struct device *dev = d->devices; dev; dev = dev->next)
		if (dev->role == ROLE_ONSITE && (!master || acl_allows(&d->conf, master->name, dev->name)))
			v[i++] = dev;
	qsort(v, i, sizeof(*v), by_name);
	*n = i;
	return v;
}

static void append_device(DBusMessageIter *arr, const struct device *dev)
{
	DBusMessageIter st;
	char lan[20] = "", dns[MAX_DNS * 16 + 1] = "";
	const char *name = dev->name, *host = dev->hostname, *lanp = lan, *up = dev->uplink;
	const char *role = role_name(dev->role), *dnsp = dns;
	dbus_bool_t busy = dev->session != NULL;
	dbus_int64_t since = (dbus_int64_t)dev->online_since;

	if (dev->has_lan)
		cidr4_format(&dev->lan, lan, sizeof(lan));
	for (unsigned i = 0; i < dev->n_dns; i++) {
		char ip[16];
		ip4_format(dev->dns[i], ip, sizeof(ip));
		if (i)
			strcat(dns, " ");
		strcat(dns, ip);
	}
	dbus_message_iter_open_container(arr, DBUS_TYPE_STRUCT, NULL, &st);
	dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &name);
	dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &role);
	dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &host);
	dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &lanp);
	dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &up);
	dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &dnsp);
	dbus_message_iter_append_basic(&st, DBUS_TYPE_BOOLEAN, &busy);
	dbus_message_iter_append_basic(&st, DBUS_TYPE_INT64, &since);
	dbus_message_iter_close_container(arr, &st);
}

#define DEVICE_SIG "(ssssssbx)"

static DBusMessage *device_list(DBusMessage *m, struct device **v, size_t n)
{
	DBusMessage *r = ok(m);
	DBusMessageIter it, arr;

	if (!r)
		return NULL;
	dbus_message_iter_init_append(r, &it);
	dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, DEVICE_SIG, &arr);
	for (size_t i = 0; i < n; i++)
		append_device(&arr, v[i]);
	dbus_message_iter_close_container(&it, &arr);
	return r;
}

static DBusMessage *m_list_onsite(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	size_t n = 0;
	struct device **v = visible_onsite(d, dev, &n);
	DBusMessage *r;

	if (!v)
		return dbus_reply_errno(m, -ENOMEM, "out of memory");
	r = device_list(m, v, n);
	free(v);
	return r;
}

static DBusMessage *m_connect(struct rdvd *d, DBusMessage *m, struct device *master)
{
	const char *id = arg_string(m);
	struct device *onsite;
	struct session *s;
	int r;

	if (!device_name_valid(id))
		return dbus_reply_errno(m, -EINVAL, "'%.40s' is not a device name", id);
	if (!limits_attempt_allowed(d, master->uid)) {
		log_warn("device %s: connect to %s refused: more than %u session attempts in %u s",
			 master->name, id, d->conf.connect_attempts, d->conf.connect_window);
		return dbus_reply_errno(m, -EAGAIN, "too many session attempts: at most %u in %u s",
				       d->conf.connect_attempts, d->conf.connect_window);
	}
	if (master->session) {
		log_warn("device %s: connect to %s refused: already in session %u", master->name, id,
			 master->session->id);
		return dbus_reply_errno(m, -EBUSY, "already in a session (drop_vtun first)");
	}
	if (!acl_allows(&d->conf, master->name, id)) {
		log_warn("device %s: connect to %s refused: not in its access list", master->name, id);
		return dbus_reply_errno(m, -EACCES, "%s: not allowed for %s", id, master->name);
	}
	onsite = device_by_name(d, id);
	if (!onsite || onsite->role != ROLE_ONSITE) {
		log_warn("device %s: connect to %s refused: no such onsite device online",
			 master->name, id);
		return dbus_reply_errno(m, -ENOENT, "%s: unknown or offline onsite device", id);
	}
	if (onsite->session) {
		log_warn("device %s: connect to %s refused: busy in session %u", master->name, id,
			 onsite->session->id);
		return dbus_reply_errno(m, -EBUSY, "%s: busy in another session", id);
	}
	r = session_open(d, master, onsite, &s);
	if (r == -ENOSPC) {
		log_err("device %s: connect to %s failed: tunnel address pool exhausted", master->name, id);
		return dbus_reply_errno(m, r, "no tunnel addresses left on the RDV server");
	}
	if (r < 0)
		return dbus_reply_errno(m, r, "cannot open the session: %s", strerror(-r));
	return ok(m);
}

static void dict_add(DBusMessageIter *arr, const char *key, const char *value)
{
	DBusMessageIter e;

	dbus_message_iter_open_container(arr, DBUS_TYPE_DICT_ENTRY, NULL, &e);
	dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key);
	dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &value);
	dbus_message_iter_close_container(arr, &e);
}

static DBusMessage *m_vtun_params(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	struct session *s = dev->session;
	const struct side *side;
	enum side_idx i;
	char net[16], mask[16], devip[16], rdvip[16], port[8];
	DBusMessageIter it, arr;
	DBusMessage *r;

	(void)d;
	if (!s)
		return dbus_reply_errno(m, -ESRCH, "no session: %s",
				       dev->role == ROLE_MASTER ? "connect_to_onsite_dev first"
								: "no master picked this device");
	i = dev->role == ROLE_MASTER ? SIDE_MASTER : SIDE_ONSITE;
	side = &s->side[i];
	ip4_format(side->net, net, sizeof(net));
	ip4_format(prefix_to_mask(30), mask, sizeof(mask));
	/* relay: the /30 joins the two devices, master .1 and onsite .2; the
	 * "RDV end" of each is then the other device */
	ip4_format(side->net + (s->relay ? (i == SIDE_MASTER ? 1 : 2) : 2), devip, sizeof(devip));
	ip4_format(side->net + (s->relay ? (i == SIDE_MASTER ? 2 : 1) : 1), rdvip, sizeof(rdvip));
	snprintf(port, sizeof(port), "%u", side->port);
	r = ok(m);
	if (!r)
		return NULL;
	dbus_message_iter_init_append(r, &it);
	dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{ss}", &arr);
	dict_add(&arr, "tunnel_ip_network", net);
	dict_add(&arr, "tunnel_ip_prefix", "/30");
	dict_add(&arr, "tunnel_ip_netmask", mask);
	dict_add(&arr, "tunnelling_dev_ip_address", devip);
	dict_add(&arr, "rdv_server_ip_address", rdvip);
	dict_add(&arr, "rdv_server_vtun_tcp_port", port);
	dict_add(&arr, "tunnel_secret", side->secret);
	dict_add(&arr, "tunnel_session_name", s->relay ? s->vtun_name : side->ifname);
	if (s->relay) {
		dict_add(&arr, "data_path", "relay");
		dict_add(&arr, "data_ticket", s->rs[i].ticket);
		dict_add(&arr, "vtun_role", i == SIDE_MASTER ? "server" : "client");
	}
	dbus_message_iter_close_container(&it, &arr);
	return r;
}

static DBusMessage *m_remote_config(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	struct device *peer;
	struct device *v[1];

	(void)d;
	if (!dev->session)
		return dbus_reply_errno(m, -ESRCH, "no session: connect_to_onsite_dev first");
	peer = dev->session->side[SIDE_ONSITE].dev;
	v[0] = peer;
	return device_list(m, v, 1);
}

/* Answered when the caller's session ends, with the reason. */
static DBusMessage *m_wait_end(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	(void)d;
	if (!dev->session)
		return dbus_reply_errno(m, -ESRCH, "no session");
	if (dev->pending_end)
		return dbus_reply_errno(m, -EBUSY, "already waiting for the end of the session");
	dev->pending_end = dbus_message_ref(m);
	return NULL;
}

static DBusMessage *m_drop(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	const char *why = arg_string(m);
	char reason[300];

	for (const char *p = why; *p; p++)
		if (*p < ' ' || *p > '~' || p - why >= 200)
			return dbus_reply_errno(m, -EINVAL, "the reason must be printable text of at most 200 bytes");
	if (dev->session) {
		snprintf(reason, sizeof(reason), "dropped by %s %s%s%s", role_name(dev->role), dev->name,
			 *why ? ": " : "", why);
		session_end(d, dev->session, reason);
	}
	return ok(m);
}

static DBusMessage *m_admin_devices(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	size_t n = 0;
	struct device **v;
	DBusMessage *r;

	(void)dev;
	for (struct device *x = d->devices; x; x = x->next)
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return dbus_reply_errno(m, -ENOMEM, "out of memory");
	n = 0;
	for (struct device *x = d->devices; x; x = x->next)
		v[n++] = x;
	qsort(v, n, sizeof(*v), by_name);
	r = device_list(m, v, n);
	free(v);
	return r;
}

static DBusMessage *m_admin_sessions(struct rdvd *d, DBusMessage *m, struct device *dev)
{
	DBusMessage *r = ok(m);
	DBusMessageIter it, arr, st;

	(void)dev;
	if (!r)
		return NULL;
	dbus_message_iter_init_append(r, &it);
	dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "(usssxtts)", &arr);
	for (struct session *s = d->sessions; s; s = s->next) {
		const char *mn = s->side[SIDE_MASTER].dev->name, *on = s->side[SIDE_ONSITE].dev->name;
		const char *state = s->glued ? "established" : "starting";
		dbus_uint32_t id = s->id;
		dbus_int64_t started = (dbus_int64_t)s->started;
		dbus_uint64_t up = 0, down = 0;
		const char *path = s->relay ? "relay" : "classic";
		uint64_t relayed[2];
		if (s->relay) {
			relay_bytes(s, relayed);
			up = relayed[0];
			down = relayed[1];
		}
		if (s->side[SIDE_MASTER].ifindex > 0)
			glue_link_stats(d, s->side[SIDE_MASTER].ifindex, &up);
		if (s->side[SIDE_ONSITE].ifindex > 0)
			glue_link_stats(d, s->side[SIDE_ONSITE].ifindex, &down);
		dbus_message_iter_open_container(&arr, DBUS_TYPE_STRUCT, NULL, &st);
		dbus_message_iter_append_basic(&st, DBUS_TYPE_UINT32, &id);
		dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &mn);
		dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &on);
		dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &state);
		dbus_message_iter_append_basic(&st, DBUS_TYPE_INT64, &started);
		dbus_message_iter_append_basic(&st, DBUS_TYPE_UINT64, &up);
		dbus_message_iter_append_basic(&st, DBUS_TYPE_UINT64, &down);
		dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &path);
		dbus_message_iter_close_container(&arr, &st);
	}
	dbus_message_iter_close_container(&it, &arr);
	return r;
}

static DBusMessage *m_admin_kick(struct rdvd *d, DBusMessage *m, struct device *unused)
{
	const char *id = arg_string(m);
	struct device *dev;

	(void)unused;
	if (!device_name_valid(id))
		return dbus_reply_errno(m, -EINVAL, "'%.40s' is not a device name", id);
	dev = device_by_name(d, id);
	if (!dev)
		return dbus_reply_errno(m, -ENOENT, "%s is not online", id);
	/* ends its SSH login; a kicked device reconnects by itself later */
	device_kick(d, dev, dbus_message_has_member(m, "Revoke") ? "account deleted by the administrator"
								 : "kicked by the administrator");
	return ok(m);
}

static const struct method methods[] = {
	{ RDV_IFACE, "Register", "", NEED_NOTHING, m_register },
	{ RDV_IFACE, "SetLanAddress", "s", NEED_DEVICE, m_set_lan },
	{ RDV_IFACE, "SetDnsServers", "as", NEED_DEVICE, m_set_dns },
	{ RDV_IFACE, "SetHostname", "s", NEED_DEVICE, m_set_hostname },
	{ RDV_IFACE, "SetUplinkType", "s", NEED_ONSITE, m_set_uplink },
	{ RDV_IFACE, "SetTunnelMode", "s", NEED_MASTER, m_set_mode },
	{ RDV_IFACE, "SetDataPath", "s", NEED_DEVICE, m_set_data_path },
	{ RDV_IFACE, "GetTunnelMode", "", NEED_DEVICE, m_get_mode },
	{ RDV_IFACE, "WaitMaster", "", NEED_ONSITE, m_wait_master },
	{ RDV_IFACE, "ListOnsite", "", NEED_MASTER, m_list_onsite },
	{ RDV_IFACE, "Connect", "s", NEED_MASTER, m_connect },
	{ RDV_IFACE, "GetVtunParameters", "", NEED_DEVICE, m_vtun_params },
	{ RDV_IFACE, "GetRemoteConfig", "", NEED_MASTER, m_remote_config },
	{ RDV_IFACE, "DropVtun", "s", NEED_DEVICE, m_drop },
	{ RDV_IFACE, "WaitSessionEnd", "", NEED_DEVICE, m_wait_end },
	{ RDV_ADMIN_IFACE, "ListDevices", "", NEED_ROOT, m_admin_devices },
	{ RDV_ADMIN_IFACE, "ListSessions", "", NEED_ROOT, m_admin_sessions },
	{ RDV_ADMIN_IFACE, "Kick", "s", NEED_ROOT, m_admin_kick },
	{ RDV_ADMIN_IFACE, "Revoke", "s", NEED_ROOT, m_admin_kick },
	{ RDV_ADMIN_IFACE, "Status", "", NEED_ROOT, bus_admin_status },
};

static const char introspection[] =
	DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE
	"<node>\n"
	" <interface name=\"" RDV_IFACE "\">\n"
	"  <method name=\"Register\"><arg direction=\"out\" type=\"s\" name=\"role\"/></method>\n"
	"  <method name=\"SetLanAddress\"><arg type=\"s\" name=\"cidr\"/></method>\n"
	"  <method name=\"SetDnsServers\"><arg type=\"as\" name=\"servers\"/></method>\n"
	"  <method name=\"SetHostname\"><arg type=\"s\" name=\"hostname\"/></method>\n"
	"  <method name=\"SetUplinkType\"><arg type=\"s\" name=\"type\"/></method>\n"
	"  <method name=\"SetTunnelMode\"><arg type=\"s\" name=\"mode\"/></method>\n"
	"  <method name=\"SetDataPath\"><arg type=\"s\" name=\"path\"/></method>\n"
	"  <method name=\"GetTunnelMode\"><arg direction=\"out\" type=\"s\" name=\"mode\"/></method>\n"
	"  <method name=\"WaitMaster\"><arg direction=\"out\" type=\"b\" name=\"ready\"/></method>\n"
	"  <method name=\"ListOnsite\"><arg direction=\"out\" type=\"a" DEVICE_SIG "\" name=\"devices\"/></method>\n"
	"  <method name=\"Connect\"><arg type=\"s\" name=\"onsite\"/></method>\n"
	"  <method name=\"GetVtunParameters\"><arg direction=\"out\" type=\"a{ss}\" name=\"params\"/></method>\n"
	"  <method name=\"GetRemoteConfig\"><arg direction=\"out\" type=\"a" DEVICE_SIG "\" name=\"onsite\"/></method>\n"
	"  <method name=\"DropVtun\"><arg type=\"s\" name=\"reason\"/></method>\n"
	"  <method name=\"WaitSessionEnd\"><arg direction=\"out\" type=\"s\" name=\"reason\"/></method>\n"
	" </interface>\n"
	" <interface name=\"" RDV_ADMIN_IFACE "\">\n"
	"  <method name=\"ListDevices\"><arg direction=\"out\" type=\"a" DEVICE_SIG "\" name=\"devices\"/></method>\n"
	"  <method name=\"ListSessions\"><arg direction=\"out\" type=\"a(usssxtts)\" name=\"sessions\"/></method>\n"
	"  <method name=\"Kick\"><arg type=\"s\" name=\"device\"/></method>\n"
	"  <method name=\"Revoke\"><arg type=\"s\" name=\"device\"/></method>\n"
	"  <method name=\"Status\"><arg direction=\"out\" type=\"u\" name=\"pool_used\"/>"
	"<arg direction=\"out\" type=\"u\" name=\"pool_size\"/><arg direction=\"out\" type=\"u\" name=\"sessions\"/>"
	"<arg direction=\"out\" type=\"u\" name=\"devices\"/><arg direction=\"out\" type=\"a(uuss)\" name=\"ports\"/></method>\n"
	" </interface>\n"
	" <interface name=\"org.freedesktop.DBus.Introspectable\">\n"
	"  <method name=\"Introspect\"><arg direction=\"out\" type=\"s\"/></method>\n"
	" </interface>\n"
	"</node>\n";

static DBusMessage *wrong_role(DBusMessage *m, const struct method *me)
{
	return dbus_reply_errno(m, -EOPNOTSUPP, "%s is for %s devices only", me->name,
			       me->need == NEED_MASTER ? "master" : "onsite");
}

/* Says which is wrong first: the caller's role (from its account), or that it must register. */
static DBusMessage *unregistered_caller(struct rdvd *d, DBusMessage *m, const struct method *me)
{
	DBusError err;
	unsigned long uid;
	enum role role;
	char name[32], why[160];

	dbus_error_init(&err);
	uid = dbus_bus_get_unix_user(d->bus, dbus_message_get_sender(m), &err);
	if (dbus_error_is_set(&err)) {
		dbus_error_free(&err);
		return dbus_reply_errno(m, -EPERM, "cannot tell who you are");
	}
	if (role_of_uid(&d->conf, (uid_t)uid, name, sizeof(name), &role, why, sizeof(why)) < 0)
		return dbus_reply_errno(m, -EPERM, "%s", why);
	if ((me->need == NEED_MASTER && role != ROLE_MASTER) ||
	    (me->need == NEED_ONSITE && role != ROLE_ONSITE))
		return wrong_role(m, me);
	return dbus_reply_errno(m, -ENOTCONN, "not registered: call Register first");
}

static DBusMessage *check_caller(struct rdvd *d, DBusMessage *m, const struct method *me,
				 struct device **devp)
{
	const char *sender = dbus_message_get_sender(m);
	struct device *dev;
	DBusError err;
	unsigned long uid;

	*devp = NULL;
	if (me->need == NEED_NOTHING)
		return NULL;
	if (me->need == NEED_ROOT) {
		dbus_error_init(&err);
		uid = dbus_bus_get_unix_user(d->bus, sender, &err);
		if (dbus_error_is_set(&err) || uid != 0) {
			dbus_error_free(&err);
			log_warn("%s.%s from %s refused: not root", me->iface, me->name, sender);
			return dbus_reply_errno(m, -EPERM, "administrators only");
		}
		return NULL;
	}
	dev = device_by_bus_name(d, sender);
	if (!dev)
		return unregistered_caller(d, m, me);
	if ((me->need == NEED_MASTER && dev->role != ROLE_MASTER) ||
	    (me->need == NEED_ONSITE && dev->role != ROLE_ONSITE))
		return wrong_role(m, me);
	*devp = dev;
	return NULL;
}

static DBusHandlerResult on_method(DBusConnection *conn, DBusMessage *m, void *data)
{
	struct rdvd *d = data;
	DBusMessage *reply = NULL;
	struct device *dev;

	if (dbus_message_is_method_call(m, "org.freedesktop.DBus.Introspectable", "Introspect")) {
		reply = reply_string(m, introspection);
		goto send;
	}
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
		const struct method *me = &methods[i];
		if (!dbus_message_is_method_call(m, me->iface, me->name))
			continue;
		if (!dbus_message_has_signature(m, me->sig)) {
			reply = dbus_message_new_error_printf(m, DBUS_ERROR_INVALID_ARGS,
							      "%s takes (%s)", me->name, me->sig);
			goto send;
		}
		reply = check_caller(d, m, me, &dev);
		if (!reply)
			reply = me->fn(d, m, dev);
		goto send;
	}
	if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	reply = dbus_message_new_error_printf(m, DBUS_ERROR_UNKNOWN_METHOD, "no method %s",
					      dbus_message_get_member(m));
send:
	if (reply) {
		dbus_connection_send(conn, reply, NULL);
		dbus_message_unref(reply);
	}
	return DBUS_HANDLER_RESULT_HANDLED;
}

/* A device is online exactly as long as its shell's bus connection. */
static DBusHandlerResult on_signal(DBusConnection *conn, DBusMessage *m, void *data)
{
	struct rdvd *d = data;
	const char *name;
	struct device *dev;

	(void)conn;
	if (!bus_name_vanished(m, &name) || name[0] != ':')
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	dev = device_by_bus_name(d, name);
	if (dev)
		device_offline(d, dev, "device shell disconnected");
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

int bus_setup(struct rdvd *d)
{
	return dbus_service_start(d->loop, RDV_BUS_NAME, RDV_OBJECT_PATH, on_method, on_signal, d,
				  &d->bus);
}

void bus_release(struct rdvd *d)
{
	if (!d->bus)
		return;
	dbus_connection_close(d->bus);
	dbus_connection_unref(d->bus);
	d->bus = NULL;
}
