/*
 * The relay data path. Each device of a relay session opens a second TLS
 * connection to 443 (SNI rdv-data); stunnel hands its plaintext to our Unix
 * socket, and the device sends one line:
 *
 *     attach DEVICE TICKET BASE64-SSHSIG
 *
 * the ticket being the one get_vtun_parameters gave it, the signature made by
 * its enrolled SSH key over "DEVICE\nTICKET\n" (namespace rdv-data@rdvkit).
 * Everything before the signature check is cheap and bounded (line cap,
 * deadline, cap on pending attaches) and an unknown ticket is refused without
 * exec'ing anything. Once both sides are in, both get "ok" and are joined
 * with splice(2): rdvd touches no packet in user space and needs no tun,
 * vtund, route or NAT for the session.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "child.h"
#include "log.h"
#include "rdvd.h"
#include "splicer.h"
#include "util.h"

#define LINE_MAX_BYTES 2048
#define ATTACH_DEADLINE_MS 5000
#define MAX_PENDING 32
#define SSH_KEYGEN "/usr/bin/ssh-keygen"
#define SIG_NAMESPACE "rdv-data@rdvkit"
#define TICKET_BYTES 16
#define RELAY_END_GRACE_MS 500

struct attach {
	struct rdvd *d;
	int fd;
	struct loop_fd *src;
	struct loop_timer *deadline;
	char line[LINE_MAX_BYTES];
	size_t len;
	/* set once the line names a live ticket */
	struct session *s;
	enum side_idx side;
	char device[32];
	struct child *verify;
	char tmp[200];         /* private directory of the signature files */
	struct attach *next;
};

static void attach_free(struct rdvd *d, struct attach *a)
{
	for (struct attach **p = &d->attaches; *p; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			d->n_attaches--;
			break;
		}
	}
	loop_remove_fd(d->loop, a->src);
	loop_cancel_timer(d->loop, a->deadline);
	child_stop(a->verify);
	if (a->s && a->s->rs[a->side].state == TICKET_CHECKING)
		a->s->rs[a->side].state = TICKET_FREE; /* its owner may still attach */
	if (a->tmp[0]) {
		char path[260];
		snprintf(path, sizeof(path), "%s/allowed_signers", a->tmp);
		unlink(path);
		snprintf(path, sizeof(path), "%s/sig", a->tmp);
		unlink(path);
		rmdir(a->tmp);
	}
	if (a->fd >= 0)
		close(a->fd);
	explicit_bzero(a->line, sizeof(a->line));
	free(a);
}

/* The peer hears a fixed word, the log says more (never the ticket). */
static void refuse(struct rdvd *d, struct attach *a, const char *word, const char *why)
{
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "error %s\n", word);

	if (write(a->fd, msg, (size_t)n) < 0) {
		/* gone already */
	}
	log_warn("data path: attach refused%s%s: %s", a->device[0] ? " for " : "", a->device, why);
	attach_free(d, a);
}

static void on_deadline(void *data)
{
	struct attach *a = data;

	a->deadline = NULL;
	refuse(a->d, a, "timeout", "no complete attach line in time");
}

/* The ticket compared in constant time: its bytes are the secret. */
static bool ticket_equal(const char *a, const char *b)
{
	unsigned char diff = 0;

	if (strlen(a) != 2 * TICKET_BYTES || strlen(b) != 2 * TICKET_BYTES)
		return false;
	for (size_t i = 0; i < 2 * TICKET_BYTES; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* The session side whose unused ticket this is, for this device. */
static struct session *find_ticket(struct rdvd *d, const char *device, const char *ticket,
				   enum side_idx *side, const char **why)
{
	struct device *dev = device_by_name(d, device);
	struct session *s = dev ? dev->session : NULL;

	*why = "no relay session for this device";
	if (!s || !s->relay)
		return NULL;
	for (int i = 0; i < 2; i++) {
		if (s->side[i].dev != dev)
			continue;
		if (!ticket_equal(s->rs[i].ticket, ticket)) {
			*why = "not this device's ticket";
			return NULL;
		}
		if (s->rs[i].state != TICKET_FREE) {
			*why = "ticket already used";
			return NULL;
		}
		*side = (enum side_idx)i;
		return s;
	}
	return NULL;
}

/*
 * allowed_signers from the key the administrator enrolled, as rdvctl writes
 * it: "OPTIONS KEYTYPE BASE64 [COMMENT]" per line; the options are dropped.
 */
static int write_signers(const struct rdvd *d, const char *device, const char *path)
{
	char kpath[300], line[4096], out[8192];
	size_t used = 0;
	FILE *f;

	snprintf(kpath, sizeof(kpath), "%s/%s", d->conf.keys_dir, device);
	if (!(f = fopen(kpath, "re")))
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok, *type = NULL, *key = NULL;
		for (tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
			if (!strncmp(tok, "ssh-", 4) || !strncmp(tok, "ecdsa-", 6) ||
			    !strncmp(tok, "sk-", 3)) {
				type = tok;
				key = strtok_r(NULL, " \t\n", &save);
				break;
			}
		}
		if (!type || !key || strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					      "0123456789+/=") != strlen(key))
			continue;
		int n = snprintf(out + used, sizeof(out) - used, "%s %s %s\n", device, type, key);
		if (n < 0 || (size_t)n >= sizeof(out) - used)
			break;
		used += (size_t)n;
	}
	fclose(f);
	if (!used)
		return -ENOKEY;
	return write_file_atomic(path, out, 0600);
}

