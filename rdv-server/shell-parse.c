#include "shell-parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "rdv-dbus.h"

const struct shell_cmd_spec shell_cmds[] = {
	{ "get_role", R_BOTH, A_NONE, C_GET_ROLE, "", "print this device's role: onsite or master" },
	{ "get_tunnel_mode", R_BOTH, A_NONE, C_GET_TUNNEL_MODE, "", "print the tunnel mode (L3)" },
	{ "set_tunnelling_dev_lan_ip_address", R_BOTH, A_CIDR, C_SET_LAN, "A.B.C.D/P",
	  "announce this device's LAN address and prefix" },
	{ "set_tunnelling_dev_dns_server_list", R_BOTH, A_IP_LIST, C_SET_DNS, "IP [IP ...]",
	  "announce this device's DNS servers (at most 4)" },
	{ "set_tunnelling_dev_hostname", R_BOTH, A_HOSTNAME, C_SET_HOSTNAME, "'name'",
	  "announce this device's host name" },
	{ "set_tunnelling_dev_data_path", R_BOTH, A_DATA_PATH, C_SET_DATA_PATH, "relay|classic",
	  "announce the data paths this device can use (relay: its own TLS data connection)" },
	{ "get_vtun_parameters", R_BOTH, A_NONE, C_GET_VTUN, "",
	  "print the tunnel parameters of the current session" },
	{ "wait_session_end", R_BOTH, A_NONE, C_WAIT_SESSION_END, "",
	  "wait until the current session ends, then print why" },
	{ "drop_vtun", R_BOTH, A_REASON, C_DROP_VTUN, "[REASON]",
	  "end the current session (the reason goes to the RDV server's log)" },
	{ "echo", R_BOTH, A_TEXT, C_ECHO, "TEXT", "print TEXT" },
	{ "debug_mode", R_BOTH, A_ON_OFF, C_DEBUG, "on|off", "print details on stderr" },
	{ "help", R_BOTH, A_NONE, C_HELP, "", "list the commands" },
	{ "exit", R_BOTH, A_NONE, C_EXIT, "", "log out" },
	{ "logout", R_BOTH, A_NONE, C_LOGOUT, "", "log out" },
	{ "set_tunnelling_dev_uplink_type", R_ONSITE, A_UPLINK, C_SET_UPLINK, "lan|wlan|3g|other",
	  "announce how this device reaches the Internet" },
	{ "wait_master_connection", R_ONSITE, A_NONE, C_WAIT_MASTER, "",
	  "wait for a master: prints ready, or not_ready after a while" },
	{ "set_tunnel_mode", R_MASTER, A_MODE, C_SET_TUNNEL_MODE, "L3", "choose the tunnel mode" },
	{ "show_online_onsite_devs", R_MASTER, A_NONE, C_SHOW_ONSITE, "",
	  "list the onsite devices you may reach, one per line" },
	{ "show_online_onsite_devs_details", R_MASTER, A_NONE, C_SHOW_ONSITE_DETAILS, "",
	  "same, tab-separated: id, hostname, LAN address, uplink, free|busy" },
	{ "connect_to_onsite_dev", R_MASTER, A_DEVICE, C_CONNECT, "ID",
	  "open a session with an onsite device" },
	{ "show_remote_onsite_ip_config", R_MASTER, A_NONE, C_SHOW_REMOTE_IP, "",
	  "print the LAN address of the onsite device in session" },
	{ "show_remote_onsite_dns_server_list", R_MASTER, A_NONE, C_SHOW_REMOTE_DNS, "",
	  "print the DNS servers of the onsite device in session" },
	{ "show_remote_onsite_hostname", R_MASTER, A_NONE, C_SHOW_REMOTE_HOSTNAME, "",
	  "print the host name of the onsite device in session" },
};
const size_t shell_n_cmds = sizeof(shell_cmds) / sizeof(shell_cmds[0]);

static bool is_space(char c) { return c == ' ' || c == '\t'; }

/* Copies for display: no control characters go back to the device. */
static void printable(const char *in, char *out, size_t outlen)
{
	size_t i = 0;

	for (; *in && i + 1 < outlen; in++)
		out[i++] = (*in >= ' ' && *in <= '~') ? *in : '?';
	out[i] = '\0';
}

bool text_printable(const char *s)
{
	for (; *s; s++)
		if (*s < ' ' || *s > '~')
			return false;
	return true;
}

int shell_unquote(const char *in, char *out, size_t outlen)
{
	size_t i = 0;

	if (*in != '\'') {
		for (; *in; in++) {
			if (is_space(*in) || *in == '\'' || *in == '\\' || i + 1 >= outlen)
				return -EINVAL;
			out[i++] = *in;
		}
		out[i] = '\0';
		return i ? 0 : -EINVAL;
	}
	for (in++; *in != '\''; in++) {
		if (!*in)
			return -EINVAL; /* unterminated */
		if (*in == '\\' && !*++in)
			return -EINVAL;
		if (i + 1 >= outlen)
			return -EINVAL;
		out[i++] = *in;
	}
	out[i] = '\0';
	return in[1] ? -EINVAL : 0; /* nothing may follow the closing quote */
}

