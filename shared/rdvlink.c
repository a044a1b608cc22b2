#define _GNU_SOURCE
#include "rdvlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "child.h"
#include "datalink.h"
#include "log.h"
#include "rdv-dbus.h"
#include "util.h"

#define PROMPT_TIMEOUT_S 30
#define STUNNEL_WAIT_TRIES 50 /* x 100 ms */
#define OUT_MAX 65536
#define BACKOFF_MAX_S 60
#define ERR_MAX 2048
/* the shell's stderr and its prompt travel apart: errors get this long to arrive */
#define ERR_GRACE_MS 60

struct rdvlink {
	struct loop *loop;
	struct rdvlink_conf conf;
	rdvlink_state_fn state;
	void *data;
	struct child *stunnel, *ssh;
	int to_ssh, from_ssh, err_ssh;
	struct loop_fd *out_src, *err_src, *tls_src;
	int tls_err;           /* stunnel's log, read for certificate failures */
	bool tls_refused;
	struct linebuf tls_lines;
	struct loop_timer *grace;
	char err[ERR_MAX], *answer;
	size_t err_used;
	struct linebuf err_lines;
	struct loop_timer *timer;
	unsigned tries;
	bool up;
	char prompt[40];
	char ctl[160];
	char *out;
	size_t used;
	bool busy;
	rdvlink_reply_fn reply;
	void *reply_data;
	unsigned depth;  /* inside an owner's callback */
	bool doomed;     /* rdvlink_stop was called from one */
	unsigned failures;
	struct loop_timer *retry;
	struct queued *queue;  /* commands waiting for the one under way */
	char last_error[400];
};

struct queued {
	char line[1100];
	unsigned timeout_s;
	rdvlink_reply_fn reply;
	void *data;
	struct queued *next;
};

static int connect_now(struct rdvlink *l);

/*
 * What the shell sends may hold a tunnel secret (get_vtun_parameters): no
 * copy of it goes back to the allocator readable.
 */
static void free_wiped(char *p, size_t size)
{
	if (p)
		explicit_bzero(p, size);
	free(p);
}

static void free_answer(char *answer)
{
	free_wiped(answer, answer ? strlen(answer) : 0);
}
static void send_next(struct rdvlink *l);
static void drop_queue(struct rdvlink *l);
static void schedule_retry(struct rdvlink *l);

/* Callbacks may stop the link: it is freed when the outermost one returns. */
static void enter(struct rdvlink *l) { l->depth++; }

static bool leave(struct rdvlink *l) /* false: l is gone */
{
	if (--l->depth || !l->doomed)
		return true;
	free_wiped(l->out, OUT_MAX);
	free(l);
	return false;
}

static void teardown(struct rdvlink *l)
{
	loop_cancel_timer(l->loop, l->timer);
	l->timer = NULL;
	loop_cancel_timer(l->loop, l->grace);
	l->grace = NULL;
	free_answer(l->answer);
	l->answer = NULL;
	loop_remove_fd(l->loop, l->out_src);
	loop_remove_fd(l->loop, l->err_src);
	l->out_src = l->err_src = NULL;
	if (l->to_ssh >= 0)
		close(l->to_ssh);
	if (l->from_ssh >= 0)
		close(l->from_ssh);
	if (l->err_ssh >= 0)
		close(l->err_ssh);
	l->to_ssh = l->from_ssh = l->err_ssh = -1;
	loop_remove_fd(l->loop, l->tls_src);
	l->tls_src = NULL;
	if (l->tls_err >= 0)
		close(l->tls_err);
	l->tls_err = -1;
	child_stop(l->ssh);
	child_stop(l->stunnel);
	l->ssh = l->stunnel = NULL;
}

/* Ends the link and tells the owner, once. */
static void on_retry(void *data)
{
	struct rdvlink *l = data;
	int r;

	l->retry = NULL;
	if ((r = connect_now(l)) < 0) {
		teardown(l);
		snprintf(l->last_error, sizeof(l->last_error), "cannot start: %s", strerror(-r));
		schedule_retry(l);
	}
}

