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
	expect_ok("set_tunnelling_dev_dns_server_list", R_ONSITE, C_SET_DNS);
	expect_ok("set_tunnelling_dev_dns_server_list   ", R_ONSITE, C_SET_DNS);
	expect_bad("set_tunnelling_dev_lan_ip_address 10.1.2.11/255.0.255.0", R_ONSITE, "'10.1.2.11/255.0.255.0'");
	expect_bad("set_tunnelling_dev_lan_ip_address 10.1.2.11/255.255.255.0x", R_ONSITE, "not an IPv4");
	expect_bad("set_tunnelling_dev_lan_ip_address 10.1.2.11/0.0.0.0", R_ONSITE, "not an IPv4");
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
	expect_bad("set_tunnelling_dev_hostname 'unterminated", R_ONSITE, "'unterminated");
	expect_bad("set_tunnelling_dev_hostname 'a' 'b'", R_ONSITE, "not a host name");
	CHECK(parse("set_tunnelling_dev_hostname 'lionel\\'s onsite'", R_ONSITE, &c, err) == 0 &&
	      !strcmp(c.text, "lionel-s-onsite"), "the original's quoted text is taken in a safe form (%s)",
	      c.text);
	expect_bad("set_tunnelling_dev_hostname 'tab\there'", R_ONSITE, "not a host name");
	expect_bad("set_tunnelling_dev_hostname 'esc\x1b[2J'", R_ONSITE, "not a host name");
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

static void test_original_values(void)
{
	struct shell_cmd c;
	char err[2048];

	CHECK(parse("set_tunnelling_dev_dns_server_list", R_ONSITE, &c, err) == 0 && c.n_ip == 0,
	      "an empty DNS server list is a list of none");
	CHECK(parse("set_tunnelling_dev_lan_ip_address 10.1.2.11/255.255.255.0", R_ONSITE, &c, err) == 0 &&
	      c.cidr.prefix == 24 && c.cidr.addr == 0x0a01020b, "a netmask is taken as its prefix");
	CHECK(parse("set_tunnelling_dev_lan_ip_address 10.1.2.11/255.255.255.252", R_ONSITE, &c, err) == 0 &&
	      c.cidr.prefix == 30, "a /30 netmask");
}

/* feeds a whole string, returns the events as a string of letters, lines joined by '|' */
static void lines_run(bool tty, const char *in, size_t len, char *events, char *lines, char *echo)
{
	struct shell_lines s = { .tty = tty };
	char ebuf[4096];
	size_t used, elen, off = 0;

	*events = *lines = *echo = '\0';
	while (off < len) {
		enum shell_lines_event ev = shell_lines_feed(&s, in + off, len - off, &used, ebuf, &elen);
		off += used;
		strncat(echo, ebuf, elen);
		strcat(events, ev == SL_LINE ? "L" : ev == SL_OVERLONG ? "O" : ev == SL_EOF ? "E" : "m");
		if (ev == SL_LINE)
			strcat(strcat(lines, s.line), "|");
		if (ev == SL_EOF)
			break;
	}
}

static void test_line_ends(void)
{
	char ev[64], ln[4096], echo[8192], big[SHELL_LINE_MAX + 20];

	lines_run(false, "a\nb\rc\r\nd\n", 9, ev, ln, echo);
	CHECK(!strcmp(ev, "LLLL") && !strcmp(ln, "a|b|c|d|") && !*echo, "LF, CR, CR LF each end one line (%s %s)", ev, ln);
	lines_run(false, "a\r\n\nb\n", 6, ev, ln, echo);
	CHECK(!strcmp(ln, "a||b|"), "an empty line after CR LF stays a line (%s)", ln);
	lines_run(false, "get_ro", 6, ev, ln, echo);
	CHECK(!strcmp(ev, "m") && !*ln, "no line end: nothing yet");
	{
		/* CR at the end of one read, LF at the start of the next */
		struct shell_lines s = { 0 };
		size_t used;
		CHECK(shell_lines_feed(&s, "x\r", 2, &used, NULL, NULL) == SL_LINE && used == 2, "CR ends a line");
		CHECK(shell_lines_feed(&s, "\ny\n", 3, &used, NULL, NULL) == SL_LINE && used == 3 &&
		      !strcmp(s.line, "y"), "the LF of a split CR LF ends nothing");
	}
	lines_run(false, "a\x04" "b\n", 4, ev, ln, echo);
	CHECK(!strcmp(ln, "a\x04" "b|"), "^D is a byte without a terminal");
	lines_run(true, "ab\x7f\x7f" "cd\r\n\x04" "ignored\n", 17, ev, ln, echo);
	CHECK(!strcmp(ln, "cd|") && !strcmp(ev, "LE") && !strcmp(echo, "ab\b \b\b \bcd\n"),
	      "terminal: echo, erase, ^D at a line start is EOF (%s / %s)", ev, echo);
	lines_run(true, "a\x1b[2J\n", 6, ev, ln, echo);
	CHECK(!strcmp(echo, "a^[[2J\n"), "terminal: control characters echo as ^X (%s)", echo);
	lines_run(false, "a\0b\n", 4, ev, ln, echo);
	CHECK(!strcmp(ln, "a\x7f" "b|"), "a NUL does not cut the line short");
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\n';
	lines_run(false, big, sizeof(big), ev, ln, echo);
	CHECK(!strcmp(ev, "OL") && !strcmp(ln, "|"), "an overlong line is refused whole (%s)", ev);
	memset(big, 'x', SHELL_LINE_MAX - 1);
	big[SHELL_LINE_MAX - 1] = '\n';
	lines_run(false, big, SHELL_LINE_MAX, ev, ln, echo);
	CHECK(!strcmp(ev, "L") && strlen(ln) == SHELL_LINE_MAX, "the longest line is a line");
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
	test_original_values();
	test_line_ends();
	return check_summary();
}
