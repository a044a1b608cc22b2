#define _GNU_SOURCE
#include "devtunnel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "datalink.h"
#include "log.h"
#include "loop.h"
#include "nl.h"
#include "splicer.h"
#include "util.h"
#include "vtunparams.h"

/*
 * The RDV server answers get_vtun_parameters as soon as it has started its
 * vtund, which may take a while to listen on a loaded server: a client that
 * is refused at once tries again, a few times, before the session is given up.
 */
#define VTUND_QUICK_EXIT_MS 2000
#define VTUND_RETRY_MS 500
#define VTUND_TRIES 10

static int spawn_vtund(struct devtunnel *t);

static void on_retry(void *data)
{
	struct devtunnel *t = data;

	t->retry = NULL;
	if (spawn_vtund(t) < 0)
		t->on_vtund_exit(NULL, -1, 0, t->data);
}

static void on_vtund_exit(struct child *c, int code, int signo, void *data)
{
	struct devtunnel *t = data;

	t->vtund = NULL;
	if (!t->relay && !t->up && !signo && t->tries < VTUND_TRIES &&
	    now_ms() - t->vtund_started < VTUND_QUICK_EXIT_MS) {
		log_info("%s vtund: refused at once (the RDV server's vtund not listening yet?), "
			 "trying again", t->device);
		loop_add_timer(t->loop, VTUND_RETRY_MS, on_retry, t, &t->retry);
		return;
	}
	t->on_vtund_exit(c, code, signo, t->data);
}

static int spawn_vtund(struct devtunnel *t)
{
	char label[64];
	char *argv[] = { "/usr/sbin/vtund", "-n", "-f", t->conf_path, t->session, "127.0.0.1", NULL };
	char *server[] = { "/usr/sbin/vtund", "-s", "-i", "-n", "-f", t->conf_path, NULL };
	int r;

	snprintf(label, sizeof(label), "%s vtund", t->device);
	if (t->relay && t->server) {
		/* inetd mode: the attached data connection is its stdin and stdout */
		t->tries++;
		t->vtund_started = now_ms();
		r = child_start_fds(t->loop, server, label, on_vtund_exit, t, &t->vtund, t->data_fd,
				    t->data_fd);
		close(t->data_fd);
		t->data_fd = -1;
		return r;
	}
	t->tries++;
	t->vtund_started = now_ms();
	return child_start(t->loop, argv, label, on_vtund_exit, t, &t->vtund);
}

static void conf_path(char *buf, size_t len, const char *run_dir)
{
	snprintf(buf, len, "%s/vtund.conf", run_dir);
}

void devtunnel_purge(struct nl_sock *nl, const char *ifname, const char *run_dir)
{
	char path[200];

	nl_link_delete(nl, ifname);
	conf_path(path, sizeof(path), run_dir);
	if (unlink(path) == 0)
		log_warn("removed %s left by a previous run", path);
}

static int write_vtund_conf(struct devtunnel *t, const struct vtun_params *p, unsigned port)
{
	char text[512];
	int r;

	conf_path(t->conf_path, sizeof(t->conf_path), t->run_dir);
	snprintf(t->session, sizeof(t->session), "%s", p->session);
	if (t->relay && t->server)
		snprintf(text, sizeof(text),
			 "options {\n  timeout 30;\n}\n%s {\n  passwd %s;\n  type tun;\n"
			 "  proto tcp;\n  device %s;\n  compress no;\n  encrypt no;\n"
			 "  keepalive yes;\n  stat no;\n}\n", p->session, p->secret, t->ifname);
	else
		snprintf(text, sizeof(text),
			 "options {\n  port %u;\n  timeout 30;\n}\n%s {\n  passwd %s;\n  type tun;\n"
			 "  proto tcp;\n  device %s;\n  persist no;\n  keepalive yes;\n}\n",
			 port, p->session, p->secret, t->ifname);
	r = write_file_atomic(t->conf_path, text, 0600);
	explicit_bzero(text, sizeof(text));
	t->tries = 0;
	t->up = false;
	return r;
}

static int start_vtund(struct devtunnel *t, const struct vtun_params *p)
{
	int r = write_vtund_conf(t, p, t->local_port);

	return r < 0 ? r : spawn_vtund(t);
}

/* ---- relay data path ---------------------------------------------------------- */

static void relay_failed(struct devtunnel *t, const char *why)
{
	log_warn("%s: data path: %s", t->device, why);
	t->on_vtund_exit(NULL, -1, 0, t->data);
}

static void on_splice_done(struct splicer *sp, const char *why, void *data)
{
	struct devtunnel *t = data;

	(void)sp;
	log_info("%s: data path: %s", t->device, why);
	/* vtund sees its connection close and exits: that ends the session */
	splicer_free(t->splicer);
	t->splicer = NULL;
}

