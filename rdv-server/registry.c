/* Devices online: one entry per live device-shell bus connection. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>
#include "log.h"
#include "rdvd.h"
#include "util.h"

struct device *device_by_bus_name(struct rdvd *d, const char *bus_name)
{
	for (struct device *dev = d->devices; dev; dev = dev->next)
		if (!strcmp(dev->bus_name, bus_name))
			return dev;
	return NULL;
}

struct device *device_by_name(struct rdvd *d, const char *name)
{
	for (struct device *dev = d->devices; dev; dev = dev->next)
		if (!strcmp(dev->name, name))
			return dev;
	return NULL;
}

/* The role comes from the account the bus vouches for, never from the caller's words. */
int role_of_uid(const struct rdv_conf *conf, uid_t uid, char *name, size_t namelen,
		enum role *role, char *why, size_t whylen)
{
	struct passwd *pw = getpwuid(uid);
	bool onsite, master;

	if (!pw) {
		snprintf(why, whylen, "uid %u has no account", (unsigned)uid);
		return -EPERM;
	}
	if (!device_name_valid(pw->pw_name) || str_copy(name, namelen, pw->pw_name) < 0) {
		snprintf(why, whylen, "account '%s' is not a valid device name", pw->pw_name);
		return -EPERM;
	}
	if (uid < conf->uid_base || uid >= conf->uid_base + conf->uid_count) {
		snprintf(why, whylen, "account '%s' (uid %u) is outside the device uid range %u..%u",
			 pw->pw_name, (unsigned)uid, conf->uid_base, conf->uid_base + conf->uid_count - 1);
		return -EPERM;
	}
	onsite = user_in_group(pw->pw_name, conf->onsite_group);
	master = user_in_group(pw->pw_name, conf->master_group);
	if (onsite == master) {
		snprintf(why, whylen, "account '%s' must be in exactly one of the groups %s and %s",
			 pw->pw_name, conf->onsite_group, conf->master_group);
		return -EPERM;
	}
	*role = onsite ? ROLE_ONSITE : ROLE_MASTER;
	return 0;
}

/* The uid of a live process, from /proc; -1 if unknown. */
static long proc_uid(pid_t pid)
{
	char path[32], line[128];
	long uid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Uid: %ld", &uid) == 1)
			break;
	fclose(f);
	return uid;
}

/*
 * A pidfd for the device's shell, so that a kick can never signal another
 * process that got the pid later. The process must still run as the device's
 * account once the pidfd holds it, else it is not the shell the bus named.
 */
static int shell_pidfd(pid_t pid, uid_t uid)
{
	int fd;

	if (pid <= 1)
		return -1;
	fd = pidfd_open(pid, 0);
	if (fd < 0)
		return -1;
	if (proc_uid(pid) != (long)uid || pidfd_send_signal(fd, 0, NULL, 0) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Ends the device's login (its SSH session ends with its shell) and takes it offline. */
void device_kick(struct rdvd *d, struct device *dev, const char *reason)
{
	if (dev->shell_pidfd >= 0 && pidfd_send_signal(dev->shell_pidfd, SIGTERM, NULL, 0) < 0 &&
	    errno != ESRCH)
		log_warn("device %s: cannot signal its shell: %s", dev->name, strerror(errno));
	device_offline(d, dev, reason);
}

int device_online(struct rdvd *d, const char *bus_name, uid_t uid, pid_t pid,
		  struct device **out, char *why, size_t whylen)
{
	struct device *dev, *old;
	char name[32];
	enum role role;
	int r;

	r = role_of_uid(&d->conf, uid, name, sizeof(name), &role, why, whylen);
	if (r < 0)
		return r;
	dev = device_by_bus_name(d, bus_name);
	if (dev) {
		*out = dev;
		return 0;
	}
	/* A new login wins: the old connection may be a dead link sshd has not noticed yet. */
	old = device_by_name(d, name);
	if (old) {
		log_info("device %s: new login replaces the previous one (shell pid %d)", name,
			 (int)old->shell_pid);
		device_kick(d, old, "replaced by a new login");
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	strcpy(dev->name, name);
	snprintf(dev->bus_name, sizeof(dev->bus_name), "%s", bus_name);
	dev->uid = uid;
	dev->rdvd = d;
	dev->role = role;
	dev->shell_pid = pid;
	dev->shell_pidfd = shell_pidfd(pid, uid);
	dev->online_since = time(NULL);
	strcpy(dev->uplink, "other");
	dev->next = d->devices;
	d->devices = dev;
	log_info("device %s: online as %s (shell pid %d)", name, role_name(role), (int)pid);
	*out = dev;
	return 0;
}

void device_describe(const struct device *dev, char *buf, size_t len)
{
	char lan[20] = "unknown";

	if (dev->has_lan)
		cidr4_format(&dev->lan, lan, sizeof(lan));
	snprintf(buf, len, "hostname '%s', LAN %s, uplink %s",
		 dev->hostname[0] ? dev->hostname : "unknown", lan, dev->uplink);
}

/* Answers a WaitMaster call that is waiting, if any. */
void device_wake(struct rdvd *d, struct device *dev, bool ready)
{
	DBusMessage *reply;
	dbus_bool_t v = ready;

	if (!dev->pending_wait)
		return;
	loop_cancel_timer(d->loop, dev->wait_timer);
	dev->wait_timer = NULL;
	reply = dbus_message_new_method_return(dev->pending_wait);
	if (reply) {
		dbus_message_append_args(reply, DBUS_TYPE_BOOLEAN, &v, DBUS_TYPE_INVALID);
		dbus_connection_send(d->bus, reply, NULL);
		dbus_message_unref(reply);
	}
	dbus_message_unref(dev->pending_wait);
	dev->pending_wait = NULL;
	if (ready)
		dev->picked = false;
}

/* Answers a WaitSessionEnd call with the reason the session ended. */
void device_session_over(struct rdvd *d, struct device *dev, const char *reason)
{
	DBusMessage *reply;

	if (!dev->pending_end)
		return;
	reply = dbus_message_new_method_return(dev->pending_end);
	if (reply) {
		dbus_message_append_args(reply, DBUS_TYPE_STRING, &reason, DBUS_TYPE_INVALID);
		dbus_connection_send(d->bus, reply, NULL);
		dbus_message_unref(reply);
	}
	dbus_message_unref(dev->pending_end);
	dev->pending_end = NULL;
}

void device_offline(struct rdvd *d, struct device *dev, const char *reason)
{
	char desc[160];
	long secs = (long)(time(NULL) - dev->online_since);

	if (dev->session)
		session_end(d, dev->session, reason);
	if (dev->pending_wait) {
		dbus_message_unref(dev->pending_wait);
		dev->pending_wait = NULL;
	}
	if (dev->pending_end) {
		dbus_message_unref(dev->pending_end);
		dev->pending_end = NULL;
	}
	loop_cancel_timer(d->loop, dev->wait_timer);
	for (struct device **p = &d->devices; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			break;
		}
	}
	if (dev->shell_pidfd >= 0)
		close(dev->shell_pidfd);
	device_describe(dev, desc, sizeof(desc));
	log_info("device %s: offline after %lds (%s): %s", dev->name, secs, desc, reason);
	free(dev);
}
