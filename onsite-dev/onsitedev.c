/*
 * onsitedev: the onsite Pi's daemon. Keeps a TLS + SSH control connection
 * to the RDV server, announces the customer LAN, waits for a master, and
 * when picked carries the session: vtund client over the SSH link, NAT from
 * the tunnel onto the LAN. Everything a session adds is removed when it
 * ends; every failure is retried with bounded, jittered backoff, forever.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "child.h"
#include "log.h"
#include "net.h"
#include "nftab.h"
#include "nl.h"
#include "onsite-conf.h"
#include "rdvlink.h"
#include "devtunnel.h"
#include "util.h"

#define WAIT_CMD_TIMEOUT_S 330
#define CMD_TIMEOUT_S 30
#define SETUP_TIMEOUT_S 30
#define SESSION_MAX_S (7 * 24 * 3600)
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* linux/if.h, which clashes with net/if.h */
#endif

struct onsited {
	struct onsite_conf conf;
	struct loop *loop;
	struct rdvlink *link;
	struct nl_sock *nl;
	struct nl_link_events events;
	struct nft_ctx *nft;
	struct loop_timer *timer;
	bool stopping;
	/* announce */
	char lines[4][256];
	unsigned n_lines, next_line;
	char lan[32], dns[80];     /* as announced: all a master may reach */
	/* session */
	bool in_session;
	struct devtunnel tun;
	bool has_nft, carrier;
	char lan_forwarding[8];    /* the LAN interface's forwarding before the session, or "" */
	struct child *probe;
	time_t started;
};

static void wait_master(struct onsited *d);

/* ---- the LAN as announced --------------------------------------------------- */

static void lan_address(struct onsited *d, char *buf, size_t len)
{
	struct nl_cache *cache;
	int ifindex = (int)if_nametoindex(d->conf.lan_interface);

	buf[0] = '\0';
	if (!ifindex || rtnl_addr_alloc_cache(d->nl, &cache) < 0)
		return;
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(a);
		const unsigned char *b;
		if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != AF_INET || !local)
			continue;
		b = nl_addr_get_binary_addr(local);
		snprintf(buf, len, "%u.%u.%u.%u/%u", b[0], b[1], b[2], b[3], rtnl_addr_get_prefixlen(a));
		break;
	}
	nl_cache_free(cache);
}

/* the LAN's DNS servers, as a master may use them: never this machine's own (127/8) */
static void dns_servers(struct onsited *d, char *buf, size_t len)
{
	FILE *f = fopen(d->conf.resolv_conf, "re");
	char line[256], ip[64], all[256] = "";

	buf[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "nameserver %63s", ip) == 1)
			snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s ", ip);
	fclose(f);
	ip4_server_list(all, 4, buf, len);
}

static void on_announced(struct rdvlink *l, const char *out, const char *errors, void *data)
{
	struct onsited *d = data;

	(void)l;
	(void)out;
	(void)errors;
	if (d->next_line < d->n_lines) {
		if (rdvlink_cmd(d->link, d->lines[d->next_line++], CMD_TIMEOUT_S, on_announced, d) < 0)
			log_err("cannot talk to the RDV server");
		return;
	}
	wait_master(d);
}

static void announce(struct onsited *d)
{
	char *lan = d->lan, *dns = d->dns, host[HOSTNAME_MAX + 1];

	lan_address(d, d->lan, sizeof(d->lan));
	dns_servers(d, d->dns, sizeof(d->dns));
	if (d->conf.hostname[0])
		snprintf(host, sizeof(host), "%s", d->conf.hostname);
	else if (gethostname(host, sizeof(host)) < 0 || !hostname_valid(host))
		strcpy(host, "onsite");
	d->n_lines = d->next_line = 0;
	if (lan[0])
		snprintf(d->lines[d->n_lines++], 256, "set_tunnelling_dev_lan_ip_address %s", lan);
	else
		log_warn("%s has no IPv4 address yet: announcing none", d->conf.lan_interface);
	if (dns[0])
		snprintf(d->lines[d->n_lines++], 256, "set_tunnelling_dev_dns_server_list %s", dns);
	snprintf(d->lines[d->n_lines++], 256, "set_tunnelling_dev_hostname '%s'", host);
	snprintf(d->lines[d->n_lines++], 256, "set_tunnelling_dev_uplink_type %s", d->conf.uplink);
	log_info("announcing LAN %s, DNS %s, hostname %s, uplink %s", lan[0] ? lan : "none",
		 dns[0] ? dns : "none", host, d->conf.uplink);
	on_announced(d->link, "", "", d);
}

