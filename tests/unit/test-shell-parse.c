#include <errno.h>
#include <string.h>
#include "check.h"
#include "shell-parse.h"

static int parse(const char *line, unsigned role, struct shell_cmd *c, char *err)
{
	return shell_parse(line, role, c, err, 2048);
}

static void expect_ok(const char *line, unsigned role, enum cmd_id id)
{
	struct shell_cmd c;
	char err[2048];
	int r = parse(line, role, &c, err);

	CHECK(r == 0 && c.id == id, "'%s' parses (r=%d, err=%s)", line, r, err);
}

static void expect_bad(const char *line, unsigned role, const char *needle)
{
	struct shell_cmd c;
	char err[2048];
	int r = parse(line, role, &c, err);

	CHECK(r == -EINVAL && strstr(err, needle), "'%.60s' refused naming '%s' (r=%d, err=%s)",
	      line, needle, r, err);
}

static void expect_unknown(const char *line, unsigned role)
{
	struct shell_cmd c;
	char err[2048];

	CHECK(parse(line, role, &c, err) == -ENOENT && !strncmp(err, "*** Unknown syntax: ", 20),
	      "'%s' is unknown syntax (err=%s)", line, err);
}

static void test_every_command(void)
{
	expect_ok("get_role", R_ONSITE, C_GET_ROLE);
	expect_ok("get_role", R_MASTER, C_GET_ROLE);
	expect_ok("get_tunnel_mode", R_BOTH, C_GET_TUNNEL_MODE);
	expect_ok("set_tunnelling_dev_lan_ip_address 192.168.1.10/24", R_ONSITE, C_SET_LAN);
	expect_ok("set_tunnelling_dev_dns_server_list 8.8.8.8", R_ONSITE, C_SET_DNS);
	expect_ok("set_tunnelling_dev_dns_server_list 10.0.0.1 10.0.0.2", R_MASTER, C_SET_DNS);
	expect_ok("set_tunnelling_dev_hostname 'plc-gw'", R_ONSITE, C_SET_HOSTNAME);
	expect_ok("get_vtun_parameters", R_BOTH, C_GET_VTUN);
	expect_ok("drop_vtun", R_BOTH, C_DROP_VTUN);
	expect_ok("wait_session_end", R_BOTH, C_WAIT_SESSION_END);
	expect_ok("drop_vtun the extremity interface was removed (unplugged)", R_MASTER, C_DROP_VTUN);
	expect_ok("echo hello world", R_BOTH, C_ECHO);
	expect_ok("echo", R_BOTH, C_ECHO);
	expect_ok("debug_mode on", R_BOTH, C_DEBUG);
	expect_ok("debug_mode off", R_BOTH, C_DEBUG);
	expect_ok("help", R_BOTH, C_HELP);
	expect_ok("exit", R_BOTH, C_EXIT);
	expect_ok("logout", R_BOTH, C_LOGOUT);
	expect_ok("set_tunnelling_dev_uplink_type lan", R_ONSITE, C_SET_UPLINK);
	expect_ok("set_tunnelling_dev_uplink_type 3g", R_ONSITE, C_SET_UPLINK);
	expect_ok("wait_master_connection", R_ONSITE, C_WAIT_MASTER);
	expect_ok("set_tunnel_mode L3", R_MASTER, C_SET_TUNNEL_MODE);
	expect_ok("show_online_onsite_devs", R_MASTER, C_SHOW_ONSITE);
	expect_ok("show_online_onsite_devs_details", R_MASTER, C_SHOW_ONSITE_DETAILS);
	expect_ok("connect_to_onsite_dev rpi1100", R_MASTER, C_CONNECT);
	expect_ok("show_remote_onsite_ip_config", R_MASTER, C_SHOW_REMOTE_IP);
	expect_ok("show_remote_onsite_dns_server_list", R_MASTER, C_SHOW_REMOTE_DNS);
	expect_ok("show_remote_onsite_hostname", R_MASTER, C_SHOW_REMOTE_HOSTNAME);
	expect_ok("", R_BOTH, C_EMPTY);
	expect_ok("   \t ", R_BOTH, C_EMPTY);
	expect_ok("  get_role  ", R_BOTH, C_GET_ROLE);
}

static void test_roles(void)
{
	/* a command of the other role is unknown, as in the original */
	expect_unknown("wait_master_connection", R_MASTER);
	expect_unknown("set_tunnelling_dev_uplink_type lan", R_MASTER);
	expect_unknown("connect_to_onsite_dev rpi1", R_ONSITE);
	expect_unknown("show_online_onsite_devs", R_ONSITE);
	expect_unknown("set_tunnel_mode L3", R_ONSITE);
	expect_unknown("rm -rf /", R_BOTH);
	expect_unknown("get_role;id", R_BOTH);
	expect_unknown("GET_ROLE", R_BOTH);
	expect_unknown("$(id)", R_BOTH);
}