/* Never gives up: 1, 2, 4 ... 60 s, +-20% so that devices do not come back in step. */
static void schedule_retry(struct rdvlink *l)
{
	unsigned base = l->failures < 6 ? 1u << l->failures : BACKOFF_MAX_S, jitter = 0;
	uint64_t ms;

	if (base > BACKOFF_MAX_S)
		base = BACKOFF_MAX_S;
	if (getrandom(&jitter, sizeof(jitter), 0) != sizeof(jitter))
		jitter = 0;
	ms = base * 1000ull * (80 + jitter % 41) / 100;
	l->failures++;
	log_warn("%s: RDV server link down: %s; retrying in %.1fs", l->conf.device, l->last_error,
		 (double)ms / 1000);
	loop_add_timer(l->loop, ms, on_retry, l, &l->retry);
}

/* Ends this connection, tells the owner, and tries again later. */
static void fail(struct rdvlink *l, const char *why)
{
	bool was_up = l->up;

	teardown(l);
	snprintf(l->last_error, sizeof(l->last_error), "%s", why);
	l->up = false;
	l->busy = false;
	l->reply = NULL;
	explicit_bzero(l->out, l->used);
	l->used = 0;
	drop_queue(l);
	schedule_retry(l);
	if (was_up && l->state) {
		enter(l);
		l->state(l, false, why, l->data);
		leave(l);
	}
}

static void on_timeout(void *data)
{
	struct rdvlink *l = data;

	l->timer = NULL;
	fail(l, l->up ? "no answer from the RDV server's shell" : "no prompt from the RDV server");
}

static void on_closed(void *data)
{
	struct rdvlink *l = data;

	l->timer = NULL;
	fail(l, "the RDV server closed the connection");
}

static void arm(struct rdvlink *l, unsigned seconds)
{
	loop_cancel_timer(l->loop, l->timer);
	l->timer = NULL;
	loop_add_timer(l->loop, seconds * 1000ull, on_timeout, l, &l->timer);
}

static void on_grace(void *data)
{
	struct rdvlink *l = data;
	rdvlink_reply_fn reply = l->reply;
	char *answer = l->answer;

	l->grace = NULL;
	l->answer = NULL;
	l->busy = false;
	l->reply = NULL;
	l->err[l->err_used] = '\0';
	enter(l);
	if (reply)
		reply(l, answer, l->err, l->reply_data);
	free_answer(answer);
	if (leave(l))
		send_next(l);
}

/* Everything before a prompt is the answer to the command under way. */
static void ignore_reply(struct rdvlink *l, const char *out, const char *errors, void *data)
{
	(void)out;
	(void)data;
	/* an RDV server without the relay path: every session stays classic */
	if (errors[0])
		log_info("%s: the RDV server has no relay data path: classic sessions only",
			 l->conf.device);
}

static bool scan(struct rdvlink *l) /* false: l is gone */
{
	char *p;

	l->out[l->used] = '\0';
	while ((p = strstr(l->out, l->prompt))) {
		size_t plen = strlen(l->prompt), rest = l->used - (size_t)(p - l->out) - plen;

		*p = '\0';
		loop_cancel_timer(l->loop, l->timer);
		l->timer = NULL;
		enter(l);
		if (!l->up) {
			l->up = true;
			l->failures = 0;
			log_info("%s: logged in on the RDV server", l->conf.device);
			/* first: the RDV server knows before any session it could pick */
			if (rdvlink_relay(l))
				rdvlink_cmd(l, "set_tunnelling_dev_data_path relay", PROMPT_TIMEOUT_S,
					    ignore_reply, NULL);
			if (l->state)
				l->state(l, true, NULL, l->data);
		} else if (l->busy && !l->answer) {
			l->answer = strdup(l->out);
			loop_add_timer(l->loop, ERR_GRACE_MS, on_grace, l, &l->grace);
		}
		if (!leave(l))
			return false;
		if (!l->out_src)
			return true; /* failed meanwhile */
		/* the callback may have sent the next command: keep what followed */
		memmove(l->out, p + plen, rest + 1);
		explicit_bzero(l->out + rest + 1, l->used - rest); /* the answer's old bytes */
		l->used = rest;
	}
	return true;
}