/* ---- the session ------------------------------------------------------------ */

static void nft_remove(struct onsited *d)
{
	nftab_reset(d->nft, d->conf.nft_table);
	d->has_nft = false;
}

/*
 * Tunnel traffic reaches the announced LAN and the announced DNS servers
 * (port 53) only, NATed to this device's LAN address: never the Internet
 * behind the customer's router, never another network of the customer's.
 */
static int nft_add(struct onsited *d, bool lan_was_routing)
{
	const char *t = d->conf.nft_table, *tun = d->conf.tunnel_interface, *lan = d->conf.lan_interface;
	uint32_t n = d->tun.net;
	struct cidr4 net;
	char cmd[2048], to_lan[96] = "", to_dns[256] = "", set[100] = "", lan_only[64] = "";

	if (cidr4_parse(d->lan, &net) == 0) {
		net.addr &= prefix_to_mask(net.prefix);
		cidr4_format(&net, set, sizeof(set));
		snprintf(to_lan, sizeof(to_lan), "  iifname \"%s\" oifname \"%s\" ip daddr %s accept\n", tun,
			 lan, set);
	}
	if (d->dns[0]) {
		snprintf(set, sizeof(set), "%s", d->dns);
		for (char *p = set; (p = strchr(p, ' ')); p++)
			*p = ',';
		snprintf(to_dns, sizeof(to_dns),
			 "  iifname \"%s\" oifname \"%s\" ip daddr { %s } udp dport 53 accept\n"
			 "  iifname \"%s\" oifname \"%s\" ip daddr { %s } tcp dport 53 accept\n",
			 tun, lan, set, tun, lan, set);
	}
	/* forwarding on the LAN interface is ours for the replies only */
	if (!lan_was_routing)
		snprintf(lan_only, sizeof(lan_only), "  iifname \"%s\" drop\n", lan);
	snprintf(cmd, sizeof(cmd),
		 "table inet %s {\n"
		 " chain forward {\n"
		 "  type filter hook forward priority filter; policy accept;\n"
		 "  iifname \"%s\" oifname \"%s\" tcp flags syn tcp option maxseg size set rt mtu\n"
		 "%s%s"
		 "  iifname \"%s\" oifname \"%s\" ct state established,related accept\n"
		 "  iifname \"%s\" drop\n"
		 "  oifname \"%s\" drop\n"
		 "%s"
		 " }\n"
		 " chain postrouting {\n"
		 "  type nat hook postrouting priority srcnat; policy accept;\n"
		 "  oifname \"%s\" ip saddr %u.%u.%u.%u/30 masquerade\n"
		 " }\n"
		 "}\n",
		 t, tun, lan, to_lan, to_dns, lan, tun, tun, tun, lan_only, lan, n >> 24, (n >> 16) & 255,
		 (n >> 8) & 255, n & 255);
	if (nftab_run(d->nft, cmd) < 0)
		return -EIO;
	d->has_nft = true;
	return 0;
}

/*
 * The LAN interface's forwarding before the session is also kept in the run
 * dir: an onsitedev killed in a session left it on, unguarded once its
 * successor reset the table, and the next session took it for the admin's
 * (found by the soak test). The successor puts it back from the file.
 */
static void fwd_state_path(const struct onsited *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/lan-forwarding", d->conf.link.run_dir);
}

/* replies from the LAN go into the tunnel: the LAN interface forwards during a session */
static int lan_forwarding_on(struct onsited *d)
{
	char path[200], prev[8];
	int r;

	if ((r = if_sysctl(d->conf.lan_interface, "forwarding", NULL, prev, sizeof(prev))) < 0)
		return r;
	fwd_state_path(d, path, sizeof(path));
	if ((r = write_file_atomic(path, prev, 0600)) < 0)
		return r;
	r = if_sysctl(d->conf.lan_interface, "forwarding", "1", d->lan_forwarding,
		      sizeof(d->lan_forwarding));
	if (r < 0) {
		d->lan_forwarding[0] = '\0';
		unlink(path);
	}
	return r;
}

