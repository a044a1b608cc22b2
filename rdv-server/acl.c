/* Which onsite devices a master may see and reach. */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include "rdvd.h"
#include "util.h"

bool user_in_group(const char *user, const char *group)
{
	struct passwd *pw = getpwnam(user);
	struct group *gr = getgrnam(group);
	gid_t groups[256];
	int n = ARRAY_SIZE(groups);

	if (!pw || !gr || getgrouplist(user, pw->pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == gr->gr_gid)
			return true;
	return false;
}

static bool matches(const char *pattern, const char *name)
{
	if (pattern[0] == '@')
		return user_in_group(name, pattern + 1);
	return fnmatch(pattern, name, 0) == 0;
}

bool acl_configured(const struct rdv_conf *conf) { return conf->access != NULL; }

bool acl_allows(const struct rdv_conf *conf, const char *master, const char *onsite)
{
	if (!conf->access)
		return true;
	for (unsigned i = 0; i < conf->n_access; i++) {
		const struct access_rule *r = &conf->access[i];
		if (!matches(r->master, master))
			continue;
		for (unsigned j = 0; j < r->n_onsite; j++)
			if (matches(r->onsite[j], onsite))
				return true;
	}
	return false;
}