static void on_output(int fd, short revents, void *data)
{
	struct rdvlink *l = data;
	ssize_t n;

	(void)revents;
	n = read(fd, l->out + l->used, OUT_MAX - 1 - l->used);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		/* ssh's exit status, due any moment, says more than the closed pipe */
		loop_remove_fd(l->loop, l->out_src);
		l->out_src = NULL;
		loop_cancel_timer(l->loop, l->timer);
		loop_add_timer(l->loop, 1000, on_closed, l, &l->timer);
		return;
	}
	l->used += (size_t)n;
	if (!scan(l))
		return;
	if (l->out_src && l->used >= OUT_MAX - 1)
		fail(l, "the RDV server's shell sent too much");
}

static void log_ssh_line(const char *line, void *data)
{
	log_warn("%s ssh: %s", ((struct rdvlink *)data)->conf.device, line);
}

/*
 * ssh and stunnel give no error codes for why a login failed (ssh exits 255
 * for all of these): their messages are all there is. They are matched in
 * this one table and nowhere else; what a technician is told is our words.
 */
enum login_cause { L_OTHER, L_TLS_CERT, L_KEY_REFUSED, L_HOST_KEY, L_UNREACHABLE };
static const struct {
	const char *says;
	enum login_cause cause;
} tool_messages[] = {
	{ "certificate verify failed", L_TLS_CERT },  /* stunnel (OpenSSL) */
	{ "Rejected by CERT", L_TLS_CERT },
	{ "CERT: Verification error", L_TLS_CERT },
	{ "Permission denied", L_KEY_REFUSED },       /* ssh from here on */
	{ "Host key verification failed", L_HOST_KEY },
	{ "HOST IDENTIFICATION", L_HOST_KEY },
	{ "timed out", L_UNREACHABLE },
	{ "Connection refused", L_UNREACHABLE },
	{ "closed by remote host", L_UNREACHABLE },
	{ "Connection reset", L_UNREACHABLE },
	{ "kex_exchange_identification", L_UNREACHABLE },
};

/* the first cause, in the table's order, that the text names */
static enum login_cause login_cause(const char *text)
{
	for (size_t i = 0; i < ARRAY_SIZE(tool_messages); i++)
		if (strstr(text, tool_messages[i].says))
			return tool_messages[i].cause;
	return L_OTHER;
}

static void tls_line(const char *line, void *data)
{
	struct rdvlink *l = data;

	if (login_cause(line) == L_TLS_CERT)
		l->tls_refused = true;
	log_debug("%s stunnel: %s", l->conf.device, line);
}

/* The shell's errors: logged, and kept for the command's reply. */
static void on_stderr(int fd, short revents, void *data)
{
	struct rdvlink *l = data;
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));

	(void)revents;
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		loop_remove_fd(l->loop, l->err_src);
		l->err_src = NULL;
		return;
	}
	for (ssize_t i = 0; i < n && l->err_used < ERR_MAX - 1; i++)
		l->err[l->err_used++] = buf[i];
	linebuf_feed(&l->err_lines, buf, (size_t)n, log_ssh_line, l);
}

/* What a technician needs to hear, from what ssh and stunnel said. */
static void login_failure(struct rdvlink *l, char *why, size_t len)
{
	enum login_cause cause;

	l->err[l->err_used] = '\0';
	cause = l->tls_refused ? L_TLS_CERT : login_cause(l->err);
	if (cause == L_TLS_CERT)
		snprintf(why, len, "TLS certificate mismatch: the server at %s:%u is not the pinned RDV "
			 "server (%s)", l->conf.host, l->conf.port, l->conf.certificate);
	else if (cause == L_KEY_REFUSED)
		snprintf(why, len, "the RDV server refused this device's key (account %s)", l->conf.device);
	else if (cause == L_HOST_KEY)
		snprintf(why, len, "the RDV server's SSH host key does not match the pinned one (%s)",
			 l->conf.known_hosts);
	else if (cause == L_UNREACHABLE || l->conf.tls)
		snprintf(why, len, "cannot reach the RDV server at %s:%u", l->conf.host, l->conf.port);
	else
		snprintf(why, len, "ssh could not log in");
}

