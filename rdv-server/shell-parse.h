/*
 * The device shell's line protocol: one command per line, validated in full
 * before anything is sent to rdvd. Kept apart from I/O so it can be unit
 * tested and fuzzed.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net.h"
#include "util.h"

#define SHELL_LINE_MAX 1024
#define SHELL_MAX_DNS 4

enum { R_ONSITE = 1, R_MASTER = 2, R_BOTH = 3 };

enum cmd_id {
	C_GET_ROLE, C_GET_TUNNEL_MODE, C_SET_LAN, C_SET_DNS, C_SET_HOSTNAME, C_GET_VTUN,
	C_DROP_VTUN, C_ECHO, C_DEBUG, C_HELP, C_EXIT, C_LOGOUT, C_SET_UPLINK, C_WAIT_MASTER,
	C_SET_TUNNEL_MODE, C_SET_DATA_PATH, C_SHOW_ONSITE, C_SHOW_ONSITE_DETAILS, C_CONNECT, C_SHOW_REMOTE_IP,
	C_SHOW_REMOTE_DNS, C_SHOW_REMOTE_HOSTNAME, C_WAIT_SESSION_END, C_EMPTY,
};

enum arg_kind { A_NONE, A_CIDR, A_IP_LIST, A_HOSTNAME, A_TEXT, A_ON_OFF, A_UPLINK, A_MODE, A_DATA_PATH, A_DEVICE,
		A_REASON };
#define REASON_MAX 200

struct shell_cmd_spec {
	const char *name;
	unsigned roles;
	enum arg_kind arg;
	enum cmd_id id;
	const char *usage;
	const char *help;
};

struct shell_cmd {
	enum cmd_id id;
	const struct shell_cmd_spec *spec;
	struct cidr4 cidr;
	uint32_t ip[SHELL_MAX_DNS];
	unsigned n_ip;
	bool on;
	char text[SHELL_LINE_MAX];
};

extern const struct shell_cmd_spec shell_cmds[];
extern const size_t shell_n_cmds;

/*
 * Parses one line (without its newline) for a device of the given role.
 * Returns 0, -ENOENT for an unknown command (err holds the
 * "*** Unknown syntax" line), or -EINVAL with a message naming the bad value.
 */
int shell_parse(const char *line, unsigned role, struct shell_cmd *out, char *err, size_t errlen);
/* 'text' with backslash escapes, or a bare word */
int shell_unquote(const char *in, char *out, size_t outlen);
/* printable ASCII only */
bool text_printable(const char *s);

/*
 * The device's byte stream cut into lines. CR, LF and CR LF each end one
 * line (a raw terminal sends CR, scripts LF, some both). On a terminal the
 * shell echoes what it takes as the terminal's line discipline would, erases
 * on BS/DEL, and ^D at the start of a line is the end of input.
 */
struct shell_lines {
	char line[SHELL_LINE_MAX];
	size_t len;
	bool tty;
	bool after_cr;  /* a LF right after a CR ends nothing */
	bool overlong;  /* the current line is being dropped */
};

enum shell_lines_event { SL_MORE, SL_LINE, SL_OVERLONG, SL_EOF };

/*
 * Consumes bytes of in[0..len) up to the end of one line; *used says how
 * many. SL_LINE: ->line holds the line (no terminator, NUL-terminated).
 * SL_MORE: all of in was consumed, the line goes on. On a terminal, the
 * echo is appended to echo (at most 4 bytes per byte consumed, plus 1).
 */
enum shell_lines_event shell_lines_feed(struct shell_lines *s, const char *in, size_t len,
					size_t *used, char *echo, size_t *echolen);
