/* Runs a libdbus connection inside our poll loop (watches, timeouts, dispatch). */
#pragma once
#include <dbus/dbus.h>
#include "loop.h"

int dbusloop_attach(DBusConnection *conn, struct loop *loop);
/* Map a negative errno to a D-Bus error reply with our error names. */
DBusMessage *dbus_reply_errno(DBusMessage *call, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
