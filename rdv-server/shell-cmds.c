/* What each device-shell command asks rdvd, and how its answer is printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rdv-dbus.h"
#include "shell.h"
#include "util.h"

#define CALL_TIMEOUT_MS 15000

/* rdvd relays what other devices announced: printed through here, so no
 * control character reaches a device (or a terminal). A few buffers, for one printf. */
static const char *safe(const char *text)
{
	static char bufs[6][1024];
	static unsigned next;

	return peer_text(text ? text : "", bufs[next++ % 6], sizeof(bufs[0]));
}

typedef void (*print_fn)(struct shell *sh, DBusMessage *reply);

struct call {
	struct shell *sh;
	const struct shell_cmd_spec *spec;
	print_fn print;
};

static void print_string(struct shell *sh, DBusMessage *reply)
{
	const char *v = NULL;

	(void)sh;
	if (dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &v, DBUS_TYPE_INVALID))
		printf("%s\n", safe(v));
}

static void print_ready(struct shell *sh, DBusMessage *reply)
{
	dbus_bool_t ready = FALSE;

	(void)sh;
	dbus_message_get_args(reply, NULL, DBUS_TYPE_BOOLEAN, &ready, DBUS_TYPE_INVALID);
	printf("%s\n", ready ? "ready" : "not_ready");
}

/* The order old device scripts saw. */
static const char *const vtun_keys[] = {
	"tunnel_ip_network", "tunnel_ip_prefix", "tunnel_ip_netmask", "tunnelling_dev_ip_address",
	"rdv_server_ip_address", "rdv_server_vtun_tcp_port", "tunnel_secret", "tunnel_session_name",
	/* relay data path only, after what old scripts parse */
	"data_path", "data_ticket", "vtun_role",
};

static void print_vtun(struct shell *sh, DBusMessage *reply)
{
	const char *values[sizeof(vtun_keys) / sizeof(vtun_keys[0])] = { 0 };
	DBusMessageIter it, arr, e;

	(void)sh;
	dbus_message_iter_init(reply, &it);
	if (dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_ARRAY)
		return;
	for (dbus_message_iter_recurse(&it, &arr);
	     dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&arr)) {
		const char *k, *v;
		dbus_message_iter_recurse(&arr, &e);
		dbus_message_iter_get_basic(&e, &k);
		dbus_message_iter_next(&e);
		dbus_message_iter_get_basic(&e, &v);
		for (size_t i = 0; i < sizeof(vtun_keys) / sizeof(vtun_keys[0]); i++)
			if (!strcmp(k, vtun_keys[i]))
				values[i] = v;
	}
	for (size_t i = 0; i < sizeof(vtun_keys) / sizeof(vtun_keys[0]); i++)
		if (values[i])
			printf("%s: %s\n", vtun_keys[i], safe(values[i]));
}

struct dev_row {
	const char *name, *role, *host, *lan, *uplink, *dns;
	dbus_bool_t busy;
};

/* Walks an a(ssssssbx) reply, one row at a time. */
static void each_device(DBusMessage *reply, void (*fn)(const struct dev_row *))
{
	DBusMessageIter it, arr, st;

	dbus_message_iter_init(reply, &it);
	if (dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_ARRAY)
		return;
	for (dbus_message_iter_recurse(&it, &arr);
	     dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRUCT; dbus_message_iter_next(&arr)) {
		struct dev_row r;
		dbus_message_iter_recurse(&arr, &st);
		dbus_message_iter_get_basic(&st, &r.name);
		dbus_message_iter_next(&st);
		dbus_message_iter_get_basic(&st, &r.role);
		dbus_message_iter_next(&st);
		dbus_message_iter_get_basic(&st, &r.host);
		dbus_message_iter_next(&st);
		dbus_message_iter_get_basic(&st, &r.lan);
		dbus_message_iter_next(&st);
		dbus_message_iter_get_basic(&st, &r.uplink);
		dbus_message_iter_next(&st);
		dbus_message_iter_get_basic(&st, &r.dns);
		dbus_message_iter_next(&st);
		dbus_message_iter_get_basic(&st, &r.busy);
		fn(&r);
	}
}

