/* One supervised vtund server per session side, on loopback, with a fresh secret. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>
#include "child.h"
#include "log.h"
#include "rdvd.h"
#include "util.h"

#define SECRET_BYTES 20 /* 160 bits */

static void on_vtund_exit(struct child *c, int code, int signo, void *data)
{
	struct session *s = data;
	char reason[96];

	for (int i = 0; i < 2; i++) {
		if (s->side[i].vtund != c)
			continue;
		s->side[i].vtund = NULL;
		if (signo)
			snprintf(reason, sizeof(reason), "vtund of the %s side killed by signal %d",
				 side_name(i), signo);
		else
			snprintf(reason, sizeof(reason), "vtund of the %s side exited with status %d",
				 side_name(i), code);
		session_end(s->rdvd, s, reason);
		return;
	}
}

/*
 * The session is offered under two names: the interface name (what
 * tunnel_session_name tells new devices) and "tundev" + the device's account,
 * the name the original kit's devices ask for. Same secret, same tun.
 */
static int write_conf(const struct rdv_conf *conf, const struct side *side)
{
#define SESSION " {\n  passwd %s;\n  type tun;\n  proto tcp;\n  device %s;\n" \
		"  compress no;\n  encrypt no;\n  keepalive yes;\n  stat no;\n}\n"
	char text[1536];
	int n;

	/* vtund attaches to the tun rdvd made and configured beforehand: up
	 * commands run by vtund race with the first packets (EIO ends the link). */
	n = snprintf(text, sizeof(text),
		     "options {\n  port %u;\n  bindaddr { addr %s; };\n  timeout 30;\n}\n"
		     "%s" SESSION "tundev%s" SESSION,
		     side->port, conf->vtund_listen, side->ifname, side->secret, side->ifname,
		     side->dev->name, side->secret, side->ifname);
#undef SESSION
	if (n < 0 || (size_t)n >= sizeof(text)) {
		explicit_bzero(text, sizeof(text));
		return -ENAMETOOLONG;
	}
	n = write_file_atomic(side->conf_path, text, 0600);
	explicit_bzero(text, sizeof(text));
	return n;
}

static void pidfile_path(struct rdvd *d, const struct side *side, char *buf, size_t len)
{
	snprintf(buf, len, "%s/vtund-%s.pid", d->conf.run_dir, side->ifname);
}

int vtund_start(struct rdvd *d, struct session *s, enum side_idx i)
{
	struct side *side = &s->side[i];
	char port[8], label[96], path[sizeof(side->conf_path)], pid[16];
	/* the listen address is in the config: vtund 3.0.4 ignores -L */
	char *argv[] = { d->conf.vtund_path, "-n", "-s", "-f", side->conf_path, "-P", port, NULL };
	int r;

	r = random_hex(side->secret, SECRET_BYTES);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/vtund-%s.conf", d->conf.run_dir, side->ifname);
	memcpy(side->conf_path, path, sizeof(path));
	r = write_conf(&d->conf, side);
	if (r < 0) {
		log_err("session %u: cannot write %s: %s", s->id, side->conf_path, strerror(-r));
		return r;
	}
	snprintf(port, sizeof(port), "%u", side->port);
	snprintf(label, sizeof(label), "session %u %s %s vtund", s->id, side_name(i),
		 side->dev->name);
	r = child_start(d->loop, argv, label, on_vtund_exit, s, &side->vtund);
	if (r < 0) {
		log_err("session %u: cannot start %s: %s", s->id, d->conf.vtund_path, strerror(-r));
		unlink(side->conf_path);
		return r;
	}
	pidfile_path(d, side, path, sizeof(path));
	snprintf(pid, sizeof(pid), "%d\n", (int)child_pid(side->vtund));
	if (write_file_atomic(path, pid, 0644) < 0)
		log_warn("session %u: cannot write %s", s->id, path);
	return 0;
}

void vtund_stop(struct rdvd *d, struct side *side)
{
	char path[sizeof(side->conf_path)];

	child_stop(side->vtund);
	side->vtund = NULL;
	if (side->conf_path[0]) {
		unlink(side->conf_path);
		pidfile_path(d, side, path, sizeof(path));
		unlink(path);
	}
	side->conf_path[0] = '\0';
	explicit_bzero(side->secret, sizeof(side->secret));
}

/*
 * vtund rewrites its command line, so a predecessor's vtund is found through
 * the pid file we wrote next to its config: same pid, and still a vtund.
 */
static void kill_from_pidfile(int dirfd, const char *name)
{
	char buf[32], path[64], comm[32];
	ssize_t n;
	long pid;
	int fd, pidfd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 1)
		return;
	/* the pidfd pins this process: if it is gone by the time we signal,
	 * the signal fails instead of reaching whoever got the pid since */
	pidfd = pidfd_open((pid_t)pid, 0);
	if (pidfd < 0)
		return;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, comm, sizeof(comm) - 1);
	if (fd >= 0)
		close(fd);
	if (n > 0 && !strncmp(comm, "vtund\n", 6) && pidfd_send_signal(pidfd, 0, NULL, 0) == 0) {
		log_warn("killing vtund pid %ld left by a previous rdvd", pid);
		/* alive a moment ago, so the process group id is still its own */
		signal_child(pidfd, (pid_t)pid, SIGKILL);
	}
	close(pidfd);
}

void vtund_kill_stale(const struct rdv_conf *conf)
{
	DIR *dir = opendir(conf->run_dir);
	struct dirent *de;
	size_t len;

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		len = strlen(de->d_name);
		if (strncmp(de->d_name, "vtund-", 6))
			continue;
		if (len > 4 && !strcmp(de->d_name + len - 4, ".pid"))
			kill_from_pidfile(dirfd(dir), de->d_name);
		unlinkat(dirfd(dir), de->d_name, 0);
	}
	closedir(dir);
}
