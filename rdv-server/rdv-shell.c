/*
 * rdv-shell: the login shell of device accounts on the RDV server. Speaks
 * the line protocol of the original device shell and asks rdvd over the
 * system bus for everything; runs as the device's own, unprivileged account.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include "dbusloop.h"
#include "rdv-dbus.h"
#include "shell.h"

#define INBUF_MAX (64 * 1024)
/* rdvd bounds its own wait (at most 300 s); this only guards against a hang */
#define WAIT_CALL_TIMEOUT_MS (330 * 1000)
/* without a pty, errors and the prompt travel apart (SSH extended data vs
 * data) and ssh writes whatever reached it at once stdout first: errors get
 * this head start over the prompt that follows them */
#define ERR_HEAD_START_US (50 * 1000)

static struct shell sh;
static struct bus_peer rdvd; /* the broker's unique name, the only one believed */
static char inbuf[INBUF_MAX];
static size_t inlen;
static struct shell_lines lines;
static struct loop_fd *in_src;
static bool eof;        /* end of input: answer what came before it, then exit */
static bool processing; /* process_input() is on the stack */

/* Bytes written to fd (a pipe or socket to sshd) that sshd has not read yet. */
static int unread(int fd)
{
	struct stat st;
	int n = 0;

	if (fstat(fd, &st) < 0)
		return 0;
	if (S_ISFIFO(st.st_mode) && ioctl(fd, FIONREAD, &n) == 0)
		return n;
	if (S_ISSOCK(st.st_mode) && ioctl(fd, SIOCOUTQ, &n) == 0)
		return n;
	return 0;
}

static void wait_read(int fd)
{
	for (int i = 0; i < 500 && unread(fd) > 0; i++)
		usleep(2000);
}

/*
 * A command's output, then its errors, then the prompt. On a terminal both
 * streams are the same file; through pipes, errors are handed to sshd before
 * the prompt is written.
 */
static void flush_ordered(void)
{
	fflush(stdout);
	if (!__fpending(stderr))
		return;
	fflush(stderr);
	if (!lines.tty) {
		wait_read(STDERR_FILENO);
		usleep(ERR_HEAD_START_US);
	}
}

static void prompt(void)
{
	flush_ordered();
	printf("%s$ ", sh.user);
	fflush(stdout);
}

static bool waits(enum cmd_id id) { return id == C_WAIT_MASTER || id == C_WAIT_SESSION_END; }

static void run_line(const char *line)
{
	struct shell_cmd cmd;
	char err[SHELL_LINE_MAX + 128];
	int r = shell_parse(line, sh.role, &cmd, err, sizeof(err));

	if (r == -ENOENT) {
		printf("%s\n", err);
	} else if (r < 0) {
		fprintf(stderr, "%s\n", err);
	} else if (eof && waits(cmd.id)) {
		/* nobody will be there when the event comes */
		sh.quitting = true;
		return;
	} else {
		sh.waiting = waits(cmd.id);
		shell_run(&sh, &cmd);
		return;
	}
	shell_done(&sh);
}

static void echo(const char *buf, size_t len)
{
	if (len)
		fwrite(buf, 1, len, stdout);
}

static void watch_stdin(bool on);

/* Runs complete lines, one after the other, until one starts a call to rdvd. */
static void process_input(void)
{
	char ebuf[4 * INBUF_MAX / 16];
	size_t used, elen;

	processing = true;
	while (!sh.busy && !sh.quitting && inlen) {
		size_t chunk = inlen < sizeof(ebuf) / 4 ? inlen : sizeof(ebuf) / 4;
		enum shell_lines_event ev = shell_lines_feed(&lines, inbuf, chunk, &used, ebuf, &elen);

		memmove(inbuf, inbuf + used, inlen - used);
		inlen -= used;
		echo(ebuf, elen);
		if (ev == SL_LINE) {
			run_line(lines.line);
		} else if (ev == SL_OVERLONG) {
			fprintf(stderr, "line too long (at most %d bytes)\n", SHELL_LINE_MAX - 1);
			shell_done(&sh);
		} else if (ev == SL_EOF) {
			eof = true;
			inlen = 0;
			watch_stdin(false);
		}
	}
	fflush(stdout);
	if (eof && !inlen && !sh.busy && !sh.quitting && (lines.len || lines.overlong)) {
		/* the last line had no line end */
		lines.line[lines.overlong ? 0 : lines.len] = '\0';
		lines.len = 0;
		if (!lines.overlong)
			run_line(lines.line);
		lines.overlong = false;
	}
	processing = false;
	if (sh.quitting || (eof && !inlen && !sh.busy))
		loop_quit(sh.loop, 0);
	else if (!eof && !sh.busy)
		watch_stdin(true);
}

