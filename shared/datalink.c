#define _GNU_SOURCE
#include "datalink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "child.h"
#include "log.h"
#include "util.h"

#define SSH_KEYGEN "/usr/bin/ssh-keygen"
#define ANSWER_TIMEOUT_MS 15000
#define SIG_MAX 2048

struct datalink {
	struct loop *loop;
	struct rdvlink_conf conf;
	char ticket[40];
	datalink_done_fn done;
	void *data;
	struct child *signer;
	int sig_fd;              /* the signer's stdout */
	struct loop_fd *sig_src;
	char sig[SIG_MAX + 512];
	size_t sig_len;
	int fd;                  /* to stunnel's data service */
	struct loop_fd *src;
	struct loop_timer *timer;
	char answer[64];
	size_t answer_len;
};

static const char *const AES_FIRST =
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
static const char *const CHACHA_FIRST =
	"TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";

/* x86 lists its CPU features as "flags", arm64 as "Features"; "aes" is the word for both. */
const char *datalink_ciphersuites(const char *cpuinfo)
{
	const char *line = cpuinfo;

	while (line && *line) {
		const char *end = strchr(line, '\n'), *colon;
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if ((!strncmp(line, "flags", 5) || !strncmp(line, "Features", 8)) &&
		    (colon = memchr(line, ':', len))) {
			for (const char *p = colon + 1; p < line + len;) {
				size_t w;
				p += strspn(p, " \t");
				w = strcspn(p, " \t\n");
				if (w == 3 && !strncmp(p, "aes", 3))
					return AES_FIRST;
				p += w ? w : 1;
			}
			return CHACHA_FIRST; /* the first CPU's list decides */
		}
		line = end ? end + 1 : NULL;
	}
	return CHACHA_FIRST;
}

const char *datalink_ciphersuites_local(void)
{
	static const char *cached;
	char *buf;
	ssize_t n;
	size_t used = 0;
	int fd;

	if (cached)
		return cached;
	buf = malloc(65536);
	fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
	while (buf && fd >= 0 && used < 65535 && (n = read(fd, buf + used, 65535 - used)) > 0)
		used += (size_t)n;
	if (fd >= 0)
		close(fd);
	if (buf) {
		buf[used] = '\0';
		cached = datalink_ciphersuites(buf);
	}
	free(buf);
	return cached ? cached : CHACHA_FIRST;
}

static void finish(struct datalink *dl, const char *why)
{
	int fd = why ? -1 : dl->fd;

	if (!why)
		dl->fd = -1;
	dl->done(dl, fd, why, dl->data);
}

static void on_answer_timeout(void *data)
{
	struct datalink *dl = data;

	dl->timer = NULL;
	finish(dl, "no answer from the RDV server's data path");
}

/* Byte by byte: what follows "ok\n" is already the peer's vtun stream. */
static void on_answer(int fd, short revents, void *data)
{
	struct datalink *dl = data;
	char c, why[128];
	ssize_t n;

	(void)revents;
	n = read(fd, &c, 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		finish(dl, "the RDV server closed the data connection");
		return;
	}
	if (c != '\n') {
		if (dl->answer_len < sizeof(dl->answer) - 1)
			dl->answer[dl->answer_len++] = c;
		return;
	}
	dl->answer[dl->answer_len] = '\0';
	loop_remove_fd(dl->loop, dl->src);
	dl->src = NULL;
	loop_cancel_timer(dl->loop, dl->timer);
	dl->timer = NULL;
	if (!strcmp(dl->answer, "ok")) {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		finish(dl, NULL);
		return;
	}
	snprintf(why, sizeof(why), "the RDV server refused the data path: %s",
		 str_printable(dl->answer));
	finish(dl, why);
}

