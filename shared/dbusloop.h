/* Runs a libdbus connection inside our poll loop (watches, timeouts, dispatch). */
#pragma once
#include <dbus/dbus.h>
#include <stdbool.h>
#include "loop.h"

int dbusloop_attach(DBusConnection *conn, struct loop *loop);
/*
 * A daemon's service on the system bus: owns name, serves path with
 * on_method, sees every NameOwnerChanged in on_signal (who went away), and
 * runs in the loop. The connection is private: close and unref it at exit.
 */
int dbus_service_start(struct loop *loop, const char *name, const char *path,
		       DBusObjectPathMessageFunction on_method, DBusHandleMessageFunction on_signal,
		       void *data, DBusConnection **out);
/* Map a negative errno to a D-Bus error reply with our error names. */
DBusMessage *dbus_reply_errno(DBusMessage *call, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Who a bus signal is believed from. Match rules only filter broadcasts:
 * any local account can address a signal of any name, with any arguments,
 * to our unique name. So every signal we act on goes through these, which
 * check the sender the bus daemon stamped on it (a client cannot forge that).
 */

/* A NameOwnerChanged from the bus driver itself saying name now has no owner. */
bool bus_name_vanished(DBusMessage *m, const char **name);
/* libdbus's own "connection lost" message, not one a peer sent. */
bool bus_disconnected(DBusMessage *m);

/* The current unique owner of a well-known name, followed as it changes. */
struct bus_peer {
	const char *name;  /* the well-known name */
	char owner[256];   /* its unique name; "" while it has none */
};
/* Subscribes to the name's owner changes and learns its owner now. */
int bus_peer_follow(DBusConnection *bus, struct bus_peer *p, const char *name);
/* Feeds every message to the follower; true once the owner we knew is gone
 * (stopped, or replaced by another process). */
bool bus_peer_update(struct bus_peer *p, DBusMessage *m);
/* m is the signal iface.member, sent by the name's current owner. */
bool bus_peer_signal(const struct bus_peer *p, DBusMessage *m, const char *iface,
		     const char *member);
