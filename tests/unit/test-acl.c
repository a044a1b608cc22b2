#include <string.h>
#include "check.h"
#include "rdvd.h"

int main(void)
{
	struct rdv_conf c;
	char err[1024];

	conf_defaults(&c);
	CHECK(acl_allows(&c, "rpi2000", "rpi1100"), "no access list: every master reaches every onsite");
	CHECK(conf_parse_string("access = ( { master = \"rpi2*\"; onsite = [ \"rpi1*\", \"plc-[ab]\" ]; },\n"
				"           { master = \"tech9\"; onsite = [ \"site-?\" ]; } );",
				&c, err, sizeof(err)) == 0, "access list parses: %s", err);
	CHECK(acl_allows(&c, "rpi2000", "rpi1100"), "pattern match");
	CHECK(acl_allows(&c, "rpi2000", "plc-a") && !acl_allows(&c, "rpi2000", "plc-c"), "bracket pattern");
	CHECK(!acl_allows(&c, "rpi2000", "site-1"), "another master's devices stay hidden");
	CHECK(acl_allows(&c, "tech9", "site-1") && !acl_allows(&c, "tech9", "site-10"), "? matches one character");
	CHECK(!acl_allows(&c, "tech10", "site-1"), "a master with no entry reaches nothing");
	CHECK(!acl_allows(&c, "rpi3000", "rpi1100"), "unlisted master");
	CHECK(!acl_allows(&c, "rpi2000", "@nogroup") , "a device name never matches as a group");
	conf_release(&c);
	CHECK(conf_parse_string("access = ( { master = \"m\"; onsite = [ \"@rdv-no-such-group\" ]; } );",
				&c, err, sizeof(err)) == 0, "group pattern parses");
	CHECK(!acl_allows(&c, "m", "o1"), "an unknown group has no members");
	conf_release(&c);
	return check_summary();
}