static void row_id(const struct dev_row *r) { printf("%s\n", safe(r->name)); }
static void row_details(const struct dev_row *r)
{
	printf("%s\t%s\t%s\t%s\t%s\n", safe(r->name), r->host[0] ? safe(r->host) : "-",
	       r->lan[0] ? safe(r->lan) : "-", safe(r->uplink), r->busy ? "busy" : "free");
}
static void row_lan(const struct dev_row *r) { printf("%s\n", safe(r->lan)); }
static void row_dns(const struct dev_row *r) { printf("%s\n", safe(r->dns)); }
static void row_host(const struct dev_row *r) { printf("%s\n", safe(r->host)); }

static void print_ids(struct shell *sh, DBusMessage *m) { (void)sh; each_device(m, row_id); }
static void print_details(struct shell *sh, DBusMessage *m) { (void)sh; each_device(m, row_details); }
static void print_lan(struct shell *sh, DBusMessage *m) { (void)sh; each_device(m, row_lan); }
static void print_dns(struct shell *sh, DBusMessage *m) { (void)sh; each_device(m, row_dns); }
static void print_host(struct shell *sh, DBusMessage *m) { (void)sh; each_device(m, row_host); }

static void on_reply(DBusPendingCall *pending, void *data)
{
	struct call *c = data;
	DBusMessage *reply = dbus_pending_call_steal_reply(pending);

	if (!reply) {
		fprintf(stderr, "%s: no answer from rdvd" RDV_ERR_TOKEN_OPEN "%s" RDV_ERR_TOKEN_CLOSE "\n",
			c->spec->name, DBUS_ERROR_NO_REPLY);
	} else if (dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR) {
		const char *msg = NULL, *name = dbus_message_get_error_name(reply);
		dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &msg, DBUS_TYPE_INVALID);
		/* the words for people, the error's name for programs */
		fprintf(stderr, "%s: %s" RDV_ERR_TOKEN_OPEN "%s" RDV_ERR_TOKEN_CLOSE "\n", c->spec->name,
			safe(msg ? msg : name), safe(name));
		if (c->sh->debug)
			fprintf(stderr, "debug: %s\n", safe(name));
	} else if (c->print) {
		c->print(c->sh, reply);
	}
	if (reply)
		dbus_message_unref(reply);
	dbus_pending_call_unref(pending);
	shell_done(c->sh);
}

/* Sends method with at most one string or string-array argument. */
static void call(struct shell *sh, const struct shell_cmd *cmd, const char *method,
		 const char *arg, char **list, int n, print_fn print, int timeout)
{
	DBusMessage *m = dbus_message_new_method_call(RDV_BUS_NAME, RDV_OBJECT_PATH, RDV_IFACE, method);
	DBusPendingCall *pending = NULL;
	struct call *c = malloc(sizeof(*c));

	if (!m || !c)
		goto fail;
	*c = (struct call){ sh, cmd->spec, print };
	if (arg && !dbus_message_append_args(m, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID))
		goto fail;
	if (list && !dbus_message_append_args(m, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING, &list, n,
					      DBUS_TYPE_INVALID))
		goto fail;
	if (!dbus_connection_send_with_reply(sh->bus, m, &pending, timeout) || !pending ||
	    !dbus_pending_call_set_notify(pending, on_reply, c, free))
		goto fail;
	if (sh->debug)
		fprintf(stderr, "debug: calling %s.%s\n", RDV_IFACE, method);
	sh->busy = true;
	dbus_message_unref(m);
	return;
fail:
	fprintf(stderr, "%s: cannot reach rdvd" RDV_ERR_TOKEN_OPEN "%s" RDV_ERR_TOKEN_CLOSE "\n",
		cmd->spec->name, RDV_ERR_FAILED);
	if (pending)
		dbus_pending_call_unref(pending);
	if (m)
		dbus_message_unref(m);
	free(c);
	shell_done(sh);
}

void shell_print_help(const struct shell *sh)
{
	printf("Commands for %s devices:\n", sh->role == R_ONSITE ? "onsite" : "master");
	for (size_t i = 0; i < shell_n_cmds; i++)
		if (shell_cmds[i].roles & sh->role)
			printf("  %s%s%s\n      %s\n", shell_cmds[i].name, shell_cmds[i].usage[0] ? " " : "",
			       shell_cmds[i].usage, shell_cmds[i].help);
}