/* stunnel's log: kept in ours, and watched for a refused certificate */
static void on_tls_log(int fd, short revents, void *data)
{
	struct rdvlink *l = data;
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));

	(void)revents;
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		loop_remove_fd(l->loop, l->tls_src);
		l->tls_src = NULL;
		return;
	}
	linebuf_feed(&l->tls_lines, buf, (size_t)n, tls_line, l);
}

static void on_exit_child(struct child *c, int code, int signo, void *data)
{
	struct rdvlink *l = data;
	char why[400];
	bool is_ssh = c == l->ssh;
	const char *what = is_ssh ? "ssh" : "stunnel";

	if (is_ssh)
		l->ssh = NULL;
	else
		l->stunnel = NULL;
	if (signo)
		snprintf(why, sizeof(why), "%s killed by signal %d", what, signo);
	else if (is_ssh && code == 255)
		login_failure(l, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s exited with status %d", what, code);
	fail(l, why);
}

static int start_ssh(struct rdvlink *l)
{
	char port[8], label[64];
	const char *host = l->conf.tls ? "127.0.0.1" : l->conf.host;
	char kfile[160], alias[160];
	char *argv[] = { "/usr/bin/ssh", "-F", "/dev/null", "-T", "-M", "-S", l->ctl, "-p", port,
			 "-i", l->conf.ssh_key, "-l", l->conf.device, "-o", "IdentitiesOnly=yes",
			 "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", kfile,
			 "-o", "GlobalKnownHostsFile=/dev/null", "-o", alias, "-o",
			 "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3", "-o",
			 "ConnectTimeout=20", "-o", "ExitOnForwardFailure=yes", (char *)host, NULL };
	int r;

	snprintf(port, sizeof(port), "%u", l->conf.tls ? l->conf.local_port : l->conf.port);
	snprintf(kfile, sizeof(kfile), "UserKnownHostsFile=%s", l->conf.known_hosts);
	/* the host key is pinned under the RDV server's name, whatever the local port */
	snprintf(alias, sizeof(alias), "HostKeyAlias=%s", l->conf.host);
	snprintf(label, sizeof(label), "%s ssh", l->conf.device);
	unlink(l->ctl);
	r = child_start_io(l->loop, argv, label, on_exit_child, l, &l->ssh, &l->to_ssh,
			    &l->from_ssh, &l->err_ssh);
	if (r < 0)
		return r;
	arm(l, PROMPT_TIMEOUT_S);
	if ((r = loop_add_fd(l->loop, l->err_ssh, POLLIN, on_stderr, l, &l->err_src)) < 0)
		return r;
	return loop_add_fd(l->loop, l->from_ssh, POLLIN, on_output, l, &l->out_src);
}

static bool port_open(unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* stunnel listens a moment after it starts: ssh waits for it. */
static void on_stunnel_probe(void *data)
{
	struct rdvlink *l = data;

	l->timer = NULL;
	if (port_open(l->conf.local_port)) {
		if (start_ssh(l) < 0)
			fail(l, "cannot start ssh");
		return;
	}
	if (++l->tries >= STUNNEL_WAIT_TRIES) {
		fail(l, "stunnel does not listen");
		return;
	}
	loop_add_timer(l->loop, 100, on_stunnel_probe, l, &l->timer);
}

static int start_stunnel(struct rdvlink *l)
{
	char path[200], text[2048], label[64];
	char *argv[] = { "/usr/bin/stunnel4", path, NULL };
	const char *suites = datalink_ciphersuites_local();
	int r, in, out, n;

	snprintf(path, sizeof(path), "%s/stunnel.conf", l->conf.run_dir);
	n = snprintf(text, sizeof(text),
		     "; made by %s's daemon: TLS to the RDV server, its certificate pinned\n"
		     "foreground = yes\npid =\n[rdv]\nclient = yes\naccept = 127.0.0.1:%u\n"
		     "connect = %s:%u\nverifyPeer = yes\nCAfile = %s\nsslVersionMin = TLSv1.2\n"
		     "ciphersuites = %s\n",
		     l->conf.device, l->conf.local_port, l->conf.host, l->conf.port,
		     l->conf.certificate, suites);
	/* the data path: same server, same pin, told apart by SNI on the server */
	if (rdvlink_relay(l))
		snprintf(text + n, sizeof(text) - (size_t)n,
			 "[rdv-data]\nclient = yes\naccept = 127.0.0.1:%u\nconnect = %s:%u\n"
			 "sni = rdv-data\nverifyPeer = yes\nCAfile = %s\nsslVersionMin = TLSv1.2\n"
			 "ciphersuites = %s\n",
			 l->conf.data_local_port, l->conf.host, l->conf.port, l->conf.certificate,
			 suites);
	if ((r = write_file_atomic(path, text, 0600)) < 0)
		return r;
	snprintf(label, sizeof(label), "%s stunnel", l->conf.device);
	if ((r = child_start_io(l->loop, argv, label, on_exit_child, l, &l->stunnel, &in, &out,
				 &l->tls_err)) < 0)
		return r;
	close(in);
	close(out);
	l->tls_refused = false;
	if ((r = loop_add_fd(l->loop, l->tls_err, POLLIN, on_tls_log, l, &l->tls_src)) < 0)
		return r;
	l->tries = 0;
	return loop_add_timer(l->loop, 100, on_stunnel_probe, l, &l->timer);
}

int rdvlink_start(struct loop *loop, const struct rdvlink_conf *conf, rdvlink_state_fn state,
		  void *data, struct rdvlink **out)
{
	struct rdvlink *l = calloc(1, sizeof(*l));
	int r;

	if (!l || !(l->out = malloc(OUT_MAX))) {
		free(l);
		return -ENOMEM;
	}
	l->loop = loop;
	l->conf = *conf;
	l->state = state;
	l->data = data;
	l->to_ssh = l->from_ssh = l->err_ssh = l->tls_err = -1;
	snprintf(l->prompt, sizeof(l->prompt), "%s$ ", conf->device);
	snprintf(l->ctl, sizeof(l->ctl), "%s/ssh.ctl", conf->run_dir);
	snprintf(l->last_error, sizeof(l->last_error), "not connected yet");
	*out = l;
	r = connect_now(l);
	if (r < 0) {
		teardown(l);
		snprintf(l->last_error, sizeof(l->last_error), "cannot start: %s", strerror(-r));
		schedule_retry(l);
	}
	return 0;
}

static int connect_now(struct rdvlink *l)
{
	return l->conf.tls ? start_stunnel(l) : start_ssh(l);
}

bool rdvlink_up(const struct rdvlink *l) { return l->up; }
const struct rdvlink_conf *rdvlink_conf_of(const struct rdvlink *l) { return &l->conf; }
bool rdvlink_relay(const struct rdvlink *l)
{
	return l->conf.tls && !strcmp(l->conf.data_path, "relay");
}

const char *const rdvlink_data_paths[] = { "relay", "classic", NULL };

void rdvlink_conf_defaults(struct rdvlink_conf *c, const char *run_dir)
{
	memset(c, 0, sizeof(*c));
	c->port = 443;
	c->tls = true;
	strcpy(c->certificate, "/etc/rdv/rdv-server.crt");
	strcpy(c->known_hosts, "/etc/rdv/known_hosts");
	strcpy(c->ssh_key, "/etc/rdv/id_ed25519");
	snprintf(c->run_dir, sizeof(c->run_dir), "%s", run_dir);
	c->local_port = 4443;
	strcpy(c->data_path, "relay");
	c->data_local_port = 4444;
}

const char *rdvlink_conf_missing(const struct rdvlink_conf *c)
{
	if (!c->device[0])
		return "'device' (this device's account on the RDV server) is required";
	if (!c->host[0])
		return "'rdv.host' (the RDV server) is required";
	return NULL;
}
void rdvlink_error(const char *errors, char *token, size_t token_len, char *words,
		   size_t words_len)
{
	size_t n = strcspn(errors, "\n"), cmd = strspn(errors, "abcdefghijklmnopqrstuvwxyz_");
	const char *open = NULL, *end = errors + n, *start = errors;

	/* the token is the last bracketed word: a D-Bus error name, nothing else */
	for (const char *p = errors; (p = strstr(p, RDV_ERR_TOKEN_OPEN)) && p < end; p++)
		open = p;
	token[0] = '\0';
	if (open && end[-1] == ']') {
		const char *t = open + strlen(RDV_ERR_TOKEN_OPEN);
		size_t tl = (size_t)(end - 1 - t);
		if (tl && tl < token_len &&
		    strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._") == tl) {
			memcpy(token, t, tl);
			token[tl] = '\0';
			end = open;
		}
	}
	if (cmd && !strncmp(errors + cmd, ": ", 2) && errors + cmd + 2 <= end)
		start = errors + cmd + 2;
	snprintf(words, words_len, "%.*s", (int)(end - start), start);
}

const char *rdvlink_last_error(const struct rdvlink *l) { return l->last_error; }

static int send_line(struct rdvlink *l, const char *line, unsigned timeout_s,
		     rdvlink_reply_fn reply, void *data)
{
	char buf[1100];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);

	/* a short line into an empty pipe: written whole */
	if (write(l->to_ssh, buf, (size_t)n) != n)
		return -EIO;
	l->busy = true;
	l->err_used = 0;
	l->reply = reply;
	l->reply_data = data;
	arm(l, timeout_s);
	return 0;
}

/* after a reply: the next queued command, if any */
static void send_next(struct rdvlink *l)
{
	struct queued *q = l->queue;

	if (!q || l->busy || !l->up)
		return;
	l->queue = q->next;
	if (send_line(l, q->line, q->timeout_s, q->reply, q->data) < 0)
		fail(l, "cannot write to ssh");
	free(q);
}

static void drop_queue(struct rdvlink *l)
{
	while (l->queue) {
		struct queued *q = l->queue;
		l->queue = q->next;
		free(q);
	}
}

int rdvlink_cmd(struct rdvlink *l, const char *line, unsigned timeout_s, rdvlink_reply_fn reply,
		void *data)
{
	struct queued *q, **tail;

	if (!l->up || l->to_ssh < 0)
		return -ENOTCONN;
	if (strlen(line) + 2 > sizeof(q->line))
		return -EINVAL;
	if (!l->busy)
		return send_line(l, line, timeout_s, reply, data);
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	snprintf(q->line, sizeof(q->line), "%s", line);
	q->timeout_s = timeout_s;
	q->reply = reply;
	q->data = data;
	for (tail = &l->queue; *tail; tail = &(*tail)->next)
		;
	*tail = q;
	return 0;
}

int rdvlink_forward(struct rdvlink *l, unsigned local_port, unsigned remote_port, bool add)
{
	char spec[64];
	char *argv[] = { "/usr/bin/ssh", "-F", "/dev/null", "-S", l->ctl, "-O",
			 add ? "forward" : "cancel", "-L", spec, "rdv", NULL };
	struct spawn_opts opts = { .in_fd = -1, .out_fd = -1, .err_fd = -1 };
	siginfo_t si = { 0 };
	pid_t pid;
	int pidfd, r;

	snprintf(spec, sizeof(spec), "127.0.0.1:%u:127.0.0.1:%u", local_port, remote_port);
	if ((r = spawn(argv, &opts, &pid, &pidfd)) < 0)
		return r;
	/* the control socket answers at once: a short wait in the loop is fine */
	r = waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 ? -errno : 0;
	close(pidfd);
	if (r == 0 && (si.si_code != CLD_EXITED || si.si_status != 0))
		r = -EIO;
	return r;
}

void rdvlink_stop(struct rdvlink *l)
{
	if (!l)
		return;
	teardown(l);
	loop_cancel_timer(l->loop, l->retry);
	l->retry = NULL;
	l->state = NULL;
	drop_queue(l);
	unlink(l->ctl);
	if (l->depth) {
		l->doomed = true;
		return;
	}
	free_wiped(l->out, OUT_MAX);
	free(l);
}