/* The signature as ssh-keygen reads it: armored, 70 columns. */
static int write_sig(const char *b64, const char *path)
{
	char out[LINE_MAX_BYTES + 200];
	size_t used, len = strlen(b64);

	used = (size_t)snprintf(out, sizeof(out), "-----BEGIN SSH SIGNATURE-----\n");
	for (size_t i = 0; i < len; i += 70)
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%.70s\n", b64 + i);
	snprintf(out + used, sizeof(out) - used, "-----END SSH SIGNATURE-----\n");
	return write_file_atomic(path, out, 0600);
}

static void attached(struct rdvd *d, struct attach *a)
{
	struct session *s = a->s;
	enum side_idx i = a->side;

	s->rs[i].state = TICKET_USED;
	s->rs[i].fd = a->fd;
	a->fd = -1;
	a->s = NULL;
	log_info("session %u: %s %s attached to the data path", s->id, side_name(i), a->device);
	attach_free(d, a);
	if (s->rs[!i].fd >= 0)
		session_relay_established(d, s);
}

static void on_verified(struct child *c, int code, int signo, void *data)
{
	struct attach *a = data;
	struct rdvd *d = a->d;

	(void)c;
	a->verify = NULL;
	if (code != 0 || signo) {
		refuse(d, a, "denied", "the signature is not by this device's enrolled key");
		return;
	}
	attached(d, a);
}

/* ssh-keygen -Y verify, supervised, in the loop: the message on its stdin. */
static int start_verify(struct rdvd *d, struct attach *a, const char *sig)
{
	char signers[260], sigfile[260], msg[80], label[80];
	char *argv[] = { SSH_KEYGEN, "-Y", "verify", "-f", signers, "-I", a->device,
			 "-n", SIG_NAMESPACE, "-s", sigfile, NULL };
	int in, out, r, n;

	snprintf(a->tmp, sizeof(a->tmp), "%s/attach-XXXXXX", d->conf.run_dir);
	if (!mkdtemp(a->tmp)) {
		a->tmp[0] = '\0';
		return -errno;
	}
	snprintf(signers, sizeof(signers), "%s/allowed_signers", a->tmp);
	snprintf(sigfile, sizeof(sigfile), "%s/sig", a->tmp);
	if ((r = write_signers(d, a->device, signers)) < 0 || (r = write_sig(sig, sigfile)) < 0)
		return r;
	snprintf(label, sizeof(label), "data path: signature check of %s", a->device);
	if ((r = child_start_io(d->loop, argv, label, on_verified, a, &a->verify, &in, &out, NULL)) < 0)
		return r;
	n = snprintf(msg, sizeof(msg), "%s\n%s\n", a->device, a->s->rs[a->side].ticket);
	r = write(in, msg, (size_t)n) == n ? 0 : -EIO;
	explicit_bzero(msg, sizeof(msg));
	close(in);
	close(out);
	return r;
}

static bool only(const char *s, const char *set) { return *s && strspn(s, set) == strlen(s); }

