/* rdvd: the RDV server's broker, its only privileged process. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include "child.h"
#include "log.h"
#include "rdvd.h"
#include "util.h"

#define SHUTDOWN_WAIT_MS 2000

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: rdvd [options]\n"
		"  -c, --config PATH   configuration file (default " RDV_CONF_PATH ")\n"
		"  -n, --foreground    log to stderr instead of the log file\n"
		"  -d, --debug         log debug messages\n"
		"  -t, --check-config  validate the configuration and exit\n"
		"  -h, --help          this help\n");
}

static void on_signal(int signo, void *data)
{
	struct rdvd *d = data;

	if (signo != SIGHUP) {
		log_info("signal %d: stopping", signo);
		loop_quit(d->loop, 0);
		return;
	}
	/* logrotate's postrotate, and access-list changes without dropping sessions */
	if (strcmp(d->conf.log_file, "-") && log_open(d->conf.log_file) < 0)
		log_err("cannot reopen %s", d->conf.log_file);
	session_reload_conf(d);
}

static void on_netlink(int fd, short revents, void *data)
{
	(void)fd;
	(void)revents;
	glue_process_events(data);
}

static int setup(struct rdvd *d)
{
	static const int signals[] = { SIGTERM, SIGINT, SIGHUP };
	int r;

	d->data_fd = -1;
	if (mkdir(d->conf.run_dir, 0711) < 0 && errno != EEXIST) {
		log_err("cannot create %s: %s", d->conf.run_dir, strerror(errno));
		return -errno;
	}
	if ((r = pool_new(&d->conf.pool, &d->pool)) < 0 || (r = loop_new(&d->loop)) < 0 ||
	    (r = loop_add_signals(d->loop, signals, 3, on_signal, d)) < 0)
		return r;
	vtund_kill_stale(&d->conf);
	if ((r = glue_init(d)) < 0) {
		log_err("netlink: %s", strerror(-r));
		return r;
	}
	glue_purge(d);
	if ((r = nft_setup(d)) < 0)
		return r;
	/* no host-wide ip_forward: each session's tunnels forward (nl_tun_create) */
	if ((r = loop_add_fd(d->loop, glue_event_fd(d), POLLIN, on_netlink, d, NULL)) < 0)
		return r;
	if ((r = relay_init(d)) < 0)
		return r;
	return bus_setup(d);
}

static void shutdown_all(struct rdvd *d)
{
	uint64_t deadline = now_ms() + SHUTDOWN_WAIT_MS;

	session_end_all(d, "rdvd stopping");
	relay_fini(d);
	limits_free(d);
	while (d->devices)
		device_offline(d, d->devices, "rdvd stopping");
	while (child_count() && now_ms() < deadline)
		loop_iterate(d->loop, 50);
	child_kill_all();
	nft_teardown(d);
	glue_fini(d);
	bus_release(d);
	pool_free(d->pool);
	loop_free(d->loop);
	conf_release(&d->conf);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "check-config", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	struct rdvd d = { 0 };
	const char *path = RDV_CONF_PATH;
	bool foreground = false, check = false, debug = false;
	char err[4096];
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
	if (optind < argc) {
		fprintf(stderr, "rdvd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (conf_load(path, &d.conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "rdvd: %s: invalid configuration:\n%s", path, err);
		return 2;
	}
	if (check) {
		printf("%s: configuration OK\n", path);
		conf_release(&d.conf);
		return 0;
	}
	d.conf_path = path;
	if ((r = log_setup("rdvd", d.conf.log_level, debug, foreground ? NULL : d.conf.log_file)) < 0) {
		fprintf(stderr, "rdvd: cannot open %s: %s\n", d.conf.log_file, strerror(-r));
		return 1;
	}
	if (foreground)
		strcpy(d.conf.log_file, "-"); /* SIGHUP has no file to reopen */
	log_info("starting: pool %u.%u.%u.%u/%u, vtund on %s from port %u",
		 d.conf.pool.addr >> 24, (d.conf.pool.addr >> 16) & 255, (d.conf.pool.addr >> 8) & 255,
		 d.conf.pool.addr & 255, d.conf.pool.prefix, d.conf.vtund_listen, d.conf.port_base);
	if (!acl_configured(&d.conf))
		log_warn("no access list in %s: every master reaches every onsite device", path);
	r = setup(&d);
	if (r == 0) {
		sd_notify(0, "READY=1");
		log_info("ready");
		r = loop_run(d.loop);
		sd_notify(0, "STOPPING=1");
	}
	shutdown_all(&d);
	log_info("stopped");
	log_close();
	return r < 0 ? 1 : 0;
}
