/* rdvctl account: device accounts are UNIX accounts with rdv-shell as shell. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "rdvctl.h"
#include "util.h"

#define KEY_MAX 16384
#define USERDEL_TRIES 50 /* 5 s */

int run_wait(char *const argv[], bool quiet)
{
	struct spawn_opts opts = { .new_pgrp = false, .in_fd = -1, .out_fd = quiet ? -1 : STDERR_FILENO,
				   .err_fd = -1 };
	siginfo_t si = { 0 };
	pid_t pid;
	int pidfd, r;

	r = spawn(argv, &opts, &pid, &pidfd);
	if (r < 0)
		return r;
	r = waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 ? -errno : 0;
	close(pidfd);
	if (r < 0)
		return r;
	return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

static const char *const key_types[] = {
	"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
};

/* "TYPE BASE64 [comment]" on one line; the comment is dropped. */
static int normalize_key(const char *in, char *out, size_t outlen, char *why, size_t whylen)
{
	char type[64], b64[KEY_MAX];
	bool known = false;
	size_t n;

	while (*in == ' ' || *in == '\t')
		in++;
	if (sscanf(in, "%63s %16383s", type, b64) != 2) {
		snprintf(why, whylen, "expected \"TYPE BASE64 [comment]\"");
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(key_types); i++)
		known |= !strcmp(type, key_types[i]);
	if (!known) {
		snprintf(why, whylen, "key type '%.40s' is not supported", type);
		return -EINVAL;
	}
	n = strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
	if (n != strlen(b64) || n < 16) {
		snprintf(why, whylen, "the key data is not base64");
		return -EINVAL;
	}
	if (snprintf(out, outlen, "%s %s", type, b64) >= (int)outlen) {
		snprintf(why, whylen, "key too long");
		return -EINVAL;
	}
	return 0;
}

/* OpenSSH itself has the last word on whether the key is valid. */
static int check_with_ssh_keygen(const char *key)
{
	char path[] = "/tmp/rdvctl-key-XXXXXX";
	char *argv[] = { "/usr/bin/ssh-keygen", "-l", "-f", path, NULL };
	int fd = mkstemp(path), r;

	if (fd < 0)
		return -errno;
	r = dprintf(fd, "%s\n", key) < 0 ? -EIO : 0;
	close(fd);
	if (r == 0)
		r = run_wait(argv, true) == 0 ? 0 : -EINVAL;
	unlink(path);
	return r;
}

static int read_key_file(const char *path, char *buf, size_t len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		if (f != stdin)
			fclose(f);
		return -EINVAL;
	}
	if (f != stdin)
		fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static int ensure_group(const char *name)
{
	char *argv[] = { "/usr/sbin/groupadd", "--system", (char *)name, NULL };

	if (getgrnam(name))
		return 0;
	return run_wait(argv, false) == 0 ? 0 : -EIO;
}

static int free_uid(const struct rdv_conf *conf, uid_t *out)
{
	for (unsigned i = 0; i < conf->uid_count; i++) {
		if (!getpwuid(conf->uid_base + i)) {
			*out = conf->uid_base + i;
			return 0;
		}
	}
	return -ENOSPC;
}

static int write_keys(const struct rdv_conf *conf, const char *name, uid_t uid, const char *key)
{
	char path[512], line[KEY_MAX + 256];
	unsigned port = conf->port_base + (uid - conf->uid_base);

	if (mkdir(conf->keys_dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", conf->keys_dir, name);
	/* restrict: no agent/X11, no command; then a pty (the original kit's
	 * devices need one, the shell is still rdv-shell) and only -L to our
	 * vtund port */
	snprintf(line, sizeof(line), "restrict,pty,port-forwarding,permitopen=\"%s:%u\" %s\n",
		 conf->vtund_listen, port, key);
	return write_file_atomic(path, line, 0644);
}

static void usage_add(void)
{
	fprintf(stderr, "usage: rdvctl account add NAME --role onsite|master "
			"(--key 'ssh-ed25519 AAAA...' | --key-file PATH)\n");
}

int account_add(const struct rdv_conf *conf, int argc, char **argv)
{
	const char *name = NULL, *role = NULL, *key_arg = NULL, *key_file = NULL, *group;
	char raw[KEY_MAX + 256], key[KEY_MAX + 128], why[128], uidstr[16];
	uid_t uid;
	int r;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--role") && i + 1 < argc)
			role = argv[++i];
		else if (!strcmp(argv[i], "--key") && i + 1 < argc)
			key_arg = argv[++i];
		else if (!strcmp(argv[i], "--key-file") && i + 1 < argc)
			key_file = argv[++i];
		else if (!name && argv[i][0] != '-')
			name = argv[i];
		else {
			fprintf(stderr, "rdvctl: unexpected argument '%s'\n", argv[i]);
			usage_add();
			return 2;
		}
	}
	if (!name || !role || !!key_arg == !!key_file) {
		usage_add();
		return 2;
	}
	if (!device_name_valid(name)) {
		fprintf(stderr, "rdvctl: '%s' is not a valid device name (a-z first, then a-z, 0-9, "
				"'-', '_'; at most 31)\n", name);
		return 2;
	}
	if (strcmp(role, "onsite") && strcmp(role, "master")) {
		fprintf(stderr, "rdvctl: role '%s' is not onsite or master\n", role);
		return 2;
	}
	group = !strcmp(role, "onsite") ? conf->onsite_group : conf->master_group;
	if (key_file && (r = read_key_file(key_file, raw, sizeof(raw))) < 0) {
		fprintf(stderr, "rdvctl: cannot read a key from %s: %s\n", key_file, strerror(-r));
		return 2;
	}
	if (normalize_key(key_arg ? key_arg : raw, key, sizeof(key), why, sizeof(why)) < 0 ||
	    check_with_ssh_keygen(key) < 0) {
		fprintf(stderr, "rdvctl: bad public key: %s\n",
			why[0] ? why : "ssh-keygen does not accept it");
		return 2;
	}
	if (getpwnam(name)) {
		fprintf(stderr, "rdvctl: account '%s' already exists\n", name);
		return 1;
	}
	if (free_uid(conf, &uid) < 0) {
		fprintf(stderr, "rdvctl: no free uid left in %u..%u\n", conf->uid_base,
			conf->uid_base + conf->uid_count - 1);
		return 1;
	}
	if (ensure_group(conf->onsite_group) < 0 || ensure_group(conf->master_group) < 0) {
		fprintf(stderr, "rdvctl: cannot create the device groups\n");
		return 1;
	}
	snprintf(uidstr, sizeof(uidstr), "%u", (unsigned)uid);
	{
		/* password "*": no password, yet not locked (sshd refuses locked accounts) */
		char *ua[] = { "/usr/sbin/useradd", "--uid", uidstr, "--gid", (char *)group,
			       "--no-create-home", "--home-dir", "/", "--shell", (char *)conf->shell,
			       "--password", "*", "--comment", "rdv device", (char *)name, NULL };
		if (run_wait(ua, false) != 0) {
			fprintf(stderr, "rdvctl: useradd failed for '%s'\n", name);
			return 1;
		}
	}
	r = write_keys(conf, name, uid, key);
	if (r < 0) {
		char *ud[] = { "/usr/sbin/userdel", (char *)name, NULL };
		fprintf(stderr, "rdvctl: cannot write the key of '%s' in %s: %s\n", name,
			conf->keys_dir, strerror(-r));
		run_wait(ud, false);
		return 1;
	}
	printf("%s: %s device created (uid %u, vtund port %u)\n", name, role, (unsigned)uid,
	       conf->port_base + (unsigned)(uid - conf->uid_base));
	return 0;
}

static const char *device_role(const struct rdv_conf *conf, const struct passwd *pw)
{
	struct group *g;

	if (pw->pw_uid < conf->uid_base || pw->pw_uid >= conf->uid_base + conf->uid_count)
		return NULL;
	if ((g = getgrnam(conf->onsite_group)) && g->gr_gid == pw->pw_gid)
		return "onsite";
	if ((g = getgrnam(conf->master_group)) && g->gr_gid == pw->pw_gid)
		return "master";
	return NULL;
}

int account_del(const struct rdv_conf *conf, int argc, char **argv)
{
	struct passwd *pw;
	char path[512];

	if (argc != 1) {
		fprintf(stderr, "usage: rdvctl account del NAME\n");
		return 2;
	}
	if (!device_name_valid(argv[0]) || !(pw = getpwnam(argv[0]))) {
		fprintf(stderr, "rdvctl: no account '%s'\n", argv[0]);
		return 1;
	}
	if (!device_role(conf, pw)) {
		fprintf(stderr, "rdvctl: '%s' is not a device account; not touching it\n", argv[0]);
		return 1;
	}
	/* no new login first, then the running one ends, then the account goes */
	snprintf(path, sizeof(path), "%s/%s", conf->keys_dir, argv[0]);
	if (unlink(path) < 0 && errno != ENOENT)
		fprintf(stderr, "rdvctl: cannot remove %s: %s\n", path, strerror(errno));
	admin_revoke(argv[0]);
	{
		char *ud[] = { "/usr/sbin/userdel", argv[0], NULL };
		/* userdel refuses while the account's SSH session is still closing */
		int tries = 0;
		while (run_wait(ud, tries < USERDEL_TRIES - 1) != 0) {
			if (++tries == USERDEL_TRIES) {
				fprintf(stderr, "rdvctl: userdel failed for '%s'\n", argv[0]);
				return 1;
			}
			usleep(100 * 1000);
		}
	}
	printf("%s: deleted\n", argv[0]);
	return 0;
}

int account_list(const struct rdv_conf *conf, int argc, char **argv)
{
	struct passwd *pw;
	unsigned n = 0;

	(void)argv;
	if (argc) {
		fprintf(stderr, "usage: rdvctl account list\n");
		return 2;
	}
	printf("%-20s %-7s %-7s %s\n", "NAME", "ROLE", "UID", "VTUN-PORT");
	setpwent();
	while ((pw = getpwent())) {
		const char *role = device_role(conf, pw);
		if (!role)
			continue;
		printf("%-20s %-7s %-7u %u\n", pw->pw_name, role, (unsigned)pw->pw_uid,
		       conf->port_base + (unsigned)(pw->pw_uid - conf->uid_base));
		n++;
	}
	endpwent();
	printf("%u device account%s\n", n, n == 1 ? "" : "s");
	return 0;
}