/* A.B.C.D/P, or A.B.C.D/M.M.M.M with a contiguous netmask (the original took both) */
static int parse_cidr(const char *s, struct cidr4 *out)
{
	const char *slash = strchr(s, '/');
	char addr[16];
	uint32_t mask;
	unsigned prefix = 0;

	if (cidr4_parse(s, out) == 0)
		return 0;
	if (!slash || (size_t)(slash - s) >= sizeof(addr) || ip4_parse(slash + 1, &mask) < 0)
		return -EINVAL;
	while (prefix < 32 && (mask & (0x80000000u >> prefix)))
		prefix++;
	if (prefix < 32 && (mask << prefix))
		return -EINVAL; /* not contiguous, e.g. 255.0.255.0 */
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (ip4_parse(addr, &out->addr) < 0)
		return -EINVAL;
	out->prefix = prefix;
	return 0;
}

/*
 * The original took any quoted text as a host name ('lionel\'s onsite'):
 * printable text in quotes is taken, stored with every character a host
 * name cannot hold replaced by '-'.
 */
static int parse_hostname(const char *args, char *out, size_t outlen)
{
	if (shell_unquote(args, out, outlen) < 0 || !text_printable(out) ||
	    strlen(out) > HOSTNAME_MAX || !*out)
		return -EINVAL;
	if (*args != '\'')
		return hostname_valid(out) ? 0 : -EINVAL; /* a bare word is taken as it is or not at all */
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))
			*p = '-';
	return hostname_valid(out) ? 0 : -EINVAL;
}

static int parse_ip_list(const char *args, struct shell_cmd *c, char *bad, size_t badlen)
{
	char word[SHELL_LINE_MAX];

	c->n_ip = 0;
	while (*args) {
		size_t n = 0;
		while (*args && !is_space(*args))
			word[n++] = *args++;
		word[n] = '\0';
		while (is_space(*args))
			args++;
		if (c->n_ip == SHELL_MAX_DNS) {
			snprintf(bad, badlen, "more than %d servers", SHELL_MAX_DNS);
			return -EINVAL;
		}
		if (ip4_parse(word, &c->ip[c->n_ip]) < 0) {
			printable(word, bad, badlen);
			return -EINVAL;
		}
		c->n_ip++;
	}
	return 0;
}

static int parse_arg(const struct shell_cmd_spec *sp, const char *args, struct shell_cmd *c,
		     char *err, size_t errlen)
{
	char shown[96];

	printable(args, shown, sizeof(shown));
	if (sp->arg == A_REASON) {
		if (strlen(args) <= REASON_MAX && text_printable(args)) {
			strcpy(c->text, args);
			return 0;
		}
		snprintf(err, errlen, "%s: the reason must be printable text of at most %d bytes",
			 sp->name, REASON_MAX);
		return -EINVAL;
	}
	if (sp->arg == A_NONE || sp->arg == A_TEXT) {
		if (sp->arg == A_NONE && *args) {
			snprintf(err, errlen, "%s: takes no argument (got '%s')", sp->name, shown);
			return -EINVAL;
		}
		snprintf(c->text, sizeof(c->text), "%s", args);
		return 0;
	}
	if (!*args && sp->arg != A_IP_LIST) { /* no DNS server is a valid list */
		snprintf(err, errlen, "%s: missing argument, usage: %s %s", sp->name, sp->name, sp->usage);
		return -EINVAL;
	}
	switch (sp->arg) {
	case A_CIDR:
		if (parse_cidr(args, &c->cidr) == 0 && c->cidr.prefix >= 1 && c->cidr.addr)
			return 0;
		snprintf(err, errlen, "%s: '%s' is not an IPv4 address with prefix (A.B.C.D/P or "
			 "A.B.C.D/M.M.M.M)",
			 sp->name, shown);
		return -EINVAL;
	case A_IP_LIST:
		if (parse_ip_list(args, c, shown, sizeof(shown)) == 0)
			return 0;
		snprintf(err, errlen, "%s: '%s' is not an IPv4 address", sp->name, shown);
		return -EINVAL;
	case A_HOSTNAME:
		if (parse_hostname(args, c->text, sizeof(c->text)) == 0)
			return 0;
		snprintf(err, errlen, "%s: %s is not a host name in quotes (printable text, at most "
			 "%d characters)", sp->name, shown, HOSTNAME_MAX);
		return -EINVAL;
	case A_ON_OFF:
		if (!strcmp(args, "on") || !strcmp(args, "off")) {
			c->on = !strcmp(args, "on");
			return 0;
		}
		break;
	case A_UPLINK:
		if (!strcmp(args, "lan") || !strcmp(args, "wlan") || !strcmp(args, "3g") ||
		    !strcmp(args, "other")) {
			strcpy(c->text, args);
			return 0;
		}
		break;
	case A_DATA_PATH:
		if (!strcmp(args, "relay") || !strcmp(args, "classic")) {
			strcpy(c->text, args);
			return 0;
		}
		break;
	case A_MODE:
		if (!strcmp(args, "L3")) {
			strcpy(c->text, args);
			return 0;
		}
		snprintf(err, errlen, "%s: mode '%s' is not supported (only L3)", sp->name, shown);
		return -EINVAL;
	case A_DEVICE:
		if (device_name_valid(args)) {
			strcpy(c->text, args);
			return 0;
		}
		snprintf(err, errlen, "%s: '%s' is not a device ID", sp->name, shown);
		return -EINVAL;
	default:
		break;
	}
	snprintf(err, errlen, "%s: '%s' is not valid, usage: %s %s", sp->name, shown, sp->name,
		 sp->usage);
	return -EINVAL;
}

