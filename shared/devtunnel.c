#include "devtunnel.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "nl.h"
#include "util.h"
#include "vtunparams.h"

static int start_vtund(struct devtunnel *t, const struct vtun_params *p)
{
	char text[512], label[64];
	char *argv[] = { "/usr/sbin/vtund", "-n", "-f", t->conf_path, (char *)p->session,
			 "127.0.0.1", NULL };
	int r;

	snprintf(t->conf_path, sizeof(t->conf_path), "%s/vtund.conf", t->run_dir);
	snprintf(text, sizeof(text),
		 "options {\n  port %u;\n  timeout 30;\n}\n%s {\n  passwd %s;\n  type tun;\n"
		 "  proto tcp;\n  device %s;\n  persist no;\n  keepalive yes;\n}\n",
		 t->local_port, p->session, p->secret, t->ifname);
	r = write_file_atomic(t->conf_path, text, 0600);
	explicit_bzero(text, sizeof(text));
	if (r < 0)
		return r;
	snprintf(label, sizeof(label), "%s vtund", t->device);
	return child_start(t->loop, argv, label, t->on_vtund_exit, t->data, &t->vtund);
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
