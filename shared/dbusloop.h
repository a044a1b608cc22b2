/* Runs a libdbus connection inside our poll loop (watches, timeouts, dispatch). */
#pragma once
#include <dbus/dbus.h>
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
