#include "devtunnel.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "loop.h"
#include "nl.h"
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
	if (!t->up && !signo && t->tries < VTUND_TRIES &&
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

	snprintf(label, sizeof(label), "%s vtund", t->device);
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

static int start_vtund(struct devtunnel *t, const struct vtun_params *p)
{
	char text[512];
	int r;

	conf_path(t->conf_path, sizeof(t->conf_path), t->run_dir);
	snprintf(t->session, sizeof(t->session), "%s", p->session);
	snprintf(text, sizeof(text),
		 "options {\n  port %u;\n  timeout 30;\n}\n%s {\n  passwd %s;\n  type tun;\n"
		 "  proto tcp;\n  device %s;\n  persist no;\n  keepalive yes;\n}\n",
		 t->local_port, p->session, p->secret, t->ifname);
	r = write_file_atomic(t->conf_path, text, 0600);
	explicit_bzero(text, sizeof(text));
	if (r < 0)
		return r;
	t->tries = 0;
	t->up = false;
	return spawn_vtund(t);
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
