#include "dbusloop.h"
#include "log.h"
#include "rdv-dbus.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dl_watch {
	struct loop *loop;
	DBusConnection *conn;
	DBusWatch *watch;
	struct loop_fd *src;
};

struct dl_timeout {
	struct loop *loop;
	DBusTimeout *timeout;
	struct loop_timer *timer;
};

static void dispatch_all(DBusConnection *conn)
{
	while (dbus_connection_dispatch(conn) == DBUS_DISPATCH_DATA_REMAINS)
		;
}

static short watch_events(DBusWatch *w)
{
	unsigned flags = dbus_watch_get_flags(w);
	short ev = 0;

	if (!dbus_watch_get_enabled(w))
		return 0;
	if (flags & DBUS_WATCH_READABLE)
		ev |= POLLIN;
	if (flags & DBUS_WATCH_WRITABLE)
		ev |= POLLOUT;
	return ev;
}

static void on_watch(int fd, short revents, void *data)
{
	struct dl_watch *dw = data;
	DBusConnection *conn = dw->conn; /* dw may be freed while the watch is handled */
	unsigned flags = 0;

	(void)fd;
	if (revents & POLLIN)
		flags |= DBUS_WATCH_READABLE;
	if (revents & POLLOUT)
		flags |= DBUS_WATCH_WRITABLE;
	if (revents & POLLHUP)
		flags |= DBUS_WATCH_HANGUP;
	if (revents & POLLERR)
		flags |= DBUS_WATCH_ERROR;
	dbus_connection_ref(conn);
	dbus_watch_handle(dw->watch, flags);
	dispatch_all(conn);
	dbus_connection_unref(conn);
}

struct dl_ctx {
	struct loop *loop;
	DBusConnection *conn;
};

static dbus_bool_t add_watch(DBusWatch *w, void *data)
{
	struct dl_ctx *ctx = data;
	struct dl_watch *dw = calloc(1, sizeof(*dw));

	if (!dw)
		return FALSE;
	*dw = (struct dl_watch){ .loop = ctx->loop, .conn = ctx->conn, .watch = w };
	if (loop_add_fd(ctx->loop, dbus_watch_get_unix_fd(w), watch_events(w), on_watch, dw,
			&dw->src) < 0) {
		free(dw);
		return FALSE;
	}
	dbus_watch_set_data(w, dw, NULL);
	return TRUE;
}

static void remove_watch(DBusWatch *w, void *data)
{
	struct dl_watch *dw = dbus_watch_get_data(w);

	(void)data;
	if (!dw)
		return;
	loop_remove_fd(dw->loop, dw->src);
	dbus_watch_set_data(w, NULL, NULL);
	free(dw);
}

static void toggle_watch(DBusWatch *w, void *data)
{
	struct dl_watch *dw = dbus_watch_get_data(w);

	(void)data;
	if (dw)
		loop_fd_set_events(dw->src, watch_events(w));
}

static void on_timeout(void *data)
{
	struct dl_timeout *dt = data;

	/* libdbus timeouts repeat until removed; handling may remove and free dt,
	 * so the next round is armed first and dt not touched afterwards. */
	dt->timer = NULL;
	loop_add_timer(dt->loop, (uint64_t)dbus_timeout_get_interval(dt->timeout), on_timeout, dt,
		       &dt->timer);
	dbus_timeout_handle(dt->timeout);
}

static dbus_bool_t add_timeout(DBusTimeout *t, void *data)
{
	struct dl_ctx *ctx = data;
	struct dl_timeout *dt = calloc(1, sizeof(*dt));

	if (!dt)
		return FALSE;
	*dt = (struct dl_timeout){ .loop = ctx->loop, .timeout = t };
	if (dbus_timeout_get_enabled(t) &&
	    loop_add_timer(ctx->loop, (uint64_t)dbus_timeout_get_interval(t), on_timeout, dt,
			   &dt->timer) < 0) {
		free(dt);
		return FALSE;
	}
	dbus_timeout_set_data(t, dt, NULL);
	return TRUE;
}