/* a refused argument: the error's token, for programs reading the line */
static int tagged(int r, char *err, size_t errlen)
{
	size_t len = strlen(err);

	if (r == -EINVAL && len < errlen)
		snprintf(err + len, errlen - len, RDV_ERR_TOKEN_OPEN "%s" RDV_ERR_TOKEN_CLOSE,
			 RDV_ERR_INVALID);
	return r;
}

int shell_parse(const char *line, unsigned role, struct shell_cmd *c, char *err, size_t errlen)
{
	char name[64], args[SHELL_LINE_MAX], shown[128];
	size_t n = 0, len;

	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	if (strlen(line) >= SHELL_LINE_MAX) {
		snprintf(err, errlen, "line too long (at most %d bytes)", SHELL_LINE_MAX - 1);
		return tagged(-EINVAL, err, errlen);
	}
	while (is_space(*line))
		line++;
	if (!*line) {
		c->id = C_EMPTY;
		return 0;
	}
	printable(line, shown, sizeof(shown));
	for (; *line && !is_space(*line); line++) {
		if (n + 1 < sizeof(name))
			name[n] = *line;
		n++;
	}
	name[n < sizeof(name) ? n : sizeof(name) - 1] = '\0';
	while (is_space(*line))
		line++;
	/* trailing blanks are noise, not part of an argument */
	len = strlen(line);
	while (len && is_space(line[len - 1]))
		len--;
	memcpy(args, line, len);
	args[len] = '\0';
	for (size_t i = 0; i < shell_n_cmds; i++) {
		if (n >= sizeof(name) || strcmp(shell_cmds[i].name, name) || !(shell_cmds[i].roles & role))
			continue;
		c->id = shell_cmds[i].id;
		c->spec = &shell_cmds[i];
		return tagged(parse_arg(&shell_cmds[i], args, c, err, errlen), err, errlen);
	}
	snprintf(err, errlen, "*** Unknown syntax: %s", shown);
	return -ENOENT;
}

static void echo_add(char *echo, size_t *n, const char *s)
{
	if (echo)
		while (*s)
			echo[(*n)++] = *s++;
}

enum shell_lines_event shell_lines_feed(struct shell_lines *s, const char *in, size_t len,
					size_t *used, char *echo, size_t *echolen)
{
	size_t i = 0, e = 0;
	enum shell_lines_event ev = SL_MORE;

	if (!s->tty)
		echo = NULL;
	while (i < len && ev == SL_MORE) {
		unsigned char c = (unsigned char)in[i++];
		bool after_cr = s->after_cr;

		s->after_cr = false;
		if (c == '\n' && after_cr)
			continue;
		if (c == '\r' || c == '\n') {
			s->after_cr = c == '\r';
			echo_add(echo, &e, "\n");
			ev = s->overlong ? SL_OVERLONG : SL_LINE;
			s->line[s->overlong ? 0 : s->len] = '\0';
			s->len = 0;
			s->overlong = false;
		} else if (s->tty && c == 0x04 && !s->len && !s->overlong) {
			ev = SL_EOF; /* ^D on an empty line, as a terminal's EOF */
		} else if (s->tty && (c == 0x08 || c == 0x7f)) {
			if (s->len && !s->overlong) {
				s->len--;
				echo_add(echo, &e, "\b \b");
			}
		} else if (s->len + 1 >= SHELL_LINE_MAX || s->overlong) {
			s->overlong = true;
		} else {
			char shown[4] = { (char)c, 0 };
			if (c < ' ' && c != '\t') /* what ECHOCTL shows */
				shown[0] = '^', shown[1] = (char)(c + '@');
			else if (c >= 0x7f)
				shown[0] = '?';
			echo_add(echo, &e, shown);
			/* a NUL would cut the line short: keep it visible to the parser */
			s->line[s->len++] = c ? (char)c : 0x7f;
		}
	}
	*used = i;
	if (echolen)
		*echolen = e;
	return ev;
}
