/* rdvctl: the RDV administrator's command. */
#define _GNU_SOURCE
#include <dbus/dbus.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "rdv-dbus.h"
#include "rdvctl.h"
#include "util.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: rdvctl [-c CONFIG] COMMAND\n"
		"  account add NAME --role onsite|master (--key 'TYPE BASE64' | --key-file PATH)\n"
		"  account del NAME\n"
		"  account list\n"
		"  devices            online devices, with what they announced\n"
		"  sessions           sessions under way\n"
		"  status             tunnel address pool and vtund ports in use\n"
		"  kick DEVICE        end a device's session and log it out\n");
}

/* One call to rdvd's admin interface; NULL with err set when it failed. */
static DBusMessage *admin_call_err(const char *method, const char *arg, DBusError *err)
{
	DBusConnection *bus;
	DBusMessage *m, *reply = NULL;

	bus = dbus_bus_get_private(DBUS_BUS_SYSTEM, err);
	if (!bus)
		return NULL;
	m = dbus_message_new_method_call(RDV_BUS_NAME, RDV_OBJECT_PATH, RDV_ADMIN_IFACE, method);
	if (m && (!arg || dbus_message_append_args(m, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID)))
		reply = dbus_connection_send_with_reply_and_block(bus, m, 10000, err);
	else
		dbus_set_error_const(err, DBUS_ERROR_NO_MEMORY, "out of memory");
	if (m)
		dbus_message_unref(m);
	dbus_connection_close(bus);
	dbus_connection_unref(bus);
	return reply;
}

static DBusMessage *admin_call(const char *method, const char *arg)
{
	DBusMessage *reply;
	DBusError err;

	dbus_error_init(&err);
	reply = admin_call_err(method, arg, &err);
	if (!reply)
		fprintf(stderr, "rdvctl: %s: %s\n", method, err.message ? err.message : "failed");
	dbus_error_free(&err);
	return reply;
}

/* Ends a deleted account's login and session at once: 0, or 1 if rdvd could not be told. */
int admin_revoke(const char *name)
{
	DBusMessage *reply;
	DBusError err;
	int r = 0;

	dbus_error_init(&err);
	reply = admin_call_err("Revoke", name, &err);
	if (reply) {
		printf("%s: logged out, its session ended\n", name);
		dbus_message_unref(reply);
	} else if (!dbus_error_has_name(&err, RDV_ERR_UNKNOWN_DEVICE)) {
		fprintf(stderr, "rdvctl: warning: cannot tell rdvd to log %s out: %s\n", name,
			err.message ? err.message : "failed");
		r = 1;
	}
	dbus_error_free(&err);
	return r;
}

static void format_age(long secs, char *buf, size_t len)
{
	if (secs < 120)
		snprintf(buf, len, "%lds", secs);
	else if (secs < 7200)
		snprintf(buf, len, "%ldm", secs / 60);
	else
		snprintf(buf, len, "%ldh%02ldm", secs / 3600, secs / 60 % 60);
}

static int cmd_devices(void)
{
	DBusMessage *reply = admin_call("ListDevices", NULL);
	DBusMessageIter it, arr, st;
	unsigned n = 0;

	if (!reply)
		return 1;
	printf("%-16s %-7s %-20s %-19s %-6s %-5s %-8s %s\n", "DEVICE", "ROLE", "HOSTNAME", "LAN",
	       "UPLINK", "STATE", "ONLINE", "DNS");
	dbus_message_iter_init(reply, &it);
	for (dbus_message_iter_recurse(&it, &arr);
	     dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRUCT; dbus_message_iter_next(&arr)) {
		const char *s[6];
		dbus_bool_t busy;
		dbus_int64_t since;
		char age[48];

		dbus_message_iter_recurse(&arr, &st);
		for (int i = 0; i < 6; i++, dbus_message_iter_next(&st))
			dbus_message_iter_get_basic(&st, &s[i]);
		dbus_message_iter_get_basic(&st, &busy);
		dbus_message_iter_next(&st);
		dbus_message_iter_get_basic(&st, &since);
		format_age((long)(time(NULL) - since), age, sizeof(age));
		printf("%-16s %-7s %-20s %-19s %-6s %-5s %-8s %s\n", s[0], s[1], s[2][0] ? s[2] : "-",
		       s[3][0] ? s[3] : "-", s[4], busy ? "busy" : "free", age, s[5][0] ? s[5] : "-");
		n++;
	}
	printf("%u device%s online\n", n, n == 1 ? "" : "s");
	dbus_message_unref(reply);
	return 0;
}