/* The local vtund client is in: join it to the data connection. */
static void on_local_vtund(int fd, short revents, void *data)
{
	struct devtunnel *t = data;
	int c;

	(void)revents;
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	loop_remove_fd(t->loop, t->listen_src);
	t->listen_src = NULL;
	close(t->listen_fd);
	t->has_listener = false;
	if (splicer_start(t->loop, c, t->data_fd, "vtund", "data connection", on_splice_done, t,
			  &t->splicer) < 0) {
		t->data_fd = -1;
		relay_failed(t, "cannot join vtund to the data connection");
		return;
	}
	t->data_fd = -1;
}

static void on_attached(struct datalink *dl, int fd, const char *why, void *data)
{
	struct devtunnel *t = data;

	datalink_stop(dl);
	t->attach = NULL;
	if (fd < 0) {
		relay_failed(t, why);
		return;
	}
	log_info("%s: attached to the data path", t->device);
	t->data_fd = fd;
	if (t->server || loop_add_fd(t->loop, t->listen_fd, POLLIN, on_local_vtund, t,
				     &t->listen_src) == 0) {
		if (spawn_vtund(t) == 0)
			return;
	}
	relay_failed(t, "cannot start vtund");
}

/* 127.0.0.1, a port of the kernel's choosing: where the onsite's vtund client connects */
static int listen_local(struct devtunnel *t, unsigned *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -errno;
	}
	t->listen_fd = fd;
	t->has_listener = true;
	*port = ntohs(sa.sin_port);
	return 0;
}

static int relay_start(struct devtunnel *t, const struct vtun_params *p, const char **why)
{
	unsigned port = 0;
	int r;

	t->server = !strcmp(p->role, "server");
	if (!t->server && (r = listen_local(t, &port)) < 0) {
		*why = "cannot listen for the local vtund";
		return r;
	}
	if ((r = write_vtund_conf(t, p, port)) < 0) {
		*why = "cannot write vtund's configuration";
		return r;
	}
	if ((r = datalink_start(t->loop, rdvlink_conf_of(t->link), p->ticket, on_attached, t,
				&t->attach)) < 0)
		*why = "cannot start the data path attach";
	return r;
}

int devtunnel_start(struct devtunnel *t, const char *params, const char **why)
{
	struct vtun_params p;
	uint32_t ip;
	int r;

	if ((r = vtun_params_parse(params, &p, &t->net, &ip, &t->remote_port)) < 0) {
		*why = "the RDV server sent unusable vtun parameters";
		goto out;
	}
	snprintf(t->rdv_ip, sizeof(t->rdv_ip), "%s", p.rdvip);
	t->relay = p.data_path[0] != '\0';
	t->data_fd = -1;
	if (t->relay) {
		nl_link_delete(t->nl, t->ifname);
		if ((r = nl_tun_create(t->nl, t->ifname, ip, 30, &t->ifindex)) < 0) {
			*why = "cannot create the tunnel interface";
			goto out;
		}
		t->has_tun = true;
		r = relay_start(t, &p, why);
		goto out;
	}
	if ((r = rdvlink_forward(t->link, t->local_port, t->remote_port, true)) < 0) {
		*why = "the SSH forward to vtund was refused";
		goto out;
	}
	t->has_forward = true;
	nl_link_delete(t->nl, t->ifname); /* a leftover of a crash */
	if ((r = nl_tun_create(t->nl, t->ifname, ip, 30, &t->ifindex)) < 0) {
		*why = "cannot create the tunnel interface";
		goto out;
	}
	t->has_tun = true;
	if ((r = start_vtund(t, &p)) < 0)
		*why = "cannot start vtund";
out:
	explicit_bzero(&p, sizeof(p));
	return r;
}

void devtunnel_stop(struct devtunnel *t)
{
	loop_cancel_timer(t->loop, t->retry);
	t->retry = NULL;
	datalink_stop(t->attach);
	t->attach = NULL;
	splicer_free(t->splicer);
	t->splicer = NULL;
	if (t->has_listener) {
		loop_remove_fd(t->loop, t->listen_src);
		t->listen_src = NULL;
		close(t->listen_fd);
	}
	t->has_listener = false;
	if (t->relay && t->data_fd >= 0)
		close(t->data_fd);
	t->data_fd = -1;
	child_stop(t->vtund);
	t->vtund = NULL;
	if (t->conf_path[0])
		unlink(t->conf_path);
	t->conf_path[0] = '\0';
	if (t->has_tun)
		nl_link_delete(t->nl, t->ifname);
	t->has_tun = false;
	if (t->has_forward && t->link)
		rdvlink_forward(t->link, t->local_port, t->remote_port, false);
	t->has_forward = false;
}