static void test_bad_arguments(void)
{
	expect_bad("get_role now", R_BOTH, "takes no argument");
	expect_bad("drop_vtun bad\x01reason", R_BOTH, "printable text");
	expect_bad("set_tunnelling_dev_lan_ip_address", R_ONSITE, "missing argument");
	expect_bad("set_tunnelling_dev_lan_ip_address 192.168.1.10", R_ONSITE, "'192.168.1.10'");
	expect_bad("set_tunnelling_dev_lan_ip_address 192.168.1/24", R_ONSITE, "'192.168.1/24'");
	expect_bad("set_tunnelling_dev_lan_ip_address 192.168.1.10/33", R_ONSITE, "/33");
	expect_bad("set_tunnelling_dev_lan_ip_address 300.1.1.1/24", R_ONSITE, "300.1.1.1");
	expect_bad("set_tunnelling_dev_lan_ip_address 0.0.0.0/0", R_ONSITE, "0.0.0.0/0");
	expect_bad("set_tunnelling_dev_lan_ip_address 1.2.3.4/24 x", R_ONSITE, "1.2.3.4/24 x");
	expect_bad("set_tunnelling_dev_dns_server_list 8.8.8", R_ONSITE, "'8.8.8'");
	expect_bad("set_tunnelling_dev_dns_server_list 8.8.8.8 dns.google", R_ONSITE, "'dns.google'");
	expect_bad("set_tunnelling_dev_dns_server_list 1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5",
		   R_ONSITE, "more than 4");
	expect_bad("set_tunnelling_dev_dns_server_list", R_ONSITE, "missing argument");
	expect_bad("set_tunnelling_dev_uplink_type fiber", R_ONSITE, "'fiber'");
	expect_bad("set_tunnel_mode L2", R_MASTER, "'L2'");
	expect_bad("debug_mode maybe", R_BOTH, "'maybe'");
	expect_bad("connect_to_onsite_dev ../etc", R_MASTER, "'../etc'");
	expect_bad("connect_to_onsite_dev rpi1 rpi2", R_MASTER, "'rpi1 rpi2'");
	expect_bad("connect_to_onsite_dev RPI1", R_MASTER, "'RPI1'");
}

static void test_hostnames(void)
{
	struct shell_cmd c;
	char err[2048], out[64];

	CHECK(parse("set_tunnelling_dev_hostname 'plc.site-3'", R_ONSITE, &c, err) == 0 &&
	      !strcmp(c.text, "plc.site-3"), "quoted host name");
	CHECK(parse("set_tunnelling_dev_hostname bare-name", R_ONSITE, &c, err) == 0 &&
	      !strcmp(c.text, "bare-name"), "bare host name");
	CHECK(parse("set_tunnelling_dev_hostname 'a\\-b'", R_ONSITE, &c, err) == 0 &&
	      !strcmp(c.text, "a-b"), "backslash escapes a plain character");
	expect_bad("set_tunnelling_dev_hostname 'a\\'b'", R_ONSITE, "not a host name");
	expect_bad("set_tunnelling_dev_hostname 'unterminated", R_ONSITE, "'unterminated");
	expect_bad("set_tunnelling_dev_hostname 'a' 'b'", R_ONSITE, "not a host name");
	expect_bad("set_tunnelling_dev_hostname 'with space'", R_ONSITE, "not a host name");
	expect_bad("set_tunnelling_dev_hostname ''", R_ONSITE, "not a host name");
	expect_bad("set_tunnelling_dev_hostname 'x\\", R_ONSITE, "not a host name");
	expect_bad("set_tunnelling_dev_hostname a;reboot", R_ONSITE, "not a host name");
	expect_bad("set_tunnelling_dev_hostname "
		   "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'",
		   R_ONSITE, "at most 64");
	CHECK(shell_unquote("'it\\'s'", out, sizeof(out)) == 0 && !strcmp(out, "it's"),
	      "escaped quote unquotes");
	CHECK(shell_unquote("'a\\\\b'", out, sizeof(out)) == 0 && !strcmp(out, "a\\b"),
	      "escaped backslash unquotes");
	CHECK(shell_unquote("'abc'x", out, sizeof(out)) < 0, "text after the closing quote");
	CHECK(shell_unquote("'abcdef'", out, 4) < 0, "too long for the buffer");
}

static void test_long_lines(void)
{
	struct shell_cmd c;
	char err[2048], line[SHELL_LINE_MAX + 10];

	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	CHECK(parse(line, R_BOTH, &c, err) == -EINVAL && strstr(err, "line too long"), "overlong line");
	memcpy(line, "echo ", 5);
	line[SHELL_LINE_MAX - 1] = '\0';
	CHECK(parse(line, R_BOTH, &c, err) == 0 && c.id == C_ECHO, "longest allowed line");
	memset(line, 'x', 200);
	line[200] = '\0';
	CHECK(parse(line, R_BOTH, &c, err) == -ENOENT, "long unknown command name");
	line[0] = '\x01';
	CHECK(parse(line, R_BOTH, &c, err) == -ENOENT && !strchr(err, '\x01'),
	      "control characters are not echoed back");
}

int main(void)
{
	test_every_command();
	test_roles();
	test_bad_arguments();
	test_hostnames();
	test_long_lines();
	return check_summary();
}
