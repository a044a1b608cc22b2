/* libFuzzer harness: every line a device can send to rdv-shell, and the
 * byte stream it is cut from (with and without a pty). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "shell-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1), err[SHELL_LINE_MAX + 256], out[128];
	struct shell_cmd cmd;

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	shell_parse(line, R_ONSITE, &cmd, err, sizeof(err));
	shell_parse(line, R_MASTER, &cmd, err, sizeof(err));
	shell_unquote(line, out, sizeof(out));
	for (int tty = 0; tty < 2; tty++) {
		struct shell_lines s = { .tty = tty };
		char echo[4 * 256 + 1];
		size_t off = 0, used, elen;

		/* in slices, as reads deliver it; the echo buffer bounds each slice */
		while (off < size) {
			size_t n = size - off < 256 ? size - off : 256;
			if (shell_lines_feed(&s, (const char *)data + off, n, &used, echo, &elen) == SL_LINE)
				shell_parse(s.line, R_MASTER, &cmd, err, sizeof(err));
			if (used == 0 || used > n || elen > sizeof(echo) - 1 || s.len >= SHELL_LINE_MAX)
				abort();
			off += used;
		}
	}
	free(line);
	return 0;
}