void shell_done(struct shell *s)
{
	s->busy = false;
	s->waiting = false;
	if (!s->quitting)
		prompt();
	else
		flush_ordered();
	if (!processing) /* a reply from rdvd: go on with what came meanwhile */
		process_input();
}

static void on_stdin(int fd, short revents, void *data);

/* Stops reading while the buffer is full (sshd then holds the rest back). */
static void watch_stdin(bool on)
{
	if (on && !in_src && !eof)
		loop_add_fd(sh.loop, STDIN_FILENO, POLLIN, on_stdin, NULL, &in_src);
	else if (!on && in_src) {
		loop_remove_fd(sh.loop, in_src);
		in_src = NULL;
	}
}

static void on_stdin(int fd, short revents, void *data)
{
	ssize_t n;

	(void)revents;
	(void)data;
	n = read(fd, inbuf + inlen, sizeof(inbuf) - inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		/* a terminal hung up (EIO): the device is gone */
		loop_quit(sh.loop, 1);
		return;
	}
	if (n == 0) {
		eof = true;
		watch_stdin(false);
		if (sh.busy && sh.waiting) {
			loop_quit(sh.loop, 0); /* no one is left to hear the event */
			return;
		}
	} else {
		inlen += (size_t)n;
		if (inlen == sizeof(inbuf))
			watch_stdin(false);
	}
	if (!sh.busy)
		process_input();
}

/* The reading side of our output went away: the device is gone. */
static void on_stdout(int fd, short revents, void *data)
{
	(void)fd;
	(void)data;
	if (revents & (POLLERR | POLLHUP))
		loop_quit(sh.loop, 1);
}

/*
 * On a pty the shell does the line discipline's work itself (see
 * shell_lines): raw input, no signals from ^C/^Z, output keeps NL -> CR NL.
 */
static int setup_terminal(void)
{
	struct termios t;

	lines.tty = isatty(STDIN_FILENO);
	if (!lines.tty)
		return setvbuf(stderr, NULL, _IOFBF, BUFSIZ) == 0 ? 0 : -ENOMEM;
	if (tcgetattr(STDIN_FILENO, &t) < 0)
		return -errno;
	t.c_lflag &= ~(ICANON | ECHO | ECHONL | ISIG | IEXTEN);
	t.c_iflag &= ~(ICRNL | INLCR | IGNCR | IXON | ISTRIP);
	t.c_oflag |= OPOST | ONLCR;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	return tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0 ? -errno : 0;
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

/*
 * How sshd may start us: as the login shell with no argument, or through
 * the shipped ForceCommand as "rdv-shell -c PATH" where PATH is this very
 * program. A command or subsystem the client asked for (sshd then sets
 * SSH_ORIGINAL_COMMAND) or any other -c is refused.
 */
static bool invocation_allowed(int argc, char **argv)
{
	struct stat self, forced;

	if (getenv("SSH_ORIGINAL_COMMAND"))
		return false;
	if (argc == 1)
		return true;
	return argc == 3 && !strcmp(argv[1], "-c") && stat("/proc/self/exe", &self) == 0 &&
	       stat(argv[2], &forced) == 0 && self.st_dev == forced.st_dev &&
	       self.st_ino == forced.st_ino;
}

int main(int argc, char **argv)
{
	struct passwd *pw = getpwuid(getuid());
	int r;

	if (!invocation_allowed(argc, argv)) {
		fprintf(stderr, "rdv-shell: this account is for a device; commands are not allowed\n");
		return 1;
	}
	if (!pw || snprintf(sh.user, sizeof(sh.user), "%s", pw->pw_name) >= (int)sizeof(sh.user)) {
		fprintf(stderr, "rdv-shell: unknown account\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (setup_terminal() < 0) {
		fprintf(stderr, "rdv-shell: cannot set up the terminal\n");
		return 1;
	}
	sh.wait_timeout_ms = WAIT_CALL_TIMEOUT_MS;
	if (loop_new(&sh.loop) < 0 || connect_bus() < 0 || register_device() < 0)
		return 1;
	if (dbusloop_attach(sh.bus, sh.loop) < 0 ||
	    loop_add_fd(sh.loop, STDOUT_FILENO, 0, on_stdout, NULL, NULL) < 0)
		return 1;
	watch_stdin(true);
	if (!in_src)
		return 1;
	prompt();
	r = loop_run(sh.loop);
	fflush(stdout);
	dbus_connection_close(sh.bus);
	dbus_connection_unref(sh.bus);
	loop_free(sh.loop);
	return r;
}
