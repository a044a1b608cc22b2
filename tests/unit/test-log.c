/* Every log line is one line, whatever a peer put in the values it carries. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "log.h"

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int count(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

int main(void)
{
	char path[] = "/tmp/rdv-test-log-XXXXXX", out[64], big[5000];
	const char *text;
	int fd = mkstemp(path);

	if (fd < 0)
		return 1;
	close(fd);
	log_setup("test", "info", false, path);
	log_info("device x: bad LAN address \"%s\"",
		 "10.0.0.1/24\n2026-01-01T00:00:00.000 rdvd[1]: info: session 0: forged");
	log_warn("terminal %s", "\x1b]0;owned\x07\x1b[2J\r\tend\x7f");
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("long %s", big);
	log_close();
	text = slurp(path);
	unlink(path);
	CHECK(text != NULL, "log file read");
	if (!text)
		return check_summary();
	CHECK(count(text, '\n') == 3, "three messages, three lines (got %d)", count(text, '\n'));
	CHECK(strstr(text, "\"10.0.0.1/24\\n2026-01-01T00:00:00.000 rdvd[1]: info: session 0: forged\"\n"),
	      "the newline is written as \\n inside the one line");
	CHECK(!strstr(text, "\n2026-01-01T00:00:00.000 rdvd[1]"), "no line starts with the forged text");
	CHECK(strstr(text, "terminal \\x1b]0;owned\\x07\\x1b[2J\\r\\tend\\x7f\n"),
	      "escape sequences and other controls are shown, not sent");
	CHECK(count(text, '\x1b') == 0 && count(text, '\a') == 0 && count(text, '\r') == 0,
	      "no raw control character in the file");
	CHECK(log_escape("a\nb", out, 4) == 3 && !strcmp(out, "a\\n"), "escaping cuts at the buffer: %s", out);
	CHECK(log_escape("a\x01", out, sizeof(out)) == 5 && !strcmp(out, "a\\x01"), "\\xHH for others");
	return check_summary();
}