/* "attach DEVICE TICKET SIG": checked in full before anything is looked up or run. */
static void on_line(struct rdvd *d, struct attach *a)
{
	char *save = NULL, *verb, *dev, *ticket, *sig;
	const char *why;
	int r;

	verb = strtok_r(a->line, " ", &save);
	dev = strtok_r(NULL, " ", &save);
	ticket = strtok_r(NULL, " ", &save);
	sig = strtok_r(NULL, " ", &save);
	if (!verb || strcmp(verb, "attach") || !dev || !ticket || !sig || strtok_r(NULL, " ", &save) ||
	    !device_name_valid(dev) || strlen(ticket) != 2 * TICKET_BYTES ||
	    !only(ticket, "0123456789abcdef") ||
	    !only(sig, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")) {
		refuse(d, a, "syntax", "not an attach line");
		return;
	}
	snprintf(a->device, sizeof(a->device), "%s", dev);
	a->s = find_ticket(d, dev, ticket, &a->side, &why);
	if (!a->s) {
		refuse(d, a, "denied", why);
		return;
	}
	a->s->rs[a->side].state = TICKET_CHECKING; /* one check at a time per ticket */
	loop_remove_fd(d->loop, a->src);
	a->src = NULL;
	if ((r = start_verify(d, a, sig)) < 0)
		refuse(d, a, "failed", r == -ENOKEY ? "no enrolled key" : strerror(-r));
}

static void on_attach_data(int fd, short revents, void *data)
{
	struct attach *a = data;
	struct rdvd *d = a->d;
	ssize_t n;
	char *nl;

	(void)revents;
	n = read(fd, a->line + a->len, sizeof(a->line) - 1 - a->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		log_debug("data path: a connection closed before attaching");
		attach_free(d, a);
		return;
	}
	a->len += (size_t)n;
	a->line[a->len] = '\0';
	nl = memchr(a->line, '\n', a->len);
	if (!nl) {
		if (a->len >= sizeof(a->line) - 1)
			refuse(d, a, "syntax", "attach line too long");
		else if (memchr(a->line, '\0', a->len))
			refuse(d, a, "syntax", "binary data");
		return;
	}
	/* a device sends nothing more before "ok": more is not a device */
	if ((size_t)(nl - a->line) != a->len - 1 || memchr(a->line, '\0', a->len)) {
		refuse(d, a, "syntax", "data after the attach line");
		return;
	}
	*nl = '\0';
	on_line(d, a);
}

static bool peer_allowed(const struct rdvd *d, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd *pw;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	if (cred.uid == 0)
		return true;
	pw = getpwnam(d->conf.data_peer_user);
	return pw && pw->pw_uid != 0 && pw->pw_uid == cred.uid;
}

static void on_accept(int lfd, short revents, void *data)
{
	struct rdvd *d = data;
	struct attach *a;
	int fd;

	(void)revents;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!peer_allowed(d, fd)) {
		log_warn("data path: connection from a process that is neither root nor %s refused",
			 d->conf.data_peer_user);
		close(fd);
		return;
	}
	if (d->n_attaches >= MAX_PENDING) {
		/*
		 * Anyone on the Internet can hold connections open here without a
		 * ticket; refusing newcomers would let them lock devices out. The
		 * oldest that has not named a live ticket yet makes room instead: a
		 * device sends its line at once, so it is never the oldest idle one.
		 */
		struct attach *old = NULL;
		for (struct attach *p = d->attaches; p; p = p->next)
			if (!p->s)
				old = p; /* newest first: the last one is the oldest */
		if (!old) {
			log_warn("data path: %u attaches under check already, one more refused",
				 d->n_attaches);
			close(fd);
			return;
		}
		log_warn("data path: %u attaches pending, the oldest without a ticket dropped",
			 d->n_attaches);
		refuse(d, old, "busy", "dropped for a newer connection");
	}
	if (!(a = calloc(1, sizeof(*a)))) {
		close(fd);
		return;
	}
	a->d = d;
	a->fd = fd;
	a->next = d->attaches;
	d->attaches = a;
	d->n_attaches++;
	if (loop_add_fd(d->loop, fd, POLLIN, on_attach_data, a, &a->src) < 0 ||
	    loop_add_timer(d->loop, ATTACH_DEADLINE_MS, on_deadline, a, &a->deadline) < 0)
		attach_free(d, a);
}

static void socket_path(const struct rdvd *d, char *buf, size_t len)
{
	if (d->conf.data_socket[0])
		snprintf(buf, len, "%s", d->conf.data_socket);
	else
		snprintf(buf, len, "%s/data.sock", d->conf.run_dir);
}