static int cmd_sessions(void)
{
	DBusMessage *reply = admin_call("ListSessions", NULL);
	DBusMessageIter it, arr, st;
	unsigned n = 0;

	if (!reply)
		return 1;
	printf("%-4s %-16s %-16s %-12s %-8s %-14s %-14s %s\n", "ID", "MASTER", "ONSITE", "STATE",
	       "AGE", "MASTER->ONSITE", "ONSITE->MASTER", "DATA PATH");
	dbus_message_iter_init(reply, &it);
	for (dbus_message_iter_recurse(&it, &arr);
	     dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRUCT; dbus_message_iter_next(&arr)) {
		dbus_uint32_t id;
		const char *m, *o, *state, *path = "?";
		dbus_int64_t started;
		dbus_uint64_t up, down;
		char age[48];

		dbus_message_iter_recurse(&arr, &st);
		dbus_message_iter_get_basic(&st, &id);
		dbus_message_iter_next(&st);
		dbus_message_iter_get_basic(&st, &m);
		dbus_message_iter_next(&st);
		dbus_message_iter_get_basic(&st, &o);
		dbus_message_iter_next(&st);
		dbus_message_iter_get_basic(&st, &state);
		dbus_message_iter_next(&st);
		dbus_message_iter_get_basic(&st, &started);
		dbus_message_iter_next(&st);
		dbus_message_iter_get_basic(&st, &up);
		dbus_message_iter_next(&st);
		dbus_message_iter_get_basic(&st, &down);
		if (dbus_message_iter_next(&st) &&
		    dbus_message_iter_get_arg_type(&st) == DBUS_TYPE_STRING)
			dbus_message_iter_get_basic(&st, &path);
		format_age((long)(time(NULL) - started), age, sizeof(age));
		printf("%-4u %-16s %-16s %-12s %-8s %-14llu %-14llu %s\n", id, m, o, state, age,
		       (unsigned long long)up, (unsigned long long)down, path);
		n++;
	}
	printf("%u session%s\n", n, n == 1 ? "" : "s");
	dbus_message_unref(reply);
	return 0;
}

static dbus_uint32_t next_u32(DBusMessageIter *it)
{
	dbus_uint32_t v = 0;

	if (dbus_message_iter_get_arg_type(it) == DBUS_TYPE_UINT32)
		dbus_message_iter_get_basic(it, &v);
	dbus_message_iter_next(it);
	return v;
}

/* Idle, it reads "pool: 0 of N /30s in use" and "vtund ports in use: none". */
static int cmd_status(void)
{
	DBusMessage *reply = admin_call("Status", NULL);
	DBusMessageIter it, arr, st;
	dbus_uint32_t used, size, sessions, devices;
	unsigned n = 0;

	if (!reply)
		return 1;
	dbus_message_iter_init(reply, &it);
	used = next_u32(&it);
	size = next_u32(&it);
	sessions = next_u32(&it);
	devices = next_u32(&it);
	printf("pool: %u of %u /30s in use\n", used, size);
	printf("sessions: %u\n", sessions);
	printf("devices online: %u\n", devices);
	printf("vtund ports in use:");
	if (dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_ARRAY) {
		for (dbus_message_iter_recurse(&it, &arr);
		     dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRUCT;
		     dbus_message_iter_next(&arr), n++) {
			dbus_uint32_t port, id;
			const char *dev, *side;

			dbus_message_iter_recurse(&arr, &st);
			port = next_u32(&st);
			id = next_u32(&st);
			dbus_message_iter_get_basic(&st, &dev);
			dbus_message_iter_next(&st);
			dbus_message_iter_get_basic(&st, &side);
			printf("\n  %u session %u %s %s", port, id, side, dev);
		}
	}
	printf("%s\n", n ? "" : " none");
	dbus_message_unref(reply);
	return 0;
}

static int cmd_kick(int argc, char **argv)
{
	DBusMessage *reply;

	if (argc != 1) {
		fprintf(stderr, "usage: rdvctl kick DEVICE\n");
		return 2;
	}
	if (!device_name_valid(argv[0])) {
		fprintf(stderr, "rdvctl: '%s' is not a device name\n", argv[0]);
		return 2;
	}
	reply = admin_call("Kick", argv[0]);
	if (!reply)
		return 1;
	printf("%s: kicked\n", argv[0]);
	dbus_message_unref(reply);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = RDV_CONF_PATH;
	struct rdv_conf conf;
	char err[4096];
	int r;

	argv++, argc--;
	if (argc >= 2 && !strcmp(argv[0], "-c")) {
		path = argv[1];
		argv += 2, argc -= 2;
	}
	if (argc < 1 || !strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
		usage(argc < 1 ? stderr : stdout);
		return argc < 1 ? 2 : 0;
	}
	if (conf_load(path, &conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "rdvctl: %s: invalid configuration:\n%s", path, err);
		return 2;
	}
	if (!strcmp(argv[0], "account") && argc >= 2) {
		if (!strcmp(argv[1], "add"))
			r = account_add(&conf, argc - 2, argv + 2);
		else if (!strcmp(argv[1], "del"))
			r = account_del(&conf, argc - 2, argv + 2);
		else if (!strcmp(argv[1], "list"))
			r = account_list(&conf, argc - 2, argv + 2);
		else
			goto unknown;
	} else if (!strcmp(argv[0], "devices") && argc == 1) {
		r = cmd_devices();
	} else if (!strcmp(argv[0], "sessions") && argc == 1) {
		r = cmd_sessions();
	} else if (!strcmp(argv[0], "status") && argc == 1) {
		r = cmd_status();
	} else if (!strcmp(argv[0], "kick")) {
		r = cmd_kick(argc - 1, argv + 1);
	} else {
		goto unknown;
	}
	conf_release(&conf);
	return r;
unknown:
	fprintf(stderr, "rdvctl: unknown command '%s'\n", argv[0]);
	usage(stderr);
	conf_release(&conf);
	return 2;
}