static void remove_timeout(DBusTimeout *t, void *data)
{
	struct dl_timeout *dt = dbus_timeout_get_data(t);

	(void)data;
	if (!dt)
		return;
	loop_cancel_timer(dt->loop, dt->timer);
	dbus_timeout_set_data(t, NULL, NULL);
	free(dt);
}

static void toggle_timeout(DBusTimeout *t, void *data)
{
	struct dl_timeout *dt = dbus_timeout_get_data(t);

	(void)data;
	if (!dt)
		return;
	loop_cancel_timer(dt->loop, dt->timer);
	dt->timer = NULL;
	if (dbus_timeout_get_enabled(t))
		loop_add_timer(dt->loop, (uint64_t)dbus_timeout_get_interval(t), on_timeout, dt,
			       &dt->timer);
}

static void on_dispatch_timer(void *data)
{
	struct dl_ctx *ctx = data;

	dispatch_all(ctx->conn);
}

/* Messages read while we block in a call sit in the queue with no fd event. */
static void on_dispatch_status(DBusConnection *conn, DBusDispatchStatus status, void *data)
{
	struct dl_ctx *ctx = data;

	(void)conn;
	if (status == DBUS_DISPATCH_DATA_REMAINS)
		loop_add_timer(ctx->loop, 0, on_dispatch_timer, ctx, NULL);
}

int dbusloop_attach(DBusConnection *conn, struct loop *loop)
{
	struct dl_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return -ENOMEM;
	*ctx = (struct dl_ctx){ .loop = loop, .conn = conn };
	if (!dbus_connection_set_watch_functions(conn, add_watch, remove_watch, toggle_watch,
						 ctx, NULL) ||
	    !dbus_connection_set_timeout_functions(conn, add_timeout, remove_timeout,
						   toggle_timeout, ctx, free))
		return -ENOMEM;
	dbus_connection_set_dispatch_status_function(conn, on_dispatch_status, ctx, NULL);
	/* what arrived during blocking calls made before the loop took over */
	on_dispatch_status(conn, dbus_connection_get_dispatch_status(conn), ctx);
	return 0;
}

int dbus_service_start(struct loop *loop, const char *name, const char *path,
		       DBusObjectPathMessageFunction on_method, DBusHandleMessageFunction on_signal,
		       void *data, DBusConnection **out)
{
	DBusObjectPathVTable vtable = { .message_function = on_method };
	DBusConnection *bus;
	DBusError err;
	int r;

	dbus_error_init(&err);
	bus = dbus_bus_get_private(DBUS_BUS_SYSTEM, &err);
	if (!bus) {
		log_err("cannot connect to the system bus: %s", err.message);
		dbus_error_free(&err);
		return -ECONNREFUSED;
	}
	*out = bus;
	dbus_connection_set_exit_on_disconnect(bus, FALSE);
	dbus_bus_add_match(bus, "type='signal',sender='" DBUS_SERVICE_DBUS "',interface='"
				DBUS_INTERFACE_DBUS "',member='NameOwnerChanged'", &err);
	if (dbus_error_is_set(&err) || !dbus_connection_add_filter(bus, on_signal, data, NULL) ||
	    !dbus_connection_register_object_path(bus, path, &vtable, data)) {
		log_err("D-Bus setup failed: %s", dbus_error_is_set(&err) ? err.message : "out of memory");
		dbus_error_free(&err);
		return -EIO;
	}
	r = dbus_bus_request_name(bus, name, DBUS_NAME_FLAG_DO_NOT_QUEUE, &err);
	if (r != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
		log_err("cannot own %s on the system bus: %s", name,
			dbus_error_is_set(&err) ? err.message : "another instance is running");
		dbus_error_free(&err);
		return -EADDRINUSE;
	}
	return dbusloop_attach(bus, loop);
}