enum rpc_arg { ARG_NONE, ARG_TEXT, ARG_CIDR, ARG_IPS };

/* Commands answered by rdvd: which method, what it is sent, how it is printed. */
static const struct rpc {
	enum cmd_id id;
	const char *method;
	enum rpc_arg arg;
	print_fn print;
} rpcs[] = {
	{ C_GET_TUNNEL_MODE, "GetTunnelMode", ARG_NONE, print_string },
	{ C_SET_LAN, "SetLanAddress", ARG_CIDR, NULL },
	{ C_SET_DNS, "SetDnsServers", ARG_IPS, NULL },
	{ C_SET_HOSTNAME, "SetHostname", ARG_TEXT, NULL },
	{ C_SET_UPLINK, "SetUplinkType", ARG_TEXT, NULL },
	{ C_SET_TUNNEL_MODE, "SetTunnelMode", ARG_TEXT, NULL },
	{ C_SET_DATA_PATH, "SetDataPath", ARG_TEXT, NULL },
	{ C_GET_VTUN, "GetVtunParameters", ARG_NONE, print_vtun },
	{ C_DROP_VTUN, "DropVtun", ARG_TEXT, NULL },
	{ C_WAIT_MASTER, "WaitMaster", ARG_NONE, print_ready },
	{ C_WAIT_SESSION_END, "WaitSessionEnd", ARG_NONE, print_string },
	{ C_SHOW_ONSITE, "ListOnsite", ARG_NONE, print_ids },
	{ C_SHOW_ONSITE_DETAILS, "ListOnsite", ARG_NONE, print_details },
	{ C_CONNECT, "Connect", ARG_TEXT, NULL },
	{ C_SHOW_REMOTE_IP, "GetRemoteConfig", ARG_NONE, print_lan },
	{ C_SHOW_REMOTE_DNS, "GetRemoteConfig", ARG_NONE, print_dns },
	{ C_SHOW_REMOTE_HOSTNAME, "GetRemoteConfig", ARG_NONE, print_host },
};

static void run_rpc(struct shell *sh, const struct shell_cmd *cmd, const struct rpc *rpc)
{
	char ipbuf[SHELL_MAX_DNS][16], *ips[SHELL_MAX_DNS], cidr[20];
	int timeout = cmd->id == C_WAIT_MASTER ? (int)sh->wait_timeout_ms
		      : cmd->id == C_WAIT_SESSION_END ? DBUS_TIMEOUT_INFINITE : CALL_TIMEOUT_MS;

	switch (rpc->arg) {
	case ARG_NONE:
		call(sh, cmd, rpc->method, NULL, NULL, 0, rpc->print, timeout);
		break;
	case ARG_TEXT:
		call(sh, cmd, rpc->method, cmd->text, NULL, 0, rpc->print, timeout);
		break;
	case ARG_CIDR:
		cidr4_format(&cmd->cidr, cidr, sizeof(cidr));
		call(sh, cmd, rpc->method, cidr, NULL, 0, rpc->print, timeout);
		break;
	case ARG_IPS:
		for (unsigned i = 0; i < cmd->n_ip; i++) {
			ip4_format(cmd->ip[i], ipbuf[i], sizeof(ipbuf[i]));
			ips[i] = ipbuf[i];
		}
		call(sh, cmd, rpc->method, NULL, ips, (int)cmd->n_ip, rpc->print, timeout);
		break;
	}
}

void shell_run(struct shell *sh, const struct shell_cmd *cmd)
{
	for (size_t i = 0; i < sizeof(rpcs) / sizeof(rpcs[0]); i++) {
		if (rpcs[i].id == cmd->id) {
			run_rpc(sh, cmd, &rpcs[i]);
			return;
		}
	}
	switch (cmd->id) {
	case C_GET_ROLE:
		printf("%s\n", sh->role == R_ONSITE ? "onsite" : "master");
		break;
	case C_ECHO:
		printf("%s\n", cmd->text);
		break;
	case C_DEBUG:
		sh->debug = cmd->on;
		break;
	case C_HELP:
		shell_print_help(sh);
		break;
	case C_EXIT:
	case C_LOGOUT:
		sh->quitting = true;
		break;
	default:
		break;
	}
	shell_done(sh);
}
