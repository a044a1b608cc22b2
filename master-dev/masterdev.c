/*
 * masterdev: the technician's command on the master Pi. Lists the onsite
 * devices this master may reach, and opens a session with one that lasts
 * until Ctrl-C. It needs no root: masterd, driven over D-Bus, does the work.
 */
#define _GNU_SOURCE
#include <dbus/dbus.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dbusloop.h"
#include "loop.h"
#include "masterd.h"
#include "util.h"

enum { EX_OK = 0, EX_ERROR = 1, EX_USAGE = 2, EX_UNREACHABLE = 3, EX_REFUSED = 4,
       EX_NO_EXTREMITY = 5, EX_ENDED = 6 };

static bool debug;
static struct loop *loop;
static const char *onsite;
static struct bus_peer masterd;

/* Everything masterd relays (onsite values, the RDV server's words) may hold
 * terminal escapes: printed through here. A few buffers, for one printf. */
static const char *safe(const char *text)
{
	static char bufs[8][1024];
	static unsigned next;

	return peer_text(text ? text : "", bufs[next++ % 8], sizeof(bufs[0]));
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: masterdev -l\n"
		"       masterdev -o ID\n"
		"  -l, --list       list the onsite devices this master may reach\n"
		"  -o, --open ID    open a session with onsite device ID; the laptop plugged into\n"
		"                   the master's USB-Ethernet adapter then reaches that customer LAN.\n"
		"                   Ctrl-C ends it (unplugging the adapter too).\n"
		"  -d, --debug      say more\n"
		"Exit status: 0 done, 1 error, 2 bad usage, 3 RDV server unreachable,\n"
		"4 onsite device unknown, not allowed or busy, 5 no USB-Ethernet adapter,\n"
		"6 session ended by the other side or the network.\n"
		"MASTERDEV_USERNAME and RDV_SERVER_HOSTNAME, if set, must match masterd's configuration.\n"
		"The master itself has no route to the customer LAN: test from the laptop.\n");
}

static int exit_code(const char *error_name)
{
	if (!strcmp(error_name, MASTER_ERR "Unreachable"))
		return EX_UNREACHABLE;
	if (!strcmp(error_name, MASTER_ERR "NoExtremity"))
		return EX_NO_EXTREMITY;
	if (!strcmp(error_name, MASTER_ERR "NotAllowed") || !strcmp(error_name, MASTER_ERR "Busy") ||
	    !strcmp(error_name, MASTER_ERR "UnknownDevice") || !strcmp(error_name, MASTER_ERR "Refused"))
		return EX_REFUSED;
	return EX_ERROR;
}

static DBusMessage *call(DBusConnection *bus, const char *method, const char *arg, int timeout,
			 int *code)
{
	DBusMessage *m = dbus_message_new_method_call(MASTER_BUS_NAME, MASTER_PATH, MASTER_IFACE, method);
	DBusMessage *r = NULL;
	DBusError err;

	dbus_error_init(&err);
	if (m && (!arg || dbus_message_append_args(m, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID)))
		r = dbus_connection_send_with_reply_and_block(bus, m, timeout, &err);
	if (m)
		dbus_message_unref(m);
	if (!r) {
		if (dbus_error_has_name(&err, DBUS_ERROR_SERVICE_UNKNOWN) ||
		    dbus_error_has_name(&err, DBUS_ERROR_NAME_HAS_NO_OWNER))
			fprintf(stderr, "masterdev: masterd is not running on this master "
					"(systemctl status masterd)\n");
		else
			fprintf(stderr, "masterdev: %s\n", err.message ? safe(err.message) : "out of memory");
		if (debug && err.name)
			fprintf(stderr, "masterdev: (%s)\n", safe(err.name));
		*code = err.name ? exit_code(err.name) : EX_ERROR;
		dbus_error_free(&err);
	}
	return r;
}

static int list(DBusConnection *bus)
{
	DBusMessageIter it, arr, st;
	int code = EX_OK, n = 0;
	DBusMessage *r = call(bus, "ListOnsite", NULL, 40000, &code);

	if (!r)
		return code;
	if (!dbus_message_has_signature(r, "a(sssss)")) {
		fprintf(stderr, "masterdev: masterd answered ListOnsite with (%s)\n",
			dbus_message_get_signature(r));
		dbus_message_unref(r);
		return EX_ERROR;
	}
	dbus_message_iter_init(r, &it);
	for (dbus_message_iter_recurse(&it, &arr);
	     dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRUCT; dbus_message_iter_next(&arr)) {
		const char *f[5];
		dbus_message_iter_recurse(&arr, &st);
		for (int i = 0; i < 5; i++, dbus_message_iter_next(&st))
			dbus_message_iter_get_basic(&st, &f[i]);
		if (!n++)
			printf("%-16s %-20s %-19s %-7s %s\n", "ID", "HOSTNAME", "LAN", "UPLINK", "STATE");
		printf("%-16s %-20s %-19s %-7s %s\n", safe(f[0]), safe(f[1]), safe(f[2]), safe(f[3]),
		       safe(f[4]));
	}
	if (n)
		printf("%d onsite device%s online\n", n, n == 1 ? "" : "s");
	else
		printf("No onsite device online that this master may reach.\n");
	dbus_message_unref(r);
	return EX_OK;
}

static int result = EX_OK;