static int send_attach(struct datalink *dl, const char *sig)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)dl->conf.data_local_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char line[SIG_MAX + 128];
	int n, r;

	dl->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (dl->fd < 0)
		return -errno;
	/* loopback, to stunnel: it accepts at once and connects onwards on its own */
	if (connect(dl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	n = snprintf(line, sizeof(line), "attach %s %s %s\n", dl->conf.device, dl->ticket, sig);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -E2BIG;
	r = write(dl->fd, line, (size_t)n) == n ? 0 : -EIO;
	explicit_bzero(line, sizeof(line));
	if (r < 0)
		return r;
	fcntl(dl->fd, F_SETFL, fcntl(dl->fd, F_GETFL) | O_NONBLOCK);
	if ((r = loop_add_fd(dl->loop, dl->fd, POLLIN, on_answer, dl, &dl->src)) < 0)
		return r;
	return loop_add_timer(dl->loop, ANSWER_TIMEOUT_MS, on_answer_timeout, dl, &dl->timer);
}

static void read_sig(struct datalink *dl)
{
	ssize_t n;

	while (dl->sig_fd >= 0 && dl->sig_len < sizeof(dl->sig) - 1 &&
	       (n = read(dl->sig_fd, dl->sig + dl->sig_len, sizeof(dl->sig) - 1 - dl->sig_len)) > 0)
		dl->sig_len += (size_t)n;
	dl->sig[dl->sig_len] = '\0';
}

static void on_sig_data(int fd, short revents, void *data)
{
	struct datalink *dl = data;

	(void)fd;
	(void)revents;
	read_sig(dl);
	if (dl->sig_len >= sizeof(dl->sig) - 1 || (revents & (POLLHUP | POLLERR))) {
		loop_remove_fd(dl->loop, dl->sig_src);
		dl->sig_src = NULL;
	}
}

/* The armored signature's base64, on one line. */
static int unarmor(const char *in, char *out, size_t outlen)
{
	size_t used = 0;

	for (const char *line = in; *line;) {
		size_t len = strcspn(line, "\n");
		if (strncmp(line, "-----", 5)) {
			if (used + len >= outlen)
				return -E2BIG;
			memcpy(out + used, line, len);
			used += len;
		}
		line += len + (line[len] == '\n');
	}
	out[used] = '\0';
	return used ? 0 : -EINVAL;
}

static void on_signed(struct child *c, int code, int signo, void *data)
{
	struct datalink *dl = data;
	char sig[SIG_MAX];
	int r;

	(void)c;
	dl->signer = NULL;
	read_sig(dl);
	loop_remove_fd(dl->loop, dl->sig_src);
	dl->sig_src = NULL;
	close(dl->sig_fd);
	dl->sig_fd = -1;
	if (code != 0 || signo || unarmor(dl->sig, sig, sizeof(sig)) < 0) {
		finish(dl, "cannot sign the data path attach with this device's SSH key");
		return;
	}
	if ((r = send_attach(dl, sig)) < 0) {
		log_warn("%s: data path: %s", dl->conf.device, strerror(-r));
		finish(dl, "cannot reach the local stunnel's data service");
	}
}

int datalink_start(struct loop *loop, const struct rdvlink_conf *conf, const char *ticket,
		   datalink_done_fn done, void *data, struct datalink **out)
{
	struct datalink *dl = calloc(1, sizeof(*dl));
	char label[64], msg[80];
	char *argv[] = { SSH_KEYGEN, "-q", "-Y", "sign", "-f", NULL, "-n", DATALINK_NAMESPACE, NULL };
	int in, r, n;

	if (!dl)
		return -ENOMEM;
	*dl = (struct datalink){ .loop = loop, .conf = *conf, .done = done, .data = data,
				 .sig_fd = -1, .fd = -1 };
	snprintf(dl->ticket, sizeof(dl->ticket), "%s", ticket);
	argv[5] = dl->conf.ssh_key;
	snprintf(label, sizeof(label), "%s data path signer", conf->device);
	/* the message on stdin, never in argv */
	if ((r = child_start_io(loop, argv, label, on_signed, dl, &dl->signer, &in, &dl->sig_fd,
				NULL)) < 0) {
		free(dl);
		return r;
	}
	n = snprintf(msg, sizeof(msg), "%s\n%s\n", conf->device, ticket);
	r = write(in, msg, (size_t)n) == n ? 0 : -EIO;
	explicit_bzero(msg, sizeof(msg));
	close(in);
	if (r == 0)
		r = loop_add_fd(loop, dl->sig_fd, POLLIN, on_sig_data, dl, &dl->sig_src);
	if (r < 0) {
		datalink_stop(dl);
		return r;
	}
	*out = dl;
	return 0;
}

void datalink_stop(struct datalink *dl)
{
	if (!dl)
		return;
	child_stop(dl->signer);
	loop_remove_fd(dl->loop, dl->sig_src);
	loop_remove_fd(dl->loop, dl->src);
	loop_cancel_timer(dl->loop, dl->timer);
	if (dl->sig_fd >= 0)
		close(dl->sig_fd);
	if (dl->fd >= 0)
		close(dl->fd);
	explicit_bzero(dl->ticket, sizeof(dl->ticket));
	free(dl);
}