/* Signature files a crashed rdvd left in run_dir. */
static void remove_stale(const struct rdvd *d)
{
	DIR *dir = opendir(d->conf.run_dir);
	struct dirent *de;
	int fd;

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "attach-", 7))
			continue;
		fd = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			unlinkat(fd, "allowed_signers", 0);
			unlinkat(fd, "sig", 0);
			close(fd);
		}
		unlinkat(dirfd(dir), de->d_name, AT_REMOVEDIR);
	}
	closedir(dir);
}

int relay_init(struct rdvd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[CONF_STR + 16];
	int fd, r;

	d->data_fd = -1;
	remove_stale(d);
	socket_path(d, path, sizeof(path));
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("data.socket '%s' is too long for a Unix socket", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* a previous rdvd's */
	/* reachable by stunnel's user; who may talk is checked per connection */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 64) < 0) {
		r = -errno;
		log_err("cannot listen on %s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	if ((r = loop_add_fd(d->loop, fd, POLLIN, on_accept, d, &d->data_src)) < 0) {
		close(fd);
		return r;
	}
	d->data_fd = fd;
	log_info("data path: attaches on %s (peers: root, %s)", path, d->conf.data_peer_user);
	return 0;
}

void relay_fini(struct rdvd *d)
{
	char path[CONF_STR + 16];

	while (d->attaches)
		attach_free(d, d->attaches);
	if (d->data_fd < 0)
		return;
	loop_remove_fd(d->loop, d->data_src);
	close(d->data_fd);
	d->data_fd = -1;
	remove_stale(d);
	socket_path(d, path, sizeof(path));
	unlink(path);
}

int relay_session_open(struct rdvd *d, struct session *s)
{
	int r;

	(void)d;
	snprintf(s->vtun_name, sizeof(s->vtun_name), "relay%u", s->id);
	for (int i = 0; i < 2; i++) {
		s->rs[i].fd = -1;
		s->rs[i].state = TICKET_FREE;
		if ((r = random_hex(s->rs[i].ticket, TICKET_BYTES)) < 0)
			return r;
	}
	return 0;
}

static void on_relay_end(void *data)
{
	struct session *s = data;

	s->relay_end = NULL;
	session_end(s->rdvd, s, s->relay_why);
}

/*
 * A device ending a session says why with drop_vtun over its SSH link, then
 * closes its data connection; the close comes first here. The reason gets a
 * moment to arrive before the close is logged as the cause.
 */
static void on_relay_done(struct splicer *sp, const char *why, void *data)
{
	struct session *s = data;

	(void)sp;
	snprintf(s->relay_why, sizeof(s->relay_why), "%s", why);
	if (loop_add_timer(s->rdvd->loop, RELAY_END_GRACE_MS, on_relay_end, s, &s->relay_end) < 0)
		session_end(s->rdvd, s, why);
}

/* Both sides in: "ok" to each, then the kernel moves the bytes. */
int relay_join(struct rdvd *d, struct session *s)
{
	int r;

	for (int i = 0; i < 2; i++)
		if (write(s->rs[i].fd, "ok\n", 3) != 3)
			return -EIO;
	r = splicer_start(d->loop, s->rs[SIDE_MASTER].fd, s->rs[SIDE_ONSITE].fd, "master", "onsite",
			  on_relay_done, s, &s->splicer);
	s->rs[0].fd = s->rs[1].fd = -1; /* the splicer's now, or closed */
	return r;
}

void relay_bytes(const struct session *s, uint64_t bytes[2])
{
	if (s->splicer)
		splicer_bytes(s->splicer, bytes);
	else
		bytes[0] = bytes[1] = 0;
}

void relay_session_end(struct rdvd *d, struct session *s)
{
	struct attach *next;

	for (struct attach *a = d->attaches; a; a = next) {
		next = a->next;
		if (a->s == s) {
			a->s = NULL;
			refuse(d, a, "ended", "the session ended");
		}
	}
	loop_cancel_timer(d->loop, s->relay_end);
	s->relay_end = NULL;
	relay_bytes(s, s->relay_bytes);
	splicer_free(s->splicer);
	s->splicer = NULL;
	for (int i = 0; i < 2; i++) {
		if (s->rs[i].fd >= 0)
			close(s->rs[i].fd);
		s->rs[i].fd = -1;
		explicit_bzero(s->rs[i].ticket, sizeof(s->rs[i].ticket));
	}
}