static DBusHandlerResult on_signal(DBusConnection *c, DBusMessage *m, void *data)
{
	const char *a = NULL;

	(void)c;
	(void)data;
	/* only masterd's own signal counts: anyone may send us one by name */
	if (bus_peer_signal(&masterd, m, MASTER_IFACE, "SessionEnded") &&
	    dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &a, DBUS_TYPE_INVALID)) {
		printf("Session with %s ended: %s\n", onsite, safe(a));
		result = EX_ENDED;
		loop_quit(loop, 0);
	} else if (bus_peer_update(&masterd, m)) {
		printf("Session with %s ended: masterd stopped\n", onsite);
		result = EX_ENDED;
		loop_quit(loop, 0);
	}
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static void on_quit(int signo, void *data)
{
	(void)data;
	if (debug)
		fprintf(stderr, "masterdev: signal %d\n", signo);
	loop_quit(loop, 0);
}

static int open_session(DBusConnection *bus, const char *id)
{
	static const int signals[] = { SIGINT, SIGTERM, SIGHUP };
	const char *lan = "", *dns = "", *warning = "";
	DBusMessage *r;
	int code = EX_OK;

	if (!device_name_valid(id)) {
		fprintf(stderr, "masterdev: '%s' is not a device ID (such as rpi1100)\n", safe(id));
		return EX_USAGE;
	}
	onsite = id;
	dbus_bus_add_match(bus, "type='signal',sender='" MASTER_BUS_NAME "',interface='" MASTER_IFACE
				"',member='SessionEnded'", NULL);
	if (bus_peer_follow(bus, &masterd, MASTER_BUS_NAME) < 0 ||
	    !dbus_connection_add_filter(bus, on_signal, NULL, NULL))
		return EX_ERROR;
	printf("Connecting to %s...\n", id);
	fflush(stdout);
	r = call(bus, "Open", id, 90000, &code);
	if (!r)
		return code;
	dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &lan, DBUS_TYPE_STRING, &dns, DBUS_TYPE_STRING,
			      &warning, DBUS_TYPE_INVALID);
	printf("Onsite %s: customer LAN %s%s%s\n", id, lan[0] ? safe(lan) : "(not announced)",
	       dns[0] ? ", DNS " : "", safe(dns));
	if (warning[0])
		printf("Warning: %s\n", safe(warning));
	printf("Session established: the laptop on the master's USB-Ethernet adapter reaches the "
	       "customer LAN. Ctrl-C to end.\n");
	fflush(stdout);
	dbus_message_unref(r);
	if (loop_new(&loop) < 0 || loop_add_signals(loop, signals, 3, on_quit, NULL) < 0 ||
	    dbusloop_attach(bus, loop) < 0)
		return EX_ERROR;
	loop_run(loop);
	if (result == EX_OK) {
		r = call(bus, "Close", NULL, 10000, &code);
		if (r)
			dbus_message_unref(r);
		printf("Session with %s ended: closed by masterdev\n", id);
	}
	return result;
}

/*
 * The original read the account and server from the environment. Here masterd
 * holds them (/etc/rdv/master.conf); a script that still sets them is told if
 * they name another account or server rather than silently using masterd's.
 */
static int check_environment(DBusConnection *bus)
{
	const char *want_dev = getenv("MASTERDEV_USERNAME"), *want_host = getenv("RDV_SERVER_HOSTNAME");
	const char *ext, *err, *state, *on, *dev = "", *host = "";
	dbus_bool_t up;
	DBusMessage *r;
	int code = EX_OK;

	if ((!want_dev || !*want_dev) && (!want_host || !*want_host))
		return EX_OK;
	if (!(r = call(bus, "GetStatus", NULL, 10000, &code)))
		return code;
	dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &ext, DBUS_TYPE_BOOLEAN, &up,
			      DBUS_TYPE_STRING, &err, DBUS_TYPE_STRING, &state, DBUS_TYPE_STRING, &on,
			      DBUS_TYPE_STRING, &dev, DBUS_TYPE_STRING, &host, DBUS_TYPE_INVALID);
	if (want_dev && *want_dev && strcmp(want_dev, dev)) {
		fprintf(stderr, "masterdev: MASTERDEV_USERNAME is '%s' but this master is '%s' "
				"(device in /etc/rdv/master.conf)\n", safe(want_dev), safe(dev));
		code = EX_USAGE;
	} else if (want_host && *want_host && strcmp(want_host, host)) {
		fprintf(stderr, "masterdev: RDV_SERVER_HOSTNAME is '%s' but this master uses '%s' "
				"(rdv.host in /etc/rdv/master.conf)\n", safe(want_host), safe(host));
		code = EX_USAGE;
	}
	dbus_message_unref(r);
	return code;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", no_argument, NULL, 'l' }, { "open", required_argument, NULL, 'o' },
		{ "debug", no_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	const char *id = NULL;
	bool do_list = false;
	DBusConnection *bus;
	DBusError err;
	int c, r;

	while ((c = getopt_long(argc, argv, "lo:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'l': do_list = true; break;
		case 'o': id = optarg; break;
		case 'd': debug = true; break;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (do_list == !!id || optind < argc) {
		usage(stderr);
		return EX_USAGE;
	}
	dbus_error_init(&err);
	bus = dbus_bus_get_private(DBUS_BUS_SYSTEM, &err);
	if (!bus) {
		fprintf(stderr, "masterdev: cannot reach the system bus: %s\n", err.message);
		dbus_error_free(&err);
		return EX_ERROR;
	}
	dbus_connection_set_exit_on_disconnect(bus, FALSE);
	r = check_environment(bus);
	if (r == EX_OK)
		r = do_list ? list(bus) : open_session(bus, id);
	dbus_connection_close(bus);
	dbus_connection_unref(bus);
	return r;
}
