/*
 * rdv-shell: the login shell of device accounts on the RDV server. Speaks
 * the line protocol of the original device shell and asks rdvd over the
 * system bus for everything; runs as the device's own, unprivileged account.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dbusloop.h"
#include "rdv-dbus.h"
#include "shell.h"

#define INBUF_MAX (4 * SHELL_LINE_MAX)
/* rdvd bounds its own wait (at most 300 s); this only guards against a hang */
#define WAIT_CALL_TIMEOUT_MS (330 * 1000)

static struct shell sh;
static struct bus_peer rdvd; /* the broker's unique name, the only one believed */
static char inbuf[INBUF_MAX];
static size_t inlen;
static bool discarding; /* inside an overlong line, dropping until newline */
static bool eof;

static void prompt(void)
{
	printf("%s$ ", sh.user);
	fflush(stdout);
}

static void run_line(const char *line)
{
	struct shell_cmd cmd;
	char err[SHELL_LINE_MAX + 128];
	int r = shell_parse(line, sh.role, &cmd, err, sizeof(err));

	if (r == -ENOENT) {
		printf("%s\n", err);
	} else if (r < 0) {
		fflush(stdout);
		fprintf(stderr, "%s\n", err);
	} else {
		shell_run(&sh, &cmd);
		return;
	}
	shell_done(&sh);
}

static void drop(size_t n)
{
	memmove(inbuf, inbuf + n, inlen - n);
	inlen -= n;
}

/* Runs complete lines until one starts a call to rdvd. */
static void process_input(void)
{
	while (!sh.busy && !sh.quitting) {
		char *nl = memchr(inbuf, '\n', inlen);
		size_t len = nl ? (size_t)(nl - inbuf) : inlen;
		char line[SHELL_LINE_MAX];

		if (!nl && (!inlen || (inlen < SHELL_LINE_MAX && !eof)))
			break; /* wait for the rest of the line */
		if (discarding || len >= SHELL_LINE_MAX) {
			if (!discarding) {
				fflush(stdout);
				fprintf(stderr, "line too long (at most %d bytes)\n", SHELL_LINE_MAX - 1);
				prompt();
			}
			discarding = !nl; /* an overlong line is refused whole */
			drop(nl ? len + 1 : inlen);
			continue;
		}
		memcpy(line, inbuf, len);
		line[len] = '\0';
		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		drop(nl ? len + 1 : len);
		run_line(line);
	}
	if (sh.quitting || (eof && !sh.busy))
		loop_quit(sh.loop, 0);
}

void shell_done(struct shell *s)
{
	s->busy = false;
	if (!s->quitting)
		prompt();
	process_input();
}

/* Keeps reading while a call is under way: EOF means the device is gone. */
static void on_stdin(int fd, short revents, void *data)
{
	ssize_t n;

	(void)revents;
	(void)data;
	if (inlen == sizeof(inbuf)) {
		/* a device sends a line and waits for the prompt; this is a flood */
		fprintf(stderr, "too much input while a command runs: logging out\n");
		loop_quit(sh.loop, 1);
		return;
	}
	n = read(fd, inbuf + inlen, sizeof(inbuf) - inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		eof = true;
		if (sh.busy) {
			loop_quit(sh.loop, 0); /* no one is left to read the answer */
			return;
		}
	} else {
		inlen += (size_t)n;
	}
	process_input();
}

/* rdvd gone (or restarted: this device's registration went with it) */
static DBusHandlerResult on_signal(DBusConnection *c, DBusMessage *m, void *data)
{
	(void)c;
	(void)data;
	if (bus_peer_update(&rdvd, m)) {
		fflush(stdout);
		fprintf(stderr, "rdvd stopped: logging out, connect again later\n");
		loop_quit(sh.loop, 1);
	}
	if (bus_disconnected(m))
		loop_quit(sh.loop, 1);
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static int register_device(void)
{
	DBusMessage *m, *reply;
	DBusError err;
	const char *role = NULL;

	dbus_error_init(&err);
	m = dbus_message_new_method_call(RDV_BUS_NAME, RDV_OBJECT_PATH, RDV_IFACE, "Register");
	if (!m)
		return -ENOMEM;
	reply = dbus_connection_send_with_reply_and_block(sh.bus, m, 15000, &err);
	dbus_message_unref(m);
	if (!reply) {
		fprintf(stderr, "rdv-shell: rdvd refused this device: %s\n", err.message);
		dbus_error_free(&err);
		return -EPERM;
	}
	dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &role, DBUS_TYPE_INVALID);
	sh.role = role && !strcmp(role, "master") ? R_MASTER : R_ONSITE;
	dbus_message_unref(reply);
	return 0;
}

static int connect_bus(void)
{
	DBusError err;

	dbus_error_init(&err);
	sh.bus = dbus_bus_get_private(DBUS_BUS_SYSTEM, &err);
	if (!sh.bus) {
		fprintf(stderr, "rdv-shell: cannot reach the system bus: %s\n", err.message);
		dbus_error_free(&err);
		return -ECONNREFUSED;
	}
	dbus_connection_set_exit_on_disconnect(sh.bus, FALSE);
	if (bus_peer_follow(sh.bus, &rdvd, RDV_BUS_NAME) < 0)
		return -EIO;
	if (!dbus_connection_add_filter(sh.bus, on_signal, NULL, NULL))
		return -ENOMEM;
	return 0;
}

int main(int argc, char **argv)
{
	struct passwd *pw = getpwuid(getuid());
	int r;

	(void)argv;
	/* sshd runs "shell -c COMMAND" for ssh dev@rdv COMMAND: never. */
	if (argc > 1 || getenv("SSH_ORIGINAL_COMMAND")) {
		fprintf(stderr, "rdv-shell: this account is for a device; commands are not allowed\n");
		return 1;
	}
	if (!pw || snprintf(sh.user, sizeof(sh.user), "%s", pw->pw_name) >= (int)sizeof(sh.user)) {
		fprintf(stderr, "rdv-shell: unknown account\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sh.wait_timeout_ms = WAIT_CALL_TIMEOUT_MS;
	if (loop_new(&sh.loop) < 0 || connect_bus() < 0 || register_device() < 0)
		return 1;
	if (dbusloop_attach(sh.bus, sh.loop) < 0 ||
	    loop_add_fd(sh.loop, STDIN_FILENO, POLLIN, on_stdin, NULL, NULL) < 0)
		return 1;
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	prompt();
	r = loop_run(sh.loop);
	fflush(stdout);
	dbus_connection_close(sh.bus);
	dbus_connection_unref(sh.bus);
	loop_free(sh.loop);
	return r;
}