/* The one place where our errno values become D-Bus error names. */
static const char *errno_to_name(int err)
{
	switch (err) {
	case -EINVAL: return RDV_ERR_INVALID;
	case -ENOENT: return RDV_ERR_UNKNOWN_DEVICE;
	case -EBUSY: return RDV_ERR_BUSY;
	case -EACCES: return RDV_ERR_NOT_ALLOWED;
	case -EPERM: return RDV_ERR_ACCESS_DENIED;
	case -ENOSPC: return RDV_ERR_EXHAUSTED;
	case -ENOTCONN: return RDV_ERR_NOT_REGISTERED;
	case -ESRCH: return RDV_ERR_NO_SESSION;
	case -EOPNOTSUPP: return RDV_ERR_WRONG_ROLE;
	default: return RDV_ERR_FAILED;
	}
}

DBusMessage *dbus_reply_errno(DBusMessage *call, int err, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return dbus_message_new_error(call, errno_to_name(err), text);
}

static bool from_driver(DBusMessage *m)
{
	const char *sender = dbus_message_get_sender(m);

	return sender && !strcmp(sender, DBUS_SERVICE_DBUS);
}

/* The one reader of NameOwnerChanged: believed from the bus driver only. */
static bool owner_changed(DBusMessage *m, const char **name, const char **old, const char **new)
{
	return dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged") && from_driver(m) &&
	       dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, name, DBUS_TYPE_STRING, old,
				     DBUS_TYPE_STRING, new, DBUS_TYPE_INVALID);
}

bool bus_name_vanished(DBusMessage *m, const char **name)
{
	const char *old, *new;

	return owner_changed(m, name, &old, &new) && !*new;
}

bool bus_disconnected(DBusMessage *m)
{
	/* libdbus makes it itself, with no sender; the bus daemon stamps one on all it relays */
	return dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected") &&
	       !dbus_message_get_sender(m);
}

int bus_peer_follow(DBusConnection *bus, struct bus_peer *p, const char *name)
{
	DBusMessage *m = NULL, *r = NULL;
	const char *owner = "";
	char rule[320];
	DBusError err;
	int ret = 0;

	p->name = name;
	p->owner[0] = '\0';
	if (snprintf(rule, sizeof(rule), "type='signal',sender='" DBUS_SERVICE_DBUS "',interface='"
		     DBUS_INTERFACE_DBUS "',member='NameOwnerChanged',arg0='%s'", name) >=
	    (int)sizeof(rule))
		return -ENAMETOOLONG;
	dbus_error_init(&err);
	/* subscribed first: every change after the answer below reaches us, in order */
	dbus_bus_add_match(bus, rule, &err);
	if (!dbus_error_is_set(&err)) {
		m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
						 "GetNameOwner");
		if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
			ret = -ENOMEM;
		else
			r = dbus_connection_send_with_reply_and_block(bus, m, 10000, &err);
	}
	if (r && dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &owner, DBUS_TYPE_INVALID))
		snprintf(p->owner, sizeof(p->owner), "%s", owner);
	else if (!ret && !dbus_error_has_name(&err, DBUS_ERROR_NAME_HAS_NO_OWNER))
		ret = -EIO; /* no owner yet is fine: the first NameOwnerChanged tells */
	if (ret < 0)
		log_err("cannot follow %s on the bus: %s", name,
			dbus_error_is_set(&err) ? err.message : "out of memory");
	dbus_error_free(&err);
	if (m)
		dbus_message_unref(m);
	if (r)
		dbus_message_unref(r);
	return ret;
}

bool bus_peer_update(struct bus_peer *p, DBusMessage *m)
{
	const char *name, *old, *new;
	bool gone;

	if (!p->name || !owner_changed(m, &name, &old, &new) || strcmp(name, p->name))
		return false;
	gone = p->owner[0] && strcmp(new, p->owner);
	snprintf(p->owner, sizeof(p->owner), "%s", new);
	return gone;
}

bool bus_peer_signal(const struct bus_peer *p, DBusMessage *m, const char *iface, const char *member)
{
	const char *sender = dbus_message_get_sender(m);

	return dbus_message_is_signal(m, iface, member) && sender && p->owner[0] &&
	       !strcmp(sender, p->owner);
}
