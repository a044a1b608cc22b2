/* libFuzzer harness: every line a device can send to rdv-shell. */
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
	free(line);
	return 0;
}
