#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "conf.h"

static char path[] = "/tmp/rdv-test-conf-XXXXXX";

static int load(const char *text, struct rdv_conf *c, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	return conf_load(path, c, err, errlen);
}

/* text must be refused with an error that names the line and the bad value */
static void expect_bad(const char *text, const char *needle)
{
	struct rdv_conf c;
	char err[4096];
	int r = load(text, &c, err, sizeof(err));

	CHECK(r < 0 && strstr(err, needle), "refused naming '%s': got r=%d err=%s", needle, r, err);
}

int main(void)
{
	struct rdv_conf c;
	char err[4096];
	int fd = mkstemp(path);

	close(fd);
	CHECK(load("", &c, err, sizeof(err)) == 0, "empty file gives defaults: %s", err);
	CHECK(c.pool.addr == 0xc0a88000 && c.pool.prefix == 17, "default pool 192.168.128.0/17");
	CHECK(!strcmp(c.vtund_listen, "127.0.0.1"), "vtund on loopback by default");
	CHECK(c.access == NULL, "no access list by default");

	{
		struct rdv_conf shipped;
		CHECK(conf_load(getenv("RDVD_CONF") ? getenv("RDVD_CONF") : "rdv-server/conf/rdvd.conf",
				&shipped, err, sizeof(err)) == 0, "the shipped example is valid: %s", err);
		conf_release(&shipped);
	}

	CHECK(load("tunnel = { pool = \"10.20.0.0/16\"; setup_timeout = 10; };\n"
		   "access = ( { master = \"rpi2*\"; onsite = [ \"rpi1*\", \"@cust\" ]; } );\n",
		   &c, err, sizeof(err)) == 0, "valid settings: %s", err);
	CHECK(c.pool.addr == 0x0a140000 && c.pool.prefix == 16 && c.setup_timeout == 10, "values read");
	CHECK(c.n_access == 1 && c.access[0].n_onsite == 2 && !strcmp(c.access[0].onsite[1], "@cust"),
	      "access list read");
	conf_release(&c);

	expect_bad("\n\nlog_level = \"loud\";\n", "line 3: 'log_level' = \"loud\"");
	expect_bad("log_file = \"relative.log\";\n", "line 1: 'log_file' = \"relative.log\"");
	expect_bad("\ntunnel = { pool = \"192.168.128.1/17\"; };\n", "line 2: 'pool' = \"192.168.128.1/17\"");
	expect_bad("tunnel = { pool = \"10.0.0.0/31\"; };\n", "'pool' = \"10.0.0.0/31\"");
	expect_bad("tunnel = { pool = \"nonsense\"; };\n", "'pool' = \"nonsense\"");
	expect_bad("tunnel = {\n setup_timeout = 1;\n};\n", "line 2: 'setup_timeout' = 1: out of range");
	expect_bad("tunnel = { setup_timeout = \"30\"; };\n", "'setup_timeout' must be an integer");
	expect_bad("tunnel = { interface_prefix = \"way-too-long\"; };\n", "'interface_prefix'");
	expect_bad("vtund = { listen = \"localhost\"; };\n", "'listen' = \"localhost\"");
	expect_bad("vtund = { port_base = 80; };\n", "'port_base' = 80");
	expect_bad("vtund = { port_base = 60000; };\ndevices = { uid_count = 10000; };\n",
		   "exceeds port 65535");
	expect_bad("devices = { onsite_group = \"a b\"; };\n", "'onsite_group' = \"a b\"");
	expect_bad("devices = { onsite_group = \"x\"; master_group = \"x\"; };\n", "both \"x\"");
	expect_bad("routing = { rule_priority = 0; };\n", "'rule_priority' = 0");
	expect_bad("routing = { nft_table = \"x;flush ruleset\"; };\n", "'nft_table' = \"x;flush ruleset\"");
	expect_bad("\n\n\n\nbogus = 1;\n", "line 5: unknown key 'bogus'");
	expect_bad("tunnel = {\n  poll = \"10.0.0.0/8\";\n};\n", "line 2: unknown key 'tunnel.poll'");
	expect_bad("\nlog_level = ;\n", "line 2");
	expect_bad("access = ( { master = \"rpi2\"; } );\n", "'onsite' must be a list");
	expect_bad("access = ( { master = \"rpi 2\"; onsite = [\"x\"]; } );\n", "(got \"rpi 2\")");
	expect_bad("access = (\n { master = \"m\";\n   onsite = [ \"ok\", \"bad/pat\" ]; } );\n",
		   "line 3: access: onsite pattern \"bad/pat\"");
	expect_bad("access = ( { master = \"m\"; onsite = [\"x\"]; extra = 1; } );\n", "unknown key 'extra'");
	expect_bad("session = { idle_timeout = -1; };\n", "'idle_timeout' = -1");
	expect_bad("session = { connect_window = 0; };\n", "'connect_window' = 0");
	{
		int r = load("session = { idle_timeout = 0; max_duration = 600; connect_attempts = 3;"
			     " connect_window = 30; };\n", &c, err, sizeof(err));
		CHECK(r == 0 && c.idle_timeout == 0 && c.max_duration == 600 && c.connect_attempts == 3 &&
		      c.connect_window == 30, "session limits parse: %s", err);
		conf_release(&c);
		conf_defaults(&c);
		CHECK(c.idle_timeout && c.max_duration && c.connect_attempts,
		      "every session limit is on by default");
	}
	/* several errors are all reported */
	{
		int r = load("log_level = \"x\";\nbogus = 2;\n", &c, err, sizeof(err));
		CHECK(r < 0 && strstr(err, "line 1") && strstr(err, "line 2"), "all errors listed: %s", err);
	}
	unlink(path);
	CHECK(conf_load("/nonexistent/rdvd.conf", &c, err, sizeof(err)) < 0 && strstr(err, "cannot read"),
	      "missing file named");
	return check_summary();
}
