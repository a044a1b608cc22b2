/*
 * Test tool: what a hostile device account can do without rdv-shell. On one
 * bus connection it registers with rdvd, then calls METHOD with the given
 * strings (SetDnsServers: all of them as one array; else the first one).
 * Prints the reply or the error; exit 0 on a reply, 1 on an error.
 *   dbus-as-device METHOD [ARG...]
 */
#include <dbus/dbus.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "rdv-dbus.h"

static DBusMessage *call(DBusConnection *bus, const char *method, int argc, char **argv,
			 DBusError *err)
{
	DBusMessage *m = dbus_message_new_method_call(RDV_BUS_NAME, RDV_OBJECT_PATH, RDV_IFACE, method);
	DBusMessage *reply = NULL;
	bool ok = m != NULL;

	if (ok && !strcmp(method, "SetDnsServers"))
		ok = dbus_message_append_args(m, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING, &argv, argc,
					      DBUS_TYPE_INVALID);
	else if (ok && argc > 0)
		ok = dbus_message_append_args(m, DBUS_TYPE_STRING, &argv[0], DBUS_TYPE_INVALID);
	if (ok)
		reply = dbus_connection_send_with_reply_and_block(bus, m, 10000, err);
	if (m)
		dbus_message_unref(m);
	return reply;
}

int main(int argc, char **argv)
{
	DBusConnection *bus;
	DBusMessage *reply;
	DBusError err;
	int rc = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: dbus-as-device METHOD [ARG...]\n");
		return 2;
	}
	dbus_error_init(&err);
	bus = dbus_bus_get_private(DBUS_BUS_SYSTEM, &err);
	if (!bus) {
		printf("error: %s\n", err.message);
		return 1;
	}
	reply = call(bus, "Register", 0, NULL, &err);
	if (reply) {
		dbus_message_unref(reply);
		reply = call(bus, argv[1], argc - 2, argv + 2, &err);
	}
	if (reply) {
		printf("reply\n");
		dbus_message_unref(reply);
		rc = 0;
	} else {
		printf("error %s: %s\n", err.name ? err.name : "?", err.message ? err.message : "?");
	}
	dbus_error_free(&err);
	dbus_connection_close(bus);
	dbus_connection_unref(bus);
	return rc;
}