static void lan_forwarding_restore(struct onsited *d)
{
	char path[200];

	if (d->lan_forwarding[0] && if_sysctl(d->conf.lan_interface, "forwarding",
					      d->lan_forwarding, NULL, 0) == 0) {
		fwd_state_path(d, path, sizeof(path));
		unlink(path);
	}
	d->lan_forwarding[0] = '\0';
}

/* at start: what a predecessor killed in a session left */
static void lan_forwarding_recover(struct onsited *d)
{
	char path[200], prev[8] = "";
	ssize_t n;
	int fd;

	fwd_state_path(d, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	n = read(fd, prev, sizeof(prev) - 1);
	close(fd);
	prev[n > 0 ? n : 0] = '\0';
	prev[strcspn(prev, "\n")] = '\0';
	if (strcmp(prev, "0") && strcmp(prev, "1")) {
		log_warn("%s: '%s' is not 0 or 1; the LAN interface's forwarding set to 0", path, prev);
		snprintf(prev, sizeof(prev), "0");
	}
	if (if_sysctl(d->conf.lan_interface, "forwarding", prev, NULL, 0) == 0) {
		log_warn("LAN interface %s: forwarding put back to %s (left on by a previous run)",
			 d->conf.lan_interface, prev);
		unlink(path);
	}
}

static void end_session(struct onsited *d, const char *why)
{
	if (!d->in_session)
		return;
	d->in_session = false;
	loop_cancel_timer(d->loop, d->timer);
	d->timer = NULL;
	child_stop(d->probe);
	d->probe = NULL;
	devtunnel_stop(&d->tun);
	d->carrier = false;
	lan_forwarding_restore(d);
	if (d->has_nft)
		nft_remove(d);
	log_info("session ended after %lds: %s", (long)(time(NULL) - d->started), why);
}

/*
 * Ends the session and goes back to standby. No drop_vtun: the RDV server
 * sees the tunnel close by itself, and a late drop could hit the next
 * session a master opens meanwhile.
 */
static void session_over(struct onsited *d, const char *why)
{
	end_session(d, why);
	if (d->link && !d->stopping)
		wait_master(d);
}

static void on_vtund_exit(struct child *c, int code, int signo, void *data)
{
	struct onsited *d = data;
	char why[64];

	(void)c;
	d->tun.vtund = NULL;
	if (!c) /* relay: the attach failed, devtunnel logged why */
		snprintf(why, sizeof(why), "cannot attach to the data path");
	else
		snprintf(why, sizeof(why), signo ? "vtund killed by signal %d"
					     : "vtund exited with status %d", signo ? signo : code);
	session_over(d, why);
}

static void on_setup_timeout(void *data)
{
	struct onsited *d = data;

	d->timer = NULL;
	session_over(d, "the tunnel did not come up in time");
}

/* The RDV server says why the session ended (master gone, adapter unplugged...). */
static void on_session_end(struct rdvlink *l, const char *out, const char *errors, void *data)
{
	struct onsited *d = data;
	char why[300];

	(void)l;
	(void)errors;
	if (!out[0])
		return;
	snprintf(why, sizeof(why), "ended on the RDV server: %.*s", (int)strcspn(out, "\n"), out);
	str_printable(why); /* the RDV server's words, into our log */
	if (d->in_session)
		session_over(d, why);
	else
		log_info("session %s", why);
}

static void on_params(struct rdvlink *l, const char *out, const char *errors, void *data)
{
	struct onsited *d = data;
	const char *why;
	char was[8];

	(void)l;
	(void)errors;
	if (devtunnel_start(&d->tun, out, &why) < 0) {
		session_over(d, why);
		return;
	}
	/* the filter first, then the forwarding it guards */
	if (if_sysctl(d->conf.lan_interface, "forwarding", NULL, was, sizeof(was)) < 0 ||
	    nft_add(d, !strcmp(was, "1")) < 0 || lan_forwarding_on(d) < 0) {
		session_over(d, "cannot set up NAT to the LAN");
		return;
	}
	rdvlink_cmd(d->link, "wait_session_end", SESSION_MAX_S, on_session_end, d);
	loop_add_timer(d->loop, SETUP_TIMEOUT_S * 1000ull, on_setup_timeout, d, &d->timer);
}

static void on_wait_again(void *data)
{
	struct onsited *d = data;

	d->timer = NULL;
	wait_master(d);
}

static void on_wait(struct rdvlink *l, const char *out, const char *errors, void *data)
{
	struct onsited *d = data;

	(void)l;
	(void)errors;
	if (!strncmp(out, "ready", 5) && (out[5] == '\n' || !out[5])) {
		log_info("a master picked this device: starting the session");
		d->in_session = true;
		d->started = time(NULL);
		if (rdvlink_cmd(d->link, "get_vtun_parameters", CMD_TIMEOUT_S, on_params, d) < 0)
			end_session(d, "cannot talk to the RDV server");
		return;
	}
	if (strncmp(out, "not_ready", 9)) {
		/* refused (see the shell's message above): ask again, not in a tight loop */
		log_warn("wait_master_connection refused; asking again in 5 s");
		loop_add_timer(d->loop, 5000, on_wait_again, d, &d->timer);
		return;
	}
	wait_master(d);
}

static void wait_master(struct onsited *d)
{
	if (rdvlink_cmd(d->link, "wait_master_connection", WAIT_CMD_TIMEOUT_S, on_wait, d) < 0)
		log_err("cannot talk to the RDV server");
}

/* ---- the control link (rdvlink reconnects by itself) ------------------------ */

static void on_link(struct rdvlink *l, bool up, const char *why, void *data)
{
	struct onsited *d = data;

	(void)l;
	(void)why;
	if (up)
		announce(d);
	else
		end_session(d, "the RDV server link went down");
}

static void on_probe_exit(struct child *c, int code, int signo, void *data)
{
	struct onsited *d = data;

	(void)c;
	d->probe = NULL;
	if (code == 0 && !signo)
		log_info("the tunnel answers: the RDV end %s replies", d->tun.rdv_ip);
	else
		session_over(d, "the tunnel does not answer (no reply from the RDV end)");
}

/* vtund attached is not yet traffic flowing: ask the RDV end of the tunnel */
static void probe_tunnel(struct onsited *d)
{
	char label[64];
	char *argv[] = { "/usr/bin/ping", "-q", "-n", "-c", "3", "-i", "0.5", "-w", "10", "-I",
			 d->conf.tunnel_interface, d->tun.rdv_ip, NULL };

	snprintf(label, sizeof(label), "%s tunnel check", d->conf.link.device);
	if (child_start(d->loop, argv, label, on_probe_exit, d, &d->probe) < 0)
		log_warn("cannot check the tunnel with %s", argv[0]);
}

/* ---- netlink: the tunnel's carrier ------------------------------------------- */

static void tunnel_state(struct onsited *d, unsigned flags, bool gone)
{
	bool carrier = (flags & IFF_UP) && (flags & IFF_LOWER_UP);

	if (gone || (d->carrier && !carrier)) {
		if (gone)
			d->tun.has_tun = false;
		session_over(d, gone ? "the tunnel interface was removed" : "the tunnel closed");
	} else if (carrier && !d->carrier) {
		d->carrier = true;
		d->tun.up = true; /* a vtund exit from now on ends the session */
		loop_cancel_timer(d->loop, d->timer);
		d->timer = NULL;
		log_info("session established: tunnel %s up, LAN %s reachable through it",
			 d->conf.tunnel_interface, d->conf.lan_interface);
		/* relay: the carrier is vtund authenticated with the master's own
		 * vtund, end to end (whose input answers no ping): nothing to ask */
		if (!d->tun.relay)
			probe_tunnel(d);
	}
}

static void on_link_event(void *data, struct rtnl_link *link, bool gone)
{
	struct onsited *d = data;
	struct rtnl_link *now;

	if (!d->in_session || !d->tun.has_tun)
		return;
	if (link) {
		if (rtnl_link_get_ifindex(link) == d->tun.ifindex)
			tunnel_state(d, rtnl_link_get_flags(link), gone);
		return;
	}
	/* events were lost: ask */
	if (rtnl_link_get_kernel(d->nl, d->tun.ifindex, NULL, &now) < 0) {
		tunnel_state(d, 0, true);
		return;
	}
	tunnel_state(d, rtnl_link_get_flags(now), false);
	rtnl_link_put(now);
}

static void on_netlink(int fd, short revents, void *data)
{
	struct onsited *d = data;

	(void)fd;
	(void)revents;
	nl_link_events_read(&d->events);
}

static int netlink_setup(struct onsited *d)
{
	int r;

	if (!(d->nl = nl_socket_alloc()))
		return -ENOMEM;
	if ((r = nl_connect(d->nl, NETLINK_ROUTE)) < 0)
		return nl_errno(r);
	if ((r = nl_link_events_open(&d->events, on_link_event, d)) < 0)
		return r;
	return loop_add_fd(d->loop, nl_link_events_fd(&d->events), POLLIN, on_netlink, d, NULL);
}

/* ---- main -------------------------------------------------------------------- */

static void on_signal(int signo, void *data)
{
	struct onsited *d = data;

	log_info("signal %d: stopping", signo);
	d->stopping = true;
	loop_quit(d->loop, 0);
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: onsitedev [-c CONFIG] [-n] [-d] [-t]\n"
		     "  -c, --config PATH   configuration (default " ONSITE_CONF_PATH ")\n"
		     "  -n, --foreground    log to stderr\n"
		     "  -d, --debug         log debug messages\n"
		     "  -t, --check-config  validate the configuration and exit\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "foreground", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },        { "check-config", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },         { 0 } };
	static const int signals[] = { SIGTERM, SIGINT };
	struct onsited d = { 0 };
	const char *path = ONSITE_CONF_PATH;
	bool foreground = false, check = false, debug = false;
	char err[4096];
	uint64_t deadline;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:ndth", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'n': foreground = true; break;
		case 'd': debug = true; break;
		case 't': check = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (onsite_conf_load(path, &d.conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "onsitedev: %s: invalid configuration:\n%s", path, err);
		return 2;
	}
	if (check) {
		printf("%s: configuration OK\n", path);
		return 0;
	}
	if ((r = log_setup("onsitedev", d.conf.log_level, debug, foreground ? NULL : d.conf.log_file)) < 0) {
		fprintf(stderr, "onsitedev: cannot open %s: %s\n", d.conf.log_file, strerror(-r));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((mkdir(d.conf.link.run_dir, 0700) < 0 && errno != EEXIST) || loop_new(&d.loop) < 0 ||
	    loop_add_signals(d.loop, signals, 2, on_signal, &d) < 0 || netlink_setup(&d) < 0 ||
	    !(d.nft = nftab_new())) {
		log_err("cannot start: %s", strerror(errno));
		return 1;
	}
	/* what a previous run may have left */
	devtunnel_purge(d.nl, d.conf.tunnel_interface, d.conf.link.run_dir);
	lan_forwarding_recover(&d);
	nft_remove(&d);
	log_info("starting: device %s, RDV server %s:%u (%s), LAN %s", d.conf.link.device,
		 d.conf.link.host, d.conf.link.port, d.conf.link.tls ? "TLS" : "plain SSH",
		 d.conf.lan_interface);
	d.tun = (struct devtunnel){ .loop = d.loop, .nl = d.nl, .device = d.conf.link.device,
				    .ifname = d.conf.tunnel_interface, .run_dir = d.conf.link.run_dir,
				    .local_port = d.conf.vtun_local_port, .on_vtund_exit = on_vtund_exit,
				    .data = &d };
	if (rdvlink_start(d.loop, &d.conf.link, on_link, &d, &d.link) < 0) {
		log_err("out of memory");
		return 1;
	}
	d.tun.link = d.link;
	r = loop_run(d.loop);
	end_session(&d, "onsitedev stopping");
	rdvlink_stop(d.link);
	deadline = now_ms() + 2000;
	while (child_count() && now_ms() < deadline)
		loop_iterate(d.loop, 50);
	child_kill_all();
	nft_ctx_free(d.nft);
	nl_socket_free(d.nl);
	nl_link_events_close(&d.events);
	loop_free(d.loop);
	log_info("stopped");
	return r < 0 ? 1 : 0;
}
